// Validation of variables (names, layout in the DB, named states) and the SQLite store against
// goprotos7's schema.
#include "protos7/webadmin/catalog.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "protos7/server/storage.hpp"

using namespace protos7::webadmin;

namespace {

var_def var(std::int64_t id, const char* name, const char* type, std::size_t byte,
            std::uint8_t bit = 0) {
  std::string why;
  var_def v;
  v.id = id;
  v.db = 200;
  v.name = name;
  v.type = *parse_type(type, why);
  v.byte_offset = byte;
  v.bit_offset = bit;
  return v;
}

struct temp_dir {
  std::string path;
  temp_dir() {
    std::string t = "/tmp/protos7-webcat-XXXXXX";
    path = ::mkdtemp(t.data());
  }
  ~temp_dir() { [[maybe_unused]] const int rc = std::system(("rm -rf '" + path + "'").c_str()); }
};

int count_rows(const std::string& db, const char* sql) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(h, sql, -1, &s, nullptr);
  int n = -1;
  if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(h);
  return n;
}

}  // namespace

TEST(check_name, accepts_goprotos7_names_and_refuses_sql_and_csv_metacharacters) {
  EXPECT_EQ(check_name("MachineStatus"), std::nullopt);
  EXPECT_EQ(check_name("Flags_Machine In Critical"), std::nullopt);
  EXPECT_EQ(check_name("_tmp.1-a"), std::nullopt);
  EXPECT_TRUE(check_name("x'; DROP TABLE db_variables; --"));
  EXPECT_NE(check_name("a\"b").value_or("").find("'\"' at position 2"), std::string::npos);
  EXPECT_TRUE(check_name("a;b"));
  EXPECT_TRUE(check_name("a=b"));
  EXPECT_TRUE(check_name("a%b"));
  EXPECT_TRUE(check_name("a\\b"));
  EXPECT_NE(check_name("a\nb").value_or("").find("0x0A"), std::string::npos);
  EXPECT_NE(check_name("1abc").value_or("").find("start with a letter"), std::string::npos);
  EXPECT_TRUE(check_name(""));
  EXPECT_TRUE(check_name("abc "));
  EXPECT_NE(check_name(std::string(65, 'a')).value_or("").find("at most 64"), std::string::npos);
  EXPECT_TRUE(check_name("caf\xC3\xA9"));
}

TEST(check_description, allows_text_but_not_control_characters_or_bad_utf8) {
  EXPECT_EQ(check_description("Oven temperature (°C); 'quoted' \"too\""), std::nullopt);
  EXPECT_TRUE(check_description("line\nbreak"));
  EXPECT_TRUE(check_description("\xFF"));
  EXPECT_TRUE(check_description(std::string(257, 'x')));
}

TEST(check_variable, refuses_overlaps_with_a_message_naming_the_other_variable) {
  const std::vector<var_def> others{var(1, "MachineStatus", "INT", 0), var(2, "Flag", "BOOL", 3, 0),
                                    var(3, "MachineName", "STRING[20]", 4)};
  const problem p = check_variable(var(0, "X", "DINT", 1), 64, others);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p.conflict);
  EXPECT_EQ(p.field, "byte_offset");
  EXPECT_EQ(p.message,
            "DINT at DB200.DBD1 overlaps 'MachineStatus' (INT at DB200.DBW0): bytes 0..1 are in "
            "use already");
  // Bits of one byte do not overlap each other, but a BOOL cannot share its byte with a BYTE.
  EXPECT_FALSE(check_variable(var(0, "Other", "BOOL", 3, 1), 64, others));
  EXPECT_TRUE(check_variable(var(0, "Same", "BOOL", 3, 0), 64, others));
  EXPECT_TRUE(check_variable(var(0, "B", "BYTE", 3), 64, others));
  EXPECT_TRUE(check_variable(var(0, "In", "BOOL", 25, 7), 64, others));  // inside the STRING
  EXPECT_FALSE(check_variable(var(0, "After", "BOOL", 26, 0), 64, others));
  // Editing a variable does not collide with itself.
  EXPECT_FALSE(check_variable(var(1, "MachineStatus", "INT", 0), 64, others));
}

