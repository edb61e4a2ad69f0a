#include "protos7/webadmin/catalog.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <set>
#include <stdexcept>

namespace protos7::webadmin {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7F) return fmt::format("'{}'", c);
  if (c == ' ') return "a space";
  return fmt::format("the byte 0x{:02X}", u);
}

std::uint64_t get_be(std::span<const std::byte> b) {
  std::uint64_t v = 0;
  for (const std::byte x : b) v = (v << 8U) | std::to_integer<std::uint64_t>(x);
  return v;
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Validation

std::string check_name(std::string_view name, std::string_view what) {
  if (name.empty()) return fmt::format("the {} is empty", what);
  if (name.size() > max_name_length)
    return fmt::format("the {} is {} characters long; at most {} are allowed", what, name.size(), max_name_length);
  if (!is_letter(name[0]) && name[0] != '_')
    return fmt::format("the {} must start with a letter or '_', not {}", what, printable(name[0]));
  if (name.back() == ' ') return fmt::format("the {} ends with a space", what);
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (is_letter(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == ' ') continue;
    return fmt::format("the {} contains {} at position {}; use letters, digits, spaces, '_', '-' and '.' only",
                       what, printable(c), i + 1);
  }
  return {};
}

std::string check_description(std::string_view text) {
  // Valid UTF-8 (structure and no overlong forms are enough here: the text is only stored and
  // shown), no control characters.
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const std::size_t n = b < 0x80 ? 1 : (b & 0xE0U) == 0xC0U && b >= 0xC2 ? 2 : (b & 0xF0U) == 0xE0U ? 3 : (b & 0xF8U) == 0xF0U && b <= 0xF4 ? 4 : 0;
    if (n == 0 || i + n > text.size()) return "the description is not valid UTF-8";
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0U) != 0x80U) return "the description is not valid UTF-8";
    if (b < 0x20 || b == 0x7F) return "the description contains a control character (line breaks and tabs included)";
    i += n;
    ++chars;
  }
  if (chars > max_description_length)
    return fmt::format("the description is {} characters long; at most {} are allowed", chars, max_description_length);
  return {};
}

problem check_variable(const var_def& v, std::size_t db_size, const std::vector<var_def>& others) {
  if (std::string e = check_name(v.name); !e.empty()) return {e, "name"};
  if (std::string e = check_description(v.description); !e.empty()) return {e, "description"};
  const std::string tn = v.type.name();
  if (v.type.is_bool()) {
    if (v.bit_offset > 7) return {fmt::format("bit_offset {} is not a bit of a byte (0..7)", v.bit_offset), "bit_offset"};
  } else if (v.bit_offset != 0) {
    return {fmt::format("bit_offset applies to BOOL only; a {} starts at a whole byte (bit_offset 0)", tn), "bit_offset"};
  }
  if (v.end_byte() > db_size) {
    if (v.type.size() == 1)
      return {fmt::format("byte {} is past the end of DB{} ({} bytes: 0..{}); choose a byte offset of at most {} "
                         "or resize DB{}",
                         v.byte_offset, v.db, db_size, db_size - 1, db_size - 1, v.db),
              "byte_offset"};
    return {fmt::format("{} needs bytes {}..{} but DB{} has {} bytes (0..{}); {} or resize DB{}", tn, v.byte_offset,
                       v.end_byte() - 1, v.db, db_size, db_size - 1,
                       db_size >= v.type.size() ? fmt::format("choose a byte offset of at most {}", db_size - v.type.size())
                                                : std::string{"it does not fit at any offset"},
                       v.db),
            "byte_offset"};
  }
  const std::string lname = lower(v.name);
  for (const var_def& o : others) {
    if (o.id == v.id && v.id != 0) continue;
    if (o.db != v.db) continue;
    if (lower(o.name) == lname)
      return {fmt::format("DB{} already has a variable named '{}' ({})", v.db, o.name, o.address()), "name", true};
    if (v.first_bit() < o.end_bit() && o.first_bit() < v.end_bit()) {
      const std::string where =
          o.type.is_bool() && v.type.is_bool()
              ? fmt::format("bit {}.{} is", o.byte_offset, o.bit_offset)
              : fmt::format("byte{} {} in use", o.type.size() > 1 ? "s" : "",
                            o.type.size() > 1 ? fmt::format("{}..{} are", o.byte_offset, o.end_byte() - 1)
                                              : fmt::format("{} is", o.byte_offset));
      return {fmt::format("{} at {} overlaps '{}' ({} at {}): {} already", tn, v.address(), o.name, o.type.name(),
                          o.address(), where),
              "byte_offset", true};
    }
  }
  if (!v.states.empty() && !v.type.has_states())
    return {fmt::format("named states are for INT and BOOL variables, not {}", tn), "states"};
  if (v.states.size() > max_states)
    return {fmt::format("{} named states given; at most {} are allowed", v.states.size(), max_states), "states"};
  std::set<std::string> state_names;
  std::set<std::int64_t> state_values;
  for (const named_state& s : v.states) {
    if (std::string e = check_name(s.name, "state name"); !e.empty())
      return {fmt::format("{} ('{}')", e, s.name.substr(0, 40)), "states"};
    if (v.type.is_bool() ? (s.value != 0 && s.value != 1) : (s.value < -32768 || s.value > 32767))
      return {fmt::format("state '{}' has the value {}, outside the range of {} ({})", s.name, s.value, tn,
                          v.type.is_bool() ? "0 or 1" : "-32768..32767"),
              "states"};
    if (!state_names.insert(lower(s.name)).second) return {fmt::format("the state name '{}' is given twice", s.name), "states"};
    if (!state_values.insert(s.value).second) return {fmt::format("two states have the value {}", s.value), "states"};
  }
  return {};
}

