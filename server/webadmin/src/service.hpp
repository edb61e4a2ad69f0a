// The operations behind the REST API, independent of HTTP: each takes parsed input and returns
// a status and a JSON body (docs/API.md). Thread-safe: called from the HTTP threads.
//
//  * Everything that touches the PLC (memory, the traffic monitor, the CPU state) runs on the
//    event-loop thread through on_loop(), which posts a closure with server::post and waits for
//    the round's group commit. Closures capture by value only: when a wait times out the
//    closure may still run later, after the caller is gone.
//  * The variable table (SQLite + its cache here) is guarded by mu_. State-changing operations
//    hold mu_ from validation to the end, so they are serialised and validate against the
//    table they change.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "protos7/server/config.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/plc_state.hpp"
#include "protos7/server/server.hpp"
#include "protos7/webadmin/catalog.hpp"
#include "protos7/webadmin/traffic.hpp"
#include "protos7/webadmin/webadmin.hpp"

namespace protos7::webadmin {

using json = nlohmann::json;

struct reply {
  int status = 200;
  json body;
  // A non-JSON body (exports) with its type and download name.
  std::string raw;
  std::string content_type;
  std::string filename;

  [[nodiscard]] static reply error(int status, std::string message, std::string field = {});
  [[nodiscard]] static reply ok(json body, int status = 200) {
    reply r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
};

template <class R>
struct loop_outcome {
  bool ran = false;        // the closure ran on the loop thread
  bool committed = false;  // ... and the round's group commit succeeded
  R value{};
};

// What an event stream compares between two looks.
struct live_snapshot {
  bool ran = false;
  bool db_exists = false;
  std::vector<std::byte> db_bytes;
  std::uint64_t traffic_generation = 0;
  std::size_t connections = 0;
  std::uint64_t requests_total = 0;
  std::uint64_t faults_total = 0;  // faults injected since start (or the last counter reset)
  std::string mode;                // "RUN" / "STOP" / "" (unknown)
};

class service {
 public:
  service(const options& opt, server::server& srv, server::plc_memory& mem,
          const server::config& cfg);
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  [[nodiscard]] traffic_monitor& monitor() noexcept { return monitor_; }

  // Data blocks.
  reply list_dbs();
  reply create_db(const json& body);
  reply get_db(std::uint16_t n);
  reply resize_db(std::uint16_t n, const json& body);
  reply delete_db(std::uint16_t n);
  reply read_bytes(std::uint16_t n, std::size_t offset, std::optional<std::size_t> length);
  reply export_db(std::uint16_t n, const std::string& format);
  reply import_db(std::uint16_t n, const std::string& format, const std::string& mode,
                  const std::string& body);

  // Variables.
  reply list_variables(std::uint16_t n);
  reply get_variable(std::uint16_t n, std::int64_t id);
  reply create_variable(std::uint16_t n, const json& body);
  reply update_variable(std::uint16_t n, std::int64_t id, const json& body);
  reply delete_variable(std::uint16_t n, std::int64_t id);
  reply set_value(std::uint16_t n, std::int64_t id, const json& body);

  // The PLC.
  reply plc_info();
  reply set_mode(const json& body);
  reply set_clock(const json& body);
  reply clients();
  reply requests(std::size_t limit);

  // Fault injection (service_live.cpp; docs/API.md "Faults").
  reply faults();
  reply set_faults(const std::string& body);                    // the rules format (docs/FAULTS.md)
  reply set_fault_enabled(std::size_t rule, const json& body);  // rule: 1-based
  reply fault_events(std::size_t limit);
  reply reset_fault_counters();
  // The living process of a variable.
  reply get_process(std::uint16_t n, std::int64_t id);
  reply set_process(std::uint16_t n, std::int64_t id, const json& body);
  reply delete_process(std::uint16_t n, std::int64_t id);
  // Trends: requests and faults per second and the variables' values, sampled every
  // options::trend_interval by a thread of the service (start_sampler / stop_sampler).
  reply trends(std::optional<std::uint16_t> db);
  void sample_trends();
  void start_sampler();
  void stop_sampler();

