#include "protos7/server/event_loop.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "protos7/server/log.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/server.hpp"

namespace protos7::server {

namespace {

// recv() buffer of the loop, shared by every connection of every server on it.
constexpr std::size_t read_chunk = std::size_t{16} * 1024;
// Events taken per epoll_wait (a plant shard has many listeners and connections).
constexpr std::size_t max_events = 256;
// Idle wake-up: how often timeouts and paused listeners are looked at without traffic.
constexpr int idle_wait_ms = 100;
// Each server's tick (timeouts, a listener paused for want of descriptors) at most this often.
constexpr std::chrono::milliseconds tick_every{100};

}  // namespace

event_loop::event_loop() : read_buf_(read_chunk) {}

event_loop::~event_loop() {
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

int event_loop::open() {
  if (epoll_fd_ >= 0) return 0;
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return errno;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return errno;
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<std::uint32_t>(wake_fd_);  // tag 0: the loop itself
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) return errno;
  return 0;
}

std::uint32_t event_loop::attach(server& s) {
  servers_.push_back(&s);
  return static_cast<std::uint32_t>(servers_.size());
}

void event_loop::set_tick(std::chrono::milliseconds interval, std::function<void()> f) {
  tick_interval_ = interval;
  tick_ = std::move(f);
}

void event_loop::stop() noexcept {
  stopping_.store(true);
  wake();
}

void event_loop::wake() noexcept {
  if (wake_fd_ < 0) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void event_loop::notify_posted(std::uint32_t tag) noexcept {
  try {
    const std::lock_guard lock{posted_mu_};
    posted_.push_back(tag);
    posted_pending_.store(true);
  } catch (...) {
    // Out of memory: the work waits in the server until its next round.
  }
  wake();
}

void event_loop::join(server& s) {
  round_.push_back(&s);
}

void event_loop::schedule(server& s) {
  scheduled_.push_back(&s);
}

// The servers other threads posted work to (also before run(): no wake-up was seen then) take
// part in this round.
void event_loop::take_posted() {
  {
    const std::lock_guard lock{posted_mu_};
    posted_taken_.swap(posted_);
    posted_pending_.store(false);
  }
  for (const std::uint32_t tag : posted_taken_) {
    server& s = *servers_[tag - 1];
    const log_scope scope{s.log_ctx_};
    s.join_round();
  }
  posted_taken_.clear();
}

// The round's group commit: every DB written in the round, whichever server's, synced together;
// then each server acknowledges (or, if its sync failed, closes the writers).
void event_loop::commit_round() {
  for (server* s : round_) {
    const log_scope scope{s->log_ctx_};
    s->run_posted();
  }
  dirty_.clear();
  for (server* s : round_) {
    s->round_wrote_ = s->mem_.has_uncommitted();
    if (s->round_wrote_) dirty_.push_back(&s->mem_);
  }
  const auto commit_start = clock_type::now();
  if (!dirty_.empty()) plc_memory::commit_group(dirty_);
  const auto commit_time = clock_type::now() - commit_start;
  for (server* s : round_)  // the observers' commit figure (metrics, capture)
    s->round_commit_ = s->round_wrote_ ? commit_time : clock_type::duration::zero();
  for (server* s : round_) {
    const log_scope scope{s->log_ctx_};
    s->end_round();
  }
  round_.clear();
}

void event_loop::tick_all(clock_type::time_point now) {
  if (now - last_sweep_ >= tick_every) {
    last_sweep_ = now;
    for (server* s : servers_) {
      const log_scope scope{s->log_ctx_};
      s->tick(now);
    }
    flush_suppressed_logs();
  }
  if (tick_ && now - last_tick_ >= tick_interval_) {
    last_tick_ = now;
    tick_();
  }
}

int event_loop::gate_timeout(int timeout_ms) const {
  for (const server* s : servers_)
    if (s->faults_.any_gated()) timeout_ms = s->gate_timeout(timeout_ms);
  return timeout_ms;
}

void event_loop::run_gated() {
  const auto now = clock_type::now();
  for (server* s : servers_) {
    if (!s->faults_.any_gated()) continue;
    const log_scope scope{s->log_ctx_};
    s->run_gated(now);
  }
}

int event_loop::push_timeout(int timeout_ms) const {
  if (next_push_ == clock_type::time_point::max()) return timeout_ms;
  const auto now = clock_type::now();
  if (next_push_ <= now) return 0;  // due already (a source may ask for "at once")
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next_push_ - now);
  return static_cast<int>(std::clamp<long long>(ms.count(), 0, timeout_ms));
}

// Cheap when nobody subscribes: one comparison per round.
void event_loop::run_pushes() {
  const auto now = clock_type::now();
  if (now < next_push_) return;
  next_push_ = clock_type::time_point::max();
  for (server* s : servers_) {
    const log_scope scope{s->log_ctx_};
    s->run_pushes(now);  // notes its next due time again
  }
}

void event_loop::run() {
  std::array<epoll_event, max_events> events{};
  last_tick_ = clock_type::now();
  while (!stopping_.load()) {
    const int timeout_ms = push_timeout(gate_timeout(scheduled_.empty() ? idle_wait_ms : 0));
    const int n =
        ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) {
      log(log_level::error, "epoll_wait: {}", std::strerror(errno));
      break;
    }
    ready_.swap(scheduled_);
    for (server* s : ready_) {
      const log_scope scope{s->log_ctx_};
      s->run_ready();
    }
    ready_.clear();
    run_gated();
    for (int i = 0; i < n; ++i) {
      const std::uint64_t data = events[static_cast<std::size_t>(i)].data.u64;
      const auto tag = static_cast<std::uint32_t>(data >> 32U);
      if (tag == 0) {
        std::uint64_t count = 0;  // reset the eventfd (stop() and post() write to it)
        [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      server& s = *servers_[tag - 1];
      const log_scope scope{s.log_ctx_};
      s.on_event(static_cast<int>(data & 0xFFFFFFFFU), events[static_cast<std::size_t>(i)].events);
    }
    if (posted_pending_.load()) take_posted();
    run_pushes();  // after the round's writes: pushes show them
    commit_round();
    tick_all(clock_type::now());
  }
  for (server* s : servers_) {
    const log_scope scope{s->log_ctx_};
    s->shut_down();
  }
  log(servers_.size() == 1 ? log_level::debug : log_level::info, "event loop of {} PLC(s) stopped",
      servers_.size());
}

}  // namespace protos7::server
