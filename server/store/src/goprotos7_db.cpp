#include "protos7/store/goprotos7_db.hpp"

#include <fmt/core.h>
#include <sys/stat.h>

#include <array>
#include <charconv>
#include <ctime>
#include <set>
#include <stdexcept>

#include "protos7/store/atomic_file.hpp"
#include "sqlite.hpp"

namespace protos7::store {

namespace {

// --- goprotos7's schema, written from the facts of its dbtool migrations ---------------------

constexpr std::string_view ddl_db_variables = R"sql(
create table db_variables
(
    id          INTEGER
        primary key autoincrement,
    db_number   INTEGER               not null,
    name        TEXT                  not null,
    data_type   TEXT                  not null,
    byte_offset INTEGER               not null,
    bit_offset  INTEGER,
    length      INTEGER,
    description TEXT,
    real_val    real,
    int_val     integer,
    str_val     text,
    bool_val    integer,
    var_type    text default 'STATIC' not null
);)sql";

constexpr std::string_view ddl_static_var_definitions = R"sql(
create table static_var_definitions
(
    id             integer            not null
        constraint static_var_definitions_pk
            primary key,
    db_variable_id integer            not null
        constraint static_var_definitions_db_variables_id_fk
            references db_variables
            on update cascade on delete cascade,
    description    text               not null,
    int_value      integer,
    float_value    integer,
    static_type    text default 'INT' not null,
    bit_offset     integer
);)sql";

// gormigrate's table and the ids of the two migrations that create the tables above.
constexpr std::string_view ddl_migrations =
    "CREATE TABLE migrations (id VARCHAR(255) PRIMARY KEY);"
    "INSERT INTO migrations (id) VALUES ('createDbVariablesTable_1'), "
    "('migrateCreateStaticVarDefinitions_1');";

constexpr std::string_view ddl_protos7 =
    "CREATE TABLE IF NOT EXISTS protos7_db_sizes (db_number INTEGER PRIMARY KEY, size INTEGER NOT "
    "NULL);"
    "CREATE TABLE IF NOT EXISTS protos7_variable_types (db_variable_id INTEGER PRIMARY KEY, "
    "s7_type TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS protos7_process_variables (db_variable_id INTEGER PRIMARY KEY, "
    "definition TEXT NOT NULL);";

struct column_rule {
  std::string_view table;
  std::string_view column;
  std::string_view affinities;  // accepted, '|'-separated
  std::string_view goprotos7;   // goprotos7's declaration
};

constexpr std::array<column_rule, 21> goprotos7_columns{{
    {"db_variables", "id", "INTEGER", "INTEGER"},
    {"db_variables", "db_number", "INTEGER|NUMERIC", "INTEGER"},
    {"db_variables", "name", "TEXT", "TEXT"},
    {"db_variables", "data_type", "TEXT", "TEXT"},
    {"db_variables", "byte_offset", "INTEGER|NUMERIC", "INTEGER"},
    {"db_variables", "bit_offset", "INTEGER|NUMERIC", "INTEGER"},
    {"db_variables", "length", "INTEGER|NUMERIC", "INTEGER"},
    {"db_variables", "description", "TEXT", "TEXT"},
    {"db_variables", "real_val", "REAL|NUMERIC", "real"},
    {"db_variables", "int_val", "INTEGER|NUMERIC", "integer"},
    {"db_variables", "str_val", "TEXT", "text"},
    {"db_variables", "bool_val", "INTEGER|NUMERIC", "integer"},
    {"db_variables", "var_type", "TEXT", "text"},
    {"static_var_definitions", "id", "INTEGER", "integer"},
    {"static_var_definitions", "db_variable_id", "INTEGER|NUMERIC", "integer"},
    {"static_var_definitions", "description", "TEXT", "text"},
    {"static_var_definitions", "int_value", "INTEGER|NUMERIC", "integer"},
    {"static_var_definitions", "float_value", "INTEGER|REAL|NUMERIC", "integer"},
    {"static_var_definitions", "static_type", "TEXT", "text"},
    {"static_var_definitions", "bit_offset", "INTEGER|NUMERIC", "integer"},
    {"migrations", "id", "TEXT|INTEGER|NUMERIC|BLOB", "varchar"},
}};

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  throw std::runtime_error(fmt::format("{}: {}", path, what));
}

