// goprotos7's SQLite file: opened unchanged, every type served with goprotos7's byte layout,
// written so that goprotos7 reads it, files of protos7's first schema migrated, anything else
// refused without a change. The goprotos7 schema below is written in this test from the facts
// of goprotos7's dbtool migrations (issue #18), independently of the implementation's DDL.
#include "protos7/store/goprotos7_db.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <map>

#include "protos7/store/atomic_file.hpp"

using namespace protos7::store;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    std::string t = "/tmp/protos7-store-XXXXXX";
    path = ::mkdtemp(t.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

void exec(const std::string& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

// Rows of a query as text, columns joined by '|'.
std::vector<std::string> rows(const std::string& file, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  std::vector<std::string> out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK) {
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::string r;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
        r += (i != 0 ? "|" : "") + std::string(t != nullptr ? t : "NULL");
      }
      out.push_back(r);
    }
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

// goprotos7's tables, from the facts (column names, declared types, nullability, defaults).
const char* goprotos7_ddl = R"sql(
CREATE TABLE db_variables (
  id INTEGER PRIMARY KEY AUTOINCREMENT, db_number INTEGER NOT NULL, name TEXT NOT NULL,
  data_type TEXT NOT NULL, byte_offset INTEGER NOT NULL, bit_offset INTEGER, length INTEGER,
  description TEXT, real_val real, int_val integer, str_val text, bool_val integer,
  var_type text DEFAULT 'STATIC' NOT NULL);
CREATE TABLE static_var_definitions (
  id integer NOT NULL CONSTRAINT static_var_definitions_pk PRIMARY KEY,
  db_variable_id integer NOT NULL CONSTRAINT static_var_definitions_db_variables_id_fk
    REFERENCES db_variables ON UPDATE CASCADE ON DELETE CASCADE,
  description text NOT NULL, int_value integer, float_value integer,
  static_type text DEFAULT 'INT' NOT NULL, bit_offset integer);
CREATE TABLE migrations (id varchar(255), PRIMARY KEY (id));
INSERT INTO migrations VALUES ('createDbVariablesTable_1'), ('migrateCreateStaticVarDefinitions_1');
)sql";

// One variable of each of goprotos7's 17 types in DB5, as goprotos7's dbtool stores them, and
// LIST variables with definitions of each static type.
const char* goprotos7_rows = R"sql(
INSERT INTO db_variables (id, db_number, name, data_type, byte_offset, bit_offset, length,
  description,
  real_val, int_val, str_val, bool_val, var_type) VALUES
 (1, 5, 'b_bool',  'BOOL',  0, 3, NULL, 'bool',  NULL, NULL, NULL, 1, 'LIST'),
 (2, 5, 'b_byte',  'BYTE',  1, NULL, NULL, 'byte', NULL, 171, NULL, NULL, 'STATIC'),
 (3, 5, 'b_word',  'WORD',  2, NULL, NULL, NULL,   NULL, 4660, NULL, NULL, 'STATIC'),
 (4, 5, 'b_dword', 'DWORD', 4, NULL, NULL, '',     NULL, 305419896, NULL, NULL, 'STATIC'),
 (5, 5, 'b_lword', 'LWORD', 8, NULL, NULL, '',     NULL, -2, NULL, NULL, 'STATIC'),
 (6, 5, 'b_sint',  'SINT',  16, NULL, NULL, '',    NULL, -5, NULL, NULL, 'STATIC'),
 (7, 5, 'b_usint', 'USINT', 17, NULL, NULL, '',    NULL, 200, NULL, NULL, 'STATIC'),
 (8, 5, 'b_int',   'INT',   18, NULL, NULL, '',    NULL, -300, NULL, NULL, 'LIST'),
 (9, 5, 'b_uint',  'UINT',  20, NULL, NULL, '',    NULL, 65000, NULL, NULL, 'STATIC'),
 (10, 5, 'b_dint', 'DINT',  22, NULL, NULL, '',    NULL, -70000, NULL, NULL, 'STATIC'),
 (11, 5, 'b_udint','UDINT', 26, NULL, NULL, '',    NULL, 4000000000, NULL, NULL, 'STATIC'),
 (12, 5, 'b_lint', 'LINT',  30, NULL, NULL, '',    NULL, -9000000000, NULL, NULL, 'STATIC'),
 (13, 5, 'b_ulint','ULINT', 38, NULL, NULL, '',    NULL, 9000000000, NULL, NULL, 'STATIC'),
 (14, 5, 'b_real', 'REAL',  46, NULL, NULL, '',    1.5, NULL, NULL, NULL, 'LIST'),
 (15, 5, 'b_lreal','LREAL', 50, NULL, NULL, '',    -2.25, NULL, NULL, NULL, 'STATIC'),
 (16, 5, 'b_char', 'CHAR',  58, NULL, NULL, '',    NULL, NULL, 'Z', NULL, 'STATIC'),
 (17, 5, 'b_str',  'STRING[n]', 59, NULL, 10, '',  NULL, NULL, 'hello', NULL, 'LIST');
