// S7comm header (protocol id 0x32), the first bytes of every S7 PDU.
//
//   0      1        2           4         6            8           10          11
//   +------+--------+-----------+---------+------------+-----------+-----------+----------+
//   | 0x32 | ROSCTR | redundancy| PDU ref | param len  | data len  | err class | err code |
//   |      |        | id (0)    |         |            |           | (ROSCTR 2 and 3 only) |
//   +------+--------+-----------+---------+------------+-----------+-----------+----------+
//
// then param len bytes of parameter and data len bytes of data; nothing may follow.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::s7 {

inline constexpr std::uint8_t protocol_id = 0x32;
inline constexpr std::size_t short_header_size = 10;  // Job, Userdata
inline constexpr std::size_t long_header_size = 12;   // Ack, Ack_Data (with error class/code)

enum class rosctr : std::uint8_t { job = 1, ack = 2, ack_data = 3, userdata = 7 };

[[nodiscard]] constexpr std::size_t header_size(rosctr r) noexcept {
  return (r == rosctr::ack || r == rosctr::ack_data) ? long_header_size : short_header_size;
}

struct header {
  rosctr type = rosctr::job;
  std::uint16_t redundancy_id = 0;
  std::uint16_t pdu_ref = 0;
  std::uint16_t param_length = 0;
  std::uint16_t data_length = 0;
  std::uint8_t error_class = 0;  // Ack / Ack_Data only
  std::uint8_t error_code = 0;

  [[nodiscard]] constexpr std::uint16_t error() const noexcept {
    return static_cast<std::uint16_t>((error_class << 8U) | error_code);
  }
};

// A decoded S7 PDU: the header and views of its parameter and data blocks.
struct pdu {
  header hdr;
  bytes param;
  bytes data;
  std::uint32_t param_offset = 0;  // offsets from the origin of the top-level buffer
  std::uint32_t data_offset = 0;
  const std::byte* origin = nullptr;  // for error offsets of the nested decoders
};

struct options {
  // Risk: the redundancy id is "reserved, always 0x0000"; a non-zero value marks a peer that
  // speaks another dialect, whose other fields this codec may then misread.
  bool allow_nonzero_redundancy_id = false;
};

// Decodes the header of the S7 PDU that fills `in` and checks param + data length against it.
// Errors: truncated, s7_bad_protocol_id, s7_bad_rosctr, s7_redundancy_nonzero,
// s7_length_mismatch, s7_ack_has_payload.
[[nodiscard]] result<pdu> parse(bytes in, const std::byte* origin = nullptr,
                                const options& opt = {}) noexcept;

// Writes a header whose param/data lengths are taken from `h` as given.
void write_header(writer& w, const header& h) noexcept;

// Writes a whole PDU: header (lengths filled from the blocks) + param + data.
// Errors: value_out_of_range (a block over 65535 bytes), buffer_too_small.
[[nodiscard]] result<std::size_t> encode(const header& h, bytes param, bytes data,
                                         mutable_bytes out) noexcept;

// Header error classes (s7comm.header.errcls).
namespace error_class {
inline constexpr std::uint8_t none = 0x00;
inline constexpr std::uint8_t application_relationship = 0x81;
inline constexpr std::uint8_t object_definition = 0x82;
inline constexpr std::uint8_t no_resources = 0x83;
inline constexpr std::uint8_t service_processing = 0x84;
inline constexpr std::uint8_t supplies = 0x85;
inline constexpr std::uint8_t access = 0x87;
}  // namespace error_class

// Error codes as class << 8 | code (header and userdata parameter), the ones protos7 answers or
// checks; the meanings are Wireshark's (docs: s7comm_reference.md, "Error codes"). The one
// table of them: the server names no code of its own.
namespace error_code {
inline constexpr std::uint16_t none = 0x0000;
inline constexpr std::uint16_t invalid_block_type = 0x0113;
inline constexpr std::uint16_t block_not_found = 0x0114;
inline constexpr std::uint16_t service_unknown = 0x8100;
inline constexpr std::uint16_t not_implemented = 0x8104;
inline constexpr std::uint16_t object_inconsistent = 0x8204;
inline constexpr std::uint16_t insufficient_memory = 0x8301;  // memory or work memory
inline constexpr std::uint16_t no_resources = 0x8302;
inline constexpr std::uint16_t no_parallel_upload = 0x8304;        // no further parallel upload
inline constexpr std::uint16_t insufficient_work_memory = 0x8306;  // copying, linking, loading
inline constexpr std::uint16_t invalid_sequence = 0x8401;
inline constexpr std::uint16_t object_state = 0x8402;
inline constexpr std::uint16_t function_cannot_be_performed = 0x8404;
inline constexpr std::uint16_t wrong_frames = 0x8500;
inline constexpr std::uint16_t addressing_error = 0x8701;
inline constexpr std::uint16_t service_not_supported = 0x8702;
inline constexpr std::uint16_t access_refused = 0x8703;
inline constexpr std::uint16_t illegal_job_number = 0xD001;
inline constexpr std::uint16_t wrong_job_length = 0xD033;
inline constexpr std::uint16_t param_coding_error = 0xD03F;
inline constexpr std::uint16_t illegal_szl_id = 0xD041;
inline constexpr std::uint16_t data_coding_error = 0xD05F;
inline constexpr std::uint16_t not_permitted_in_mode = 0xD081;
inline constexpr std::uint16_t not_permitted_protection = 0xD0A1;
inline constexpr std::uint16_t mode_already_set = 0xD0AD;
inline constexpr std::uint16_t block_name_syntax = 0xD201;  // syntax error in block name
inline constexpr std::uint16_t param_syntax = 0xD202;       // syntax error in function parameters
inline constexpr std::uint16_t too_many_copied_blocks = 0xD208;  // copied (not linked) blocks
inline constexpr std::uint16_t no_priority_class = 0xD20C;       // an OB number no OB can have
inline constexpr std::uint16_t blocks_not_found = 0xD209;  // (at least) one block not found; seen:
                                                           // get block info of a missing DB
inline constexpr std::uint16_t sdb_not_interpretable = 0xD20D;  // SDB cannot be interpreted
inline constexpr std::uint16_t no_further_block = 0xD20E;       // no (further) block available
inline constexpr std::uint16_t incorrect_block_lengths = 0xD219;
inline constexpr std::uint16_t protection_level = 0xD241;
inline constexpr std::uint16_t info_unavailable = 0xD401;
inline constexpr std::uint16_t info_unavailable_2 = 0xD402;  // seen: unknown SZL id/index
inline constexpr std::uint16_t service_syntax_error = 0xD405;
inline constexpr std::uint16_t password_syntax = 0xD601;
inline constexpr std::uint16_t wrong_password = 0xD602;
inline constexpr std::uint16_t already_legitimized = 0xD603;
inline constexpr std::uint16_t connection_already_enabled = 0xD604;
inline constexpr std::uint16_t no_password = 0xD605;
inline constexpr std::uint16_t invalid_tag_address = 0xD801;
inline constexpr std::uint16_t no_more_cyclic_jobs = 0xD805;  // no more cyclic read jobs
inline constexpr std::uint16_t invalid_time = 0xDC01;
}  // namespace error_code

}  // namespace protos7::codec::s7
