'use strict';
// goprotos7's own files, served and edited (issue #18): an SQLite file made with goprotos7's
// schema (the DDL below is written from the facts of goprotos7's dbtool migrations: tables,
// columns, declared types, defaults), one variable of each of goprotos7's 17 data types and
// LIST variables with definitions of each static type. protos7 serves it unchanged; node-snap7
// reads every variable's bytes and they equal goprotos7's layout (big-endian, BOOL a bit,
// STRING max/len/chars); the web admin shows the LIST buttons, and what it edits lands in
// goprotos7's columns, leaving a file goprotos7 reads.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, launchBrowser, shot, s7call, s7connect, waitFor } = require('./lib/harness');

const DDL = `
CREATE TABLE db_variables (id INTEGER PRIMARY KEY AUTOINCREMENT, db_number INTEGER NOT NULL, name TEXT NOT NULL,
  data_type TEXT NOT NULL, byte_offset INTEGER NOT NULL, bit_offset INTEGER, length INTEGER, description TEXT,
  real_val real, int_val integer, str_val text, bool_val integer, var_type text DEFAULT 'STATIC' NOT NULL);
CREATE TABLE static_var_definitions (id integer NOT NULL CONSTRAINT static_var_definitions_pk PRIMARY KEY,
  db_variable_id integer NOT NULL REFERENCES db_variables ON UPDATE CASCADE ON DELETE CASCADE,
  description text NOT NULL, int_value integer, float_value integer, static_type text DEFAULT 'INT' NOT NULL,
  bit_offset integer);
CREATE TABLE migrations (id varchar(255) PRIMARY KEY);
INSERT INTO migrations VALUES ('createDbVariablesTable_1'), ('migrateCreateStaticVarDefinitions_1');
`;

// [name, data_type, byte, bit, length, value column, value, var_type]
const VARS = [
  ['v_bool', 'BOOL', 0, 5, null, 'bool_val', 1, 'LIST'],
  ['v_byte', 'BYTE', 1, null, null, 'int_val', 0xAB, 'STATIC'],
  ['v_word', 'WORD', 2, null, null, 'int_val', 0xBEEF, 'STATIC'],
  ['v_dword', 'DWORD', 4, null, null, 'int_val', 0xDEADBEEF, 'STATIC'],
  ['v_lword', 'LWORD', 8, null, null, 'int_val', 81985529216486895n, 'STATIC'],
  ['v_sint', 'SINT', 16, null, null, 'int_val', -100, 'STATIC'],
  ['v_usint', 'USINT', 17, null, null, 'int_val', 250, 'STATIC'],
  ['v_int', 'INT', 18, null, null, 'int_val', -1234, 'LIST'],
  ['v_uint', 'UINT', 20, null, null, 'int_val', 60000, 'STATIC'],
  ['v_dint', 'DINT', 22, null, null, 'int_val', -123456789, 'STATIC'],
  ['v_udint', 'UDINT', 26, null, null, 'int_val', 3000000000, 'STATIC'],
  ['v_lint', 'LINT', 30, null, null, 'int_val', -5000000000000n, 'STATIC'],
  ['v_ulint', 'ULINT', 38, null, null, 'int_val', 5000000000000n, 'STATIC'],
  ['v_real', 'REAL', 46, null, null, 'real_val', 3.5, 'LIST'],
  ['v_lreal', 'LREAL', 50, null, null, 'real_val', -1.0625, 'STATIC'],
  ['v_char', 'CHAR', 58, null, null, 'str_val', 'Q', 'STATIC'],
  ['v_string', 'STRING[n]', 59, null, 12, 'str_val', 'goprotos7', 'LIST'],
];
const SIZE = { BOOL: 1, BYTE: 1, WORD: 2, DWORD: 4, LWORD: 8, SINT: 1, USINT: 1, INT: 2, UINT: 2, DINT: 4, UDINT: 4,
  LINT: 8, ULINT: 8, REAL: 4, LREAL: 8, CHAR: 1 };

// goprotos7's bytes of a variable (build-datab.go), computed here independently of protos7.
function expectedBytes([, type, , bit, length, , value]) {
  if (type === 'STRING[n]') {
    const b = Buffer.alloc(length + 2);
    b[0] = length;
    b[1] = value.length;
    b.write(value, 2, 'latin1');
    return b;
  }
  const b = Buffer.alloc(SIZE[type]);
  if (type === 'BOOL') b[0] = value ? 1 << bit : 0;
  else if (type === 'CHAR') b.write(value, 0, 'latin1');
  else if (type === 'REAL') b.writeFloatBE(value);
  else if (type === 'LREAL') b.writeDoubleBE(value);
  else if (SIZE[type] === 8) b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(value)));
  else b.writeUIntBE(Number(BigInt.asUintN(8 * SIZE[type], BigInt(value))), 0, SIZE[type]);
  return b;
}

