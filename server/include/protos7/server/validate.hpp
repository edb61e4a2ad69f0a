// Validating third-party clients (`protos7 serve --validate`): everything a client sends is
// checked against the strict codec and against the limits its session negotiated, and every
// deviation is reported per connection with the offending bytes.
//
// The validator only watches: it sees each connection's bytes through the server's
// connection_observer (client bytes in, the server's replies out) and never changes what the
// server answers. The server itself stays as lenient as it is documented to be (server/README.md:
// jobs beyond AmQ are served, fill bytes of any value are skipped, ...); the validator says where
// a client relied on that.
//
// Checks (the `code` of each deviation; codec error names where the codec finds the problem):
//   TPKT       codec errors (tpkt_bad_version, tpkt_reserved_nonzero, tpkt_length_too_small),
//              tpkt_frame_too_large (over 2048 + 4, the largest class-0 TPDU),
//              tpkt_length_disagrees (the TPKT length is not the length of the TPDU inside: the
//              S7 header's lengths end before or after the frame), tpkt_truncated (the client
//              closed in the middle of a frame)
//   COTP       codec errors (cotp_*), cotp_cr_repeated, cotp_dt_before_connect,
//              cotp_unexpected_tpdu (CC, DC, ER from a client), cotp_dt_over_tpdu_size (a DT
//              longer than the negotiated TPDU size), tsap_called_mismatch (rack/slot/type of the
//              called TSAP is not this CPU's), tsap_calling_missing
//   S7         codec errors (s7_*, param_*, item_*, data_*, userdata_*, szl_* of the strict
//              decoder, e.g. data_fill_nonzero), pdu_over_negotiated_size (a request longer than
//              the PDU size in force), job_before_setup, pdu_ref_reused (a request whose PDU
//              reference is still in flight), too_many_jobs_in_flight (more unanswered requests
//              than the negotiated Max AmQ calling), read_answer_over_pdu (a Read Var whose
//              answer cannot fit the negotiated PDU), item_address_invalid (an S7ANY item a CPU
//              rejects: count 0, a bit address on a non-BIT item, ...), write_length_mismatch
//              (Write Var data whose length is not what the item addresses), unsolicited_ack (an
//              Ack/Ack_Data when the server sent no job)
//
// Injected faults (faults.hpp, docs/FAULTS.md): the report also lists each fault injected on the
// connection and what the client did next (`reaction`):
//   retried_same_request  the next request is the faulted one again (same parameter and data);
//                         `detail` says whether with the same or a new PDU reference, and if it
//                         came before a delayed reply was sent
//   new_request           the next request is another one
//   violated_rule         the client's next bytes were a deviation (its code in `detail`)
//   idle                  the client sent nothing for validate_options::idle_after_fault after
//                         the fault (its reply sent); `detail` says what it did then
//   reconnected           the connection ended and the client opened a new one from the same
//                         address within validate_options::reconnect_window
//   gave_up               the connection ended and no new one came within that window
//   none                  the server stopped before the client did anything
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protos7/server/faults.hpp"
#include "protos7/server/server.hpp"

