// The event loop: one thread, one epoll instance, serving one server (`protos7 serve`: one PLC)
// or many (a plant's shard: every PLC the thread owns, plant.hpp). Level-triggered, every socket
// non-blocking; epoll's data word carries the server's tag (high 32 bits) and the descriptor.
//
// One round:
//   epoll_wait -> the servers whose held-back requests may now run (flow control released them)
//   -> every event to its server (accept, read, run the sessions; replies are queued, not sent)
//   -> the work other threads posted to those servers (the web admin)
//   -> one group commit over every PLC memory written in the round (plc_memory::commit_group:
//      all their DB files synced together)
//   -> each server sends its replies (or, when its sync failed, closes the writers unanswered).
// So a Write Var acknowledgement never leaves before its bytes are on disk, whichever PLC of the
// shard it went to, and a round costs one batch of fdatasyncs however many PLCs wrote.
//
// Threading: everything runs on the thread that calls run(), except stop() and the posting of
// work (server::post), which any thread may call. No lock is taken on the request path: a
// server's state is touched by its loop only, and posted work is noticed through the eventfd.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

namespace protos7::server {

class server;
class plc_memory;

class event_loop {
 public:
  event_loop();
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  // Creates the epoll instance and the wake-up eventfd. Returns 0 or the errno of the failing call.
  [[nodiscard]] int open();
  // Serves until stop(); then every server shuts its connections down (server.hpp).
  void run();
  // From any thread or a signal handler.
  void stop() noexcept;
  [[nodiscard]] bool stopping() const noexcept { return stopping_.load(); }
  // `f` runs on the loop thread about every `interval` (set before run(); the plant's per-PLC
  // request rates).
  void set_tick(std::chrono::milliseconds interval, std::function<void()> f);
  [[nodiscard]] std::size_t servers() const noexcept { return servers_.size(); }

 private:
  friend class server;
  using clock_type = std::chrono::steady_clock;

  // --- for server ---
  [[nodiscard]] std::uint32_t attach(server& s);  // the server's tag (1, 2, ...)
  [[nodiscard]] int epoll_fd() const noexcept { return epoll_fd_; }
  // The buffer recv() reads into: one per loop, connections are read one at a time.
  [[nodiscard]] std::span<std::byte> read_buffer() noexcept { return read_buf_; }
  // The server takes part in the current round (its commit and sends).
  void join(server& s);
  // The server has held-back requests to run in the next round without waiting for an event.
  void schedule(server& s);
  // Another thread posted work to the server with tag `tag` (thread-safe).
  void notify_posted(std::uint32_t tag) noexcept;
  // A server has a push due at `due` (push.hpp): the loop wakes for it.
  void note_push_due(clock_type::time_point due) noexcept {
    if (due < next_push_) next_push_ = due;
  }
  void wake() noexcept;

  void take_posted();
  // Fault injection (faults.hpp): the epoll timeout that wakes the loop when the first reply a
  // fault holds back may leave, and the servers whose held replies may now leave.
  [[nodiscard]] int gate_timeout(int timeout_ms) const;
  void run_gated();
  void commit_round();
  void tick_all(clock_type::time_point now);
  // The epoll timeout that wakes the loop for the first due push, and the servers' due pushes.
  [[nodiscard]] int push_timeout(int timeout_ms) const;
  void run_pushes();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int spare_fd_ = -1;  // /dev/null, given up to accept-and-close one client when out of fds
  std::atomic<bool> stopping_{false};
  std::vector<server*> servers_;    // by tag - 1
  std::vector<server*> round_;      // servers of the current round
  std::vector<server*> scheduled_;  // servers to run at the start of the next round
  std::vector<server*> ready_;      // the scheduled ones being run (swapped with scheduled_)
  std::vector<plc_memory*> dirty_;  // commit_round(): memories written in the round
  std::vector<bool> synced_;
  std::vector<std::byte> read_buf_;
  std::mutex posted_mu_;  // guards posted_ (written by other threads)
  std::vector<std::uint32_t> posted_;
  std::atomic<bool> posted_pending_{false};  // posted_ is not empty: checked without the lock
  std::vector<std::uint32_t> posted_taken_;
  std::chrono::milliseconds tick_interval_{1000};
  std::function<void()> tick_;
  clock_type::time_point last_tick_{};
  clock_type::time_point last_sweep_{};
  clock_type::time_point next_push_ = clock_type::time_point::max();  // earliest due push
};

}  // namespace protos7::server