const sqlite = (file, sql) => execFileSync('sqlite3', [file, sql], { encoding: 'utf8' });
const query = (file, sql) => JSON.parse(execFileSync('sqlite3', ['-json', file, sql], { encoding: 'utf8' }) || '[]');
const lit = (v) => (v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v));

let dir;
let file;
let srv;
let browser;
let page;
let s7;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'protos7-goprotos7-'));
  file = path.join(dir, 'data.db');
  fs.mkdirSync(path.join(dir, 'bins'));
  const rows = VARS.map(([name, type, byte, bit, length, col, value, varType], i) => {
    const cols = { int_val: null, real_val: null, str_val: null, bool_val: null };
    cols[col] = value;
    return `(${i + 1}, 5, '${name}', '${type}', ${byte}, ${lit(bit)}, ${lit(length)}, 'goprotos7 ${type}', ` +
      `${lit(cols.real_val)}, ${lit(cols.int_val)}, ${lit(cols.str_val)}, ${lit(cols.bool_val)}, '${varType}')`;
  });
  sqlite(file, `${DDL}
    INSERT INTO db_variables (id, db_number, name, data_type, byte_offset, bit_offset, length, description,
      real_val, int_val, str_val, bool_val, var_type) VALUES ${rows.join(',\n')};
    INSERT INTO static_var_definitions (db_variable_id, description, int_value, float_value, static_type) VALUES
      (1, 'TRUE', 1, NULL, 'BOOL'), (1, 'FALSE', 0, NULL, 'BOOL'),
      (8, 'Low', -1234, NULL, 'INT'), (8, 'High', 1234, NULL, 'INT'),
      (14, 'Half', NULL, 0.5, 'FLOAT'), (14, 'Three and a half', NULL, 3.5, 'FLOAT'),
      (17, 'goprotos7', NULL, NULL, 'STRING'), (17, 'protos7', NULL, NULL, 'STRING');`);
  srv = await startServer(['-s', file, '-b', path.join(dir, 'bins')]);
  s7 = await s7connect(srv.s7Port);
  browser = await launchBrowser();
  page = browser.page;
});

