#include "protos7/server/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "protos7/server/log.hpp"

namespace protos7::server {

namespace {

using clock_type = std::chrono::steady_clock;

// (EAGAIN == EWOULDBLOCK on Linux; only EAGAIN is tested.)
constexpr std::size_t read_chunk = 16 * 1024;
// A client that does not read its answers: stop reading its requests beyond this backlog.
constexpr std::size_t max_pending_output = 256 * 1024;
// Bytes read from one connection per round before the others get their turn.
constexpr std::size_t max_read_per_round = 4 * read_chunk;

std::string peer_name(const sockaddr_in& a) {
  std::array<char, INET_ADDRSTRLEN> ip{};
  ::inet_ntop(AF_INET, &a.sin_addr, ip.data(), ip.size());
  return fmt::format("{}:{}", ip.data(), ntohs(a.sin_port));
}

}  // namespace

struct server::connection {
  int fd = -1;
  session s;
  std::vector<std::byte> out;  // replies not sent yet
  std::size_t out_sent = 0;
  clock_type::time_point accepted;
  clock_type::time_point last_activity;
  bool close_after_flush = false;
  std::uint32_t events = 0;

  connection(int f, const config& cfg, plc_memory& mem, plc_state& plc, std::uint16_t ref, std::string peer)
      : fd(f), s(cfg, mem, plc, ref, std::move(peer)) {}
};

server::server(const config& cfg, plc_memory& mem)
    : cfg_(cfg), mem_(mem), plc_(cfg, mem), read_buf_(read_chunk) {}

server::~server() {
  for (auto& [fd, c] : conns_) ::close(fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

std::string listen_error_text(int err, const config& cfg) {
  if (err == EACCES || err == EPERM)
    return fmt::format(
        "cannot listen on {}:{}: {}. Ports below 1024 need privileges: either use an unprivileged "
        "port (e.g. --port 1102) or allow the binary to bind them with "
        "`sudo setcap cap_net_bind_service=+ep $(command -v protos7)`",
        cfg.listen_address, cfg.port, std::strerror(err));
  return fmt::format("cannot listen on {}:{}: {}", cfg.listen_address, cfg.port, std::strerror(err));
}

int server::listen() {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(cfg_.port);
  if (::inet_pton(AF_INET, cfg_.listen_address.c_str(), &addr.sin_addr) != 1) return EINVAL;
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return errno;
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return errno;
  if (::listen(listen_fd_, 64) != 0) return errno;
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return errno;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return errno;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) return errno;
  ev.data.fd = wake_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) return errno;
  log(log_level::info, "listening on {}:{} (rack {} slot {}, PDU {} max, AmQ {} max, {} connections max)",
      cfg_.listen_address, port_, cfg_.rack, cfg_.slot, cfg_.pdu_size, cfg_.max_amq, cfg_.max_connections);
  return 0;
}

void server::stop() noexcept {
  stopping_.store(true);
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }
}

bool server::post(std::function<void()> work, std::function<void(bool committed)> done) {
  {
    const std::lock_guard lock{posted_mu_};
    if (!accepting_posts_) return false;
    posted_.push_back({std::move(work), std::move(done)});
  }
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }
  return true;
}

void server::accept_all() {
  for (;;) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN) log(log_level::warn, "accept: {}", std::strerror(errno));
      return;
    }
    const std::string peer = peer_name(a);
    if (conns_.size() >= cfg_.max_connections) {
      // Like a CPU whose connection resources are exhausted: the TCP connection is dropped.
      log(log_level::warn, "{}: refused, {} connections already open (--max-connections)", peer, conns_.size());
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::uint16_t ref = next_ref_++;
    if (next_ref_ == 0) next_ref_ = 1;
    auto c = std::make_unique<connection>(fd, cfg_, mem_, plc_, ref, peer);
    c->accepted = c->last_activity = clock_type::now();
    c->events = EPOLLIN | EPOLLRDHUP;
    epoll_event ev{};
    ev.events = c->events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      log(log_level::error, "{}: epoll_ctl: {}", peer, std::strerror(errno));
      ::close(fd);
      continue;
    }
    log(log_level::debug, "{}: accepted", peer);
    conns_.emplace(fd, std::move(c));
    count_.store(conns_.size());
    if (observer_ != nullptr) observer_->on_open(fd, peer);
  }
}

void server::on_readable(connection& c) {
  std::size_t total = 0;
  while (!c.close_after_flush && total < max_read_per_round &&
         c.out.size() - c.out_sent < max_pending_output) {
    const ssize_t n = ::recv(c.fd, read_buf_.data(), read_buf_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      log(log_level::info, "{}: recv: {}", c.s.peer(), std::strerror(errno));
      c.close_after_flush = true;
      c.out.clear();
      c.out_sent = 0;
      return;
    }
    if (n == 0) {
      log(log_level::debug, "{}: peer closed the connection", c.s.peer());
      c.close_after_flush = true;
      return;
    }
    total += static_cast<std::size_t>(n);
    c.last_activity = clock_type::now();
    const std::span<const std::byte> in(read_buf_.data(), static_cast<std::size_t>(n));
    const std::size_t queued = c.out.size();
    if (!c.s.receive(in, c.out)) c.close_after_flush = true;
    if (observer_ != nullptr) observer_->on_traffic(c.fd, in, std::span<const std::byte>(c.out).subspan(queued));
    // A short read drained the socket: do not spend a recv() on EAGAIN (one syscall of the
    // three or four per request at one job in flight). The epoll registration is
    // level-triggered, so bytes or an EOF that arrive meanwhile are reported next round.
    if (static_cast<std::size_t>(n) < read_buf_.size()) return;
  }
}

