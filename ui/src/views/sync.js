// The Sync view (for supervisors): connection, queue by state, oldest pending, last push, errors of
// the last 24 h with Salesforce's message, API usage, cache, pop latency; retry or discard parked
// dispositions; export the redacted diagnostics bundle.

import { el, deliveryLabel, connectionLabel, kvRow } from '../view.js';

// The read-back of interactions handled while the app was closed: how many were recovered, when the
// last check ran, and whether it could see everything.
export function readBackLabel(r, when) {
  if (!r) return 'not checked yet';
  const count = `${r.recovered} recovered${r.recovered_pending ? ` (${r.recovered_pending} still to send)` : ''}`;
  const last = `last check ${when(r.finished_ms || r.started_ms)}`;
  switch (r.outcome) {
    case 'complete':
      return `${count} · ${last} · saw everything of the last ${r.window_hours} h`;
    case 'running':
      return `${count} · checking now`;
    default:
      return `${count} · ${last} · could not see everything: ${r.detail || 'unknown reason'}`;
  }
}

export function syncView(ctx) {
  const { doc, $, call } = ctx;
  const row = (k, v) => kvRow(doc, k, v);

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
        row('Connection', connectionLabel(ctx.state().connection)),
        row('Handled while closed', readBackLabel(s.readback, when)),
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
                el(doc, 'button', { type: 'button', text: 'Retry', onclick: async () => { if ((await call('retry_disposition', { interactionId: a.interaction_id })).ok) renderSync(); } }),
                el(doc, 'button', { type: 'button', text: 'Discard', onclick: async () => { if ((await call('discard_disposition', { interactionId: a.interaction_id })).ok) renderSync(); } }),
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

  return { render: renderSync };
}