bool accepted(std::string_view affinities, std::string_view a) {
  for (std::size_t at = 0; at <= affinities.size();) {
    const auto bar = affinities.find('|', at);
    const auto end = bar == std::string_view::npos ? affinities.size() : bar;
    if (affinities.substr(at, end - at) == a) return true;
    at = end + 1;
  }
  return false;
}

// Every goprotos7 table and column, each of the right kind. Throws naming the first problem.
void check_schema(sql::connection& c) {
  std::map<std::string, std::map<std::string, std::string>> tables;
  for (const column_rule& r : goprotos7_columns) {
    const std::string table(r.table);
    if (tables.count(table) == 0) {
      tables[table] = c.columns(table);
      if (tables[table].empty())
        refuse(c.path(),
               fmt::format("no table {} (not a goprotos7 database: goprotos7's dbtool creates "
                           "db_variables, static_var_definitions and migrations)",
                           table));
    }
    const auto& cols = tables[table];
    const auto it = cols.find(std::string(r.column));
    if (it == cols.end())
      refuse(c.path(), fmt::format("table {} has no column {} (goprotos7 declares it {})", r.table,
                                   r.column, r.goprotos7));
    const std::string_view a = sql::affinity(it->second);
    if (!accepted(r.affinities, a))
      refuse(
          c.path(),
          fmt::format("table {}, column {} is declared '{}' ({} affinity); goprotos7 declares it "
                      "{}",
                      r.table, r.column, it->second, a, r.goprotos7));
  }
}

// protos7's first schema: named values as static_var_definitions(name, value), or our sizes
// table without goprotos7's migrations table.
bool is_first_protos7_schema(sql::connection& c) {
  const auto defs = c.columns("static_var_definitions");
  if (defs.count("value") != 0 || defs.count("var_id") != 0) return true;
  return c.has_table("protos7_db_sizes") && !c.has_table("migrations");
}

// --- reading ------------------------------------------------------------------------------

struct row_context {
  const std::string& path;
  std::int64_t id;
  const std::string& name;
  [[noreturn]] void fail(const std::string& what) const {
    refuse(path,
           fmt::format("table db_variables, row id {} ('{}'): {}", id, name.substr(0, 64), what));
  }
};

// goprotos7's data_type names (+ 'STRING[n]', 'STRING' and 'STRING[20]' with the length).
type_spec goprotos7_type(const row_context& row, const std::string& data_type,
                         std::optional<std::int64_t> length) {
  std::string why;
  auto t =
      parse_type(data_type == "STRING[n]" || data_type == "STRING[N]" ? "STRING" : data_type, why);
  if (!t || !t->is_goprotos7())
    row.fail(fmt::format(
        "unknown data_type '{}' (goprotos7 knows BOOL, BYTE, WORD, DWORD, LWORD, SINT, USINT, "
        "INT, UINT, DINT, UDINT, LINT, ULINT, REAL, LREAL, CHAR and STRING[n])",
        data_type.substr(0, 40)));
  if (t->kind == s7_kind::string) {
    const bool bracket = data_type.find('[') != std::string::npos && data_type != "STRING[n]";
    if (length) {
      if (*length < 1 || *length > static_cast<std::int64_t>(max_string_length))
        row.fail(
            fmt::format("a STRING's length must be 1..{}, not {}", max_string_length, *length));
      t->string_length = static_cast<std::size_t>(*length);
    } else if (!bracket) {
      row.fail("a STRING needs its maximum length in column length (goprotos7 refuses it too)");
    }
  }
  return *t;
}

// The S7 type of the row: the protos7_variable_types entry when it matches the stored bytes.
type_spec s7_type(const type_spec& stored, const std::optional<std::string>& extra) {
  if (!extra) return stored;
  std::string why;
  const auto t = parse_type(*extra, why);
  if (!t || t->is_goprotos7() || t->goprotos7_type().kind != stored.kind) return stored;  // stale
  return *t;
}

