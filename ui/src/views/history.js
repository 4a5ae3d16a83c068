// The History view: today's interactions, how each reached the agent, their pop outcome and where
// their disposition is.

import { el, deliveryLabel } from '../view.js';
import { kindLabel } from '../state.js';

export function historyView(ctx) {
  const { doc, $, call } = ctx;

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
        el(doc, 'td', { text: kindLabel({ segment_kind: h.kind }) || 'Inbound' }),
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
        el(doc, 'thead', {}, el(doc, 'tr', {}, ['Time', 'Number', 'How', 'Pop', 'Disposition'].map((t) => el(doc, 'th', { scope: 'col', text: t })))),
        el(doc, 'tbody', {}, rows),
      ),
    );
  }

  return { render: renderHistory };
}
