// Output of `protos7 replay`: readable text, JSON, JUnit XML; and the command itself.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "protos7/replay/replay.hpp"

namespace protos7::replay {

// Readable summary: per capture, per connection (notes, every answer that is not exact; every
// answer with `verbose`), per service, and totals over all captures.
void write_text(std::span<const capture_report> reports, const options& opt, bool verbose,
                std::FILE* out);

// One JSON document (totals, per service, per capture/connection/answer with the differing
// fields by Wireshark name).
[[nodiscard]] std::string to_json(std::span<const capture_report> reports, const options& opt);

// JUnit XML: one testsuite per capture, one testcase per answer; mismatch, missing and
// unexpected are failures, a capture that cannot be read is an error.
[[nodiscard]] std::string to_junit(std::span<const capture_report> reports);

struct cli_options {
  std::string target;  // HOST:PORT (unused when before_capture is set)
  bool json = false;
  std::string junit;  // file to write, "" = none
  std::uint32_t timeout_ms = 3000;
  std::uint32_t linger_ms = 250;  // options::linger
  std::uint16_t port = 102;
  bool verbose = false;
  // Called before each capture is replayed, to provide its target (e.g. a fresh in-process server,
  // protos7::learn): sets `t` and returns "", or returns why there is none (the capture is then
  // reported with that error, exit status 2).
  std::function<std::string(const std::string& capture, replay::target& t)> before_capture;
  std::string label;  // options::label
};

// `protos7 replay`. Exit status: 0 every answer exact or equivalent; 1 some answer is a
// mismatch, missing or unexpected; 2 bad arguments, a capture that cannot be read, the JUnit
// file cannot be written, or nothing at all could be compared.
int run_cli(const std::vector<std::string>& captures, const cli_options& o, std::FILE* out,
            std::FILE* err);

}  // namespace protos7::replay