TEST(check_variable, refuses_offsets_past_the_end_of_the_db) {
  const problem p = check_variable(var(0, "Late", "INT", 63), 64, {});
  ASSERT_TRUE(p);
  EXPECT_FALSE(p.conflict);
  EXPECT_EQ(p.message,
            "INT needs bytes 63..64 but DB200 has 64 bytes (0..63); choose a byte offset of at "
            "most 62 or resize DB200");
  EXPECT_FALSE(check_variable(var(0, "Last", "INT", 62), 64, {}));
  EXPECT_NE(check_variable(var(0, "B", "BYTE", 64), 64, {}).message.find("past the end of DB200"),
            std::string::npos);
  EXPECT_NE(check_variable(var(0, "S", "STRING[254]", 0), 100, {})
                .message.find("does not fit at any offset"),
            std::string::npos);
}

TEST(check_variable, bit_offsets_only_for_bool_and_duplicate_names) {
  EXPECT_EQ(check_variable(var(0, "I", "INT", 0, 3), 64, {}).field, "bit_offset");
  EXPECT_EQ(check_variable(var(0, "b", "BOOL", 0, 8), 64, {}).field, "bit_offset");
  const problem dup =
      check_variable(var(0, "machinestatus", "INT", 10), 64, {var(1, "MachineStatus", "INT", 0)});
  EXPECT_TRUE(dup.conflict);
  EXPECT_EQ(dup.field, "name");
}

named_state st(const char* name, std::int64_t value, list_kind kind = list_kind::integer) {
  return {name, kind, value, 0};
}

TEST(check_variable, named_states_fit_the_type_and_are_unique) {
  var_def v = var(0, "S", "INT", 0);
  v.states = {st("Idle", 0), st("Running", 1), st("Critical", 2)};
  EXPECT_FALSE(check_variable(v, 64, {}));
  v.states.push_back(st("Huge", 40000));
  EXPECT_EQ(check_variable(v, 64, {}).field, "states");
  v.states = {st("A", 1), st("a", 2)};
  EXPECT_NE(check_variable(v, 64, {}).message.find("given twice"), std::string::npos);
  v.states = {st("A", 1), st("B", 1)};
  EXPECT_NE(check_variable(v, 64, {}).message.find("two states have the value 1"),
            std::string::npos);
  v.states = {st("Bad;Name", 1)};
  EXPECT_TRUE(check_variable(v, 64, {}));
  var_def b = var(0, "B", "BOOL", 0);
  b.states = {st("Open", 1, list_kind::boolean), st("Closed", 0, list_kind::boolean)};
  EXPECT_FALSE(check_variable(b, 64, {}));
  b.states = {st("Two", 2, list_kind::boolean)};
  EXPECT_TRUE(check_variable(b, 64, {}));
  var_def r = var(0, "R", "REAL", 0);  // goprotos7's FLOAT definitions
  r.states = {{"Half", list_kind::floating, 0, 0.5}};
  EXPECT_FALSE(check_variable(r, 64, {}));
  var_def s =
      var(0, "Str", "STRING[8]", 0);  // goprotos7's STRING definitions: the label is the text
  s.states = {{"Recipe", list_kind::text, 0, 0}};
  EXPECT_FALSE(check_variable(s, 64, {}));
  var_def t = var(0, "T", "TIME", 0);
  t.states = {st("Zero", 0)};
  EXPECT_NE(check_variable(t, 64, {}).message.find("named states are for BOOL, whole numbers"),
            std::string::npos);
  var_def u = var(0, "U", "ULINT", 0);  // 64-bit values beyond int64 keep their bits
  u.states = {st("Max", -1)};
  EXPECT_FALSE(check_variable(u, 64, {}));
}

TEST(catalog_store, reads_the_sample_plc_with_its_named_states) {
  temp_dir d;
  const std::string path = d.path + "/p.db";
  protos7::server::create_sample_database(path);
  catalog_store s(path);
  const auto l = s.load();
  EXPECT_EQ(l.variables.size(), 48U);
  EXPECT_TRUE(l.skipped.empty());
  const auto it = std::find_if(l.variables.begin(), l.variables.end(),
                               [](const var_def& v) { return v.name == "MachineStatus"; });
  ASSERT_NE(it, l.variables.end());
  EXPECT_EQ(it->states,
            (std::vector<named_state>{st("Idle", 0), st("Running", 1), st("Critical", 2)}));
  EXPECT_EQ(l.sizes.at(200), 64U);
}

