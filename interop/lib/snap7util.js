'use strict';
// Promise wrappers around node-snap7's callback API, plus the error codes
// snap7's client reports when the CPU rejects an item.

const snap7 = require('node-snap7');
const cfg = require('./config');

// snap7 client error codes (deps/snap7/src/core/s7_micro_client.h) that
// TSnap7MicroClient::CpuError() maps the S7 item return codes to.
const ERR = {
  // item return code 0x05 "address out of range"
  AddressOutOfRange: 0x00900000, // text "CPU : Address out of range"
  // item return code 0x06 "data type not supported"
  InvalidTransportSize: 0x00A00000,
  // item return code 0x07 "data type inconsistent"
  WriteDataSizeMismatch: 0x00B00000,
  // item return code 0x0A "object does not exist" (or 0xD209)
  ItemNotAvailable: 0x00C00000, // text "CPU : Item not available"
  // any other item return code
  FunctionRefused: 0x02300000,
};
const ERR_TEXT = {
  [ERR.AddressOutOfRange]: 'CPU : Address out of range',
  [ERR.ItemNotAvailable]: 'CPU : Item not available',
};

class Snap7Error extends Error {
  constructor(client, op, code) {
    const text = client.ErrorText(code);
    super(`${op} failed: 0x${code.toString(16).padStart(8, '0')} ${text}`);
    this.code = code;
    this.text = text;
  }
}

function call(client, op, ...args) {
  return new Promise((resolve, reject) => {
    try {
      client[op](...args, (err, result) => {
        if (err) reject(new Snap7Error(client, op, err));
        else resolve(result);
      });
    } catch (e) {
      reject(e);
    }
  });
}

// A connected client (ConnectTo with rack/slot). opts.pduRequest changes the
// PDU size the client asks for before connecting.
async function connect(opts = {}) {
  const c = new snap7.S7Client();
  c.SetParam(c.RemotePort, cfg.port);
  if (opts.pduRequest) c.SetParam(c.PDURequest, opts.pduRequest);
  await call(c, 'ConnectTo', cfg.host, cfg.rack, cfg.slot);
  return c;
}

function disconnect(c) {
  if (c && c.Connected()) c.Disconnect();
}

// Element size in bytes for a snap7 word length.
function wlSize(c, wl) {
  switch (wl) {
    case c.S7WLBit: case c.S7WLByte: return 1;
    case c.S7WLWord: case c.S7WLCounter: case c.S7WLTimer: return 2;
    case c.S7WLDWord: case c.S7WLReal: return 4;
    default: throw new Error(`unknown word length ${wl}`);
  }
}

// Deterministic, non-repeating test pattern (xorshift), different per seed,
// so stale data from an earlier test never looks like a successful write.
let seedCounter = 1;
function pattern(len, seed) {
  let x = (seed === undefined ? seedCounter++ * 2654435761 : seed * 2654435761 + 1) >>> 0 || 1;
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

module.exports = { snap7, ERR, ERR_TEXT, Snap7Error, call, connect, disconnect, wlSize, pattern };
