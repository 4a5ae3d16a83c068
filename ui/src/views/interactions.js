// The Calls view's list of live interactions (two calls, a call and a consult, a call on hold and a
// new one ringing): the active one first, each with its own card and its own wrap-up draft. Shown when
// more than one is live; choosing one puts its card in front.

import { liveCalls, kindLabel, mediaLabel, linkedRecord } from '../state.js';
import { el, stageLabel } from '../view.js';

/** Who an interaction is with, in a few words. */
export function whoOf(c) {
  const rec = linkedRecord(c);
  if (rec) return rec.name || rec.id;
  return c.ani ? c.ani.replace(/^tel:/, '') : 'Unknown caller';
}

export function interactionsView(ctx) {
  const { doc, $ } = ctx;

  function render() {
    const state = ctx.state();
    const live = liveCalls(state);
    const host = $('interactions');
    if (live.length < 2) {
      host.hidden = true;
      host.replaceChildren();
      return;
    }
    host.hidden = false;
    const focused = state.focusId;
    host.replaceChildren(
      el(doc, 'h2', { class: 'sr-only', id: 'interactions-title', text: `${live.length} interactions on your desk` }),
      el(
        doc,
        'ul',
        { 'aria-labelledby': 'interactions-title' },
        live.map((c) =>
          el(
            doc,
            'li',
            {},
            el(doc, 'button', {
              type: 'button',
              class: `interaction${c.interaction_id === focused ? ' current' : ''}`,
              'data-id': c.interaction_id,
              'aria-current': c.interaction_id === focused ? 'true' : 'false',
              text: [whoOf(c), mediaLabel(c), kindLabel(c), stageLabel(c.stage), c.held ? 'On hold' : '', c.draft || hasDraft(c) ? 'Draft' : '']
                .filter(Boolean)
                .join(' · '),
              onclick: () => ctx.focus(c.interaction_id),
            }),
          ),
        ),
      ),
    );
  }

  function hasDraft(c) {
    const d = ctx.ui.drafts[c.interaction_id];
    return !!d && (d.code || d.notes.trim());
  }

  return { render };
}
