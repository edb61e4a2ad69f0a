// Internal: the sockets of the replay runner. Non-blocking TCP connections to the target, with
// an output buffer (frames go out in batches, one send() per connection and loop turn), and an
// epoll set that says which connections can be read or written.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protos7/replay/replay.hpp"
#include "protos7/status.hpp"

namespace protos7::replay::detail {

class tcp_link {
 public:
  tcp_link() = default;
  tcp_link(const tcp_link&) = delete;
  tcp_link& operator=(const tcp_link&) = delete;
  ~tcp_link() { close(); }

  enum class state : std::uint8_t { closed, connecting, open };
  // Starts connecting (non-blocking) to the first address of `t` that accepts a socket, or says
  // why it failed at once (resolution, no socket).
  protos7::status start_connect(const target& t);
  // The connection attempt finished (the socket became writable): connected, or why not.
  protos7::status finish_connect();
  // Queues bytes for sending.
  void queue(std::span<const std::byte> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  // Sends what is queued as far as the socket takes it, or says why it failed.
  protos7::status flush();
  [[nodiscard]] bool has_output() const noexcept { return !out_.empty(); }
  enum class read_status : std::uint8_t { data, again, closed, error };
  // Reads what is there (non-blocking) into `buf` (its size), returning the count in `n`.
  read_status read(std::span<std::byte> buf, std::size_t& n, std::string& err);
  void close();
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] state status() const noexcept { return st_; }

 private:
  int fd_ = -1;
  state st_ = state::closed;
  std::string target_text_;
  std::vector<std::byte> out_;
  std::size_t out_at_ = 0;
};

// epoll: readable / writable connections, each tagged with a pointer.
class poller {
 public:
  poller();
  ~poller();
  poller(const poller&) = delete;
  poller& operator=(const poller&) = delete;
  void add(int fd, void* tag, bool want_write);
  void modify(int fd, void* tag, bool want_write);
  void remove(int fd);
  struct ready {
    void* tag = nullptr;
    bool readable = false;
    bool writable = false;
    bool error = false;
  };
  // Waits up to `timeout` (0: poll) and returns the ready connections.
  std::span<const ready> wait(std::chrono::milliseconds timeout);

 private:
  int ep_ = -1;
  std::vector<ready> ready_;
};

}  // namespace protos7::replay::detail
