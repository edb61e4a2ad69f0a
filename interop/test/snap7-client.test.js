'use strict';
// Interop tests: node-snap7's S7Client (the snap7 C++ client library) against
// the S7 server at S7_HOST:S7_PORT. Expectations follow a real S7-300 CPU.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const cfg = require('../lib/config');
const { snap7, ERR, ERR_TEXT, call, connect, disconnect, pattern } = require('../lib/snap7util');

// node-snap7 exposes the constants (S7AreaDB, S7WLByte, ...) on client objects.
const K = new snap7.S7Client();
const AREAS = [
  { name: 'PE (inputs, I)', area: K.S7AreaPE, db: 0 },
  { name: 'PA (outputs, Q)', area: K.S7AreaPA, db: 0 },
  { name: 'MK (flags, M)', area: K.S7AreaMK, db: 0 },
  { name: `DB${cfg.db}`, area: K.S7AreaDB, db: cfg.db },
];

function hex(b) { return b ? Buffer.from(b).toString('hex') : String(b); }

// Asserts that a snap7 operation failed with the given client error code,
// i.e. that the server answered the item with the matching S7 return code.
async function assertCpuError(promise, code, what) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, code,
      `${what}: expected snap7 error 0x${code.toString(16)} (${ERR_TEXT[code] || ''}), got ${e.message}`);
    if (ERR_TEXT[code]) assert.equal(e.text, ERR_TEXT[code]);
    return true;
  }, `${what}: expected the server to reject the item, but the operation succeeded`);
}

describe('snap7 client: connection', () => {
  it('ConnectTo(host, rack, slot) connects', async () => {
    const c = await connect();
    try {
      assert.equal(c.Connected(), true);
    } finally { disconnect(c); }
  });

  it('SetConnectionParams(host, localTSAP 0x0100, remoteTSAP 0x01xx) + Connect()', async () => {
    const c = new snap7.S7Client();
    c.SetParam(c.RemotePort, cfg.port);
    const remoteTsap = 0x0100 | (cfg.rack << 5) | cfg.slot; // PG connection, rack/slot
    assert.equal(c.SetConnectionParams(cfg.host, 0x0100, remoteTsap), true);
    await call(c, 'Connect');
    try {
      assert.equal(c.Connected(), true);
      const b = await call(c, 'DBRead', cfg.db, 0, 1);
      assert.equal(b.length, 1);
    } finally { disconnect(c); }
  });

  for (const [name, type] of [['OP', K.CONNTYPE_OP], ['S7 basic', K.CONNTYPE_BASIC]]) {
    it(`connection type ${name} (remote TSAP 0x${type.toString(16).padStart(2, '0')}xx) connects and reads`, async () => {
      const c = new snap7.S7Client();
      c.SetParam(c.RemotePort, cfg.port);
      assert.equal(c.SetConnectionType(type), true);
      await call(c, 'ConnectTo', cfg.host, cfg.rack, cfg.slot);
      try {
        const b = await call(c, 'DBRead', cfg.db, 0, 2);
        assert.equal(b.length, 2);
      } finally { disconnect(c); }
    });
  }

  it('PDULength() is negotiated (240..PDURequested)', async () => {
    const c = await connect();
    try {
      const pdu = c.PDULength();
      const req = c.PDURequested();
      assert.equal(req, 480, 'snap7 requests 480 by default');
      assert.ok(Number.isInteger(pdu), `PDULength() = ${pdu}`);
      assert.ok(pdu >= 240 && pdu <= req, `negotiated PDU ${pdu} not in [240, ${req}]`);
      if (cfg.expectPdu) assert.equal(pdu, cfg.expectPdu);
    } finally { disconnect(c); }
  });

  it('PDU request 240 is honoured and reads larger than one PDU still work', async () => {
    const c = await connect({ pduRequest: 240 });
    try {
      assert.equal(c.PDURequested(), 240);
      const pdu = c.PDULength();
      assert.ok(pdu > 0 && pdu <= 240, `negotiated PDU ${pdu} with a 240 request`);
      const data = pattern(cfg.dbSize);
      await call(c, 'DBWrite', cfg.db, 0, data.length, data); // > 240-35 bytes: split by snap7
      const back = await call(c, 'DBRead', cfg.db, 0, data.length);
      assert.equal(hex(back), hex(data));
    } finally { disconnect(c); }
  });

  it('two clients at once see each other\'s writes', async () => {
    const a = await connect();
    const b = await connect();
    try {
      const data = pattern(8);
      await call(a, 'DBWrite', cfg.db, 16, 8, data);
      assert.equal(hex(await call(b, 'DBRead', cfg.db, 16, 8)), hex(data));
      const data2 = pattern(8);
      await call(b, 'DBWrite', cfg.db, 16, 8, data2);
      assert.equal(hex(await call(a, 'DBRead', cfg.db, 16, 8)), hex(data2));
    } finally { disconnect(a); disconnect(b); }
  });

  it('Disconnect() then reconnect on the same client', async () => {
    const c = await connect();
    try {
      c.Disconnect();
      assert.equal(c.Connected(), false);
      await call(c, 'ConnectTo', cfg.host, cfg.rack, cfg.slot);
      assert.equal(c.Connected(), true);
      assert.equal((await call(c, 'DBRead', cfg.db, 0, 4)).length, 4);
    } finally { disconnect(c); }
  });
});

