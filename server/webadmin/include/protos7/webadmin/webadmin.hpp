// The web admin of `protos7 serve`: a page (embedded in the binary) and the JSON REST API it
// uses, to create and maintain the data blocks and their variables, watch and set live values,
// and look at the PLC (mode, clients, last requests). docs/API.md describes every endpoint.
//
// Threads: cpp-httplib serves on its own threads. They never touch the PLC memory, the
// connections or the traffic monitor: every such operation is a closure posted to the S7
// event loop (server::post), which runs it between the reads of an epoll round and the round's
// group commit, so a value written from the page goes through the same pwrite + fdatasync path
// as an S7 Write Var, and the HTTP answer (200) leaves only after the commit. The variable table
// (SQLite) is the web admin's own and guarded by its own mutex.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "protos7/server/config.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/plant.hpp"
#include "protos7/server/process_sim.hpp"
#include "protos7/server/server.hpp"
#include "protos7/server/status.hpp"

namespace protos7::webadmin {

struct options {
  // HOST:PORT, [IPV6]:PORT or PORT (= 127.0.0.1:PORT); port 0 picks a free one (tests).
  std::string listen = "127.0.0.1:8080";
  // Required from clients (Authorization: Bearer, or the cookie GET /?token= sets). When empty,
  // one is generated (see token()) and start() logs the URL to open, as Jupyter does: on
  // loopback too, since any local user or a process of another user can reach 127.0.0.1.
  std::string token;
  // No token at all; refused (start() fails) unless `listen` is a loopback address.
  bool no_auth = false;
  std::string sqlite_path;  // goprotos7 database (db_variables, static_var_definitions)
  std::string bin_dir;      // where DB<n>.bin files are created
  std::size_t max_body = std::size_t{1024} * 1024;  // larger request bodies get 413
  std::size_t max_event_streams = 16;               // concurrent GET /api/events
  std::chrono::milliseconds event_interval{200};    // how often an event stream looks for changes
  std::chrono::milliseconds loop_timeout{10'000};   // waiting for the event loop to run a task
  // The living process whose definitions the page edits (null: none runs; edits are stored and
  // take effect at the next start).
  server::process_sim* process = nullptr;
  std::chrono::milliseconds trend_interval{1000};  // how often the trend history is sampled
  std::size_t trend_points = 300;                  // samples kept (5 minutes at 1 s)
};

// Parses `listen` into host and port; fails with a sentence saying what is wrong with it.
server::status parse_listen(const std::string& listen, std::string& host, std::uint16_t& port);
// 127.0.0.0/8, ::1, localhost.
[[nodiscard]] bool is_loopback(const std::string& host);

class webadmin {
 public:
  // Opens the SQLite database (throws std::runtime_error if it cannot) and attaches the traffic
  // monitor to `srv` (call before srv.run()). `mem` and `cfg` must outlive this object; they are
  // only used on the event-loop thread (through srv.post) apart from reading `cfg`.
  webadmin(options opt, server::server& srv, server::plc_memory& mem, const server::config& cfg);
  // The web admin of a plant (`protos7 serve --plant`): GET /api/plcs lists the PLCs, every PLC's
  // API is /api/plcs/NAME/... and its page /plcs/NAME/ (docs/API.md, "Plants"). opt.sqlite_path and
  // opt.bin_dir are ignored (each PLC has its own). `p` must outlive this object.
  webadmin(options opt, server::plant& p);
  ~webadmin();
  webadmin(const webadmin&) = delete;
  webadmin& operator=(const webadmin&) = delete;

  // Binds and starts serving on a thread of its own; fails, saying why, when it cannot listen.
  server::status start();
  // Stops serving (waits for the HTTP threads). Idempotent; the destructor calls it.
  void stop();

  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] std::string url() const;
  // The token clients must present ("" when none is required).
  [[nodiscard]] const std::string& token() const noexcept;
  // The per-process CSRF token state-changing requests carry in X-Protos7-CSRF.
  [[nodiscard]] const std::string& csrf_token() const noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace protos7::webadmin
