#include "protos7/server/operations.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "protos7/server/exit_codes.hpp"
#include "protos7/server/log.hpp"

namespace protos7::server {

int lock_storage(const serve_options& opt, data_lock& lock) {
  const std::string dir = opt.db_bin_path.empty() ? opt.data_dir : opt.db_bin_path;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    log(log_level::error, "cannot create directory {}: {}", dir, std::strerror(errno));
    return exit_code::cant_create;
  }
  bool busy = false;
  if (const status s = lock.acquire(dir, busy); !s) {
    log(log_level::error, "{}", s.why());
    return busy ? exit_code::temp_fail : exit_code::cant_create;
  }
  return 0;
}

int listen_exit_code(int err) noexcept {
  if (err == EACCES || err == EPERM) return exit_code::no_perm;
  if (err == EMFILE || err == ENFILE) return exit_code::config;
  return exit_code::unavailable;
}

void log_stop_hint() {
  if (::getpid() == 1) {  // the first process of a container
    log(log_level::info,
        "serving; stop the container (podman stop, docker stop, deleting the pod: SIGTERM, a "
        "clean stop)");
  } else if (std::getenv("INVOCATION_ID") != nullptr) {  // started by systemd
    log(log_level::info, "serving; stop with `systemctl stop` on its unit (SIGTERM: a clean stop)");
  } else if (::isatty(STDIN_FILENO) != 0) {
    log(log_level::info, "serving; press Ctrl+C to stop (or kill -TERM {})", ::getpid());
  } else {
    log(log_level::info, "serving; stop with kill -TERM {} (or Ctrl+C at its terminal)",
        ::getpid());
  }
}

serve_metrics::serve_metrics(const serve_options& opt, server& srv, plc_memory& mem) {
  if (opt.metrics_listen.empty()) return;
  metrics_ = std::make_unique<metrics>();
  metrics_->time_syncs(mem);
  http_ = std::make_unique<ops_http>(opt.metrics_listen, srv, mem, *metrics_);
}

serve_metrics::~serve_metrics() {
  if (http_) http_->stop();
}

int serve_metrics::start() {
  if (!http_) return 0;
  if (const status s = http_->start(); !s) {
    log(log_level::error, "{}", s.why());
    return exit_code::unavailable;
  }
  return 0;
}

}  // namespace protos7::server