describe(`snap7 client: DBRead/DBWrite on DB${cfg.db} (${cfg.dbSize} bytes)`, () => {
  let c;
  before(async () => {
    assert.ok(cfg.dbSize >= 128, 'S7_TEST_DB_SIZE must be >= 128 for this suite');
    c = await connect();
  });
  after(() => disconnect(c));

  const sizes = [];
  for (let s = 1; s <= 64; s++) sizes.push(s);
  sizes.push(65, 99, 100, 127, 128, 200, 221, 222, 223, 255, 256, 445, 446, 462, 463);

  for (const offset of [0, 1, 7]) {
    it(`every size 1..64 and larger odd/even sizes up to the DB size, at offset ${offset}`, async () => {
      let n = 0;
      for (const size of sizes) {
        if (offset + size > cfg.dbSize) continue;
        // guard bytes around the written range must not change
        const lo = offset > 0 ? offset - 1 : null;
        const hi = offset + size < cfg.dbSize ? offset + size : null;
        const guardLo = lo === null ? null : await call(c, 'DBRead', cfg.db, lo, 1);
        const guardHi = hi === null ? null : await call(c, 'DBRead', cfg.db, hi, 1);
        const data = pattern(size);
        await call(c, 'DBWrite', cfg.db, offset, size, data);
        const back = await call(c, 'DBRead', cfg.db, offset, size);
        assert.equal(back.length, size, `DBRead length at ${offset}/${size}`);
        assert.equal(hex(back), hex(data), `readback at offset ${offset} size ${size}`);
        if (lo !== null) assert.equal(hex(await call(c, 'DBRead', cfg.db, lo, 1)), hex(guardLo), `byte ${lo} before a write of ${size}@${offset} changed`);
        if (hi !== null) assert.equal(hex(await call(c, 'DBRead', cfg.db, hi, 1)), hex(guardHi), `byte ${hi} after a write of ${size}@${offset} changed`);
        n++;
      }
      assert.ok(n >= 64);
    });
  }

  it('whole DB read equals the concatenation of small reads', async () => {
    const data = pattern(cfg.dbSize);
    await call(c, 'DBWrite', cfg.db, 0, data.length, data);
    const whole = await call(c, 'DBRead', cfg.db, 0, cfg.dbSize);
    const parts = [];
    for (let o = 0; o < cfg.dbSize; o += 37) parts.push(await call(c, 'DBRead', cfg.db, o, Math.min(37, cfg.dbSize - o)));
    assert.equal(hex(whole), hex(data));
    assert.equal(hex(Buffer.concat(parts)), hex(data));
  });
});

