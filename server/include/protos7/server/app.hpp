// `protos7 serve`: storage set-up (sample PLC, SQLite, BIN files), then the event loop.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "protos7/server/config.hpp"
#include "protos7/server/duration.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/profile.hpp"

namespace protos7::server {

struct serve_options {
  config cfg;
  std::string data_dir = "protos7-data";  // used when -s / -b are not given
  std::string sqlite_path;                // -s; empty: <data_dir>/protos7.db
  std::string db_bin_path;                // -b; empty: <data_dir>
  bool disable_webadmin = false;          // goprotos7 flag: serve S7 only, no web admin
  log_level level = log_level::info;
  log_level sqlite_level = log_level::off;
  // --profile FILE (docs/PROFILE.md); empty: the bundled S7-300 profile.
  std::string profile_path;
  // --order-number, --module-name, ... over the profile's identity.
  identity_overrides identity;
  // Whether --pdu-size / --max-amq / --max-connections were given: if not, a --profile's
  // "limits" replace the defaults.
  bool pdu_size_given = false;
  bool max_amq_given = false;
  bool max_connections_given = false;
  // --validate: check every client against the strict codec and its negotiated limits
  // (validate.hpp); a JSON report per connection in validate_dir (default <data-dir>/validate).
  bool validate = false;
  std::string validate_dir;
  // --capture FILE: every connection recorded as a pcap file (pcap_writer.hpp).
  std::string capture_path;
  // --capture-port: the server port the capture shows (102: decoded as S7 everywhere; 0: real).
  std::uint16_t capture_port = 102;
  // --faults FILE: fault rules (fault_rules.hpp), instead of the profile's "faults".
  std::string faults_path;
  // --scenario FILE: the timeline the PLC follows (scenario.hpp).
  std::string scenario_path;
  // --metrics-listen HOST:PORT: GET /metrics and /healthz (ops_http.hpp); empty: off.
  std::string metrics_listen;
};

// A start-up failure with the exit status it calls for (exit_codes.hpp).
struct startup_error : std::runtime_error {
  startup_error(int status, const std::string& what) : std::runtime_error(what), code(status) {}
  int code;
};

// The server configuration `protos7 serve` runs with: opt.cfg plus the profile (loaded and
// with the identity overrides applied), its limits where no flag was given, and the directory
// where downloaded DBs are stored. Throws profile_error.
[[nodiscard]] config resolve_config(const serve_options& opt);
// The same with the profile already loaded (a plant shares one profile between its PLCs and
// gives each its identity through plc_state::set_identity; opt.identity is not applied here).
[[nodiscard]] config resolve_config(const serve_options& opt,
                                    std::shared_ptr<const plc_profile> profile);

// Prepares storage into `mem` as `protos7 serve` does. Throws startup_error (a directory that
// cannot be created, a -s file that does not exist) or std::runtime_error (SQLite).
// With a `profile` that declares its DBs ("dbs", docs/PROFILE.md, even an empty list) those DBs
// are created in the BIN directory where missing, and the sample PLC's DBs are not generated (the
// SQLite file is still seeded for the web admin).
class plc_memory;
void prepare_storage(const serve_options& opt, plc_memory& mem,
                     const plc_profile* profile = nullptr);
// The same without setting SQLite's process-wide log (set_sqlite_log_level, which must not run
// while other threads use SQLite): a plant prepares its PLCs' storage on several threads.
void prepare_plc_storage(const serve_options& opt, plc_memory& mem, const plc_profile* profile);

// Runs the server until SIGINT/SIGTERM. Returns the process exit status (exit_codes.hpp).
int serve(const serve_options& opt);

}  // namespace protos7::server
