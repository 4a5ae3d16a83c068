// The window's behaviour: state from the desk, the commands, the keyboard, and which view shows.
// Each screen renders in its own module under views/. `createApp` takes the IPC functions, so the
// tests run it in jsdom with fakes and the app runs it with Tauri's.

import { initialState, fromSnapshot, reduce, bringsPop, cardOf, pickerCandidates, focusedCall } from './state.js';
import { errorSentence } from './view.js';
import { headerView } from './views/header.js';
import { cardView } from './views/card.js';
import { interactionsView } from './views/interactions.js';
import { wrapupView } from './views/wrapup.js';
import { syncView } from './views/sync.js';
import { historyView } from './views/history.js';
import { settingsView } from './views/settings.js';

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
    drafts: {}, // interaction id → {code, notes}: what the agent typed and has not submitted
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

  const ctx = {
    doc,
    $,
    ui,
    call,
    showError,
    state: () => state,
    focus: (id) => {
      state = { ...state, focusId: id };
      render();
    },
    signIn: (cloud) => toggleSignIn(cloud),
  };
  const header = headerView(ctx);
  const interactions = interactionsView(ctx);
  const card = cardView(ctx);
  const wrapup = wrapupView(ctx);
  const sync = syncView(ctx);
  const history = historyView(ctx);
  const settings = settingsView(ctx);

  // ---- top level ----------------------------------------------------------------------------------

  function render() {
    header.render();
    interactions.render();
    card.render();
    wrapup.render();
    wrapup.renderRecent();
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
      sync.render();
      // Retries and back-off happen without events: the open Sync view reads the store every 2 s.
      if (!ui.syncPoll) ui.syncPoll = win.setInterval(() => (ui.view === 'sync' ? sync.render() : null), 2000);
    } else if (ui.syncPoll) {
      win.clearInterval(ui.syncPoll);
      ui.syncPoll = null;
    }
    if (view === 'history') history.render();
    if (view === 'settings') settings.render();
  }

  let syncTimer = null;
  function apply(ev) {
    const popped = bringsPop(state, ev);
    state = reduce(state, ev);
    render();
    if (popped) notePainted(ev);
    if (ev.kind === 'problem') showError(ev);
    if (ui.view === 'sync' && !syncTimer) {
      // Events come in bursts; the Sync view reads the store at most every 300 ms.
      syncTimer = setTimeout(() => {
        syncTimer = null;
        sync.render();
      }, 300);
    }
  }

  function onKey(e) {
    if (ui.view !== 'calls') return;
    const t = e.target;
    const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');
    const choices = card.currentChoices();
    if (!choices.length) return;
    if (!typing && /^[1-9]$/.test(e.key)) {
      const i = Number(e.key) - 1;
      if (i < choices.length) {
        e.preventDefault();
        card.choose(i);
      }
    } else if (!typing && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault();
      card.choose(Math.max(0, Math.min(choices.length - 1, ui.selected + (e.key === 'ArrowDown' ? 1 : -1))));
    } else if (e.key === 'Enter' && !typing && t.tagName !== 'BUTTON') {
      e.preventDefault();
      card.confirmPick();
    } else if (e.key === 'Escape' && pickerCandidates(focusedCall(state)).length) {
      e.preventDefault();
      card.decideLater();
    }
  }

  async function toggleSignIn(cloud) {
    const signedIn = state[cloud] === 'signed_in';
    state = { ...state, [cloud]: signedIn ? state[cloud] : 'signing_in' };
    header.render();
    // A sign-in that runs out soon is renewed by signing in again, not out.
    const renew = signedIn && state.signInSoon && state.signInSoon.cloud === cloud;
    const r = await call(signedIn && !renew ? 'sign_out' : 'sign_in', { cloud });
    state = { ...state, [cloud]: r.ok ? r.value : signedIn ? 'signed_in' : 'signed_out' };
    if (renew && r.ok) state = { ...state, signInSoon: null };
    header.render();
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
  // the card (with its first pop) leaving the desk to the second animation frame after it was rendered.
  function notePainted(ev) {
    const pop = cardOf(ev).pop;
    win.requestAnimationFrame(() =>
      win.requestAnimationFrame(() => {
        const painted = win.performance.timeOrigin + win.performance.now();
        const ms = painted - ev.at_ms + pop.elapsed_us / 1000;
        timings.push({ id: ev.interaction_id, source: pop.source, ms, engine_ms: pop.elapsed_us / 1000 });
      }),
    );
  }

  return { start, timings, state: () => state, showView };
}