void check_address(const row_context& row, std::int64_t db, std::int64_t off, std::int64_t bit,
                   const type_spec& t) {
  if (db < 1 || db > 65535) row.fail(fmt::format("db_number {} is outside 1..65535", db));
  if (off < 0 || off + static_cast<std::int64_t>(t.size()) > static_cast<std::int64_t>(max_db_size))
    row.fail(
        fmt::format("byte_offset {} puts the {} outside a DB of at most 64 KiB", off, t.name()));
  if (bit < 0 || bit > 7) row.fail(fmt::format("bit_offset {} is not a bit of a byte (0..7)", bit));
}

std::optional<bool> bool_column(const sql::statement& s, int col) {
  if (s.is_null(col)) return std::nullopt;
  const std::string t = s.text(col);
  if (t == "true" || t == "TRUE") return true;
  if (t == "false" || t == "FALSE") return false;
  return s.i64(col) != 0;
}

// Columns 1, 4, 7..11 of both readers' queries: DB, byte, description, the value columns.
void read_address_and_values(const row_context& row, const sql::statement& s, std::int64_t bit,
                             variable& v) {
  check_address(row, s.i64(1), s.i64(4), bit, v.type);
  v.db = static_cast<std::uint16_t>(s.i64(1));
  v.byte_offset = static_cast<std::size_t>(s.i64(4));
  v.bit_offset = static_cast<std::uint8_t>(bit);
  v.description = s.text(7);
  v.values = {s.opt_i64(9), s.opt_f64(8), s.opt_text(10), bool_column(s, 11)};
}

// One db_variables row of a goprotos7 file (columns in the order of read_variables' query).
variable goprotos7_row(const std::string& path, const sql::statement& s) {
  variable v;
  v.id = s.i64(0);
  v.name = s.text(2);
  const row_context row{path, v.id, v.name};
  const type_spec stored = goprotos7_type(row, s.text(3), s.opt_i64(6));
  v.type = s7_type(stored, s.opt_text(13));
  read_address_and_values(row, s, v.type.is_bool() ? s.opt_i64(5).value_or(0) : 0, v);
  const std::string var_type = s.text(12);
  if (var_type != "STATIC" && var_type != "LIST")
    row.fail(fmt::format("var_type '{}' is neither STATIC nor LIST", var_type.substr(0, 20)));
  return v;
}

std::vector<variable> read_variables(sql::connection& c) {
  const bool types = c.has_table("protos7_variable_types");
  sql::statement s(
      c, fmt::format("SELECT v.id, v.db_number, v.name, v.data_type, v.byte_offset, v.bit_offset, "
                     "v.length, v.description, v.real_val, v.int_val, v.str_val, v.bool_val, "
                     "v.var_type, {} FROM db_variables v {} "
                     "ORDER BY v.db_number, v.byte_offset, v.bit_offset, v.id",
                     types ? "t.s7_type" : "NULL",
                     types ? "LEFT JOIN protos7_variable_types t ON t.db_variable_id = v.id" : ""));
  std::vector<variable> out;
  while (s.step()) out.push_back(goprotos7_row(c.path(), s));
  return out;
}

list_entry goprotos7_state(const std::string& path, const sql::statement& s) {
  list_entry e;
  e.name = s.text(2);
  const std::string kind = s.text(5);
  if (kind == "INT") {
    e.kind = list_kind::integer;
    e.value = s.i64(3);
  } else if (kind == "FLOAT") {
    e.kind = list_kind::floating;
    e.fvalue = s.f64(4);
  } else if (kind == "BOOL") {
    e.kind = list_kind::boolean;
    e.value = s.i64(3) != 0 ? 1 : 0;
  } else if (kind == "STRING") {
    e.kind = list_kind::text;
  } else {
    refuse(path,
           fmt::format(
               "table static_var_definitions, row id {}: static_type '{}' is none of INT, FLOAT, "
               "STRING, BOOL",
               s.i64(0), kind.substr(0, 20)));
  }
  return e;
}

