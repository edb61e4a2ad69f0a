// goprotos7's SQLite file: the variable table of the data blocks, read and written so that the
// file stays a valid goprotos7 file (goprotos7's dbtool opens it, runs its migrations, shows
// and edits it, and builds the same DB<n>.bin files from it).
//
// goprotos7's tables (facts from goprotos7's dbtool migrations, BSD-3-Clause):
//   db_variables(id INTEGER PK AUTOINCREMENT, db_number INTEGER NOT NULL, name TEXT NOT NULL,
//                data_type TEXT NOT NULL, byte_offset INTEGER NOT NULL, bit_offset INTEGER,
//                length INTEGER, description TEXT, real_val real, int_val integer,
//                str_val text, bool_val integer, var_type text NOT NULL DEFAULT 'STATIC')
//   static_var_definitions(id integer PK, db_variable_id integer NOT NULL REFERENCES
//                db_variables ON UPDATE CASCADE ON DELETE CASCADE, description text NOT NULL,
//                int_value integer, float_value integer (holds a real), static_type text
//                NOT NULL DEFAULT 'INT', bit_offset integer)
//   migrations(id varchar PK)   -- gormigrate: 'createDbVariablesTable_1',
//                                  'migrateCreateStaticVarDefinitions_1'
// Conventions: data_type is one of goprotos7's 17 names, a STRING is 'STRING[n]' with n in
// `length`; bit_offset is set for BOOL only, `length` for STRING only; var_type is 'STATIC'
// or 'LIST' (a LIST variable's buttons are its static_var_definitions rows: static_type INT
// with int_value, FLOAT with float_value, BOOL with int_value 0/1, STRING labelled by its
// description); the *_val columns hold the variable's value (s7_type.hpp says which).
//
// protos7's own tables, which goprotos7 ignores:
//   protos7_db_sizes(db_number INTEGER PK, size INTEGER NOT NULL)        a DB larger than its
//                                                                       last variable
//   protos7_variable_types(db_variable_id INTEGER PK, s7_type TEXT NOT NULL)
//                           the S7 type of a TIME, DATE, TIME_OF_DAY, S5TIME or DATE_AND_TIME
//                           variable, stored in db_variables as the goprotos7 type of its bytes
//   protos7_process_variables(db_variable_id INTEGER PK, definition TEXT NOT NULL)
//                           the living process: how the variable changes by itself (JSON,
//                           server/process_sim.hpp); deleted with its variable
//
// Files of protos7's first schema (static_var_definitions(name, value), var_type 'DB',
// data_type 'STRING[32]') are migrated on first open, the original kept as a backup.
//
// Errors: std::runtime_error with a sentence naming the file and the table, column or row
// (start-up and web admin code, never the request path). A refused file is not changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "protos7/store/s7_type.hpp"

namespace protos7::store {

// static_var_definitions.static_type.
enum class list_kind : std::uint8_t { integer, floating, text, boolean };

// One button of a LIST variable (a static_var_definitions row).
struct list_entry {
  std::string name;  // the button's label (the row's description)
  list_kind kind = list_kind::integer;
  std::int64_t value = 0;  // integer, boolean (0 / 1)
  double fvalue = 0;       // floating; a text entry's value is its name
  friend bool operator==(const list_entry&, const list_entry&) = default;
};

// The value columns of db_variables (goprotos7 keeps the variable's value there).
struct value_columns {
  std::optional<std::int64_t> int_val;
  std::optional<double> real_val;
  std::optional<std::string> str_val;  // the bytes as they stand in the DB
  std::optional<bool> bool_val;
  friend bool operator==(const value_columns&, const value_columns&) = default;
};

// A variable's definition (what the web admin edits).
struct variable_definition {
  std::int64_t id = 0;
  std::uint16_t db = 0;
  std::string name;
  type_spec type;
  std::size_t byte_offset = 0;
  std::uint8_t bit_offset = 0;
  std::string description;
  std::vector<list_entry> states;  // non-empty: var_type 'LIST'

  [[nodiscard]] std::size_t end_byte() const noexcept { return byte_offset + type.size(); }
};

// A row of db_variables: the definition and goprotos7's value columns.
struct variable : variable_definition {
  value_columns values;
};

struct catalog {
  std::vector<variable> variables;                      // ordered by DB, byte, bit, id
  std::map<std::uint16_t, std::size_t> declared_sizes;  // protos7_db_sizes
  std::map<std::int64_t, std::string> processes;        // protos7_process_variables

  // The size of DB `db`: the declared size or the end of its last variable (at most 64 KiB).
  [[nodiscard]] std::size_t db_size(std::uint16_t db) const;
  [[nodiscard]] std::size_t state_count() const;
};

// S7-300/400 data blocks are at most 64 KiB.
inline constexpr std::size_t max_db_size = 65536;

// What prepare_file() found.
struct prepared_file {
  bool migrated = false;
  std::string backup_path;  // the original file, when migrated
};

// Checks the file at `path` and migrates a file of protos7's first schema (backup kept).
// Throws, changing nothing, for a file that is neither.
prepared_file prepare_file(const std::string& path);

// Reads the catalog (read-only). Throws for a file that is not a valid goprotos7 file.
[[nodiscard]] catalog read_catalog(const std::string& path);

// Creates `path` (which must not exist) with goprotos7's schema and the bundled sample PLC.
void create_sample_database(const std::string& path);
// The bundled sample PLC (DB1, DB2, DB200).
[[nodiscard]] catalog sample_catalog();

// --- values: goprotos7's layout of DB<n>.bin (big-endian; BOOL a bit; STRING max, len, n) ---

// The value columns of a variable whose bytes are `bytes` (t.size() bytes; BOOL: the byte
// holding bit `bit`).
[[nodiscard]] value_columns columns_from_bytes(const type_spec& t, std::span<const std::byte> bytes,
                                               std::uint8_t bit);
// The t.size() bytes the value columns stand for (missing values: zeros, an empty STRING);
// BOOL: one byte, 0 or 1, the bit's value.
[[nodiscard]] std::vector<std::byte> bytes_from_columns(const type_spec& t, const value_columns& c);
// The image of DB `db` built from the catalog's variables and values.
[[nodiscard]] std::vector<std::byte> render_db(const catalog& c, std::uint16_t db);

// The file opened for writing (the web admin). Each call is one durable transaction
// (synchronous=EXTRA: committed changes survive power loss); nothing changes when it throws.
class database {
 public:
  explicit database(const std::string& path);  // checks it as read_catalog() does
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  [[nodiscard]] catalog load();
  [[nodiscard]] std::int64_t insert(const variable& v);
  // Updates the definition and the states; the values too when `with_values`.
  void update(const variable& v, bool with_values);
  void set_values(std::int64_t id, const type_spec& t, const value_columns& values);
  void remove(std::int64_t id);
  void set_db_size(std::uint16_t db, std::size_t size);
  // The living process's definition of variable `id` (JSON text, process_sim.hpp); nullopt
  // removes it.
  void set_process(std::int64_t id, const std::optional<std::string>& definition);
  void delete_db(std::uint16_t db);  // its variables, their states and its size
  // Makes `vars` the variables of `db` (import): an entry with an id updates that row (with
  // its values when .second), id 0 inserts, rows not listed are deleted. Ids in order.
  [[nodiscard]] std::vector<std::int64_t> replace_db(
      std::uint16_t db, const std::vector<std::pair<variable, bool>>& vars);
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  struct impl;
  std::string path_;
  std::unique_ptr<impl> impl_;
};

}  // namespace protos7::store
