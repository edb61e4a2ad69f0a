// protos7::replay - replays the client side of captured S7 conversations against a live target
// and compares every answer with the one the captured PLC gave.
//
// A capture is read as a stream (protos7::stream::reader): twice, first to learn what in the
// captured answers is not a fixed property of the PLC (variation.cpp: bytes the PLC's program
// changes, bytes the captured PLC answered differently to the same request), then to replay it.
// Every S7 connection becomes a script (client frames to send, server PDUs to expect, in capture
// order) built as its records come, and all connections run at once in one event loop:
//
//   client frame (CR, DT, the empty DT Step 7 sends after each answer, ...)  -> sent as captured
//   server PDU (CC, Ack_Data, Userdata response, a Job the PLC sends itself) -> expected
//
// Within a connection steps go in capture order, except that requests which cannot change the
// PLC's state go out while fewer of the connection's requests are unanswered than the capture
// ever had in flight on it (never more than the Max AmQ the target negotiated). Across
// connections effects keep the captured order: a PDU that may change the PLC's state waits for
// every step captured before it on every connection, a read for the state-changing PDUs captured
// before it; so a client that writes on one connection what it reads on another sees the captured
// order, and reads overlap as much as the target allows. Answers are paired by PDU reference;
// PDUs the PLC initiates (Download block Jobs during a download, Userdata pushes) in order. When
// the PLC sends a Job, the runner answers with the captured client Ack_Data, its PDU reference
// patched to the one the target used; a follow-up "next unit" Userdata request gets the sequence
// number the target chose for the unit before. Each answer gets a verdict (see `verdict`).
//
// Memory is bounded by the connections open at once and the steps read ahead (a window of the
// capture), not by the length of the capture: answers go to a report_sink as they are decided.
//
// The target is anything that listens on host:port (node-snap7's server, a PLC, the in-process
// protos7 server started on an ephemeral port).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
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
  std::size_t index = 0;  // the capture's S7 connections in order of first frame (as `dump`)
  std::string client;     // captured endpoints, "192.168.1.10:4185"
  std::string server;
  std::uint64_t first_frame = 0;
  std::uint64_t last_frame = 0;
  bool replayed = false;
  std::string skip_reason;  // why not replayed
  std::vector<std::string> notes;
  std::string synthesized_start;  // connection_summary::synthesized_start
  std::vector<answer> answers;    // in the order they were resolved (capture order)
};

struct capture_report {
  std::string path;
  bool loaded = false;
  std::string error;               // why the file could not be read at all
  std::vector<std::string> notes;  // file-level problems (truncated file, skipped frames, no S7)
  std::vector<connection_report> connections;
};

// How fast client frames go out.
enum class pace : std::uint8_t {
  fastest,  // as soon as everything captured before them is complete
  capture,  // also not before their captured time (relative to the capture's first frame)
};

struct options {
  target tgt;
  std::chrono::milliseconds timeout{3000};  // per expected answer, from the last frame sent
  // After a connection's last step: how long to keep listening for unexpected PDUs (cut short
  // when another connection of the capture opens).
  std::chrono::milliseconds linger{250};
  // The most a connection's end waits for pushes of time-driven kinds (cyclic transfer, pushes
  // at a regular period) still due at the capture's pace, and the most an unsubscribe waits for
  // its job's pushes captured before it (--push-wait-max).
  std::chrono::milliseconds push_wait_max{60000};
  std::uint16_t capture_port = 102;  // S7 connections in the capture (0: every TCP connection)
  // How reports name the target instead of host:port ("in-process protos7, profile ..."); empty:
  // tgt.to_string().
  std::string label;
  enum pace pace = pace::fastest;
  // Which connections to replay (by index in the capture); empty: all (--shard).
  std::function<bool(std::size_t index)> select;
  // Fill `expected` and `actual` of exact answers too (the summaries cost time; a streaming
  // report that only counts exact answers does not need them).
  bool describe_exact = true;
  // Steps read ahead of the oldest incomplete one (a window of the capture).
  std::size_t read_ahead = 8192;
  // The called TSAP of a CR the replay synthesizes when the capture has none (script.hpp):
  // a PG connection to rack 0 slot 2 unless --rack-slot says otherwise.
  std::uint16_t synth_called_tsap = 0x0102;
};

// One connection's result as the report sinks see it: everything but the answers, which came
// one by one before it.
struct connection_summary {
  std::size_t index = 0;
  std::string client;
  std::string server;
  std::uint64_t first_frame = 0;
  std::uint64_t last_frame = 0;
  bool replayed = false;
  std::string skip_reason;
  std::vector<std::string> notes;
  // The capture starts mid-session: what the replay synthesized (CR, Setup communication) and
  // with which values; empty when the session start was captured.
  std::string synthesized_start;
};

// Receives the results of a replay as they are decided. For each capture: begin_capture, then
// (interleaved across connections) answer() for every answer and connection_done() for every
// connection once it is over (after its answers), capture notes, and end_capture.
class report_sink {
 public:
  virtual ~report_sink() = default;
  virtual void begin_capture(const std::string& path) = 0;
  // The capture cannot be read at all (no answers or connections follow).
  virtual void capture_error(const std::string& error) = 0;
  virtual void capture_note(const std::string& note) = 0;
  virtual void answer(std::size_t connection, const answer& a) = 0;
  virtual void connection_done(const connection_summary& c) = 0;
  virtual void end_capture() = 0;
};

// Counters a replay keeps as it goes (progress lines).
inline constexpr std::uint64_t progress_units = 10;  // per byte of a capture (both passes)
struct run_counters {
  std::uint64_t frames = 0;       // frames of the capture replayed so far
  std::uint64_t bytes_read = 0;   // progress: weighted bytes of the capture read (both passes)
  std::uint64_t bytes_total = 0;  // progress_units x the file's size
  std::array<std::uint64_t, 5> verdicts{};
  // Connections' ends waiting for pushes due at the capture's pace: how many pushes are
  // outstanding, and how long until the last of them is due (0: none waited for).
  std::uint64_t pushes_awaited = 0;
  std::chrono::milliseconds push_wait{0};
};

// Replays the capture at `path` (read as a stream) into `sink`. `on_tick` (optional) is called
// now and then with the counters. Never throws on bad input: problems end up in the report
// (capture_error / notes). Returns the number of S7 connections of the capture (all of them,
// also those options::select left out).
std::size_t replay_stream(const std::string& path, const options& opt, report_sink& sink,
                          const std::function<void(const run_counters&)>& on_tick = {});

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
}  // namespace protos7::replay