void read_states(sql::connection& c, std::vector<variable>& vars) {
  std::map<std::int64_t, variable*> by_id;
  for (variable& v : vars) by_id[v.id] = &v;
  sql::statement s(c,
                   "SELECT id, db_variable_id, description, int_value, float_value, static_type "
                   "FROM static_var_definitions ORDER BY id");
  while (s.step()) {
    list_entry e = goprotos7_state(c.path(), s);
    if (const auto it = by_id.find(s.i64(1)); it != by_id.end())
      it->second->states.push_back(std::move(e));
  }
}

std::map<std::uint16_t, std::size_t> read_sizes(sql::connection& c) {
  std::map<std::uint16_t, std::size_t> out;
  if (!c.has_table("protos7_db_sizes")) return out;
  sql::statement s(c, "SELECT db_number, size FROM protos7_db_sizes");
  while (s.step()) {
    const std::int64_t db = s.i64(0);
    const std::int64_t size = s.i64(1);
    if (db >= 1 && db <= 65535 && size > 0 && size <= static_cast<std::int64_t>(max_db_size))
      out[static_cast<std::uint16_t>(db)] = static_cast<std::size_t>(size);
  }
  return out;
}

// protos7_process_variables: the living process's definitions (rows of variables that exist).
std::map<std::int64_t, std::string> read_processes(sql::connection& c) {
  std::map<std::int64_t, std::string> out;
  if (!c.has_table("protos7_process_variables")) return out;
  sql::statement s(c,
                   "SELECT p.db_variable_id, p.definition FROM protos7_process_variables p "
                   "JOIN db_variables v ON v.id = p.db_variable_id");
  while (s.step()) out[s.i64(0)] = s.text(1);
  return out;
}

catalog read_goprotos7(sql::connection& c) {
  check_schema(c);
  catalog out;
  out.variables = read_variables(c);
  read_states(c, out.variables);
  out.declared_sizes = read_sizes(c);
  out.processes = read_processes(c);
  return out;
}

// --- protos7's first schema ---------------------------------------------------------------

std::string column_or(const std::map<std::string, std::string>& cols, const char* name,
                      const char* fallback) {
  return cols.count(name) != 0 ? std::string{name} : std::string{fallback};
}

variable first_schema_row(const std::string& path, const sql::statement& s) {
  variable v;
  v.id = s.i64(0);
  v.name = s.text(2);
  const row_context row{path, v.id, v.name};
  std::string why;
  std::string type_text = s.text(3);
  if (type_text == "STRING" && s.i64(6) > 0) type_text = fmt::format("STRING[{}]", s.i64(6));
  const auto t = parse_type(type_text, why);
  if (!t) row.fail(why);
  v.type = *t;
  read_address_and_values(row, s, v.type.is_bool() ? s.i64(5) : 0, v);
  return v;
}

void read_first_schema_states(sql::connection& c, std::vector<variable>& vars) {
  const auto cols = c.columns("static_var_definitions");
  if (cols.empty()) return;
  std::map<std::int64_t, variable*> by_id;
  for (variable& v : vars) by_id[v.id] = &v;
  sql::statement s(c, fmt::format("SELECT {}, name, value FROM static_var_definitions ORDER BY id",
                                  column_or(cols, "db_variable_id", "var_id")));
  while (s.step()) {
    const auto it = by_id.find(s.i64(0));
    if (it == by_id.end()) continue;
    const std::string value = s.text(2);
    list_entry e{s.text(1), it->second->type.is_bool() ? list_kind::boolean : list_kind::integer, 0,
                 0};
    if (value == "true" || value == "TRUE" || value == "false" || value == "FALSE") {
      e.value = value[0] == 't' || value[0] == 'T' ? 1 : 0;
    } else {
      std::int64_t n = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc{} || p != value.data() + value.size())
        refuse(c.path(),
               fmt::format("table static_var_definitions: the value '{}' of '{}' is not a number",
                           value.substr(0, 20), e.name.substr(0, 40)));
      e.value = n;
    }
    it->second->states.push_back(std::move(e));
  }
}

