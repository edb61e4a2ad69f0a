// The PLC's memory: process images I/Q, bit memory M, counters, timers (RAM only) and data
// blocks backed by DB<n>.bin files.
//
// Durability of data blocks: write() puts the bytes into RAM and pwrite()s them into the DB's
// file at once; commit() fdatasync()s every file written since the last commit. The server
// calls commit() once per epoll round, before it sends the acknowledgements of that round
// (group commit), so every Write Var acknowledged to a client is on disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "protos7/server/config.hpp"

namespace protos7::server {

class data_block {
 public:
  data_block(std::uint16_t number, std::vector<std::byte> bytes, int fd, std::string path) noexcept;
  ~data_block();
  data_block(const data_block&) = delete;
  data_block& operator=(const data_block&) = delete;

  [[nodiscard]] std::uint16_t number() const noexcept { return number_; }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] bool dirty() const noexcept { return dirty_; }

  // Writes `data` at `offset` into RAM and into the file (not yet synced).
  // Returns false when the file write failed (RAM is left unchanged then).
  [[nodiscard]] bool write(std::size_t offset, std::span<const std::byte> data) noexcept;
  // fdatasync() if written since the last sync. Returns false on failure.
  [[nodiscard]] bool sync() noexcept;

 private:
  friend class plc_memory;
  std::uint16_t number_;
  std::vector<std::byte> bytes_;
  int fd_;  // -1: RAM only (tests)
  std::string path_;
  bool dirty_ = false;
};

// Where an S7ANY item points, after the area, DB and range checks.
struct location {
  std::uint8_t return_code = 0xFF;  // item return code: 0xFF ok, else the error to answer
  std::span<std::byte> ram;         // valid when ok: the addressed bytes
  data_block* db = nullptr;         // set for DB / DI
  std::size_t offset = 0;           // byte offset inside the area / DB
};

class plc_memory {
 public:
  explicit plc_memory(const area_sizes& sizes);

  // Adds a data block (replaces an existing one with the same number).
  void add_db(std::unique_ptr<data_block> db);
  [[nodiscard]] data_block* find_db(std::uint16_t number) noexcept;
  [[nodiscard]] const std::map<std::uint16_t, std::unique_ptr<data_block>>& dbs() const noexcept {
    return dbs_;
  }

  // Resolves `length` bytes at `byte_offset` of `area` (raw area code) / DB `db`.
  // Return codes: 0x0A DB does not exist, 0x05 range outside the area, 0x03 area the server
  // does not give access to (P, L, V, S7-200 areas, data records).
  [[nodiscard]] location locate(std::uint8_t area, std::uint16_t db, std::size_t byte_offset,
                                std::size_t length) noexcept;

  // Writes through a location from locate(): RAM, and the file for DBs.
  [[nodiscard]] bool write(const location& loc, std::span<const std::byte> data) noexcept;

  // Syncs every DB file written since the last commit. Returns false if any sync failed.
  [[nodiscard]] bool commit() noexcept;
  [[nodiscard]] bool has_uncommitted() const noexcept;

 private:
  std::vector<std::byte> inputs_, outputs_, flags_, counters_, timers_;
  std::map<std::uint16_t, std::unique_ptr<data_block>> dbs_;
  std::vector<data_block*> dirty_;
};

}  // namespace protos7::server
