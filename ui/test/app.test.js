import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, snapshot, candidate, pop, callEvent, cardEvent } from './harness.js';

test('a single-match pop shows the caller, how the number matched, and where the answer came from', async () => {
  const { doc, emit } = await startApp({ desk_snapshot: snapshot(), ui_ready: 120 });
  emit(callEvent('c1', 'alerting'));
  emit(pop('c1', { kind: 'single', candidate: candidate(1) }, { source: 'cache', cache_age_secs: 180 }));
  const card = doc.getElementById('card');
  assert.equal(card.querySelector('.caller').textContent, 'Person 1');
  assert.match(card.querySelector('.account').textContent, /Account 1/);
  assert.equal(card.querySelector('.how').textContent, 'Mobile, after normalising ((415) 555-0100)');
  assert.equal(card.querySelector('.fresh').textContent, 'From the local cache · 3 min old');
  assert.match(card.querySelector('.stage').textContent, /Ringing/);
  assert.ok(doc.getElementById('open-record'));
  assert.equal(doc.getElementById('connection').textContent, 'Connected');
  assert.equal(doc.body.dataset.readyMs, '120');
});

test('an attribute-identified caller says so', async () => {
  const { doc, emit } = await startApp({ desk_snapshot: snapshot(), ui_ready: 1 });
  emit(pop('c1', { kind: 'attribute', record_id: '0038c00000000gIAAQ', object: 'Contact', attribute: 'SF_ContactId' }, { source: 'attribute', address: null }));
  assert.equal(doc.querySelector('#card .how').textContent, 'Identified by the IVR (SF_ContactId)');
});

test('a hostile caller number and record name are shown as text, never as markup', async () => {
  const { doc, emit } = await startApp({ desk_snapshot: snapshot(), ui_ready: 1 });
  const evil = '<img src=x onerror="window.pwned=1">';
  emit(callEvent('c1', 'alerting', evil));
  emit(pop('c1', { kind: 'single', candidate: candidate(1, { name: evil }) }));
  assert.equal(doc.querySelector('#card img'), null);
  assert.equal(doc.querySelector('#card .caller').textContent, evil);
  assert.match(doc.querySelector('#card .stage').textContent, /<img/);
});

test('the picker: 2 then Enter picks the second candidate', async () => {
  const picked = candidate(2);
  const popped = pop('c1', { kind: 'multiple', candidates: [candidate(1), candidate(2), candidate(3)] });
  const { doc, emit, key, calls, settle } = await startApp({
    desk_snapshot: snapshot(),
    ui_ready: 1,
    pick_record: (a, emitDesk) => {
      emitDesk(cardEvent(a.interactionId, { chosen: picked }));
      return null;
    },
  });
  emit(popped);
  const options = doc.querySelectorAll('#picker [role="option"]');
  assert.equal(options.length, 3);
  assert.equal(options[0].getAttribute('aria-selected'), 'true');
  key('2');
  assert.equal(doc.querySelectorAll('#picker [role="option"]')[1].getAttribute('aria-selected'), 'true');
  assert.equal(doc.getElementById('picker').getAttribute('aria-activedescendant'), `cand-${candidate(2).id}`);
  key('Enter');
  await settle();
  const pick = calls.find((c) => c.cmd === 'pick_record');
  assert.deepEqual(pick.args, { interactionId: 'c1', recordId: candidate(2).id });
  await settle();
  assert.equal(doc.querySelector('#card .caller').textContent, 'Person 2');
  assert.equal(doc.querySelector('#card .fresh').textContent, 'Picked by you');
});

test('the picker: a key beyond the list does nothing; arrows move; Esc decides later and offers search', async () => {
  const popped = pop('c1', { kind: 'multiple', candidates: [candidate(1), candidate(2)] });
  const { doc, emit, key, calls, settle } = await startApp({
    desk_snapshot: snapshot(),
    ui_ready: 1,
    decide_later: (a, emitDesk) => {
      emitDesk(cardEvent(a.interactionId, { deferred: true }));
      return null;
    },
  });
  emit(popped);
  key('7');
  assert.equal(doc.querySelectorAll('#picker [role="option"]')[0].getAttribute('aria-selected'), 'true');
  key('ArrowDown');
  assert.equal(doc.querySelectorAll('#picker [role="option"]')[1].getAttribute('aria-selected'), 'true');
  key('Escape');
  await settle();
  await settle();
  assert.ok(calls.some((c) => c.cmd === 'decide_later' && c.args.interactionId === 'c1'));
  assert.equal(doc.getElementById('picker'), null);
  assert.ok(doc.getElementById('search-term'), 'deferred calls can still be searched');
});

