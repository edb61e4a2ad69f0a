#include "capture_commands.hpp"

#include <unistd.h>

#include <cstdio>

#include "protos7/replay/report.hpp"
#include "protos7/server/exit_codes.hpp"

namespace protos7::cli {

namespace {

std::string check_shard(const std::string& s) {
  stream::shard sh;
  std::string why;
  return stream::shard::parse(s, sh, why) ? std::string{} : why;
}

void add_progress(CLI::App& a, std::string& mode) {
  a.add_option("--progress", mode,
               "Progress on stderr: auto (a line on a terminal, else every 10 s), lines, off")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "lines", "off"}));
}

}  // namespace

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
  d->add_option("--shard", c.shard,
                "I/N: only the connections of share I of N (counted over all captures)")
      ->check(check_shard);
  add_progress(*d, c.progress);
  c.app = d;
}

namespace {

// How long `protos7 replay` waits: for each answer, and for pushes due at the capture's pace.
void add_replay_waits(CLI::App& p, replay::cli_options& r) {
  p.add_option("--timeout", r.timeout_ms, "Milliseconds to wait for each answer")
      ->default_val(3000)
      ->check(CLI::Range(1, 600000));
  p.add_option("--push-wait-max", r.push_wait_max_ms,
               "Milliseconds a connection's end (or an unsubscribe) waits at most for pushes "
               "still due at the capture's pace (cyclic transfer, pushes at a regular period)")
      ->default_val(60000)
      ->check(CLI::Range(0, 3600000));
}

}  // namespace

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
  add_replay_waits(*p, r);
  p->add_option("--port", r.port,
                "TCP port of the S7 connections in the captures (0: every connection)")
      ->default_val(102);
  p->add_option_function<std::string>(
       "--rack-slot",
       [&r](const std::string& v) { (void)replay::parse_rack_slot(v, r.synth_called_tsap); },
       "RACK/SLOT of the CR the replay synthesizes when a capture starts mid-session and has "
       "no CR (default 0/2)")
      ->check([](const std::string& v) {
        std::uint16_t t = 0;
        return replay::parse_rack_slot(v, t);
      });
  p->add_flag("--verbose,-v", r.verbose,
              "List every answer, exact ones too (text and JSON; JSON lists the failed ones "
              "without it)");
  p->add_option("--shard", c.shard,
                "I/N (0 <= I < N): replay only share I of the connections of the captures "
                "(connection k of all captures in the order given goes to shard k mod N); "
                "protos7 report merge combines the shards' --json reports")
      ->check(check_shard);
  p->add_option("--pace", c.pace,
                "fastest: each frame as soon as what was captured before it is complete; "
                "capture: not before its captured time either")
      ->capture_default_str()
      ->check(CLI::IsMember({"fastest", "capture"}));
  add_progress(*p, c.progress);
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
  add_progress(*l, c.progress);
  c.app = l;
}

void add_report(CLI::App& app, report_command& c) {
  c.app = app.add_subcommand("report", "Work with reports of protos7 replay");
  c.app->require_subcommand(1);
  c.merge = c.app->add_subcommand(
      "merge", "Combine the --json reports of the shards of one replay (--shard I/N) into one");
  c.merge->add_option("reports", c.inputs, "JSON reports of protos7 replay --json --shard I/N")
      ->required()
      ->check(CLI::ExistingFile);
  c.merge->add_option("-o,--output", c.output, "Merged JSON report (- for stdout)")
      ->capture_default_str();
  c.merge->add_option("--junit", c.junit, "Also write the merged report as JUnit XML");
}

int run_dump(const dump_command& c) {
  dump::dump_options opt = c.opt;
  std::string why;
  if (!c.shard.empty()) (void)stream::shard::parse(c.shard, opt.shard, why);
  // Nothing on stderr while the dump itself goes to the terminal.
  (void)stream::progress::parse_mode(::isatty(1) != 0 ? "off" : c.progress, stderr, opt.progress);
  const int rc = dump::run(c.files, opt, stdout, stderr);
  return rc == 0 ? exit_code::ok : exit_code::data_error;
}

int run_replay(const replay_command& c) {
  learn::replay_cli_options o = c.opt;
  std::string why;
  if (!c.shard.empty()) (void)stream::shard::parse(c.shard, o.replay.shard, why);
  o.replay.pace = c.pace == "capture" ? replay::pace::capture : replay::pace::fastest;
  (void)stream::progress::parse_mode(c.progress, stderr, o.replay.progress);
  const int rc = learn::run_replay_cli(c.files, o, stdout, stderr);
  // replay::run_cli: 0 all exact or equivalent, 1 differences, 2 nothing could be compared.
  return rc == 2 ? exit_code::data_error : rc;
}

int run_learn(const learn_command& c) {
  learn::options opt = c.opt;
  (void)stream::progress::parse_mode(c.progress, stderr, opt.progress);
  return learn::run_cli(c.files, c.output, opt, stdout, stderr);
}

int run_report(const report_command& c) {
  return replay::run_merge(c.inputs, c.output, c.junit, stdout, stderr);
}

}  // namespace protos7::cli