initial_value initial_from_bytes(const type_spec& t, std::span<const std::byte> bytes, std::uint8_t bit) {
  initial_value iv;
  if (bytes.size() != t.size()) return iv;
  const decoded_value d = decode_value(t, bytes, bit);
  switch (t.kind) {
    case s7_kind::boolean: iv.bool_val = d.value.is_boolean() && d.value.get<bool>(); break;
    case s7_kind::real: iv.real_val = static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(get_be(bytes)))); break;
    case s7_kind::integer: iv.int_val = static_cast<std::int16_t>(static_cast<std::uint16_t>(get_be(bytes))); break;
    case s7_kind::dinteger:
    case s7_kind::time: iv.int_val = static_cast<std::int32_t>(static_cast<std::uint32_t>(get_be(bytes))); break;
    case s7_kind::string:
    case s7_kind::character:
      iv.str_val = d.value.is_string() ? d.value.get<std::string>() : std::string{};
      if (t.kind == s7_kind::character) iv.int_val = std::to_integer<std::int64_t>(bytes[0]);
      break;
    case s7_kind::date_and_time:
      // storage.cpp cannot render DATE_AND_TIME; the text keeps the value readable.
      if (d.value.is_string()) iv.str_val = d.value.get<std::string>();
      break;
    default:
      // BYTE, WORD, DWORD, DATE, TIME_OF_DAY, S5TIME: the raw big-endian word, which is what
      // render_db writes back.
      iv.int_val = static_cast<std::int64_t>(get_be(bytes));
      break;
  }
  return iv;
}

// ------------------------------------------------------------------------------------------
// SQLite

class catalog_store::stmt {
 public:
  stmt(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK)
      throw std::runtime_error(fmt::format("SQLite: {}: {}", sql, sqlite3_errmsg(db)));
  }
  ~stmt() { sqlite3_finalize(s_); }
  stmt(const stmt&) = delete;
  stmt& operator=(const stmt&) = delete;

  stmt& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  stmt& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  stmt& bind(int i, double v) {
    check(sqlite3_bind_double(s_, i, v));
    return *this;
  }
  stmt& bind_null(int i) {
    check(sqlite3_bind_null(s_, i));
    return *this;
  }
  template <class T>
  stmt& bind_opt(int i, const std::optional<T>& v) {
    if (!v) return bind_null(i);
    if constexpr (std::is_same_v<T, bool>) return bind(i, std::int64_t{*v ? 1 : 0});
    else return bind(i, *v);
  }
  // true: a row; false: done.
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(fmt::format("SQLite: {}", sqlite3_errmsg(db_)));
  }
  void run() {
    while (step()) {
    }
  }
  [[nodiscard]] std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  [[nodiscard]] std::string text(int col) const {
    const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return t == nullptr ? std::string{} : std::string{t, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))};
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) throw std::runtime_error(fmt::format("SQLite bind: {}", sqlite3_errmsg(db_)));
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolled back when destroyed uncommitted (an exception).
class catalog_store::txn {
 public:
  explicit txn(catalog_store& c) : c_(c) { c_.exec("BEGIN IMMEDIATE"); }
  ~txn() {
    if (!done_) sqlite3_exec(c_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  txn(const txn&) = delete;
  txn& operator=(const txn&) = delete;
  void commit() {
    c_.exec("COMMIT");
    done_ = true;
  }

 private:
  catalog_store& c_;
  bool done_ = false;
};

void catalog_store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw std::runtime_error(fmt::format("SQLite: {}: {}", sql, msg));
  }
}

