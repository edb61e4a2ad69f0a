'use strict';
// Browser tests of the web admin in a real headless Chromium, with a real S7 client (node-snap7)
// on the other side: what the page sets, the PLC serves at once; what an S7 client writes, the
// page shows within a second; STOP in the page is what the client's PLC status reports.
// The tests run in order against one server and share its state. Each saves a screenshot.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, launchBrowser, shot, s7call, s7connect, waitFor, snap7 } = require('./lib/harness');

let srv;
let browser;
let page;
let s7;

const card = (name) => page.locator(`article.card[data-var="${name}"]`);
const valueText = (name) => card(name).locator('[data-testid="value"]').innerText();

before(async () => {
  srv = await startServer();
  browser = await launchBrowser();
  page = browser.page;
  s7 = await s7connect(srv.s7Port);
});

after(async () => {
  if (s7 && s7.Connected()) s7.Disconnect();
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

// Fills the "Add variable" dialog and submits it.
async function addVariable(v) {
  await page.getByRole('button', { name: 'Add variable' }).first().click();
  const d = page.locator('#dialog');
  await d.locator('input[name="name"]').fill(v.name);
  await d.locator('select[name="type"]').selectOption(v.type);
  if (v.length) await d.locator('input[name="length"]').fill(String(v.length));
  await d.locator('input[name="byte_offset"]').fill(String(v.byte));
  if (v.bit !== undefined) await d.locator('input[name="bit_offset"]').fill(String(v.bit));
  if (v.description) await d.locator('input[name="description"]').fill(v.description);
  for (const [i, s] of (v.states || []).entries()) {
    await d.getByRole('button', { name: 'Add state' }).click();
    await d.locator('input[aria-label="State name"]').nth(i).fill(s.name);
    await d.locator('input[aria-label="State value"]').nth(i).fill(String(s.value));
  }
  if (v.value !== undefined) await d.locator('input[name="value"]').fill(String(v.value));
  await d.getByRole('button', { name: 'Create' }).click();
}

test('the page needs the token of the printed address and keeps it for its API calls', async () => {
  const refused = await page.goto(srv.url);
  assert.equal(refused.status(), 401);
  assert.match(await page.locator('h1').innerText(), /Token required/);
  browser.errors.length = 0;  // Chromium logs the 401 as a console error
  const ok = await page.goto(`${srv.loginUrl}#/db/200`);
  assert.equal(ok.status(), 200);
  assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
  await card('MachineStatus').waitFor();  // the API calls carried the token (cookie)
  await waitFor(async () => (await page.locator('#live').getAttribute('data-state')) === 'on', 5000, 'the live stream');
  await page.goto(`${srv.url}#/dbs`);  // later visits need no token in the address
  await page.locator('input[name="number"]').waitFor();
  assert.deepEqual(browser.errors, []);
});

test('the dashboard of the sample PLC shows DB200 like goprotos7, better', async () => {
  await page.goto(`${srv.loginUrl}#/db/200`);
  await card('MachineStatus').waitFor();
  await waitFor(async () => (await page.locator('#live').getAttribute('data-state')) === 'on', 5000, 'the live stream');
  assert.equal(await card('MachineStatus').locator('.address').innerText(), 'DB200.DBW0');
  assert.equal(await card('MachineName').locator('.address').innerText(), 'P#DB200.DBX4.0 BYTE 22');
  assert.equal(await card('MachineConditions_warning').locator('.address').innerText(), 'DB200.DBX26.1');
  assert.match(await valueText('MachineStatus'), /^0\s*Idle$/);
  assert.equal(await valueText('MachineName'), 'GoProtoS7Emulator');
  for (const s of ['Idle', 'Running', 'Critical']) await card('MachineStatus').getByRole('button', { name: s }).waitFor();
  assert.equal(await page.locator('#mode-badge').innerText(), 'RUN');
  await shot(page, 'dashboard.png');
  assert.deepEqual(browser.errors, []);
});

test('create a DB and add variables of several types in the page', async () => {
  await page.goto(`${srv.loginUrl}#/dbs`);
  await page.locator('input[name="number"]').fill('42');
  await page.locator('input[name="size"]').fill('64');
  await page.getByRole('button', { name: 'Create DB' }).click();
  await page.waitForURL(/#\/db\/42$/);
  await page.getByText('DB42 has no variables yet.').waitFor();

  await addVariable({ name: 'Speed', type: 'INT', byte: 0, description: 'Conveyor speed step',
    states: [{ name: 'Stop', value: 0 }, { name: 'Slow', value: 1 }, { name: 'Fast', value: 2 }] });
  await card('Speed').waitFor();
  await addVariable({ name: 'Running', type: 'BOOL', byte: 2, bit: 0 });
  await card('Running').waitFor();
  await addVariable({ name: 'Temperature', type: 'REAL', byte: 4, value: '18.25' });
  await card('Temperature').waitFor();
  await addVariable({ name: 'Label', type: 'STRING', length: 16, byte: 8 });
  await card('Label').waitFor();
  await addVariable({ name: 'Uptime', type: 'TIME', byte: 26, value: 'T#1h30m' });
  await card('Uptime').waitFor();
  await addVariable({ name: 'Shift start', type: 'TIME_OF_DAY', byte: 30, value: '06:00:00' });
  await card('Shift start').waitFor();

  assert.equal(await card('Speed').locator('.address').innerText(), 'DB42.DBW0');
  assert.equal(await card('Running').locator('.address').innerText(), 'DB42.DBX2.0');
  assert.equal(await card('Temperature').locator('.address').innerText(), 'DB42.DBD4');
  assert.equal(await card('Label').locator('.address').innerText(), 'P#DB42.DBX8.0 BYTE 18');
  assert.equal(await valueText('Temperature'), '18.25');
  assert.equal(await valueText('Uptime'), 'T#1h30m');
  assert.equal(await valueText('Shift start'), 'TOD#06:00:00.000');

  // An overlapping variable is refused with a message naming the other one; nothing is created.
  await addVariable({ name: 'Clash', type: 'DINT', byte: 6 });
  const err = page.locator('#dialog .form-error');
  await waitFor(async () => (await err.innerText()).includes('overlaps'), 3000, 'the overlap message');
  assert.equal(await err.innerText(), "DINT at DB42.DBD6 overlaps 'Temperature' (REAL at DB42.DBD4): bytes 4..7 are in use already");
  await shot(page, 'variable-overlap.png');
  await page.locator('#dialog').getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await page.locator('article.card').count(), 6);

  // The S7 client reads what the page created (initial values included).
  const b = await s7call(s7, 'DBRead', 42, 4, 4);
  assert.equal(b.readFloatBE(0), 18.25);
  await shot(page, 'create-variables.png');
});

test('a value set in the page is read by an S7 client at once', async () => {
  await card('Speed').getByRole('button', { name: 'Fast' }).click();
  await waitFor(async () => /^2/.test(await valueText('Speed')), 3000, 'Speed = 2 on the card');
  let b = await s7call(s7, 'DBRead', 42, 0, 2);
  assert.equal(b.readInt16BE(0), 2);

  await card('Running').getByRole('button', { name: 'TRUE' }).click();
  await waitFor(async () => (await valueText('Running')) === 'TRUE', 3000, 'Running = TRUE');
  b = await s7call(s7, 'DBRead', 42, 2, 1);
  assert.equal(b[0] & 1, 1);

  const temp = card('Temperature').locator('input');
  await temp.fill('21.5');
  await card('Temperature').getByRole('button', { name: 'Set' }).click();
  await waitFor(async () => (await valueText('Temperature')) === '21.5', 3000, 'Temperature = 21.5');
  b = await s7call(s7, 'DBRead', 42, 4, 4);
  assert.equal(b.readFloatBE(0), 21.5);

  const label = card('Label').locator('input');
  await label.fill('Line 3');
  await label.press('Enter');
  await waitFor(async () => (await valueText('Label')) === 'Line 3', 3000, 'Label = Line 3');
  b = await s7call(s7, 'DBRead', 42, 8, 8);
  assert.deepEqual([...b], [16, 6, ...Buffer.from('Line 3')]);

  // Out of range in the page: refused with a message, nothing sent.
  const other = card('Speed').locator('input[aria-label="Speed value"]');
  await other.fill('40000');
  await card('Speed').getByRole('button', { name: 'Set' }).click();
  await card('Speed').getByText('INT takes a whole number -32768..32767').waitFor();
  b = await s7call(s7, 'DBRead', 42, 0, 2);
  assert.equal(b.readInt16BE(0), 2);
  await shot(page, 'set-from-page.png');
});

test('an S7 client write shows up in the page within a second', async () => {
  const t0 = Date.now();
  await s7call(s7, 'DBWrite', 42, 0, 2, Buffer.from([0x00, 0x01]));
  await waitFor(async () => /^1\s*Slow$/.test(await valueText('Speed')), 1000, 'Speed = 1 Slow within 1 s');
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 1000, `took ${elapsed} ms`);
  assert.equal(await card('Speed').getByRole('button', { name: 'Slow' }).getAttribute('aria-pressed'), 'true');

  const f = Buffer.alloc(4);
  f.writeFloatBE(-7.5);
  await s7call(s7, 'DBWrite', 42, 4, 4, f);
  await s7call(s7, 'WriteArea', s7.S7AreaDB, 42, 2 * 8, 1, s7.S7WLBit, Buffer.from([0]));
  await waitFor(async () => (await valueText('Temperature')) === '-7.5' && (await valueText('Running')) === 'FALSE',
    1000, 'Temperature and Running within 1 s');
  await shot(page, 'live-update.png');
});

test('STOP in the page: the S7 client reads STOP as the PLC status', async () => {
  assert.equal(await s7call(s7, 'PlcStatus'), s7.S7CpuStatusRun);
  await page.goto(`${srv.loginUrl}#/plc`);
  await page.getByTestId('plc-mode').waitFor();
  await waitFor(async () => (await page.getByTestId('plc-mode').innerText()) === 'RUN', 3000, 'RUN shown');
  await page.getByTestId('mode-stop').click();
  await waitFor(async () => (await page.getByTestId('plc-mode').innerText()) === 'STOP', 3000, 'STOP shown');
  assert.equal(await page.locator('#mode-badge').innerText(), 'STOP');
  assert.equal(await s7call(s7, 'PlcStatus'), s7.S7CpuStatusStop);

  // The page lists the connected S7 client with its TSAPs and counts, and its last requests.
  const clients = page.getByTestId('clients');
  await waitFor(async () => (await clients.innerText()).includes('01.00 → 01.02'), 3000, 'the client row');
  const requests = page.getByTestId('requests');
  await waitFor(async () => (await requests.innerText()).includes('Read SZL'), 3000, 'the PLC status request');
  const text = await requests.innerText();
  assert.match(text, /Write Var/);
  assert.match(text, /DB42\.DB/);
  await shot(page, 'plc-stop.png', { fullPage: true });

  await page.getByTestId('mode-run').click();
  await waitFor(async () => (await page.getByTestId('plc-mode').innerText()) === 'RUN', 3000, 'RUN shown again');
  assert.equal(await s7call(s7, 'PlcStatus'), s7.S7CpuStatusRun);
});

test('resize and delete a DB in the page; S7 clients see it at once', async () => {
  await page.goto(`${srv.loginUrl}#/dbs`);
  const row = page.locator('tr[data-db="42"]');
  await row.locator('input').fill('128');
  await row.getByRole('button', { name: 'Resize' }).click();
  await waitFor(async () => (await page.locator('tr[data-db="42"] td').nth(1).innerText()) === '128', 3000, 'size 128');
  const b = await s7call(s7, 'DBRead', 42, 120, 8);
  assert.equal(b.length, 8);
  await page.locator('tr[data-db="42"]').getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('confirm').click();
  await page.locator('tr[data-db="42"]').waitFor({ state: 'detached' });
  await assert.rejects(s7call(s7, 'DBRead', 42, 0, 2), /Item not available/);
  await shot(page, 'data-blocks.png');
});

test('dark theme on a phone', async () => {
  const phone = await launchBrowser({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  try {
    await phone.page.goto(`${srv.loginUrl}#/db/1`);
    await phone.page.locator('article.card[data-var="Recipe"]').waitFor();
    const bg = await phone.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(14, 18, 23)');
    // No horizontal scrolling on a phone.
    assert.ok(await phone.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
    await shot(phone.page, 'phone-dark.png');
    assert.deepEqual(phone.errors, []);
  } finally {
    await phone.close();
  }
});
