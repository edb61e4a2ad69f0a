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
  ++writes_;
}

void plc_memory::remove_db(std::uint16_t number) noexcept {
  const auto it = dbs_.find(number);
  if (it == dbs_.end()) return;
  std::erase(dirty_, it->second.get());
  it->second->dirty_lo_ = it->second->dirty_hi_ = 0;
  dbs_.erase(it);
  ++writes_;
}

data_block* plc_memory::find_db(std::uint16_t number) noexcept {
  const auto it = dbs_.find(number);
  return it != dbs_.end() ? it->second.get() : nullptr;
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
  ++writes_;
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

// One batch of a commit: files written and open, waiting for their fdatasync.
struct plc_memory::batch {
  std::size_t n = 0;
  std::array<data_block*, max_open_per_commit> dbs{};
  std::array<plc_memory*, max_open_per_commit> owners{};
  std::array<int, max_open_per_commit> fds{};
  std::array<int, max_open_per_commit> errs{};
};

namespace {
// The sync threads of the calling thread (one pool per event loop, started at its first commit of
// more than one file; a plant of many PLCs on few loops starts few threads).
thread_local std::unique_ptr<sync_pool> t_pool;
}  // namespace

// fdatasync of every file of the batch (each with its memory's fdatasync), in parallel when
// several; then each block learns the result.
void plc_memory::sync_batch(batch& b) noexcept {
  const auto one = [&b](std::size_t i) {
    int r = 0;
    while ((r = b.owners[i]->fdatasync_(b.fds[i])) != 0 && errno == EINTR) {
    }
    b.errs[i] = r == 0 ? 0 : (errno != 0 ? errno : EIO);
  };
  if (b.n > 1 && !t_pool) {
    try {
      t_pool = std::make_unique<sync_pool>();
    } catch (const std::exception& e) {
      log(log_level::warn, "cannot start the sync threads ({}): DB files are synced one by one",
          e.what());
    }
  }
  bool parallel = b.n > 1 && t_pool;
  if (parallel) {
    try {
      t_pool->run(b.n, one);
    } catch (const std::exception&) {  // a mutex error: nothing ran twice, finish here
      parallel = false;
    }
  }
  if (!parallel)
    for (std::size_t i = 0; i < b.n; ++i) one(i);
  for (std::size_t i = 0; i < b.n; ++i) {
    const log_scope scope{b.owners[i]->log_ctx_ != nullptr ? b.owners[i]->log_ctx_
                                                           : log_detail::scope};
    if (!b.dbs[i]->sync_done(b.fds[i], b.errs[i])) b.owners[i]->commit_ok_ = false;
  }
  b.n = 0;
}

bool plc_memory::commit() noexcept {
  plc_memory* self = this;
  const std::uint64_t before = commit_failures_;
  commit_group(std::span<plc_memory* const>(&self, 1));
  return commit_failures_ == before;
}

void plc_memory::commit_group(std::span<plc_memory* const> mems) noexcept {
  batch b;
  for (plc_memory* m : mems) {
    const log_scope scope{m->log_ctx_ != nullptr ? m->log_ctx_ : log_detail::scope};
    m->commit_ok_ = true;
    // Blocks whose write failed before the sync stay in dirty_ (written again next time); the
    // list is compacted in place, so a commit allocates nothing.
    std::size_t kept = 0;
    for (data_block* db : m->dirty_) {
      const int fd = db->write_out();
      if (fd == ram_only) continue;
      if (fd < 0) {
        m->commit_ok_ = false;
        m->dirty_[kept++] = db;
        continue;
      }
      b.dbs[b.n] = db;
      b.owners[b.n] = m;
      b.fds[b.n++] = fd;
      if (b.n == max_open_per_commit) sync_batch(b);
    }
    m->dirty_.resize(kept);
  }
  sync_batch(b);
  for (plc_memory* m : mems)
    if (!m->commit_ok_) ++m->commit_failures_;
}

bool plc_memory::has_uncommitted() const noexcept {
  return !dirty_.empty();
}

std::size_t plc_memory::db_bytes() const noexcept {
  std::size_t n = 0;
  for (const auto& [number, db] : dbs_) n += db->size();
  return n;
}

std::size_t plc_memory::failed_dbs() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(dbs_.begin(), dbs_.end(), [](const auto& d) { return d.second->failed(); }));
}

}  // namespace protos7::server