test('no match: the search runs through the desk and a result is picked by keyboard', async () => {
  const found = [candidate(5, { matched_field: 'Email', matched_value: 'p5@example.com' }), candidate(6)];
  const popped = pop('c9', { kind: 'no_match' });
  const { doc, window, emit, key, calls, settle } = await startApp({
    desk_snapshot: snapshot(),
    ui_ready: 1,
    search_records: () => found,
    pick_record: (a, emitDesk) => {
      emitDesk(cardEvent(a.interactionId, { chosen: found[0] }));
      return null;
    },
  });
  emit(popped);
  assert.match(doc.getElementById('search-why').textContent, /No Salesforce record has this number/);
  doc.getElementById('search-term').value = 'p5@example.com';
  doc.querySelector('form.search').dispatchEvent(new window.Event('submit', { cancelable: true }));
  await settle();
  await settle();
  assert.deepEqual(calls.find((c) => c.cmd === 'search_records').args, { term: 'p5@example.com' });
  const rows = doc.querySelectorAll('#results [role="option"]');
  assert.equal(rows.length, 2);
  assert.match(rows[0].textContent, /Email: p5@example.com/);
  key('1', { target: doc.getElementById('results') });
  key('Enter', { target: doc.getElementById('results') });
  await settle();
  assert.deepEqual(calls.find((c) => c.cmd === 'pick_record').args, { interactionId: 'c9', recordId: found[0].id });
  assert.equal(doc.querySelector('#card .caller').textContent, 'Person 5');
});

test('a failed search shows a sentence, not a code', async () => {
  const { doc, window, emit, settle } = await startApp({
    desk_snapshot: snapshot(),
    ui_ready: 1,
    search_records: { __error: { code: 'BAD_SEARCH', message: 'type at least 2 letters or digits to search' } },
  });
  emit(pop('c9', { kind: 'no_match' }));
  doc.querySelector('form.search').dispatchEvent(new window.Event('submit', { cancelable: true }));
  await settle();
  const alert = doc.getElementById('alert');
  assert.equal(alert.hidden, false);
  assert.equal(alert.textContent, 'That search cannot run. Type at least 2 letters or digits to search');
});

test('wrap-up: the form submits code and notes, then shows queued and in Salesforce', async () => {
  const card = (state) =>
    cardEvent('c1', { stage: 'after_call_work', disposition: { code: 'Sale', reason: 'upgrade', record_id: candidate(1).id, state } });
  const { doc, window, emit, calls, settle } = await startApp({
    desk_snapshot: snapshot(),
    ui_ready: 1,
    submit_wrapup: (_a, emitDesk) => {
      emitDesk(card('pending'));
      return null;
    },
  });
  emit(pop('c1', { kind: 'single', candidate: candidate(1) }));
  assert.equal(doc.getElementById('wrapup-record').textContent, 'Person 1 (Contact)');
  assert.equal(doc.getElementById('wrapup-status').textContent, 'Not wrapped up yet');
  const select = doc.getElementById('wrapup-code');
  assert.deepEqual([...select.options].map((o) => o.value), ['', 'Billing Question', 'Sale', 'Wrong Number']);
  select.value = 'Sale';
  const notes = doc.getElementById('wrapup-notes');
  notes.value = 'upgrade';
  notes.dispatchEvent(new window.KeyboardEvent('keydown', { key: 'Enter', ctrlKey: true, bubbles: true, cancelable: true }));
  await settle();
  assert.deepEqual(calls.find((c) => c.cmd === 'submit_wrapup').args, { interactionId: 'c1', code: 'Sale', notes: 'upgrade', recordId: null });
  assert.equal(doc.getElementById('wrapup-status').textContent, 'Queued: Sale');
  emit(card('delivered'));
  assert.equal(doc.getElementById('wrapup-status').textContent, 'In Salesforce: Sale');
  assert.equal(doc.getElementById('wrapup-notes').value, 'upgrade', 'the form is not rebuilt under the agent');
});

