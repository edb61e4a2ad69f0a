// protos7: the command line front end (serve, dump, replay, learn, report merge).
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "../dump/dump.hpp"
#include "protos7/learn/inproc.hpp"
#include "protos7/learn/learn.hpp"
#include "protos7/replay/report.hpp"
#include "protos7/server/app.hpp"
#include "protos7/server/plant_config.hpp"
#include "protos7/server/plant_serve.hpp"

namespace {

// CLI11 validators/transforms for the serve options.
std::string check_duration(const std::string& s) {
  return protos7::server::parse_duration(s) ? std::string{} : "expected a duration like 60s, 500ms, 2m or 0";
}
std::string check_shard(const std::string& s) {
  protos7::stream::shard sh;
  std::string why;
  return protos7::stream::shard::parse(s, sh, why) ? std::string{} : why;
}
std::string check_level(const std::string& s) {
  protos7::server::log_level l{};
  return protos7::server::parse_log_level(s, l) ? std::string{}
                                                : "expected trace, debug, info, warn, error or off";
}

// goprotos7's storage flags, with goprotos7's environment variables and aliases (its server's
// -b/--bin-folder and -p/--port, its dbtool's -s, -b, --flags.*, -i/--log-level.sqlite), with
// goprotos7's defaults where they do not contradict protos7's (docs: server/README.md).
void add_goprotos7_options(CLI::App& serve, protos7::server::serve_options& so, std::string& sqlite_level) {
  serve.add_option("-s,--sqlite-path", so.sqlite_path,
                   "goprotos7 SQLite database (db_variables); default <data-dir>/protos7.db, the sample PLC if missing")
      ->envname("SQLITE_PATH");
  serve.add_option("-b,--db-bin-path,--bin-folder", so.db_bin_path, "Directory of the DB<n>.bin files; default <data-dir>")
      ->envname("DB_BIN_PATH");
  CLI::Option* off = serve.add_flag("--flags.disable-webadmin", so.disable_webadmin,
                                    "Do not start the web admin (goprotos7's flag)");
  serve.add_flag_callback("--flags.enable-web-admin", [] {}, "Start the web admin (goprotos7 dbtool's flag; the default)")
      ->envname("FLAGS_ENABLE_WEB_ADMIN")
      ->excludes(off);
  serve.add_option("-i,--log-level.sqlite", sqlite_level, "SQLite's own log: ERROR, INFO, SILENCE (off) or a level")
      ->capture_default_str()
      ->check(check_level)
      ->envname("LOG_LEVEL_SQLITE");
  serve.add_flag_callback("--flags.silent-db-logs", [&sqlite_level] { sqlite_level = "SILENCE"; },
                          "Silence SQLite's log (goprotos7 dbtool's flag; the default)");
}

// The soft RLIMIT_NOFILE (often 1024) raised to the hard limit: --max-connections up to 4096 then
// fits (server::listen() refuses a configuration that still does not).
void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &lim);
}

// The serve flags that are per PLC: with --plant they belong in the plant file.
constexpr const char* per_plc_flags[] = {"--listen",
                                         "--port",
                                         "--max-connections",
                                         "--rack",
                                         "--slot",
                                         "--pdu-size",
                                         "--max-amq",
                                         "--idle-timeout",
                                         "--setup-timeout",
                                         "--frame-timeout",
                                         "--max-connections-per-address",
                                         "--data-dir",
                                         "--sqlite-path",
                                         "--db-bin-path",
                                         "--inputs-size",
                                         "--outputs-size",
                                         "--flags-size",
                                         "--counters",
                                         "--timers",
                                         "--profile",
                                         "--order-number",
                                         "--firmware-version",
                                         "--as-name",
                                         "--module-name",
                                         "--plant-id",
                                         "--copyright",
                                         "--serial-number",
                                         "--module-type",
                                         "--memory-card-serial",
                                         "--validate",
                                         "--validate-dir",
                                         "--capture",
                                         "--capture-port",
                                         "--faults",
                                         "--scenario"};

