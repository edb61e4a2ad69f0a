// protos7 web admin, part 2: the Faults page, trend charts (uPlot, embedded from npm's "uplot"
// 1.6.32, MIT) and the living-process editor of a variable. Loaded after app.js, whose helpers
// (h, api, toast, icon, openDialog, state, ...) it uses. Only the JSON API (docs/API.md).
'use strict';

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

// A uPlot chart of time series: series = [{label, color}], fills its container's width.
function makeChart(el, series, height, opts) {
  const o = opts || {};
  const axisColor = cssVar('--muted');
  const grid = { stroke: cssVar('--border'), width: 1 };
  const chart = new uPlot({
    width: Math.max(el.clientWidth || 300, 160),
    height,
    legend: { show: !!o.legend },
    cursor: { show: !!o.legend, drag: { x: false, y: false } },
    scales: { x: { time: true }, y: o.y || {} },
    axes: o.axes === false ? [{ show: false }, { show: false }] : [
      { stroke: axisColor, grid, ticks: grid, size: 30,
        values: (u, vals) => vals.map((v) => new Date(v * 1000).toLocaleTimeString([], { hour12: false })) },
      { stroke: axisColor, grid, ticks: grid, size: 48 },
    ],
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.6, fill: s.fill, spanGaps: false, points: { show: false } }))],
  }, [[], ...series.map(() => [])], el);
  const resize = () => { if (el.isConnected) chart.setSize({ width: Math.max(el.clientWidth, 160), height }); };
  window.addEventListener('resize', resize);
  return { chart, resize };
}

// ---------------------------------------------------------------------------------------------
// activity: requests and injected faults per second (the PLC and Faults pages)

function activityPanel() {
  const box = h('div', { class: 'chart', 'data-testid': 'activity-chart' });
  const panel = h('section', { class: 'panel spaced' },
    h('div', { class: 'panel-head' }, h('h2', {}, 'Activity'),
      h('span', { class: 'legend' }, h('span', { class: 'swatch req' }), 'requests/s', h('span', { class: 'swatch flt' }), 'injected faults/s')),
    h('div', { class: 'panel-body' }, box));
  let c = null;
  const refresh = async () => {
    let t;
    try { t = await api('GET', '/api/trends'); } catch (e) { return; }
    if (!c) c = makeChart(box, [{ label: 'requests/s', color: cssVar('--accent') }, { label: 'faults/s', color: cssVar('--err') }], 180, { legend: false });
    c.chart.setData([t.t, t.requests_per_s, t.faults_per_s]);
  };
  return { el: panel, refresh };
}

// ---------------------------------------------------------------------------------------------
// trends of a DB's variables: a small chart in each card of a numeric variable

const trendCharts = new Map();  // variable id -> {box, c}
let trendTimer = null;

function cardTrend(v) {
  if (/^(STRING|CHAR|DATE_AND_TIME)/.test(v.type)) return null;
  const box = h('div', { class: 'spark', 'data-testid': 'trend', title: 'The last five minutes' });
  trendCharts.set(v.id, { box, c: null, bool: v.type === 'BOOL' });
  return box;
}

async function refreshTrends(db) {
  if (state.view !== 'dashboard' || !state.db || state.db.number !== db) return;
  let t;
  try { t = await api('GET', `/api/trends?db=${db}`); } catch (e) { return; }
  for (const [id, tc] of trendCharts) {
    const values = t.variables[String(id)];
    if (!values || !tc.box.isConnected) continue;
    if (!tc.c) {
      tc.c = makeChart(tc.box, [{ label: 'value', color: cssVar('--accent'), fill: cssVar('--accent-soft') }], 56,
        { axes: false, y: tc.bool ? { range: [-0.1, 1.1] } : {} });
    }
    tc.c.chart.setData([t.t.slice(-values.length), values]);
  }
}

function startDbTrends(db) {
  if (trendTimer) clearInterval(trendTimer);
  refreshTrends(db);
  trendTimer = setInterval(() => {
    if (state.view !== 'dashboard') { clearInterval(trendTimer); trendTimer = null; return; }
    refreshTrends(db);
  }, 2000);
}

// ---------------------------------------------------------------------------------------------
// the living process of a variable

