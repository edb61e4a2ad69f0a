// protos7 web admin: plain JavaScript, no framework, no external resources. It uses only the
// JSON API (docs/API.md). Text from the server is always put into the page with textContent
// (never innerHTML), so names and values cannot inject markup.
'use strict';

const CSRF = document.querySelector('meta[name="protos7-csrf"]').content;
const main = document.getElementById('main');
// A plant (protos7 serve --plant) has a page per PLC at /plcs/NAME/ whose API is
// /api/plcs/NAME/...; the plant page itself is at /. One PLC: everything under /api/.
const PLC_NAME = (/^\/plcs\/([A-Za-z0-9._-]+)\/?$/.exec(location.pathname) || [])[1] || null;
const API_BASE = PLC_NAME ? `/api/plcs/${PLC_NAME}` : '/api';
const apiPath = (path) => (path.startsWith('/api/') && path !== '/api/session' && !path.startsWith('/api/plcs')
  ? API_BASE + path.slice(4) : path);

// ---------------------------------------------------------------------------------------------
// helpers

// h('div', {class: 'x', onclick: f, dataset: {a: 1}}, 'text', child, ...)
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class ApiError extends Error {
  constructor(message, status, field) { super(message); this.status = status; this.field = field; }
}

async function api(method, path, body, contentType) {
  const headers = {};
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = contentType || 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  if (method !== 'GET') headers['X-Protos7-CSRF'] = CSRF;
  let res;
  try {
    res = await fetch(apiPath(path), { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError('the server cannot be reached', 0);
  }
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('application/json') ? await res.json().catch(() => null) : null;
  if (!res.ok) throw new ApiError((data && data.error) || `HTTP ${res.status}`, res.status, data && data.field);
  return data;
}

function toast(message, kind) {
  const t = h('div', { class: `toast ${kind || ''}`, role: kind === 'error' ? 'alert' : undefined }, message);
  const box = document.getElementById('toasts');
  box.append(t);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => t.remove(), kind === 'error' ? 7000 : 2500);
}

function icon(name) {
  const paths = {
    edit: 'M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4',
    trash: 'M5 7h14M10 7V5h4v2M7 7l1 13h8l1-13',
    plus: 'M12 5v14M5 12h14',
    down: 'M12 4v12M7 11l5 5 5-5M5 20h14',
    up: 'M12 20V8M7 13l5-5 5 5M5 4h14',
    wave: 'M3 12c2-6 4-6 6 0s4 6 6 0 4-6 6 0',
  };
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '16');
  svg.setAttribute('height', '16');
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  p.setAttribute('d', paths[name]);
  p.setAttribute('fill', 'none');
  p.setAttribute('stroke', 'currentColor');
  p.setAttribute('stroke-width', '2');
  p.setAttribute('stroke-linecap', 'round');
  p.setAttribute('stroke-linejoin', 'round');
  svg.append(p);
  return svg;
}

// Ranges of the numeric types (the server checks them again).
const RANGES = {
  BYTE: [0, 255], WORD: [0, 65535], INT: [-32768, 32767], DWORD: [0, 4294967295],
  DINT: [-2147483648, 2147483647], REAL: [-3.4028235e38, 3.4028235e38],
  SINT: [-128, 127], USINT: [0, 255], UINT: [0, 65535], UDINT: [0, 4294967295],
  LREAL: [-1.7976931348623157e308, 1.7976931348623157e308],
};
// 64-bit whole numbers travel as decimal text when a JavaScript number cannot hold them.
const WIDE = { LINT: '-9223372036854775808..9223372036854775807', ULINT: '0..18446744073709551615',
  LWORD: '0..18446744073709551615' };
const FLOATS = ['REAL', 'LREAL'];
const TYPES = ['BOOL', 'BYTE', 'CHAR', 'WORD', 'INT', 'DWORD', 'DINT', 'REAL', 'SINT', 'USINT', 'UINT', 'UDINT',
  'LINT', 'ULINT', 'LWORD', 'LREAL', 'STRING', 'TIME', 'DATE', 'TIME_OF_DAY', 'DATE_AND_TIME', 'S5TIME'];
// Types whose variables may carry named states (goprotos7's LIST variables).
const STATE_TYPES = ['BOOL', 'BYTE', 'CHAR', 'WORD', 'INT', 'DWORD', 'DINT', 'REAL', 'SINT', 'USINT', 'UINT',
  'UDINT', 'LINT', 'ULINT', 'LWORD', 'LREAL', 'STRING'];
