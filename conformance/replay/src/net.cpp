// Non-blocking sockets and epoll for the replay runner (net.hpp).
#include "net.hpp"

#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace protos7::replay::detail {

protos7::status tcp_link::start_connect(const target& t) {
  target_text_ = t.to_string();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(t.port);
  const int gai = ::getaddrinfo(t.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0)
    return protos7::status::failure(
        fmt::format("cannot resolve {}: {}", t.host, ::gai_strerror(gai)));
  std::string last = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      ::close(fd);
      continue;
    }
    fd_ = fd;
    st_ = rc == 0 ? state::open : state::connecting;
    break;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0)
    return protos7::status::failure(fmt::format("cannot connect to {}: {}", target_text_, last));
  return {};
}

protos7::status tcp_link::finish_connect() {
  int e = 0;
  socklen_t len = sizeof e;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &e, &len) != 0) e = errno;
  if (e != 0) {
    close();
    return protos7::status::failure(
        fmt::format("cannot connect to {}: {}", target_text_, std::strerror(e)));
  }
  st_ = state::open;
  return {};
}

protos7::status tcp_link::flush() {
  while (out_at_ < out_.size()) {
    const ssize_t n = ::send(fd_, out_.data() + out_at_, out_.size() - out_at_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return {};  // EWOULDBLOCK is the same value on Linux
      return protos7::status::failure(std::strerror(errno));
    }
    out_at_ += static_cast<std::size_t>(n);
  }
  out_.clear();
  out_at_ = 0;
  return {};
}

tcp_link::read_status tcp_link::read(std::span<std::byte> buf, std::size_t& n, std::string& err) {
  for (;;) {
    const ssize_t r = ::recv(fd_, buf.data(), buf.size(), 0);
    if (r > 0) {
      n = static_cast<std::size_t>(r);
      return read_status::data;
    }
    if (r == 0) return read_status::closed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return read_status::again;  // = EWOULDBLOCK on Linux
    err = std::strerror(errno);
    return errno == ECONNRESET ? read_status::closed : read_status::error;
  }
}

void tcp_link::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  st_ = state::closed;
  out_.clear();
  out_at_ = 0;
}

poller::poller() : ep_(::epoll_create1(EPOLL_CLOEXEC)) {}
poller::~poller() {
  if (ep_ >= 0) ::close(ep_);
}

namespace {
epoll_event event_for(void* tag, bool want_write) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (want_write ? EPOLLOUT : 0U);
  ev.data.ptr = tag;
  return ev;
}
}  // namespace

void poller::add(int fd, void* tag, bool want_write) {
  epoll_event ev = event_for(tag, want_write);
  ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
}
void poller::modify(int fd, void* tag, bool want_write) {
  epoll_event ev = event_for(tag, want_write);
  ::epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
}
void poller::remove(int fd) {
  ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
}

std::span<const poller::ready> poller::wait(std::chrono::milliseconds timeout) {
  std::array<epoll_event, 64> evs{};
  const int n = ::epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()),
                             static_cast<int>(std::min<std::int64_t>(timeout.count(), 60'000)));
  ready_.clear();
  for (int i = 0; i < n; ++i) {
    const epoll_event& e = evs[static_cast<std::size_t>(i)];
    ready_.push_back({e.data.ptr, (e.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0,
                      (e.events & EPOLLOUT) != 0, (e.events & EPOLLERR) != 0});
  }
  return ready_;
}

}  // namespace protos7::replay::detail