catalog_store::catalog_store(const std::string& sqlite_path) : path_(sqlite_path) {
  const int rc = sqlite3_open_v2(sqlite_path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(fmt::format("cannot open SQLite database {} for writing: {}", sqlite_path, msg));
  }
  try {
    init_schema();
  } catch (...) {
    sqlite3_close(db_);  // the destructor does not run when the constructor throws
    db_ = nullptr;
    throw;
  }
}

void catalog_store::init_schema() {
  const std::string& sqlite_path = path_;
  sqlite3_busy_timeout(db_, 2000);
  // Durability: a committed change survives a crash or power loss (FULL syncs the journal and
  // the database at every commit).
  exec("PRAGMA synchronous=FULL");
  const auto columns = [&](const char* table) {
    std::set<std::string> cols;
    stmt s(db_, fmt::format("PRAGMA table_info({})", table));  // table: a constant of this file
    while (s.step()) cols.insert(s.text(1));
    return cols;
  };
  auto vcols = columns("db_variables");
  if (vcols.empty()) throw std::runtime_error(fmt::format("{}: no table db_variables (not a goprotos7 database)", sqlite_path));
  for (const char* required : {"id", "db_number", "name", "data_type", "byte_offset"})
    if (vcols.count(required) == 0)
      throw std::runtime_error(fmt::format("{}: db_variables has no column {}", sqlite_path, required));
  // Columns of the current goprotos7 schema that older files may lack.
  static constexpr std::pair<const char*, const char*> optional_columns[] = {
      {"bit_offset", "INTEGER NOT NULL DEFAULT 0"}, {"length", "INTEGER NOT NULL DEFAULT 0"},
      {"description", "TEXT NOT NULL DEFAULT ''"},  {"real_val", "REAL"},
      {"int_val", "INTEGER"},                       {"str_val", "TEXT"},
      {"bool_val", "BOOLEAN"},                      {"var_type", "TEXT NOT NULL DEFAULT ''"},
  };
  for (const auto& [name, decl] : optional_columns)
    if (vcols.count(name) == 0) exec(fmt::format("ALTER TABLE db_variables ADD COLUMN {} {}", name, decl).c_str());
  const auto scols = columns("static_var_definitions");
  if (scols.empty()) {
    exec("CREATE TABLE static_var_definitions (id INTEGER PRIMARY KEY AUTOINCREMENT, db_variable_id INTEGER NOT NULL "
         "REFERENCES db_variables(id) ON DELETE CASCADE, name TEXT NOT NULL, value TEXT NOT NULL)");
    state_ref_ = "db_variable_id";
  } else {
    state_ref_ = scols.count("db_variable_id") != 0 ? "db_variable_id" : "var_id";
  }
  exec("CREATE TABLE IF NOT EXISTS protos7_db_sizes (db_number INTEGER PRIMARY KEY, size INTEGER NOT NULL)");
}

catalog_store::~catalog_store() { sqlite3_close(db_); }