const TYPE_HELP = {
  BOOL: 'one bit', BYTE: '0..255', CHAR: 'one character', WORD: '0..65535', INT: '-32768..32767',
  DWORD: '0..4294967295', DINT: '-2147483648..2147483647', REAL: 'IEEE 754 single', STRING: 'S7 string',
  TIME: 'T#1h2m3s (ms, signed 32 bit)', DATE: 'D#1990-01-01..2168-12-31', TIME_OF_DAY: 'TOD#hh:mm:ss.mmm',
  DATE_AND_TIME: 'DT#1990..2089 (BCD)', S5TIME: 'S5T#0ms..2h46m30s',
  SINT: '-128..127', USINT: '0..255', UINT: '0..65535', UDINT: '0..4294967295', LREAL: 'IEEE 754 double',
  ...WIDE,
};
const baseType = (t) => t.replace(/\[.*$/, '');
// A 64-bit whole number: a number when JavaScript holds it exactly, else its decimal text.
const wideValue = (text) => {
  const s = text.trim();
  const n = Number(s);
  return /^-?\d+$/.test(s) && Number.isSafeInteger(n) ? n : s;
};
const typeSize = (t) => ({ BOOL: 1, BYTE: 1, CHAR: 1, WORD: 2, INT: 2, DATE: 2, S5TIME: 2, DWORD: 4, DINT: 4,
  REAL: 4, TIME: 4, TIME_OF_DAY: 4, DATE_AND_TIME: 8, SINT: 1, USINT: 1, UINT: 2, UDINT: 4, LINT: 8, ULINT: 8,
  LWORD: 8, LREAL: 8 })[baseType(t)] || (parseInt((t.match(/\[(\d+)\]/) || [])[1] || '254', 10) + 2);

function siemensAddress(db, type, byte, bit) {
  const size = typeSize(type);
  if (baseType(type) === 'BOOL') return `DB${db}.DBX${byte}.${bit}`;
  if (size === 1) return `DB${db}.DBB${byte}`;
  if (size === 2) return `DB${db}.DBW${byte}`;
  if (size === 4) return `DB${db}.DBD${byte}`;
  return `P#DB${db}.DBX${byte}.0 BYTE ${size}`;
}

// ---------------------------------------------------------------------------------------------
// state

const state = {
  dbs: [],
  db: null,           // the dashboard's DB (GET /api/dbs/{n})
  cards: new Map(),   // variable id -> {update(value, display)}
  stream: null,
  view: null,
  plcRefresh: null,
  lastTraffic: -1,
  filter: '',
  plant: null,        // GET /api/session's "plant" (null: one PLC)
};

// ---------------------------------------------------------------------------------------------
// theme: auto -> light -> dark

const THEMES = ['auto', 'light', 'dark'];
function applyTheme(t) {
  if (t === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
  const b = document.getElementById('theme-toggle');
  b.title = t === 'auto' ? 'Theme: follows the system' : `Theme: ${t}`;
}
function initTheme() {
  let t = 'auto';
  try { t = localStorage.getItem('protos7-theme') || 'auto'; } catch (e) { /* private mode */ }
  if (!THEMES.includes(t)) t = 'auto';
  applyTheme(t);
  document.getElementById('theme-toggle').addEventListener('click', () => {
    const cur = document.documentElement.dataset.theme || 'auto';
    const next = THEMES[(THEMES.indexOf(cur) + 1) % THEMES.length];
    try { localStorage.setItem('protos7-theme', next); } catch (e) { /* ignore */ }
    applyTheme(next);
  });
}

// ---------------------------------------------------------------------------------------------
// live updates: one EventSource per view (/api/events?db=N on a dashboard)

function setLive(s) {
  const el = document.getElementById('live');
  el.dataset.state = s;
  el.querySelector('.live-text').textContent = s === 'on' ? 'live' : s === 'off' ? 'offline' : 'connecting';
}

function setModeBadge(mode) {
  const b = document.getElementById('mode-badge');
  b.dataset.mode = mode || '';
  b.textContent = mode || '—';
}

function openStream(db) {
  if (state.stream) state.stream.close();
  const es = new EventSource(apiPath(db ? `/api/events?db=${db}` : '/api/events'));
  state.stream = es;
  setLive('connecting');
  es.onopen = () => setLive('on');
  es.onerror = () => setLive(es.readyState === EventSource.CLOSED ? 'off' : 'connecting');
  es.addEventListener('values', (e) => {
    const data = JSON.parse(e.data);
    if (!state.db || data.db !== state.db.number) return;
    for (const v of data.variables) {
      const c = state.cards.get(v.id);
      if (c) c.update(v.value, v.display);
    }
  });
  es.addEventListener('catalog', () => {
    loadDbList();
    if (state.view === 'dashboard' && state.db) reloadDashboard(state.db.number);
  });
  es.addEventListener('db-missing', (e) => {
    const data = JSON.parse(e.data);
    if (state.view === 'dashboard' && state.db && state.db.number === data.db) {
      toast(`DB${data.db} no longer exists`, 'error');
      location.hash = '#/dbs';
    }
  });
  es.addEventListener('status', (e) => {
    const s = JSON.parse(e.data);
    setModeBadge(s.mode);
    if (state.view === 'plc' && state.plcRefresh) state.plcRefresh(s);
  });
}

// ---------------------------------------------------------------------------------------------
// sidebar

async function loadDbList() {
  try {
    const r = await api('GET', '/api/dbs');
    state.dbs = r.dbs;
  } catch (e) {
    toast(e.message, 'error');
  }
  renderNav();
}

function renderNav() {
  const nav = document.getElementById('nav-dbs');
  nav.replaceChildren(...state.dbs.map((d) => h('a', {
    class: 'nav-db', href: `#/db/${d.number}`, dataset: { db: d.number },
  }, h('span', {}, `DB${d.number}`), h('span', { class: 'count' }, `${d.variables}`))));
  highlightNav();
}

function highlightNav() {
  const hash = location.hash || '#/';
  for (const a of document.querySelectorAll('.nav-link, .nav-db')) {
    const cur = a.getAttribute('href') === hash ||
      (a.dataset.nav === 'dbs' && hash === '#/dbs');
    if (cur) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

// ---------------------------------------------------------------------------------------------
// dialogs

const dialog = document.getElementById('dialog');

function openDialog(form) {
  dialog.replaceChildren(form);
  if (!dialog.open) dialog.showModal();
  const first = form.querySelector('input, select, button');
  if (first) first.focus();
}
function closeDialog() { if (dialog.open) dialog.close(); }

function confirmDialog(title, message, confirmLabel) {
  return new Promise((resolve) => {
    const form = h('form', { method: 'dialog' },
      h('h2', {}, title),
      h('p', { class: 'muted' }, message),
      h('div', { class: 'dialog-actions' },
        h('button', { class: 'btn', type: 'button', onclick: () => { closeDialog(); resolve(false); } }, 'Cancel'),
        h('button', { class: 'btn danger solid', type: 'submit', 'data-testid': 'confirm' }, confirmLabel)));
    form.addEventListener('submit', (e) => { e.preventDefault(); closeDialog(); resolve(true); });
    dialog.addEventListener('close', () => resolve(false), { once: true });
    openDialog(form);
  });
}

// Replace / merge / cancel for an import. Resolves 'replace', 'merge' or null.
function importDialog(db, fileName) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v) => { if (!done) { done = true; closeDialog(); resolve(v); } };
    const form = h('form', { method: 'dialog' },
      h('h2', {}, `Import ${fileName} into DB${db}`),
      h('p', { class: 'muted' }, 'Replace: the file becomes the whole variable table of the DB. Merge: the variables of the file are added, or updated where the name exists; the others stay. Values in the file are written to the DB. Nothing changes if any row is refused.'),
      h('div', { class: 'dialog-actions' },
        h('button', { class: 'btn', type: 'button', onclick: () => finish(null) }, 'Cancel'),
        h('button', { class: 'btn', type: 'button', onclick: () => finish('merge') }, 'Merge'),
        h('button', { class: 'btn primary', type: 'button', onclick: () => finish('replace') }, 'Replace')));
    dialog.addEventListener('close', () => finish(null), { once: true });
    openDialog(form);
  });
}

