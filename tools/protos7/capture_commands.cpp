#include "capture_commands.hpp"

#include <cstdio>

#include "protos7/server/exit_codes.hpp"

namespace protos7::cli {

void add_dump(CLI::App& app, dump_command& c) {
  CLI::App* d = app.add_subcommand(
      "dump",
      "Print every TPKT/COTP/S7 PDU of pcap/pcapng captures (S7 addresses in STEP 7 "
      "notation beside the Wireshark fields)");
  d->add_option("captures", c.files, "Capture files (pcap or pcapng)")
      ->required()
      ->check(CLI::ExistingFile);
  d->add_flag("--json", c.opt.json,
              "One JSON object per PDU, keyed by Wireshark field names (as tshark -T ek)");
  d->add_option("--port", c.opt.port, "TCP port of the S7 connections (0: every connection)")
      ->default_val(102);
  c.app = d;
}

void add_replay(CLI::App& app, replay_command& c) {
  learn::replay_cli_options& o = c.opt;
  replay::cli_options& r = o.replay;
  CLI::App* p = app.add_subcommand(
      "replay",
      "Replay the client side of captured S7 connections against protos7 (in-process: the "
      "bundled profile, --profile or --learn) or any S7 server (--target), and compare every "
      "answer");
  p->add_option("captures", c.files, "Capture files (pcap or pcapng)")
      ->required()
      ->check(CLI::ExistingFile);
  p->add_option("--target", r.target,
                "Replay against a running server, HOST:PORT or [IPV6]:PORT (default: an "
                "in-process protos7)");
  p->add_option("--profile", o.profile,
                "In-process protos7 serves this PLC profile (docs/PROFILE.md)")
      ->check(CLI::ExistingFile);
  p->add_flag("--learn", o.learn,
              "In-process protos7 serves, for each capture, the profile learned from that "
              "capture (protos7 learn)");
  p->add_option("--save-profile", o.save_profile,
                "With --learn and one capture: also write the learned profile here");
  p->add_option("--server-log", o.server_log,
                "Log level of the in-process server on stderr (trace, debug, info, warn, error, "
                "off)")
      ->capture_default_str();
  p->add_flag("--json", r.json, "Machine-readable report (JSON) instead of text");
  p->add_option("--junit", r.junit, "Also write a JUnit XML report (one testcase per answer)");
  p->add_option("--timeout", r.timeout_ms, "Milliseconds to wait for each answer")
      ->default_val(3000)
      ->check(CLI::Range(1, 600000));
  p->add_option("--port", r.port,
                "TCP port of the S7 connections in the captures (0: every connection)")
      ->default_val(102);
  p->add_flag("--verbose,-v", r.verbose, "List every answer, exact ones too");
  c.app = p;
}

void add_learn(CLI::App& app, learn_command& c) {
  CLI::App* l = app.add_subcommand(
      "learn",
      "Derive a PLC profile (docs/PROFILE.md) from captures of a CPU: identity, SZL records, "
      "blocks, memory, limits, protection, clock");
  l->add_option("captures", c.files, "Capture files (pcap or pcapng)")
      ->required()
      ->check(CLI::ExistingFile);
  l->add_option("-o,--output", c.output, "Profile to write (- for stdout)")->required();
  l->add_option("--port", c.opt.port,
                "TCP port of the S7 connections in the captures (0: every connection)")
      ->default_val(102);
  l->add_option("--name", c.opt.name, "Profile name (default: learned from <first capture>)");
  l->add_flag("--allow-truncated", c.opt.allow_truncated,
              "Learn from a capture that ends in the middle of a record (by default an error: "
              "what the cut-off part held would be missing from the profile)");
  c.app = l;
}

int run_dump(const dump_command& c) {
  const int rc = dump::run(c.files, c.opt, stdout, stderr);
  return rc == 0 ? exit_code::ok : exit_code::data_error;
}

int run_replay(const replay_command& c) {
  const int rc = learn::run_replay_cli(c.files, c.opt, stdout, stderr);
  // replay::run_cli: 0 all exact or equivalent, 1 differences, 2 nothing could be compared.
  return rc == 2 ? exit_code::data_error : rc;
}

int run_learn(const learn_command& c) {
  return learn::run_cli(c.files, c.output, c.opt, stdout, stderr);
}

}  // namespace protos7::cli
