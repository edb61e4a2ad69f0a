// Storage compatible with goprotos7.
//
//  * Data blocks: one file DB<n>.bin per block in the BIN directory (`--db-bin-path` / `-b`);
//    the file's bytes are the block, its size the block's size.
//  * Variable definitions: goprotos7's SQLite file (`--sqlite-path` / `-s`), read and written
//    by protos7::store (server/store: goprotos7_db.hpp says what it holds and how).
//  * A DB that has variables but no BIN file is generated from the variables' values with
//    goprotos7's layout (store::render_db).
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
#include "protos7/store/atomic_file.hpp"
#include "protos7/store/goprotos7_db.hpp"

namespace protos7::server {

using store::catalog;
using store::variable;

// Routes SQLite's own log (sqlite3_config(SQLITE_CONFIG_LOG)) to ours at `level`; call before
// any other SQLite use. log_level::off leaves SQLite silent (goprotos7's SILENCE).
void set_sqlite_log_level(log_level level);

// Checks the SQLite file, migrating a file of protos7's first schema (a backup is kept and
// logged), and reads the variable definitions. Throws, changing nothing, for a file that is
// not a goprotos7 file, naming the table, column or row.
[[nodiscard]] catalog load_catalog(const std::string& sqlite_path);

using store::create_sample_database;
using store::render_db;

// Writes DB<n>.bin for every DB of the catalog that has none in `dir`. Returns how many.
std::size_t generate_missing_bins(const catalog& c, const std::string& dir);

// Loads every DB<n>.bin of `dir` into `mem` (each file is read and closed: no descriptor is held
// per DB, so any number of DBs loads whatever RLIMIT_NOFILE is).
// Returns the number of DBs.
std::size_t load_bins(const std::string& dir, plc_memory& mem);

using store::write_file_atomically;

}  // namespace protos7::server