// ---------------------------------------------------------------------------------------------
// dashboard

// The control of a variable, fitting its type. Returns {el, sync(value)}.
function control(v, setValue) {
  const t = baseType(v.type);
  const err = h('div', { class: 'control-error', role: 'alert' });
  const fail = (m) => { err.textContent = m; };
  const send = async (value) => {
    err.textContent = '';
    try {
      await setValue(value);
    } catch (e) {
      fail(e.message);
    }
  };
  if (t === 'BOOL' || v.states.length) {
    const states = v.states.length ? v.states
      : [{ name: 'TRUE', value: 1 }, { name: 'FALSE', value: 0 }];
    const buttons = states.map((s) => h('button', {
      type: 'button', class: t === 'BOOL' && s.value === 1 ? 'true-btn' : '', 'aria-pressed': 'false',
      dataset: { value: s.value },
      onclick: () => send(t === 'BOOL' ? s.value === 1 : s.value),
    }, s.name));
    const seg = h('div', { class: 'seg', role: 'group', 'aria-label': `Set ${v.name}` }, buttons);
    const wrap = h('div', { class: 'controls' }, seg);
    let numberInput = null;
    if (RANGES[t] || WIDE[t]) {
      const floating = FLOATS.includes(t);
      numberInput = h('input', WIDE[t] ? { type: 'text', inputmode: 'numeric', 'aria-label': `${v.name} value`, placeholder: 'other value' }
        : { type: 'number', step: floating ? 'any' : '1', min: RANGES[t][0], max: RANGES[t][1], 'aria-label': `${v.name} value`, placeholder: 'other value' });
      const submit = () => {
        if (WIDE[t]) return send(wideValue(numberInput.value));
        const n = Number(numberInput.value);
        if (numberInput.value === '' || Number.isNaN(n) || (!floating && !Number.isInteger(n)) || n < RANGES[t][0] || n > RANGES[t][1]) return fail(`${t} takes a ${floating ? '' : 'whole '}number ${RANGES[t][0]}..${RANGES[t][1]}`);
        send(n);
      };
      numberInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') submit(); });
      wrap.append(numberInput, h('button', { class: 'btn small', type: 'button', onclick: submit }, 'Set'));
    }
    return {
      el: h('div', {}, wrap, err),
      sync(value) {
        const n = typeof value === 'boolean' ? (value ? 1 : 0) : value;
        for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.value === String(n)));
      },
    };
  }
  // Text-like controls.
  const attrs = { 'aria-label': `${v.name} value` };
  let read = (input) => input.value;
  let check = () => null;
  if (RANGES[t]) {
    const [lo, hi] = RANGES[t];
    Object.assign(attrs, FLOATS.includes(t) ? { type: 'text', inputmode: 'decimal' } : { type: 'number', step: '1', min: lo, max: hi });
    read = (input) => Number(input.value);
    check = (input) => {
      const n = Number(input.value);
      if (input.value.trim() === '' || Number.isNaN(n)) return `${t} takes a number`;
      if (!FLOATS.includes(t) && !Number.isInteger(n)) return `${t} takes a whole number`;
      if (n < lo || n > hi) return `${t} is ${lo}..${hi}`;
      return null;
    };
  } else if (WIDE[t]) {
    Object.assign(attrs, { type: 'text', inputmode: 'numeric', placeholder: WIDE[t] });
    read = (input) => wideValue(input.value);
  } else if (t === 'STRING') {
    const max = typeSize(v.type) - 2;
    Object.assign(attrs, { type: 'text', maxlength: max, placeholder: `up to ${max} characters` });
  } else if (t === 'CHAR') {
    Object.assign(attrs, { type: 'text', maxlength: 1 });
    check = (input) => (input.value.length === 1 ? null : 'CHAR takes exactly one character');
  } else if (t === 'DATE') {
    Object.assign(attrs, { type: 'date', min: '1990-01-01', max: '2168-12-31' });
  } else if (t === 'TIME_OF_DAY') {
    Object.assign(attrs, { type: 'time', step: '0.001' });
  } else if (t === 'DATE_AND_TIME') {
    Object.assign(attrs, { type: 'datetime-local', step: '0.001', min: '1990-01-01T00:00', max: '2089-12-31T23:59:59.999' });
  } else if (t === 'TIME') {
    Object.assign(attrs, { type: 'text', placeholder: 'T#1h2m3s or milliseconds' });
    read = (input) => (/^-?\d+$/.test(input.value.trim()) ? Number(input.value) : input.value);
  } else if (t === 'S5TIME') {
    Object.assign(attrs, { type: 'text', placeholder: 'S5T#2s or milliseconds' });
    read = (input) => (/^\d+$/.test(input.value.trim()) ? Number(input.value) : input.value);
  }
  const input = h('input', attrs);
  const submit = () => {
    const m = check(input);
    if (m) return fail(m);
    send(read(input));
  };
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') submit(); });
  const fill = (value, display) => {
    if (document.activeElement === input) return;  // do not overwrite what the user types
    if (value === null || value === undefined) { input.value = ''; return; }
    if (t === 'TIME' || t === 'S5TIME' || WIDE[t]) input.value = display;  // 64 bits exact as text
    else if (t === 'TIME_OF_DAY') input.value = value;
    else input.value = String(value);
  };
  return {
    el: h('div', {}, h('div', { class: 'controls' }, input, h('button', { class: 'btn small', type: 'button', onclick: submit }, 'Set')), err),
    sync: fill,
  };
}

