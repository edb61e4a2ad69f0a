'use strict';
// Promise wrappers around nodes7's callback API.

const NodeS7 = require('nodes7');
const cfg = require('./config');

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

// extra: more initiateConnection options (localTSAP, doNotOptimize, ...);
// extra.requestMaxPDU overrides the PDU size nodes7 asks for (default 960).
async function connect(extra = {}) {
  const conn = new NodeS7({ silent: !process.env.NODES7_DEBUG, debug: !!process.env.NODES7_DEBUG });
  if (extra.requestMaxPDU) conn.requestMaxPDU = extra.requestMaxPDU;
  await withTimeout(new Promise((resolve, reject) => {
    conn.initiateConnection({
      host: cfg.host, port: cfg.port, rack: cfg.rack, slot: cfg.slot, timeout: cfg.timeoutMs, ...extra,
    }, (err) => (err === undefined ? resolve() : reject(new Error(`initiateConnection: ${err.code || err}`))));
  }), cfg.timeoutMs + 1000, 'initiateConnection');
  return conn;
}

async function drop(conn) {
  if (!conn) return;
  await withTimeout(new Promise((resolve) => conn.dropConnection(resolve)), 4000, 'dropConnection').catch(() => {});
  // Don't let timers of a connection left in a bad state keep the process alive.
  conn.clearReadPacketTimeouts();
  conn.clearWritePacketTimeouts();
  for (const t of ['reconnectTimer', 'rereadTimer', 'connectTimeout', 'PDUTimeout', 'dropConnectionTimer', 'resetTimeout']) clearTimeout(conn[t]);
  if (conn.isoclient) conn.isoclient.destroy();
}

// Replaces the polling list with `items` and reads them once.
// Resolves { bad, values } (bad: true if any item has bad quality).
function read(conn, items) {
  conn.removeItems();
  conn.addItems(items);
  return withTimeout(new Promise((resolve) => {
    conn.readAllItems((bad, values) => resolve({ bad, values }));
  }), cfg.timeoutMs + 1000, `readAllItems(${[].concat(items).join(' ')})`);
}

// Resolves `bad` (true if any item's write was not acknowledged as OK).
function write(conn, items, values) {
  return withTimeout(new Promise((resolve, reject) => {
    const r = conn.writeItems(items, values, (bad) => resolve(bad));
    if (r !== 0) reject(new Error('nodes7 writeItems refused: a write is already in progress'));
  }), cfg.timeoutMs + 1000, `writeItems(${[].concat(items).join(' ')})`);
}

module.exports = { NodeS7, connect, drop, read, write };
