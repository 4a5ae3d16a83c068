// The window's state: the desk's snapshot, kept current by its events. Cards are the desk's (one
// model of a call, in Rust): a `card` event replaces the window's copy whole; nothing is derived or
// merged here. Pure functions: the tests feed them events and read the result.

/** How many calls the window keeps (as the desk does). */
const MAX_CALLS = 30;

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
    signInSoon: null, // {cloud, expires_in_secs, at_ms}: a sign-in that runs out soon
    problem: null, // the latest {code, message} the desk reported
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
  s.calls = (snap.calls || []).slice(0, MAX_CALLS);
  s.wrapupCodes = snap.wrapup_codes || [];
  s.settings = snap.settings || [];
  s.version = snap.version || '';
  s.update = snap.update || null;
  s.focusId = s.calls.length ? s.calls[0].interaction_id : null;
  return s;
}

/** The card an event carries (the event without its envelope). */
export function cardOf(ev) {
  const { kind: _k, at_ms: _t, ...card } = ev;
  return card;
}

/** Puts a card in place of the window's copy; a new call goes first. */
function replaceCard(calls, card) {
  const at = calls.findIndex((c) => c.interaction_id === card.interaction_id);
  if (at >= 0) return [...calls.slice(0, at), card, ...calls.slice(at + 1)];
  return [card, ...calls].slice(0, MAX_CALLS);
}

/** Whether an event brings a call's first pop (the moment the card takes the focus). */
export function bringsPop(state, ev) {
  if (ev.kind !== 'card' || !ev.pop) return false;
  const before = state.calls.find((c) => c.interaction_id === ev.interaction_id);
  return !before || !before.pop;
}

/** Applies one `desk` event. Returns a new state. */
export function reduce(state, ev) {
  switch (ev.kind) {
    case 'card': {
      const card = cardOf(ev);
      const focusId = bringsPop(state, ev) ? card.interaction_id : state.focusId || card.interaction_id;
      return { ...state, calls: replaceCard(state.calls, card), focusId };
    }
    case 'connection':
      return { ...state, connection: ev.state };
    case 'sign_in':
      return { ...state, [ev.cloud]: ev.state, signInSoon: ev.state === 'signed_in' && state.signInSoon && state.signInSoon.cloud === ev.cloud ? null : state.signInSoon };
    case 'sign_in_soon':
      return { ...state, signInSoon: { cloud: ev.cloud, expires_in_secs: ev.expires_in_secs, at_ms: ev.at_ms } };
    case 'problem':
      return { ...state, problem: { code: ev.code, message: ev.message } };
    case 'update_available':
      return { ...state, update: { version: ev.version, notes: ev.notes || '', pub_date: ev.pub_date || null } };
    default:
      return state;
  }
}

/** The call the card shows. */
export function focusedCall(state) {
  return state.calls.find((c) => c.interaction_id === state.focusId) || state.calls[0] || null;
}

/** Stages of an interaction still on the agent's desk (ringing, talking, in after-call work). */
const LIVE = ['alerting', 'connected', 'after_call_work'];

/** Whether an interaction is still on the agent's desk. */
export function isLive(call) {
  return !!call && LIVE.includes(call.stage);
}

/** How busy an interaction keeps the agent: talking first, then ringing, then on hold, then wrap-up. */
function activity(call) {
  if (call.stage === 'connected') return call.held ? 2 : 0;
  if (call.stage === 'alerting') return 1;
  return 3;
}

/** Every live interaction, the active one first (then newest first within the same activity). */
export function liveCalls(state) {
  return state.calls
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => isLive(c))
    .sort((a, b) => activity(a.c) - activity(b.c) || a.i - b.i)
    .map(({ c }) => c);
}

/** The codes the wrap-up form offers for a call: its queue's once Genesys named them, else the org's. */
export function codesFor(state, call) {
  return call && call.codes && call.codes.length ? call.codes : state.wrapupCodes;
}

/** How an interaction reached the agent, in words (none for a plain inbound call). */
// What the interaction is, when it is not a voice call: "Email", "Chat", "SMS", "WhatsApp", "Message";
// media the companion does not handle say so.
export function mediaLabel(call) {
  switch (call && call.media) {
    case 'email':
      return 'Email';
    case 'chat':
      return 'Chat';
    case 'message': {
      const names = { sms: 'SMS', whatsapp: 'WhatsApp', webmessaging: 'Web message', facebook: 'Facebook', twitter: 'X (Twitter)' };
      return names[call.channel] || 'Message';
    }
    case 'other':
      return 'Not handled by the companion';
    default:
      return '';
  }
}

export function kindLabel(call) {
  switch (call && call.segment_kind) {
    case 'transfer':
      return 'Transferred to you';
    case 'consult':
      return 'Consult';
    case 'transfer_back':
      return 'Back to you';
    case 'outbound':
      return 'Outbound call';
    case 'callback':
      return 'Callback';
    default:
      return '';
  }
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

/** The record linked to a call: the agent's pick, else the single match, else the record the IVR or
 * an earlier agent of the call identified (known by its id). */
export function linkedRecord(call) {
  if (!call) return null;
  if (call.chosen) return call.chosen;
  const o = call.pop && call.pop.outcome;
  if (o && o.kind === 'single') return o.candidate;
  if (o && o.kind === 'attribute') return o.known || { id: o.record_id, object: o.object || 'Record', name: o.record_id };
  return null;
}