INSERT INTO static_var_definitions (id, db_variable_id, description, int_value, float_value,
  static_type) VALUES
 (1, 1, 'TRUE', 1, NULL, 'BOOL'), (2, 1, 'FALSE', 0, NULL, 'BOOL'),
 (3, 8, 'Low', -300, NULL, 'INT'), (4, 8, 'High', 300, NULL, 'INT'),
 (5, 14, 'Half', NULL, 0.5, 'FLOAT'), (6, 14, 'One and a half', NULL, 1.5, 'FLOAT'),
 (7, 17, 'hello', NULL, NULL, 'STRING');
)sql";

std::string make_goprotos7_file(const std::string& dir) {
  const std::string f = dir + "/data.db";
  exec(f, std::string(goprotos7_ddl) + goprotos7_rows);
  return f;
}

std::vector<std::byte> be(std::uint64_t v, std::size_t n) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<std::byte>((v >> (8 * (n - 1 - i))) & 0xFF);
  return out;
}

// DB5 as goprotos7's build-datab.go lays it out, written out by hand.
std::vector<std::byte> expected_db5() {
  std::vector<std::byte> img(71);
  const auto put = [&](std::size_t at, const std::vector<std::byte>& b) {
    std::copy(b.begin(), b.end(), img.begin() + static_cast<std::ptrdiff_t>(at));
  };
  img[0] = std::byte{0x08};  // bit 3
  img[1] = std::byte{171};
  put(2, be(0x1234, 2));
  put(4, be(0x12345678, 4));
  put(8, be(0xFFFFFFFFFFFFFFFEULL, 8));
  img[16] = std::byte{0xFB};
  img[17] = std::byte{200};
  put(18, be(static_cast<std::uint16_t>(-300), 2));
  put(20, be(65000, 2));
  put(22, be(static_cast<std::uint32_t>(-70000), 4));
  put(26, be(4000000000U, 4));
  put(30, be(static_cast<std::uint64_t>(-9000000000LL), 8));
  put(38, be(9000000000ULL, 8));
  put(46, be(std::bit_cast<std::uint32_t>(1.5F), 4));
  put(50, be(std::bit_cast<std::uint64_t>(-2.25), 8));
  img[58] = std::byte{'Z'};
  img[59] = std::byte{10};  // STRING[10]: max, actual, 10 characters
  img[60] = std::byte{5};
  for (std::size_t i = 0; i < 5; ++i) img[61 + i] = static_cast<std::byte>("hello"[i]);
  return img;
}