const PROCESS_TEMPLATES = {
  ramp: { min: 0, max: 100, period_s: 60 },
  sine: { min: 0, max: 100, period_s: 60, phase_deg: 0 },
  square: { min: 0, max: 1, period_s: 10, duty: 0.5 },
  random_walk: { min: 0, max: 100, step: 1, seed: 1 },
  counter: { min: 0, max: 65535, step: 1, every_ms: 1000 },
  toggle: { period_s: 2 },
  copy: { source: 'DB1.DBW0' },
  expression: { expression: '50 + 10 * sin(t / 5)' },
};

function processBadge(v) {
  if (!v.process) return null;
  const p = v.process;
  const detail = Object.entries(p).filter(([k]) => k !== 'kind').map(([k, x]) => `${k} ${x}`).join(', ');
  return h('span', { class: 'process-badge', title: `Driven by the living process: ${p.kind} (${detail})` }, `~ ${p.kind}`);
}

function processDialog(db, v) {
  const cur = v.process || { kind: v.type === 'BOOL' ? 'toggle' : 'sine', ...(v.type === 'BOOL' ? PROCESS_TEMPLATES.toggle : PROCESS_TEMPLATES.sine) };
  const kind = h('select', { name: 'kind' }, Object.keys(PROCESS_TEMPLATES).map((k) => h('option', { value: k, selected: k === cur.kind }, k)));
  const params = h('textarea', { name: 'params', rows: 5, spellcheck: 'false', class: 'mono' });
  const rest = { ...cur };
  delete rest.kind;
  params.value = JSON.stringify(rest, null, 1);
  kind.addEventListener('change', () => { params.value = JSON.stringify(PROCESS_TEMPLATES[kind.value], null, 1); });
  const error = h('div', { class: 'form-error', role: 'alert' });
  const form = h('form', { method: 'dialog', novalidate: true },
    h('h2', {}, `${v.name}: living process`),
    h('p', { class: 'muted' }, `${v.address} changes by itself, without any client writing it. Expressions may use t (seconds), other variables (DB${db}.Name, DB1.DBW2) and sin, cos, abs, min, max, clamp ...`),
    h('label', { class: 'field' }, h('span', {}, 'Kind'), kind),
    h('label', { class: 'field' }, h('span', {}, 'Parameters (JSON)'), params),
    error,
    h('div', { class: 'dialog-actions' },
      v.process ? h('button', { class: 'btn danger', type: 'button', onclick: async () => {
        try { await api('DELETE', `/api/dbs/${db}/variables/${v.id}/process`); toast(`${v.name} is no longer driven`, 'ok'); closeDialog(); reloadDashboard(db); } catch (e) { error.textContent = e.message; }
      } }, 'Stop driving') : null,
      h('button', { class: 'btn', type: 'button', onclick: closeDialog }, 'Cancel'),
      h('button', { class: 'btn primary', type: 'submit' }, 'Save')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body;
    try { body = { kind: kind.value, ...JSON.parse(params.value || '{}') }; } catch (e) { error.textContent = `Parameters: ${e.message}`; return; }
    try {
      await api('PUT', `/api/dbs/${db}/variables/${v.id}/process`, body);
      toast(`${v.name} is driven by ${kind.value}`, 'ok');
      closeDialog();
      reloadDashboard(db);
    } catch (e) { error.textContent = e.message; }
  });
  openDialog(form);
}

function processButton(db, v) {
  if (/^(STRING|CHAR|DATE_AND_TIME)/.test(v.type)) return null;
  return h('button', { class: 'btn', type: 'button', title: `Living process of ${v.name}`, 'aria-label': `Living process of ${v.name}`, onclick: () => processDialog(db, v) }, icon('wave'));
}

// ---------------------------------------------------------------------------------------------
// the Faults page: rules (edit, enable), counters, injected faults, activity

const FAULTS_EXAMPLE = {
  rules: [
    { when: { function: 'read_var', db: 1 }, do: { delay_ms: 400 } },
    { when: { function: 'write_var', db: 2 }, do: { item_return_code: '0x05' } },
    { when: { szl_id: '0x001C' }, do: { no_reply: true } },
  ],
};

