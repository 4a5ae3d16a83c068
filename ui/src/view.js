// DOM building. Every value from the clouds goes in as text (never as HTML), so a hostile caller
// number or record name shows as the characters it is.

/** `el('p', {class: 'x'}, 'text', child)`: an element with attributes and children. */
export function el(doc, tag, attrs = {}, ...children) {
  const e = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) {
      // Handlers are functions, never text: a string here would be an inline script.
      if (typeof v !== 'function') throw new TypeError(`${k} must be a function`);
      e.addEventListener(k.slice(2), v);
    }
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? doc.createTextNode(String(c)) : c);
  }
  return e;
}

const FIELD_NAMES = {
  Phone: 'Phone',
  MobilePhone: 'Mobile',
  HomePhone: 'Home phone',
  OtherPhone: 'Other phone',
  AssistantPhone: "Assistant's phone",
  Email: 'Email',
  Name: 'Name',
  AccountNumber: 'Account number',
  Other: 'Other field',
};

/** "Mobile, after normalising" / "Phone, exact". */
export function matchedHow(c) {
  const field = FIELD_NAMES[c.matched_field] || c.matched_field;
  if (/Phone$/.test(c.matched_field)) return `${field}, ${c.exact_format ? 'exact match' : 'after normalising'}`;
  return field;
}

/** "From cache · 3 min old" and the like. */
export function freshness(pop) {
  if (!pop) return '';
  switch (pop.source) {
    case 'cache': {
      const s = pop.cache_age_secs || 0;
      const age = s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
      return `From the local cache · ${age} old`;
    }
    case 'search':
      return 'Found in Salesforce just now';
    case 'attribute':
      return 'Identified by the IVR';
    default:
      return '';
  }
}

const STAGES = {
  alerting: 'Ringing',
  connected: 'On the call',
  disconnected: 'Call ended',
  after_call_work: 'After-call work',
  wrapup_submitted: 'Wrapped up',
};

export function stageLabel(stage) {
  return STAGES[stage] || 'Call';
}

const DELIVERY = {
  pending: 'Queued',
  delivered: 'In Salesforce',
  needs_attention: 'Needs attention',
  discarded: 'Discarded',
};

export function deliveryLabel(state) {
  return DELIVERY[state] || '';
}

const CONNECTION = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  sign_in_required: 'Sign in again',
  stopped: 'Not connected',
};

export function connectionLabel(c) {
  return CONNECTION[c && c.state] || 'Not connected';
}

/** A sentence for an error from a command (`{code, message}`). */
export function errorSentence(e) {
  if (!e) return 'Something went wrong.';
  if (typeof e === 'string') return e;
  const lead = {
    NOT_SIGNED_IN: 'Sign in to both clouds first.',
    SALESFORCE_SIGN_IN: 'Salesforce needs you to sign in again.',
    SALESFORCE_UNAVAILABLE: 'Salesforce did not answer.',
    OPEN_REFUSED: 'That record cannot be opened from here.',
    BAD_SEARCH: 'That search cannot run.',
    BAD_WRAPUP: 'The wrap-up is not complete.',
    SIGN_IN_INCOMPLETE: 'The sign-in did not finish.',
    STARTING: 'Still starting.',
    LOCAL_STORE: 'The local database had a problem.',
  }[e.code];
  const msg = e.message ? e.message.charAt(0).toUpperCase() + e.message.slice(1) : '';
  return lead ? `${lead} ${msg}`.trim() : msg || 'Something went wrong.';
}

/** A `<tr>` of a key and its value (Sync status, Settings). */
export function kvRow(doc, k, v) {
  return el(doc, 'tr', {}, el(doc, 'th', { scope: 'row', text: k }), el(doc, 'td', { text: v }));
}

/** One candidate row of the picker or the search results. */
export function candidateRow(doc, c, i, selected, onPick) {
  const key = i < 9 ? String(i + 1) : '';
  return el(
    doc,
    'li',
    {
      role: 'option',
      id: `cand-${c.id}`,
      'aria-selected': selected ? 'true' : 'false',
      class: selected ? 'cand selected' : 'cand',
      'data-record': c.id,
      onclick: () => onPick(i),
    },
    key ? el(doc, 'kbd', { 'aria-hidden': 'true', text: key }) : null,
    el(
      doc,
      'div',
      { class: 'cand-body' },
      el(doc, 'span', { class: 'cand-name', text: c.name || '(no name)' }),
      el(doc, 'span', { class: 'cand-meta', text: [c.object, c.account_name].filter(Boolean).join(' · ') }),
      el(doc, 'span', {
        class: 'cand-why',
        text: `${matchedHow(c)}${c.matched_value ? `: ${c.matched_value}` : ''}${c.last_activity ? ` · last activity ${c.last_activity}` : ''}`,
      }),
    ),
  );
}