test('wrap-up without a code is refused in the window, with focus on the code', async () => {
  const { doc, window, emit, calls, settle } = await startApp({ desk_snapshot: snapshot(), ui_ready: 1 });
  emit(pop('c1', { kind: 'no_match' }));
  doc.querySelector('form.wrapup').dispatchEvent(new window.Event('submit', { cancelable: true }));
  await settle();
  assert.equal(calls.filter((c) => c.cmd === 'submit_wrapup').length, 0);
  assert.equal(doc.activeElement.id, 'wrapup-code');
  assert.match(doc.getElementById('alert').textContent, /The wrap-up is not complete/);
});

test('sign-in buttons follow the state and call the desk', async () => {
  const { doc, emit, calls, settle } = await startApp({
    desk_snapshot: snapshot({ salesforce: 'signed_out' }),
    ui_ready: 1,
    sign_in: 'signed_in',
    sign_out: 'signed_out',
  });
  const sf = doc.getElementById('signin-salesforce');
  assert.equal(sf.textContent, 'Sign in to Salesforce');
  sf.click();
  assert.equal(sf.textContent, 'Signing in to Salesforce');
  await settle();
  assert.deepEqual(calls.find((c) => c.cmd === 'sign_in').args, { cloud: 'salesforce' });
  assert.equal(sf.textContent, 'Sign out of Salesforce');
  emit({ kind: 'sign_in', cloud: 'genesys', state: 'signed_out', at_ms: 0 });
  assert.equal(doc.getElementById('signin-genesys').textContent, 'Sign in to Genesys Cloud');
  assert.match(doc.getElementById('secrets-note').textContent, /not kept after you quit/);
});

test('connection changes reach the header', async () => {
  const { doc, emit } = await startApp({ desk_snapshot: snapshot(), ui_ready: 1 });
  emit({ kind: 'connection', at_ms: 0, state: { state: 'reconnecting', attempt: 1, retry_in_ms: 500, reason: 'x' } });
  assert.equal(doc.getElementById('connection').textContent, 'Reconnecting…');
});

test('the sync view shows the queue, errors and parked items, and retries one', async () => {
  let retried = null;
  const status = {
    connection: null, connection_updated_ms: null, cache_positive: 3, cache_negative: 1, calls: 4, pops: {}, journal_frames: 0,
    queue: { pending: 2, needs_attention: 1 }, oldest_pending_secs: 42, last_push_ms: null,
    recent_errors: { transient: { count: 3, latest: 'HTTP 503' } }, api_usage: { used: 10, max: 15000 },
    cache_hits: 3, cache_misses: 1, cache_hit_ratio: 0.75, pop_ms_p50: 0.4, pop_ms_p99: 1.2, database: 'x', database_bytes: 1,
  };
  const parked = { interaction_id: 'c5', version: 1, state: 'needs_attention', attempts: 1, next_attempt_ms: 0, salesforce_id: null,
    error_class: 'needs_attention', error_code: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', error_message: 'bad value', updated_ms: 0,
    disposition: { code: 'Odd', reason: '' } };
  const { doc, app, settle } = await startApp({
    desk_snapshot: snapshot(),
    ui_ready: 1,
    sync_status: { status, attention: [parked], pending: [] },
    retry_disposition: (a) => { retried = a; return null; },
  });
  app.showView('sync');
  await settle();
  const text = doc.getElementById('view-sync').textContent;
  assert.match(text, /Queued 2, Needs attention 1/);
  assert.match(text, /42 s/);
  assert.match(text, /transient ×3: HTTP 503/);
  assert.match(text, /10 of 15000 today/);
  assert.match(text, /p50 0.40 ms · p99 1.20 ms/);
  assert.match(text, /INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST/);
  [...doc.querySelectorAll('#attention button')].find((b) => b.textContent === 'Retry').click();
  await settle();
  assert.deepEqual(retried, { interactionId: 'c5' });
  assert.equal(doc.getElementById('view-calls').hidden, true);
  assert.equal(doc.getElementById('tab-sync').getAttribute('aria-selected'), 'true');
});

