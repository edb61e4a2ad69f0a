// The variable table of the data blocks (goprotos7's SQLite tables) as the web admin edits it.
//
//   db_variables(id, db_number, name, data_type, byte_offset, bit_offset, length, description,
//                real_val, int_val, str_val, bool_val, var_type)
//   static_var_definitions(id, db_variable_id | var_id, name, value)     -- named states
//   protos7_db_sizes(db_number, size)                                   -- ours, goprotos7 ignores it
//
// Every statement is prepared with bound parameters; no text from a request is ever spliced
// into SQL. Each change is one transaction with synchronous=FULL (the SQLite default for the
// rollback journal goprotos7 uses), so it is on disk when the call returns.
//
// The *_val columns hold a variable's initial value: the one a DB<n>.bin generated from the
// table gets (storage.cpp render_db). The live value is in the BIN file, which the server and
// the web admin write alike; setting a value from the page does not touch SQLite.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protos7/webadmin/s7_value.hpp"

namespace protos7::webadmin {

// Limits of what the web admin accepts (and why).
inline constexpr std::size_t max_name_length = 64;          // STEP 7 symbols: at most 24; goprotos7 names run longer
inline constexpr std::size_t max_description_length = 256;  // STEP 7 comments: 80; room for notes
inline constexpr std::size_t max_states = 32;               // buttons on one card
inline constexpr std::size_t max_db_size = 65536;           // S7-300/400 DBs are at most 64 KiB
inline constexpr std::size_t max_variables_per_db = 4096;

struct named_state {
  std::string name;
  std::int64_t value = 0;  // INT: -32768..32767, BOOL: 0 / 1
  friend bool operator==(const named_state&, const named_state&) = default;
};

struct var_def {
  std::int64_t id = 0;
  std::uint16_t db = 0;
  std::string name;
  type_spec type;
  std::size_t byte_offset = 0;
  std::uint8_t bit_offset = 0;
  std::string description;
  std::vector<named_state> states;

  [[nodiscard]] std::string address() const { return siemens_address(db, type, byte_offset, bit_offset); }
  // Occupied bits [first_bit, end_bit) counted from bit 0 of byte 0.
  [[nodiscard]] std::size_t first_bit() const noexcept {
    return byte_offset * 8 + (type.is_bool() ? bit_offset : 0);
  }
  [[nodiscard]] std::size_t end_bit() const noexcept {
    return type.is_bool() ? first_bit() + 1 : (byte_offset + type.size()) * 8;
  }
  [[nodiscard]] std::size_t end_byte() const noexcept { return byte_offset + type.size(); }
};

// The *_val columns for a value given as its bytes in the DB (see s7_value.hpp).
struct initial_value {
  std::optional<std::int64_t> int_val;
  std::optional<double> real_val;
  std::optional<std::string> str_val;
  std::optional<bool> bool_val;
};
[[nodiscard]] initial_value initial_from_bytes(const type_spec& t, std::span<const std::byte> bytes,
                                               std::uint8_t bit);

// --- Validation; each returns an empty string when fine, else a sentence for the user. ---

// Names: 1..64 characters, letters, digits, '_', '-', '.', and spaces inside (goprotos7 uses
// names like "Flags_Machine In Critical"); a letter or '_' first. Quotes, ';', '=', '%', '\',
// control characters and the like are refused (they would also break CSV and addresses).
[[nodiscard]] std::string check_name(std::string_view name, std::string_view what = "name");
// Descriptions: up to 256 characters of valid UTF-8 without control characters.
[[nodiscard]] std::string check_description(std::string_view text);
struct problem {
  std::string message;    // empty: none
  std::string field;      // the request field it concerns ("name", "byte_offset", "states", ...)
  bool conflict = false;  // clashes with other variables (HTTP 409) rather than invalid input (400)
  explicit operator bool() const noexcept { return !message.empty(); }
};
// Offsets, bit offset, size of the DB, overlap with `others` (variables of the same DB; the one
// with v.id is skipped), duplicate names and the named states.
[[nodiscard]] problem check_variable(const var_def& v, std::size_t db_size, const std::vector<var_def>& others);

class catalog_store {
 public:
  // Opens the goprotos7 database read-write. Creates static_var_definitions and
  // protos7_db_sizes when missing and adds missing optional columns of db_variables (older
  // goprotos7 files). Throws std::runtime_error.
  explicit catalog_store(const std::string& sqlite_path);
  ~catalog_store();
  catalog_store(const catalog_store&) = delete;
  catalog_store& operator=(const catalog_store&) = delete;

  struct loaded {
    std::vector<var_def> variables;              // ordered by DB, byte, bit
    std::map<std::uint16_t, std::size_t> sizes;  // protos7_db_sizes
    std::vector<std::string> skipped;            // rows that could not be used, and why
  };
  [[nodiscard]] loaded load();

  // Each is one durable transaction. Throw std::runtime_error on SQLite errors (nothing is
  // changed then).
  [[nodiscard]] std::int64_t insert_variable(const var_def& v, const initial_value& init);
  void update_variable(const var_def& v, const std::optional<initial_value>& init);
  void delete_variable(std::int64_t id);
  void set_db_size(std::uint16_t db, std::size_t size);
  // Deletes the DB's variables, their named states and its size row.
  void delete_db(std::uint16_t db);
  // Makes `vars` the variable table of `db` (import): entries with an id update that row,
  // entries with id 0 are inserted, rows of the DB not listed are deleted. Returns the ids in
  // the order of `vars`.
  [[nodiscard]] std::vector<std::int64_t> apply_db_variables(
      std::uint16_t db, const std::vector<std::pair<var_def, std::optional<initial_value>>>& vars);

  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  class stmt;
  class txn;
  void init_schema();
  void exec(const char* sql);
  void write_states(std::int64_t id, const std::vector<named_state>& states);
  std::int64_t insert_row(const var_def& v, const initial_value& init);
  void update_row(const var_def& v, const std::optional<initial_value>& init);
  void delete_row(std::int64_t id);

  std::string path_;
  sqlite3* db_ = nullptr;
  std::string state_ref_;  // "db_variable_id" (goprotos7) or "var_id" (older files)
};

}  // namespace protos7::webadmin
