// The window's behaviour: state from the desk, rendering, keyboard, and the commands. `createApp`
// takes the IPC functions, so the tests run it in jsdom with fakes and the app runs it with Tauri's.

import { initialState, fromSnapshot, reduce, focusedCall, pickerCandidates, needsSearch } from './state.js';
import {
  el,
  freshness,
  matchedHow,
  stageLabel,
  deliveryLabel,
  connectionLabel,
  errorSentence,
  candidateRow,
} from './view.js';

const CLOUD_NAMES = { genesys: 'Genesys Cloud', salesforce: 'Salesforce' };

/**
 * @param {{invoke: Function, listen: Function, doc: Document, win: Window}} io
 */
export function createApp({ invoke, listen, doc, win }) {
  let state = initialState();
  const ui = {
    view: 'calls',
    selected: 0, // index in the picker or the results
    results: null, // manual search results for the focused call: {id, term, items}
    searching: false,
    cardKey: null,
    wrapKey: null,
    dismissedUpdate: null, // the release version whose notice the agent dismissed
  };
  const timings = [];
  const $ = (id) => doc.getElementById(id);

  function showError(e) {
    const a = $('alert');
    a.textContent = errorSentence(e);
    a.hidden = false;
  }

  function clearError() {
    const a = $('alert');
    a.hidden = true;
    a.textContent = '';
  }

  async function call(cmd, args) {
    try {
      const r = await invoke(cmd, args);
      clearError();
      return { ok: true, value: r };
    } catch (e) {
      showError(e);
      return { ok: false, error: e };
    }
  }

  // ---- header ---------------------------------------------------------------------------------

  function renderHeader() {
    $('demo-badge').hidden = !state.demo;
    const c = $('connection');
    c.textContent = connectionLabel(state.connection);
    c.dataset.state = state.connection.state;
    for (const cloud of ['genesys', 'salesforce']) {
      const b = $(`signin-${cloud}`);
      const s = state[cloud];
      b.dataset.state = s;
      b.disabled = s === 'signing_in';
      const verb = s === 'signed_in' ? 'Sign out of' : s === 'signing_in' ? 'Signing in to' : 'Sign in to';
      b.textContent = `${verb} ${CLOUD_NAMES[cloud]}`;
      b.setAttribute('aria-label', `${CLOUD_NAMES[cloud]}: ${s.replace('_', ' ')}. ${verb} ${CLOUD_NAMES[cloud]}`);
    }
    const note = $('secrets-note');
    if (state.secrets && state.secrets.kind === 'memory_only') {
      note.hidden = false;
      note.textContent = `Sign-ins are not kept after you quit: ${state.secrets.reason}.`;
    } else note.hidden = true;
    renderUpdate();
  }

  // A newer release: said once, quietly, until dismissed. The app installs nothing and opens no link;
  // releases come through the company's software distribution.
  function renderUpdate() {
    const box = $('update');
    const u = state.update;
    if (!u || ui.dismissedUpdate === u.version) {
      box.hidden = true;
      return;
    }
    if (box.dataset.version === u.version && !box.hidden) return;
    box.dataset.version = u.version;
    const parts = [
      el(doc, 'p', { text: `Agent Companion ${u.version} is available${state.version ? ` (you have ${state.version})` : ''}. Install it from your software center, or ask IT.` }),
    ];
    if (u.notes) parts.push(el(doc, 'details', {}, el(doc, 'summary', { text: 'What changed' }), el(doc, 'p', { class: 'notes', text: u.notes })));
    parts.push(
      el(doc, 'button', {
        type: 'button',
        id: 'update-dismiss',
        text: 'Dismiss',
        'aria-label': `Dismiss the notice about version ${u.version}`,
        onclick: () => {
          ui.dismissedUpdate = u.version;
          renderUpdate();
        },
      }),
    );
    box.replaceChildren(...parts);
    box.hidden = false;
  }

  // ---- the call card ----------------------------------------------------------------------------

  function cardKey(callObj) {
    if (!callObj) return 'none';
    const o = callObj.pop && callObj.pop.outcome;
    const cands = o && o.candidates ? o.candidates.map((c) => c.id).join(',') : '';
    return [callObj.conversation_id, o ? o.kind : 'waiting', cands, callObj.chosen && callObj.chosen.id, callObj.deferred].join('|');
  }

  function renderCard() {
    const host = $('card');
    const c = focusedCall(state);
    const key = cardKey(c);
    if (key !== ui.cardKey) {
      ui.cardKey = key;
      ui.selected = 0;
      if (!ui.results || !c || ui.results.id !== c.conversation_id) ui.results = null;
      host.replaceChildren(buildCard(c));
      const list = host.querySelector('[role="listbox"]');
      if (list) list.focus();
    }
    // Parts that change without a new card: the stage line and the selection.
    const stage = host.querySelector('.stage');
    if (stage && c) stage.textContent = `${stageLabel(c.stage)} · ${c.ani || 'unknown number'}`;
    updateSelection(host);
  }

  function updateSelection(host) {
    host.querySelectorAll('[role="listbox"]').forEach((list) => {
      const opts = [...list.querySelectorAll('[role="option"]')];
      opts.forEach((o, i) => {
        const sel = i === ui.selected;
        o.setAttribute('aria-selected', sel ? 'true' : 'false');
        o.classList.toggle('selected', sel);
      });
      if (opts[ui.selected]) list.setAttribute('aria-activedescendant', opts[ui.selected].id);
    });
  }

  function buildCard(c) {
    if (!c) {
      return el(doc, 'div', { class: 'card empty' }, el(doc, 'p', { text: 'Waiting for calls. A caller’s record appears here as the phone rings.' }));
    }
    const head = el(
      doc,
      'div',
      { class: 'card-head' },
      el(doc, 'p', { class: 'stage', text: `${stageLabel(c.stage)} · ${c.ani || 'unknown number'}` }),
    );
    const o = c.pop && c.pop.outcome;
    if (!o) return el(doc, 'article', { class: 'card', 'aria-label': 'Current call' }, head, el(doc, 'p', { class: 'muted', text: 'Looking up the caller…' }));
    const body = [];
    if (c.chosen) {
      body.push(recordBlock(c.chosen, 'Picked by you'));
    } else if (o.kind === 'single') {
      body.push(recordBlock(o.candidate, freshness(c.pop)));
    } else if (o.kind === 'attribute') {
      body.push(
        el(doc, 'h2', { class: 'caller', text: `${o.object || 'Record'} ${o.record_id}` }),
        el(doc, 'p', { class: 'how', text: `Identified by the IVR (${o.attribute})` }),
        el(doc, 'div', { class: 'actions' }, openButton(o.record_id)),
      );
    } else if (o.kind === 'multiple' && !c.deferred) {
      body.push(picker(c, o.candidates));
    }
    if (needsSearch(c)) body.push(searchBlock(c));
    return el(doc, 'article', { class: `card outcome-${o.kind}`, 'aria-label': 'Current call' }, head, ...body);
  }

  function recordBlock(cand, how) {
    return el(
      doc,
      'div',
      { class: 'record' },
      el(doc, 'h2', { class: 'caller', text: cand.name || '(no name)' }),
      el(doc, 'p', { class: 'account', text: [cand.object, cand.account_name].filter(Boolean).join(' · ') }),
      el(doc, 'p', { class: 'how', text: `${matchedHow(cand)}${cand.matched_value ? ` (${cand.matched_value})` : ''}` }),
      how ? el(doc, 'p', { class: 'fresh', text: how }) : null,
      el(doc, 'div', { class: 'actions' }, openButton(cand.id)),
    );
  }

  function openButton(recordId) {
    return el(doc, 'button', {
      type: 'button',
      class: 'primary',
      id: 'open-record',
      text: 'Open in Salesforce',
      onclick: () => call('open_record', { recordId }),
    });
  }

  function picker(c, cands) {
    const list = el(
      doc,
      'ul',
      { role: 'listbox', id: 'picker', tabindex: '0', 'aria-label': `${cands.length} records match this number. Press 1 to 9 to choose, Enter to confirm, Escape to decide later.` },
      cands.map((cand, i) => candidateRow(doc, cand, i, i === ui.selected, (j) => choose(j))),
    );
    return el(
      doc,
      'div',
      { class: 'picker' },
      el(doc, 'h2', { class: 'caller', text: `${cands.length} records match ${c.pop.e164 || c.ani}` }),
      el(doc, 'p', { class: 'hint', text: '1–9 choose · Enter confirm · Esc decide later' }),
      list,
      el(
        doc,
        'div',
        { class: 'actions' },
        el(doc, 'button', { type: 'button', class: 'primary', id: 'confirm-pick', text: 'Use this record', onclick: () => confirmPick() }),
        el(doc, 'button', { type: 'button', id: 'decide-later', text: 'Decide later', onclick: () => decideLater() }),
      ),
    );
  }

  function searchBlock(c) {
    const o = c.pop.outcome;
    const why =
      o.kind === 'no_match'
        ? 'No Salesforce record has this number.'
        : o.kind === 'no_number'
          ? 'The caller’s number is withheld.'
          : o.kind === 'unavailable'
            ? o.reason.charAt(0).toUpperCase() + o.reason.slice(1) + '.'
            : 'Find the caller by hand.';
    const input = el(doc, 'input', {
      type: 'search',
      id: 'search-term',
      name: 'term',
      autocomplete: 'off',
      placeholder: 'Name, email or account number',
      'aria-describedby': 'search-why',
    });
    const form = el(
      doc,
      'form',
      { class: 'search', role: 'search', onsubmit: (e) => { e.preventDefault(); runSearch(c.conversation_id, input.value); } },
      el(doc, 'label', { for: 'search-term', text: 'Search Salesforce' }),
      el(doc, 'div', { class: 'row' }, input, el(doc, 'button', { type: 'submit', id: 'search-run', text: 'Search' })),
    );
    const results = el(doc, 'div', { id: 'search-results', 'aria-live': 'polite' });
    fillResults(results, c);
    return el(
      doc,
      'div',
      { class: 'nomatch' },
      el(doc, 'p', { id: 'search-why', class: 'how', text: why }),
      form,
      results,
      el(
        doc,
        'div',
        { class: 'actions' },
        el(doc, 'button', { type: 'button', id: 'create-contact', text: 'Create contact', onclick: () => call('create_contact', { conversationId: c.conversation_id }) }),
      ),
    );
  }

  function fillResults(host, c) {
    const r = ui.results && ui.results.id === c.conversation_id ? ui.results : null;
    if (ui.searching) return host.replaceChildren(el(doc, 'p', { class: 'muted', text: 'Searching…' }));
    if (!r) return host.replaceChildren();
    if (!r.items.length) return host.replaceChildren(el(doc, 'p', { class: 'muted', text: `Nothing found for “${r.term}”.` }));
    host.replaceChildren(
      el(doc, 'p', { class: 'hint', text: `${r.items.length} found · 1–9 choose · Enter confirm` }),
      el(
        doc,
        'ul',
        { role: 'listbox', id: 'results', tabindex: '0', 'aria-label': `Search results for ${r.term}` },
        r.items.map((cand, i) => candidateRow(doc, cand, i, i === ui.selected, (j) => choose(j))),
      ),
    );
    updateSelection(host);
  }

  async function runSearch(id, term) {
    ui.searching = true;
    ui.results = null;
    const host = $('search-results');
    const c = focusedCall(state);
    if (host && c) fillResults(host, c);
    const r = await call('search_records', { term });
    ui.searching = false;
    ui.results = r.ok ? { id, term, items: r.value } : null;
    ui.selected = 0;
    const now = $('search-results');
    const cur = focusedCall(state);
    if (now && cur) fillResults(now, cur);
    const list = $('results');
    if (list) list.focus();
  }

  // ---- choosing -----------------------------------------------------------------------------------

  function currentChoices() {
    const c = focusedCall(state);
    if (!c) return [];
    const p = pickerCandidates(c);
    if (p.length) return p;
    if (ui.results && ui.results.id === c.conversation_id) return ui.results.items;
    return [];
  }

  function choose(i) {
    if (i < currentChoices().length) {
      ui.selected = i;
      updateSelection($('card'));
    }
  }

  async function confirmPick() {
    const c = focusedCall(state);
    const cand = currentChoices()[ui.selected];
    if (!c || !cand) return;
    const r = await call('pick_record', { conversationId: c.conversation_id, recordId: cand.id });
    if (r.ok) apply({ kind: 'card', ...r.value });
  }

  async function decideLater() {
    const c = focusedCall(state);
    if (!c) return;
    const r = await call('decide_later', { conversationId: c.conversation_id });
    if (r.ok) apply({ kind: 'card', ...r.value });
  }

  // ---- wrap-up ----------------------------------------------------------------------------------

  function renderWrapup() {
    const host = $('wrapup');
    const c = focusedCall(state);
    const key = c ? c.conversation_id : 'none';
    if (key !== ui.wrapKey) {
      ui.wrapKey = key;
      host.replaceChildren(c ? buildWrapup(c) : '');
    }
    if (!c) return;
    const status = $('wrapup-status');
    const d = c.disposition;
    if (status) {
      status.textContent = d ? `${deliveryLabel(d.state)}: ${d.code}` : 'Not wrapped up yet';
      status.dataset.state = d ? d.state : 'none';
    }
    const linked = $('wrapup-record');
    if (linked) {
      const rec = c.chosen || (c.pop && c.pop.outcome.kind === 'single' ? c.pop.outcome.candidate : null);
      linked.textContent = rec ? `${rec.name} (${rec.object})` : 'No record linked';
    }
  }

  function buildWrapup(c) {
    const codes = state.wrapupCodes;
    const select = el(
      doc,
      'select',
      { id: 'wrapup-code', name: 'code', required: true },
      el(doc, 'option', { value: '', text: 'Choose a disposition…' }),
      codes.map((code) => el(doc, 'option', { value: code, text: code })),
    );
    const notes = el(doc, 'textarea', { id: 'wrapup-notes', name: 'notes', rows: '3', maxlength: '4000', placeholder: 'Reason or notes (Ctrl+Enter submits)' });
    const form = el(
      doc,
      'form',
      { class: 'wrapup', 'aria-labelledby': 'wrapup-title', onsubmit: (e) => { e.preventDefault(); submitWrapup(c.conversation_id, select.value, notes.value); } },
      el(doc, 'h2', { id: 'wrapup-title', text: 'Wrap-up' }),
      el(doc, 'label', { for: 'wrapup-code', text: 'Disposition' }),
      select,
      el(doc, 'label', { for: 'wrapup-notes', text: 'Reason or notes' }),
      notes,
      el(doc, 'p', { class: 'linked' }, 'Linked record: ', el(doc, 'span', { id: 'wrapup-record' })),
      el(
        doc,
        'div',
        { class: 'actions' },
        el(doc, 'button', { type: 'submit', class: 'primary', id: 'wrapup-submit', text: 'Submit wrap-up' }),
        el(doc, 'span', { id: 'wrapup-status', class: 'delivery', role: 'status', 'aria-live': 'polite' }),
      ),
    );
    notes.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        submitWrapup(c.conversation_id, select.value, notes.value);
      }
    });
    return form;
  }

  async function submitWrapup(id, code, notes) {
    if (!code) {
      showError({ code: 'BAD_WRAPUP', message: 'choose a disposition code from the list' });
      $('wrapup-code').focus();
      return;
    }
    const r = await call('submit_wrapup', { conversationId: id, code, notes, recordId: null });
    if (r.ok) apply({ kind: 'card', ...r.value });
  }

  // ---- recent calls ----------------------------------------------------------------------------

  function renderRecent() {
    const items = state.calls
      .filter((c) => c.conversation_id !== (focusedCall(state) || {}).conversation_id)
      .slice(0, 10)
      .map((c) => {
        const o = c.pop && c.pop.outcome;
        const who = c.chosen ? c.chosen.name : o && o.kind === 'single' ? o.candidate.name : c.ani || 'unknown';
        const d = c.disposition ? deliveryLabel(c.disposition.state) : 'no wrap-up';
        return el(
          doc,
          'li',
          {},
          el(doc, 'button', {
            type: 'button',
            class: 'linkish',
            text: `${who} · ${o ? o.kind.replace('_', ' ') : 'no pop'} · ${d}`,
            onclick: () => {
              state = { ...state, focusId: c.conversation_id };
              render();
            },
          }),
        );
      });
    $('recent').replaceChildren(...items);
  }

  // ---- other views ------------------------------------------------------------------------------

  function row(k, v) {
    return el(doc, 'tr', {}, el(doc, 'th', { scope: 'row', text: k }), el(doc, 'td', { text: v }));
  }

  async function renderSync() {
    const r = await call('sync_status');
    if (!r.ok) return;
    const { status: s, attention, pending } = r.value;
    const queue = Object.entries(s.queue || {}).map(([k, v]) => `${deliveryLabel(k)} ${v}`).join(', ') || 'empty';
    const errors = Object.entries(s.recent_errors || {});
    const usage = s.api_usage ? `${s.api_usage.used} of ${s.api_usage.max} today` : 'not seen yet';
    const lat = s.pop_ms_p50 != null ? `p50 ${s.pop_ms_p50.toFixed(2)} ms · p99 ${s.pop_ms_p99.toFixed(2)} ms` : 'no pops yet';
    const when = (ms) => (ms ? new Date(ms).toLocaleTimeString() : 'never');
    const table = el(
      doc,
      'table',
      { class: 'kv', 'aria-label': 'Sync status' },
      el(
        doc,
        'tbody',
        {},
        row('Connection', connectionLabel(state.connection)),
        row('Dispositions', queue),
        row('Oldest pending', s.oldest_pending_secs != null ? `${s.oldest_pending_secs} s` : 'none'),
        row('Last push', when(s.last_push_ms)),
        row('Salesforce API', usage),
        row('Cache', `${s.cache_positive} numbers with records, ${s.cache_negative} without${s.cache_hit_ratio != null ? ` · hit ratio ${Math.round(s.cache_hit_ratio * 100)} %` : ''}`),
        row('Pop latency', lat),
      ),
    );
    const errs = el(
      doc,
      'div',
      { class: 'errors' },
      el(doc, 'h2', { text: 'Errors in the last 24 h' }),
      errors.length
        ? el(doc, 'ul', {}, errors.map(([cls, e]) => el(doc, 'li', { text: `${cls} ×${e.count}: ${e.latest}` })))
        : el(doc, 'p', { class: 'muted', text: 'None.' }),
    );
    const parked = el(
      doc,
      'div',
      { class: 'parked' },
      el(doc, 'h2', { text: `Needs attention (${attention.length})` }),
      attention.length
        ? el(
            doc,
            'ul',
            { id: 'attention' },
            attention.map((a) =>
              el(
                doc,
                'li',
                {},
                el(doc, 'span', { text: `${a.disposition.code} · ${a.error_class || ''} ${a.error_code || ''}: ${a.error_message || ''}` }),
                el(doc, 'button', { type: 'button', text: 'Retry', onclick: async () => { if ((await call('retry_disposition', { conversationId: a.conversation_id })).ok) renderSync(); } }),
                el(doc, 'button', { type: 'button', text: 'Discard', onclick: async () => { if ((await call('discard_disposition', { conversationId: a.conversation_id })).ok) renderSync(); } }),
              ),
            ),
          )
        : el(doc, 'p', { class: 'muted', text: 'Nothing is parked.' }),
      el(doc, 'p', { class: 'muted', text: `${pending.length} waiting to be sent.` }),
    );
    const exportBtn = el(doc, 'button', {
      type: 'button',
      id: 'export-diagnostics',
      text: 'Export diagnostics (ids only)',
      onclick: async () => {
        const e = await call('export_diagnostics');
        if (e.ok) $('export-result').textContent = `Saved to ${e.value}`;
      },
    });
    $('view-sync').replaceChildren(el(doc, 'h2', { text: 'Sync status' }), table, errs, parked, el(doc, 'div', { class: 'actions' }, exportBtn), el(doc, 'p', { id: 'export-result', role: 'status' }));
  }

  async function renderHistory() {
    const r = await call('call_history');
    if (!r.ok) return;
    const rows = r.value.map((h) =>
      el(
        doc,
        'tr',
        {},
        el(doc, 'td', { text: new Date(h.started_ms).toLocaleTimeString() }),
        el(doc, 'td', { text: h.ani || '' }),
        el(doc, 'td', { text: (h.pop_outcome || 'no pop').replace('_', ' ') }),
        el(doc, 'td', { text: h.disposition ? `${h.disposition} · ${deliveryLabel(h.delivery)}` : 'no wrap-up' }),
      ),
    );
    $('view-history').replaceChildren(
      el(doc, 'h2', { text: `Today’s calls (${rows.length})` }),
      el(
        doc,
        'table',
        { class: 'grid', 'aria-label': 'Today’s calls' },
        el(doc, 'thead', {}, el(doc, 'tr', {}, ['Time', 'Number', 'Pop', 'Disposition'].map((t) => el(doc, 'th', { scope: 'col', text: t })))),
        el(doc, 'tbody', {}, rows),
      ),
    );
  }

  function renderSettings() {
    const rows = state.settings.map((s) =>
      el(
        doc,
        'tr',
        { class: s.locked ? 'locked' : '' },
        el(doc, 'th', { scope: 'row', text: s.key }),
        el(doc, 'td', { text: s.value }),
        el(doc, 'td', { text: s.locked ? '🔒 Locked by IT' : `set by ${s.layer.replace('_', ' ')}` }),
      ),
    );
    $('view-settings').replaceChildren(
      el(doc, 'h2', { text: 'Settings in force' }),
      el(doc, 'p', { id: 'app-version', text: state.version ? `Agent Companion ${state.version}` : '' }),
      el(doc, 'p', { class: 'muted', text: 'Settings are changed in the configuration files; locked ones are managed by IT and cannot be overridden.' }),
      el(doc, 'table', { class: 'grid', 'aria-label': 'Settings' }, el(doc, 'tbody', {}, rows.length ? rows : [row('Defaults', 'every setting has its default')])),
    );
  }

  // ---- top level ----------------------------------------------------------------------------------

  function render() {
    renderHeader();
    renderCard();
    renderWrapup();
    renderRecent();
  }

  function showView(view) {
    ui.view = view;
    for (const b of doc.querySelectorAll('[role="tab"]')) {
      const on = b.dataset.view === view;
      b.setAttribute('aria-selected', on ? 'true' : 'false');
      b.tabIndex = on ? 0 : -1;
      $(`view-${b.dataset.view}`).hidden = !on;
    }
    if (view === 'sync') {
      renderSync();
      // Retries and back-off happen without events: the open Sync view reads the store every 2 s.
      if (!ui.syncPoll) ui.syncPoll = win.setInterval(() => (ui.view === 'sync' ? renderSync() : null), 2000);
    } else if (ui.syncPoll) {
      win.clearInterval(ui.syncPoll);
      ui.syncPoll = null;
    }
    if (view === 'history') renderHistory();
    if (view === 'settings') renderSettings();
  }

  let syncTimer = null;
  function apply(ev) {
    state = reduce(state, ev);
    render();
    if (ui.view === 'sync' && !syncTimer) {
      // Events come in bursts; the Sync view reads the store at most every 300 ms.
      syncTimer = setTimeout(() => {
        syncTimer = null;
        renderSync();
      }, 300);
    }
  }

  function onKey(e) {
    if (ui.view !== 'calls') return;
    const t = e.target;
    const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');
    const choices = currentChoices();
    if (!choices.length) return;
    if (!typing && /^[1-9]$/.test(e.key)) {
      const i = Number(e.key) - 1;
      if (i < choices.length) {
        e.preventDefault();
        choose(i);
      }
    } else if (!typing && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault();
      choose(Math.max(0, Math.min(choices.length - 1, ui.selected + (e.key === 'ArrowDown' ? 1 : -1))));
    } else if (e.key === 'Enter' && !typing && t.tagName !== 'BUTTON') {
      e.preventDefault();
      confirmPick();
    } else if (e.key === 'Escape' && pickerCandidates(focusedCall(state)).length) {
      e.preventDefault();
      decideLater();
    }
  }

  async function toggleSignIn(cloud) {
    const signedIn = state[cloud] === 'signed_in';
    state = { ...state, [cloud]: signedIn ? state[cloud] : 'signing_in' };
    renderHeader();
    const r = await call(signedIn ? 'sign_out' : 'sign_in', { cloud });
    state = { ...state, [cloud]: r.ok ? r.value : signedIn ? 'signed_in' : 'signed_out' };
    renderHeader();
  }

  async function start() {
    doc.addEventListener('keydown', onKey);
    for (const b of doc.querySelectorAll('[role="tab"]')) b.addEventListener('click', () => showView(b.dataset.view));
    doc.querySelector('[role="tablist"]').addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      const tabs = [...doc.querySelectorAll('[role="tab"]')];
      const i = tabs.findIndex((t) => t.dataset.view === ui.view);
      const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
      showView(next.dataset.view);
      next.focus();
    });
    for (const cloud of ['genesys', 'salesforce']) $(`signin-${cloud}`).addEventListener('click', () => toggleSignIn(cloud));
    // Events that arrive while the snapshot is in flight are applied again on top of it.
    let inFlight = [];
    await listen('desk', (msg) => {
      const ev = msg.payload;
      if (inFlight) inFlight.push(ev);
      apply(ev);
      if (ev.kind === 'engine' && ev.event === 'pop') notePainted(ev);
    });
    await listen('focus-call', (msg) => {
      state = { ...state, focusId: msg.payload };
      showView('calls');
      render();
    });
    // Until the desk is up, desk_snapshot answers STARTING: ask again.
    for (let attempt = 0; attempt < 60; attempt++) {
      try {
        inFlight = [];
        const snap = await invoke('desk_snapshot');
        state = inFlight.reduce(reduce, fromSnapshot(snap));
        break;
      } catch (e) {
        if (!e || e.code !== 'STARTING') {
          showError(e);
          break;
        }
      }
    }
    inFlight = null;
    render();
    await new Promise((r) => win.requestAnimationFrame(() => r()));
    try {
      const ms = await invoke('ui_ready');
      doc.body.dataset.readyMs = String(ms);
    } catch (_) {
      // Only a measurement.
    }
    doc.body.dataset.ready = 'true';
  }

  // Pop-to-painted: the engine's time from the alerting frame to the decision, plus the time from
  // the event leaving the engine to the second animation frame after it was rendered.
  function notePainted(ev) {
    win.requestAnimationFrame(() =>
      win.requestAnimationFrame(() => {
        const painted = win.performance.timeOrigin + win.performance.now();
        const ms = painted - ev.at_ms + ev.elapsed_us / 1000;
        timings.push({ id: ev.conversation_id, source: ev.source, ms, engine_ms: ev.elapsed_us / 1000 });
      }),
    );
  }

  return { start, timings, state: () => state, showView };
}
