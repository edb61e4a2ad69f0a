'use strict';
// Shared configuration for the interop suite and for snap7_server.js.
// Everything is taken from the environment so that the same suite can be
// pointed at protos7, at snap7's own server, or at a real CPU.

function int(name, def) {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`env ${name}=${v} is not an integer`);
  return n;
}

const cfg = {
  host: process.env.S7_HOST || '127.0.0.1',
  port: int('S7_PORT', 102),
  rack: int('S7_RACK', 0),
  slot: int('S7_SLOT', 2),

  // The DB the suite reads and writes. Must exist on the server, with exactly
  // this many bytes (the past-the-end tests rely on the exact size).
  db: int('S7_TEST_DB', 1),
  dbSize: int('S7_TEST_DB_SIZE', 256),
  // A DB number that must NOT exist on the server.
  missingDb: int('S7_MISSING_DB', 999),
  // A larger DB used to force snap7 to split one DBRead/DBWrite over several
  // PDUs. Set S7_BIG_DB=0 to skip those tests if the server has no such DB.
  bigDb: int('S7_BIG_DB', 2),
  bigDbSize: int('S7_BIG_DB_SIZE', 1024),

  // Sizes (bytes) of I/Q/M and number of counters/timers the suite may touch;
  // the suite only uses offsets well below these (first 64 bytes, first 16
  // counters/timers), they are only needed by snap7_server.js.
  ioSize: int('S7_IO_SIZE', 256),
  mkSize: int('S7_MK_SIZE', 256),
  ctCount: int('S7_CT_COUNT', 256),
  tmCount: int('S7_TM_COUNT', 256),

  // Optional exact PDU size the server must negotiate (0 = only sanity checks).
  expectPdu: int('S7_EXPECT_PDU', 0),
  // Per-operation timeout for nodes7 (ms).
  timeoutMs: int('S7_TIMEOUT_MS', 5000),

  // S7_REFERENCE=snap7 (set by run_vs_snap7.sh): the server is snap7's own
  // S7Server, used to validate this suite. Tests of behaviour where snap7's
  // server is known to differ from a real S7-300 are then marked TODO: they
  // still run and are reported, but do not fail the run.
  reference: process.env.S7_REFERENCE || '',
};

// Test options for a test that snap7's server is known to fail.
cfg.snap7Deviation = (why) => (cfg.reference === 'snap7' ? { todo: `known snap7 server deviation: ${why}` } : {});

module.exports = cfg;
