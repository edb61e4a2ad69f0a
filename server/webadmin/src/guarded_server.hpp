// cpp-httplib's server with the connection handling of the web admin's own (issue #16):
//
// - shutdown is bounded: stop_clients() shuts every open connection down, so a worker blocked
//   reading a client that drips bytes (or idles in keep-alive) returns at once and the thread
//   pool can be joined; cpp-httplib 0.11 would wait for the client (read timeout per byte).
// - a deadline for reading each whole request, head and body (slowloris: cpp-httplib's read
//   timeout counts per recv(), so one byte every 9 s holds a worker forever);
// - at most max_per_address connections per client address (the workers are a small pool);
// - a handler may ask for the connection to be closed after its response (a refused body that
//   was not read must not be parsed as the next request).
//
// Only Server::process_and_close_socket (a virtual of cpp-httplib's Server) is replaced: the
// keep-alive loop and the socket stream; parsing and routing stay cpp-httplib's.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace protos7::webadmin {

class guarded_server final : public httplib::Server {
 public:
  std::chrono::milliseconds request_timeout{10'000};  // whole request (head and body)
  std::size_t max_per_address = 16;                   // HTTP connections per client address

  // Makes every worker return: new and open connections are shut down. Call before stop().
  void stop_clients();
  // From a handler (on the worker's thread): close the connection after this response.
  static void close_after_response() noexcept;
  [[nodiscard]] std::size_t open_connections();

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool enter(int sock, const std::string& addr);
  void linger(int sock) noexcept;
  void leave(int sock, const std::string& addr);

  std::mutex mu_;  // guards socks_, per_address_
  std::set<int> socks_;
  std::map<std::string, std::size_t> per_address_;
  std::atomic<bool> closing_{false};
};

}  // namespace protos7::webadmin
