'use strict';
// Interop tests of the programmer commands (Userdata group 1; docs/PROGRAMMER.md) with
// @st-one-io/nodes7, the one npm client here that can send them: its S7Connection.sendUserData
// (function, subfunction, payload) sends any Userdata request and resolves with the answer's
// payload, or rejects with the answer's error code. The endpoint keeps its S7Connection in
// `_connection` (nodes7 1.1.2 has no accessor). node-snap7 and nodes7 0.3 have no Userdata call
// beyond SZL, clock, blocks and password. Expectations follow the captured S7-300
// (step7_s300_readVarTab, step7_s300_readDiagData, tia_s300_flashLed).

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const cfg = require('../lib/config');
const { S7Endpoint } = require('@st-one-io/nodes7');

const skip = cfg.reference === 'snap7' ? 'snap7\'s server has no programmer commands' : false;
const PROGRAMMER = 0x1;
const SUB = { VAR_STATUS: 0x02, ENABLE: 0x0E, DELETE: 0x0F, JOB_LIST: 0x10, FLASH_LED: 0x16 };
// The job parameter STEP 7 sends with every job request (readVarTab frame 4).
const JOB_PRM = '0000000000010000000000010001000100010000';

// A programmer command's frame: | parameter size | data size | parameter | data |.
function frame(paramHex, dataHex) {
  const p = Buffer.from(paramHex, 'hex');
  const d = Buffer.from(dataHex, 'hex');
  const head = Buffer.alloc(4);
  head.writeUInt16BE(p.length, 0);
  head.writeUInt16BE(d.length, 2);
  return Buffer.concat([head, p, d]);
}

// The jobs of a Read job list answer: [function, number] pairs.
function jobs(answer) {
  const psize = answer.readUInt16BE(0);
  const data = answer.subarray(4 + psize);
  const out = [];
  for (let i = 0; i + 4 <= data.length; i += 4) out.push([data[i], data[i + 1]]);
  return out;
}

async function withConnection(fn) {
  const ep = new S7Endpoint({ host: cfg.host, port: cfg.port, rack: cfg.rack, slot: cfg.slot, autoReconnect: 0 });
  ep.on('error', () => {});
  await ep.connect();
  try { return await fn(ep._connection); } finally { await ep.disconnect().catch(() => {}); }
}

describe('programmer commands (@st-one-io/nodes7 sendUserData)', { skip }, () => {
  it('Flash LED is answered without error and without data', async () => {
    await withConnection(async (c) => {
      const r = await c.sendUserData(PROGRAMMER, SUB.FLASH_LED, frame(JOB_PRM, ''));
      assert.equal(r.length, 0);
    });
  });

  it('a variable status job is in the job list until it is deleted; deleting it again fails with 0xD0A5', async () => {
    await withConnection(async (c) => {
      // MB0..5 and IB8, as STEP 7's watch table of readVarTab frame 1.
      const setup = frame('000000010000001200010001000100010001' + '0200', '0002010600000000110100000008');
      const before = jobs(await c.sendUserData(PROGRAMMER, SUB.JOB_LIST, frame(JOB_PRM, '00000000')));
      await c.sendUserData(PROGRAMMER, SUB.VAR_STATUS, setup);
      const after = jobs(await c.sendUserData(PROGRAMMER, SUB.JOB_LIST, frame(JOB_PRM, '00000000')));
      const added = after.filter(([f, n]) => f === SUB.VAR_STATUS && !before.some(([g, m]) => g === f && m === n));
      assert.equal(added.length, 1, `job list before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
      // The read job list request lists itself (function 0x10).
      assert.ok(after.some(([f]) => f === SUB.JOB_LIST));
      const ref = Buffer.from([0x00, 0x01, SUB.VAR_STATUS, added[0][1]]).toString('hex');
      await c.sendUserData(PROGRAMMER, SUB.DELETE, frame(JOB_PRM, ref));
      await assert.rejects(c.sendUserData(PROGRAMMER, SUB.DELETE, frame(JOB_PRM, ref)),
        (e) => { assert.equal(e.code, 0xD0A5); return true; });
    });
  });

  it('enabling a job that does not exist fails with 0xD0A5', async () => {
    await withConnection(async (c) => {
      await assert.rejects(c.sendUserData(PROGRAMMER, SUB.ENABLE, frame(JOB_PRM, '02fe')),
        (e) => { assert.equal(e.code, 0xD0A5); return true; });
    });
  });
});
