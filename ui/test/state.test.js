import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialState, reduce, focusedCall, pickerCandidates, needsSearch } from '../src/state.js';

const popEv = (id, kind) => ({ kind: 'engine', event: 'pop', conversation_id: id, outcome: { kind, candidates: [] }, source: 'search' });

test('a new pop takes the card; events for other calls do not steal it', () => {
  let s = initialState();
  s = reduce(s, popEv('a', 'no_match'));
  assert.equal(focusedCall(s).conversation_id, 'a');
  s = reduce(s, { kind: 'engine', event: 'call', conversation_id: 'a', transition: 'connected', ani: 'tel:+1' });
  s = reduce(s, popEv('b', 'no_match'));
  assert.equal(focusedCall(s).conversation_id, 'b');
  s = reduce(s, { kind: 'engine', event: 'call', conversation_id: 'a', transition: 'disconnected', ani: 'tel:+1' });
  assert.equal(focusedCall(s).conversation_id, 'b');
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
  assert.equal(s.calls[0].conversation_id, 'c39');
});