// A long name may wrap after '_' (MachineConditions_<wbr>maintenance) rather than anywhere.
function breakable(name) {
  const parts = name.split('_');
  return parts.flatMap((p, i) => (i < parts.length - 1 ? [`${p}_`, document.createElement('wbr')] : [p]));
}

function card(db, v) {
  const valueEl = h('div', { class: 'value', 'data-testid': 'value' });
  const setValue = async (value) => {
    const r = await api('PUT', `/api/dbs/${db}/variables/${v.id}/value`, { value });
    update(r.variable.value, r.variable.display);
  };
  const ctl = control(v, setValue);
  let last;
  const update = (value, display) => {
    const key = JSON.stringify([value, display]);
    if (key === last) return;
    const first = last === undefined;
    last = key;
    const t = baseType(v.type);
    valueEl.className = 'value';
    valueEl.replaceChildren(display === '' ? h('span', { class: 'muted empty-value' }, '(empty)') : display);
    if (t === 'BOOL') valueEl.classList.add(value ? 'bool-true' : 'bool-false');
    const st = v.states.find((s) => s.value === (typeof value === 'boolean' ? (value ? 1 : 0) : value));
    if (st) valueEl.append(h('span', { class: 'state-name' }, st.name));
    ctl.sync(value, display);
    if (!first) {
      valueEl.classList.add('flash');
      requestAnimationFrame(() => requestAnimationFrame(() => valueEl.classList.remove('flash')));
    }
  };
  const el = h('article', { class: 'card', dataset: { var: v.name, id: v.id } },
    h('div', { class: 'card-head' },
      h('div', {},
        h('div', { class: 'card-title' }, breakable(v.name)),
        h('div', { class: 'card-meta' },
          h('span', { class: 'type-badge' }, v.type),
          h('span', { class: 'address', title: 'Absolute address (STEP 7 notation)' }, v.address),
          processBadge(v))),
      h('div', { class: 'card-menu' },
        processButton(db, v),
        h('button', { class: 'btn', type: 'button', title: `Edit ${v.name}`, 'aria-label': `Edit ${v.name}`, onclick: () => variableDialog(db, v) }, icon('edit')),
        h('button', { class: 'btn', type: 'button', title: `Delete ${v.name}`, 'aria-label': `Delete ${v.name}`, onclick: () => deleteVariable(db, v) }, icon('trash')))),
    valueEl,
    cardTrend(v),
    ctl.el,
    v.description ? h('div', { class: 'desc' }, v.description) : null);
  update(v.value, v.display);
  return { el, update };
}

async function deleteVariable(db, v) {
  if (!await confirmDialog(`Delete ${v.name}?`, `The variable ${v.name} (${v.address}) is removed from the table; the bytes in DB${db} stay as they are.`, 'Delete')) return;
  try {
    await api('DELETE', `/api/dbs/${db}/variables/${v.id}`);
    toast(`Deleted ${v.name}`, 'ok');
    await reloadDashboard(db);
    loadDbList();
  } catch (e) { toast(e.message, 'error'); }
}

async function showDashboard(n) {
  state.view = 'dashboard';
  openStream(n);
  await reloadDashboard(n);
}

async function reloadDashboard(n) {
  let db;
  try {
    db = await api('GET', `/api/dbs/${n}`);
  } catch (e) {
    main.replaceChildren(h('div', { class: 'empty' }, e.message, ' ', h('a', { href: '#/dbs' }, 'Data blocks')));
    return;
  }
  if (state.view !== 'dashboard') return;
  state.db = db;
  renderDashboard();
}

function renderDashboard() {
  const db = state.db;
  state.cards.clear();
  trendCharts.clear();
  const search = h('input', { class: 'search', type: 'search', placeholder: 'Filter variables', 'aria-label': 'Filter variables', value: state.filter });
  const grid = h('div', { class: 'grid', id: 'cards' });
  const fillGrid = () => {
    const f = state.filter.toLowerCase();
    grid.replaceChildren();
    for (const v of db.variables) {
      let c = state.cards.get(v.id);
      if (!c) { c = card(db.number, v); state.cards.set(v.id, c); }
      const hit = !f || v.name.toLowerCase().includes(f) || v.address.toLowerCase().includes(f) || v.description.toLowerCase().includes(f);
      if (hit) grid.append(c.el);
    }
  };
  search.addEventListener('input', () => { state.filter = search.value; fillGrid(); });
  const importInput = h('input', { type: 'file', accept: '.csv,.json,text/csv,application/json', class: 'sr-only', 'aria-label': 'Import file' });
  importInput.addEventListener('change', () => importTable(db.number, importInput));
  main.replaceChildren(
    h('div', { class: 'page-head' },
      h('div', {},
        h('h1', {}, `DB${db.number}`),
        h('div', { class: 'sub' }, `${db.size} bytes · ${db.variables.length} variable${db.variables.length === 1 ? '' : 's'} · values update live`),
        db.sync_failed ? h('div', { class: 'sub', role: 'alert' }, `Syncing DB${db.number}.bin to disk failed: writes to this DB are refused until protos7 restarts (see the server log)`) : null),
      h('div', { class: 'actions' },
        search,
        h('button', { class: 'btn primary', type: 'button', onclick: () => variableDialog(db.number, null) }, icon('plus'), 'Add variable'),
        h('a', { class: 'btn', href: `/api/dbs/${db.number}/export?format=csv`, download: `DB${db.number}.csv` }, icon('down'), 'CSV'),
        h('a', { class: 'btn', href: `/api/dbs/${db.number}/export?format=json`, download: `DB${db.number}.json` }, icon('down'), 'JSON'),
        h('label', { class: 'btn' }, icon('up'), 'Import', importInput))),
    db.variables.length ? grid : h('div', { class: 'empty' }, `DB${db.number} has no variables yet. `,
      h('button', { class: 'btn primary', type: 'button', onclick: () => variableDialog(db.number, null) }, 'Add the first variable')));
  fillGrid();
  startDbTrends(db.number);
}