describe(`snap7 client: transfers split over several PDUs (DB${cfg.bigDb}, ${cfg.bigDbSize} bytes)`, { skip: cfg.bigDb <= 0 && 'S7_BIG_DB=0' }, () => {
  let c;
  before(async () => {
    assert.ok(cfg.bigDbSize >= 1002, 'S7_BIG_DB_SIZE must be >= 1002');
    c = await connect();
  });
  after(() => disconnect(c));

  it('DBWrite/DBRead of 1000 bytes (more than one PDU)', async () => {
    assert.ok(1000 > c.PDULength() - 18, 'the transfer must not fit in one PDU');
    const data = pattern(1000);
    await call(c, 'DBWrite', cfg.bigDb, 0, 1000, data);
    assert.equal(hex(await call(c, 'DBRead', cfg.bigDb, 0, 1000)), hex(data));
  });

  it('odd offset and odd size: 999 bytes at offset 3', async () => {
    const data = pattern(999);
    await call(c, 'DBWrite', cfg.bigDb, 3, 999, data);
    assert.equal(hex(await call(c, 'DBRead', cfg.bigDb, 3, 999)), hex(data));
  });

  it('the whole big DB', async () => {
    const data = pattern(cfg.bigDbSize);
    await call(c, 'DBWrite', cfg.bigDb, 0, data.length, data);
    assert.equal(hex(await call(c, 'DBRead', cfg.bigDb, 0, data.length)), hex(data));
  });

  it('split read running past the end fails with address out of range (0x05)', async () => {
    await assertCpuError(call(c, 'DBRead', cfg.bigDb, 0, cfg.bigDbSize + 10), ERR.AddressOutOfRange, 'split read past the end');
  });
});