catalog_store::loaded catalog_store::load() {
  loaded out;
  std::map<std::int64_t, std::size_t> index;
  {
    stmt s(db_,
           "SELECT id, db_number, name, data_type, byte_offset, bit_offset, length, description FROM db_variables "
           "ORDER BY db_number, byte_offset, bit_offset, id");
    while (s.step()) {
      var_def v;
      v.id = s.i64(0);
      const std::int64_t dbn = s.i64(1);
      v.name = s.text(2);
      const std::string type_text = s.text(3);
      const std::int64_t off = s.i64(4);
      const std::int64_t bit = s.i64(5);
      const std::int64_t len = s.i64(6);
      v.description = s.text(7);
      std::string why;
      auto t = parse_type(type_text, why);
      // goprotos7 may store a bare STRING with the length in its own column.
      if (t && t->kind == s7_kind::string && type_text.find('[') == std::string::npos && len > 0 &&
          len <= static_cast<std::int64_t>(max_string_length))
        t->string_length = static_cast<std::size_t>(len);
      if (!t) {
        out.skipped.push_back(fmt::format("variable {} '{}' of DB{}: {}", v.id, v.name, dbn, why));
        continue;
      }
      if (dbn < 1 || dbn > 65535 || off < 0 || off >= static_cast<std::int64_t>(max_db_size) || bit < 0 || bit > 7) {
        out.skipped.push_back(fmt::format("variable {} '{}': invalid address DB{} {}.{}", v.id, v.name, dbn, off, bit));
        continue;
      }
      v.type = *t;
      v.db = static_cast<std::uint16_t>(dbn);
      v.byte_offset = static_cast<std::size_t>(off);
      v.bit_offset = static_cast<std::uint8_t>(v.type.is_bool() ? bit : 0);
      index[v.id] = out.variables.size();
      out.variables.push_back(std::move(v));
    }
  }
  {
    stmt s(db_, fmt::format("SELECT {}, name, value FROM static_var_definitions ORDER BY id", state_ref_));
    while (s.step()) {
      const auto it = index.find(s.i64(0));
      if (it == index.end()) continue;
      var_def& v = out.variables[it->second];
      const std::string value = s.text(2);
      std::int64_t n = 0;
      // goprotos7 stores the value as text; booleans may be spelled out.
      if (value == "true" || value == "TRUE") n = 1;
      else if (value == "false" || value == "FALSE") n = 0;
      else {
        try {
          std::size_t used = 0;
          n = std::stoll(value, &used);
          if (used != value.size()) throw std::invalid_argument(value);
        } catch (const std::exception&) {
          out.skipped.push_back(fmt::format("named state '{}' of '{}': value '{}' is not a number", s.text(1), v.name, value));
          continue;
        }
      }
      v.states.push_back({s.text(1), n});
    }
  }
  {
    stmt s(db_, "SELECT db_number, size FROM protos7_db_sizes");
    while (s.step()) {
      const std::int64_t dbn = s.i64(0);
      const std::int64_t size = s.i64(1);
      if (dbn >= 1 && dbn <= 65535 && size > 0 && size <= static_cast<std::int64_t>(max_db_size))
        out.sizes[static_cast<std::uint16_t>(dbn)] = static_cast<std::size_t>(size);
    }
  }
  return out;
}

void catalog_store::write_states(std::int64_t id, const std::vector<named_state>& states) {
  stmt del(db_, fmt::format("DELETE FROM static_var_definitions WHERE {} = ?", state_ref_));
  del.bind(1, id).run();
  for (const named_state& s : states) {
    stmt ins(db_, fmt::format("INSERT INTO static_var_definitions ({}, name, value) VALUES (?, ?, ?)", state_ref_));
    ins.bind(1, id).bind(2, s.name).bind(3, std::to_string(s.value)).run();
  }
}

std::int64_t catalog_store::insert_row(const var_def& v, const initial_value& init) {
  stmt s(db_,
         "INSERT INTO db_variables (db_number, name, data_type, byte_offset, bit_offset, length, description, "
         "real_val, int_val, str_val, bool_val, var_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'DB')");
  s.bind(1, std::int64_t{v.db})
      .bind(2, v.name)
      .bind(3, v.type.name())
      .bind(4, static_cast<std::int64_t>(v.byte_offset))
      .bind(5, std::int64_t{v.bit_offset})
      .bind(6, static_cast<std::int64_t>(v.type.kind == s7_kind::string ? v.type.string_length : 0))
      .bind(7, v.description)
      .bind_opt(8, init.real_val)
      .bind_opt(9, init.int_val)
      .bind_opt(10, init.str_val)
      .bind_opt(11, init.bool_val);
  s.run();
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  write_states(id, v.states);
  return id;
}

