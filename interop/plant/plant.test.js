'use strict';
// Interop test of a plant (issue 14): one `protos7 serve --plant` process holding the PLCs of
// the plant file in PLANT_FILE, each at its own 127.0.x.y:102, driven by node-snap7 and nodes7:
// each PLC answers with its own identity in SZL 0x001C, and what a client writes stays in the PLC
// it wrote to. Started by interop/run_plant.sh.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { snap7, call } = require('../lib/snap7util');
const s7 = require('../lib/nodes7util');
const cfg = require('../lib/config');

const plant = JSON.parse(fs.readFileSync(process.env.PLANT_FILE, 'utf8'));
const plcs = plant.plcs.map((p) => {
  const [host, port] = p.listen.split(':');
  return { name: p.name, host, port: Number(port || 102), serial: p.identity.serial_number, as: p.identity.as_name };
});
// A spread of PLCs for the write tests: the first, the last and some between (both event loops).
const some = [...new Set([0, 1, 2, 7, 13, Math.floor(plcs.length / 2), plcs.length - 2, plcs.length - 1])]
  .filter((i) => i >= 0 && i < plcs.length).map((i) => plcs[i]);
const T = { timeout: 120000 };
const trimmed = (s) => String(s).replace(/\0/g, '').trim();

async function snapConnect(p) {
  const c = new snap7.S7Client();
  c.SetParam(c.RemotePort, p.port);
  await call(c, 'ConnectTo', p.host, 0, 2);
  return c;
}

// SZL 0x001C as snap7 returns it (LENTHDR, N_DR, then 34-byte records): index -> text.
function components(b) {
  const out = {};
  for (let i = 0; i < b.readUInt16LE(2); i++) {
    const r = b.subarray(4 + 34 * i, 4 + 34 * (i + 1));
    out[r.readUInt16BE(0)] = trimmed(r.subarray(2).toString('latin1'));
  }
  return out;
}

describe(`a plant of ${plcs.length} PLCs in one process`, () => {
  assert.ok(plcs.length >= 50, 'the plant file must hold at least 50 PLCs');
  assert.equal(new Set(plcs.map((p) => p.host)).size, plcs.length, 'every PLC at its own address');

  it('node-snap7: every PLC, connected at once, has its own identity in SZL 0x001C', T, async () => {
    const clients = [];
    try {
      for (const p of plcs) clients.push(await snapConnect(p));
      const seen = new Set();
      for (let i = 0; i < plcs.length; i++) {
        const c = components(await call(clients[i], 'ReadSZL', 0x001C, 0x0000));
        assert.equal(c[5], plcs[i].serial, `${plcs[i].name}: serial number (SZL 0x001C index 5)`);
        assert.equal(c[1], plcs[i].as, `${plcs[i].name}: AS name (index 1)`);
        seen.add(c[5]);
        const info = await call(clients[i], 'GetCpuInfo');
        assert.equal(trimmed(info.SerialNumber), plcs[i].serial, `${plcs[i].name}: GetCpuInfo`);
      }
      assert.equal(seen.size, plcs.length, 'no two PLCs share a serial number');
    } finally {
      for (const c of clients) c.Disconnect();
    }
  });

  it('node-snap7: DB1 written on each PLC is read back there and nowhere else', T, async () => {
    const clients = await Promise.all(some.map(snapConnect));
    try {
      const mark = (i) => Buffer.from([0x5A, i, 0xA5, i ^ 0xFF]);
      for (let i = 0; i < some.length; i++) await call(clients[i], 'DBWrite', cfg.db, 200, 4, mark(i));
      for (let i = 0; i < some.length; i++) {
        const b = await call(clients[i], 'DBRead', cfg.db, 200, 4);
        assert.deepEqual(b, mark(i), `${some[i].name} reads back its own DB1.DBB200..203`);
      }
      // M (RAM only) too: each PLC has its own process memory.
      for (let i = 0; i < some.length; i++) await call(clients[i], 'MBWrite', 10, 1, Buffer.from([i + 1]));
      for (let i = 0; i < some.length; i++)
        assert.equal((await call(clients[i], 'MBRead', 10, 1))[0], i + 1, `${some[i].name}: MB10`);
    } finally {
      for (const c of clients) c.Disconnect();
    }
  });

  describe('nodes7', () => {
    const conns = [];
    before(async () => {
      for (const p of some) conns.push(await s7.connect({ host: p.host, port: p.port }));
    });
    after(async () => { for (const c of conns) await s7.drop(c); });

    it('writes DB1.INT210 on each PLC; every PLC reads back only its own value', T, async () => {
      for (let i = 0; i < conns.length; i++) {
        assert.equal(await s7.write(conns[i], 'DB1,INT210', 1000 + i), false, `${some[i].name}: write`);
      }
      for (let i = 0; i < conns.length; i++) {
        const { bad, values } = await s7.read(conns[i], 'DB1,INT210');
        assert.equal(bad, false);
        assert.equal(values['DB1,INT210'], 1000 + i, `${some[i].name}: DB1.INT210`);
      }
    });

    it('reads the snap7 marks of the previous test: DB1.B200 per PLC', T, async () => {
      for (let i = 0; i < conns.length; i++) {
        const { bad, values } = await s7.read(conns[i], 'DB1,BYTE200.4');
        assert.equal(bad, false);
        assert.deepEqual(values['DB1,BYTE200.4'], [0x5A, i, 0xA5, i ^ 0xFF], some[i].name);
      }
    });
  });
});