describe('snap7 client: ReadArea/WriteArea per area and word length', () => {
  let c;
  before(async () => { c = await connect(); });
  after(() => disconnect(c));

  for (const a of AREAS) {
    it(`${a.name}: S7WLByte x5 at 11`, async () => {
      const data = pattern(5);
      await call(c, 'WriteArea', a.area, a.db, 11, 5, K.S7WLByte, data);
      assert.equal(hex(await call(c, 'ReadArea', a.area, a.db, 11, 5, K.S7WLByte)), hex(data));
    });

    it(`${a.name}: S7WLWord x3 at 20 (read back as words and as bytes)`, async () => {
      const data = pattern(6);
      await call(c, 'WriteArea', a.area, a.db, 20, 3, K.S7WLWord, data);
      assert.equal(hex(await call(c, 'ReadArea', a.area, a.db, 20, 3, K.S7WLWord)), hex(data));
      assert.equal(hex(await call(c, 'ReadArea', a.area, a.db, 20, 6, K.S7WLByte)), hex(data));
    });

    it(`${a.name}: S7WLWord at odd byte address 27`, async () => {
      const data = pattern(2);
      await call(c, 'WriteArea', a.area, a.db, 27, 1, K.S7WLWord, data);
      assert.equal(hex(await call(c, 'ReadArea', a.area, a.db, 27, 2, K.S7WLByte)), hex(data));
    });

    it(`${a.name}: S7WLDWord x2 at 30`, async () => {
      const data = pattern(8);
      await call(c, 'WriteArea', a.area, a.db, 30, 2, K.S7WLDWord, data);
      assert.equal(hex(await call(c, 'ReadArea', a.area, a.db, 30, 2, K.S7WLDWord)), hex(data));
      assert.equal(hex(await call(c, 'ReadArea', a.area, a.db, 30, 8, K.S7WLByte)), hex(data));
    });

    it(`${a.name}: S7WLReal x3 at 40 (big-endian IEEE754)`, async () => {
      const vals = [1.5, -2.25, 3.14159];
      const data = Buffer.alloc(12);
      vals.forEach((v, i) => data.writeFloatBE(v, i * 4));
      await call(c, 'WriteArea', a.area, a.db, 40, 3, K.S7WLReal, data);
      const back = await call(c, 'ReadArea', a.area, a.db, 40, 3, K.S7WLReal);
      assert.equal(back.length, 12);
      vals.forEach((v, i) => assert.equal(back.readFloatBE(i * 4), Math.fround(v)));
      assert.equal(hex(await call(c, 'ReadArea', a.area, a.db, 40, 12, K.S7WLByte)), hex(data));
    });

    it(`${a.name}: S7WLBit read returns one byte 0/1`, async () => {
      await call(c, 'WriteArea', a.area, a.db, 48, 1, K.S7WLByte, Buffer.from([0x24]));
      for (let bit = 0; bit < 8; bit++) {
        const b = await call(c, 'ReadArea', a.area, a.db, 48 * 8 + bit, 1, K.S7WLBit);
        assert.equal(b.length, 1);
        assert.equal(b[0], (0x24 >> bit) & 1, `bit ${48}.${bit}`);
      }
    });

    it(`${a.name}: S7WLBit writes change exactly one bit`, async () => {
      const byteOff = 50;
      const before = Buffer.from([0xA5, 0x5A, 0x3C]); // bytes 49, 50, 51
      await call(c, 'WriteArea', a.area, a.db, byteOff - 1, 3, K.S7WLByte, before);
      let expect = Buffer.from(before);
      for (let bit = 0; bit < 8; bit++) {
        for (const v of [1, 0, 1]) {
          await call(c, 'WriteArea', a.area, a.db, byteOff * 8 + bit, 1, K.S7WLBit, Buffer.from([v]));
          expect[1] = v ? (expect[1] | (1 << bit)) : (expect[1] & ~(1 << bit));
          const now = await call(c, 'ReadArea', a.area, a.db, byteOff - 1, 3, K.S7WLByte);
          assert.equal(hex(now), hex(expect), `after writing ${v} to bit ${byteOff}.${bit}`);
          const bitBack = await call(c, 'ReadArea', a.area, a.db, byteOff * 8 + bit, 1, K.S7WLBit);
          assert.equal(bitBack[0], v, `bit ${byteOff}.${bit} read back`);
        }
      }
    });
  }

  it('CT: S7WLCounter block write/read of counters 0..7', async () => {
    const data = Buffer.alloc(16);
    for (let i = 0; i < 8; i++) data.writeUInt16BE(0x0100 + i * 0x11, i * 2); // BCD-style values
    await call(c, 'WriteArea', K.S7AreaCT, 0, 0, 8, K.S7WLCounter, data);
    const back = await call(c, 'ReadArea', K.S7AreaCT, 0, 0, 8, K.S7WLCounter);
    assert.equal(hex(back), hex(data));
  });

  // snap7's server maps counter/timer N to byte offset N>>1 instead of 2*N
  // (s7_server.cpp: "Start = Start >> 1"), so single-element access to any
  // counter/timer but 0 hits the wrong bytes. A real CPU addresses them by number.
  it('CT: counter N is addressed by number (block write, single reads)', cfg.snap7Deviation('counter N is stored at byte N>>1, not 2N'), async () => {
    const data = Buffer.alloc(16);
    for (let i = 0; i < 8; i++) data.writeUInt16BE(0x0200 + i, i * 2);
    await call(c, 'CTWrite', 0, 8, data);
    for (let i = 0; i < 8; i++) {
      const one = await call(c, 'CTRead', i, 1);
      assert.equal(one.readUInt16BE(0), 0x0200 + i, `C${i}`);
    }
  });

  it('TM: S7WLTimer block write/read of timers 0..7', async () => {
    const data = Buffer.alloc(16);
    for (let i = 0; i < 8; i++) data.writeUInt16BE(0x1000 * (i % 4) + 0x123 + i, i * 2); // time base + BCD
    await call(c, 'WriteArea', K.S7AreaTM, 0, 0, 8, K.S7WLTimer, data);
    const back = await call(c, 'ReadArea', K.S7AreaTM, 0, 0, 8, K.S7WLTimer);
    assert.equal(hex(back), hex(data));
  });

  it('TM: timer N is addressed by number (block write, single reads)', cfg.snap7Deviation('timer N is stored at byte N>>1, not 2N'), async () => {
    const data = Buffer.alloc(16);
    for (let i = 0; i < 8; i++) data.writeUInt16BE(0x2300 + i, i * 2);
    await call(c, 'TMWrite', 0, 8, data);
    for (let i = 0; i < 8; i++) {
      const one = await call(c, 'TMRead', i, 1);
      assert.equal(one.readUInt16BE(0), 0x2300 + i, `T${i}`);
    }
  });

  it('CT/TM: single counter/timer write then read at index 5', async () => {
    await call(c, 'CTWrite', 5, 1, Buffer.from([0x09, 0x99]));
    assert.equal(hex(await call(c, 'CTRead', 5, 1)), '0999');
    await call(c, 'TMWrite', 5, 1, Buffer.from([0x30, 0x42]));
    assert.equal(hex(await call(c, 'TMRead', 5, 1)), '3042');
  });

  it('convenience wrappers MB/EB/AB read what ReadArea wrote', async () => {
    for (const [area, rd] of [[K.S7AreaMK, 'MBRead'], [K.S7AreaPE, 'EBRead'], [K.S7AreaPA, 'ABRead']]) {
      const data = pattern(4);
      await call(c, 'WriteArea', area, 0, 60, 4, K.S7WLByte, data);
      assert.equal(hex(await call(c, rd, 60, 4)), hex(data), rd);
    }
  });
});

