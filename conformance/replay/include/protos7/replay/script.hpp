// The replay script of one captured connection, and the comparison of one answer.
//
// Internal to protos7::replay but public so the tests can check each piece without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protos7/dump/fields.hpp"  // Wireshark field lists (conformance/dump)
#include "protos7/replay/replay.hpp"
#include "protos7/stream/reader.hpp"
#include "protos7/stream/stream.hpp"

namespace protos7::replay {

// One PDU as TPKT frames; a data PDU also as its reassembled S7 bytes.
struct pdu_frames {
  std::vector<std::vector<std::byte>> frames;  // whole TPKT frames, in order
  bool dt = false;                             // frames are DT segments (the last has EOT)
  std::vector<std::byte> s7;                   // dt: the user data of all segments
};

// How an answer of the target is paired with a captured one.
enum class match_kind : std::uint8_t {
  by_ref,      // Ack, Ack_Data, Userdata response: by the PDU reference of the request
  initiated,   // a Job or Userdata push the PLC sends on its own: in order
  tpdu,        // CC, DR, ER and other non-DT TPDUs: in order
  other_data,  // a DT payload that is not an S7 PDU: in order
  // A Userdata PDU the PLC pushes (cyclic data, alarm and notify indications, variable status):
  // matched by kind (function group and subfunction), never waited for at its captured place.
  push,
};

// What the target sent for an expectation that later client PDUs depend on (the PLC job they
// answer, the split Userdata answer they continue): shared by the expectation and those PDUs.
struct actual_facts {
  enum class state : std::uint8_t { open, answered, missing };
  state st = state::open;
  std::uint16_t ref = 0;
  std::uint8_t seq = 0;
  std::uint8_t data_unit_ref = 0;
  bool fragmented = false;  // the target's unit said "more data units follow"
  // The expectation, for the notes of the PDUs that depend on it.
  std::uint64_t frame = 0;
  std::uint64_t request_frame = 0;
  std::string service;
};

// A server PDU the target should send.
struct expectation {
  match_kind kind = match_kind::by_ref;
  std::uint16_t pdu_ref = 0;        // by_ref: the request's; initiated: the captured PLC's own
  std::uint64_t frame = 0;          // captured frame of its last byte (0: nothing captured)
  double time = 0.0;                // its capture time
  std::uint64_t request_frame = 0;  // the captured client frame it answers (0: PLC-initiated)
  std::string service;
  pdu_frames pdu;
  // false: the captured answer is unusable (lost in a capture gap, cut off by the end of the
  // capture, or not captured at all for a synthesized CR). The target's answer is then taken
  // without a verdict and without waiting for it; `absorb_note` says why.
  bool compare = true;
  std::string absorb_note;
  bool fragmented = false;  // a Userdata response unit with "more data units follow"
  // Bytes of this answer (offsets in pdu.s7) that are not a fixed property of the PLC: the
  // target's bytes there are tolerated by `rule` (see variation.hpp).
  struct tolerated_range {
    std::size_t offset = 0;
    std::size_t length = 0;
    std::string_view rule;
    std::string what;  // which field, and why (shown with the differing bytes)
  };
  std::vector<tolerated_range> tolerated;
  // Where the captured PDU stands in a Userdata answer split over data units (describe()).
  dump::fragment_info frag;
  // Client send steps of the connection before this one: it is due once they went out.
  std::size_t sends_before = 0;
  // It answers a request that may change the PLC's state (client_pdu::writes) or is a Job of
  // the PLC: reads on other connections captured after it wait for it.
  bool after_write = false;
  // Set when later client PDUs depend on what the target sends here.
  std::shared_ptr<actual_facts> facts;
  // Cyclic services: the answer sets up a job (cyclic transfer, change driven) whose pushes the
  // PLC then sends; the push key of its facts is theirs.
  bool subscribes = false;
  // The answer that set up a cyclic job and that job's pushes: the interval its request asked
  // (time base x factor, ud_cyclic.hpp), ms; 0: not known (the request was not captured).
  std::uint32_t asked_interval_ms = 0;
  // A push: a client request of the connection was captured between the previous push of its
  // kind (or the connection's start) and this one, so the push may follow the client's pace
  // rather than the PLC's own clock.
  bool after_client_request = false;
};

// A change to a captured client PDU that depends on what the target answered.
struct pdu_patch {
  enum class what : std::uint8_t { pdu_ref, ud_seq, ud_data_unit_ref };
  what field = what::pdu_ref;
  std::size_t pdu_offset = 0;          // offset in the S7 PDU (pdu_ref: 2 bytes, others 1)
  std::shared_ptr<actual_facts> from;  // the answer that supplies the value
  std::uint16_t captured = 0;          // the value as captured
};

// A client S7 PDU (one or more DT frames).
struct client_pdu {
  // False until its last segment was captured (an empty segment before it goes out at once).
  bool complete = false;
  std::vector<std::size_t> sends;  // build_script(): send steps carrying its bytes
  std::vector<pdu_patch> patches;
  // Answers a PLC-initiated PDU: not sent unless the target sent that PDU.
  std::shared_ptr<actual_facts> depends_on;
  std::uint64_t frame = 0;
  std::string service;
  bool request = false;  // a Job or Userdata request: counts against Max AmQ until answered
  std::uint16_t pdu_ref = 0;
  // It may change the PLC's state (every Job but Setup communication, Read Var and the
  // upload functions; Set clock; an answer to a Job of the PLC): other connections' steps
  // captured before it complete first.
  bool writes = false;
  // A cyclic services unsubscribe: it ends the pushes of this job id (which it names), so it
  // waits for those captured before it (session pacing).
  bool unsubscribes = false;
  std::uint8_t unsubscribe_job = 0;
};

// A client frame to send.
struct send_step {
  std::uint64_t frame = 0;  // 0: synthesized
  double time = 0.0;        // capture time (--pace capture)
  std::vector<std::byte> tpkt;
  std::size_t payload_offset = 0;         // DT: where the user data starts in `tpkt`
  std::size_t pdu_offset = 0;             // DT: where that user data sits in its S7 PDU
  std::shared_ptr<const client_pdu> pdu;  // null: not part of a whole PDU
  bool last_of_pdu = false;               // the frame that completes `pdu`
  bool cr = false;                        // a COTP CR (opens the connection)
  // Where it stands in the capture: `frame`, or for a synthesized CR the Setup communication's.
  std::uint64_t order_frame = 0;
  // The most requests the capture shows in flight on the connection up to this frame: requests
  // that cannot change the PLC's state go out while fewer of the connection's are unanswered
  // (within Max AmQ), without waiting for the answers captured before them.
  std::size_t window = 1;
};

// The parts of a script as they come (script_builder). expect() and send() are steps, in
// capture order; absorb() are answers that are not compared (no step, they never wait).
class script_sink {
 public:
  virtual ~script_sink() = default;
  virtual void send(send_step&& s) = 0;
  virtual void expect(expectation&& e) = 0;
  virtual void absorb(expectation&& e) = 0;
  // A push of the PLC (match_kind::push): no step, compared when the target sends one of its
  // kind, missing when the connection ends without one.
  virtual void expect_push(expectation&& e) = 0;
  virtual void note(std::string n) = 0;
  // The session start was synthesized (what, and why): a note, and the reports say so apart.
  virtual void synthesized(std::string what) { note(std::move(what)); }
  // The connection is not replayed (called at most once, before any step).
  virtual void skip(std::string reason) = 0;
};

// What the whole capture shows of one connection, for a session start that was not captured
// (shape_tracker): the Setup communication and CR the replay then synthesizes.
struct session_shape {
  std::size_t largest_pdu = 0;     // the largest S7 PDU of either side (bytes)
  std::size_t most_in_flight = 0;  // the most client requests unanswered at once
  bool setup_seen = false;         // the client's Setup communication was captured
  // The TSAPs of a COTP CR captured on another connection of the capture (rack and slot).
  bool cr_seen = false;
  std::uint16_t calling_tsap = 0;
  std::uint16_t called_tsap = 0;
  // Message service pushes (mode transitions, diagnostic messages) the server sent before any
  // subscription of the client was captured: the client subscribed before the capture began.
  // Their event classes (alarm::events bits).
  bool subscription_seen = false;
  std::uint8_t events_unsubscribed = 0;
};

// Collects a session_shape from the records of one connection (its CR's TSAPs too).
class shape_tracker {
 public:
  void record(const stream::record_view& r);
  [[nodiscard]] const session_shape& shape() const noexcept { return shape_; }

