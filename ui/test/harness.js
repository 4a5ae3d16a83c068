// Runs the window in jsdom with a fake desk: `invoke` answers from a table and records every call;
// `emit` plays a desk event as the Tauri shell would. Like the real desk, the fake keeps one card per
// call and sends it whole (`callEvent`, `pop`, `cardEvent`); an answer may emit too, as a command that
// changes a card does.
import { afterEach } from 'node:test';
import { JSDOM } from 'jsdom';
import { readFileSync } from 'node:fs';
import { createApp } from '../src/app.js';

const html = readFileSync(new URL('../src/index.html', import.meta.url), 'utf8').replace(/<script[^>]*><\/script>/, '');

const open = [];
// Each test's window is closed after it, with its timers.
afterEach(() => {
  while (open.length) open.pop().close();
  cards.clear();
});

export async function startApp(answers = {}) {
  const dom = new JSDOM(html, { pretendToBeVisual: true });
  open.push(dom.window);
  const { window } = dom;
  const calls = [];
  const listeners = {};
  const invoke = async (cmd, args) => {
    calls.push({ cmd, args });
    const a = answers[cmd];
    if (a === undefined) throw { code: 'UNKNOWN', message: `no answer for ${cmd}` };
    const v = typeof a === 'function' ? await a(args, (payload) => listeners.desk({ payload })) : a;
    if (v && v.__error) throw v.__error;
    return v;
  };
  const listen = async (name, cb) => {
    listeners[name] = cb;
    if (name === 'desk' && answers.__onListen) answers.__onListen(async (payload) => cb({ payload }));
    return () => delete listeners[name];
  };
  const app = createApp({ invoke, listen, doc: window.document, win: window });
  await app.start();
  const emit = (payload, name = 'desk') => listeners[name]({ payload });
  const key = (k, opts = {}) => {
    const target = opts.target || window.document.body;
    target.dispatchEvent(new window.KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true, ...opts }));
  };
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { window, doc: window.document, app, calls, emit, key, settle };
}

export const snapshot = (over = {}) => ({
  demo: true,
  genesys: 'signed_in',
  salesforce: 'signed_in',
  genesys_expires_at_ms: null,
  connection: { state: 'connected', channel_id: 'ch1' },
  secrets: { kind: 'memory_only', reason: 'the demo keeps its simulated sign-ins in memory only' },
  calls: [],
  wrapup_codes: ['Billing Question', 'Sale', 'Wrong Number'],
  settings: [],
  ...over,
});

export const candidate = (n, over = {}) => ({
  id: `0038c00000000${String(n).padStart(2, '0')}AAA`,
  object: 'Contact',
  name: `Person ${n}`,
  account_name: `Account ${n}`,
  account_id: null,
  matched_field: 'MobilePhone',
  matched_value: '(415) 555-0100',
  exact_format: false,
  last_activity: `2026-11-${String(20 - n).padStart(2, '0')}`,
  ...over,
});

// The fake desk's cards, by conversation id (cleared for each app).
const cards = new Map();

/** The desk's `card` event after a change to a call's card. */
export const cardEvent = (id, change = {}) => {
  const card = {
    interaction_id: id,
    ani: '',
    stage: null,
    pop: null,
    chosen: null,
    deferred: false,
    disposition: null,
    ...cards.get(id),
    ...change,
  };
  cards.set(id, card);
  return { kind: 'card', at_ms: Date.now(), ...card };
};

/** The card after the pop arrived. */
export const pop = (id, outcome, over = {}) =>
  cardEvent(id, {
    pop: {
      interaction_id: id,
      outcome,
      source: 'search',
      address: '+14155550100',
      cache_age_secs: null,
      elapsed_us: 1500,
      salesforce_us: 1000,
      ...over,
    },
  });

/** The card after the call reached a stage. */
export const callEvent = (id, transition, ani = 'tel:+14155550100') =>
  cardEvent(id, { stage: transition, ani: (cards.get(id) || {}).ani || ani });