void server::flush(connection& c) {
  while (c.out_sent < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      log(log_level::info, "{}: send: {}", c.s.peer(), std::strerror(errno));
      c.out.clear();
      c.out_sent = 0;
      c.close_after_flush = true;
      return;
    }
    c.out_sent += static_cast<std::size_t>(n);
  }
  if (c.out_sent == c.out.size()) {
    c.out.clear();
    c.out_sent = 0;
  }
}

void server::update_events(connection& c) {
  std::uint32_t want = EPOLLRDHUP;
  const std::size_t pending = c.out.size() - c.out_sent;
  if (pending > 0) want |= EPOLLOUT;
  if (pending < max_pending_output && !c.close_after_flush) want |= EPOLLIN;
  if (want == c.events) return;
  c.events = want;
  epoll_event ev{};
  ev.events = want;
  ev.data.fd = c.fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void server::close_connection(int fd) {
  const auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  if (observer_ != nullptr) observer_->on_close(fd);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  log(log_level::debug, "{}: closed", it->second->s.peer());
  conns_.erase(it);
  count_.store(conns_.size());
}

void server::sweep_timeouts() {
  const auto now = clock_type::now();
  std::vector<int> expired;
  for (auto& [fd, c] : conns_) {
    const bool set_up = c->s.current_state() == session::state::ready;
    if (!set_up && cfg_.setup_timeout.count() > 0 && now - c->accepted > cfg_.setup_timeout) {
      log(log_level::info, "{}: no COTP connection + Setup Communication within {} ms: closed",
          c->s.peer(), cfg_.setup_timeout.count());
      expired.push_back(fd);
    } else if (cfg_.idle_timeout.count() > 0 && now - c->last_activity > cfg_.idle_timeout) {
      log(log_level::info, "{}: idle for {} ms: closed", c->s.peer(), cfg_.idle_timeout.count());
      expired.push_back(fd);
    }
  }
  for (int fd : expired) close_connection(fd);
}

void server::run() {
  std::array<epoll_event, 64> events{};
  auto last_sweep = clock_type::now();
  std::vector<int> touched;
  while (!stopping_.load()) {
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 200);
    if (n < 0 && errno != EINTR) {
      log(log_level::error, "epoll_wait: {}", std::strerror(errno));
      break;
    }
    touched.clear();
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      const std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
      if (fd == listen_fd_) {
        accept_all();
        continue;
      }
      if (fd == wake_fd_) {
        std::uint64_t count = 0;  // reset the eventfd (stop() and post() write to it)
        [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      const auto it = conns_.find(fd);
      if (it == conns_.end()) continue;
      connection& c = *it->second;
      if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0) on_readable(c);
      touched.push_back(fd);
    }
    // Work posted by other threads (the web admin) runs here, so its DB writes join the commit.
    std::vector<posted> ran;
    {
      const std::lock_guard lock{posted_mu_};
      ran.swap(posted_);
    }
    for (posted& p : ran)
      if (p.work) p.work();
    // Group commit: make this round's DB writes durable before any acknowledgement leaves.
    const bool committed = !mem_.has_uncommitted() || mem_.commit();
    for (posted& p : ran)
      if (p.done) p.done(committed);
    if (!committed) {
      for (auto& [fd, c] : conns_) {
        if (c->s.wrote()) {
          log(log_level::error, "{}: DB sync failed: closing without acknowledging", c->s.peer());
          c->out.clear();
          c->out_sent = 0;
          c->close_after_flush = true;
        }
      }
    }
    for (auto& [fd, c] : conns_) c->s.clear_wrote();
    for (int fd : touched) {
      const auto it = conns_.find(fd);
      if (it == conns_.end()) continue;
      connection& c = *it->second;
      flush(c);
      if (c.close_after_flush && c.out.empty()) {
        close_connection(fd);
        continue;
      }
      update_events(c);
    }
    const auto now = clock_type::now();
    if (now - last_sweep > std::chrono::milliseconds(200)) {
      last_sweep = now;
      sweep_timeouts();
    }
  }
  std::vector<posted> dropped;
  {
    const std::lock_guard lock{posted_mu_};
    accepting_posts_ = false;
    dropped.swap(posted_);
  }
  for (posted& p : dropped)
    if (p.done) p.done(false);
  log(log_level::info, "stopped");
}

}  // namespace protos7::server
