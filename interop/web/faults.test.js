'use strict';
// The Faults page, trend charts and the living process in a real headless Chromium, against
// `protos7 serve --faults FILE` with a real S7 client (node-snap7) making traffic: the rules and
// their counters, the injected faults, the activity chart (uPlot), a variable set to follow a
// sine in the page and its trend on its card. Screenshots: faults.png, trends.png.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, launchBrowser, shot, s7call, s7connect, waitFor } = require('./lib/harness');

let srv;
let browser;
let page;
let s7;
let traffic;
let rulesFile;

const RULES = {
  rules: [
    { name: 'slow DB1 reads', when: { function: 'read_var', db: 1 }, do: { delay_ms: 30 } },
    { name: 'DB2 refused now and then', when: { function: 'read_var', db: 2, every: 3 }, do: { header_error: '0x8500' } },
    { when: { szl_id: '0x001C' }, do: { no_reply: true } },
  ],
};

before(async () => {
  rulesFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'protos7-rules-')), 'faults.json');
  fs.writeFileSync(rulesFile, JSON.stringify(RULES));
  srv = await startServer(['--faults', rulesFile]);
  browser = await launchBrowser({ viewport: { width: 1280, height: 900 } });
  page = browser.page;
  s7 = await s7connect(srv.s7Port);
  // An HMI polling DB1 and DB2 (every third DB2 read is refused by rule 2).
  let stop = false;
  traffic = (async () => {
    while (!stop) {
      await s7call(s7, 'DBRead', 1, 0, 8).catch(() => {});
      await s7call(s7, 'DBRead', 2, 0, 8).catch(() => {});
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  traffic.stop = () => { stop = true; return traffic; };
});

after(async () => {
  if (traffic) await traffic.stop();
  if (s7 && s7.Connected()) s7.Disconnect();
  if (browser) await browser.close();
  if (srv) await srv.stop();
  if (rulesFile) fs.rmSync(path.dirname(rulesFile), { recursive: true, force: true });
});

test('the Faults page shows the rules, their counters, the injected faults and the activity', async () => {
  await page.goto(`${srv.loginUrl}#/faults`);
  const rows = page.locator('[data-testid="fault-rules"] tbody tr');
  await waitFor(async () => (await rows.count()) === 3, 5000, 'three rules');
  assert.equal(await rows.nth(0).locator('td').nth(1).innerText(), 'slow DB1 reads');
  assert.equal(await rows.nth(1).locator('td').nth(2).innerText(), 'header error 0x8500');
  // Counters grow with the client's traffic; each injected fault is listed.
  await waitFor(async () => Number(await rows.nth(1).locator('[data-testid="injected"]').innerText()) >= 3, 8000, 'faults on DB2');
  await waitFor(async () => (await page.locator('[data-testid="fault-events"] tbody tr').count()) >= 5, 5000, 'the event list');
  assert.match(await page.locator('[data-testid="fault-events"] tbody tr').first().innerText(), /Read Var/);
  // The activity chart (uPlot on a canvas) has data: a few seconds of requests.
  await page.locator('[data-testid="activity-chart"] canvas').first().waitFor();
  await new Promise((r) => setTimeout(r, 3500));
  await shot(page, 'faults.png', { fullPage: true });
  // A rule switched off in the page stops injecting.
  await rows.nth(0).getByRole('checkbox').uncheck();
  const r = await (await fetch(`${srv.url}api/faults`, { headers: srv.auth })).json();
  assert.equal(r.rules[0].enabled, false);
  assert.deepEqual(browser.errors, []);
});

test('rules written in the page replace the running ones and refused ones say why', async () => {
  await page.goto(`${srv.url}#/faults`);
  const editor = page.getByLabel('Fault rules (JSON)');
  await editor.waitFor();
  await waitFor(async () => (await editor.inputValue()).includes('slow DB1 reads'), 5000, 'the rules in the editor');
  await editor.fill('{"rules": [{"when": {"db": 0}, "do": {"no_reply": true}}]}');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('.toast.error', { hasText: 'rules[0].when.db: 0 is outside 1..65535' }).waitFor();
  browser.errors.length = 0;  // Chromium logs the 400 as a console error
  await page.getByRole('button', { name: 'Example' }).click();
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('.toast', { hasText: '3 fault rules in force' }).waitFor();
  const rows = page.locator('[data-testid="fault-rules"] tbody tr');
  await waitFor(async () => (await rows.nth(0).locator('td').nth(2).innerText()) === 'delay 400 ms', 5000, 'the example');
  assert.deepEqual(browser.errors, []);
});

test('a variable set to follow a sine in the page changes by itself and shows its trend', async () => {
  await (await fetch(`${srv.url}api/faults`, {
    method: 'PUT', headers: { ...srv.auth, 'Content-Type': 'application/json', 'X-Protos7-CSRF': await csrf() }, body: '{"rules": []}',
  })).json();
  await page.goto(`${srv.url}#/db/1`);
  const card = page.locator('article.card[data-var="Temperature"]');
  await card.waitFor();
  await card.getByRole('button', { name: 'Living process of Temperature' }).click();
  const d = page.locator('#dialog');
  await d.locator('select[name="kind"]').selectOption('sine');
  await d.locator('textarea[name="params"]').fill('{"min": 10, "max": 90, "period_s": 4}');
  await d.getByRole('button', { name: 'Save' }).click();
  await page.locator('.toast', { hasText: 'Temperature is driven by sine' }).waitFor();
  await card.locator('.process-badge').waitFor();
  // The value moves without any client writing it; an S7 client reads it moving too.
  const v1 = await card.locator('[data-testid="value"]').innerText();
  await waitFor(async () => (await card.locator('[data-testid="value"]').innerText()) !== v1, 3000, 'the value to move');
  const a = (await s7call(s7, 'DBRead', 1, 2, 4)).readFloatBE(0);
  await new Promise((r) => setTimeout(r, 500));
  const b = (await s7call(s7, 'DBRead', 1, 2, 4)).readFloatBE(0);
  assert.notEqual(a, b);
  assert.ok(a >= 10 && a <= 90 && b >= 10 && b <= 90, `${a}, ${b} within 10..90`);
  // Its card shows the trend (uPlot): a few seconds of samples.
  await card.locator('[data-testid="trend"] canvas').first().waitFor();
  await new Promise((r) => setTimeout(r, 6000));
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'trends.png');
  assert.deepEqual(browser.errors, []);
});

async function csrf() {
  const s = await (await fetch(`${srv.url}api/session`, { headers: srv.auth })).json();
  return s.csrf_token;
}
