#!/usr/bin/env node
'use strict';
// Reference S7 server: snap7's own S7Server (via node-snap7), serving the same
// layout the interop suite expects from protos7. Used to validate the suite.
//
//   PORT=1102 node snap7_server.js        # prints "listening" when ready
//
// Env: PORT (default 1102), BIND (default 127.0.0.1), SNAP7_PDU (default 0 =
// accept the client's PDU proposal; 240 = behave like an S7-31x), plus the layout
// variables of lib/config.js (S7_TEST_DB, S7_TEST_DB_SIZE, S7_BIG_DB,
// S7_BIG_DB_SIZE, S7_IO_SIZE, S7_MK_SIZE, S7_CT_COUNT, S7_TM_COUNT).
// Runs until SIGINT/SIGTERM.

const snap7 = require('node-snap7');
const cfg = require('./lib/config');

const port = Number(process.env.PORT || 1102);
const bind = process.env.BIND || '127.0.0.1';

const server = new snap7.S7Server();

// IMPORTANT: with the default mask (evcAll) snap7 queues an event for every
// PDU; nothing here drains that queue, and once it is full the server stops
// serving. Mask every event off.
server.SetEventMask(0);

// node-snap7 copies these buffers into its own memory at RegisterArea(); a
// single area may be at most 65535 bytes (node-snap7 limit).
const areas = {
  PE: Buffer.alloc(cfg.ioSize),
  PA: Buffer.alloc(cfg.ioSize),
  MK: Buffer.alloc(cfg.mkSize),
  CT: Buffer.alloc(cfg.ctCount * 2),
  TM: Buffer.alloc(cfg.tmCount * 2),
};
const dbs = new Map();
dbs.set(cfg.db, Buffer.alloc(cfg.dbSize));
if (cfg.bigDb > 0 && cfg.bigDb !== cfg.db) dbs.set(cfg.bigDb, Buffer.alloc(cfg.bigDbSize));

function must(ok, what) {
  if (!ok) {
    console.error(`snap7_server: ${what} failed: ${server.ErrorText(server.LastError())}`);
    process.exit(1);
  }
}

must(server.RegisterArea(server.srvAreaPE, areas.PE), 'RegisterArea(PE)');
must(server.RegisterArea(server.srvAreaPA, areas.PA), 'RegisterArea(PA)');
must(server.RegisterArea(server.srvAreaMK, areas.MK), 'RegisterArea(MK)');
must(server.RegisterArea(server.srvAreaCT, areas.CT), 'RegisterArea(CT)');
must(server.RegisterArea(server.srvAreaTM, areas.TM), 'RegisterArea(TM)');
for (const [num, buf] of dbs) must(server.RegisterArea(server.srvAreaDB, num, buf), `RegisterArea(DB${num})`);

must(server.SetParam(server.LocalPort, port), `SetParam(LocalPort=${port})`);
// SNAP7_PDU=240 makes the server impose a PDU of 240 like an S7-31x CPU; the
// default (0) accepts whatever the client proposes (snap7: up to 4096 bytes;
// nodes7 asks 960, snap7's client 480).
const forcePdu = Number(process.env.SNAP7_PDU || 0);
must(server.SetParam(server.PDURequest, forcePdu), `SetParam(PDURequest=${forcePdu})`);

server.StartTo(bind, (err) => {
  if (err) {
    console.error(`snap7_server: StartTo(${bind}:${port}) failed: ${server.ErrorText(err)}`);
    process.exit(1);
  }
  const layout = [...dbs].map(([n, b]) => `DB${n}=${b.length}B`).join(' ');
  console.log(`listening ${bind}:${port} ${layout} PE/PA=${cfg.ioSize}B MK=${cfg.mkSize}B ` +
              `CT=${cfg.ctCount} TM=${cfg.tmCount} PDU=${forcePdu || 'client'}`);
});

function stop() {
  server.Stop(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
