'use strict';
// The soak test's third-party good clients (server/test/soak.py starts this script):
// one node-snap7 and one nodes7 connection, each writing an increasing DWORD to its own slots of
// a DB and reading it back, for SOAK_SECONDS. On the end it prints one JSON line on stdout:
//   { "latencies_ms": [...], "errors": [...], "slots": { "<slot>": { "acked": n, "sent": n } } }
// Environment: S7_PORT (and the rest of lib/config.js), SOAK_SECONDS, SOAK_DB (7),
// SOAK_FIRST_SLOT (the first DWORD slot of the DB that belongs to these clients), SOAK_SLOTS (16
// per client).

const s7 = require('./lib/snap7util');
const n7 = require('./lib/nodes7util');

const seconds = Number(process.env.SOAK_SECONDS || 60);
const db = Number(process.env.SOAK_DB || 7);
const firstSlot = Number(process.env.SOAK_FIRST_SLOT || 64);
const slotsEach = Number(process.env.SOAK_SLOTS || 16);
const deadline = Date.now() + seconds * 1000;

const latencies = [];
const errors = [];
const slots = {};

function track(slot) {
  if (!slots[slot]) slots[slot] = { acked: 0, sent: 0 };
  return slots[slot];
}

// One write-then-read round trip; the latency recorded is the write's and the read's.
async function snap7Round(c, slot, value) {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(value);
  const t = track(slot);
  t.sent = value;
  const t0 = process.hrtime.bigint();
  await s7.call(c, 'DBWrite', db, slot * 4, 4, buf);
  const t1 = process.hrtime.bigint();
  t.acked = value;
  const back = await s7.call(c, 'DBRead', db, slot * 4, 4);
  const t2 = process.hrtime.bigint();
  latencies.push(Number(t1 - t0) / 1e6, Number(t2 - t1) / 1e6);
  if (back.readUInt32BE(0) !== value) throw new Error(`slot ${slot}: read ${back.readUInt32BE(0)} after writing ${value}`);
}

async function nodes7Round(conn, slot, value) {
  const item = `DB${db},DWORD${slot * 4}`;
  const t = track(slot);
  t.sent = value;
  const t0 = process.hrtime.bigint();
  const bad = await n7.write(conn, item, value);
  const t1 = process.hrtime.bigint();
  if (bad) throw new Error(`nodes7 write ${item} not acknowledged`);
  t.acked = value;
  const r = await n7.read(conn, item);
  const t2 = process.hrtime.bigint();
  latencies.push(Number(t1 - t0) / 1e6, Number(t2 - t1) / 1e6);
  if (r.bad || r.values[item] !== value) throw new Error(`${item}: read ${r.values[item]} after writing ${value}`);
}

// Runs rounds until the deadline; a failed round is an error, and the client reconnects.
async function loop(name, connect, round, drop, base) {
  let value = 0;
  while (Date.now() < deadline) {
    let c;
    try {
      c = await connect();
      while (Date.now() < deadline) {
        value += 1;
        await round(c, base + (value % slotsEach), value);
      }
    } catch (e) {
      errors.push(`${name}: ${e.message}`);
    } finally {
      await drop(c);
    }
  }
}

async function main() {
  await Promise.all([
    loop('node-snap7', () => s7.connect(), snap7Round, async (c) => s7.disconnect(c), firstSlot),
    loop('nodes7', () => n7.connect(), nodes7Round, (c) => n7.drop(c), firstSlot + slotsEach),
  ]);
  process.stdout.write(`${JSON.stringify({ latencies_ms: latencies, errors, slots })}\n`);
}

main().catch((e) => {
  process.stdout.write(`${JSON.stringify({ latencies_ms: latencies, errors: [...errors, `fatal: ${e.message}`], slots })}\n`);
  process.exitCode = 1;
});