catalog read_first_schema(sql::connection& c) {
  const auto cols = c.columns("db_variables");
  for (const char* required : {"id", "db_number", "name", "data_type", "byte_offset"})
    if (cols.count(required) == 0)
      refuse(c.path(), fmt::format("table db_variables has no column {}", required));
  sql::statement s(
      c,
      fmt::format("SELECT id, db_number, name, data_type, byte_offset, {}, {}, {}, {}, {}, {}, {} "
                  "FROM db_variables ORDER BY db_number, byte_offset, id",
                  column_or(cols, "bit_offset", "0"), column_or(cols, "length", "0"),
                  column_or(cols, "description", "''"), column_or(cols, "real_val", "NULL"),
                  column_or(cols, "int_val", "NULL"), column_or(cols, "str_val", "NULL"),
                  column_or(cols, "bool_val", "NULL")));
  catalog out;
  while (s.step()) out.variables.push_back(first_schema_row(c.path(), s));
  read_first_schema_states(c, out.variables);
  out.declared_sizes = read_sizes(c);
  return out;
}

// --- writing ------------------------------------------------------------------------------

const char* static_type_name(list_kind k) {
  switch (k) {
    case list_kind::integer:
      return "INT";
    case list_kind::floating:
      return "FLOAT";
    case list_kind::text:
      return "STRING";
    case list_kind::boolean:
      return "BOOL";
  }
  return "INT";
}

void write_states(sql::connection& c, std::int64_t id, const std::vector<list_entry>& states) {
  sql::statement del(c, "DELETE FROM static_var_definitions WHERE db_variable_id = ?");
  del.bind(1, id).run();
  for (const list_entry& e : states) {
    sql::statement ins(
        c,
        "INSERT INTO static_var_definitions (db_variable_id, description, int_value, "
        "float_value, static_type) VALUES (?, ?, ?, ?, ?)");
    ins.bind(1, id).bind(2, e.name);
    if (e.kind == list_kind::integer || e.kind == list_kind::boolean)
      ins.bind(3, e.value);
    else
      ins.bind_null(3);
    if (e.kind == list_kind::floating)
      ins.bind(4, e.fvalue);
    else
      ins.bind_null(4);
    ins.bind(5, std::string_view{static_type_name(e.kind)}).run();
  }
}

void write_s7_type(sql::connection& c, std::int64_t id, const type_spec& t) {
  sql::statement del(c, "DELETE FROM protos7_variable_types WHERE db_variable_id = ?");
  del.bind(1, id).run();
  if (t.is_goprotos7()) return;
  sql::statement ins(c,
                     "INSERT INTO protos7_variable_types (db_variable_id, s7_type) VALUES (?, ?)");
  ins.bind(1, id).bind(2, std::string_view{t.name()}).run();
}

// Binds the definition columns 1..8 in the order of insert_row's and update_row's statements.
void bind_definition(sql::statement& s, const variable& v) {
  s.bind(1, std::int64_t{v.db}).bind(2, v.name).bind(3, std::string_view{v.type.goprotos7_name()});
  s.bind(4, static_cast<std::int64_t>(v.byte_offset));
  if (v.type.is_bool())
    s.bind(5, std::int64_t{v.bit_offset});
  else
    s.bind_null(5);
  if (v.type.kind == s7_kind::string)
    s.bind(6, static_cast<std::int64_t>(v.type.string_length));
  else
    s.bind_null(6);
  s.bind(7, v.description).bind(8, std::string_view{v.states.empty() ? "STATIC" : "LIST"});
}

// The value columns goprotos7 uses for the type; the others are NULL.
value_columns goprotos7_values(const type_spec& t, const value_columns& in) {
  const type_spec g = t.goprotos7_type();
  value_columns out;
  if (g.is_bool())
    out.bool_val = in.bool_val.value_or(false);
  else if (g.is_text())
    out.str_val = in.str_val.value_or(std::string{});
  else if (g.is_float())
    out.real_val = in.real_val.value_or(0.0);
  else
    out.int_val = in.int_val.value_or(0);
  return out;
}

void bind_values(sql::statement& s, int first, const type_spec& t, const value_columns& in) {
  const value_columns v = goprotos7_values(t, in);
  s.bind(first, v.real_val)
      .bind(first + 1, v.int_val)
      .bind(first + 2, v.str_val)
      .bind(first + 3, v.bool_val);
}

