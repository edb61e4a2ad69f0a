#include "serve_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "plant_command.hpp"
#include "protos7/server/exit_codes.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/plant_serve.hpp"

namespace protos7::cli {

namespace {

// CLI11 validators for the serve options.
std::string check_duration(const std::string& s) {
  return server::parse_duration(s) ? std::string{} : "expected a duration like 60s, 500ms, 2m or 0";
}
std::string check_level(const std::string& s) {
  server::log_level l{};
  return server::parse_log_level(s, l) ? std::string{}
                                       : "expected trace, debug, info, warn, error or off";
}

void add_network_options(CLI::App& s, serve_command& c) {
  server::config& cfg = c.so.cfg;
  s.add_option("--listen", cfg.listen_address,
               "Address or host name to listen on: IPv4 (0.0.0.0: all), IPv6 (:: all, also IPv4 "
               "where the system allows), or a name (localhost: each of its addresses)")
      ->capture_default_str();
  s.add_option("-p,--port", cfg.port, "TCP port (102 needs privileges: --port 1102 or setcap)")
      ->capture_default_str();
  s.add_option("--max-connections", cfg.max_connections, "Connections served at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  s.add_option("--max-connections-per-address", cfg.max_connections_per_address,
               "Connections one client address may hold at once (0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  s.add_option("--rack", c.rack, "Rack of the CPU (called TSAP low byte = rack*32+slot)")
      ->capture_default_str()
      ->check(CLI::Range(0, 7));
  s.add_option("--slot", c.slot, "Slot of the CPU")
      ->capture_default_str()
      ->check(CLI::Range(0, 31));
  s.add_option("--pdu-size", cfg.pdu_size, "Largest PDU offered in Setup Communication")
      ->capture_default_str()
      ->check(CLI::IsMember({240, 480, 960}));
  s.add_option("--max-amq", cfg.max_amq, "Largest Max AmQ calling/called offered")
      ->capture_default_str()
      ->check(CLI::Range(1, 255));
  s.add_option("--idle-timeout", c.idle, "Close connections silent this long (0: never)")
      ->capture_default_str()
      ->check(check_duration);
  s.add_option("--setup-timeout", c.setup,
               "Close connections without COTP + Setup Communication after this long (0: never)")
      ->capture_default_str()
      ->check(check_duration);
  s.add_option("--frame-timeout", c.frame,
               "Close connections that do not complete a TPKT frame this long after its first "
               "byte (0: never)")
      ->capture_default_str()
      ->check(check_duration);
}

// goprotos7's storage flags, with goprotos7's environment variables and aliases (its server's
// -b/--bin-folder and -p/--port, its dbtool's -s, -b, --flags.*, -i/--log-level.sqlite), with
// goprotos7's defaults where they do not contradict protos7's (docs: server/README.md).
void add_storage_options(CLI::App& s, serve_command& c) {
  server::serve_options& so = c.so;
  s.add_option("--data-dir", so.data_dir,
               "Directory of the sample PLC / default storage (created if missing; locked "
               "while the server runs)")
      ->capture_default_str();
  s.add_option("-s,--sqlite-path", so.sqlite_path,
               "goprotos7 SQLite database (db_variables); default <data-dir>/protos7.db, the "
               "sample PLC if missing")
      ->envname("SQLITE_PATH");
  s.add_option("-b,--db-bin-path,--bin-folder", so.db_bin_path,
               "Directory of the DB<n>.bin files; default <data-dir>")
      ->envname("DB_BIN_PATH");
  CLI::Option* off = s.add_flag("--flags.disable-webadmin", so.disable_webadmin,
                                "Do not start the web admin (goprotos7's flag)");
  s.add_flag_callback(
       "--flags.enable-web-admin", [] {},
       "Start the web admin (goprotos7 dbtool's flag; the default)")
      ->envname("FLAGS_ENABLE_WEB_ADMIN")
      ->excludes(off);
  s.add_option("-i,--log-level.sqlite", c.sqlite_level,
               "SQLite's own log: ERROR, INFO, SILENCE (off) or a level")
      ->capture_default_str()
      ->check(check_level)
      ->envname("LOG_LEVEL_SQLITE");
  s.add_flag_callback(
      "--flags.silent-db-logs", [&c] { c.sqlite_level = "SILENCE"; },
      "Silence SQLite's log (goprotos7 dbtool's flag; the default)");
}

void add_webadmin_options(CLI::App& s, serve_command& c) {
  server::config& cfg = c.so.cfg;
  s.add_option("--webadmin-listen", cfg.webadmin_listen,
               "Web admin address HOST:PORT (beyond loopback it requires a token); an address "
               "that cannot be bound is an error")
      ->capture_default_str();
  s.add_option("--webadmin-token-file", c.token_file,
               "File whose first line is the token web admin clients must present (or set "
               "PROTOS7_WEBADMIN_TOKEN; default: generated and printed as http://...?token=... "
               "at start)")
      ->check(CLI::ExistingFile);
  // A token as a command-line value would be visible to every local user (ps, /proc/PID/cmdline).
  s.add_option("--webadmin-token", c.token_argument,
               "Refused: use --webadmin-token-file or PROTOS7_WEBADMIN_TOKEN")
      ->group("");
  s.add_flag("--webadmin-no-auth", cfg.webadmin_no_auth,
             "Web admin without a token (loopback addresses only: every local user can then use "
             "it)");
}

void add_memory_options(CLI::App& s, serve_command& c) {
  server::area_sizes& a = c.so.cfg.areas;
  s.add_option("--inputs-size", a.inputs, "Bytes of inputs (I)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65536));
  s.add_option("--outputs-size", a.outputs, "Bytes of outputs (Q)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65536));
  s.add_option("--flags-size", a.flags, "Bytes of bit memory (M)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65536));
  s.add_option("--counters", a.counters, "Number of counters (C)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65536));
  s.add_option("--timers", a.timers, "Number of timers (T)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65536));
}

// The PLC profile (identity, SZL records, block directory, protection, clock; docs/PROFILE.md)
// and identity overrides.
void add_profile_options(CLI::App& s, serve_command& c) {
  server::serve_options& so = c.so;
  s.add_option("--profile", so.profile_path,
               "PLC profile (JSON, docs/PROFILE.md); default: bundled S7-300")
      ->check(CLI::ExistingFile);
  const auto identity = [&s](const char* flag, std::optional<std::string>& dst, const char* what) {
    s.add_option_function<std::string>(
        flag, [&dst](const std::string& v) { dst = v; }, what);
  };
  server::identity_overrides& id = so.identity;
  identity("--order-number", id.order_number,
           "Order number (MlfB) in SZL 0x0011, e.g. \"6ES7 315-2EH14-0AB0\"");
  identity("--firmware-version", id.firmware_version, "Firmware version in SZL 0x0011, \"Vx.y.z\"");
  identity("--as-name", id.as_name, "Automation system name (SZL 0x001C index 1)");
  identity("--module-name", id.module_name, "Module name (SZL 0x001C index 2)");
  identity("--plant-id", id.plant_id, "Plant identification (SZL 0x001C index 3)");
  identity("--copyright", id.copyright, "Copyright (SZL 0x001C index 4)");
  identity("--serial-number", id.serial_number, "Serial number (SZL 0x001C index 5)");
  identity("--module-type", id.module_type, "Module type name (SZL 0x001C index 7)");
  identity("--memory-card-serial", id.memory_card_serial,
           "Memory card serial (SZL 0x001C index 8)");
}

// Validating third-party clients and recording sessions (validate.hpp, pcap_writer.hpp).
void add_check_options(CLI::App& s, serve_command& c) {
  server::serve_options& so = c.so;
  s.add_flag_callback(
      "--no-reply-check", [&so] { so.cfg.check_replies = false; },
      "Do not decode every reply again before it is sent (to measure what the "
      "check costs)");
  s.add_flag("--validate", so.validate,
             "Check every client against the strict codec and its negotiated limits; a JSON "
             "report of the deviations per connection in --validate-dir");
  s.add_option("--validate-dir", so.validate_dir,
               "Where --validate writes its reports (default <data-dir>/validate)");
  s.add_option("--faults", so.faults_path,
               "Fault rules (JSON, docs/FAULTS.md): delays, lost or wrong replies, resets, STOP "
               "...; replaces the profile's \"faults\"")
      ->check(CLI::ExistingFile);
  s.add_option("--scenario", so.scenario_path,
               "A timeline the PLC follows (JSON, docs/FAULTS.md): mode changes, values, alarm "
               "bits, fault rules on and off")
      ->check(CLI::ExistingFile);
  s.add_option("--capture", so.capture_path,
               "Record every connection as a pcap file (Ethernet/IPv4/TCP synthesized; opens in "
               "Wireshark)");
  s.add_option("--capture-port", so.capture_port,
               "Server port written into the --capture file (102: Wireshark decodes S7 without "
               "Decode As; 0: the real port)")
      ->capture_default_str();
}

// Operations: logs, metrics and health for service managers and monitoring.
void add_operations_options(CLI::App& s, serve_command& c) {
  s.add_option("--log-level", c.level, "trace, debug, info, warn, error, off")
      ->capture_default_str()
      ->check(check_level);
  s.add_option("--log-format", c.log_format,
               "text (a time stamp, the level, the message) or json (one object a line: time in "
               "RFC 3339 UTC, level, msg)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  s.add_option("--metrics-listen", c.so.metrics_listen,
               "Serve GET /metrics (Prometheus text) and GET /healthz over HTTP on HOST:PORT "
               "(read-only, no token; default: off)");
}

}  // namespace

void add_serve(CLI::App& app, serve_command& c) {
  c.rack = c.so.cfg.rack;
  c.slot = c.so.cfg.slot;
  CLI::App* s = app.add_subcommand(
      "serve",
      "Run an S7-300/400-compatible PLC (ISO-on-TCP); without options a bundled sample PLC. "
      "Stops cleanly on SIGTERM or SIGINT (Ctrl+C)");
  // Options given twice (in the --config file and on the command line): the last one wins.
  s->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  s->add_option("--config", c.config_file,
                "Read options from this file: one `name = value` a line, the long option names "
                "without the dashes (e.g. port = 1102, flags.disable-webadmin = true); '#' starts "
                "a comment; options on the command line win")
      ->check(CLI::ExistingFile);
  add_network_options(*s, c);
  add_storage_options(*s, c);
  add_webadmin_options(*s, c);
  add_memory_options(*s, c);
  add_profile_options(*s, c);
  add_check_options(*s, c);
  add_operations_options(*s, c);
  add_plant_serve_options(*s, c.plant_path, c.threads);
  c.app = s;
}

server::status webadmin_token(const std::string& file, std::string& token) {
  std::string from = "PROTOS7_WEBADMIN_TOKEN";
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in || !std::getline(in, token))
      return server::status::failure(fmt::format("cannot read the token from {}", file));
    from = file;
  } else if (const char* env = std::getenv("PROTOS7_WEBADMIN_TOKEN"); env != nullptr) {
    token = env;
  } else {
    return {};
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
    token.pop_back();
  // 16 characters: a guess among 64^16 is out of reach; printable without spaces: a URL and a
  // header.
  if (token.size() < 16 || token.size() > 256 ||
      !std::all_of(token.begin(), token.end(),
                   [](char ch) { return ch > ' ' && ch < 127 && ch != '&' && ch != '#'; }))
    return server::status::failure(fmt::format(
        "the web admin token of {} must be 16 to 256 printable characters without spaces, '&' or "
        "'#'",
        from));
  return {};
}

namespace {

// FILE's settings as command-line arguments ("--port=1102"), or why they cannot be.
server::status config_arguments(const std::string& file, std::vector<std::string>& out) {
  std::ifstream in(file);
  if (!in) return server::status::failure(fmt::format("cannot read {}", file));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const auto trim = [](std::string s) {
      const auto b = s.find_first_not_of(" \t\r");
      const auto e = s.find_last_not_of(" \t\r");
      return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
    };
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const auto eq = line.find('=');
    const std::string name = trim(line.substr(0, eq));
    std::string value = eq == std::string::npos ? "true" : trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (name.empty() || name.starts_with('-') || name == "config")
      return server::status::failure(
          fmt::format("{} line {}: expected `name = value` with a long option name", file, n));
    out.push_back(fmt::format("--{}={}", name, value));
  }
  return {};
}

}  // namespace

int apply_config(CLI::App& app, int argc, char** argv, serve_command& c) {
  std::vector<std::string> settings;
  if (const server::status s = config_arguments(c.config_file, settings); !s) {
    fmt::print(stderr, "protos7 serve: {}\n", s.why());
    return exit_code::no_input;
  }
  // argv with the settings right after "serve", reversed as CLI11's parse(vector) takes it.
  std::vector<std::string> args;
  bool placed = false;
  for (int i = 1; i < argc; ++i) {
    args.emplace_back(argv[i]);
    if (!placed && args.back() == "serve") {
      args.insert(args.end(), settings.begin(), settings.end());
      placed = true;
    }
  }
  std::reverse(args.begin(), args.end());
  app.clear();
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "protos7 serve: in {}: {}\n", c.config_file, e.what());
    return exit_code::usage;
  }
  return -1;
}

int run_serve(serve_command& c) {
  server::serve_options& so = c.so;
  CLI::App& s = *c.app;
  so.pdu_size_given = s.count("--pdu-size") > 0;
  so.max_amq_given = s.count("--max-amq") > 0;
  so.max_connections_given = s.count("--max-connections") > 0;
  so.cfg.rack = static_cast<std::uint8_t>(c.rack);
  so.cfg.slot = static_cast<std::uint8_t>(c.slot);
  so.cfg.idle_timeout = *server::parse_duration(c.idle);
  so.cfg.setup_timeout = *server::parse_duration(c.setup);
  so.cfg.frame_timeout = *server::parse_duration(c.frame);
  if (s.count("--webadmin-token") > 0) {
    std::fputs(
        "protos7 serve: --webadmin-token on the command line is visible to every local user "
        "(ps); put the token in a file (--webadmin-token-file FILE) or in the environment "
        "(PROTOS7_WEBADMIN_TOKEN)\n",
        stderr);
    return exit_code::usage;
  }
  if (const server::status t = webadmin_token(c.token_file, so.cfg.webadmin_token); !t) {
    std::fprintf(stderr, "protos7 serve: %s\n", t.why().c_str());
    return exit_code::config;
  }
  (void)server::parse_log_level(c.level, so.level);
  (void)server::parse_log_level(c.sqlite_level, so.sqlite_level);
  server::set_log_format(c.log_format == "json" ? server::log_format::json
                                                : server::log_format::text);
  if (!c.plant_path.empty()) {
    if (const server::status st = plant_flag_conflict(s); !st) {
      std::fprintf(stderr, "protos7 serve: %s\n", st.why().c_str());
      return exit_code::usage;
    }
    return server::serve_plant(so, c.plant_path, c.threads);
  }
  return server::serve(so);
}

}  // namespace protos7::cli
