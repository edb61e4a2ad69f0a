// The variable table of the data blocks (goprotos7's SQLite tables) as the web admin edits it,
// through protos7::store::database (server/store/include/protos7/store/goprotos7_db.hpp: the
// tables, goprotos7's conventions and protos7's own tables).
//
// The *_val columns hold a variable's value as goprotos7 keeps it: the web admin writes them
// whenever it writes a value (a BIN file goprotos7 builds from the table then holds the same
// bytes). The live value is in the BIN file, which S7 clients write too; an S7 write does not
// touch SQLite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protos7/store/goprotos7_db.hpp"
#include "protos7/webadmin/s7_value.hpp"

namespace protos7::webadmin {

// Limits of what the web admin accepts (and why).
inline constexpr std::size_t max_name_length =
    64;  // STEP 7 symbols: at most 24; goprotos7 names run longer
inline constexpr std::size_t max_description_length = 256;  // STEP 7 comments: 80; room for notes
inline constexpr std::size_t max_states = 32;               // buttons on one card
inline constexpr std::size_t max_db_size = 65536;           // S7-300/400 DBs are at most 64 KiB
inline constexpr std::size_t max_variables_per_db = 4096;

// A named value: one button of a goprotos7 LIST variable (static_var_definitions).
using named_state = store::list_entry;
using store::list_kind;

// A variable as the web admin edits it: store::variable_definition with STEP 7 addressing.
struct var_def : store::variable_definition {
  [[nodiscard]] std::string address() const {
    return siemens_address(db, type, byte_offset, bit_offset);
  }
  // Occupied bits [first_bit, end_bit) counted from bit 0 of byte 0.
  [[nodiscard]] std::size_t first_bit() const noexcept {
    return byte_offset * 8 + (type.is_bool() ? bit_offset : 0);
  }
  [[nodiscard]] std::size_t end_bit() const noexcept {
    return type.is_bool() ? first_bit() + 1 : (byte_offset + type.size()) * 8;
  }
};

// The *_val columns of a value given as its bytes in the DB.
using initial_value = store::value_columns;
[[nodiscard]] inline initial_value initial_from_bytes(const type_spec& t,
                                                      std::span<const std::byte> bytes,
                                                      std::uint8_t bit) {
  return store::columns_from_bytes(t, bytes, bit);
}

// The state of the kind the type takes (BOOL: boolean, whole numbers: integer, REAL/LREAL:
// floating, CHAR/STRING: text) from its JSON value; nullopt with `why` when it does not fit.
[[nodiscard]] std::optional<named_state> make_state(const type_spec& t, std::string name,
                                                    const nlohmann::json& value, std::string& why);
// A state's value as JSON for a variable of type `t` (a number, 0/1 for BOOL, the name for
// text; ULINT/LWORD values above 2^63-1 as the unsigned number they are).
[[nodiscard]] nlohmann::json state_value(const named_state& s, const type_spec& t);

// --- Validation; each returns nothing when fine, else a sentence for the user. ---

// Names: 1..64 characters, letters, digits, '_', '-', '.', and spaces inside (goprotos7 uses
// names like "Flags_Machine In Critical"); a letter or '_' first. Quotes, ';', '=', '%', '\',
// control characters and the like are refused (they would also break CSV and addresses).
[[nodiscard]] std::optional<std::string> check_name(std::string_view name,
                                                    std::string_view what = "name");
// Descriptions: up to 256 characters of valid UTF-8 without control characters.
[[nodiscard]] std::optional<std::string> check_description(std::string_view text);
struct problem {
  std::string message;    // empty: none
  std::string field;      // the request field it concerns ("name", "byte_offset", "states", ...)
  bool conflict = false;  // clashes with other variables (HTTP 409) rather than invalid input (400)
  explicit operator bool() const noexcept { return !message.empty(); }
};
// Offsets, bit offset, size of the DB, overlap with `others` (variables of the same DB; the one
// with v.id is skipped), duplicate names and the named states.
[[nodiscard]] problem check_variable(const var_def& v, std::size_t db_size,
                                     const std::vector<var_def>& others);

class catalog_store {
 public:
  // Opens the goprotos7 database read-write (a file of protos7's first schema is migrated
  // first, with a backup). Throws std::runtime_error naming the table, column or row.
  explicit catalog_store(const std::string& sqlite_path) : db_(sqlite_path) {}

  struct loaded {
    std::vector<var_def> variables;                 // ordered by DB, byte, bit
    std::map<std::uint16_t, std::size_t> sizes;     // protos7_db_sizes
    std::vector<std::string> skipped;               // rows that could not be used, and why
    std::map<std::int64_t, std::string> processes;  // the living process's definitions by id
  };
  [[nodiscard]] loaded load();

  // Each is one durable transaction. Throw std::runtime_error on SQLite errors (nothing is
  // changed then).
  [[nodiscard]] std::int64_t insert_variable(const var_def& v, const initial_value& init);
  void update_variable(const var_def& v, const std::optional<initial_value>& init);
  void set_value(const var_def& v, const initial_value& value) {
    db_.set_values(v.id, v.type, value);
  }
  void delete_variable(std::int64_t id) { db_.remove(id); }
  void set_db_size(std::uint16_t db, std::size_t size) { db_.set_db_size(db, size); }
  // The living process's definition of a variable (JSON, server/process_sim.hpp); nullopt: none.
  void set_process(std::int64_t id, const std::optional<std::string>& definition) {
    db_.set_process(id, definition);
  }
  // Deletes the DB's variables, their named states and its size row.
  void delete_db(std::uint16_t db) { db_.delete_db(db); }
  // Makes `vars` the variable table of `db` (import): entries with an id update that row,
  // entries with id 0 are inserted, rows of the DB not listed are deleted. Returns the ids in
  // the order of `vars`.
  [[nodiscard]] std::vector<std::int64_t> apply_db_variables(
      std::uint16_t db, const std::vector<std::pair<var_def, std::optional<initial_value>>>& vars);

  [[nodiscard]] const std::string& path() const noexcept { return db_.path(); }

 private:
  store::database db_;
};

}  // namespace protos7::webadmin
