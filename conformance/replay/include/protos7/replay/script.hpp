// The replay script of one captured connection, and the comparison of one answer.
//
// Internal to protos7::replay but public so the tests can check each piece without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "fields.hpp"  // protos7::dump field lists (tools/dump), Wireshark field names
#include "protos7/replay/replay.hpp"
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
};

// A server PDU the target should send.
struct expectation {
  match_kind kind = match_kind::by_ref;
  std::uint16_t pdu_ref = 0;        // by_ref: the request's; initiated: the captured PLC's own
  std::uint64_t frame = 0;          // captured frame of its last byte (0: nothing captured)
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
  // target's bytes there are tolerated by `rule` (see tolerated_ranges()).
  struct tolerated_range {
    std::size_t offset = 0;
    std::size_t length = 0;
    std::string_view rule;
    std::string what;  // which field, and why (shown with the differing bytes)
  };
  std::vector<tolerated_range> tolerated;
};

// A change to a captured client PDU that depends on what the target answered.
struct pdu_patch {
  enum class what : std::uint8_t { pdu_ref, ud_seq, ud_data_unit_ref };
  what field = what::pdu_ref;
  std::size_t pdu_offset = 0;   // offset in the S7 PDU (pdu_ref: 2 bytes, others 1)
  std::size_t from_expect = 0;  // expectation whose actual answer supplies the value
  std::uint16_t captured = 0;   // the value as captured
};

// A client S7 PDU (one or more DT frames).
struct client_pdu {
  std::vector<std::size_t> sends;  // send steps carrying its bytes
  std::vector<pdu_patch> patches;
  bool has_dependency = false;  // answers a PLC-initiated PDU: not sent unless that arrived
  std::size_t depends_on = 0;   // expectation index
  std::uint64_t frame = 0;
  std::string service;
};

// A client frame to send.
struct send_step {
  std::uint64_t frame = 0;  // 0: synthesized
  std::vector<std::byte> tpkt;
  std::size_t payload_offset = 0;  // DT: where the user data starts in `tpkt`
  std::size_t pdu_offset = 0;      // DT: where that user data sits in its S7 PDU
  std::ptrdiff_t pdu = -1;         // index into script::pdus, -1: not part of a whole PDU
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
  std::vector<expectation> expects;
  std::vector<client_pdu> pdus;
  std::vector<step> steps;  // capture order
};

// The calling/called TSAPs of a synthesized CR (a PG connection to rack 0, slot 2) and its
// source reference and TPDU size (1024, what Step 7 proposes in the sample captures).
inline constexpr std::uint16_t synth_calling_tsap = 0x0100;
inline constexpr std::uint16_t synth_called_tsap = 0x0102;
inline constexpr std::uint16_t synth_src_ref = 0x0001;
inline constexpr std::uint8_t synth_tpdu_size_code = 0x0A;

// Builds the script of one connection. Never fails: a connection that cannot be replayed comes
// back with replayable = false and the reason.
[[nodiscard]] script build_script(const stream::connection_records& cr);

// Byte ranges of the captured answers of one capture that are not a fixed property of the PLC,
// by (connection index in `conns`, frame of the answer's last byte):
//   program_data      Read Var data bytes the PLC's program changed: the capture shows the byte
//                     with another value later although no client wrote it in between
//   varies_in_capture data bytes of a Userdata answer that differ between the captured PLC's
//                     answers to the same request (same bytes but PDU reference and sequence
//                     number) in this capture: LED states, checksums after a download, ...
//   clock             the DATE_AND_TIME of SZL 0x0424 records (record bytes 12-19) and of SZL
//                     0x0132 index 8 (bytes 22-29): the PLC's clock when it answers
using tolerance_map = std::map<std::pair<std::size_t, std::uint64_t>, std::vector<expectation::tolerated_range>>;
[[nodiscard]] tolerance_map tolerated_ranges(const std::vector<stream::connection_records>& conns);

// --- Comparison -------------------------------------------------------------------------------

// Field list of one PDU as `protos7 dump` prints it (Wireshark names), plus
// protos7.cotp.segments (DT frames of the PDU) and protos7.error (a PDU the codec rejects).
// `frags` tracks Userdata answers split over data units (one tracker per side and connection).
[[nodiscard]] dump::field_list describe(const pdu_frames& p, dump::fragment_tracker& frags);

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