std::int64_t insert_row(sql::connection& c, const variable& v, bool keep_id) {
  sql::statement s(
      c,
      "INSERT INTO db_variables (db_number, name, data_type, byte_offset, bit_offset, length, "
      "description, var_type, real_val, int_val, str_val, bool_val, id) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  bind_definition(s, v);
  bind_values(s, 9, v.type, v.values);
  if (keep_id && v.id != 0)
    s.bind(13, v.id);
  else
    s.bind_null(13);
  s.run();
  const std::int64_t id = sqlite3_last_insert_rowid(c.get());
  write_states(c, id, v.states);
  write_s7_type(c, id, v.type);
  return id;
}

void update_row(sql::connection& c, const variable& v, bool with_values) {
  sql::statement s(
      c,
      "UPDATE db_variables SET db_number = ?, name = ?, data_type = ?, byte_offset = ?, "
      "bit_offset = ?, length = ?, description = ?, var_type = ? WHERE id = ?");
  bind_definition(s, v);
  s.bind(9, v.id).run();
  if (sqlite3_changes(c.get()) != 1)
    refuse(c.path(), fmt::format("variable {} does not exist", v.id));
  if (with_values) {
    sql::statement u(c,
                     "UPDATE db_variables SET real_val = ?, int_val = ?, str_val = ?, bool_val = ? "
                     "WHERE id = ?");
    bind_values(u, 1, v.type, v.values);
    u.bind(5, v.id).run();
  }
  write_states(c, v.id, v.states);
  write_s7_type(c, v.id, v.type);
}

void delete_row(sql::connection& c, std::int64_t id) {
  for (const char* q : {"DELETE FROM static_var_definitions WHERE db_variable_id = ?",
                        "DELETE FROM protos7_variable_types WHERE db_variable_id = ?",
                        "DELETE FROM protos7_process_variables WHERE db_variable_id = ?",
                        "DELETE FROM db_variables WHERE id = ?"}) {
    sql::statement s(c, q);
    s.bind(1, id).run();
  }
}

void write_size(sql::connection& c, std::uint16_t db, std::size_t size) {
  sql::statement s(c,
                   "INSERT INTO protos7_db_sizes (db_number, size) VALUES (?, ?) "
                   "ON CONFLICT(db_number) DO UPDATE SET size = excluded.size");
  s.bind(1, std::int64_t{db}).bind(2, static_cast<std::int64_t>(size)).run();
}

// A new goprotos7 file at `path` holding `cat` (ids kept), written beside it and renamed.
void write_new_file(const std::string& path, const catalog& cat) {
  temp_file tmp(path);
  {
    sql::connection c(tmp.path(), SQLITE_OPEN_READWRITE);
    c.exec("PRAGMA journal_mode=DELETE");
    sql::transaction t(c);
    c.exec(ddl_db_variables);
    c.exec(ddl_static_var_definitions);
    c.exec(ddl_migrations);
    c.exec(ddl_protos7);
    for (const variable& v : cat.variables) insert_row(c, v, true);
    for (const auto& [db, size] : cat.declared_sizes) write_size(c, db, size);
    t.commit();
  }
  ::fchmod(tmp.fd(), 0644);
  tmp.rename_to(path);
}

std::string backup_name(const std::string& path) {
  std::string name = path + ".protos7-v1.bak";
  struct stat st {};
  if (::stat(name.c_str(), &st) == 0)
    name = fmt::format("{}.protos7-v1.{}.bak", path, std::time(nullptr));
  return name;
}

}  // namespace

prepared_file prepare_file(const std::string& path) {
  catalog old;
  {
    sql::connection c(path, SQLITE_OPEN_READONLY);
    if (!c.has_table("db_variables"))
      refuse(path,
             "no table db_variables (not a goprotos7 database: goprotos7's dbtool creates "
             "db_variables, "
             "static_var_definitions and migrations)");
    if (!is_first_protos7_schema(c)) {
      (void)read_goprotos7(c);  // every column and row checked
      return {};
    }
    old = read_first_schema(c);
  }
  prepared_file out{true, backup_name(path)};
  write_file_atomically(out.backup_path, read_file(path));
  write_new_file(path, old);
  return out;
}

catalog read_catalog(const std::string& path) {
  sql::connection c(path, SQLITE_OPEN_READONLY);
  return read_goprotos7(c);
}