TEST(catalog_store, writes_rows_that_storage_cpp_renders_back) {
  temp_dir d;
  const std::string path = d.path + "/p.db";
  protos7::server::create_sample_database(path);
  std::int64_t id = 0;
  {
    catalog_store s(path);
    var_def v = var(0, "New'; DROP TABLE db_variables; --", "INT", 40);
    v.db = 2;
    v.description = "it's \"quoted\"";
    v.states = {st("Off", 0), st("On", 1)};
    initial_value iv;
    iv.int_val = -3;
    id = s.insert_variable(v, iv);  // bound parameters: stored as text, nothing executed
    s.set_db_size(9, 128);
  }
  EXPECT_EQ(count_rows(path, "SELECT count(*) FROM db_variables"), 49);
  // MachineStatus' three states, TRUE/FALSE of the sample's 17 BOOLs, the new Off/On.
  EXPECT_EQ(count_rows(path, "SELECT count(*) FROM static_var_definitions"), 3 + 17 * 2 + 2);
  const auto c = protos7::server::load_catalog(path);
  const auto img = protos7::server::render_db(c, 2);
  ASSERT_GE(img.size(), 42U);
  EXPECT_EQ(std::to_integer<int>(img[40]), 0xFF);
  EXPECT_EQ(std::to_integer<int>(img[41]), 0xFD);
  EXPECT_EQ(c.declared_sizes.at(9), 128U);
  {
    catalog_store s(path);
    s.delete_variable(id);
    s.delete_db(200);
  }
  EXPECT_EQ(count_rows(path, "SELECT count(*) FROM db_variables"), 42);
  // TRUE/FALSE of DB1's two BOOLs and of the 11 BOOLs of DB10, DB11, DB20, DB100.
  EXPECT_EQ(count_rows(path, "SELECT count(*) FROM static_var_definitions"), (2 + 11) * 2);
  EXPECT_EQ(count_rows(path, "SELECT count(*) FROM protos7_db_sizes WHERE db_number = 200"), 0);
}

TEST(catalog_store, migrates_a_file_of_protos7s_first_schema) {
  temp_dir d;
  const std::string path = d.path + "/old.db";
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(
                h,
                "CREATE TABLE db_variables (id INTEGER PRIMARY KEY, db_number INTEGER, name TEXT, "
                "data_type "
                "TEXT, byte_offset INTEGER);"
                "CREATE TABLE static_var_definitions (id INTEGER PRIMARY KEY, var_id INTEGER, name "
                "TEXT, value TEXT);"
                "INSERT INTO db_variables VALUES (1, 5, 'A', 'INT', 0), (2, 5, 'B', 'LREAL', 2);"
                "INSERT INTO static_var_definitions VALUES (1, 1, 'On', '1'), (2, 1, 'Off', '0');",
                nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(h);
  catalog_store s(path);
  const auto l = s.load();
  ASSERT_EQ(l.variables.size(), 2U);
  EXPECT_EQ(l.variables[0].states, (std::vector<named_state>{st("On", 1), st("Off", 0)}));
  EXPECT_EQ(l.variables[1].type.name(), "LREAL");
  EXPECT_EQ(::access((path + ".protos7-v1.bak").c_str(), F_OK), 0);
  var_def v = var(0, "C", "BOOL", 12, 2);
  v.db = 5;
  v.states = {st("Yes", 1, list_kind::boolean)};
  const std::int64_t id = s.insert_variable(v, {});
  EXPECT_GT(id, 2);
  EXPECT_EQ(s.load().variables.size(), 3U);
}

TEST(catalog_store, refuses_a_file_that_is_not_goprotos7) {
  temp_dir d;
  const std::string path = d.path + "/x.db";
  sqlite3* h = nullptr;
  sqlite3_open(path.c_str(), &h);
  sqlite3_exec(h, "CREATE TABLE t (a)", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  EXPECT_THROW(catalog_store{path}, std::runtime_error);
  EXPECT_THROW(catalog_store{d.path + "/missing.db"}, std::runtime_error);
}