 private:
  session_shape shape_;
  std::vector<std::uint16_t> open_;  // PDU references of unanswered client requests
};

// Byte ranges of a captured answer that are not a fixed property of the PLC (variation.hpp).
class tolerance_source {
 public:
  virtual ~tolerance_source() = default;
  // The shape of connection `conn` over the whole capture (the TSAPs: of any connection's CR).
  [[nodiscard]] virtual session_shape shape(std::size_t /*conn*/) const { return {}; }
  // `conn`: the connection's index, `frame`: the answer's, `req`/`resp`: the S7 PDUs, `ordinal`:
  // 0 for an answer to a request, n for the n-th follow-up unit of a Userdata answer.
  [[nodiscard]] virtual std::vector<expectation::tolerated_range> tolerated(
      std::size_t conn, std::uint64_t frame, std::span<const std::byte> req,
      std::span<const std::byte> resp, std::size_t ordinal) const = 0;
};

// What the end of a connection tells the script (stream::connection_end, or a loaded capture).
struct script_end {
  bool closed = false;              // FIN or RST from either side
  std::uint64_t bytes[2] = {0, 0};  // payload bytes of each side
  std::uint64_t server_bytes_lost = 0;
  bool server_tail_cut = false;  // the server's last bytes do not form a whole TPKT frame
};

// Builds the script of one connection from its records, as they come. Never fails: a connection
// that cannot be replayed is skipped with the reason.
class script_builder {
 public:
  // `called_tsap`: of a synthesized CR when the capture shows none (options::synth_called_tsap).
  script_builder(script_sink& out, std::size_t conn, const tolerance_source* tol,
                 std::uint16_t called_tsap = 0x0102);
  ~script_builder();
  script_builder(const script_builder&) = delete;
  script_builder& operator=(const script_builder&) = delete;
  void record(const stream::record_view& r);
  void finish(const script_end& e);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

struct step {
  bool send = false;
  std::size_t index = 0;  // into sends or expects
};

struct script {
  bool replayable = false;
  std::string skip_reason;
  std::vector<std::string> notes;
  std::vector<send_step> sends;
  std::vector<expectation> expects;  // steps, then the absorbing ones
  std::vector<expectation> pushes;   // the PLC's pushes (no steps)
  std::vector<client_pdu> pdus;
  std::vector<step> steps;  // capture order
};

// The calling/called TSAPs of a synthesized CR (a PG connection to rack 0, slot 2) and its
// source reference and TPDU size (1024, what Step 7 proposes in the sample captures).
inline constexpr std::uint16_t synth_calling_tsap = 0x0100;
inline constexpr std::uint16_t synth_called_tsap = 0x0102;
inline constexpr std::uint16_t synth_src_ref = 0x0001;
inline constexpr std::uint8_t synth_tpdu_size_code = 0x0A;
// The PDU reference of a synthesized Setup communication (its answer is waited for before any
// captured request goes out, so a captured request with the same reference cannot be confused).
inline constexpr std::uint16_t synth_setup_ref = 0xFFFF;
// The PDU reference and user name of a synthesized message service subscription (after a
// synthesized Setup communication, for a capture whose pushes show one made before it began).
inline constexpr std::uint16_t synth_subscription_ref = 0xFFFE;
inline constexpr std::string_view synth_subscriber = "protos7 ";
// The Setup communication a replay synthesizes for `shape`: PDU size the smallest of 240, 480,
// 960 that holds its largest PDU (else that PDU's size), Max AmQ calling = called = the most
// requests in flight (at least 1).
[[nodiscard]] std::uint16_t synth_pdu_size(const session_shape& shape);
[[nodiscard]] std::uint16_t synth_amq(const session_shape& shape);

// The whole script of one connection of a loaded capture (script_builder collected; tests).
[[nodiscard]] script build_script(const stream::connection_records& cr);

// --- Comparison -------------------------------------------------------------------------------

// Field list of one PDU as `protos7 dump` prints it (Wireshark names), plus
// protos7.cotp.segments (DT frames of the PDU) and protos7.error (a PDU the codec rejects).
// `frags` tracks Userdata answers split over data units (one tracker per side and connection).
[[nodiscard]] dump::field_list describe(const pdu_frames& p, dump::fragment_tracker& frags);
// Same, for a PDU whose place in a split Userdata answer is already known (the tracker saw it).
[[nodiscard]] dump::field_list describe(const pdu_frames& p, const dump::fragment_info& frag);

struct comparison {
  verdict v = verdict::exact;
  std::vector<field_diff> fields;
  std::string bytes_diff;
};

// Compares the target's answer with the captured one; see equivalence_rules() for what is
// tolerated. Field lists come from describe().
[[nodiscard]] comparison compare(const pdu_frames& expected,
                                 const dump::field_list& expected_fields, const pdu_frames& actual,
                                 const dump::field_list& actual_fields);

// One line describing a PDU: "Ack_Data pduref=512 Setup communication", "COTP CC".
[[nodiscard]] std::string summarize(const pdu_frames& p);

// The service a client request (or PLC-initiated PDU) belongs to, e.g. "Read Var",
// "Userdata CPU functions / Read SZL 0x0011". `last_szl` carries the SZL-ID of the previous
// Read SZL request, which names its follow-up ("next unit") requests.
[[nodiscard]] std::string service_of(std::span<const std::byte> s7, std::uint16_t& last_szl);
[[nodiscard]] std::string service_of_tpdu(std::span<const std::byte> tpkt_frame);

}  // namespace protos7::replay