async function importTable(db, input) {
  const file = input.files[0];
  input.value = '';
  if (!file) return;
  const text = await file.text();
  const isJson = file.name.toLowerCase().endsWith('.json') || text.trimStart().startsWith('{') || text.trimStart().startsWith('[');
  const mode = await importDialog(db, file.name);
  if (!mode) return;
  try {
    const r = await api('POST', `/api/dbs/${db}/import?mode=${mode}`, text, isJson ? 'application/json' : 'text/csv');
    toast(`Imported ${r.imported} variable${r.imported === 1 ? '' : 's'}`, 'ok');
    await reloadDashboard(db);
    loadDbList();
  } catch (e) { toast(`Import refused: ${e.message}`, 'error'); }
}

// The create / edit form of a variable.
function variableDialog(db, v) {
  const editing = !!v;
  const dbInfo = state.db && state.db.number === db ? state.db : null;
  const cur = v ? { ...v } : { name: '', type: 'INT', byte_offset: dbInfo ? dbInfo.used_up_to : 0, bit_offset: 0, description: '', states: [] };
  const strLen = /\[(\d+)\]/.exec(cur.type);
  const name = h('input', { name: 'name', required: true, maxlength: 64, value: cur.name, autocomplete: 'off' });
  const type = h('select', { name: 'type' }, TYPES.map((t) => h('option', { value: t, selected: baseType(cur.type) === t }, t === 'STRING' ? 'STRING[n]' : t)));
  const len = h('input', { name: 'length', type: 'number', min: 1, max: 254, value: strLen ? strLen[1] : 20 });
  const byte = h('input', { name: 'byte_offset', type: 'number', min: 0, max: 65535, value: cur.byte_offset, required: true });
  const bit = h('input', { name: 'bit_offset', type: 'number', min: 0, max: 7, value: cur.bit_offset });
  const desc = h('input', { name: 'description', maxlength: 256, value: cur.description });
  const value = h('input', { name: 'value', placeholder: editing ? 'leave empty to keep the current value' : 'leave empty to keep the bytes as they are' });
  const preview = h('div', { class: 'preview' });
  const formError = h('div', { class: 'form-error', role: 'alert' });
  const statesList = h('div', { class: 'states-list' });
  const addState = (s) => {
    const row = h('div', { class: 'state-row' },
      h('input', { placeholder: 'name, e.g. Running', value: s ? s.name : '', 'aria-label': 'State name' }),
      h('input', { type: 'number', placeholder: 'value', value: s ? s.value : '', 'aria-label': 'State value' }),
      h('button', { class: 'btn small', type: 'button', 'aria-label': 'Remove state', onclick: () => row.remove() }, '✕'));
    statesList.append(row);
  };
  cur.states.forEach(addState);
  const statesField = h('div', { class: 'field' }, h('span', {}, 'Named states (buttons on the card)'), statesList,
    h('div', {}, h('button', { class: 'btn small', type: 'button', onclick: () => addState(null) }, icon('plus'), 'Add state')));
  const lenField = h('label', { class: 'field' }, h('span', {}, 'Characters (n)'), len);
  const bitField = h('label', { class: 'field' }, h('span', {}, 'Bit offset'), bit);
  const fields = { name, type, byte_offset: byte, bit_offset: bit, description: desc, value, states: statesList };
  const typeName = () => (type.value === 'STRING' ? `STRING[${len.value || 1}]` : type.value);
  const refresh = () => {
    const t = type.value;
    lenField.hidden = t !== 'STRING';
    bitField.hidden = t !== 'BOOL';
    statesField.hidden = !STATE_TYPES.includes(t);
    const tn = typeName();
    preview.textContent = `${siemensAddress(db, tn, Number(byte.value) || 0, t === 'BOOL' ? Number(bit.value) || 0 : 0)} · ${typeSize(tn)} byte${typeSize(tn) === 1 ? '' : 's'} · ${TYPE_HELP[t]}`;
  };
  for (const el of [type, len, byte, bit]) el.addEventListener('input', refresh);
  const form = h('form', { novalidate: true },
    h('h2', {}, editing ? `Edit ${v.name}` : `New variable in DB${db}`),
    h('label', { class: 'field' }, h('span', {}, 'Name'), name),
    h('div', { class: 'grid-2' },
      h('label', { class: 'field' }, h('span', {}, 'Type'), type),
      lenField,
      h('label', { class: 'field' }, h('span', {}, 'Byte offset'), byte),
      bitField),
    preview,
    h('label', { class: 'field' }, h('span', {}, 'Description'), desc),
    statesField,
    h('label', { class: 'field' }, h('span', {}, editing ? 'New value (optional)' : 'Initial value (optional)'), value),
    formError,
    h('div', { class: 'dialog-actions' },
      h('button', { class: 'btn', type: 'button', onclick: closeDialog }, 'Cancel'),
      h('button', { class: 'btn primary', type: 'submit' }, editing ? 'Save' : 'Create')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.textContent = '';
    for (const f of form.querySelectorAll('.field')) f.classList.remove('invalid');
    const t = type.value;
    const body = {
      name: name.value.trim(), type: typeName(), byte_offset: Number(byte.value), bit_offset: t === 'BOOL' ? Number(bit.value) || 0 : 0,
      description: desc.value,
    };
    if (STATE_TYPES.includes(t)) {
      body.states = [...statesList.children].map((row) => {
        const [n, val] = row.querySelectorAll('input');
        const text = t === 'STRING' || t === 'CHAR';
        return { name: n.value.trim(), value: text ? n.value.trim() : WIDE[t] ? wideValue(val.value) : Number(val.value) };
      }).filter((s) => s.name !== '');
    } else if (editing && v.states.length) {
      body.states = [];
    }
    if (value.value !== '') {
      const raw = value.value;
      if (t === 'BOOL') body.value = /^(true|1)$/i.test(raw.trim());
      else if (RANGES[t]) body.value = Number(raw);
      else if (WIDE[t]) body.value = wideValue(raw);
      else if ((t === 'TIME' || t === 'S5TIME') && /^-?\d+$/.test(raw.trim())) body.value = Number(raw);
      else body.value = raw;
    }
    try {
      if (editing) await api('PATCH', `/api/dbs/${db}/variables/${v.id}`, body);
      else await api('POST', `/api/dbs/${db}/variables`, body);
      closeDialog();
      toast(editing ? `Saved ${body.name}` : `Created ${body.name}`, 'ok');
      await reloadDashboard(db);
      loadDbList();
    } catch (err) {
      formError.textContent = err.message;
      const f = fields[err.field];
      if (f) { const wrap = f.closest('.field'); if (wrap) wrap.classList.add('invalid'); f.focus(); }
    }
  });
  refresh();
  openDialog(form);
}

