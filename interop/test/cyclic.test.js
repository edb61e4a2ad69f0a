'use strict';
// Interop tests of the cyclic services (Userdata group 2; docs/PROFILE.md, limits
// max_cyclic_jobs_per_connection) with @st-one-io/nodes7's S7Connection.sendUserData, as in
// programmer.test.js. The request layout is the captured S7-400's (wincc_s400_production frame
// 28: | item count (2) | time base | interval | items |), with an S7ANY item of the sample
// PLC's DB100 instead of the capture's DBREAD item.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const cfg = require('../lib/config');
const { S7Endpoint } = require('@st-one-io/nodes7');

const skip = cfg.reference === 'snap7' ? 'snap7\'s server has no cyclic services' : false;
const CYCLIC = 0x2;
const SUB = { CHANGE_DRIVEN: 0x05 };
// One item, time base 1, interval 1: DB100.DBB0, 2 bytes.
const REQUEST = Buffer.from('0001' + '01' + '01' + '120a10020002006484000000', 'hex');

async function withConnection(fn) {
  const ep = new S7Endpoint({ host: cfg.host, port: cfg.port, rack: cfg.rack, slot: cfg.slot, autoReconnect: 0 });
  ep.on('error', () => {});
  await ep.connect();
  try { return await fn(ep._connection); } finally { await ep.disconnect().catch(() => {}); }
}

describe('cyclic services (@st-one-io/nodes7 sendUserData)', { skip }, () => {
  it('a change-driven transfer is answered with the item\'s current value', async () => {
    await withConnection(async (c) => {
      const r = await c.sendUserData(CYCLIC, SUB.CHANGE_DRIVEN, REQUEST);
      // | item count (2) | item: return code 0xFF, transport size 0x04, length in bits, data |
      assert.equal(r.readUInt16BE(0), 1);
      assert.equal(r[2], 0xff, `item return code 0x${r[2].toString(16)}`);
      assert.equal(r.readUInt16BE(4), 16);
    });
  });

  it('beyond the jobs a connection may hold the CPU answers 0xD805', async () => {
    await withConnection(async (c) => {
      let refused = null;
      for (let i = 0; i < 64 && refused === null; ++i) {
        await c.sendUserData(CYCLIC, SUB.CHANGE_DRIVEN, REQUEST).catch((e) => { refused = { i, e }; });
      }
      assert.ok(refused, 'no refusal after 64 jobs');
      assert.equal(refused.e.code, 0xD805, `refused with 0x${refused.e.code?.toString(16)}`);
      assert.equal(refused.i, 32, 'the 33rd job is the first refused (default limit 32)');
    });
  });
});