after(async () => {
  if (s7 && s7.Connected()) s7.Disconnect();
  if (browser) await browser.close();
  if (srv) await srv.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('node-snap7 reads every goprotos7 type with goprotos7\'s byte layout', async () => {
  for (const v of VARS) {
    const want = expectedBytes(v);
    const got = await s7call(s7, 'DBRead', 5, v[2], want.length);
    if (v[1] === 'BOOL') assert.equal((got[0] >> v[3]) & 1, v[6], v[0]);
    else assert.deepEqual(got, want, `${v[0]} (${v[1]})`);
  }
  // goprotos7's file size: the largest byte_offset + size (+ length for the STRING): 59 + 2 + 12.
  assert.equal(fs.statSync(path.join(dir, 'bins', 'DB5.bin')).size, 73);
});

test('the web admin shows the LIST buttons and its edits land in goprotos7\'s columns', async () => {
  await page.goto(`${srv.loginUrl}#/db/5`);
  const card = (name) => page.locator(`article.card[data-var="${name}"]`);
  await card('v_int').waitFor();
  for (const [name, label] of [['v_int', 'High'], ['v_real', 'Half'], ['v_string', 'protos7'], ['v_bool', 'FALSE']]) {
    await card(name).getByRole('button', { name: label, exact: true }).click();
  }
  await waitFor(async () => (await s7call(s7, 'DBRead', 5, 18, 2)).readInt16BE(0) === 1234, 5000, 'v_int = High');
  await waitFor(async () => (await s7call(s7, 'DBRead', 5, 46, 4)).readFloatBE(0) === 0.5, 5000, 'v_real = Half');
  await waitFor(async () => ((await s7call(s7, 'DBRead', 5, 0, 1))[0] & 0x20) === 0, 5000, 'v_bool = FALSE');
  const str = await s7call(s7, 'DBRead', 5, 59, 14);
  assert.equal(str.subarray(2, 2 + str[1]).toString('latin1'), 'protos7');
  await shot(page, 'goprotos7-lists.png');
  const cols = Object.fromEntries(query(file, 'SELECT name, int_val, real_val, str_val, bool_val FROM db_variables')
    .map((r) => [r.name, r]));
  assert.equal(cols.v_int.int_val, 1234);
  assert.equal(cols.v_real.real_val, 0.5);
  assert.equal(cols.v_string.str_val, 'protos7');
  assert.equal(cols.v_bool.bool_val, 0);
  assert.deepEqual(browser.errors, []);
});

test('variables created and changed in the web admin are goprotos7 rows', async () => {
  const csrf = (await (await fetch(`${srv.url}api/session`, { headers: srv.auth })).json()).csrf_token;
  const call = async (method, url, body) => {
    const r = await fetch(`${srv.url}${url}`, { method, headers: { ...srv.auth, 'Content-Type': 'application/json', 'X-Protos7-CSRF': csrf },
      body: JSON.stringify(body) });
    const j = await r.json();
    assert.ok(r.ok, JSON.stringify(j));
    return j;
  };
  await call('PATCH', 'api/dbs/5', { size: 128 });  // protos7_db_sizes: a table goprotos7 ignores
  await call('POST', 'api/dbs/5/variables', { name: 'v_new_lreal', type: 'LREAL', byte_offset: 80, value: 2.5,
    states: [{ name: 'Two', value: 2 }] });
  await call('POST', 'api/dbs/5/variables', { name: 'v_new_time', type: 'TIME', byte_offset: 88, value: 'T#1m' });
  await call('POST', 'api/dbs/5/variables', { name: 'v_new_str', type: 'STRING[8]', byte_offset: 92, value: 'abc' });
  await call('PATCH', `api/dbs/5/variables/2`, { description: 'edited in protos7' });
  const rows = Object.fromEntries(query(file, 'SELECT * FROM db_variables').map((r) => [r.name, r]));
  assert.equal(rows.v_new_lreal.data_type, 'LREAL');
  assert.equal(rows.v_new_lreal.real_val, 2.5);
  assert.equal(rows.v_new_lreal.var_type, 'LIST');
  assert.equal(rows.v_new_lreal.bit_offset, null);
  assert.equal(rows.v_new_time.data_type, 'DINT');  // TIME's bytes as goprotos7 knows them
  assert.equal(rows.v_new_time.int_val, 60000);
  assert.equal(rows.v_new_str.data_type, 'STRING[n]');
  assert.equal(rows.v_new_str.length, 8);
  assert.equal(rows.v_new_str.str_val, 'abc');
  assert.equal(rows.v_byte.description, 'edited in protos7');
  const defs = query(file, `SELECT s.description, s.float_value, s.static_type FROM static_var_definitions s
    JOIN db_variables v ON v.id = s.db_variable_id WHERE v.name = 'v_new_lreal'`);
  assert.deepEqual(defs, [{ description: 'Two', float_value: 2, static_type: 'FLOAT' }]);
  assert.deepEqual(query(file, 'SELECT s7_type FROM protos7_variable_types'), [{ s7_type: 'TIME' }]);
  assert.deepEqual(query(file, 'SELECT db_number, size FROM protos7_db_sizes'), [{ db_number: 5, size: 128 }]);
  // Still goprotos7's: only goprotos7 data types, its migrations, its columns.
  const types = query(file, 'SELECT DISTINCT data_type FROM db_variables').map((r) => r.data_type);
  for (const t of types) assert.ok(t === 'STRING[n]' || SIZE[t], t);
  assert.deepEqual(query(file, 'SELECT id FROM migrations ORDER BY id').map((r) => r.id),
    ['createDbVariablesTable_1', 'migrateCreateStaticVarDefinitions_1']);
});

test('goprotos7\'s flags and environment variables start the same PLC', async () => {
  const { spawn } = require('node:child_process');
  const bins = fs.mkdtempSync(path.join(os.tmpdir(), 'protos7-goprotos7-bins-'));
  fs.copyFileSync(path.join(dir, 'bins', 'DB5.bin'), path.join(bins, 'DB5.bin'));
  const child = spawn(process.env.PROTOS7_BIN || path.resolve(__dirname, '../../build/dev/tools/protos7'),
    ['serve', '-p', '0', '--listen', '127.0.0.1', '--bin-folder', bins, '-i', 'INFO', '--flags.enable-web-admin',
      '--webadmin-listen', '127.0.0.1:0', '--data-dir', path.join(bins, 'data')],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SQLITE_PATH: file, LOG_LEVEL_SQLITE: 'ERROR' } });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  try {
    const port = await waitFor(() => Number((/listening on [\d.]+:(\d+)/.exec(log) || [])[1]), 15000, `start:\n${log}`);
    await waitFor(() => /web admin on/.test(log), 15000, 'the web admin (--flags.enable-web-admin)');
    assert.match(log, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 20 variables`));
    const c = await s7connect(port);
    assert.equal((await s7call(c, 'DBRead', 5, 18, 2)).readInt16BE(0), 1234);
    c.Disconnect();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
    fs.rmSync(bins, { recursive: true, force: true });
  }
});