async function showFaults() {
  state.view = 'faults';
  openStream(null);
  const rulesBody = h('tbody', {});
  const eventsBody = h('tbody', {});
  const kinds = h('div', { class: 'kinds' });
  const total = h('span', { class: 'muted', 'data-testid': 'faults-total' });
  const editor = h('textarea', { class: 'mono rules-editor', rows: 14, spellcheck: 'false', 'aria-label': 'Fault rules (JSON)' });
  const activity = activityPanel();
  const apply = async () => {
    try {
      const r = await api('PUT', '/api/faults', editor.value);
      toast(`${r.rules.length} fault rule${r.rules.length === 1 ? '' : 's'} in force`, 'ok');
      render(r, true);
    } catch (e) { toast(e.message, 'error'); }
  };
  const render = (f, fillEditor) => {
    total.textContent = `${f.injected_total} injected`;
    if (fillEditor) editor.value = JSON.stringify(f.document, null, 2);
    rulesBody.replaceChildren(...(f.rules.length ? f.rules.map((r) => h('tr', { dataset: { rule: r.rule } },
      h('td', { class: 'num' }, r.rule), h('td', {}, r.name), h('td', {}, r.action),
      h('td', {}, h('input', { type: 'checkbox', checked: r.enabled, 'aria-label': `Enable ${r.name}`, onchange: async (ev) => {
        try { render(await api('PATCH', `/api/faults/rules/${r.rule}`, { enabled: ev.target.checked }), false); } catch (e) { toast(e.message, 'error'); }
      } })),
      h('td', { class: 'num' }, r.matched), h('td', { class: 'num', 'data-testid': 'injected' }, r.injected))) :
      [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No fault rules: the PLC behaves. Write rules below or load the example.'))]));
    kinds.replaceChildren(...Object.entries(f.by_kind).map(([k, n]) => h('span', { class: 'kind-chip' }, `${k} `, h('strong', {}, n))));
  };
  const refresh = async () => {
    if (state.view !== 'faults') return;
    try {
      const [f, ev] = await Promise.all([api('GET', '/api/faults'), api('GET', '/api/faults/events?limit=30')]);
      render(f, false);
      eventsBody.replaceChildren(...(ev.events.length ? ev.events.map((x) => h('tr', {},
        h('td', { class: 'mono' }, localTime(x.time)), h('td', { class: 'mono' }, x.peer), h('td', {}, x.rule_name),
        h('td', {}, x.action), h('td', {}, x.request))) : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No fault injected yet.'))]));
    } catch (e) { /* shown on the next try */ }
    activity.refresh();
  };
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Faults'),
      h('div', { class: 'sub' }, 'A PLC that misbehaves on purpose: delays, lost or wrong replies, resets, STOP. Every injected fault is logged and counted; --validate records how each client copes.'))),
    activity.el,
    h('section', { class: 'panel spaced' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Rules'), total),
      h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'fault-rules' },
        h('thead', {}, h('tr', {}, ['#', 'Name', 'Action', 'On', 'Matched', 'Injected'].map((t) => h('th', { class: ['#', 'Matched', 'Injected'].includes(t) ? 'num' : '' }, t)))),
        rulesBody)),
      h('div', { class: 'panel-body' }, kinds)),
    h('section', { class: 'panel spaced' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Edit rules'),
      h('div', { class: 'actions' },
        h('button', { class: 'btn', type: 'button', onclick: () => { editor.value = JSON.stringify(FAULTS_EXAMPLE, null, 2); } }, 'Example'),
        h('button', { class: 'btn', type: 'button', onclick: async () => { try { render(await api('DELETE', '/api/faults/counters'), false); } catch (e) { toast(e.message, 'error'); } } }, 'Reset counters'),
        h('button', { class: 'btn primary', type: 'button', onclick: apply }, 'Apply'))),
      h('div', { class: 'panel-body' }, editor, h('p', { class: 'muted' }, 'The format of serve --faults (docs/FAULTS.md): "when" selects (function, db, area, szl_id, client, tsap, nth, every, probability, after, until ...), "do" acts (delay_ms, no_reply, close, reset, cotp_dr, header_error, item_return_code, wrong_pdu_ref, duplicate, cotp_segment, tcp_segment, trickle, refuse_connections, stop, clamp_pdu).'))),
    h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Injected faults'), h('span', { class: 'muted' }, 'newest first')),
      h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'fault-events' },
        h('thead', {}, h('tr', {}, ['Time', 'Client', 'Rule', 'Action', 'Request'].map((t) => h('th', {}, t)))), eventsBody))));
  try { render(await api('GET', '/api/faults'), true); } catch (e) { toast(e.message, 'error'); }
  refresh();
  const timer = setInterval(() => { if (state.view !== 'faults') clearInterval(timer); else refresh(); }, 1000);
}