// `serve --plant` with a per-PLC flag: the message naming it, or "".
std::string plant_flag_conflict(const CLI::App& serve) {
  for (const char* f : per_plc_flags)
    if (serve.count(f) > 0)
      return fmt::format(
          "{} is a setting of one PLC: with --plant put it in the plant file (per PLC, or in "
          "\"defaults\" for all; docs/PLANT.md){}",
          f,
          std::string_view(f).starts_with("--validate") ||
                  std::string_view(f).starts_with("--capture") ||
                  std::string_view(f) == "--scenario"
              ? " - --validate, --capture and --scenario are not available for plants yet"
              : "");
  return {};
}

// `protos7 plant`: writes the plant file (or prints it with -o -).
int run_plant(const protos7::server::plant_generate_options& o) {
  std::string text;
  try {
    text = protos7::server::generate_plant(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "protos7 plant: %s\n", e.what());
    return 2;
  }
  if (o.output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
  if (!out || !out.write(text.data(), static_cast<std::streamsize>(text.size())) || !out.flush()) {
    std::fprintf(stderr, "protos7 plant: cannot write %s\n", o.output.c_str());
    return 1;
  }
  std::fprintf(stderr, "protos7 plant: %zu PLC(s) written to %s (protos7 serve --plant %s)\n",
               o.count, o.output.c_str(), o.output.c_str());
  return 0;
}

// serve --plant FILE [--threads N].
void add_plant_serve_options(CLI::App& serve, std::string& plant_path, unsigned& threads) {
  serve
      .add_option(
          "--plant", plant_path,
          "Serve a plant: the PLCs of this plant file, each at its own address (docs/PLANT.md; "
          "protos7 plant writes one)")
      ->check(CLI::ExistingFile);
  serve
      .add_option(
          "--threads", threads,
          "Event loops of a plant, each serving a shard of its PLCs (0: one per core; a single "
          "PLC always runs on one loop)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
}

CLI::App* add_plant_command(CLI::App& app, protos7::server::plant_generate_options& o) {
  CLI::App* plant = app.add_subcommand(
      "plant",
      "Write a plant file of N PLCs at consecutive addresses, each with its own name and serial "
      "number (protos7 serve --plant FILE serves it)");
  plant->add_option("--count", o.count, "Number of PLCs")->required()->check(CLI::Range(1, 100000));
  plant
      ->add_option("--listen-base", o.listen_base,
                   "Address of the first PLC, HOST:PORT; the next ones count the address up")
      ->capture_default_str();
  plant->add_flag(
      "--vary-port", o.vary_port,
      "Count the port up instead of the address (all PLCs on HOST; no root needed above 1023)");
  plant
      ->add_option("--profile", o.profile,
                   "PLC profile of every PLC (docs/PROFILE.md); default: bundled")
      ->check(CLI::ExistingFile);
  plant->add_option("--name", o.name, "Name of the plant")->capture_default_str();
  plant->add_option("--prefix", o.prefix, "PLC names: PREFIX-0001, PREFIX-0002, ...")
      ->capture_default_str();
  plant->add_option("-o,--output", o.output, "Plant file to write (- for stdout)")->required();
  return plant;
}

}  // namespace

// The web admin token from --webadmin-token-file (its first line) or PROTOS7_WEBADMIN_TOKEN;
// "" when neither is given (the web admin generates one). Returns an error sentence or "".
std::string webadmin_token(const std::string& file, std::string& token) {
  std::string from = "PROTOS7_WEBADMIN_TOKEN";
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in || !std::getline(in, token)) return fmt::format("cannot read the token from {}", file);
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
                   [](char c) { return c > ' ' && c < 127 && c != '&' && c != '#'; }))
    return fmt::format(
        "the web admin token of {} must be 16 to 256 printable characters without spaces, '&' or "
        "'#'",
        from);
  return {};
}

