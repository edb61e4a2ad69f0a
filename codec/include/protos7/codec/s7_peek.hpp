// A lenient look at the S7 header and the head of the parameter block, for the tools that must
// pair, classify and display PDUs the strict codec rejects: a capture runner pairs a malformed
// Ack_Data with its Job by PDU reference, the `--validate` checker tracks a request whose body
// is broken, the dump tool prints the header fields of a PDU as Wireshark does before it
// complains. Nothing a peek returns may drive a side effect (a memory write, a reply): only
// s7::parse / s7::decode validate a PDU.
//
//   0      1        2            4         6            8           10          11
//   +------+--------+------------+---------+------------+-----------+-----------+----------+
//   | 0x32 | ROSCTR | redundancy | PDU ref | param len  | data len  | err class | err code |
//   |      |        | id         |         |            |           | (ROSCTR 2 and 3 only) |
//   +------+--------+------------+---------+------------+-----------+-----------+----------+
//
// Job / Ack_Data parameter: | function | ...
// Userdata parameter head (userdata.hpp):
//   | 00 | 01 | 12 | length of rest (4/8) | method | type (hi) group (lo) | subfunction | seq |
//   [ | data unit ref | last data unit | error code (u16) | ]   when the length of rest is 8
//
// Leniencies, each deliberate (what the strict codec checks instead, and the risk):
//  - Lengths are not cross-checked: the parameter block is param len bytes cut at the end of the
//    PDU (s7_length_mismatch otherwise). Risk: with a parameter length that lies, the fields
//    after the header may be data bytes, or bytes of a later PDU the caller glued on.
//  - The redundancy id is not checked (s7_redundancy_nonzero). Risk: a peer of another dialect
//    may put other fields at these offsets.
//  - An Ack with a parameter or data block is accepted (s7_ack_has_payload). Risk: none for the
//    header fields; the blocks are not interpreted for ROSCTR 2.
//  - The Userdata head bytes (00 01 12), the method and the type nibble are not checked
//    (userdata_bad_head, userdata_bad_method, userdata_bad_type): any 8 parameter bytes give a
//    type, group, subfunction and sequence number. Risk: a parameter that is not a Userdata head
//    yields meaningless values, which a pairing or display may then show or use as keys.
//  - The extended head is recognised by its length-of-rest byte (8) alone, and read only when
//    all 12 bytes are present. Risk: as above.
// The protocol id and the ROSCTR are checked: without them nothing else means anything.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"

namespace protos7::codec::s7 {

// Offsets of the fixed header fields, for tools that mask a field in a copy of a PDU.
namespace header_at {
inline constexpr std::size_t protocol_id = 0;
inline constexpr std::size_t rosctr = 1;
inline constexpr std::size_t redundancy_id = 2;
inline constexpr std::size_t pdu_ref = 4;  // u16
inline constexpr std::size_t param_length = 6;
inline constexpr std::size_t data_length = 8;
inline constexpr std::size_t error_class = 10;  // ROSCTR 2 and 3 only
inline constexpr std::size_t error_code = 11;
}  // namespace header_at

namespace ud {
// Offsets inside the Userdata parameter head, for the same purpose.
namespace param_at {
inline constexpr std::size_t length = 3;
inline constexpr std::size_t method = 4;
inline constexpr std::size_t type_group = 5;
inline constexpr std::size_t subfunction = 6;
inline constexpr std::size_t seq = 7;
inline constexpr std::size_t data_unit_ref = 8;  // extended head only
inline constexpr std::size_t last_data_unit = 9;
inline constexpr std::size_t error_code = 10;  // u16
}  // namespace param_at
}  // namespace ud

struct peek_result {
  // The 10 bytes every header has are present; the fields below are read whatever they hold.
  bool header = false;
  std::uint8_t protocol_id = 0;
  std::uint8_t rosctr = 0;  // raw
  std::uint16_t redundancy_id = 0;
  std::uint16_t pdu_ref = 0;
  std::uint16_t param_length = 0;
  std::uint16_t data_length = 0;
  // ROSCTR 2 or 3 (even with another protocol id) and all 12 header bytes present.
  bool has_error_fields = false;
  std::uint8_t error_class = 0;
  std::uint8_t error_code = 0;

  // header, protocol id 0x32 and ROSCTR 1, 2, 3 or 7. The fields below are set only then.
  bool s7 = false;
  std::uint32_t param_offset = 0;  // from the origin: where the parameter block starts
  bytes param;                     // param_length bytes, fewer when the PDU ends first

  // Job / Ack_Data with at least one parameter byte: the function code.
  bool has_function = false;
  std::uint8_t function = 0;

  // Userdata with at least the 8 bytes of the parameter head.
  bool ud = false;
  std::uint8_t ud_type = 0;   // 0 push, 4 request, 8 response (unchecked)
  std::uint8_t ud_group = 0;  // ud::group, raw
  std::uint8_t ud_subfunction = 0;
  std::uint8_t ud_seq = 0;
  // Length of rest 8 and all 12 head bytes present.
  bool ud_extended = false;
  std::uint8_t ud_data_unit_ref = 0;
  std::uint8_t ud_last_data_unit = 0;
  std::uint16_t ud_error_code = 0;

  // Why the peek found no S7 header: truncated (at the first header field that does not fit,
  // then nothing is set), s7_bad_protocol_id, s7_bad_rosctr. ok when `s7` is set: a parameter
  // block shorter than its head is not an error here, its flags simply stay false.
  codec::error err{};

  [[nodiscard]] constexpr std::uint16_t header_error() const noexcept {
    return static_cast<std::uint16_t>((error_class << 8U) | error_code);
  }
};

// Reads the header and the head of the parameter block of the PDU that starts `in` (anything
// after it is ignored). Offsets are measured from `origin` (from `in` when null).
// Errors (in peek_result::err): truncated, s7_bad_protocol_id, s7_bad_rosctr.
[[nodiscard]] peek_result peek(bytes in, const std::byte* origin = nullptr) noexcept;

}  // namespace protos7::codec::s7
