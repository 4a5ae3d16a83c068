// The Calls view's card: the caller's record, the picker, the no-match search, and choosing by
// keyboard (1–9, arrows, Enter, Esc). It renders the desk's card as it is sent.

import { focusedCall, pickerCandidates, needsSearch, kindLabel, mediaLabel } from '../state.js';
import { el, freshness, matchedHow, stageLabel, candidateRow } from '../view.js';

export function cardView(ctx) {
  const { doc, $, ui, call } = ctx;

  function cardKey(callObj) {
    if (!callObj) return 'none';
    const o = callObj.pop && callObj.pop.outcome;
    const cands = o && o.candidates ? o.candidates.map((c) => c.id).join(',') : '';
    return [callObj.interaction_id, o ? o.kind : 'waiting', cands, callObj.chosen && callObj.chosen.id, callObj.deferred, callObj.segment_kind].join('|');
  }

  function renderCard() {
    const host = $('card');
    const c = focusedCall(ctx.state());
    const key = cardKey(c);
    if (key !== ui.cardKey) {
      ui.cardKey = key;
      ui.selected = 0;
      if (!ui.results || !c || ui.results.id !== c.interaction_id) ui.results = null;
      host.replaceChildren(buildCard(c));
      const list = host.querySelector('[role="listbox"]');
      if (list) list.focus();
    }
    // Parts that change without a new card: the stage line and the selection.
    const stage = host.querySelector('.stage');
    if (stage && c) stage.textContent = `${stageLabel(c.stage)} · ${c.ani || 'unknown number'}`;
    updateSelection(host);
  }

  function updateSelection(host) {
    host.querySelectorAll('[role="listbox"]').forEach((list) => {
      const opts = [...list.querySelectorAll('[role="option"]')];
      opts.forEach((o, i) => {
        const sel = i === ui.selected;
        o.setAttribute('aria-selected', sel ? 'true' : 'false');
        o.classList.toggle('selected', sel);
      });
      if (opts[ui.selected]) list.setAttribute('aria-activedescendant', opts[ui.selected].id);
    });
  }

  function buildCard(c) {
    if (!c) {
      return el(doc, 'div', { class: 'card empty' }, el(doc, 'p', { text: 'Waiting for calls. A caller’s record appears here as the phone rings.' }));
    }
    const kind = kindLabel(c);
    const media = mediaLabel(c);
    const voice = !c.media || c.media === 'call' || c.media === 'callback';
    const head = el(
      doc,
      'div',
      { class: 'card-head' },
      media ? el(doc, 'p', { class: `media media-${c.media}`, text: media }) : null,
      kind ? el(doc, 'p', { class: `kind kind-${c.segment_kind}`, text: kind }) : null,
      el(doc, 'p', { class: 'stage', text: `${stageLabel(c.stage)} · ${c.ani || (voice ? 'unknown number' : 'no address')}` }),
    );
    if (c.media === 'other') {
      return el(doc, 'article', { class: 'card', 'aria-label': 'Current interaction' }, head, el(doc, 'p', { class: 'muted', text: 'A video, screen share or co-browse: the companion does not pop or log it.' }));
    }
    const o = c.pop && c.pop.outcome;
    if (!o) return el(doc, 'article', { class: 'card', 'aria-label': 'Current call' }, head, el(doc, 'p', { class: 'muted', text: 'Looking up the caller…' }));
    const body = [];
    if (c.chosen) {
      body.push(recordBlock(c.chosen, 'Picked by you'));
    } else if (o.kind === 'single') {
      body.push(recordBlock(o.candidate, freshness(c.pop)));
    } else if (o.kind === 'attribute') {
      // Carried from an earlier agent of the call (their pick), or set by the IVR.
      const how = o.identified_by != null ? `Identified by ${o.identified_by || 'an earlier agent'} earlier in this call` : `Identified by the IVR (${o.attribute})`;
      if (o.known) {
        // This desktop already knows the record (its cache, for this number): its name, at a glance.
        body.push(
          el(
            doc,
            'div',
            { class: 'record' },
            el(doc, 'h2', { class: 'caller', text: o.known.name || '(no name)' }),
            el(doc, 'p', { class: 'account', text: [o.known.object, o.known.account_name].filter(Boolean).join(' · ') }),
            el(doc, 'p', { class: 'how', text: how }),
            el(doc, 'div', { class: 'actions' }, openButton(o.record_id)),
          ),
        );
      } else {
        body.push(
          el(doc, 'h2', { class: 'caller', text: `${o.object || 'Record'} ${o.record_id}` }),
          el(doc, 'p', { class: 'how', text: how }),
          el(doc, 'div', { class: 'actions' }, openButton(o.record_id)),
        );
      }
    } else if (o.kind === 'multiple' && !c.deferred) {
      body.push(picker(c, o.candidates));
    }
    if (needsSearch(c)) body.push(searchBlock(c));
    return el(doc, 'article', { class: `card outcome-${o.kind}`, 'aria-label': 'Current call' }, head, ...body);
  }

  function recordBlock(cand, how) {
    return el(
      doc,
      'div',
      { class: 'record' },
      el(doc, 'h2', { class: 'caller', text: cand.name || '(no name)' }),
      el(doc, 'p', { class: 'account', text: [cand.object, cand.account_name].filter(Boolean).join(' · ') }),
      el(doc, 'p', { class: 'how', text: `${matchedHow(cand)}${cand.matched_value ? ` (${cand.matched_value})` : ''}` }),
      how ? el(doc, 'p', { class: 'fresh', text: how }) : null,
      el(doc, 'div', { class: 'actions' }, openButton(cand.id)),
    );
  }

  function openButton(recordId) {
    return el(doc, 'button', {
      type: 'button',
      class: 'primary',
      id: 'open-record',
      text: 'Open in Salesforce',
      onclick: () => call('open_record', { recordId }),
    });
  }

  function picker(c, cands) {
    const list = el(
      doc,
      'ul',
      { role: 'listbox', id: 'picker', tabindex: '0', 'aria-label': `${cands.length} records match this number. Press 1 to 9 to choose, Enter to confirm, Escape to decide later.` },
      cands.map((cand, i) => candidateRow(doc, cand, i, i === ui.selected, (j) => choose(j))),
    );
    return el(
      doc,
      'div',
      { class: 'picker' },
      el(doc, 'h2', { class: 'caller', text: `${cands.length} records match ${c.pop.address || c.ani}` }),
      el(doc, 'p', { class: 'hint', text: '1–9 choose · Enter confirm · Esc decide later' }),
      list,
      el(
        doc,
        'div',
        { class: 'actions' },
        el(doc, 'button', { type: 'button', class: 'primary', id: 'confirm-pick', text: 'Use this record', onclick: () => confirmPick() }),
        el(doc, 'button', { type: 'button', id: 'decide-later', text: 'Decide later', onclick: () => decideLater() }),
      ),
    );
  }

  function searchBlock(c) {
    const o = c.pop.outcome;
    const why =
      o.kind === 'no_match'
        ? (c.pop.address || '').includes('@')
          ? 'No Salesforce record has this email address.'
          : 'No Salesforce record has this number.'
        : o.kind === 'no_number'
          ? c.media && c.media !== 'call' && c.media !== 'callback'
            ? 'This conversation carries no email address or number to look up.'
            : 'The caller’s number is withheld.'
          : o.kind === 'unavailable'
            ? o.reason.charAt(0).toUpperCase() + o.reason.slice(1) + '.'
            : 'Find the caller by hand.';
    const input = el(doc, 'input', {
      type: 'search',
      id: 'search-term',
      name: 'term',
      autocomplete: 'off',
      placeholder: 'Name, email or account number',
      'aria-describedby': 'search-why',
    });
    const form = el(
      doc,
      'form',
      { class: 'search', role: 'search', onsubmit: (e) => { e.preventDefault(); runSearch(c.interaction_id, input.value); } },
      el(doc, 'label', { for: 'search-term', text: 'Search Salesforce' }),
      el(doc, 'div', { class: 'row' }, input, el(doc, 'button', { type: 'submit', id: 'search-run', text: 'Search' })),
    );
    const results = el(doc, 'div', { id: 'search-results', 'aria-live': 'polite' });
    fillResults(results, c);
    return el(
      doc,
      'div',
      { class: 'nomatch' },
      el(doc, 'p', { id: 'search-why', class: 'how', text: why }),
      form,
      results,
      el(
        doc,
        'div',
        { class: 'actions' },
        el(doc, 'button', { type: 'button', id: 'create-contact', text: 'Create contact', onclick: () => call('create_contact', { interactionId: c.interaction_id }) }),
      ),
    );
  }

  function fillResults(host, c) {
    const r = ui.results && ui.results.id === c.interaction_id ? ui.results : null;
    if (ui.searching) return host.replaceChildren(el(doc, 'p', { class: 'muted', text: 'Searching…' }));
    if (!r) return host.replaceChildren();
    if (!r.items.length) return host.replaceChildren(el(doc, 'p', { class: 'muted', text: `Nothing found for “${r.term}”.` }));
    host.replaceChildren(
      el(doc, 'p', { class: 'hint', text: `${r.items.length} found · 1–9 choose · Enter confirm` }),
      el(
        doc,
        'ul',
        { role: 'listbox', id: 'results', tabindex: '0', 'aria-label': `Search results for ${r.term}` },
        r.items.map((cand, i) => candidateRow(doc, cand, i, i === ui.selected, (j) => choose(j))),
      ),
    );
    updateSelection(host);
  }

  async function runSearch(id, term) {
    ui.searching = true;
    ui.results = null;
    const host = $('search-results');
    const c = focusedCall(ctx.state());
    if (host && c) fillResults(host, c);
    const r = await call('search_records', { term });
    ui.searching = false;
    ui.results = r.ok ? { id, term, items: r.value } : null;
    ui.selected = 0;
    const now = $('search-results');
    const cur = focusedCall(ctx.state());
    if (now && cur) fillResults(now, cur);
    const list = $('results');
    if (list) list.focus();
  }

  // Choosing.

  function currentChoices() {
    const c = focusedCall(ctx.state());
    if (!c) return [];
    const p = pickerCandidates(c);
    if (p.length) return p;
    if (ui.results && ui.results.id === c.interaction_id) return ui.results.items;
    return [];
  }

  function choose(i) {
    if (i < currentChoices().length) {
      ui.selected = i;
      updateSelection($('card'));
    }
  }

  async function confirmPick() {
    const c = focusedCall(ctx.state());
    const cand = currentChoices()[ui.selected];
    if (!c || !cand) return;
    // The changed card arrives as a desk event; the reply carries nothing to merge.
    await call('pick_record', { interactionId: c.interaction_id, recordId: cand.id });
  }

  async function decideLater() {
    const c = focusedCall(ctx.state());
    if (!c) return;
    await call('decide_later', { interactionId: c.interaction_id });
  }

  return { render: renderCard, currentChoices, choose, confirmPick, decideLater };
}
