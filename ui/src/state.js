// The window's state, built from the desk's snapshot and kept current by its events. Pure functions:
// the tests feed them events and read the result.

/** An empty state, before the snapshot arrives. */
export function initialState() {
  return {
    ready: false,
    demo: false,
    genesys: 'signed_out',
    salesforce: 'signed_out',
    connection: { state: 'stopped' },
    secrets: { kind: 'keychain' },
    calls: [], // newest first
    wrapupCodes: [],
    settings: [],
    version: '',
    update: null, // a newer release the feed announced: {version, notes, pub_date}
    focusId: null, // the call the card shows
  };
}

/** The state from a `desk_snapshot` reply. */
export function fromSnapshot(snap) {
  const s = initialState();
  s.ready = true;
  s.demo = !!snap.demo;
  s.genesys = snap.genesys;
  s.salesforce = snap.salesforce;
  s.connection = snap.connection || { state: 'stopped' };
  s.secrets = snap.secrets || s.secrets;
  s.calls = (snap.calls || []).slice();
  s.wrapupCodes = snap.wrapup_codes || [];
  s.settings = snap.settings || [];
  s.version = snap.version || '';
  s.update = snap.update || null;
  s.focusId = s.calls.length ? s.calls[0].conversation_id : null;
  return s;
}

function upsertCall(state, card) {
  const calls = state.calls.filter((c) => c.conversation_id !== card.conversation_id);
  const existing = state.calls.find((c) => c.conversation_id === card.conversation_id);
  const merged = existing ? { ...existing, ...card } : card;
  // A call keeps its place; a new one goes first.
  const at = state.calls.findIndex((c) => c.conversation_id === card.conversation_id);
  if (at >= 0) calls.splice(at, 0, merged);
  else calls.unshift(merged);
  return calls.slice(0, 30);
}

function emptyCard(id, ani) {
  return { conversation_id: id, ani: ani || '', stage: null, pop: null, chosen: null, deferred: false, disposition: null };
}

/** Applies one `desk` event. Returns a new state. */
export function reduce(state, ev) {
  switch (ev.kind) {
    case 'sign_in':
      return { ...state, [ev.cloud]: ev.state };
    case 'card': {
      const { kind: _k, at_ms: _t, ...card } = ev;
      const isNew = !state.calls.some((c) => c.conversation_id === card.conversation_id);
      const calls = upsertCall(state, card);
      return { ...state, calls, focusId: isNew && card.pop ? card.conversation_id : state.focusId || card.conversation_id };
    }
    case 'engine':
      return reduceEngine(state, ev);
    case 'update_available':
      return { ...state, update: { version: ev.version, notes: ev.notes || '', pub_date: ev.pub_date || null } };
    default:
      return state;
  }
}

// Engine events: `{kind: 'engine', event: 'pop' | 'call' | 'connection' | …, ...fields}`.
function reduceEngine(state, ev) {
  if (ev.event === 'connection') {
    return { ...state, connection: ev.state };
  }
  if (ev.event === 'pop') {
    // A pop: shown at once, before the card event that follows it.
    const existing = state.calls.find((c) => c.conversation_id === ev.conversation_id) || emptyCard(ev.conversation_id);
    const pop = {
      conversation_id: ev.conversation_id,
      outcome: ev.outcome,
      source: ev.source,
      e164: ev.e164,
      cache_age_secs: ev.cache_age_secs,
      elapsed_us: ev.elapsed_us,
      salesforce_us: ev.salesforce_us,
    };
    const calls = upsertCall(state, { ...existing, pop });
    return { ...state, calls, focusId: ev.conversation_id };
  }
  if (ev.event === 'call') {
    const existing = state.calls.find((c) => c.conversation_id === ev.conversation_id);
    const card = existing || emptyCard(ev.conversation_id, ev.ani);
    const calls = upsertCall(state, { ...card, stage: ev.transition, ani: card.ani || ev.ani });
    return { ...state, calls, focusId: state.focusId || ev.conversation_id };
  }
  return state;
}

/** The call the card shows. */
export function focusedCall(state) {
  return state.calls.find((c) => c.conversation_id === state.focusId) || state.calls[0] || null;
}

/** The candidates the picker offers for a call (empty when there is nothing to pick). */
export function pickerCandidates(call) {
  const o = call && call.pop && call.pop.outcome;
  if (!o || o.kind !== 'multiple' || call.chosen || call.deferred) return [];
  return o.candidates;
}

/** Whether the no-match search applies to a call. */
export function needsSearch(call) {
  const o = call && call.pop && call.pop.outcome;
  if (!o || call.chosen) return false;
  return o.kind === 'no_match' || o.kind === 'no_number' || o.kind === 'unavailable' || (o.kind === 'multiple' && call.deferred);
}