  // Event streams.
  live_snapshot snapshot(std::optional<std::uint16_t> db);
  // {"db": n, "variables": [{"id", "value", "display"}]} for the bytes of DB n.
  json values_json(std::uint16_t db, const std::vector<std::byte>& bytes);
  [[nodiscard]] std::uint64_t catalog_generation() const noexcept { return catalog_gen_.load(); }

 private:
  template <class F>
  auto on_loop(F f) -> loop_outcome<std::invoke_result_t<F&>>;

  struct parsed_var;
  parsed_var parse_var(std::uint16_t db, const json& body, const var_def* base, bool require_all);
  [[nodiscard]] std::vector<var_def> vars_of(std::uint16_t db) const;                    // mu_ held
  [[nodiscard]] const var_def* find_var(std::uint16_t db, std::int64_t id) const;        // mu_ held
  void sort_vars();                                                                      // mu_ held
  json db_json(std::uint16_t n, std::size_t size, const std::vector<std::byte>* bytes);  // mu_ held
  json var_json(const var_def& v, const std::vector<std::byte>* bytes) const;
  // Writes an encoded value (BOOL: one byte 0/1, applied to the bit on the loop thread) and
  // returns the DB's bytes after the write; an error reply when it did not become durable.
  std::optional<reply> write_value(const var_def& v, const std::vector<std::byte>& enc,
                                   std::vector<std::byte>& after);
  std::optional<std::vector<std::byte>> db_bytes(std::uint16_t n, bool& ran);
  // Import, one row at a time (mu_ held).
  struct import_table;
  struct json_import_state;
  std::optional<reply> import_row(import_table& t, const std::string& label, const json& obj);
  std::optional<reply> import_csv(import_table& t, const std::string& body);
  std::optional<reply> import_json(import_table& t, const std::string& body);
  bool json_import_event(import_table& t, json_import_state& st, int depth, json::parse_event_t ev,
                         json& parsed);
  std::optional<reply> write_imported_values(
      const std::vector<std::pair<var_def, std::vector<std::byte>>>& values);
  // After any change of the variable table (mu_ held): the generation, and the living process
  // follows the variables (moved, retyped or deleted ones).
  void catalog_changed();
  void update_process();                                      // mu_ held
  [[nodiscard]] json process_json_of(std::int64_t id) const;  // mu_ held

  const options& opt_;
  server::server& srv_;
  server::plc_memory& mem_;
  const server::config& cfg_;
  traffic_monitor monitor_;  // loop thread only
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();

  mutable std::mutex mu_;
  catalog_store store_;
  std::vector<var_def> vars_;
  std::map<std::int64_t, std::string> processes_;  // definitions by variable id (mu_)
  std::vector<std::string> skipped_;
  std::atomic<std::uint64_t> catalog_gen_{1};

  // Trend history (guarded by trend_mu_), sampled by sampler_.
  struct trend_history {
    std::deque<double> t;         // Unix time, seconds
    std::deque<double> rps, fps;  // requests and injected faults per second
    std::map<std::int64_t, std::deque<std::optional<double>>> vars;  // by variable id
    std::uint64_t last_requests = 0, last_faults = 0;
    std::chrono::steady_clock::time_point last{};
    bool primed = false;
  };
  std::mutex trend_mu_;
  trend_history trend_;
  std::thread sampler_;
  std::mutex sampler_mu_;
  std::condition_variable sampler_cv_;
  bool sampler_stop_ = false;
};

// Runs `f` on the event loop (server::post) and waits for it and the round's commit, at most
// options::loop_timeout. Closures capture by value only: after a timeout the closure may still run.
template <class F>
auto service::on_loop(F f) -> loop_outcome<std::invoke_result_t<F&>> {
  using R = std::invoke_result_t<F&>;
  struct state {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    loop_outcome<R> out;
  };
  auto st = std::make_shared<state>();
  auto fn = std::make_shared<F>(std::move(f));
  const bool queued = srv_.post(
      [st, fn] {
        st->out.value = (*fn)();
        st->out.ran = true;
      },
      [st](bool committed) {
        const std::lock_guard lock{st->mu};
        st->out.committed = committed;
        st->done = true;
        st->cv.notify_all();
      });
  if (!queued) return {};
  std::unique_lock lock{st->mu};
  if (!st->cv.wait_for(lock, opt_.loop_timeout, [&] { return st->done; })) return {};
  return std::move(st->out);
}

}  // namespace protos7::webadmin
