'use strict';
// Browser test of a plant's web admin (`protos7 serve --plant`, docs/PLANT.md): the plant page
// lists every PLC with its mode and connections; a PLC's page (/plcs/NAME/) is the page of
// `serve` for that PLC alone; STOP there stops that PLC only, as an S7 client and the plant page
// see. Saves plant.png.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, launchBrowser, shot, s7call, waitFor, snap7 } = require('./lib/harness');

let srv;
let browser;
let page;
let plcs;  // name -> {port, ...} from GET /api/plcs

const NAMES = ['press', 'oven', 'robot'];

before(async () => {
  srv = await startServer(['--threads', '2'], {
    plant: (dir) => {
      const file = path.join(dir, 'line3.json');
      fs.writeFileSync(file, JSON.stringify({
        format: 'protos7-plant', version: 1, name: 'line 3',
        plcs: NAMES.map((n, i) => ({ name: n, listen: '127.0.0.1:0', identity: { serial_number: `S LINE3-${i + 1}` } })),
      }));
      return file;
    },
  });
  const r = await fetch(`${srv.url}api/plcs`, { headers: srv.auth });
  assert.equal(r.status, 200);
  plcs = Object.fromEntries((await r.json()).plcs.map((p) => [p.name, { ...p, port: Number(p.listen.split(':')[1]) }]));
  browser = await launchBrowser();
  page = browser.page;
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

async function connect(name) {
  const c = new snap7.S7Client();
  c.SetParam(c.RemotePort, plcs[name].port);
  await s7call(c, 'ConnectTo', '127.0.0.1', 0, 2);
  return c;
}

const row = (name) => page.locator('[data-testid="plant"] tbody tr', { has: page.locator(`a:text-is("${name}")`) });

test('the plant page lists every PLC with its address, loop, mode and connections', async () => {
  const oven = await connect('oven');
  try {
    await page.goto(srv.loginUrl);
    await page.locator('[data-testid="plant"]').waitFor();
    // The table is drawn first and filled when GET /api/plcs answers.
    await row(NAMES[0]).waitFor();
    assert.match(await page.locator('h1').innerText(), /Plant line 3/);
    assert.equal(await page.locator('[data-testid="plant"] tbody tr').count(), 3);
    for (const n of NAMES) {
      assert.match(await row(n).innerText(), new RegExp(`127\\.0\\.0\\.1:${plcs[n].port}`));
      assert.match(await row(n).innerText(), /RUN/);
    }
    // The page refreshes every 2 s: the snap7 connection shows up on oven only.
    await waitFor(async () => (await row('oven').locator('td').nth(4).innerText()) === '1', 6000, 'oven: 1 connection');
    assert.equal(await row('press').locator('td').nth(4).innerText(), '0');
    assert.match(await page.locator('[data-testid="plant-summary"]').innerText(), /3 PLCs on 2 event loop/);
  } finally {
    oven.Disconnect();
  }
});

test("STOP on a PLC's page stops that PLC only", async () => {
  await row('oven').locator('a').click();
  await page.waitForURL(/\/plcs\/oven\/#\/plc$/);
  // The top bar names the PLC once GET /api/session has answered.
  await waitFor(async () => /plant line 3 › oven/.test(await page.locator('.brand-sub').innerText()), 5000,
    'the top bar names the plant and the PLC');
  await page.locator('[data-testid="mode-stop"]').click();
  await waitFor(async () => (await page.locator('[data-testid="plc-mode"]').innerText()) === 'STOP', 5000, 'STOP');
  const oven = await connect('oven');
  const press = await connect('press');
  try {
    assert.equal(await s7call(oven, 'PlcStatus'), oven.S7CpuStatusStop);
    assert.equal(await s7call(press, 'PlcStatus'), press.S7CpuStatusRun);
  } finally {
    oven.Disconnect();
    press.Disconnect();
  }
  await page.locator('.brand').click();
  await page.locator('[data-testid="plant"]').waitFor();
  await row('oven').waitFor();
  await waitFor(async () => /STOP/.test(await row('oven').innerText()), 5000, 'oven STOP on the plant page');
  assert.match(await row('press').innerText(), /RUN/);
  assert.match(await row('robot').innerText(), /RUN/);
  await shot(page, 'plant.png');
  assert.deepEqual(browser.errors, []);
});
