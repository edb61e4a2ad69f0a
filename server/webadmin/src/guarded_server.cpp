#include "guarded_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "protos7/server/log.hpp"

namespace protos7::webadmin {

namespace {

using clock_type = std::chrono::steady_clock;

bool address_of(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  const int r = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&a), &len)
                     : ::getsockname(sock, reinterpret_cast<sockaddr*>(&a), &len);
  if (r != 0) return false;
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &v4->sin_addr, text.data(), text.size());
    port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text.data(), text.size());
    port = ntohs(v6->sin6_port);
  } else {
    return false;
  }
  ip = text.data();
  return true;
}

int poll_ms(std::chrono::milliseconds d) {
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(d.count(), 0, 60'000));
}

// The socket of one connection, read through a small buffer (cpp-httplib reads the head byte
// by byte). Reads fail once the request deadline has passed.
class socket_stream final : public httplib::Stream {
 public:
  socket_stream(int sock, std::chrono::milliseconds read_timeout,
                std::chrono::milliseconds write_timeout, const std::atomic<bool>& closing)
      : sock_(sock),
        read_timeout_(read_timeout),
        write_timeout_(write_timeout),
        closing_(closing) {}
  void start_request(clock_type::time_point deadline) { deadline_ = deadline; }
  bool close_requested = false;
  // A next request on a keep-alive connection: bytes within `idle`.
  bool wait_request(std::chrono::milliseconds idle) const {
    return avail_ > 0 || wait(POLLIN, idle);
  }

  bool is_readable() const override { return avail_ > 0 || wait(POLLIN, read_timeout_); }
  bool is_writable() const override { return !closing_.load() && wait(POLLOUT, write_timeout_); }
  ssize_t read(char* ptr, std::size_t size) override {
    if (avail_ == 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - clock_type::now());
      if (left.count() <= 0 || !wait(POLLIN, std::min(left, read_timeout_))) return -1;
      const ssize_t n = ::recv(sock_, buf_.data(), buf_.size(), 0);
      if (n <= 0) return n;
      pos_ = 0;
      avail_ = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min(size, avail_);
    std::copy_n(buf_.data() + pos_, n, ptr);
    pos_ += n;
    avail_ -= n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, std::size_t size) override {
    if (!is_writable()) return -1;
    return ::send(sock_, ptr, size, MSG_NOSIGNAL);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(sock_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(sock_, false, ip, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  bool wait(short events, std::chrono::milliseconds timeout) const {
    pollfd p{sock_, events, 0};
    for (;;) {
      const int r = ::poll(&p, 1, poll_ms(timeout));
      if (r < 0 && errno == EINTR) continue;
      return r > 0;
    }
  }
  int sock_;
  std::chrono::milliseconds read_timeout_;
  std::chrono::milliseconds write_timeout_;
  const std::atomic<bool>& closing_;
  clock_type::time_point deadline_{};
  std::array<char, 4096> buf_{};
  std::size_t pos_ = 0;
  std::size_t avail_ = 0;
};

thread_local socket_stream* t_stream = nullptr;

std::chrono::milliseconds to_ms(time_t sec, time_t usec) {
  return std::chrono::milliseconds(sec * 1000 + usec / 1000);
}

}  // namespace

void guarded_server::close_after_response() noexcept {
  if (t_stream != nullptr) t_stream->close_requested = true;
}

std::size_t guarded_server::open_connections() {
  const std::lock_guard lock{mu_};
  return socks_.size();
}

void guarded_server::stop_clients() {
  closing_.store(true);
  const std::lock_guard lock{mu_};
  for (const int s : socks_) ::shutdown(s, SHUT_RDWR);
}

bool guarded_server::enter(int sock, const std::string& addr) {
  const std::lock_guard lock{mu_};
  if (closing_.load()) return false;
  std::size_t& n = per_address_[addr];
  if (max_per_address != 0 && n >= max_per_address) {
    server::log(server::log_level::debug, "webadmin: {}: refused, {} connections from this address",
                addr, n);
    if (n == 0) per_address_.erase(addr);
    return false;
  }
  ++n;
  socks_.insert(sock);
  return true;
}

void guarded_server::leave(int sock, const std::string& addr) {
  const std::lock_guard lock{mu_};
  socks_.erase(sock);
  if (const auto it = per_address_.find(addr); it != per_address_.end() && --it->second == 0)
    per_address_.erase(it);
}

bool guarded_server::process_and_close_socket(socket_t sock) {
  std::string addr;
  int port = 0;
  address_of(sock, true, addr, port);
  bool ok = false;
  if (enter(sock, addr)) {
    socket_stream strm(sock, to_ms(read_timeout_sec_, read_timeout_usec_),
                       to_ms(write_timeout_sec_, write_timeout_usec_), closing_);
    t_stream = &strm;
    const std::size_t max_requests = std::max<std::size_t>(keep_alive_max_count_, 1);
    for (std::size_t n = 0; n < max_requests && !closing_.load(); ++n) {
      // Between requests a keep-alive connection may idle this long.
      if (n > 0 && !strm.wait_request(std::chrono::seconds(keep_alive_timeout_sec_))) break;
      strm.start_request(clock_type::now() + request_timeout);
      bool closed = false;
      ok = process_request(strm, n + 1 == max_requests || closing_.load(), closed,
                           [](httplib::Request&) {});
      if (!ok || closed || strm.close_requested) break;
    }
    t_stream = nullptr;
    if (strm.close_requested && !closing_.load()) linger(sock);
    leave(sock, addr);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

// A request refused before its body was read (413): the answer is sent, but closing at once
// would make the kernel reset the connection while the client still writes the body, and the
// client would see the reset instead of the 413. As nginx's lingering close: stop writing, read
// and discard what the client still sends, bounded in time and bytes.
void guarded_server::linger(int sock) noexcept {
  ::shutdown(sock, SHUT_WR);
  constexpr auto lingering_time = std::chrono::seconds(2);
  constexpr std::size_t lingering_bytes = 8U << 20U;
  const auto end = clock_type::now() + lingering_time;
  std::array<char, 16384> buf{};
  std::size_t total = 0;
  while (total < lingering_bytes && !closing_.load()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end - clock_type::now()).count();
    if (left <= 0) break;
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100))) < 0 && errno != EINTR)
      break;
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    const ssize_t n = ::recv(sock, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
}

}  // namespace protos7::webadmin
