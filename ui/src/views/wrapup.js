// The Calls view's wrap-up form, and the earlier calls of this session below it. The form is built
// once per interaction, so a card that changes under the agent never loses what they typed; what they
// typed is each interaction's draft, kept by the desk, so it survives another call taking the card and
// a restart.

import { focusedCall, linkedRecord, codesFor, liveCalls } from '../state.js';
import { el, deliveryLabel } from '../view.js';

export function wrapupView(ctx) {
  const { doc, $, ui, call, showError } = ctx;

  function renderWrapup() {
    const host = $('wrapup');
    const c = focusedCall(ctx.state());
    const key = c ? c.interaction_id : 'none';
    if (key !== ui.wrapKey) {
      ui.wrapKey = key;
      host.replaceChildren(c ? buildWrapup(c) : '');
    }
    if (!c) return;
    const status = $('wrapup-status');
    const d = c.disposition;
    if (status) {
      status.textContent = d ? `${deliveryLabel(d.state)}: ${d.code}` : 'Not wrapped up yet';
      status.dataset.state = d ? d.state : 'none';
    }
    const linked = $('wrapup-record');
    if (linked) {
      const rec = linkedRecord(c);
      linked.textContent = rec ? `${rec.name} (${rec.object})` : 'No record linked';
    }
  }

  function buildWrapup(c) {
    const codes = codesFor(ctx.state(), c);
    const draft = ui.drafts[c.interaction_id] || c.draft || { code: '', notes: '' };
    const select = el(
      doc,
      'select',
      { id: 'wrapup-code', name: 'code', required: true },
      el(doc, 'option', { value: '', text: 'Choose a disposition…' }),
      codes.map((code) => el(doc, 'option', { value: code, text: code })),
    );
    const notes = el(doc, 'textarea', { id: 'wrapup-notes', name: 'notes', rows: '3', maxlength: '4000', placeholder: 'Reason or notes (Ctrl+Enter submits)' });
    if (codes.includes(draft.code)) select.value = draft.code;
    notes.value = draft.notes || '';
    const keep = () => saveDraft(c.interaction_id, select.value, notes.value);
    select.addEventListener('change', keep);
    notes.addEventListener('input', keep);
    const form = el(
      doc,
      'form',
      { class: 'wrapup', 'aria-labelledby': 'wrapup-title', onsubmit: (e) => { e.preventDefault(); submitWrapup(c.interaction_id, select.value, notes.value); } },
      el(doc, 'h2', { id: 'wrapup-title', text: 'Wrap-up' }),
      el(doc, 'label', { for: 'wrapup-code', text: 'Disposition' }),
      select,
      el(doc, 'label', { for: 'wrapup-notes', text: 'Reason or notes' }),
      notes,
      el(doc, 'p', { class: 'linked' }, 'Linked record: ', el(doc, 'span', { id: 'wrapup-record' })),
      el(
        doc,
        'div',
        { class: 'actions' },
        el(doc, 'button', { type: 'submit', class: 'primary', id: 'wrapup-submit', text: 'Submit wrap-up' }),
        el(doc, 'span', { id: 'wrapup-status', class: 'delivery', role: 'status', 'aria-live': 'polite' }),
      ),
    );
    notes.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        submitWrapup(c.interaction_id, select.value, notes.value);
      }
    });
    return form;
  }

  // The draft is the window's at once and the desk's shortly after (one write per pause in typing).
  const timers = {};
  function saveDraft(id, code, notes) {
    ui.drafts[id] = { code, notes };
    clearTimeout(timers[id]);
    timers[id] = setTimeout(() => {
      delete timers[id];
      call('save_draft', { interactionId: id, code, notes });
    }, 400);
  }

  async function submitWrapup(id, code, notes) {
    if (!code) {
      showError({ code: 'BAD_WRAPUP', message: 'choose a disposition code from the list' });
      $('wrapup-code').focus();
      return;
    }
    // Durable before the reply; the card saying "Queued" arrives as a desk event.
    const r = await call('submit_wrapup', { interactionId: id, code, notes, recordId: null });
    if (r.ok) {
      clearTimeout(timers[id]);
      delete ui.drafts[id];
    }
  }

  function renderRecent() {
    const state = ctx.state();
    // Live interactions are listed above the card when there are several.
    const live = liveCalls(state);
    const listed = new Set(live.length > 1 ? live.map((c) => c.interaction_id) : []);
    const items = state.calls
      .filter((c) => c.interaction_id !== (focusedCall(state) || {}).interaction_id && !listed.has(c.interaction_id))
      .slice(0, 10)
      .map((c) => {
        const o = c.pop && c.pop.outcome;
        const who = c.chosen ? c.chosen.name : o && o.kind === 'single' ? o.candidate.name : c.ani || 'unknown';
        const d = c.disposition ? deliveryLabel(c.disposition.state) : 'no wrap-up';
        return el(
          doc,
          'li',
          {},
          el(doc, 'button', {
            type: 'button',
            class: 'linkish',
            text: `${who} · ${o ? o.kind.replace('_', ' ') : 'no pop'} · ${d}`,
            onclick: () => ctx.focus(c.interaction_id),
          }),
        );
      });
    $('recent').replaceChildren(...items);
  }

  return { render: renderWrapup, renderRecent };
}
