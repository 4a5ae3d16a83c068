// The Settings view: every key not at its default, the layer that set it, "Locked by IT".

import { el, kvRow } from '../view.js';

export function settingsView(ctx) {
  const { doc, $ } = ctx;
  const row = (k, v) => kvRow(doc, k, v);

  function renderSettings() {
    const rows = ctx.state().settings.map((s) =>
      el(
        doc,
        'tr',
        { class: s.locked ? 'locked' : '' },
        el(doc, 'th', { scope: 'row', text: s.key }),
        el(doc, 'td', { text: s.value }),
        el(doc, 'td', { text: s.locked ? '🔒 Locked by IT' : `set by ${s.layer.replace('_', ' ')}` }),
      ),
    );
    $('view-settings').replaceChildren(
      el(doc, 'h2', { text: 'Settings in force' }),
      el(doc, 'p', { id: 'app-version', text: ctx.state().version ? `Agent Companion ${ctx.state().version}` : '' }),
      el(doc, 'p', { class: 'muted', text: 'Settings are changed in the configuration files; locked ones are managed by IT and cannot be overridden.' }),
      el(doc, 'table', { class: 'grid', 'aria-label': 'Settings' }, el(doc, 'tbody', {}, rows.length ? rows : [row('Defaults', 'every setting has its default')])),
    );
  }

  return { render: renderSettings };
}