// ---------------------------------------------------------------------------------------------
// data blocks

async function showDbs() {
  state.view = 'dbs';
  openStream(null);
  await loadDbList();
  if (state.view !== 'dbs') return;
  const used = new Set(state.dbs.map((d) => d.number));
  let next = 1;
  while (used.has(next)) next++;
  const num = h('input', { type: 'number', min: 1, max: 65535, value: next, name: 'number', required: true });
  const size = h('input', { type: 'number', min: 1, max: 65536, value: 64, name: 'size', required: true });
  const err = h('div', { class: 'form-error field-error', role: 'alert' });
  const create = h('form', { class: 'form-row', novalidate: true },
    h('label', { class: 'field' }, h('span', {}, 'DB number'), num),
    h('label', { class: 'field' }, h('span', {}, 'Size (bytes)'), size),
    h('button', { class: 'btn primary', type: 'submit' }, icon('plus'), 'Create DB'));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      const db = await api('POST', '/api/dbs', { number: Number(num.value), size: Number(size.value) });
      toast(`Created DB${db.number} (${db.size} bytes)`, 'ok');
      location.hash = `#/db/${db.number}`;
    } catch (ex) { err.textContent = ex.message; }
  });
  const rows = state.dbs.map((d) => {
    const newSize = h('input', { type: 'number', min: 1, max: 65536, value: d.size, 'aria-label': `New size of DB${d.number}`, class: 'size-input' });
    const resize = async () => {
      try {
        await api('PATCH', `/api/dbs/${d.number}`, { size: Number(newSize.value) });
        toast(`DB${d.number} is now ${newSize.value} bytes`, 'ok');
        showDbs();
      } catch (ex) { toast(ex.message, 'error'); }
    };
    const remove = async () => {
      if (!await confirmDialog(`Delete DB${d.number}?`, `DB${d.number} (${d.size} bytes, ${d.variables} variables) stops being served, its variables are removed from the table and DB${d.number}.bin is deleted.`, `Delete DB${d.number}`)) return;
      try {
        await api('DELETE', `/api/dbs/${d.number}`);
        toast(`Deleted DB${d.number}`, 'ok');
        showDbs();
      } catch (ex) { toast(ex.message, 'error'); }
    };
    return h('tr', { dataset: { db: d.number } },
      h('td', {}, h('a', { href: `#/db/${d.number}`, class: 'mono' }, `DB${d.number}`)),
      h('td', { class: 'num' }, d.size),
      h('td', { class: 'num' }, d.variables),
      h('td', {}, h('div', { class: 'actions' }, newSize,
        h('button', { class: 'btn small', type: 'button', onclick: resize }, 'Resize'),
        h('button', { class: 'btn small danger', type: 'button', onclick: remove }, icon('trash'), 'Delete'))));
  });
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Data blocks'),
      h('div', { class: 'sub' }, 'The DBs the PLC serves: each is a DB<n>.bin file; its variables live in the SQLite table.'))),
    h('section', { class: 'panel spaced' },
      h('div', { class: 'panel-head' }, h('h2', {}, 'New data block')),
      h('div', { class: 'panel-body' }, create, err)),
    h('section', { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h2', {}, `${state.dbs.length} data block${state.dbs.length === 1 ? '' : 's'}`)),
      h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'DB'), h('th', { class: 'num' }, 'Bytes'), h('th', { class: 'num' }, 'Variables'), h('th', {}, ''))),
        h('tbody', {}, rows)))));
}

// ---------------------------------------------------------------------------------------------
// the PLC

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? '—' : String(v))]));
}

function localTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