describe('snap7 client: ReadMultiVars/WriteMultiVars', () => {
  let c;
  let maxRead; let maxWrite;
  before(async () => {
    c = await connect();
    const pdu = c.PDULength();
    // request: 10 header + 2 + 12/item; response: 12 header + 2 + (4+2)/item
    maxRead = Math.min(20, Math.floor((pdu - 12) / 12), Math.floor((pdu - 14) / 6));
    // request: 10 + 2 + 12/item + (4+2)/item
    maxWrite = Math.min(20, Math.floor((pdu - 12) / 18));
  });
  after(() => disconnect(c));

  function item(area, start, amount, wl, data) {
    const it = { Area: area, WordLen: wl ?? K.S7WLByte, DBNumber: area === K.S7AreaDB ? cfg.db : 0, Start: start, Amount: amount };
    if (data) it.Data = data;
    return it;
  }
  const areaCycle = [K.S7AreaDB, K.S7AreaMK, K.S7AreaPA, K.S7AreaPE];

  it('ReadMultiVars with as many 2-byte items as the PDU allows (up to 20)', async () => {
    assert.ok(maxRead >= 18, `PDU ${c.PDULength()} only allows ${maxRead} items`);
    const items = []; const expect = [];
    for (let i = 0; i < maxRead; i++) {
      const area = areaCycle[i % 4]; const start = 64 + i * 2; const data = pattern(2);
      await call(c, 'WriteArea', area, area === K.S7AreaDB ? cfg.db : 0, start, 2, K.S7WLByte, data);
      items.push(item(area, start, 2)); expect.push(data);
    }
    const res = await call(c, 'ReadMultiVars', items);
    assert.equal(res.length, items.length);
    res.forEach((r, i) => {
      assert.equal(r.Result, 0, `item ${i} result 0x${r.Result.toString(16)}`);
      assert.equal(hex(r.Data), hex(expect[i]), `item ${i}`);
    });
  });

  it('ReadMultiVars with 20 items succeeds when the PDU allows it', async (t) => {
    if (maxRead < 20) { t.skip(`PDU ${c.PDULength()} too small for 20 items`); return; }
    const items = [];
    for (let i = 0; i < 20; i++) items.push(item(K.S7AreaDB, i, 1));
    const res = await call(c, 'ReadMultiVars', items);
    assert.equal(res.length, 20);
    for (const r of res) assert.equal(r.Result, 0);
  });

  it('ReadMultiVars with odd-sized items (fill bytes between items)', async () => {
    const sizes = [1, 3, 5, 2, 7, 1];
    const items = []; const expect = [];
    let off = 100;
    for (const [i, s] of sizes.entries()) {
      const area = areaCycle[i % 4]; const data = pattern(s);
      await call(c, 'WriteArea', area, area === K.S7AreaDB ? cfg.db : 0, off, s, K.S7WLByte, data);
      items.push(item(area, off, s)); expect.push(data); off += s + 1;
    }
    const res = await call(c, 'ReadMultiVars', items);
    res.forEach((r, i) => {
      assert.equal(r.Result, 0, `item ${i}`);
      assert.equal(hex(r.Data), hex(expect[i]), `item ${i} (size ${sizes[i]})`);
    });
  });

  it('ReadMultiVars mixing word lengths: Bit, Byte, Word, DWord, Real, Counter, Timer', async () => {
    await call(c, 'DBWrite', cfg.db, 120, 16, Buffer.from('8000112233445566778899aabbccddee', 'hex'));
    const rb = Buffer.alloc(4); rb.writeFloatBE(-0.5);
    await call(c, 'WriteArea', K.S7AreaMK, 0, 120, 1, K.S7WLReal, rb);
    await call(c, 'CTWrite', 3, 1, Buffer.from([0x01, 0x23]));
    await call(c, 'TMWrite', 3, 1, Buffer.from([0x12, 0x34]));
    const res = await call(c, 'ReadMultiVars', [
      item(K.S7AreaDB, 120 * 8 + 7, 1, K.S7WLBit),
      item(K.S7AreaDB, 121, 1, K.S7WLByte),
      item(K.S7AreaDB, 122, 1, K.S7WLWord),
      item(K.S7AreaDB, 124, 1, K.S7WLDWord),
      item(K.S7AreaMK, 120, 1, K.S7WLReal),
      { Area: K.S7AreaCT, WordLen: K.S7WLCounter, DBNumber: 0, Start: 3, Amount: 1 },
      { Area: K.S7AreaTM, WordLen: K.S7WLTimer, DBNumber: 0, Start: 3, Amount: 1 },
      item(K.S7AreaDB, 120 * 8 + 6, 1, K.S7WLBit),
    ]);
    const r = res.map((x) => { assert.equal(x.Result, 0); return hex(x.Data); });
    assert.deepEqual(r, ['01', '00', '1122', '33445566', hex(rb), '0123', '1234', '00']);
  });

  it('WriteMultiVars with as many items as the PDU allows (up to 20), read back', async () => {
    assert.ok(maxWrite >= 12, `PDU ${c.PDULength()} only allows ${maxWrite} write items`);
    const items = [];
    for (let i = 0; i < maxWrite; i++) {
      const area = areaCycle[i % 4];
      items.push(item(area, 140 + i * 3, 2, K.S7WLByte, pattern(2)));
    }
    const res = await call(c, 'WriteMultiVars', items);
    assert.equal(res.length, items.length);
    res.forEach((r, i) => assert.equal(r.Result, 0, `item ${i} result 0x${r.Result.toString(16)}`));
    for (const [i, it] of items.entries()) {
      const back = await call(c, 'ReadArea', it.Area, it.DBNumber, it.Start, 2, K.S7WLByte);
      assert.equal(hex(back), hex(it.Data), `item ${i}`);
    }
  });

  it('WriteMultiVars with odd sizes and a bit item', async () => {
    await call(c, 'DBWrite', cfg.db, 200, 1, Buffer.from([0x00]));
    const items = [
      item(K.S7AreaDB, 201, 3, K.S7WLByte, pattern(3)),
      item(K.S7AreaDB, 200 * 8 + 5, 1, K.S7WLBit, Buffer.from([1])),
      item(K.S7AreaMK, 201, 1, K.S7WLByte, pattern(1)),
      item(K.S7AreaPA, 201, 5, K.S7WLByte, pattern(5)),
    ];
    const res = await call(c, 'WriteMultiVars', items);
    res.forEach((r, i) => assert.equal(r.Result, 0, `item ${i}`));
    assert.equal(hex(await call(c, 'DBRead', cfg.db, 200, 4)), '20' + hex(items[0].Data));
    assert.equal(hex(await call(c, 'MBRead', 201, 1)), hex(items[2].Data));
    assert.equal(hex(await call(c, 'ABRead', 201, 5)), hex(items[3].Data));
  });

  it('ReadMultiVars: bad items fail individually (0x0A missing DB, 0x05 past end), good items still read', async () => {
    const good = pattern(3);
    await call(c, 'DBWrite', cfg.db, 10, 3, good);
    const res = await call(c, 'ReadMultiVars', [
      item(K.S7AreaDB, 10, 3),
      { Area: K.S7AreaDB, WordLen: K.S7WLByte, DBNumber: cfg.missingDb, Start: 0, Amount: 3 },
      item(K.S7AreaDB, cfg.dbSize - 1, 3),
      item(K.S7AreaDB, 10, 3),
    ]);
    assert.equal(res[0].Result, 0); assert.equal(hex(res[0].Data), hex(good));
    assert.equal(res[1].Result, ERR.ItemNotAvailable, `missing DB item: 0x${res[1].Result.toString(16)}`);
    assert.equal(res[2].Result, ERR.AddressOutOfRange, `past-end item: 0x${res[2].Result.toString(16)}`);
    assert.equal(res[3].Result, 0); assert.equal(hex(res[3].Data), hex(good));
  });

  it('WriteMultiVars: bad items fail individually, good items are written, nothing written past the end', async () => {
    await call(c, 'DBWrite', cfg.db, cfg.dbSize - 2, 2, Buffer.from([0x11, 0x22]));
    const good = pattern(2);
    const res = await call(c, 'WriteMultiVars', [
      { Area: K.S7AreaDB, WordLen: K.S7WLByte, DBNumber: cfg.missingDb, Start: 0, Amount: 2, Data: Buffer.from([1, 2]) },
      item(K.S7AreaDB, cfg.dbSize - 2, 4, K.S7WLByte, Buffer.from([0xde, 0xad, 0xbe, 0xef])),
      item(K.S7AreaDB, 12, 2, K.S7WLByte, good),
    ]);
    assert.equal(res[0].Result, ERR.ItemNotAvailable, `missing DB item: 0x${res[0].Result.toString(16)}`);
    assert.equal(res[1].Result, ERR.AddressOutOfRange, `past-end item: 0x${res[1].Result.toString(16)}`);
    assert.equal(res[2].Result, 0);
    assert.equal(hex(await call(c, 'DBRead', cfg.db, 12, 2)), hex(good));
    assert.equal(hex(await call(c, 'DBRead', cfg.db, cfg.dbSize - 2, 2)), '1122', 'rejected item must not write its in-range part');
  });
});