void catalog_store::update_row(const var_def& v, const std::optional<initial_value>& init) {
  {
    stmt s(db_,
           "UPDATE db_variables SET db_number = ?, name = ?, data_type = ?, byte_offset = ?, bit_offset = ?, "
           "length = ?, description = ? WHERE id = ?");
    s.bind(1, std::int64_t{v.db})
        .bind(2, v.name)
        .bind(3, v.type.name())
        .bind(4, static_cast<std::int64_t>(v.byte_offset))
        .bind(5, std::int64_t{v.bit_offset})
        .bind(6, static_cast<std::int64_t>(v.type.kind == s7_kind::string ? v.type.string_length : 0))
        .bind(7, v.description)
        .bind(8, v.id);
    s.run();
    if (sqlite3_changes(db_) != 1) throw std::runtime_error(fmt::format("variable {} does not exist", v.id));
  }
  if (init) {
    stmt s(db_, "UPDATE db_variables SET real_val = ?, int_val = ?, str_val = ?, bool_val = ? WHERE id = ?");
    s.bind_opt(1, init->real_val).bind_opt(2, init->int_val).bind_opt(3, init->str_val).bind_opt(4, init->bool_val).bind(5, v.id);
    s.run();
  }
  write_states(v.id, v.states);
}

void catalog_store::delete_row(std::int64_t id) {
  stmt del_states(db_, fmt::format("DELETE FROM static_var_definitions WHERE {} = ?", state_ref_));
  del_states.bind(1, id).run();
  stmt del(db_, "DELETE FROM db_variables WHERE id = ?");
  del.bind(1, id).run();
}

std::int64_t catalog_store::insert_variable(const var_def& v, const initial_value& init) {
  txn t(*this);
  const std::int64_t id = insert_row(v, init);
  t.commit();
  return id;
}

void catalog_store::update_variable(const var_def& v, const std::optional<initial_value>& init) {
  txn t(*this);
  update_row(v, init);
  t.commit();
}

void catalog_store::delete_variable(std::int64_t id) {
  txn t(*this);
  delete_row(id);
  t.commit();
}

void catalog_store::set_db_size(std::uint16_t db, std::size_t size) {
  txn t(*this);
  stmt s(db_, "INSERT INTO protos7_db_sizes (db_number, size) VALUES (?, ?) ON CONFLICT(db_number) DO UPDATE SET size = excluded.size");
  s.bind(1, std::int64_t{db}).bind(2, static_cast<std::int64_t>(size)).run();
  t.commit();
}

void catalog_store::delete_db(std::uint16_t db) {
  txn t(*this);
  {
    stmt s(db_, fmt::format("DELETE FROM static_var_definitions WHERE {} IN (SELECT id FROM db_variables WHERE db_number = ?)",
                            state_ref_));
    s.bind(1, std::int64_t{db}).run();
  }
  {
    stmt s(db_, "DELETE FROM db_variables WHERE db_number = ?");
    s.bind(1, std::int64_t{db}).run();
  }
  {
    stmt s(db_, "DELETE FROM protos7_db_sizes WHERE db_number = ?");
    s.bind(1, std::int64_t{db}).run();
  }
  t.commit();
}

std::vector<std::int64_t> catalog_store::apply_db_variables(
    std::uint16_t db, const std::vector<std::pair<var_def, std::optional<initial_value>>>& vars) {
  txn t(*this);
  std::set<std::int64_t> keep;
  for (const auto& [v, init] : vars)
    if (v.id != 0) keep.insert(v.id);
  std::vector<std::int64_t> existing;
  {
    stmt s(db_, "SELECT id FROM db_variables WHERE db_number = ?");
    s.bind(1, std::int64_t{db});
    while (s.step()) existing.push_back(s.i64(0));
  }
  for (const std::int64_t id : existing)
    if (keep.count(id) == 0) delete_row(id);
  std::vector<std::int64_t> ids;
  for (const auto& [v, init] : vars) {
    if (v.id != 0) {
      update_row(v, init);
      ids.push_back(v.id);
    } else {
      ids.push_back(insert_row(v, init.value_or(initial_value{})));
    }
  }
  t.commit();
  return ids;
}

}  // namespace protos7::webadmin
