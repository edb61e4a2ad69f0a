// goprotos7-compatible storage: SQLite variable definitions, DB<n>.bin files, generation.
#include "protos7/server/storage.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "protos7/server/app.hpp"
#include "test_client.hpp"

using namespace protos7::server;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    std::string t = "/tmp/protos7-test-XXXXXX";
    path = ::mkdtemp(t.data());
  }
  ~temp_dir() { [[maybe_unused]] const int rc = std::system(("rm -rf '" + path + "'").c_str()); }
};

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void exec(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "");
  sqlite3_free(err);
  sqlite3_close(h);
}

// goprotos7's schema as its dbtool migrations create it (the store's tests check every column).
const char* goprotos7_schema = R"(
CREATE TABLE db_variables (id INTEGER PRIMARY KEY AUTOINCREMENT, db_number INTEGER NOT NULL, name
  TEXT NOT NULL,
  data_type TEXT NOT NULL, byte_offset INTEGER NOT NULL, bit_offset INTEGER, length INTEGER,
    description TEXT,
  real_val real, int_val integer, str_val text, bool_val integer, var_type text DEFAULT 'STATIC'
    NOT NULL);
CREATE TABLE static_var_definitions (id integer NOT NULL PRIMARY KEY, db_variable_id integer NOT
  NULL
  REFERENCES db_variables ON UPDATE CASCADE ON DELETE CASCADE, description text NOT NULL, int_value
    integer,
  float_value integer, static_type text DEFAULT 'INT' NOT NULL, bit_offset integer);
CREATE TABLE migrations (id varchar(255) PRIMARY KEY);
INSERT INTO migrations VALUES ('createDbVariablesTable_1'), ('migrateCreateStaticVarDefinitions_1');
)";

}  // namespace

TEST(storage, loads_goprotos7_database_and_generates_missing_bin) {
  temp_dir d;
  const std::string db = d.path + "/goprotos7.db";
  exec(db, goprotos7_schema);
  exec(db, R"(INSERT INTO db_variables VALUES
    (1, 200, 'MachineStatus', 'INT', 0, NULL, NULL, 'status', NULL, 2, NULL, NULL, 'LIST'),
    (2, 200, 'TestVar', 'BOOL', 2, 0, NULL, '', NULL, NULL, NULL, 1, 'LIST'),
    (3, 200, 'Crit', 'BOOL', 2, 3, NULL, '', NULL, NULL, NULL, 1, 'LIST'),
    (4, 200, 'MachineName', 'STRING[n]', 4, NULL, 20, '', NULL, NULL, 'GoProtoS7Emulator', NULL,
      'STATIC'),
    (5, 200, 'Temp', 'REAL', 26, NULL, NULL, '', 1.5, NULL, NULL, NULL, 'STATIC'),
    (6, 7, 'Big', 'DINT', 0, NULL, NULL, '', NULL, -2, NULL, NULL, 'STATIC');
    INSERT INTO static_var_definitions (id, db_variable_id, description, int_value, static_type)
      VALUES (1, 1, 'Idle', 0, 'INT'), (2, 1, 'Running', 1, 'INT'), (3, 1, 'Critical', 2,
        'INT');)");
  const catalog c = load_catalog(db);
  ASSERT_EQ(c.variables.size(), 6U);
  ASSERT_EQ(c.state_count(), 3U);
  ASSERT_EQ(c.variables[1].name, "MachineStatus");  // DB7 first: ordered by DB, byte, bit
  ASSERT_EQ(c.variables[1].states.size(), 3U);
  EXPECT_EQ(c.variables[1].states[2].name, "Critical");
  EXPECT_EQ(c.variables[1].states[2].value, 2);
  // DB7.bin exists already with 8 bytes: kept as is (the file is authoritative).
  {
    std::ofstream f(d.path + "/DB7.bin", std::ios::binary);
    f << std::string(8, '\x11');
  }
  EXPECT_EQ(generate_missing_bins(c, d.path), 1U);
  const std::string bin = read_file(d.path + "/DB200.bin");
  ASSERT_EQ(bin.size(), 30U);  // REAL at 26..29
  EXPECT_EQ(p7test::to_hex(std::as_bytes(std::span(bin.data(), bin.size()))),
            "0002"                                      // INT 2, big-endian
            "0900"                                      // 2.0 and 2.3 set
            "1411"                                      // STRING[20]: max 20, actual 17
            "476f50726f746f5337456d756c61746f72000000"  // chars, unused 0
            "3fc00000");                                // REAL 1.5
  EXPECT_EQ(read_file(d.path + "/DB7.bin"), std::string(8, '\x11'));
  std::size_t entries = 0;  // goprotos7.db, DB7.bin, DB200.bin: no temporary file is left
  for (const auto& e : std::filesystem::directory_iterator(d.path))
    entries += e.is_regular_file() ? 1U : 0U;
  EXPECT_EQ(entries, 3U);

  plc_memory mem{area_sizes{}};
  EXPECT_EQ(load_bins(d.path, mem), 2U);
  ASSERT_NE(mem.find_db(200), nullptr);
  EXPECT_EQ(mem.find_db(200)->size(), 30U);
  EXPECT_EQ(mem.find_db(7)->size(), 8U);
  EXPECT_EQ(mem.find_db(8), nullptr);
}

