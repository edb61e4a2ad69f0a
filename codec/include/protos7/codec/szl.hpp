// SZL (system status list) payloads of the Userdata CPU function "Read SZL" (group 4, sub 1).
//
// Request data unit payload:  | SZL-ID (u16) | SZL index (u16) |
// Response, first data unit:  | SZL-ID | index | LENTHDR (record length) | N_DR (count) | records |
// Follow-up units of a long answer carry raw record bytes only (see userdata.hpp for the
// data-unit-reference / last-data-unit fields that chain them).
#pragma once

#include <cstddef>
#include <cstdint>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::szl {

struct request {
  std::uint16_t id = 0;
  std::uint16_t index = 0;
};

struct response_head {
  std::uint16_t id = 0;
  std::uint16_t index = 0;
  std::uint16_t record_length = 0;  // LENTHDR
  std::uint16_t record_count = 0;   // N_DR
  bytes records;                    // the records present in this data unit
};
inline constexpr std::size_t response_head_size = 8;

// Errors: szl_bad_request (payload not exactly 4 bytes).
[[nodiscard]] result<request> parse_request(bytes payload, const std::byte* origin) noexcept;

// `complete` says the payload holds the whole answer (a single, last data unit): then the records
// must be exactly LENTHDR * N_DR bytes (none for a header-only SZL-ID 0x0Fxx, whose LENTHDR and
// N_DR describe the list without sending it). The first unit of a fragmented answer may hold fewer.
// Errors: truncated, szl_bad_length.
[[nodiscard]] result<response_head> parse_response(bytes payload, const std::byte* origin,
                                                   bool complete) noexcept;

void write_request(writer& w, const request& r) noexcept;
void write_response_head(writer& w, const response_head& h) noexcept;

// SZL-ID fields: bits 15-12 module class, 11-8 partial list extract number, 7-0 list number.
[[nodiscard]] constexpr std::uint8_t list_number(std::uint16_t id) noexcept {
  return static_cast<std::uint8_t>(id & 0xFFU);
}
// Extract number 0xF: "partial list header information only" (no records in the answer).
[[nodiscard]] constexpr bool is_header_only(std::uint16_t id) noexcept {
  return (id & 0x0F00U) == 0x0F00U;
}

}  // namespace protos7::codec::szl
