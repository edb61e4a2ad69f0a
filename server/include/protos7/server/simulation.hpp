// What `protos7 serve` runs next to the event loop to make the PLC misbehave and live on purpose
// (docs/FAULTS.md): the fault rules (--faults FILE or the profile's "faults"), the scenario
// (--scenario FILE) and the living process (the goprotos7 file's protos7_process_variables).
#pragma once

#include <memory>
#include <string>

#include "protos7/server/process_sim.hpp"
#include "protos7/server/scenario.hpp"
#include "protos7/server/status.hpp"

namespace protos7::server {

struct config;
struct serve_options;
class server;
class plc_memory;

class simulation {
 public:
  simulation() = default;
  ~simulation();
  simulation(const simulation&) = delete;
  simulation& operator=(const simulation&) = delete;

  // Loads the rules into srv.faults(), the scenario and the driven variables; fails, saying why
  // `serve` cannot start, on a rules file, scenario or profile that is refused.
  status prepare(const serve_options& opt, const config& cfg, server& srv, plc_memory& mem);
  // Starts the scenario and the process (threads that post to srv's loop); stop() ends them.
  void start();
  void stop();
  [[nodiscard]] process_sim& process() noexcept { return process_; }

 private:
  server* srv_ = nullptr;
  plc_memory* mem_ = nullptr;
  process_sim process_;
  std::unique_ptr<scenario_runner> scenario_;
};

}  // namespace protos7::server
