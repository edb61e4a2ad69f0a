// The PLC's memory: process images I/Q, bit memory M, counters, timers (RAM only) and data
// blocks backed by DB<n>.bin files.
//
// Durability of data blocks: write() puts the bytes into RAM and marks the written range;
// commit() writes the marked ranges of every DB written since the last commit into their files
// and fdatasync()s them (in parallel on a small pool of threads when several DBs were written:
// one Write Var touching 30 DBs waits for about one sync, not 30). The server calls commit()
// once per epoll round, before it sends the acknowledgements of that round (group commit), so
// every Write Var acknowledged to a client is on disk.
//
// No file descriptor is held between commits: a DB's file is opened for the commit and closed
// after it, so the number of DBs is not bounded by RLIMIT_NOFILE (issue #16).
//
// A failed fdatasync is fatal for that DB (issue #16, as PostgreSQL since 2018: on Linux a
// failed writeback drops the dirty pages and marks them clean, so a retried fsync can succeed
// after the data was lost). The DB is marked failed(): the round is not acknowledged, the error
// is logged, and every later write to the DB is refused (the item gets 0x01 "hardware fault")
// until the server is restarted and reloads the DB from its file. Failures before the data
// reached the page cache (open, pwrite: e.g. EMFILE, ENOSPC) are not fatal: the range stays
// marked and is written again at the next commit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "protos7/server/config.hpp"
#include "protos7/server/log.hpp"

namespace protos7::server {

// Files a commit() holds open at once (a round that wrote more DBs commits them in batches).
inline constexpr std::size_t max_fds_per_commit = 64;

// The fdatasync() the commit calls: ::fdatasync, or a test's fault injection.
using fdatasync_fn = int (*)(int fd);

class data_block {
 public:
  // `path` empty: RAM only (tests, no --db-bin-path).
  data_block(std::uint16_t number, std::vector<std::byte> bytes, std::string path) noexcept;
  // The former signature (callers in conformance/learn): `fd` must be -1; a descriptor given is
  // closed at once, since no descriptor is held per DB.
  data_block(std::uint16_t number, std::vector<std::byte> bytes, int fd, std::string path) noexcept;
  ~data_block();
  data_block(const data_block&) = delete;
  data_block& operator=(const data_block&) = delete;

  [[nodiscard]] std::uint16_t number() const noexcept { return number_; }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] bool dirty() const noexcept { return dirty_hi_ > dirty_lo_; }
  // A sync of this DB's file failed: writes are refused until restart.
  [[nodiscard]] bool failed() const noexcept { return failed_; }

  // Writes `data` at `offset` into RAM and marks the range for the next commit.
  // Returns false (RAM unchanged) when the range is outside the DB or the DB failed().
  [[nodiscard]] bool write(std::size_t offset, std::span<const std::byte> data) noexcept;

 private:
  friend class plc_memory;
  // Commit, in two steps: open the file and pwrite the marked range (returns the fd, -1 on a
  // failure, logged, that leaves the range marked), then sync_done() with fdatasync's result.
  [[nodiscard]] int write_out() noexcept;
  bool sync_done(int fd, int sync_errno) noexcept;
  [[nodiscard]] int rewrite_whole() noexcept;

  std::uint16_t number_;
  std::vector<std::byte> bytes_;
  std::string path_;
  std::size_t dirty_lo_ = 0, dirty_hi_ = 0;  // [lo, hi): written since the last commit
  bool failed_ = false;
};

// Where an S7ANY item points, after the area, DB and range checks.
struct location {
  std::uint8_t return_code = 0xFF;  // item return code: 0xFF ok, else the error to answer
  std::span<std::byte> ram;         // valid when ok: the addressed bytes
  data_block* db = nullptr;         // set for DB / DI
  std::size_t offset = 0;           // byte offset inside the area / DB
};

class sync_pool;

class plc_memory {
 public:
  explicit plc_memory(const area_sizes& sizes);
  ~plc_memory();
  plc_memory(const plc_memory&) = delete;
  plc_memory& operator=(const plc_memory&) = delete;

  // Adds a data block (replaces an existing one with the same number).
  void add_db(std::unique_ptr<data_block> db);
  // Drops a data block (_DELE: its file was deleted); its uncommitted writes are discarded.
  void remove_db(std::uint16_t number) noexcept;
  [[nodiscard]] data_block* find_db(std::uint16_t number) noexcept;
  [[nodiscard]] const std::map<std::uint16_t, std::unique_ptr<data_block>>& dbs() const noexcept {
    return dbs_;
  }

  // Resolves `length` bytes at `byte_offset` of `area` (raw area code) / DB `db`.
  // Return codes: 0x0A DB does not exist, 0x05 range outside the area, 0x03 area the server
  // does not give access to (P, L, V, S7-200 areas, data records).
  [[nodiscard]] location locate(std::uint8_t area, std::uint16_t db, std::size_t byte_offset,
                                std::size_t length) noexcept;

  // Writes through a location from locate(): RAM, marked for the commit for DBs.
  // False when the DB failed() (answer 0x01 hardware fault).
  [[nodiscard]] bool write(const location& loc, std::span<const std::byte> data) noexcept;

  // Writes through write() and DBs added or removed since start (whoever wrote: a client, the web
  // admin, a process simulation): pushes of changed values compare it (push.hpp).
  [[nodiscard]] std::uint64_t writes() const noexcept { return writes_; }

  // Writes and syncs every DB written since the last commit. Returns false if any failed (the
  // caller must not acknowledge the round's writes).
  [[nodiscard]] bool commit() noexcept;
  // commit() of several memories as one group (the PLCs of a plant's loop that wrote in one
  // round): every DB file of every memory is written, then all are synced together, in parallel
  // (batches of max_fds_per_commit). A memory whose commit failed counts it in commit_failures().
  static void commit_group(std::span<plc_memory* const> mems) noexcept;
  [[nodiscard]] bool has_uncommitted() const noexcept;
  // Failed commits since start: a round compares it before and after, so a commit made inside
  // the round for someone else (_INSE, the web admin) that failed also fails the round.
  [[nodiscard]] std::uint64_t commit_failures() const noexcept { return commit_failures_; }
  // DB bytes held in RAM (a plant's density figure is the memory beyond these).
  [[nodiscard]] std::size_t db_bytes() const noexcept;
  // How many DBs failed a sync since start (the web admin shows each DB's failed()).
  [[nodiscard]] std::size_t failed_dbs() const noexcept;

  // Tests: the fdatasync the commits call (default ::fdatasync).
  void set_fdatasync(fdatasync_fn f) noexcept { fdatasync_ = f; }
  // The log context of the PLC this memory belongs to (a plant's; log.hpp): a commit of several
  // memories logs each one's problems under its PLC's name.
  void set_log_context(log_context* ctx) noexcept { log_ctx_ = ctx; }
  [[nodiscard]] fdatasync_fn fdatasync_function() const noexcept { return fdatasync_; }

 private:
  struct batch;
  static void sync_batch(batch& b) noexcept;

  std::vector<std::byte> inputs_, outputs_, flags_, counters_, timers_;
  std::map<std::uint16_t, std::unique_ptr<data_block>> dbs_;
  std::vector<data_block*> dirty_;
  fdatasync_fn fdatasync_;
  std::uint64_t commit_failures_ = 0;
  std::uint64_t writes_ = 0;
  bool commit_ok_ = true;  // commit_group(): this memory's commit so far
  log_context* log_ctx_ = nullptr;
};

}  // namespace protos7::server
