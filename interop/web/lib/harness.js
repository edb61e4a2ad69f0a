'use strict';
// Test harness of the browser tests: a `protos7 serve` process on free ports with its own data
// directory, a headless Chromium with a fresh profile, an S7 client, and small wait helpers.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const snap7 = require('node-snap7');

const BIN = process.env.PROTOS7_BIN || path.resolve(__dirname, '../../../build/dev/tools/protos7');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.PROTOS7_SCREENSHOTS || path.resolve(__dirname, '../screenshots');

// Flags that work in this environment (no GPU, no network, no first-run UI).
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Starts `protos7 serve` (sample PLC in a fresh directory; S7 and web admin on free ports).
// The web admin requires a token on loopback too (issue #16): the harness gives its own through
// the environment (never on the command line) and opens the page with ?token= like a user
// clicking the address protos7 prints; `loginUrl` is that address, `token` the token for API calls.
// opts.plant(dir): writes a plant file into the fresh directory and returns its path; the server
// is then `protos7 serve --plant` (docs/PLANT.md) and s7Port the port of its first PLC.
async function startServer(extraArgs = [], opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'protos7-web-'));
  const token = require('node:crypto').randomBytes(16).toString('hex');
  const base = opts.plant ? ['serve', '--plant', opts.plant(dir)] : ['serve', '--data-dir', dir, '--port', '0'];
  const child = spawn(BIN, [...base, '--webadmin-listen', '127.0.0.1:0', ...extraArgs],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PROTOS7_WEBADMIN_TOKEN: token } });
  let log = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal || code)));
  const ports = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`protos7 did not start within 15 s:\n${log}`)), 15000);
    child.stderr.on('data', (d) => {
      log += d;
      const s7 = /listening on [\d.]+:(\d+)/.exec(log);
      const web = /web admin on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(log);
      if (s7 && web) {
        clearTimeout(timer);
        resolve({ s7Port: Number(s7[1]), url: web[1] });
      }
    });
    exited.then((code) => { clearTimeout(timer); reject(new Error(`protos7 exited (${code}):\n${log}`)); });
  });
  return {
    ...ports,
    token,
    loginUrl: `${ports.url}?token=${token}`,
    // fetch() headers that authenticate an API call.
    auth: { Authorization: `Bearer ${token}` },
    dir,
    log: () => log,
    // SIGTERM, then the exit status: 0, and no sanitizer report in the log (ASan builds).
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      const status = await exited;
      clearTimeout(t);
      fs.rmSync(dir, { recursive: true, force: true });
      if (status !== 0 || /AddressSanitizer|LeakSanitizer|runtime error:/.test(log))
        throw new Error(`protos7 ended with ${status}:\n${log.slice(-4000)}`);
    },
  };
}

// Headless Chromium with a fresh profile directory.
async function launchBrowser(options = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'protos7-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: options.viewport || { width: 1280, height: 800 },
    colorScheme: options.colorScheme || 'light',
    acceptDownloads: true,
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

function shot(page, name, options = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  return page.screenshot({ path: path.join(SHOTS, name), ...options });
}

// node-snap7 with promises.
function s7call(client, op, ...args) {
  return new Promise((resolve, reject) => {
    client[op](...args, (err, result) => (err ? reject(new Error(`${op}: ${client.ErrorText(err)}`)) : resolve(result)));
  });
}
async function s7connect(port) {
  const c = new snap7.S7Client();
  c.SetParam(c.RemotePort, port);
  await s7call(c, 'ConnectTo', '127.0.0.1', 0, 2);
  return c;
}

// Polls fn() until it returns a truthy value or the time is up; returns that value.
async function waitFor(fn, timeoutMs = 5000, what = 'condition') {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

module.exports = { startServer, launchBrowser, shot, s7call, s7connect, waitFor, snap7, SHOTS };
