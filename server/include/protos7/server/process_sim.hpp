// A living process: variables that change by themselves, so an HMI sees live values and alarms
// come and go without any client writing them (docs/FAULTS.md, "Living process").
//
// Each driven variable has a definition, stored per variable in protos7's side table of the
// goprotos7 file (store: protos7_process_variables; goprotos7 ignores it) and edited in the web
// admin. The definition is JSON:
//
//   {"kind": "ramp",        "min": 0, "max": 100, "period_s": 60}     sawtooth min -> max
//   {"kind": "sine",        "min": 0, "max": 100, "period_s": 60, "phase_deg": 0}
//   {"kind": "square",      "min": 0, "max": 1, "period_s": 10, "duty": 0.5}
//   {"kind": "random_walk", "min": 0, "max": 100, "step": 1, "seed": 7, "start": 50}
//   {"kind": "counter",     "step": 1, "every_ms": 1000, "min": 0, "max": 65535}  wraps to min
//   {"kind": "toggle",      "period_s": 2}                             a bit: 1 half the time
//   {"kind": "copy",        "source": "DB1.Temperature"}               another variable
//   {"kind": "expression",  "expression": "DB1.Setpoint + 2 * sin(t / 10)"}
//
// Expressions: numbers, variables (STEP 7 addresses or DB<n>.<name> of the table), t (seconds
// since the start), + - * / % ^, comparisons (< <= > >= == !=, 1 or 0), && ||, ! , ( ), and
// sin cos tan abs sqrt floor ceil round min max clamp(x, lo, hi) exp log.
//
// The simulation ticks on a thread of its own (every 100 ms by default) and posts one closure per
// tick to the server's loop, which computes every value, in definition order, from the memory as
// it stands and writes the ones that changed (DB writes are committed with that round).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protos7/server/plc_variable.hpp"
#include "protos7/store/goprotos7_db.hpp"

namespace protos7::server {

class server;
class plc_memory;
struct process_expr;  // a parsed expression (process_sim.cpp)

enum class process_kind : std::uint8_t {
  ramp,
  sine,
  square,
  random_walk,
  counter,
  toggle,
  copy,
  expression
};

struct process_def {
  process_kind kind = process_kind::ramp;
  double min = 0, max = 100;
  double period_s = 60;
  double phase_deg = 0;
  double duty = 0.5;
  double step = 1;
  std::uint64_t seed = 1;
  std::optional<double> start;  // random_walk: the first value (default: the middle)
  std::uint32_t every_ms = 1000;
  std::string source;                           // copy: the variable's name or address
  std::string expression;                       // expression: its text
  std::shared_ptr<const process_expr> expr;     // expression, parsed
  std::optional<plc_variable> source_variable;  // copy, resolved
};

// Parses a definition (the JSON above) for a variable of type `target`; names are resolved with
// `lookup`. Failure: nullopt and a sentence in `why` naming the key.
[[nodiscard]] std::optional<process_def> parse_process(std::string_view json_text,
                                                       const store::type_spec& target,
                                                       const variable_lookup& lookup,
                                                       std::string& why);
// The definition as JSON text (what is stored; parse_process reads it back).
[[nodiscard]] std::string process_json(const process_def& d);
[[nodiscard]] std::string_view process_kind_name(process_kind k);

struct driven_variable {
  std::int64_t id = 0;  // db_variables.id (0: none, e.g. tests)
  plc_variable variable;
  process_def def;
};

class process_sim {
 public:
  explicit process_sim(std::chrono::milliseconds tick = std::chrono::milliseconds(100));
  ~process_sim();
  process_sim(const process_sim&) = delete;
  process_sim& operator=(const process_sim&) = delete;

  // Replaces the driven variables (any thread). A variable kept (same id and definition) keeps
  // its state (random walk, counter).
  void set(std::vector<driven_variable> vars);
  [[nodiscard]] std::vector<driven_variable> driven() const;
  // Starts ticking against `srv` (posting to its loop); stop() or the destructor ends it.
  void start(server& srv, plc_memory& mem);
  void stop();
  // One tick at `t` seconds since the start, on the caller's thread (the loop's, or a test's).
  void tick(plc_memory& mem, double t);
  [[nodiscard]] std::uint64_t ticks() const noexcept { return ticks_.load(); }

 private:
  struct state {
    driven_variable v;
    std::mt19937_64 rng;
    double walk = 0;
    bool started = false;
    double counter = 0;
    double counted_until = 0;
  };
  [[nodiscard]] double value_of(state& s, plc_memory& mem, double t) const;
  void loop(server& srv, plc_memory& mem);

  std::chrono::milliseconds tick_;
  mutable std::mutex mu_;  // guards vars_ (set() from other threads, tick() on the loop)
  std::vector<state> vars_;
  std::thread thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::atomic<bool> busy_{false};  // a tick is posted and has not run yet
  std::atomic<std::uint64_t> ticks_{0};
};

// Evaluates a parsed expression over the memory as it stands, `t` seconds since the start.
[[nodiscard]] double evaluate(const process_expr& e, plc_memory& mem, double t);

// Finds "DB<n>.<name>" among variable definitions (the goprotos7 table's).
[[nodiscard]] variable_lookup definitions_lookup(std::vector<store::variable_definition> defs);
// The driven variables of a catalog (its protos7_process_variables rows, in table order). A row
// that cannot be used (a STRING variable, a name that no longer exists) is skipped with a sentence
// in `problems`.
[[nodiscard]] std::vector<driven_variable> driven_from(const store::catalog& c,
                                                       std::vector<std::string>& problems);

}  // namespace protos7::server