async function showPlc() {
  state.view = 'plc';
  openStream(null);
  const modeBig = h('div', { class: 'big-mode', 'data-testid': 'plc-mode' });
  const modeInfo = h('div', { class: 'muted' });
  const setMode = async (m) => {
    try {
      const r = await api('PUT', '/api/plc/mode', { mode: m });
      toast(r.changed ? `The CPU is in ${r.mode}` : `The CPU already is in ${r.mode}`, 'ok');
      refreshInfo();
    } catch (e) { toast(e.message, 'error'); }
  };
  const clock = h('div', { class: 'clock', 'data-testid': 'plc-clock' });
  const clockInfo = h('div', { class: 'muted' });
  const identity = h('div', {});
  const endpoint = h('div', {});
  const clientsBody = h('tbody', {});
  const requestsBody = h('tbody', {});
  const clientsTitle = h('h2', {}, 'Connected clients');
  const activity = activityPanel();
  let clockBase = null;  // [PLC ms since epoch (as UTC fields), local ms when read]

  main.replaceChildren(
    h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'PLC'), h('div', { class: 'sub' }, 'Operating mode, identity, clock, the S7 clients and their last requests.'))),
    h('div', { class: 'panels' },
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Operating mode')),
        h('div', { class: 'panel-body' }, h('div', { class: 'mode-row' }, modeBig,
          h('div', { class: 'actions' },
            h('button', { class: 'btn', type: 'button', 'data-testid': 'mode-run', onclick: () => setMode('RUN') }, 'RUN'),
            h('button', { class: 'btn', type: 'button', 'data-testid': 'mode-stop', onclick: () => setMode('STOP') }, 'STOP'))), modeInfo)),
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Clock'),
        h('button', { class: 'btn small', type: 'button', onclick: async () => {
          try { await api('PUT', '/api/plc/clock', { offset_ms: 0 }); toast('PLC clock follows the host again', 'ok'); refreshInfo(); } catch (e) { toast(e.message, 'error'); }
        } }, 'Use host time')),
        h('div', { class: 'panel-body' }, clock, clockInfo)),
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'S7 endpoint')), h('div', { class: 'panel-body' }, endpoint)),
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Identity')), h('div', { class: 'panel-body' }, identity))),
    activity.el,
    h('section', { class: 'panel spaced' }, h('div', { class: 'panel-head' }, clientsTitle),
      h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'clients' },
        h('thead', {}, h('tr', {}, ['Client', 'Type', 'TSAP (calling → called)', 'PDU', 'Requests', 'Read', 'Write', 'Other', 'Errors', 'Connected'].map((t, i) => h('th', { class: i >= 3 && i <= 8 ? 'num' : '' }, t)))),
        clientsBody))),
    h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Last requests'), h('span', { class: 'muted' }, 'newest first')),
      h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'requests' },
        h('thead', {}, h('tr', {}, ['Time', 'Client', 'Function', 'Items', 'Result', 'ms'].map((t) => h('th', { class: t === 'ms' ? 'num' : '' }, t)))),
        requestsBody))));

  const refreshInfo = async () => {
    let p;
    try { p = await api('GET', '/api/plc'); } catch (e) { toast(e.message, 'error'); return; }
    modeBig.textContent = p.mode || '—';
    modeBig.dataset.mode = p.mode || '';
    setModeBadge(p.mode);
    const c = p.last_mode_change;
    modeInfo.textContent = c ? `${c.from} → ${c.to} at ${localTime(c.at)} (${c.reason})` : 'unchanged since start';
    const m = /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)$/.exec(p.clock || '');
    clockBase = m ? [Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]), Date.now()] : null;
    clockInfo.textContent = `offset from the host clock: ${p.clock_offset_ms} ms · protection level ${p.protection_level}${p.password_set ? ' (password set)' : ''}`;
    const id = p.identity || {};
    identity.replaceChildren(kv([['Module', id.module_name], ['Module type', id.module_type], ['Order number', id.order_number],
      ['Firmware', id.firmware_version], ['Serial number', id.serial_number], ['AS name', id.as_name], ['Plant ID', id.plant_id],
      ['Profile', p.profile ? `${p.profile.name} (${p.profile.source})` : null]]));
    endpoint.replaceChildren(kv([['Listening', `${p.s7.listen}:${p.s7.port}`], ['Rack / slot', `${p.s7.rack} / ${p.s7.slot}`],
      ['PDU size', `${p.s7.pdu_size} bytes max`], ['Connections', `${p.connections} open · ${p.connections_total} since start (max ${p.s7.max_connections})`],
      ['Requests', p.requests_total], ['Data blocks', p.dbs], ['Up since', new Date(p.started_at).toLocaleString()]]));
  };
  const refreshTraffic = async () => {
    let c;
    let r;
    try {
      [c, r] = await Promise.all([api('GET', '/api/plc/clients'), api('GET', '/api/plc/requests?limit=50')]);
    } catch (e) { return; }
    clientsTitle.textContent = `Connected clients (${c.clients.length})`;
    clientsBody.replaceChildren(...(c.clients.length ? c.clients.map((x) => h('tr', {},
      h('td', { class: 'mono' }, x.peer), h('td', {}, x.connection_type || x.state),
      h('td', { class: 'mono' }, x.calling_tsap ? `${x.calling_tsap} → ${x.called_tsap}` : '—'),
      h('td', { class: 'num' }, x.pdu_size || '—'), h('td', { class: 'num' }, x.requests), h('td', { class: 'num' }, x.reads),
      h('td', { class: 'num' }, x.writes), h('td', { class: 'num' }, x.userdata), h('td', { class: 'num' }, x.errors),
      h('td', {}, localTime(x.connected_at)))) : [h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'No S7 client is connected.'))]));
    requestsBody.replaceChildren(...(r.requests.length ? r.requests.map((x) => h('tr', {},
      h('td', { class: 'mono' }, localTime(x.time)), h('td', { class: 'mono' }, x.peer), h('td', {}, x.function),
      h('td', { class: 'mono' }, x.items.join(', ') || '—'),
      h('td', { class: x.ok ? 'result-ok' : 'result-err' }, x.result || 'pending'),
      h('td', { class: 'num' }, x.duration_ms === null ? '' : x.duration_ms.toFixed(2)))) : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No requests yet.'))]));
  };
  let pending = null;
  state.plcRefresh = (s) => {
    modeBig.textContent = s.mode || modeBig.textContent;
    if (s.mode) modeBig.dataset.mode = s.mode;
    if (s.traffic_generation !== state.lastTraffic) {
      state.lastTraffic = s.traffic_generation;
      if (!pending) pending = setTimeout(() => { pending = null; refreshTraffic(); }, 300);
    }
  };
  let ticks = 0;
  const tick = () => {
    if (state.view !== 'plc') return;
    if (ticks++ % 8 === 0) activity.refresh();  // every 2 s
    if (clockBase) {
      const d = new Date(clockBase[0] + (Date.now() - clockBase[1]));
      clock.textContent = d.toISOString().replace('T', ' ').replace('Z', '').slice(0, 19);
    }
    setTimeout(tick, 250);
  };
  await refreshInfo();
  refreshTraffic();
  tick();
}

