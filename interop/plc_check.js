'use strict';
// One PLC checked with node-snap7 (a real third-party client): connect, read the CPU's order
// number (SZL 0x0011), write a word into DB1 and read it back, read MW0..MW3.
//
//   node interop/plc_check.js HOST PORT [RACK SLOT]     (deploy/ tests; exit 0 when all holds)
//
// Prints one line of what it read. Needs `bash interop/setup.sh` to have installed node-snap7.
const snap7 = require('node-snap7');

const [host, port = '102', rack = '0', slot = '2'] = process.argv.slice(2);
if (!host) {
  console.error('usage: node interop/plc_check.js HOST PORT [RACK SLOT]');
  process.exit(64);
}

function call(c, op, ...args) {
  return new Promise((resolve, reject) => {
    c[op](...args, (err, res) => (err ? reject(new Error(`${op}: ${c.ErrorText(err)}`)) : resolve(res)));
  });
}

async function main() {
  const c = new snap7.S7Client();
  c.SetParam(c.RemotePort, Number(port));
  await call(c, 'ConnectTo', host, Number(rack), Number(slot));
  const info = await call(c, 'GetOrderCode');
  const stamp = Math.floor(Math.random() * 65535);
  const word = Buffer.from([stamp >> 8, stamp & 0xff]);
  await call(c, 'DBWrite', 1, 100, 2, word);
  const back = await call(c, 'DBRead', 1, 100, 2);
  if (!back.equals(word)) throw new Error(`DB1.DBW100: wrote ${word.toString('hex')}, read ${back.toString('hex')}`);
  const mw = await call(c, 'MBRead', 0, 4);
  c.Disconnect();
  console.log(`${host}:${port} order ${info.Code.trim()}, ` +
              `DB1.DBW100 ${stamp} written and read back, MB0..3 ${mw.toString('hex')}, PDU ${c.PDULength()}`);
}

main().catch((e) => {
  console.error(`plc_check: ${host}:${port}: ${e.message}`);
  process.exit(1);
});
