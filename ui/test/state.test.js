import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialState, reduce, focusedCall, pickerCandidates, needsSearch } from '../src/state.js';

const card = (id, over = {}) => ({ kind: 'card', interaction_id: id, ani: 'tel:+1', stage: 'alerting', pop: null, chosen: null, deferred: false, disposition: null, ...over });
const popEv = (id, kind) => card(id, { pop: { interaction_id: id, outcome: { kind, candidates: [] }, source: 'search' } });
const stageEv = (id, stage) => card(id, { stage, pop: { interaction_id: id, outcome: { kind: 'no_match', candidates: [] }, source: 'search' } });

test('a new pop takes the card; events for other calls do not steal it', () => {
  let s = initialState();
  s = reduce(s, popEv('a', 'no_match'));
  assert.equal(focusedCall(s).interaction_id, 'a');
  s = reduce(s, stageEv('a', 'connected'));
  s = reduce(s, popEv('b', 'no_match'));
  assert.equal(focusedCall(s).interaction_id, 'b');
  s = reduce(s, stageEv('a', 'disconnected'));
  assert.equal(focusedCall(s).interaction_id, 'b');
  assert.equal(s.calls.length, 2);
});

test('the same event twice changes nothing more than once', () => {
  let s = reduce(initialState(), popEv('a', 'no_match'));
  const once = JSON.stringify(s);
  s = reduce(s, popEv('a', 'no_match'));
  assert.equal(JSON.stringify(s), once);
});

test('unknown events are ignored', () => {
  const s = initialState();
  assert.equal(reduce(s, { kind: 'something_new' }), s);
});

test('the picker is offered only until a choice or a deferral', () => {
  const call = { pop: { outcome: { kind: 'multiple', candidates: [{ id: 'x' }] } }, chosen: null, deferred: false };
  assert.equal(pickerCandidates(call).length, 1);
  assert.equal(pickerCandidates({ ...call, chosen: { id: 'x' } }).length, 0);
  assert.equal(pickerCandidates({ ...call, deferred: true }).length, 0);
  assert.equal(needsSearch({ ...call, deferred: true }), true);
  assert.equal(needsSearch(call), false);
});

test('at most 30 calls are kept', () => {
  let s = initialState();
  for (let i = 0; i < 40; i++) s = reduce(s, popEv(`c${i}`, 'no_match'));
  assert.equal(s.calls.length, 30);
  assert.equal(s.calls[0].interaction_id, 'c39');
});

test('a card replaces the window\'s copy whole: nothing is merged or derived', () => {
  let s = reduce(initialState(), card('a', { chosen: { id: 'x' }, disposition: { code: 'Sale', state: 'pending' } }));
  s = reduce(s, card('a', { stage: 'connected' }));
  const a = focusedCall(s);
  assert.equal(a.stage, 'connected');
  assert.equal(a.chosen, null, 'the desk\'s card is the truth');
  assert.equal(a.disposition, null);
  assert.equal('kind' in a, false, 'the envelope is not part of the card');
});

test('a sign-in that runs out soon is noted until that cloud signs in again', () => {
  let s = reduce(initialState(), { kind: 'sign_in_soon', cloud: 'genesys', expires_in_secs: 600, at_ms: 1 });
  assert.deepEqual(s.signInSoon, { cloud: 'genesys', expires_in_secs: 600, at_ms: 1 });
  s = reduce(s, { kind: 'sign_in', cloud: 'salesforce', state: 'signed_in' });
  assert.ok(s.signInSoon);
  s = reduce(s, { kind: 'sign_in', cloud: 'genesys', state: 'signed_in' });
  assert.equal(s.signInSoon, null);
});