describe('snap7 client: errors the CPU reports per item', () => {
  let c;
  before(async () => { c = await connect(); });
  after(() => disconnect(c));

  it(`DBRead of a DB that does not exist (DB${cfg.missingDb}) fails: 0x0A -> "CPU : Item not available"`, async () => {
    await assertCpuError(call(c, 'DBRead', cfg.missingDb, 0, 1), ERR.ItemNotAvailable, 'read missing DB');
  });

  it('ReadArea(S7AreaDB) of a missing DB with S7WLWord fails the same way', async () => {
    await assertCpuError(call(c, 'ReadArea', K.S7AreaDB, cfg.missingDb, 0, 2, K.S7WLWord), ERR.ItemNotAvailable, 'read missing DB (words)');
  });

  it('DBWrite to a missing DB fails: 0x0A -> "CPU : Item not available"', async () => {
    await assertCpuError(call(c, 'DBWrite', cfg.missingDb, 0, 2, Buffer.from([1, 2])), ERR.ItemNotAvailable, 'write missing DB');
  });

  it('DBRead starting at the DB size fails: 0x05 -> "CPU : Address out of range"', async () => {
    await assertCpuError(call(c, 'DBRead', cfg.db, cfg.dbSize, 1), ERR.AddressOutOfRange, 'read at end');
  });

  it('DBRead far past the end fails with 0x05', async () => {
    await assertCpuError(call(c, 'DBRead', cfg.db, cfg.dbSize + 1000, 4), ERR.AddressOutOfRange, 'read far past end');
  });

  it('DBRead straddling the end (last 2 bytes + 2 more) fails with 0x05', async () => {
    await assertCpuError(call(c, 'DBRead', cfg.db, cfg.dbSize - 2, 4), ERR.AddressOutOfRange, 'read straddling end');
  });

  it('DBRead of the last byte succeeds (exact boundary)', async () => {
    assert.equal((await call(c, 'DBRead', cfg.db, cfg.dbSize - 1, 1)).length, 1);
  });

  it('S7WLBit read of the bit after the last byte fails with 0x05', async () => {
    await assertCpuError(call(c, 'ReadArea', K.S7AreaDB, cfg.db, cfg.dbSize * 8, 1, K.S7WLBit), ERR.AddressOutOfRange, 'bit past end');
  });

  it('DBWrite straddling the end fails with 0x05 and writes nothing', async () => {
    await call(c, 'DBWrite', cfg.db, cfg.dbSize - 2, 2, Buffer.from([0x5a, 0xa5]));
    await assertCpuError(call(c, 'DBWrite', cfg.db, cfg.dbSize - 2, 4, Buffer.from([1, 2, 3, 4])), ERR.AddressOutOfRange, 'write straddling end');
    assert.equal(hex(await call(c, 'DBRead', cfg.db, cfg.dbSize - 2, 2)), '5aa5');
  });

  it('the connection is still usable after item errors', async () => {
    const data = pattern(4);
    await call(c, 'DBWrite', cfg.db, 0, 4, data);
    assert.equal(hex(await call(c, 'DBRead', cfg.db, 0, 4)), hex(data));
    assert.equal(c.Connected(), true);
  });
});
