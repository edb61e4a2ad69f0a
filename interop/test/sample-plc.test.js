'use strict';
// protos7's bundled sample PLC looks like an S7-300 CPU with a small program (issue #13): every
// block type is listed, and what List blocks counts is what List blocks of type lists, what Get
// block info describes and what an upload delivers. Checked with snap7's client (node-snap7) and
// with @st-one-io/nodes7 1.1.2, the library node-red-contrib-s7 3.1.3 depends on (npm view
// node-red-contrib-s7 dependencies); node-red-contrib-s7 itself is not installed here.
//
// The sample program (server/profiles/s7-300.json, server/store/src/sample_plc.cpp): OB1, OB35,
// OB100; FB1 MOTOR with its instance DBs DB10 and DB11, FB2 TEMPCTRL with DB20; FC1-FC3; DB100
// (watch table variables); the captured CPU's SDBs, SFCs and SFBs. Skipped against snap7's own
// server (it has no program) and with S7_SAMPLE_PLC=0 (a real CPU with another program).

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const cfg = require('../lib/config');
const { snap7, call, connect, disconnect } = require('../lib/snap7util');
const { S7Endpoint } = require('@st-one-io/nodes7');

const K = new snap7.S7Client();
const skip = cfg.reference === 'snap7' ? 'snap7\'s server has no program blocks'
  : process.env.S7_SAMPLE_PLC === '0' ? 'S7_SAMPLE_PLC=0' : false;

// snap7's block type constants and List blocks field per type, in the CPU's List blocks order.
const TYPES = [
  ['OB', K.Block_OB, 'OBCount', 0x08], ['FB', K.Block_FB, 'FBCount', 0x0E],
  ['FC', K.Block_FC, 'FCCount', 0x0C], ['DB', K.Block_DB, 'DBCount', 0x0A],
  ['SDB', K.Block_SDB, 'SDBCount', 0x0B], ['SFC', K.Block_SFC, 'SFCCount', 0x0D],
  ['SFB', K.Block_SFB, 'SFBCount', 0x0F],
];

async function withClient(fn) {
  const c = await connect({ pduRequest: 240 });
  try { return await fn(c); } finally { disconnect(c); }
}

describe('the sample PLC\'s program blocks (node-snap7)', { skip }, () => {
  it('ListBlocks: every block type is there, FC and FB too', async () => {
    await withClient(async (c) => {
      const l = await call(c, 'ListBlocks');
      for (const [name, , field] of TYPES) assert.ok(l[field] > 0, `${name}: ${l[field]}`);
      assert.equal(l.OBCount, 3, 'OB1, OB35, OB100');
      assert.equal(l.FBCount, 2);
      assert.equal(l.FCCount, 3);
    });
  });

  it('ListBlocksOfType lists what ListBlocks counts; the instance DBs are there', async () => {
    await withClient(async (c) => {
      const l = await call(c, 'ListBlocks');
      for (const [name, type, field] of TYPES) {
        const list = await call(c, 'ListBlocksOfType', type);
        assert.equal(list.length, l[field], `${name}: ${list.length} listed, ${l[field]} counted`);
        assert.equal(new Set(list).size, list.length, `${name}: a number listed twice`);
      }
      assert.deepEqual(await call(c, 'ListBlocksOfType', K.Block_OB), [1, 35, 100]);
      assert.deepEqual(await call(c, 'ListBlocksOfType', K.Block_FB), [1, 2]);
      const dbs = await call(c, 'ListBlocksOfType', K.Block_DB);
      for (const n of [10, 11, 20, 100]) assert.ok(dbs.includes(n), `DB${n} in ${dbs}`);
    });
  });

  it('GetAgBlockInfo of every listed block; FullUpload of OBs, FBs, FCs, DBs', async () => {
    await withClient(async (c) => {
      let infos = 0;
      let uploads = 0;
      for (const [name, type, , sub] of TYPES) {
        for (const n of await call(c, 'ListBlocksOfType', type)) {
          const bi = await call(c, 'GetAgBlockInfo', type, n);
          assert.equal(bi.BlkType, sub, `${name}${n} BlkType`);
          assert.equal(bi.BlkNumber, n, `${name}${n} BlkNumber`);
          assert.ok(bi.LoadSize >= 72 + bi.MC7Size, `${name}${n} LoadSize ${bi.LoadSize}`);
          infos++;
          if (!['OB', 'FB', 'FC', 'DB'].includes(name)) continue;
          const full = await call(c, 'FullUpload', type, n, 65536);
          assert.equal(full.readUInt16BE(0), 0x7070, `${name}${n} "pp"`);
          assert.equal(full[5], sub, `${name}${n} block type`);
          assert.equal(full.readUInt16BE(6), n, `${name}${n} number`);
          assert.equal(full.readUInt32BE(8), full.length, `${name}${n} load memory length`);
          assert.equal(full.length, bi.LoadSize, `${name}${n}: upload as long as its info says`);
          assert.equal(full.readUInt16BE(34), bi.MC7Size, `${name}${n} MC7 length`);
          uploads++;
        }
      }
      assert.ok(infos >= 3 + 2 + 3 + 12 + 71 + 14, `${infos} infos`);
      assert.ok(uploads >= 3 + 2 + 3 + 4, `${uploads} uploads`);
    });
  });

  it('GetAgBlockInfo of FB1: the sample program\'s MOTOR', async () => {
    await withClient(async (c) => {
      const bi = await call(c, 'GetAgBlockInfo', K.Block_FB, 1);
      assert.equal(bi.Header.replace(/\0/g, '').trim(), 'MOTOR');
      assert.equal(bi.Family.replace(/\0/g, '').trim(), 'SAMPLE');
      assert.equal(bi.BlkLang, K.BlockLangAWL);
    });
  });
});

describe('the sample PLC\'s program blocks (@st-one-io/nodes7, node-red-contrib-s7\'s library)', {
  skip,
}, () => {
  it('blockCount = listBlocks of every type; getBlockInfo, uploadBlock of FC2', async () => {
    const ep = new S7Endpoint({
      host: cfg.host, port: cfg.port, rack: cfg.rack, slot: cfg.slot, autoReconnect: 0,
    });
    ep.on('error', () => {});
    await ep.connect();
    try {
      const n = await ep.blockCount();
      for (const t of ['OB', 'FB', 'FC', 'DB', 'SDB', 'SFC', 'SFB']) {
        assert.ok(n[t] > 0, `${t}: ${n[t]}`);
        assert.equal((await ep.listBlocks(t)).length, n[t], t);
      }
      const fcs = await ep.listBlocks('FC');
      assert.deepEqual(fcs.map((b) => b.number), [1, 2, 3]);
      const info = await ep.getBlockInfo('FC', 2);
      assert.equal(info.length, 78);
      const blk = await ep.uploadBlock('FC', 2);
      assert.equal(blk.readUInt16BE(0), 0x7070);
      assert.equal(blk.readUInt32BE(8), blk.length);
      assert.equal(blk.readUInt32BE(8), info.readUInt32BE(14), 'load memory length as in the info');
    } finally { await ep.disconnect().catch(() => {}); }
  });
});
