// The operations endpoint of `protos7 serve --metrics-listen HOST:PORT`: a small read-only HTTP
// server on its own thread for monitoring and orchestration, apart from the web admin (which
// needs a token and stays on loopback):
//
//   GET /metrics   the Prometheus text exposition (metrics.hpp)
//   GET /healthz   200 {"status":"ok",...} when the event loop runs a posted task within a second
//                  and no DB file has failed a sync; 503 {"status":...,"reason":...} otherwise
//
// Neither needs a token: they show counts, never PLC data, and change nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "protos7/server/memory.hpp"
#include "protos7/server/metrics.hpp"
#include "protos7/server/server.hpp"
#include "protos7/server/status.hpp"

namespace protos7::server {

class ops_http {
 public:
  // `srv`, `mem` and `m` must outlive this object.
  ops_http(std::string listen, server& srv, plc_memory& mem, const metrics& m);
  ~ops_http();
  ops_http(const ops_http&) = delete;
  ops_http& operator=(const ops_http&) = delete;

  // Binds HOST:PORT ([IPV6]:PORT; port 0: a free one) and serves on a thread; fails, saying
  // why, when it cannot listen.
  status start();
  void stop();
  [[nodiscard]] std::uint16_t port() const noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace protos7::server
