'use strict';
// One client library under a fault (run.sh): what an HMI does - connect, then read DB1.DBB0..15
// every 300 ms, eight times - and what the library reports. No retry or reconnect of our own: what
// the validate report records afterwards is the library's behaviour.
//
//   S7_PORT=N S7_TIMEOUT_MS=1000 node drive.js node-snap7|nodes7   (prints one JSON object)

const path = require('path');
const cfg = require(path.join(__dirname, '..', 'lib', 'config'));

const READS = 8;
const EVERY_MS = 300;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const out = { library: process.argv[2], connect: null, reads: [] };

async function timed(f) {
  const start = Date.now();
  try {
    const v = await f();
    return { ok: true, at_ms: start - t0, ms: Date.now() - start, value: v };
  } catch (e) {
    return { ok: false, at_ms: start - t0, ms: Date.now() - start, error: String(e.message || e) };
  }
}

async function snap7() {
  const { snap7: lib } = require(path.join(__dirname, '..', 'lib', 'snap7util'));
  const c = new lib.S7Client();
  c.SetParam(c.RemotePort, cfg.port);
  c.SetParam(c.RecvTimeout, cfg.timeoutMs);
  c.SetParam(c.PingTimeout, cfg.timeoutMs);
  const call = (op, ...args) => new Promise((resolve, reject) => c[op](...args, (err, r) => (err ? reject(new Error(`${op}: ${c.ErrorText(err)}`)) : resolve(r))));
  out.connect = await timed(() => call('ConnectTo', cfg.host, cfg.rack, cfg.slot).then(() => `PDU ${c.PDULength()}`));
  for (let i = 0; i < READS; i++) {
    out.reads.push(await timed(() => call('DBRead', 1, 0, 16).then((b) => b.toString('hex').slice(0, 8))));
    await sleep(EVERY_MS);
  }
  if (c.Connected()) c.Disconnect();
}

async function nodes7() {
  const n7 = require(path.join(__dirname, '..', 'lib', 'nodes7util'));
  let conn = null;
  out.connect = await timed(async () => { conn = await n7.connect(); return 'connected'; });
  for (let i = 0; i < READS && conn; i++) {
    out.reads.push(await timed(async () => {
      const r = await n7.read(conn, 'DB1,B0.16');
      if (r.bad) throw new Error(`bad quality (${[].concat(r.values['DB1,B0.16'])[0]})`);
      return Buffer.from(r.values['DB1,B0.16']).toString('hex').slice(0, 8);
    }));
    await sleep(EVERY_MS);
  }
  await n7.drop(conn);
}

(out.library === 'nodes7' ? nodes7() : snap7())
  .catch((e) => { out.fatal = String(e.message || e); })
  .finally(() => { process.stdout.write(`${JSON.stringify(out)}\n`); process.exit(0); });
