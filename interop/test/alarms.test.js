'use strict';
// Interop tests of the message service and the ALARM query (Userdata group 4; the profile's
// `alarms`, docs/PROFILE.md) with @st-one-io/nodes7's S7Connection.sendUserData, as in
// programmer.test.js. The requests are those WinCC sent to the captured CPUs
// (wincc_s400_production frame 15: subscribe; wincc_s300_setup-alarm-read frame 12: ALARM query
// by alarm type ALARM_S). The sample PLC's profile has two alarms of the ALARM_S family:
// ALARM_SQ 1 (DB100 Horn) and ALARM_S 2 (DB100 Lamp).

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const cfg = require('../lib/config');
const { S7Endpoint } = require('@st-one-io/nodes7');

const skip = cfg.reference === 'snap7' ? 'snap7\'s server has no alarm services' : false;
const CPU = 0x4;
const SUB = { MESSAGE_SERVICE: 0x02, ALARM_QUERY: 0x13 };

async function withConnection(fn) {
  const ep = new S7Endpoint({ host: cfg.host, port: cfg.port, rack: cfg.rack, slot: cfg.slot, autoReconnect: 0 });
  ep.on('error', () => {});
  await ep.connect();
  try { return await fn(ep._connection); } finally { await ep.disconnect().catch(() => {}); }
}

// The event ids of an ALARM query answer: | function | object count | return code | transport
// size | complete length (2) | datasets |, each dataset | length | 2 | alarm type | event id (4) |
// ... | of length + 2 bytes, filling the complete length (the object count is 1 for any number
// of datasets, as the captured S7-400 answered: wincc_s400_production frame 18).
function eventIds(answer) {
  assert.equal(answer[2], 0xff, `return code 0x${answer[2].toString(16)}`);
  const end = 6 + answer.readUInt16BE(4);
  assert.equal(end, answer.length, 'the complete length covers the datasets');
  const ids = [];
  for (let at = 6; at + 8 <= end; at += answer[at] + 2) ids.push(answer.readUInt32BE(at + 4));
  return ids;
}

describe('message service and ALARM query (@st-one-io/nodes7 sendUserData)', { skip }, () => {
  it('a subscription to alarms is confirmed with its alarm type', async () => {
    await withConnection(async (c) => {
      // events 0x81 (alarms, mode transitions), user "S7CHN_02", alarm type 5, reserved 0
      const r = await c.sendUserData(CPU, SUB.MESSAGE_SERVICE, Buffer.from('8100533743484e5f30320500', 'hex'));
      assert.equal(r[0], 0x02, `result 0x${r[0].toString(16)} (0x02: subscribed)`);
      assert.equal(r[2], 0x05, 'the alarm type of the request');
    });
  });

  it('the ALARM query by alarm type ALARM_S lists the sample PLC\'s two alarms', async () => {
    await withConnection(async (c) => {
      const r = await c.sendUserData(CPU, SUB.ALARM_QUERY, Buffer.from('000112081a00013400000004', 'hex'));
      assert.deepEqual(eventIds(r).sort(), [1, 2]);
    });
  });
});