std::string file_text(const std::string& f) {
  const auto b = read_file(f);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

TEST(goprotos7_db, opens_a_goprotos7_file_unchanged_with_every_type_in_goprotos7s_layout) {
  temp_dir d;
  const std::string f = make_goprotos7_file(d.path);
  const std::string before = file_text(f);
  const prepared_file p = prepare_file(f);
  EXPECT_FALSE(p.migrated);
  const catalog c = read_catalog(f);
  EXPECT_EQ(file_text(f), before);  // opened, not changed
  ASSERT_EQ(c.variables.size(), 17U);
  EXPECT_EQ(c.variables[16].type.name(), "STRING[10]");
  EXPECT_EQ(c.db_size(5), 71U);  // 59 + 10 + 2, goprotos7's createBuffer size
  EXPECT_EQ(render_db(c, 5), expected_db5());
}

TEST(goprotos7_db, reads_list_definitions_of_every_static_type) {
  temp_dir d;
  const catalog c = read_catalog(make_goprotos7_file(d.path));
  std::map<std::string, std::vector<list_entry>> states;
  for (const variable& v : c.variables) states[v.name] = v.states;
  EXPECT_EQ(states["b_bool"], (std::vector<list_entry>{{"TRUE", list_kind::boolean, 1, 0},
                                                       {"FALSE", list_kind::boolean, 0, 0}}));
  EXPECT_EQ(states["b_int"], (std::vector<list_entry>{{"Low", list_kind::integer, -300, 0},
                                                      {"High", list_kind::integer, 300, 0}}));
  EXPECT_EQ(states["b_real"],
            (std::vector<list_entry>{{"Half", list_kind::floating, 0, 0.5},
                                     {"One and a half", list_kind::floating, 0, 1.5}}));
  EXPECT_EQ(states["b_str"], (std::vector<list_entry>{{"hello", list_kind::text, 0, 0}}));
  EXPECT_EQ(c.state_count(), 7U);
}

TEST(goprotos7_db, the_sample_file_has_goprotos7s_schema_column_by_column) {
  temp_dir d;
  const std::string f = d.path + "/sample.db";
  create_sample_database(f);
  const std::string ref = d.path + "/ref.db";
  exec(ref, goprotos7_ddl);
  for (const char* table : {"db_variables", "static_var_definitions", "migrations"}) {
    // cid | name | declared type | notnull | default | pk
    const std::string q =
        std::string(
            "SELECT cid, name, upper(type), \"notnull\", dflt_value, pk FROM pragma_table_info('") +
        table + "')";
    EXPECT_EQ(rows(f, q), rows(ref, q)) << table;
  }
  EXPECT_EQ(rows(f, "SELECT id FROM migrations ORDER BY id"),
            (std::vector<std::string>{"createDbVariablesTable_1",
                                      "migrateCreateStaticVarDefinitions_1"}));
  // goprotos7's value conventions: 'STRING[n]' + length, bit_offset for BOOL only, LIST/STATIC.
  EXPECT_EQ(rows(f,
                 "SELECT data_type, length, bit_offset, var_type, str_val FROM db_variables WHERE "
                 "name = 'MachineName'"),
            (std::vector<std::string>{"STRING[n]|20|NULL|STATIC|GoProtoS7Emulator"}));
  EXPECT_EQ(rows(f,
                 "SELECT data_type, bit_offset, var_type, bool_val FROM db_variables WHERE name = "
                 "'TestVar'"),
            (std::vector<std::string>{"BOOL|0|LIST|1"}));
  EXPECT_EQ(rows(f,
                 "SELECT s.description, s.int_value, s.static_type FROM static_var_definitions s "
                 "JOIN db_variables v "
                 "ON v.id = s.db_variable_id WHERE v.name = 'MachineStatus' ORDER BY s.id"),
            (std::vector<std::string>{"Idle|0|INT", "Running|1|INT", "Critical|2|INT"}));
  const std::vector<std::string> types =
      rows(f, "SELECT DISTINCT data_type FROM db_variables ORDER BY 1");
  for (const std::string& t : types) {
    std::string why;
    EXPECT_TRUE(t == "STRING[n]" || (parse_type(t, why) && parse_type(t, why)->is_goprotos7()))
        << t;
  }
}

TEST(goprotos7_db, migrates_a_file_of_protos7s_first_schema_and_keeps_a_backup) {
  temp_dir d;
  const std::string f = d.path + "/protos7.db";
  exec(f, R"sql(
CREATE TABLE db_variables (id INTEGER PRIMARY KEY AUTOINCREMENT, db_number INTEGER NOT NULL, name
  TEXT NOT NULL,
  data_type TEXT NOT NULL, byte_offset INTEGER NOT NULL, bit_offset INTEGER NOT NULL DEFAULT 0,
  length INTEGER NOT NULL DEFAULT 0, description TEXT NOT NULL DEFAULT '', real_val REAL, int_val
    INTEGER,
  str_val TEXT, bool_val BOOLEAN, var_type TEXT NOT NULL DEFAULT '');
CREATE TABLE static_var_definitions (id INTEGER PRIMARY KEY AUTOINCREMENT, db_variable_id INTEGER
  NOT NULL
  REFERENCES db_variables(id) ON DELETE CASCADE, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE protos7_db_sizes (db_number INTEGER PRIMARY KEY, size INTEGER NOT NULL);
INSERT INTO protos7_db_sizes VALUES (200, 64);
INSERT INTO db_variables VALUES
 (20, 200, 'MachineStatus', 'INT', 0, 0, 0, 'status', NULL, 2, NULL, NULL, 'DB'),
 (21, 200, 'TestVar', 'BOOL', 2, 5, 0, 'TestVar', NULL, NULL, NULL, 1, 'DB'),
 (23, 200, 'MachineName', 'STRING[20]', 4, 0, 20, 'name', NULL, NULL, 'GoProtoS7', NULL, 'DB'),
 (24, 200, 'Uptime', 'TIME', 26, 0, 0, 'uptime', NULL, 90061001, NULL, NULL, 'DB');
INSERT INTO static_var_definitions (db_variable_id, name, value) VALUES (20, 'Idle', '0'), (20,
  'Critical', '2');
)sql");
  const std::string original = file_text(f);
  const catalog before_image = [&] {
    catalog c;
    return c;
  }();
  (void)before_image;
  const prepared_file p = prepare_file(f);
  ASSERT_TRUE(p.migrated);
  EXPECT_EQ(file_text(p.backup_path), original);
  const catalog c = read_catalog(f);  // a valid goprotos7 file now
  ASSERT_EQ(c.variables.size(), 4U);
  EXPECT_EQ(c.variables[0].states,
            (std::vector<list_entry>{{"Idle", list_kind::integer, 0, 0},
                                     {"Critical", list_kind::integer, 2, 0}}));
  EXPECT_EQ(c.variables[1].bit_offset, 5);
  EXPECT_EQ(c.variables[3].type.name(), "TIME");
  EXPECT_EQ(c.declared_sizes.at(200), 64U);
  EXPECT_EQ(rows(f, "SELECT id, data_type, length, var_type FROM db_variables ORDER BY id"),
            (std::vector<std::string>{"20|INT|NULL|LIST", "21|BOOL|NULL|STATIC",
                                      "23|STRING[n]|20|STATIC", "24|DINT|NULL|STATIC"}));
  EXPECT_EQ(rows(f, "SELECT db_variable_id, s7_type FROM protos7_variable_types"),
            (std::vector<std::string>{"24|TIME"}));
  // The bytes served do not change with the migration.
  const std::vector<std::byte> img = render_db(c, 200);
  EXPECT_EQ(img[1], std::byte{2});
  EXPECT_EQ(img[2], std::byte{0x20});
  EXPECT_EQ(img[4], std::byte{20});
  EXPECT_EQ(img[5], std::byte{9});
  EXPECT_EQ(std::vector<std::byte>(img.begin() + 26, img.begin() + 30), be(90061001, 4));
  EXPECT_FALSE(prepare_file(f).migrated);  // once
}

TEST(goprotos7_db,
     refuses_a_file_that_is_neither_naming_the_table_column_or_row_and_changes_nothing) {
  struct bad_case {
    const char* sql;
    const char* says;
  };
  const bad_case cases[] = {
      {"CREATE TABLE other (x INTEGER);", "no table db_variables"},
      {"CREATE TABLE db_variables (id INTEGER PRIMARY KEY, db_number INTEGER, name TEXT, data_type "
       "TEXT, "
       "byte_offset INTEGER); CREATE TABLE static_var_definitions (id INTEGER); CREATE TABLE "
       "migrations (id TEXT);",
       "table db_variables has no column bit_offset"},
      {"__DDL__ UPDATE db_variables SET data_type = 'QWORD' WHERE id = 3;",
       "row id 3 ('b_word'): unknown data_type 'QWORD'"},
      {"__DDL__ UPDATE db_variables SET data_type = 'TIME' WHERE id = 3;",
       "row id 3 ('b_word'): unknown data_type 'TIME'"},
      {"__DDL__ UPDATE db_variables SET length = NULL WHERE id = 17;",
       "row id 17 ('b_str'): a STRING needs its maximum length"},
      {"__DDL__ UPDATE db_variables SET var_type = 'DB' WHERE id = 2;",
       "row id 2 ('b_byte'): var_type 'DB'"},
      {"__DDL__ UPDATE db_variables SET byte_offset = 65535 WHERE id = 3;",
       "row id 3 ('b_word'): byte_offset 65535"},
      {"__DDL__ UPDATE static_var_definitions SET static_type = 'ENUM' WHERE id = 4;",
       "table static_var_definitions, row id 4: static_type 'ENUM'"},
      {"__DDL__ DROP TABLE migrations;", "no table migrations"},
  };
  for (const bad_case& bc : cases) {
    temp_dir d;
    const std::string f = d.path + "/bad.db";
    std::string sql = bc.sql;
    if (sql.starts_with("__DDL__"))
      sql = std::string(goprotos7_ddl) + goprotos7_rows + sql.substr(7);
    exec(f, sql);
    const std::string before = file_text(f);
    try {
      (void)prepare_file(f);
      ADD_FAILURE() << "accepted: " << bc.says;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(bc.says), std::string::npos) << e.what();
    }
    EXPECT_EQ(file_text(f), before) << bc.says;
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d.path),
                            std::filesystem::directory_iterator{}),
              1)
        << "no backup or temporary file for " << bc.says;
  }
}