test('settings show which are locked by IT', async () => {
  const { doc, app } = await startApp({
    desk_snapshot: snapshot({ settings: [
      { key: 'cache.positive_ttl_secs', value: '3600', layer: 'managed', locked: true },
      { key: 'pop.trigger', value: 'alerting', layer: 'user', locked: false },
    ] }),
    ui_ready: 1,
  });
  app.showView('settings');
  const rows = doc.querySelectorAll('#view-settings tr');
  assert.equal(rows.length, 2);
  assert.match(rows[0].textContent, /Locked by IT/);
  assert.equal(rows[0].className, 'locked');
  assert.match(rows[1].textContent, /set by user/);
});

test('the window asks again while the desk is starting', async () => {
  let n = 0;
  const { doc } = await startApp({
    desk_snapshot: () => (++n < 3 ? { __error: { code: 'STARTING', message: 'still starting' } } : snapshot()),
    ui_ready: 1,
  });
  assert.equal(n, 3);
  assert.equal(doc.body.dataset.ready, 'true');
});

test('an event that arrives while the snapshot is in flight is not lost', async () => {
  let emitLate = null;
  const { doc } = await startApp({
    desk_snapshot: async () => {
      // The feed connects after the desk read its state, before the reply reaches the window.
      await emitLate({ kind: 'connection', at_ms: 0, state: { state: 'connected', channel_id: 'c' } });
      return snapshot({ connection: { state: 'connecting' } });
    },
    ui_ready: 1,
    __onListen: (emit) => (emitLate = emit),
  });
  assert.equal(doc.getElementById('connection').textContent, 'Connected');
});

test('a newer release is announced as text, once, until dismissed; it opens nothing', async () => {
  const { doc, emit, calls } = await startApp({ desk_snapshot: snapshot({ version: '0.1.0' }), ui_ready: 1 });
  const box = doc.getElementById('update');
  assert.equal(box.hidden, true);
  emit({ kind: 'update_available', version: '0.2.0', notes: '<b>Faster</b> pops', pub_date: null });
  assert.equal(box.hidden, false);
  assert.match(box.textContent, /Agent Companion 0\.2\.0 is available \(you have 0\.1\.0\)/);
  assert.equal(box.querySelector('b'), null, 'release notes are text');
  assert.equal(box.querySelector('.notes').textContent, '<b>Faster</b> pops');
  assert.equal(box.querySelector('a'), null);
  doc.getElementById('update-dismiss').click();
  assert.equal(box.hidden, true);
  // The same release announced again stays dismissed; a newer one is shown.
  emit({ kind: 'update_available', version: '0.2.0', notes: '', pub_date: null });
  assert.equal(box.hidden, true);
  emit({ kind: 'update_available', version: '0.3.0', notes: '', pub_date: null });
  assert.equal(box.hidden, false);
  assert.match(box.textContent, /0\.3\.0/);
  assert.ok(!calls.some((c) => /open/.test(c.cmd)));
});

test('a release known at start is shown from the snapshot; settings show the version', async () => {
  const { doc, app } = await startApp({
    desk_snapshot: snapshot({ version: '0.1.0', update: { version: '0.2.0', notes: '', pub_date: null } }),
    ui_ready: 1,
  });
  assert.equal(doc.getElementById('update').hidden, false);
  app.showView('settings');
  assert.equal(doc.getElementById('app-version').textContent, 'Agent Companion 0.1.0');
});

test('a Genesys sign-in that runs out soon is said in the window, and signing in again renews it', async () => {
  const { doc, emit, calls, settle } = await startApp({ desk_snapshot: snapshot(), ui_ready: 1, sign_in: 'signed_in' });
  const box = doc.getElementById('signin-soon');
  assert.equal(box.hidden, true);
  emit({ kind: 'sign_in_soon', cloud: 'genesys', expires_in_secs: 840, at_ms: 0 });
  assert.equal(box.hidden, false);
  assert.match(box.textContent, /Genesys Cloud sign-in runs out in about 14 min/);
  doc.getElementById('signin-again').click();
  await settle();
  assert.deepEqual(calls.find((c) => c.cmd === 'sign_in').args, { cloud: 'genesys' });
  assert.ok(!calls.some((c) => c.cmd === 'sign_out'), 'renewing is not signing out');
  assert.equal(box.hidden, true);
});

