// The web admin's HTTP connection guard (issue #16 items 4 and 5): a deadline for the whole
// request head (slowloris), a limit of connections per client address, chunked bodies refused.
#include "guarded_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace {

using clock_type = std::chrono::steady_clock;
using protos7::webadmin::guarded_server;

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True when the server closed `fd` (EOF or reset) within `ms`.
bool closed_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return false;
  char c = 0;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

std::string get(int port) {
  const int fd = connect_to(port);
  const std::string req = "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[512];
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, 2000) > 0) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

struct running {
  guarded_server srv;
  std::thread t;
  int port = 0;
  running(std::chrono::milliseconds deadline, std::size_t per_address) {
    srv.request_timeout = deadline;
    srv.max_per_address = per_address;
    srv.Get("/ping", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("pong", "text/plain");
    });
    port = srv.bind_to_any_port("127.0.0.1");
    t = std::thread([this] { srv.listen_after_bind(); });
    while (!srv.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~running() {
    srv.stop_clients();
    srv.stop();
    t.join();
  }
};

}  // namespace

TEST(guarded_server, a_request_head_dripped_byte_by_byte_is_cut_at_the_deadline) {
  running r{std::chrono::milliseconds(300), 16};
  const int fd = connect_to(r.port);
  ASSERT_GE(fd, 0);
  const std::string head =
      "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  const auto begin = clock_type::now();
  bool closed = false;
  for (std::size_t i = 0; i < head.size() && !closed; ++i) {  // one byte every 50 ms: 3.5 s in all
    (void)::send(fd, head.data() + i, 1, MSG_NOSIGNAL);
    closed = closed_within(fd, 50);
  }
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - begin).count();
  ::close(fd);
  EXPECT_TRUE(closed) << "the server kept a dripping request head open for " << took << " ms";
  EXPECT_LT(took, 1500);
  EXPECT_NE(get(r.port).find("pong"), std::string::npos);  // others are still served
}

TEST(guarded_server, connections_per_address_are_limited_and_a_freed_slot_is_reused) {
  running r{std::chrono::milliseconds(5000), 2};
  const int a = connect_to(r.port);
  const int b = connect_to(r.port);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int c = connect_to(r.port);
  ASSERT_GE(c, 0);
  EXPECT_TRUE(closed_within(c, 1000)) << "a third connection from 127.0.0.1 was kept";
  ::close(c);
  EXPECT_FALSE(closed_within(a, 100));  // the first two are untouched
  ::close(a);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_NE(get(r.port).find("pong"), std::string::npos);
  ::close(b);
}
