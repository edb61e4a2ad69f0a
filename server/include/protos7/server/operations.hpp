// What `protos7 serve` does for the people and programs that run it (issue #17): one server per
// data directory, exit statuses a service manager can act on, how to stop it, and the metrics and
// health endpoint (--metrics-listen).
#pragma once

#include <memory>

#include "protos7/server/app.hpp"
#include "protos7/server/data_lock.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/metrics.hpp"
#include "protos7/server/ops_http.hpp"
#include "protos7/server/server.hpp"

namespace protos7::server {

// Locks the directory the DB<n>.bin files live in (data_lock.hpp), creating it if missing.
// Returns 0, or the exit status after logging why: 75 another protos7 holds it, 73 it cannot be
// created or locked.
[[nodiscard]] int lock_storage(const serve_options& opt, data_lock& lock);

// The exit status for an errno of server::listen(): 77 no privilege for the port, 78 a limit of
// the system (file descriptors), 69 the address is in use, not this host's or does not resolve.
[[nodiscard]] int listen_exit_code(int err) noexcept;

// Logs how to stop the server: Ctrl+C at a terminal, `systemctl stop` under systemd,
// `kill -TERM <pid>` otherwise (each a clean, bounded stop).
void log_stop_hint();

// The metrics observer and the HTTP endpoint of --metrics-listen (nothing when it is not given).
class serve_metrics {
 public:
  serve_metrics(const serve_options& opt, server& srv, plc_memory& mem);
  ~serve_metrics();
  serve_metrics(const serve_metrics&) = delete;
  serve_metrics& operator=(const serve_metrics&) = delete;
  // Starts the endpoint; returns 0 or the exit status after logging why (69: cannot listen).
  [[nodiscard]] int start();
  // The observer to chain with the others (null when --metrics-listen is not given).
  [[nodiscard]] connection_observer* observer() noexcept { return metrics_.get(); }

 private:
  std::unique_ptr<metrics> metrics_;
  std::unique_ptr<ops_http> http_;
};

}  // namespace protos7::server