test('a problem the desk reports is shown as a sentence', async () => {
  const { doc, emit } = await startApp({ desk_snapshot: snapshot(), ui_ready: 1 });
  emit({ kind: 'problem', code: 'DISPOSITION_NEEDS_ATTENTION', message: 'a disposition needs attention: bad picklist value', at_ms: 0 });
  const alert = doc.getElementById('alert');
  assert.equal(alert.hidden, false);
  assert.match(alert.textContent, /A disposition needs attention/);
});

test('two interactions at once: each keeps its own draft while the other pops, active one first', async () => {
  const { doc, emit, calls, window } = await startApp({ desk_snapshot: snapshot(), ui_ready: 1, save_draft: null });
  emit(callEvent('c1', 'connected'));
  emit(pop('c1', { kind: 'single', candidate: candidate(1) }));
  const notes = doc.getElementById('wrapup-notes');
  notes.value = 'Asked about the late fee';
  notes.dispatchEvent(new window.Event('input', { bubbles: true }));
  // A second call rings: it takes the card; the first call's notes are kept.
  emit(callEvent('c2', 'alerting', 'tel:+14155550199'));
  emit(pop('c2', { kind: 'single', candidate: candidate(2) }));
  assert.equal(doc.querySelector('#card .caller').textContent, 'Person 2');
  assert.equal(doc.getElementById('wrapup-notes').value, '');
  const items = [...doc.querySelectorAll('#interactions .interaction')];
  assert.equal(items.length, 2, 'both interactions are listed');
  assert.match(items[0].textContent, /Person 1 · On the call · Draft/, 'the call being talked on comes first');
  assert.match(items[1].textContent, /Person 2 · Ringing/);
  assert.equal(items[1].getAttribute('aria-current'), 'true');
  items[0].click();
  assert.equal(doc.querySelector('#card .caller').textContent, 'Person 1');
  assert.equal(doc.getElementById('wrapup-notes').value, 'Asked about the late fee', 'the draft came back');
  await new Promise((r) => setTimeout(r, 450));
  const saved = calls.filter((c) => c.cmd === 'save_draft');
  assert.deepEqual(saved.at(-1).args, { interactionId: 'c1', code: '', notes: 'Asked about the late fee' });
  // Once c2 is on hold and c1 taken off it, the order follows.
  emit(cardEvent('c2', { stage: 'connected', held: true }));
  assert.match(doc.querySelectorAll('#interactions .interaction')[1].textContent, /On hold/);
});

test('a draft kept by the desk comes back after a restart, with the queue’s codes', async () => {
  const restored = {
    interaction_id: 'c9:p1', conversation_id: 'c9', segment_kind: 'inbound', ani: 'tel:+14155550123', stage: 'after_call_work',
    pop: null, chosen: null, deferred: false, disposition: null, held: false,
    codes: ['Completed', 'Technical Support'], draft: { code: 'Technical Support', notes: 'Router reset, call back Monday' },
  };
  const { doc } = await startApp({ desk_snapshot: snapshot({ calls: [restored] }), ui_ready: 1 });
  const options = [...doc.querySelectorAll('#wrapup-code option')].map((o) => o.value).filter(Boolean);
  assert.deepEqual(options, ['Completed', 'Technical Support'], 'the queue’s codes, not the org’s');
  assert.equal(doc.getElementById('wrapup-code').value, 'Technical Support');
  assert.equal(doc.getElementById('wrapup-notes').value, 'Router reset, call back Monday');
});

