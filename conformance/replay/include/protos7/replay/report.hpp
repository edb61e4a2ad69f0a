// Output of `protos7 replay`: readable text, JSON, JUnit XML (written as the replay goes, see
// src/writers.hpp); the command itself; and `protos7 report merge`, which combines the JSON
// reports of the shards of a replay (--shard) into one report and one JUnit file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protos7/replay/replay.hpp"
#include "protos7/stream/progress.hpp"
#include "protos7/stream/shard.hpp"

namespace protos7::replay {

// Readable summary: per capture, per connection (notes, every answer that is not exact; every
// answer with `verbose`), per service, and totals over all captures.
void write_text(std::span<const capture_report> reports, const options& opt, bool verbose,
                std::FILE* out);

// One JSON document (per capture and connection the counts per service and every answer with
// the differing fields by Wireshark name; totals, per service with what differs).
[[nodiscard]] std::string to_json(std::span<const capture_report> reports, const options& opt);

// JUnit XML: one testsuite per capture; per connection and service one testcase for the answers
// that are exact or equivalent, one per answer that is a mismatch, missing or unexpected (a
// failure); a capture that cannot be read is an error.
[[nodiscard]] std::string to_junit(std::span<const capture_report> reports);

struct cli_options {
  std::string target;  // HOST:PORT (unused when before_capture is set)
  bool json = false;   // JSON lists the failed answers in full, every answer with `verbose`
  std::string junit;   // file to write, "" = none
  std::uint32_t timeout_ms = 3000;
  std::uint32_t linger_ms = 250;           // options::linger
  std::uint32_t push_wait_max_ms = 60000;  // options::push_wait_max
  std::uint16_t port = 102;
  bool verbose = false;
  // Called before each capture is replayed, to provide its target (e.g. a fresh in-process server,
  // protos7::learn): sets `t` and returns nothing, or returns why there is none (the capture is
  // then reported with that error, exit status 2).
  std::function<std::optional<std::string>(const std::string& capture, replay::target& t)>
      before_capture;
  std::string label;                                              // options::label
  enum pace pace = pace::fastest;                                 // --pace
  stream::shard shard;                                            // --shard I/N
  stream::progress::mode progress = stream::progress::mode::off;  // --progress, on stderr
  std::uint16_t synth_called_tsap = 0x0102;                       // --rack-slot
};

// "R/S" (rack 0-7, slot 0-31) as the called TSAP of a PG connection (`tsap`); "" or why not.
[[nodiscard]] std::string parse_rack_slot(const std::string& s, std::uint16_t& tsap);

// `protos7 replay`. Exit status: 0 every answer exact or equivalent; 1 some answer is a
// mismatch, missing or unexpected; 2 bad arguments, a capture that cannot be read, the JUnit
// file cannot be written, or nothing at all could be compared.
int run_cli(const std::vector<std::string>& captures, const cli_options& o, std::FILE* out,
            std::FILE* err);

// `protos7 report merge SHARD.json... [-o FILE] [--junit FILE]`: the JSON reports of the shards
// of one replay (`protos7 replay --json --shard I/N`, every I of one N, same captures) as one
// JSON report (to `json_out`, "-" or "" for `out`) and optionally one JUnit file. The result
// does not depend on how the connections were sharded: merging the report of an unsharded
// replay gives the same bytes. Exit status: 0 every answer exact or equivalent, 1 some are not,
// 2 an input that cannot be read, is not such a report, or shards that do not fit together.
int run_merge(const std::vector<std::string>& inputs, const std::string& json_out,
              const std::string& junit_out, std::FILE* out, std::FILE* err);

}  // namespace protos7::replay