namespace protos7::server {

struct validate_options {
  std::string report_dir;  // one JSON report per connection; empty: log only
  std::uint8_t rack = 0;   // the called TSAP a CR must carry (config::rack / slot)
  std::uint8_t slot = 2;
  std::uint16_t pdu_size = 480;  // config::pdu_size: the limit until Setup Communication
  // Offending bytes kept per deviation (the frame or PDU, cut to this many bytes).
  std::size_t max_bytes = 512;
  // After a fault ended a connection: a new connection from the same address this soon is the
  // client reconnecting; none: it gave up.
  std::chrono::milliseconds reconnect_window{10'000};
  // After a fault: nothing from the client for this long (after the reply left) is "idle".
  std::chrono::milliseconds idle_after_fault{5'000};
  // Also write a JUnit XML report per connection (<n>-<address>_<port>.xml) next to the JSON.
  bool junit = true;
};

// An injected fault on a connection and what the client did next (see the header comment).
struct fault_reaction {
  std::uint64_t sequence = 0;  // the engine's number of the fault
  std::string rule;
  std::string action;
  std::vector<std::string> kinds;
  std::string request;
  std::uint16_t pdu_ref = 0;
  std::uint64_t at_ms = 0;  // since the connection opened
  std::uint32_t delay_ms = 0;
  bool reply_suppressed = false;
  bool connection_ended = false;
  std::string reaction = "pending";
  std::string detail;
  std::optional<std::int64_t> after_ms;  // from the fault (its reply sent) to the reaction
};

struct deviation {
  std::string code;                 // stable name (see the header comment)
  std::string message;              // what is wrong, with the values involved
  std::uint64_t frame = 0;          // the client's n-th TPKT frame (1-based); 0: none
  std::uint64_t stream_offset = 0;  // offset of that frame in the client's byte stream
  std::uint32_t offset = 0;         // offset of the problem within `bytes` (codec errors)
  std::vector<std::byte> bytes;     // the offending frame or PDU (cut to max_bytes)
};

// One connection's validation, socket-free (tests feed it bytes directly).
class connection_validator {
 public:
  explicit connection_validator(validate_options opt, std::string peer = {});
  ~connection_validator();
  connection_validator(const connection_validator&) = delete;
  connection_validator& operator=(const connection_validator&) = delete;

  // Bytes the client sent, then the server's replies to them (in that order, as the server's
  // observer reports them).
  void client_bytes(std::span<const std::byte> b);
  void server_bytes(std::span<const std::byte> b);
  // The connection closed: a frame the client left unfinished is a deviation.
  void end();

  // A fault injected on this connection (before the bytes of the request it hit are seen).
  void fault(const fault_event& e);
  // After end(): faults whose reaction waits for the client to come back.
  [[nodiscard]] bool awaiting_reconnect() const noexcept;
  // After end(): the client came back (`reaction` reconnected) or not (gave_up).
  void came_back(bool reconnected, const std::string& detail);
  [[nodiscard]] std::chrono::steady_clock::time_point opened_at() const noexcept;
  // When the last fault on this connection was injected (nullopt: none).
  [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> last_fault_at() const;
  // The server stops with the connection open: faults still waiting get `none` (or `idle`).
  void server_stopped();
  [[nodiscard]] std::vector<fault_reaction> faults() const;

  [[nodiscard]] const std::vector<deviation>& deviations() const noexcept;
  [[nodiscard]] const std::string& peer() const noexcept;
  // The report: {peer, negotiated{tpdu_size, pdu_size, max_amq_calling, max_amq_called},
  // client_frames, requests, deviations[{code, message, frame, stream_offset, offset, bytes}],
  // faults[{sequence, rule, action, kinds, request, pdu_ref, at_ms, delay_ms, reply_suppressed,
  // connection_ended, reaction, detail, after_ms}]}.
  [[nodiscard]] std::string report_json() const;
  // The same as JUnit XML: a testsuite per connection, a testcase "conformance" (failed by any
  // deviation) and one per fault (failed when the client violated a rule after it).
  [[nodiscard]] std::string report_junit() const;

 private:
  struct impl;
  std::unique_ptr<impl> p_;
};

// The observer `protos7 serve --validate` installs: a connection_validator per connection; at
// close, the report goes to <report_dir>/<n>-<address>_<port>.json (n counts connections from 1)
// and each deviation to the log (warn).
class validator final : public connection_observer, public fault_listener {
 public:
  explicit validator(validate_options opt);
  ~validator() override;
  void on_open(int id, const std::string& peer) override;
  void on_traffic(int id, std::span<const std::byte> in, std::span<const std::byte> out) override;
  void on_close(int id) override;
  void on_fault(const fault_event& e) override;
  // Connections validated so far and their deviations in total.
  [[nodiscard]] std::size_t connections() const noexcept { return count_; }
  [[nodiscard]] std::size_t deviations() const noexcept { return deviations_; }

 private:
  struct ended {  // a connection whose report waits to know whether the client came back
    std::size_t number;
    std::unique_ptr<connection_validator> v;
    std::chrono::steady_clock::time_point at;
  };
  void finish(std::size_t number, connection_validator& v);
  void expire(std::chrono::steady_clock::time_point now, bool all);

  validate_options opt_;
  std::map<int, std::pair<std::size_t, std::unique_ptr<connection_validator>>> open_;
  std::vector<ended> ended_;
  std::size_t count_ = 0;
  std::size_t deviations_ = 0;
};

}  // namespace protos7::server
