// dom.js - small helpers to build the page from data: every text goes in
// through textContent, never parsed as markup, so nothing the master
// returns can become HTML (and the CSP forbids inline script anyway).

// h('tag.class#id', {attr: value, onclick: fn}, ...children)
export function h(spec, attrs, ...kids) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/.exec(spec);
  const el = document.createElement(m[1] || 'div');
  for (const part of m[2].match(/[.#][\w-]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs != null && (typeof attrs !== 'object' || attrs instanceof Node ||
      Array.isArray(attrs))) {
    kids.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else el.append(k instanceof Node ? k : String(k));
  }
}

// set the text of el only when it changed (no layout work otherwise)
export function setText(el, text) {
  text = text == null ? '' : String(text);
  if (el.textContent !== text) el.textContent = text;
}

export function setClass(el, base, extra) {
  const c = extra ? base + ' ' + extra : base;
  if (el.className !== c) el.className = c;
}

// syncRows(tbody, items, key, make, update): keep one <tr> per item, by
// key, in the items' order; rows are made once (so a focused button in a
// row keeps its focus across refreshes) and only changed cells are written.
export function syncRows(tbody, items, key, make, update) {
  const old = tbody._rows || new Map();
  const rows = new Map();
  let at = tbody.firstChild;
  for (const it of items) {
    const k = key(it);
    let tr = old.get(k);
    if (!tr) tr = make(it);
    update(tr, it);
    rows.set(k, tr);
    if (tr !== at) tbody.insertBefore(tr, at);
    else at = at.nextSibling;
  }
  for (const [k, tr] of old) if (!rows.has(k)) tr.remove();
  tbody._rows = rows;
}

export function clear(el) { while (el.firstChild) el.firstChild.remove(); }

export function fmtBytes(n) {
  if (n == null) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(n < 10 ? 1 : 0) : n) + ' ' + u[i];
}

export function fmtPct(p) { return p == null ? '–' : p.toFixed(p < 10 ? 1 : 0) + '%'; }

export function fmtAgo(iso) {
  if (!iso) return '–';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return Math.max(s, 0) + 's ago';
  if (s < 3600) return Math.floor(s / 60) + 'm ago';
  if (s < 86400) return Math.floor(s / 3600) + 'h ago';
  return Math.floor(s / 86400) + 'd ago';
}

export function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour12: false });
}

const BARS = '▁▂▃▄▅▆▇█';
// A text sparkline of 0-100 values: cheap for a thousand rows, read out
// by screen readers through its label.
export function spark(values) {
  return values.map((v) => v == null ? ' ' :
    BARS[Math.min(7, Math.max(0, Math.floor(v / 12.5)))]).join('');
}

// A state word as a badge class: good, warn, bad or idle.
export function tone(state) {
  switch (state) {
  case 'online': case 'running': case 'success': case 'succeeded':
  case 'joined': case 'up':
    return 'good';
  case 'offline': case 'error': case 'failed': case 'crashing':
  case 'timed_out': case 'down': case 'launch_failed': case 'degraded':
    return 'bad';
  case 'pending': case 'pulling': case 'starting': case 'created':
  case 'deploying': case 'ongoing': case 'assigned': case 'launching':
  case 'requested': case 'unneeded': case 'draining': case 'unknown':
  case 'terminating': case 'cordoned': case 'drained':
    return 'warn';
  default:
    return 'idle';
  }
}

export function badge(state) {
  // "draining (left 3)" takes the tone of its first word
  const word = state == null ? state : String(state).split(' (')[0];
  return h('span.badge.' + tone(word), { text: state ?? '–' });
}