int main(int argc, char** argv) {
  // First thing: a peer that closes while an answer is written must not kill the process (the S7
  // side sends with MSG_NOSIGNAL, but SQLite, cpp-httplib and stdio do not).
  ::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  CLI::App app{"protos7: an S7comm-compatible PLC server and conformance test kit"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "protos7 0.1.0");

  std::vector<std::string> dump_files;
  protos7::dump::dump_options dump_opt;
  CLI::App* dump = app.add_subcommand("dump", "Print every TPKT/COTP/S7 PDU of pcap/pcapng captures");
  dump->add_option("captures", dump_files, "Capture files (pcap or pcapng)")->required()->check(CLI::ExistingFile);
  dump->add_flag("--json", dump_opt.json, "One JSON object per PDU, keyed by Wireshark field names");
  dump->add_option("--port", dump_opt.port, "TCP port of the S7 connections (0: every connection)")
      ->default_val(102);
  std::string dump_shard;
  std::string dump_progress = "auto";
  dump->add_option("--shard", dump_shard,
                   "I/N: only the connections of share I of N (counted over all captures)")
      ->check(check_shard);
  dump->add_option("--progress", dump_progress,
                   "Progress on stderr: auto (a line on a terminal, else every 10 s), lines, off")
      ->capture_default_str()->check(CLI::IsMember({"auto", "lines", "off"}));

  protos7::server::serve_options so;
  std::string token_file, token_argument;  // --webadmin-token-file, --webadmin-token (refused)
  std::string idle = "60s";
  std::string setup = "10s";
  std::string frame = "10s";
  std::string level = "info";
  std::string sqlite_level = "SILENCE";
  unsigned rack = so.cfg.rack;
  unsigned slot = so.cfg.slot;
  CLI::App* serve = app.add_subcommand(
      "serve", "Run an S7-300/400-compatible PLC (ISO-on-TCP); without options a bundled sample PLC");
  serve->add_option("--listen", so.cfg.listen_address, "IPv4 address to listen on")->capture_default_str();
  serve->add_option("-p,--port", so.cfg.port, "TCP port (102 needs privileges: --port 1102 or setcap)")
      ->capture_default_str();
  serve->add_option("--max-connections", so.cfg.max_connections, "Connections served at once")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  serve->add_option("--rack", rack, "Rack of the CPU (called TSAP low byte = rack*32+slot)")
      ->capture_default_str()->check(CLI::Range(0, 7));
  serve->add_option("--slot", slot, "Slot of the CPU")->capture_default_str()->check(CLI::Range(0, 31));
  serve->add_option("--pdu-size", so.cfg.pdu_size, "Largest PDU offered in Setup Communication")
      ->capture_default_str()->check(CLI::IsMember({240, 480, 960}));
  serve->add_option("--max-amq", so.cfg.max_amq, "Largest Max AmQ calling/called offered")
      ->capture_default_str()->check(CLI::Range(1, 255));
  serve->add_option("--idle-timeout", idle, "Close connections silent this long (0: never)")
      ->capture_default_str()->check(check_duration);
  serve->add_option("--setup-timeout", setup,
                    "Close connections without COTP + Setup Communication after this long (0: never)")
      ->capture_default_str()->check(check_duration);
  serve->add_option("--frame-timeout", frame,
                    "Close connections that do not complete a TPKT frame this long after its first byte (0: never)")
      ->capture_default_str()->check(check_duration);
  serve->add_option("--max-connections-per-address", so.cfg.max_connections_per_address,
                    "Connections one client address may hold at once (0: no limit)")
      ->capture_default_str()->check(CLI::Range(0, 4096));
  serve->add_option("--data-dir", so.data_dir,
                    "Directory of the sample PLC / default storage (created if missing)")
      ->capture_default_str();
  add_goprotos7_options(*serve, so, sqlite_level);
  serve->add_option("--webadmin-listen", so.cfg.webadmin_listen,
                    "Web admin address HOST:PORT (beyond loopback it requires a token)")
      ->capture_default_str();
  serve
      ->add_option("--webadmin-token-file", token_file,
                   "File whose first line is the token web admin clients must present (or set "
                   "PROTOS7_WEBADMIN_TOKEN; default: generated and printed as http://...?token=... "
                   "at start)")
      ->check(CLI::ExistingFile);
  // A token as a command-line value would be visible to every local user (ps, /proc/PID/cmdline).
  serve
      ->add_option("--webadmin-token", token_argument,
                   "Refused: use --webadmin-token-file or PROTOS7_WEBADMIN_TOKEN")
      ->group("");
  serve->add_flag(
      "--webadmin-no-auth", so.cfg.webadmin_no_auth,
      "Web admin without a token (loopback addresses only: every local user can then use it)");
  serve->add_option("--log-level", level, "trace, debug, info, warn, error, off")
      ->capture_default_str()->check(check_level);
  serve->add_option("--inputs-size", so.cfg.areas.inputs, "Bytes of inputs (I)")->capture_default_str()
      ->check(CLI::Range(0, 65536));
  serve->add_option("--outputs-size", so.cfg.areas.outputs, "Bytes of outputs (Q)")->capture_default_str()
      ->check(CLI::Range(0, 65536));
  serve->add_option("--flags-size", so.cfg.areas.flags, "Bytes of bit memory (M)")->capture_default_str()
      ->check(CLI::Range(0, 65536));
  serve->add_option("--counters", so.cfg.areas.counters, "Number of counters (C)")->capture_default_str()
      ->check(CLI::Range(0, 65536));
  serve->add_option("--timers", so.cfg.areas.timers, "Number of timers (T)")->capture_default_str()
      ->check(CLI::Range(0, 65536));
  // The PLC profile (identity, SZL records, block directory, protection, clock; docs/PROFILE.md)
  // and identity overrides.
  serve->add_option("--profile", so.profile_path, "PLC profile (JSON, docs/PROFILE.md); default: bundled S7-300")
      ->check(CLI::ExistingFile);
  const auto identity_option = [&](const char* flag, std::optional<std::string>& dst, const char* what) {
    serve->add_option_function<std::string>(flag, [&dst](const std::string& v) { dst = v; }, what);
  };
  identity_option("--order-number", so.identity.order_number, "Order number (MlfB) in SZL 0x0011, e.g. \"6ES7 315-2EH14-0AB0\"");
  identity_option("--firmware-version", so.identity.firmware_version, "Firmware version in SZL 0x0011, \"Vx.y.z\"");
  identity_option("--as-name", so.identity.as_name, "Automation system name (SZL 0x001C index 1)");
  identity_option("--module-name", so.identity.module_name, "Module name (SZL 0x001C index 2)");
  identity_option("--plant-id", so.identity.plant_id, "Plant identification (SZL 0x001C index 3)");
  identity_option("--copyright", so.identity.copyright, "Copyright (SZL 0x001C index 4)");
  identity_option("--serial-number", so.identity.serial_number, "Serial number (SZL 0x001C index 5)");
  identity_option("--module-type", so.identity.module_type, "Module type name (SZL 0x001C index 7)");
  identity_option("--memory-card-serial", so.identity.memory_card_serial, "Memory card serial (SZL 0x001C index 8)");
  // Validating third-party clients and recording sessions (server/include/protos7/server/validate.hpp,
  // pcap_writer.hpp).
  serve->add_flag_callback("--no-reply-check", [&so] { so.cfg.check_replies = false; },
                           "Do not decode every reply again before it is sent (to measure what the check costs)");
  serve->add_flag("--validate", so.validate,
                  "Check every client against the strict codec and its negotiated limits; a JSON report of the "
                  "deviations per connection in --validate-dir");
  serve->add_option("--validate-dir", so.validate_dir, "Where --validate writes its reports (default <data-dir>/validate)");
  serve->add_option("--faults", so.faults_path,
                    "Fault rules (JSON, docs/FAULTS.md): delays, lost or wrong replies, "
                    "resets, STOP ...; replaces the profile's \"faults\"")
      ->check(CLI::ExistingFile);
  serve->add_option("--scenario", so.scenario_path,
                    "A timeline the PLC follows (JSON, docs/FAULTS.md): mode changes, values, "
                    "alarm bits, fault rules on and off")
      ->check(CLI::ExistingFile);
  serve->add_option("--capture", so.capture_path,
                    "Record every connection as a pcap file (Ethernet/IPv4/TCP synthesized; opens in Wireshark)");
  std::string plant_path;
  unsigned threads = 0;
  add_plant_serve_options(*serve, plant_path, threads);
  serve->add_option("--capture-port", so.capture_port,
                    "Server port written into the --capture file (102: Wireshark decodes S7 without Decode As; 0: "
                    "the real port)")
      ->capture_default_str();

  // replay: the client side of captured S7 connections against a target, answers compared.
  std::vector<std::string> replay_files;
  protos7::learn::replay_cli_options replay_cli;
  protos7::replay::cli_options& replay_opt = replay_cli.replay;
  CLI::App* replay = app.add_subcommand(
      "replay", "Replay the client side of captured S7 connections against protos7 (in-process: the bundled "
                "profile, --profile or --learn) or any S7 server (--target), and compare every answer");
  replay->add_option("captures", replay_files, "Capture files (pcap or pcapng)")
      ->required()->check(CLI::ExistingFile);
  replay->add_option("--target", replay_opt.target,
                     "Replay against a running server, HOST:PORT or [IPV6]:PORT (default: an in-process protos7)");
  replay->add_option("--profile", replay_cli.profile, "In-process protos7 serves this PLC profile (docs/PROFILE.md)")
      ->check(CLI::ExistingFile);
  replay->add_flag("--learn", replay_cli.learn,
                   "In-process protos7 serves a profile learned from the same captures first (protos7 learn)");
  replay->add_option("--save-profile", replay_cli.save_profile, "With --learn: also write the learned profile here");
  replay->add_option("--server-log", replay_cli.server_log,
                     "Log level of the in-process server on stderr (trace, debug, info, warn, error, off)")
      ->capture_default_str();
  replay->add_flag("--json", replay_opt.json, "Machine-readable report (JSON) instead of text");
  replay->add_option("--junit", replay_opt.junit,
                     "Also write a JUnit XML report (one testcase per answer)");
  replay->add_option("--timeout", replay_opt.timeout_ms, "Milliseconds to wait for each answer")
      ->default_val(3000)->check(CLI::Range(1, 600000));
  replay->add_option("--port", replay_opt.port,
                     "TCP port of the S7 connections in the captures (0: every connection)")
      ->default_val(102);
  replay->add_flag("--verbose,-v", replay_opt.verbose,
                   "List every answer, exact ones too (text and JSON; JSON lists the failed ones "
                   "without it)");
  std::string replay_shard;
  std::string replay_pace = "fastest";
  std::string replay_progress = "auto";
  replay->add_option("--shard", replay_shard,
                     "I/N (0 <= I < N): replay only share I of the connections of the captures "
                     "(connection k of all captures in the order given goes to shard k mod N); "
                     "protos7 report merge combines the shards' --json reports")
      ->check(check_shard);
  replay->add_option("--pace", replay_pace,
                     "fastest: each frame as soon as what was captured before it is complete; "
                     "capture: not before its captured time either")
      ->capture_default_str()->check(CLI::IsMember({"fastest", "capture"}));
  replay->add_option("--progress", replay_progress,
                     "Progress on stderr: auto (a line on a terminal, else every 10 s), lines, off")
      ->capture_default_str()->check(CLI::IsMember({"auto", "lines", "off"}));

  // learn: a PLC profile from what a CPU answered in captures (conformance/learn).
  std::vector<std::string> learn_files;
  std::string learn_output;
  protos7::learn::options learn_opt;
  CLI::App* learn = app.add_subcommand(
      "learn", "Derive a PLC profile (docs/PROFILE.md) from captures of a CPU: identity, SZL records, blocks, "
               "memory, limits, protection, clock");
  learn->add_option("captures", learn_files, "Capture files (pcap or pcapng)")->required()->check(CLI::ExistingFile);
  learn->add_option("-o,--output", learn_output, "Profile to write (- for stdout)")->required();
  learn->add_option("--port", learn_opt.port, "TCP port of the S7 connections in the captures (0: every connection)")
      ->default_val(102);
  learn->add_option("--name", learn_opt.name, "Profile name (default: learned from <first capture>)");
  std::string learn_progress = "auto";
  learn->add_option("--progress", learn_progress,
                    "Progress on stderr: auto (a line on a terminal, else every 10 s), lines, off")
      ->capture_default_str()->check(CLI::IsMember({"auto", "lines", "off"}));

  // report merge: the JSON reports of the shards of a replay as one report and one JUnit file.
  CLI::App* report = app.add_subcommand("report", "Work with reports of protos7 replay");
  report->require_subcommand(1);
  std::vector<std::string> merge_inputs;
  std::string merge_output = "-";
  std::string merge_junit;
  CLI::App* merge = report->add_subcommand(
      "merge", "Combine the --json reports of the shards of one replay (--shard I/N) into one");
  merge->add_option("reports", merge_inputs, "JSON reports of protos7 replay --json --shard I/N")
      ->required()->check(CLI::ExistingFile);
  merge->add_option("-o,--output", merge_output, "Merged JSON report (- for stdout)")
      ->capture_default_str();
  merge->add_option("--junit", merge_junit, "Also write the merged report as JUnit XML");

  // plant: a plant file of N PLCs at consecutive addresses.
  protos7::server::plant_generate_options plant_opt;
  CLI::App* plant = add_plant_command(app, plant_opt);

  CLI11_PARSE(app, argc, argv);
  if (*plant) return run_plant(plant_opt);
  if (*dump) {
    std::string why;
    if (!dump_shard.empty()) (void)protos7::stream::shard::parse(dump_shard, dump_opt.shard, why);
    // Nothing on stderr while the dump itself goes to the terminal.
    (void)protos7::stream::progress::parse_mode(::isatty(1) != 0 ? "off" : dump_progress, stderr,
                                               dump_opt.progress);
    return protos7::dump::run(dump_files, dump_opt, stdout, stderr);
  }
  if (*replay) {
    std::string why;
    if (!replay_shard.empty())
      (void)protos7::stream::shard::parse(replay_shard, replay_opt.shard, why);
    replay_opt.pace =
        replay_pace == "capture" ? protos7::replay::pace::capture : protos7::replay::pace::fastest;
    (void)protos7::stream::progress::parse_mode(replay_progress, stderr, replay_opt.progress);
    return protos7::learn::run_replay_cli(replay_files, replay_cli, stdout, stderr);
  }
  if (*learn) {
    (void)protos7::stream::progress::parse_mode(learn_progress, stderr, learn_opt.progress);
    return protos7::learn::run_cli(learn_files, learn_output, learn_opt, stdout, stderr);
  }
  if (*merge) {
    return protos7::replay::run_merge(merge_inputs, merge_output, merge_junit, stdout, stderr);
  }
  if (*serve) {
    so.pdu_size_given = serve->count("--pdu-size") > 0;
    so.max_amq_given = serve->count("--max-amq") > 0;
    so.max_connections_given = serve->count("--max-connections") > 0;
    so.cfg.rack = static_cast<std::uint8_t>(rack);
    so.cfg.slot = static_cast<std::uint8_t>(slot);
    so.cfg.idle_timeout = *protos7::server::parse_duration(idle);
    so.cfg.setup_timeout = *protos7::server::parse_duration(setup);
    so.cfg.frame_timeout = *protos7::server::parse_duration(frame);
    if (serve->count("--webadmin-token") > 0) {
      std::fputs(
          "protos7 serve: --webadmin-token on the command line is visible to every local user "
          "(ps); put the "
          "token in a file (--webadmin-token-file FILE) or in the environment "
          "(PROTOS7_WEBADMIN_TOKEN)\n",
          stderr);
      return 2;
    }
    if (const std::string e = webadmin_token(token_file, so.cfg.webadmin_token); !e.empty()) {
      std::fprintf(stderr, "protos7 serve: %s\n", e.c_str());
      return 2;
    }
    (void)protos7::server::parse_log_level(level, so.level);
    (void)protos7::server::parse_log_level(sqlite_level, so.sqlite_level);
    if (!plant_path.empty()) {
      if (const std::string e = plant_flag_conflict(*serve); !e.empty()) {
        std::fprintf(stderr, "protos7 serve: %s\n", e.c_str());
        return 2;
      }
      return protos7::server::serve_plant(so, plant_path, threads);
    }
    return protos7::server::serve(so);
  }
  return 0;
}
