// Scenarios: a timeline the PLC follows by itself (`serve --scenario FILE`, docs/FAULTS.md).
//
//   { "repeat": 3, "period": "30s",
//     "steps": [
//       { "at": "10s", "mode": "stop" },
//       { "at": "20s", "mode": "run" },
//       { "at": "5s",  "set": "DB1.DBD4", "type": "REAL", "value": 21.5 },
//       { "at": "12s", "raise": "DB1.DBX8.1" },
//       { "at": "14s", "clear": "DB1.DBX8.1" },
//       { "at": "15s", "fault": "slow reads", "enabled": true } ] }
//
// Times count from the start of the server (of each pass when repeating: "repeat" is a number of
// passes or true for ever, "period" the length of a pass, by default the last step's time).
// Steps at the same time run in the order written. Each step runs on the server's loop thread
// (posted, like the web admin's work), so a value it sets is committed with that loop round.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protos7/server/plc_variable.hpp"
#include "protos7/server/profile.hpp"

namespace protos7::server {

class server;
class plc_memory;

struct scenario_step {
  enum class kind : std::uint8_t { mode, set, fault };
  std::chrono::milliseconds at{0};
  kind what = kind::mode;
  operating_mode mode = operating_mode::run;  // kind::mode
  plc_variable variable;                      // kind::set ("raise": 1, "clear": 0)
  double value = 0;
  std::string fault;  // kind::fault: the rule's name
  bool enabled = true;
  [[nodiscard]] std::string describe() const;
};

struct scenario {
  std::vector<scenario_step> steps;  // ordered by time
  std::uint64_t passes = 1;          // 0: for ever
  std::chrono::milliseconds period{0};
};

// Parses a scenario (`source` names it in errors). Names of variables are resolved with
// `lookup`. Throws std::runtime_error naming the step and what to write instead.
[[nodiscard]] scenario parse_scenario(std::string_view json_text, const std::string& source,
                                      const variable_lookup& lookup);
[[nodiscard]] scenario load_scenario(const std::string& path, const variable_lookup& lookup);

// Runs a scenario against a running server on a thread of its own; each step is posted to the
// server's loop at its time. stop() (or the destructor) ends it; call before the server goes.
class scenario_runner {
 public:
  scenario_runner(scenario sc, server& srv, plc_memory& mem);
  ~scenario_runner();
  scenario_runner(const scenario_runner&) = delete;
  scenario_runner& operator=(const scenario_runner&) = delete;
  void start();
  void stop();
  // Steps run so far (posted and executed by the loop).
  [[nodiscard]] std::uint64_t steps_run() const noexcept { return run_.load(); }

 private:
  void loop();
  scenario sc_;
  server& srv_;
  plc_memory& mem_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> run_{0};
};

}  // namespace protos7::server