// ---------------------------------------------------------------------------------------------
// plant: every PLC with its mode, connections, request rate and last error (GET /api/plcs)

async function showPlant() {
  state.view = 'plant';
  if (state.stream) { state.stream.close(); state.stream = null; }
  setLive('on');
  const filter = h('input', { type: 'search', placeholder: 'Filter by name or address', 'aria-label': 'Filter PLCs', class: 'search' });
  const summary = h('div', { class: 'sub', 'data-testid': 'plant-summary' });
  const body = h('tbody', {});
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, `Plant ${state.plant.name}`), summary)),
    h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'PLCs'), filter),
      h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'plant' },
        h('thead', {}, h('tr', {}, ['PLC', 'Address', 'Loop', 'Mode', 'Connections', 'Requests/s', 'Requests', 'Last error']
          .map((t, i) => h('th', { class: i === 2 || (i >= 4 && i <= 6) ? 'num' : '' }, t)))),
        body))));
  let last = null;
  const render = () => {
    if (!last) return;
    const f = filter.value.trim().toLowerCase();
    const rows = last.plcs.filter((p) => !f || p.name.toLowerCase().includes(f) || p.listen.includes(f));
    const run = last.plcs.filter((p) => p.mode === 'RUN').length;
    const rate = last.plcs.reduce((a, p) => a + p.requests_per_s, 0);
    const conns = last.plcs.reduce((a, p) => a + p.connections, 0);
    summary.textContent = `${last.plcs.length} PLCs on ${last.plant.threads} event loop(s) · ${run} in RUN, ${last.plcs.length - run} in STOP · ${conns} connections · ${rate.toFixed(0)} requests/s · ${last.plant.source}`;
    body.replaceChildren(...(rows.length ? rows.slice(0, 2000).map((p) => h('tr', {},
      h('td', {}, h('a', { href: `/plcs/${encodeURIComponent(p.name)}/#/plc` }, p.name)),
      h('td', { class: 'mono' }, p.listen), h('td', { class: 'num' }, p.thread),
      h('td', {}, h('span', { class: 'mode-badge', dataset: { mode: p.mode } }, p.mode)),
      h('td', { class: 'num' }, `${p.connections}`), h('td', { class: 'num' }, p.requests_per_s.toFixed(1)),
      h('td', { class: 'num' }, p.requests_total),
      h('td', { class: p.last_error ? 'result-err' : 'muted', title: p.last_error ? `${p.last_error.count} warning(s) and error(s) since start` : '' },
        p.last_error ? `${localTime(p.last_error.at)} ${p.last_error.text}` : '—')))
      : [h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No PLC matches.'))]));
  };
  filter.addEventListener('input', render);
  const refresh = async () => {
    if (state.view !== 'plant') return;
    try { last = await api('GET', '/api/plcs'); render(); setLive('on'); } catch (e) { setLive('off'); }
    setTimeout(refresh, 2000);
  };
  refresh();
}

// The top bar and sidebar of a plant's pages: the plant page, or the PLC being looked at.
function initPlant(plant) {
  state.plant = plant;
  if (!plant) return;
  const brand = document.querySelector('.brand');
  brand.href = '/';
  brand.querySelector('.brand-sub').textContent = PLC_NAME ? `plant ${plant.name} › ${PLC_NAME}` : `plant ${plant.name}`;
  document.title = PLC_NAME ? `protos7 · ${PLC_NAME}` : `protos7 · plant ${plant.name}`;
  if (!PLC_NAME) {
    document.querySelector('.sidebar').hidden = true;
    document.getElementById('mode-badge').hidden = true;
  }
}

// ---------------------------------------------------------------------------------------------
// routing: #/dbs, #/db/200, #/plc, #/faults (live.js); a plant's page at /: the plant

async function route() {
  state.plcRefresh = null;
  state.lastTraffic = -1;
  closeDialog();
  if (state.plant && !PLC_NAME) return showPlant();
  const hash = location.hash || '#/';
  highlightNav();
  let m;
  if ((m = /^#\/db\/(\d+)$/.exec(hash))) {
    if (!state.db || state.db.number !== Number(m[1])) state.filter = '';
    return showDashboard(Number(m[1]));
  }
  if (hash === '#/dbs') return showDbs();
  if (hash === '#/plc') return showPlc();
  if (hash === '#/faults') return showFaults();
  // Home: the first DB's dashboard, or the DB list when there is none.
  if (!state.dbs.length) await loadDbList();
  location.replace(state.dbs.length ? `#/db/${state.dbs[0].number}` : '#/dbs');
  return undefined;
}

initTheme();
window.addEventListener('hashchange', route);
api('GET', '/api/session').then((s) => initPlant(s.plant), () => initPlant(null))
  .then(() => (state.plant && !PLC_NAME ? route() : loadDbList().then(route)));
