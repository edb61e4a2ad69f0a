#include "protos7/server/memory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/server/log.hpp"
#include "protos7/store/atomic_file.hpp"

namespace protos7::server {

namespace rc = codec::s7::return_code;
using codec::s7::area;

namespace {

// Threads that fdatasync in parallel with the loop thread: 4 + 1 syncs in flight at once. The
// block layer merges the cache flushes of concurrent fdatasyncs, so a round that wrote many DBs
// costs about one flush (measured: server/test/durability_test.cpp, many_dbs_sync_in_parallel).
constexpr std::size_t sync_threads = 4;
// Files open at once during a commit (issue #16: no fd per DB).
constexpr std::size_t max_open_per_commit = max_fds_per_commit;
constexpr int ram_only = -2;  // write_out(): the DB has no file

}  // namespace

// Runs job(i) for i < n on its threads and the caller's; run() returns when every job ran.
class sync_pool {
 public:
  sync_pool() {
    for (std::size_t i = 0; i < sync_threads; ++i) threads_.emplace_back([this] { worker(); });
  }
  ~sync_pool() {
    {
      const std::lock_guard lock{mu_};
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  sync_pool(const sync_pool&) = delete;
  sync_pool& operator=(const sync_pool&) = delete;

  void run(std::size_t n, const std::function<void(std::size_t)>& job) {
    std::unique_lock lock{mu_};
    job_ = &job;
    n_ = n;
    next_ = done_ = 0;
    work_cv_.notify_all();
    while (next_ < n_) take(lock);
    done_cv_.wait(lock, [this] { return done_ == n_; });
    job_ = nullptr;
  }

 private:
  // Runs the next job with the lock released. Called with next_ < n_.
  void take(std::unique_lock<std::mutex>& lock) {
    const std::size_t i = next_++;
    const auto* job = job_;
    lock.unlock();
    (*job)(i);
    lock.lock();
    if (++done_ == n_) done_cv_.notify_all();
  }
  void worker() {
    std::unique_lock lock{mu_};
    for (;;) {
      work_cv_.wait(lock, [this] { return stop_ || (job_ != nullptr && next_ < n_); });
      if (stop_) return;
      take(lock);
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t n_ = 0, next_ = 0, done_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

data_block::data_block(std::uint16_t number, std::vector<std::byte> bytes,
                       std::string path) noexcept
    : number_(number), bytes_(std::move(bytes)), path_(std::move(path)) {}

data_block::data_block(std::uint16_t number, std::vector<std::byte> bytes, int fd,
                       std::string path) noexcept
    : data_block(number, std::move(bytes), std::move(path)) {
  if (fd >= 0) ::close(fd);
}

data_block::~data_block() {
  // Best effort for a DB replaced or destroyed with writes not yet committed.
  if (!dirty() || failed_) return;
  const int fd = write_out();
  if (fd >= 0) (void)sync_done(fd, ::fdatasync(fd) == 0 ? 0 : errno);
}

bool data_block::write(std::size_t offset, std::span<const std::byte> data) noexcept {
  if (failed_ || offset > bytes_.size() || data.size() > bytes_.size() - offset) return false;
  if (data.empty()) return true;
  std::memcpy(bytes_.data() + offset, data.data(), data.size());
  const std::size_t end = offset + data.size();
  if (dirty()) {
    dirty_lo_ = std::min(dirty_lo_, offset);
    dirty_hi_ = std::max(dirty_hi_, end);
  } else {
    dirty_lo_ = offset;
    dirty_hi_ = end;
  }
  return true;
}

int data_block::write_out() noexcept {
  if (path_.empty()) {
    dirty_lo_ = dirty_hi_ = 0;
    return ram_only;
  }
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return rewrite_whole();
  if (fd < 0) {
    log(log_level::error, "DB{}: cannot open {}: {} (retried at the next commit)", number_, path_,
        std::strerror(errno));
    return -1;
  }
  std::size_t done = dirty_lo_;
  while (done < dirty_hi_) {
    const ssize_t n =
        ::pwrite(fd, bytes_.data() + done, dirty_hi_ - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      log(log_level::error, "DB{}: pwrite to {} failed: {} (retried at the next commit)", number_,
          path_, n < 0 ? std::strerror(errno) : "no progress");
      ::close(fd);
      return -1;
    }
    done += static_cast<std::size_t>(n);
  }
  return fd;
}

// DB<n>.bin was deleted behind our back: write the whole block as a new file (atomically, synced)
// rather than failing every commit from now on.
int data_block::rewrite_whole() noexcept {
  try {
    store::write_file_atomically(path_, bytes_);
  } catch (const std::exception& e) {
    log(log_level::error,
        "DB{}: {} is gone and cannot be written again: {} (retried at the next commit)", number_,
        path_, e.what());
    return -1;
  }
  log(log_level::warn, "DB{}: {} was deleted while served; written again whole", number_, path_);
  dirty_lo_ = dirty_hi_ = 0;
  return ram_only;
}

bool data_block::sync_done(int fd, int sync_errno) noexcept {
  ::close(fd);
  if (sync_errno != 0) {
    failed_ = true;
    dirty_lo_ = dirty_hi_ = 0;
    log(log_level::error,
        "DB{}: fdatasync of {} failed: {}: the data may be lost; writes to DB{} are refused until "
        "restart",
        number_, path_, std::strerror(sync_errno), number_);
    return false;
  }
  dirty_lo_ = dirty_hi_ = 0;
  return true;
}

plc_memory::plc_memory(const area_sizes& sizes)
    : inputs_(sizes.inputs),
      outputs_(sizes.outputs),
      flags_(sizes.flags),
      counters_(sizes.counters * 2),
      timers_(sizes.timers * 2),
      fdatasync_(&::fdatasync) {}

plc_memory::~plc_memory() = default;

void plc_memory::add_db(std::unique_ptr<data_block> db) {
  const std::uint16_t n = db->number();
  const auto old = dbs_.find(n);
  // The replaced block leaves the list of blocks to commit (its destructor flushes it).
  if (old != dbs_.end()) std::erase(dirty_, old->second.get());
  dbs_[n] = std::move(db);
}

void plc_memory::remove_db(std::uint16_t number) noexcept {
  const auto it = dbs_.find(number);
  if (it == dbs_.end()) return;
  std::erase(dirty_, it->second.get());
  it->second->dirty_lo_ = it->second->dirty_hi_ = 0;
  dbs_.erase(it);
}

data_block* plc_memory::find_db(std::uint16_t number) noexcept {
  const auto it = dbs_.find(number);
  return it == dbs_.end() ? nullptr : it->second.get();
}

location plc_memory::locate(std::uint8_t area_code, std::uint16_t db_number,
                            std::size_t byte_offset, std::size_t length) noexcept {
  location loc;
  loc.offset = byte_offset;
  std::span<std::byte> space;
  switch (static_cast<area>(area_code)) {
    case area::inputs:
      space = inputs_;
      break;
    case area::outputs:
      space = outputs_;
      break;
    case area::flags:
      space = flags_;
      break;
    case area::counters:
      space = counters_;
      break;
    case area::timers:
      space = timers_;
      break;
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

// fdatasync of fds[i] for every i, errs[i] = its errno (0: synced); in parallel when several.
void plc_memory::sync_all(std::span<const int> fds, std::span<int> errs) noexcept {
  const auto one = [&](std::size_t i) {
    int r = 0;
    while ((r = fdatasync_(fds[i])) != 0 && errno == EINTR) {
    }
    errs[i] = r == 0 ? 0 : (errno != 0 ? errno : EIO);
  };
  if (fds.size() > 1 && !pool_) {
    try {
      pool_ = std::make_unique<sync_pool>();
    } catch (const std::exception& e) {
      log(log_level::warn, "cannot start the sync threads ({}): DB files are synced one by one",
          e.what());
    }
  }
  if (fds.size() <= 1 || !pool_) {
    for (std::size_t i = 0; i < fds.size(); ++i) one(i);
    return;
  }
  try {
    pool_->run(fds.size(), one);
  } catch (const std::exception&) {  // a mutex error: nothing ran twice, finish here
    for (std::size_t i = 0; i < fds.size(); ++i) one(i);
  }
}

bool plc_memory::commit() noexcept {
  bool ok = true;
  std::vector<data_block*> keep;  // ranges whose write failed before the sync: written again
  std::array<data_block*, max_open_per_commit> dbs{};
  std::array<int, max_open_per_commit> fds{};
  std::array<int, max_open_per_commit> errs{};
  std::size_t next = 0;
  while (next < dirty_.size()) {
    std::size_t n = 0;
    for (; next < dirty_.size() && n < max_open_per_commit; ++next) {
      data_block* db = dirty_[next];
      const int fd = db->write_out();
      if (fd == ram_only) continue;
      if (fd < 0) {
        ok = false;
        keep.push_back(db);
        continue;
      }
      dbs[n] = db;
      fds[n++] = fd;
    }
    sync_all(std::span(fds).first(n), std::span(errs).first(n));
    for (std::size_t i = 0; i < n; ++i) ok = dbs[i]->sync_done(fds[i], errs[i]) && ok;
  }
  dirty_ = std::move(keep);
  if (!ok) ++commit_failures_;
  return ok;
}

bool plc_memory::has_uncommitted() const noexcept {
  return !dirty_.empty();
}

std::size_t plc_memory::failed_dbs() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(dbs_.begin(), dbs_.end(), [](const auto& d) { return d.second->failed(); }));
}

}  // namespace protos7::server