test('a caller identified by the previous agent pops at once and says who; a transfer back says so', async () => {
  const { doc, emit } = await startApp({ desk_snapshot: snapshot(), ui_ready: 1 });
  emit(cardEvent('c1:p2', { segment_kind: 'transfer', stage: 'alerting', ani: 'tel:+14155550100' }));
  emit(pop('c1:p2', { kind: 'attribute', record_id: '0038c00000000gIAAQ', object: 'Contact', attribute: 'companion_record_id', identified_by: 'Alex <b>Morgan</b>' }, { source: 'attribute', address: null }));
  assert.equal(doc.querySelector('#card .kind').textContent, 'Transferred to you');
  assert.equal(doc.querySelector('#card .how').textContent, 'Identified by Alex <b>Morgan</b> earlier in this call');
  assert.equal(doc.querySelector('#card b'), null, 'a name is text, never markup');
  assert.equal(doc.getElementById('wrapup-record').textContent, '0038c00000000gIAAQ (Contact)', 'the wrap-up is linked to it');
  emit(cardEvent('c1:p3', { segment_kind: 'transfer_back', stage: 'alerting', ani: 'tel:+14155550100' }));
  // Back to this desktop: its cache knows the record, so the card shows the name.
  const known = candidate(1, { id: '0038c00000000gIAAQ' });
  emit(pop('c1:p3', { kind: 'attribute', record_id: known.id, object: 'Contact', attribute: 'companion_record_id', identified_by: 'Alex Morgan', known }, { source: 'attribute', address: null }));
  assert.equal(doc.querySelector('#card .kind').textContent, 'Back to you');
  assert.equal(doc.querySelector('#card .caller').textContent, 'Person 1');
  assert.equal(doc.querySelector('#card .how').textContent, 'Identified by Alex Morgan earlier in this call');
  assert.equal(doc.getElementById('wrapup-record').textContent, 'Person 1 (Contact)');
});

test('a chat and an email pop like calls and say what they are; an unhandled media says so and pops nothing', async () => {
  const { doc, emit } = await startApp({ desk_snapshot: snapshot(), ui_ready: 1 });
  emit(cardEvent('e1:p1', { media: 'email', stage: 'alerting', ani: 'ada@example.com' }));
  emit(pop('e1:p1', { kind: 'single', candidate: candidate(1) }, { address: 'ada@example.com' }));
  assert.equal(doc.querySelector('#card .media').textContent, 'Email');
  assert.equal(doc.querySelector('#card .caller').textContent, 'Person 1');
  assert.match(doc.querySelector('#card .stage').textContent, /ada@example\.com/);
  emit(cardEvent('m1:p1', { media: 'message', channel: 'sms', stage: 'alerting', ani: 'tel:+14155550100' }));
  emit(pop('m1:p1', { kind: 'no_match' }, { address: 'ada@example.com' }));
  assert.equal(doc.querySelector('#card .media').textContent, 'SMS');
  assert.match(doc.getElementById('card').textContent, /No Salesforce record has this email address/);
  emit(cardEvent('ch1:p1', { media: 'chat', stage: 'alerting', ani: '' }));
  emit(pop('ch1:p1', { kind: 'no_number', reason: 'empty' }, { address: null }));
  assert.equal(doc.querySelector('#card .media').textContent, 'Chat');
  assert.match(doc.getElementById('card').textContent, /carries no email address or number/);
  // A video is listed as not handled; it never takes the card from the interaction being worked.
  emit(cardEvent('v1:p1', { media: 'other', stage: 'alerting', ani: '' }));
  assert.match(doc.querySelector('[aria-labelledby="interactions-title"]').textContent, /Not handled by the companion/);
  assert.equal(doc.querySelector('#card .media').textContent, 'Chat');
});

test('the sync view says how many interactions were recovered and whether the last check saw everything', async () => {
  const base = {
    connection: null, connection_updated_ms: null, cache_positive: 0, cache_negative: 0, calls: 0, pops: {}, journal_frames: 0,
    queue: {}, oldest_pending_secs: null, last_push_ms: null, recent_errors: {}, api_usage: null,
    cache_hits: null, cache_misses: null, cache_hit_ratio: null, pop_ms_p50: null, pop_ms_p99: null, database: 'x', database_bytes: 1,
  };
  const readback = { started_ms: 1, finished_ms: 2, outcome: 'partial', source: 'call_history', window_hours: 24,
    detail: 'only calls handled while the app was closed can be recovered', recovered: 3, recovered_pending: 1 };
  const { doc, app, settle } = await startApp({
    desk_snapshot: snapshot(),
    ui_ready: 1,
    sync_status: { status: { ...base, readback }, attention: [], pending: [] },
  });
  app.showView('sync');
  await settle();
  const text = doc.getElementById('view-sync').textContent;
  assert.match(text, /Handled while closed/);
  assert.match(text, /3 recovered \(1 still to send\)/);
  assert.match(text, /could not see everything: only calls/);
});
