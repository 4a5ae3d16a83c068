// The header: connection, sign-in buttons, where sign-ins are kept, and the notices above the views
// (a newer release; a sign-in that runs out soon).

import { el, connectionLabel } from '../view.js';

const CLOUD_NAMES = { genesys: 'Genesys Cloud', salesforce: 'Salesforce' };

export function headerView(ctx) {
  const { doc, $, ui } = ctx;

  function render() {
    const state = ctx.state();
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
    renderSignInSoon(state);
    renderUpdate(state);
  }

  // Genesys gives a desktop app no refresh token: the engine warns ahead of the expiry; the agent signs
  // in again from here, before calls stop arriving.
  function renderSignInSoon(state) {
    const box = $('signin-soon');
    const soon = state.signInSoon;
    if (!soon || state[soon.cloud] !== 'signed_in') {
      box.hidden = true;
      return;
    }
    const minutes = Math.max(1, Math.round(soon.expires_in_secs / 60));
    const name = CLOUD_NAMES[soon.cloud] || soon.cloud;
    box.replaceChildren(
      el(doc, 'p', { text: `Your ${name} sign-in runs out in about ${minutes} min. Sign in again now so calls keep popping.` }),
      el(doc, 'button', {
        type: 'button',
        id: 'signin-again',
        text: `Sign in to ${name} again`,
        onclick: () => ctx.signIn(soon.cloud),
      }),
    );
    box.hidden = false;
  }

  // A newer release: said once, quietly, until dismissed. The app installs nothing and opens no link;
  // releases come through the company's software distribution.
  function renderUpdate(state) {
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
          renderUpdate(ctx.state());
        },
      }),
    );
    box.replaceChildren(...parts);
    box.hidden = false;
  }

  return { render };
}
