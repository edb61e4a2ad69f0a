// Storage compatible with goprotos7.
//
//  * Data blocks: one file DB<n>.bin per block in the BIN directory (`--db-bin-path` / `-b`);
//    the file's bytes are the block, its size the block's size.
//  * Variable definitions: SQLite (`--sqlite-path` / `-s`), goprotos7's tables
//      db_variables(id, db_number, name, data_type, byte_offset, bit_offset, length,
//                   description, real_val, int_val, str_val, bool_val, var_type)
//      static_var_definitions(id, db_variable_id | var_id, name, value)   -- named values
//    plus one optional table of ours that goprotos7 ignores:
//      protos7_db_sizes(db_number, size)  -- a block larger than its last variable
//  * A DB that has variables but no BIN file is generated from the variables' values
//    (BOOL bits, INT/WORD/DINT/DWORD big-endian, REAL IEEE 754 big-endian, STRING[n] as an
//    S7 string: max length, actual length, n characters).
// Every file is created by write-to-temporary + fsync + rename + fsync(dir): a crash leaves
// either the old file or the whole new one, never half of it.
//
// Errors are reported with std::runtime_error (this is start-up code, not the request path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "protos7/server/log.hpp"
#include "protos7/server/memory.hpp"

namespace protos7::server {

struct variable {
  std::int64_t id = 0;
  std::uint16_t db_number = 0;
  std::string name;
  std::string data_type;  // BOOL, BYTE, CHAR, WORD, INT, DWORD, DINT, REAL, STRING / STRING[n]
  std::size_t byte_offset = 0;
  std::uint8_t bit_offset = 0;
  std::size_t length = 0;  // STRING: maximum number of characters
  std::string description;
  double real_val = 0;
  std::int64_t int_val = 0;
  std::string str_val;
  bool bool_val = false;
  std::string var_type;
};

struct named_value {
  std::int64_t variable_id = 0;
  std::string name;
  std::string value;
};

struct catalog {
  std::vector<variable> variables;
  std::vector<named_value> named_values;
  std::map<std::uint16_t, std::size_t> declared_sizes;  // protos7_db_sizes

  // Size a generated DB<n>.bin gets: the declared size or the end of the last variable.
  [[nodiscard]] std::size_t db_size(std::uint16_t db) const;
};

// Bytes a variable occupies (0 for an unknown data type).
[[nodiscard]] std::size_t variable_size(const variable& v);

// Routes SQLite's own log (sqlite3_config(SQLITE_CONFIG_LOG)) to ours at `level`; call before
// any other SQLite use. log_level::off leaves SQLite silent (goprotos7's SILENCE).
void set_sqlite_log_level(log_level level);

// Reads the variable definitions. Throws if the file cannot be opened or lacks db_variables.
[[nodiscard]] catalog load_catalog(const std::string& sqlite_path);

// Creates `sqlite_path` (which must not exist) with goprotos7's schema and the bundled sample
// PLC (DB1, DB2, DB200).
void create_sample_database(const std::string& sqlite_path);
// The embedded SQL seed.
[[nodiscard]] const char* sample_seed_sql() noexcept;

// The image of DB `db` built from the catalog's variables.
[[nodiscard]] std::vector<std::byte> render_db(const catalog& c, std::uint16_t db);

// Writes DB<n>.bin for every DB of the catalog that has none in `dir`. Returns how many.
std::size_t generate_missing_bins(const catalog& c, const std::string& dir);

// Loads every DB<n>.bin of `dir` into `mem` (files stay open for write-through).
// Returns the number of DBs.
std::size_t load_bins(const std::string& dir, plc_memory& mem);

// write-to-temp + fsync + rename + fsync(dir).
void write_file_atomically(const std::string& path, std::span<const std::byte> data);

}  // namespace protos7::server