TEST(storage, ignores_files_that_are_not_db_bins) {
  temp_dir d;
  for (const char* n :
       {"DB0.bin", "DB070000.bin", "DB01.bin", "DBx.bin", "DB5.bin.tmp", "db5.bin"}) {
    std::ofstream f(d.path + "/" + n, std::ios::binary);
    f << "abcd";
  }
  plc_memory mem{area_sizes{}};
  EXPECT_EQ(load_bins(d.path, mem), 0U);
}

TEST(storage, sample_plc_is_created_from_the_embedded_seed) {
  temp_dir d;
  serve_options opt;
  opt.data_dir = d.path + "/data";
  plc_memory mem{area_sizes{}};
  set_log_level(log_level::off);
  prepare_storage(opt, mem);
  ASSERT_NE(mem.find_db(1), nullptr);
  EXPECT_EQ(mem.find_db(1)->size(), 256U);
  ASSERT_NE(mem.find_db(2), nullptr);
  ASSERT_NE(mem.find_db(200), nullptr);
  const auto db200 = mem.find_db(200)->bytes();
  EXPECT_EQ(p7test::to_hex(db200.first(24)),
            "000001001411"
            "476f50726f746f5337456d756c61746f7200");
  // The sample program's instance DBs and the watch table DB (issue #13).
  const std::pair<std::uint16_t, std::size_t> program_dbs[] = {
      {10, 16}, {11, 16}, {20, 22}, {100, 40}};
  for (const auto& [n, size] : program_dbs) {
    ASSERT_NE(mem.find_db(n), nullptr) << n;
    EXPECT_EQ(mem.find_db(n)->size(), size) << n;
  }
  const auto db100 = mem.find_db(100)->bytes();
  EXPECT_EQ(p7test::to_hex(db100.subspan(4, 2)), "0200");                 // Level INT 512
  EXPECT_EQ(p7test::to_hex(db100.subspan(22, 9)), "100770726f746f7337");  // STRING[16] "protos7"
  const catalog c = load_catalog(opt.data_dir + "/protos7.db");
  EXPECT_EQ(c.state_count(), 3U + 17 * 2);  // MachineStatus' three, TRUE/FALSE of each BOOL
  // A second start reuses the files.
  plc_memory again{area_sizes{}};
  prepare_storage(opt, again);
  EXPECT_EQ(again.dbs().size(), 7U);  // DB1, DB2, DB10, DB11, DB20, DB100, DB200
}

TEST(storage, explicit_missing_sqlite_path_is_an_error) {
  temp_dir d;
  serve_options opt;
  opt.sqlite_path = d.path + "/nope.db";
  opt.db_bin_path = d.path;
  plc_memory mem{area_sizes{}};
  EXPECT_THROW(prepare_storage(opt, mem), std::runtime_error);
}

TEST(storage, parse_duration) {
  EXPECT_EQ(parse_duration("60s"), std::chrono::milliseconds(60000));
  EXPECT_EQ(parse_duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(parse_duration("2m"), std::chrono::milliseconds(120000));
  EXPECT_EQ(parse_duration("7"), std::chrono::milliseconds(7000));
  EXPECT_EQ(parse_duration("0"), std::chrono::milliseconds(0));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("10parsecs"));
}

TEST(storage, listen_error_names_both_fixes) {
  config cfg;
  const std::string t = listen_error_text(EACCES, cfg);
  EXPECT_NE(t.find("--port 1102"), std::string::npos);
  EXPECT_NE(t.find("setcap cap_net_bind_service=+ep"), std::string::npos);
}