TEST(goprotos7_db, a_column_of_the_wrong_kind_is_refused) {
  temp_dir d;
  const std::string f = d.path + "/bad.db";
  std::string ddl = goprotos7_ddl;
  ddl.replace(ddl.find("byte_offset INTEGER NOT NULL"), 28, "byte_offset TEXT NOT NULL");
  exec(f, ddl);
  try {
    (void)prepare_file(f);
    ADD_FAILURE() << "accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(
        std::string(e.what()).find("table db_variables, column byte_offset is declared 'TEXT'"),
        std::string::npos)
        << e.what();
  }
}

TEST(goprotos7_db, writes_keep_goprotos7s_columns_and_conventions) {
  temp_dir d;
  const std::string f = make_goprotos7_file(d.path);
  database db(f);
  std::string why;
  variable t;
  t.db = 5;
  t.name = "Runtime";
  t.type = *parse_type("TIME", why);
  t.byte_offset = 72;
  t.values.int_val = 1000;
  const std::int64_t id = db.insert(t);
  variable l;
  l.db = 5;
  l.name = "Ratio";
  l.type = *parse_type("LREAL", why);
  l.byte_offset = 76;
  l.values.real_val = 0.25;
  l.states = {{"Quarter", list_kind::floating, 0, 0.25}};
  const std::int64_t lid = db.insert(l);
  EXPECT_EQ(rows(f,
                 "SELECT data_type, bit_offset, length, var_type, int_val, real_val FROM "
                 "db_variables WHERE id = " +
                     std::to_string(id)),
            (std::vector<std::string>{"DINT|NULL|NULL|STATIC|1000|NULL"}));
  EXPECT_EQ(rows(f, "SELECT data_type, var_type, real_val FROM db_variables WHERE id = " +
                        std::to_string(lid)),
            (std::vector<std::string>{"LREAL|LIST|0.25"}));
  EXPECT_EQ(rows(f,
                 "SELECT description, int_value, float_value, static_type FROM "
                 "static_var_definitions WHERE "
                 "db_variable_id = " +
                     std::to_string(lid)),
            (std::vector<std::string>{"Quarter|NULL|0.25|FLOAT"}));
  // A value set from the web admin lands in goprotos7's value column of the type.
  db.set_values(2, *parse_type("BYTE", why),
                columns_from_bytes(*parse_type("BYTE", why), be(7, 1), 0));
  EXPECT_EQ(rows(f, "SELECT int_val, real_val, str_val, bool_val FROM db_variables WHERE id = 2"),
            (std::vector<std::string>{"7|NULL|NULL|NULL"}));
  db.remove(lid);
  EXPECT_TRUE(
      rows(f, "SELECT * FROM static_var_definitions WHERE db_variable_id = " + std::to_string(lid))
          .empty());
  const catalog c = read_catalog(f);
  EXPECT_EQ(c.variables.size(), 18U);
  EXPECT_EQ(c.variables.back().type.name(), "TIME");
}

