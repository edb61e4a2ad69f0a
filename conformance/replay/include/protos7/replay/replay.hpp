// protos7::replay - replays the client side of captured S7 conversations against a live target
// and compares every answer with the one the captured PLC gave.
//
// For each capture: the TCP streams are reassembled (protos7::capture), split into TPKT/COTP/S7
// records (protos7::stream), and every S7 connection is replayed over its own TCP connection to
// the target, in capture order:
//
//   client frame (CR, DT, the empty DT Step 7 sends after each answer, ...)  -> sent as captured
//   server PDU (CC, Ack_Data, Userdata response, a Job the PLC sends itself) -> expected
//
// Before each client frame the runner waits for the server PDUs that precede it in the capture
// (up to options::timeout each). Answers are mapped to expectations by PDU reference; PDUs the
// PLC initiates (Download block Jobs during a download, Userdata pushes) in order. When the PLC
// sends a Job, the runner answers with the captured client Ack_Data, its PDU reference patched to
// the one the target used; a follow-up "next unit" Userdata request gets the sequence number the
// target chose for the unit before. Each answer gets a verdict (see `verdict`).
//
// The target is anything that listens on host:port (node-snap7's server, a PLC, later the
// in-process protos7 server started on an ephemeral port).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protos7/capture/capture.hpp"

namespace protos7::replay {

// Where to replay to. The only coupling to a server: anything that accepts TCP on host:port.
struct target {
  std::string host;  // name, IPv4 or IPv6 literal (without brackets)
  std::uint16_t port = 0;
  [[nodiscard]] std::string to_string() const;  // "host:port", "[v6]:port"
};

// Parses "HOST:PORT" or "[IPV6]:PORT". Returns false with a message in `err` when the port is
// missing, not a number, 0 or above 65535, or the host is empty.
[[nodiscard]] bool parse_target(std::string_view text, target& out, std::string& err);

// The verdict for one answer.
enum class verdict : std::uint8_t {
  exact = 0,       // the target sent the same bytes as the captured PLC
  equivalent = 1,  // differs only in fields listed by equivalence_rules(), each tolerated there
  mismatch = 2,    // differs in other fields (listed), or in bytes no decoded field covers
  missing = 3,     // the captured PLC answered, the target did not (within the timeout)
  unexpected = 4,  // the target sent a PDU where the captured PLC sent none
};
inline constexpr std::size_t verdict_count = 5;
[[nodiscard]] std::string_view to_string(verdict v) noexcept;
[[nodiscard]] constexpr bool is_failure(verdict v) noexcept {
  return v == verdict::mismatch || v == verdict::missing || v == verdict::unexpected;
}

// One field that differs between the captured and the target's answer, by Wireshark field name.
// A name that occurs several times in a PDU (items) carries "[i]" for its i-th occurrence.
struct field_value {
  bool present = false;
  std::variant<std::int64_t, std::string> value;
  friend bool operator==(const field_value&, const field_value&) = default;
};
struct field_diff {
  std::string name;
  field_value expected;
  field_value actual;
  std::string_view rule;  // empty: a real difference; else the id of the tolerating rule
};

// A field that legitimately varies between two correct answers, with the reason. The list is
// short on purpose; everything else (Setup communication's negotiated values, SZL contents,
// block timestamps, data values) must match.
struct equivalence_rule {
  std::string_view id;
  std::string_view fields;   // Wireshark names
  std::string_view applies;  // which answers
  std::string_view reason;
};
[[nodiscard]] std::span<const equivalence_rule> equivalence_rules() noexcept;

struct answer {
  verdict v = verdict::exact;
  std::string service;              // "Setup communication", "Userdata Time functions / Read clock"
  std::uint64_t request_frame = 0;  // captured client frame this answers (0: a PLC-initiated PDU)
  std::uint64_t expected_frame = 0;  // captured answer's frame (0: unexpected)
  std::string expected;              // one-line summary of the captured answer ("" if unexpected)
  std::string actual;                // of the target's answer ("" if missing)
  std::vector<field_diff> fields;    // mismatch: every differing field; equivalent: the tolerated
  std::string bytes_diff;            // mismatch where no decoded field differs: where bytes do
  std::string detail;                // why missing / unexpected, late arrival, patches applied
};

struct connection_report {
  std::size_t index = 0;  // in the capture's TCP connection list
  std::string client;     // captured endpoints, "192.168.1.10:4185"
  std::string server;
  std::uint64_t first_frame = 0;
  std::uint64_t last_frame = 0;
  bool replayed = false;
  std::string skip_reason;  // why not replayed
  std::vector<std::string> notes;
  std::vector<answer> answers;  // in the order they were resolved (capture order)
};

struct capture_report {
  std::string path;
  bool loaded = false;
  std::string error;               // why the file could not be read at all
  std::vector<std::string> notes;  // file-level problems (truncated file, skipped frames, no S7)
  std::vector<connection_report> connections;
};

struct options {
  target tgt;
  std::chrono::milliseconds timeout{3000};  // per expected answer, from the last frame sent
  // After a connection's last step: how long to keep listening for unexpected PDUs.
  std::chrono::milliseconds linger{250};
  std::uint16_t capture_port = 102;  // S7 connections in the capture (0: every TCP connection)
  // How reports name the target instead of host:port ("in-process protos7, profile ..."); empty:
  // tgt.to_string().
  std::string label;
};

// Replays every S7 connection of the capture at `path`. Never throws on bad input: problems end
// up in the report (error / notes).
[[nodiscard]] capture_report replay_capture(const std::string& path, const options& opt);
// Same, for a capture already loaded (tests build captures in memory).
[[nodiscard]] capture_report replay_loaded(const capture::capture_file& file, const options& opt);

// Verdict counts over reports.
struct tally {
  std::array<std::size_t, verdict_count> by_verdict{};
  [[nodiscard]] std::size_t total() const noexcept;
  [[nodiscard]] std::size_t failures() const noexcept;
  void add(verdict v) noexcept { ++by_verdict[static_cast<std::size_t>(v)]; }
};
[[nodiscard]] tally count(const capture_report& r);
// Per service, in order of first appearance.
[[nodiscard]] std::vector<std::pair<std::string, tally>> count_by_service(
    std::span<const capture_report> reports);
// Per service (in order of first appearance), what differs in its answers that are a mismatch,
// missing or unexpected: the Wireshark names of the differing fields (items merged), "bytes no
// decoded field covers, first at data byte N", or why an answer is missing / unexpected, each
// with the number of answers it occurs in.
[[nodiscard]] std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::size_t>>>>
differences_by_service(std::span<const capture_report> reports);

}  // namespace protos7::replay
