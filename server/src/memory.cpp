#include "protos7/server/memory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/server/log.hpp"

namespace protos7::server {

namespace rc = codec::s7::return_code;
using codec::s7::area;

data_block::data_block(std::uint16_t number, std::vector<std::byte> bytes, int fd,
                       std::string path) noexcept
    : number_(number), bytes_(std::move(bytes)), fd_(fd), path_(std::move(path)) {}

data_block::~data_block() {
  if (fd_ >= 0) {
    if (dirty_) (void)::fdatasync(fd_);
    ::close(fd_);
  }
}

bool data_block::write(std::size_t offset, std::span<const std::byte> data) noexcept {
  if (offset > bytes_.size() || data.size() > bytes_.size() - offset) return false;
  if (fd_ >= 0) {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done,
                                 static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        log(log_level::error, "DB{}: pwrite to {} failed: {}", number_, path_, std::strerror(errno));
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    dirty_ = true;
  }
  std::memcpy(bytes_.data() + offset, data.data(), data.size());
  return true;
}

bool data_block::sync() noexcept {
  if (!dirty_ || fd_ < 0) return true;
  while (::fdatasync(fd_) != 0) {
    if (errno == EINTR) continue;
    log(log_level::error, "DB{}: fdatasync of {} failed: {}", number_, path_, std::strerror(errno));
    return false;
  }
  dirty_ = false;
  return true;
}

plc_memory::plc_memory(const area_sizes& sizes)
    : inputs_(sizes.inputs),
      outputs_(sizes.outputs),
      flags_(sizes.flags),
      counters_(sizes.counters * 2),
      timers_(sizes.timers * 2) {}

void plc_memory::add_db(std::unique_ptr<data_block> db) {
  const std::uint16_t n = db->number();
  dbs_[n] = std::move(db);
}

data_block* plc_memory::find_db(std::uint16_t number) noexcept {
  const auto it = dbs_.find(number);
  return it == dbs_.end() ? nullptr : it->second.get();
}

location plc_memory::locate(std::uint8_t area_code, std::uint16_t db_number, std::size_t byte_offset,
                            std::size_t length) noexcept {
  location loc;
  loc.offset = byte_offset;
  std::span<std::byte> space;
  switch (static_cast<area>(area_code)) {
    case area::inputs: space = inputs_; break;
    case area::outputs: space = outputs_; break;
    case area::flags: space = flags_; break;
    case area::counters: space = counters_; break;
    case area::timers: space = timers_; break;
    case area::db:
    case area::di: {
      // DI (instance DBs) and DB address the same blocks, as on an S7-300/400.
      data_block* db = find_db(db_number);
      if (db == nullptr) {
        loc.return_code = rc::object_does_not_exist;
        return loc;
      }
      loc.db = db;
      // The block's RAM image; writes go through plc_memory::write so the file follows.
      space = db->bytes_;
      break;
    }
    default:
      // P (no peripherals are simulated), L, V, the S7-200 areas and data records.
      loc.return_code = rc::access_denied;
      return loc;
  }
  if (byte_offset > space.size() || length > space.size() - byte_offset) {
    loc.return_code = rc::invalid_address;
    return loc;
  }
  loc.ram = space.subspan(byte_offset, length);
  return loc;
}

bool plc_memory::write(const location& loc, std::span<const std::byte> data) noexcept {
  if (loc.db != nullptr) {
    const bool was_dirty = loc.db->dirty();
    if (!loc.db->write(loc.offset, data)) return false;
    if (!was_dirty && loc.db->dirty()) dirty_.push_back(loc.db);
    return true;
  }
  if (data.size() > loc.ram.size()) return false;
  std::memcpy(loc.ram.data(), data.data(), data.size());
  return true;
}

bool plc_memory::commit() noexcept {
  bool ok = true;
  std::vector<data_block*> failed;
  for (data_block* db : dirty_) {
    if (!db->sync()) {
      ok = false;
      failed.push_back(db);  // retried at the next commit
    }
  }
  dirty_ = std::move(failed);
  return ok;
}

bool plc_memory::has_uncommitted() const noexcept { return !dirty_.empty(); }

}  // namespace protos7::server