TEST(goprotos7_db, process_definitions_live_in_a_side_table_goprotos7_does_not_read) {
  temp_dir d;
  const std::string f = make_goprotos7_file(d.path);
  const auto goprotos7_tables = [&] { return rows(f, "SELECT * FROM db_variables ORDER BY id"); };
  const std::vector<std::string> before = goprotos7_tables();
  database db(f);
  db.set_process(2, R"({"kind":"sine","min":0,"max":10,"period_s":5})");
  db.set_process(3, R"({"kind":"toggle","period_s":2})");
  db.set_process(3, R"({"kind":"toggle","period_s":4})");  // replaced
  EXPECT_EQ(rows(f, "SELECT db_variable_id, definition FROM protos7_process_variables ORDER BY 1"),
            (std::vector<std::string>{R"(2|{"kind":"sine","min":0,"max":10,"period_s":5})",
                                      R"(3|{"kind":"toggle","period_s":4})"}));
  // goprotos7's own tables are untouched: its dbtool reads the file as before.
  EXPECT_EQ(goprotos7_tables(), before);
  EXPECT_EQ(read_catalog(f).processes.size(), 2U);
  db.set_process(2, std::nullopt);
  db.remove(3);  // a deleted variable takes its definition along
  EXPECT_TRUE(rows(f, "SELECT * FROM protos7_process_variables").empty());
  EXPECT_TRUE(read_catalog(f).processes.empty());
}

TEST(goprotos7_db, value_columns_and_bytes_round_trip_for_every_type) {
  for (const std::string& name : type_names()) {
    std::string why;
    const type_spec t = *parse_type(name == "STRING[n]" ? "STRING[6]" : name, why);
    std::vector<std::byte> bytes(t.size());
    for (std::size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<std::byte>(0x11 * (i + 1));
    if (t.kind == s7_kind::string)
      bytes = {std::byte{6},   std::byte{3}, std::byte{'a'}, std::byte{'b'},
               std::byte{'c'}, std::byte{0}, std::byte{0},   std::byte{0}};
    if (t.is_bool()) bytes = {std::byte{1}};
    const value_columns c = columns_from_bytes(t, bytes, 0);
    EXPECT_EQ(bytes_from_columns(t, c), bytes) << name;
  }
}
