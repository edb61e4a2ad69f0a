#include "protos7/server/ops_http.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "protos7/server/log.hpp"
#include "protos7/webadmin/webadmin.hpp"

namespace protos7::server {

namespace {

// How long /healthz waits for the event loop to run its task.
constexpr std::chrono::seconds loop_deadline{1};

struct loop_check {
  std::mutex mu;
  std::condition_variable cv;
  bool ran = false;
  bool committed = false;
  std::size_t failed_dbs = 0;
  std::size_t connections = 0;
};

}  // namespace

struct ops_http::impl {
  std::string listen;
  server& srv;
  plc_memory& mem;
  const metrics& m;
  std::string host;
  std::uint16_t port = 0;
  httplib::Server http;
  std::thread thread;
  bool running = false;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  impl(std::string l, server& s, plc_memory& me, const metrics& mt)
      : listen(std::move(l)), srv(s), mem(me), m(mt) {}

  // Posts a task to the loop and waits for it (and its commit) within loop_deadline.
  void health(httplib::Response& res) {
    auto check = std::make_shared<loop_check>();
    const bool posted = srv.post(
        [check, this] {
          const std::lock_guard lock{check->mu};
          check->failed_dbs = mem.failed_dbs();
          check->connections = srv.connection_count();
        },
        [check](bool committed) {
          const std::lock_guard lock{check->mu};
          check->ran = true;
          check->committed = committed;
          check->cv.notify_all();
        });
    std::unique_lock lock{check->mu};
    const bool ran = posted && check->cv.wait_for(lock, loop_deadline, [&] { return check->ran; });
    const double uptime =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::string reason;
    if (!ran)
      reason = posted ? "the event loop did not answer within 1 s" : "the server is stopping";
    else if (!check->committed)
      reason = "a DB commit failed";
    else if (check->failed_dbs > 0)
      reason = fmt::format("{} DB file(s) failed a sync", check->failed_dbs);
    res.status = reason.empty() ? 200 : 503;
    res.set_header("Cache-Control", "no-store");
    res.set_content(
        reason.empty()
            ? fmt::format("{{\"status\":\"ok\",\"connections\":{},\"uptime_seconds\":{:.0f}}}\n",
                          check->connections, uptime)
            : fmt::format("{{\"status\":\"unhealthy\",\"reason\":\"{}\"}}\n", reason),
        "application/json");
  }

  void routes() {
    // Only SO_REUSEADDR (cpp-httplib's default adds SO_REUSEPORT: a second server would share it).
    http.set_socket_options([](int sock) {
      const int one = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    });
    http.set_read_timeout(std::chrono::seconds(5));
    http.set_write_timeout(std::chrono::seconds(5));
    http.new_task_queue = [] { return new httplib::ThreadPool(2); };
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-store");
      res.set_content(m.render(srv), "text/plain; version=0.0.4; charset=utf-8");
    });
    http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) { health(res); });
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      res.set_content(
          fmt::format("no such endpoint: {} (GET /metrics or /healthz)\n", req.path.substr(0, 80)),
          "text/plain");
    });
  }
};

ops_http::ops_http(std::string listen, server& srv, plc_memory& mem, const metrics& m)
    : impl_(std::make_unique<impl>(std::move(listen), srv, mem, m)) {
  impl_->routes();
}

ops_http::~ops_http() {
  stop();
}

status ops_http::start() {
  impl& d = *impl_;
  if (const status s = webadmin::parse_listen(d.listen, d.host, d.port); !s)
    return status::failure("--metrics-listen " + s.why());
  if (d.port == 0) {
    const int p = d.http.bind_to_any_port(d.host);
    if (p <= 0)
      return status::failure(
          fmt::format("metrics: cannot listen on {}: {}", d.listen, std::strerror(errno)));
    d.port = static_cast<std::uint16_t>(p);
  } else if (!d.http.bind_to_port(d.host, d.port)) {
    return status::failure(
        fmt::format("metrics: cannot listen on {} ({}): choose another --metrics-listen", d.listen,
                    std::strerror(errno)));
  }
  d.thread = std::thread([&d] { d.http.listen_after_bind(); });
  d.running = true;
  const std::string h = d.host.find(':') != std::string::npos ? "[" + d.host + "]" : d.host;
  log(log_level::info, "metrics on http://{}:{}/metrics, health on http://{}:{}/healthz", h, d.port,
      h, d.port);
  return {};
}

void ops_http::stop() {
  impl& d = *impl_;
  if (!d.running) return;
  d.running = false;
  d.http.stop();
  if (d.thread.joinable()) d.thread.join();
}

std::uint16_t ops_http::port() const noexcept {
  return impl_->port;
}

}  // namespace protos7::server