void create_sample_database(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0)
    throw std::runtime_error(fmt::format("{} already exists", path));
  write_new_file(path, sample_catalog());
}

// --- the web admin's handle ---------------------------------------------------------------

struct database::impl {
  sql::connection c;
  explicit impl(const std::string& path) : c(path, SQLITE_OPEN_READWRITE) {}
};

database::database(const std::string& path) : path_(path) {
  (void)prepare_file(path);
  impl_ = std::make_unique<impl>(path);
  // EXTRA: the rollback journal's deletion is synced too, so a commit survives power loss.
  impl_->c.exec("PRAGMA synchronous=EXTRA");
  impl_->c.exec(ddl_protos7);
}

database::~database() = default;

catalog database::load() {
  return read_goprotos7(impl_->c);
}

std::int64_t database::insert(const variable& v) {
  sql::transaction t(impl_->c);
  const std::int64_t id = insert_row(impl_->c, v, false);
  t.commit();
  return id;
}

void database::update(const variable& v, bool with_values) {
  sql::transaction t(impl_->c);
  update_row(impl_->c, v, with_values);
  t.commit();
}

void database::set_values(std::int64_t id, const type_spec& type, const value_columns& values) {
  sql::transaction t(impl_->c);
  sql::statement u(impl_->c,
                   "UPDATE db_variables SET real_val = ?, int_val = ?, str_val = ?, bool_val = ? "
                   "WHERE id = ?");
  bind_values(u, 1, type, values);
  u.bind(5, id).run();
  t.commit();
}

void database::remove(std::int64_t id) {
  sql::transaction t(impl_->c);
  delete_row(impl_->c, id);
  t.commit();
}

void database::set_process(std::int64_t id, const std::optional<std::string>& definition) {
  sql::transaction t(impl_->c);
  if (definition) {
    sql::statement s(impl_->c,
                     "INSERT INTO protos7_process_variables (db_variable_id, definition) "
                     "VALUES (?, ?) "
                     "ON CONFLICT(db_variable_id) DO UPDATE SET definition = excluded.definition");
    s.bind(1, id).bind(2, std::string_view(*definition)).run();
  } else {
    sql::statement s(impl_->c, "DELETE FROM protos7_process_variables WHERE db_variable_id = ?");
    s.bind(1, id).run();
  }
  t.commit();
}

void database::set_db_size(std::uint16_t db, std::size_t size) {
  sql::transaction t(impl_->c);
  write_size(impl_->c, db, size);
  t.commit();
}

void database::delete_db(std::uint16_t db) {
  sql::transaction t(impl_->c);
  std::vector<std::int64_t> ids;
  {
    sql::statement s(impl_->c, "SELECT id FROM db_variables WHERE db_number = ?");
    s.bind(1, std::int64_t{db});
    while (s.step()) ids.push_back(s.i64(0));
  }
  for (const std::int64_t id : ids) delete_row(impl_->c, id);
  sql::statement s(impl_->c, "DELETE FROM protos7_db_sizes WHERE db_number = ?");
  s.bind(1, std::int64_t{db}).run();
  t.commit();
}

std::vector<std::int64_t> database::replace_db(std::uint16_t db,
                                               const std::vector<std::pair<variable, bool>>& vars) {
  sql::transaction t(impl_->c);
  std::set<std::int64_t> keep;
  for (const auto& [v, with_values] : vars)
    if (v.id != 0) keep.insert(v.id);
  std::vector<std::int64_t> existing;
  {
    sql::statement s(impl_->c, "SELECT id FROM db_variables WHERE db_number = ?");
    s.bind(1, std::int64_t{db});
    while (s.step()) existing.push_back(s.i64(0));
  }
  for (const std::int64_t id : existing)
    if (keep.count(id) == 0) delete_row(impl_->c, id);
  std::vector<std::int64_t> ids;
  for (const auto& [v, with_values] : vars) {
    if (v.id != 0) update_row(impl_->c, v, with_values);
    ids.push_back(v.id != 0 ? v.id : insert_row(impl_->c, v, false));
  }
  t.commit();
  return ids;
}

}  // namespace protos7::store
