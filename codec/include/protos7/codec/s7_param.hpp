// Job and Ack_Data parameter blocks: the first byte is the function code.
//
//   Setup communication (0xF0), 8 bytes, no data:
//     | F0 | reserved 00 | max AmQ calling (u16) | max AmQ called (u16) | PDU length (u16) |
//   Read Var / Write Var job (0x04 / 0x05):
//     | fn | item count | item count x variable specification (see s7_item.hpp) |
//   Read Var / Write Var Ack_Data: | fn | item count |
//   Request download, Download block, Download ended, Start upload (0x1A..0x1D) job:
//     | fn | status | u16 (error code for 0x1C) | u32 (upload id / unknown) | len | file name |
//     and for Request download optionally | len | '1' | load memory length (6 ASCII) |
//                                           MC7 length (6 ASCII) |
//   Upload, End upload (0x1E, 0x1F) job: | fn | status | u16 | u32 upload id |
//   Ack_Data of block control: | fn | [status] | ... (Start upload: u16, u32 upload id, len,
//     block length in ASCII) ; Download block / Upload Ack_Data carry the block in the data:
//     | length (u16) | u16 (0x00FB) | block bytes |
//   PI-Service (0x28) job: | fn | 7 bytes | param block length (u16) | param block |
//     len | service name |   Ack_Data: | 28 | [status] |
//   PLC Stop (0x29) job: | fn | 5 bytes | len | service name |
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_header.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::s7 {

enum class function : std::uint8_t {
  cpu_services = 0x00,
  read_var = 0x04,
  write_var = 0x05,
  request_download = 0x1A,
  download_block = 0x1B,
  download_ended = 0x1C,
  start_upload = 0x1D,
  upload = 0x1E,
  end_upload = 0x1F,
  pi_service = 0x28,
  plc_stop = 0x29,
  setup_communication = 0xF0,
};
[[nodiscard]] bool is_known_function(std::uint8_t fn) noexcept;
// Read Var or Write Var: the functions whose parameter is a list of variable specifications.
[[nodiscard]] constexpr bool is_variable_function(std::uint8_t fn) noexcept {
  return fn == static_cast<std::uint8_t>(function::read_var) ||
         fn == static_cast<std::uint8_t>(function::write_var);
}

inline constexpr std::size_t setup_communication_length = 8;
// A block file name: '_' + type (2 ASCII hex digits) + number (5 digits) + file system.
inline constexpr std::size_t block_filename_length = 9;

struct setup_communication {
  std::uint8_t reserved = 0;
  std::uint16_t max_amq_calling = 0;
  std::uint16_t max_amq_called = 0;
  std::uint16_t pdu_length = 0;
};

// "_0A00001P": a block file name, decoded.
struct block_filename {
  bytes raw;                    // the name as sent
  char file_id = 0;             // '_' complete module, '$' header for upload
  std::uint8_t block_type = 0;  // 0x08 OB, 0x0A DB, 0x0B SDB, 0x0C FC, 0x0D SFC, 0x0E FB, 0x0F SFB
  std::uint32_t number = 0;
  char filesystem = 0;  // 'P' passive, 'A' active, 'B' both
  bool valid = false;   // all of the above parsed (9 chars, hex type, decimal number)
};
[[nodiscard]] block_filename decode_filename(bytes name) noexcept;
// Decodes "0A00001P"-style 8-character names (type + number + file system), as in _DELE/_INSE
// parameter blocks and Get block info requests.
[[nodiscard]] block_filename decode_block_name8(bytes name) noexcept;

// A block as an 8-character name "0A00001P": type (2 upper-case hex digits), number (5 digits,
// 0..99999), file system (1 character).
struct block_ref {
  std::uint8_t type = 0;
  std::uint32_t number = 0;
  char filesystem = 'P';
};
inline constexpr std::size_t block_name8_length = 8;
// Writes the 8 characters; value_out_of_range (at finish) for a number above 99999.
void write_block_name8(writer& w, const block_ref& b) noexcept;
// Writes a 9-character block file name: `file_id` ('_' the whole block, '$' its header), then the
// 8-character name ("_0800001P" names OB 1 in the passive file system, as Start upload and
// Request download carry it). value_out_of_range as write_block_name8.
void write_block_filename(writer& w, const block_ref& b, char file_id = '_') noexcept;

// The PI parameter block of _INSE, _INS2 and _DELE: a list of blocks
// (s7comm_downloading_block_db1.pcap frame 58: 01 00 "0A00001P"):
//   | count (u8, >= 1) | unknown (u8, 00 in every capture) | count x 8-character block name |
struct pi_block_list {
  std::uint8_t count = 0;
  std::uint8_t unknown = 0;  // not checked: its meaning is unknown (always 0 when captured)
  bytes names;               // count x 8 bytes
  [[nodiscard]] block_filename at(std::size_t i) const noexcept {
    return decode_block_name8(names.subspan(i * block_name8_length, block_name8_length));
  }
};
// Errors (layer s7_param): param_bad_pi_service at the count byte (count 0, or the block is not
// 2 + 8 x count bytes); param_bad_filename at a name that is not type, number, file system.
[[nodiscard]] result<pi_block_list> parse_pi_block_list(bytes param_block,
                                                        const std::byte* origin) noexcept;
// Writes | count | 00 | names | (1..255 blocks; value_out_of_range otherwise).
void write_pi_block_list(writer& w, std::span<const block_ref> blocks) noexcept;

// The PI parameter block of P_PROGRAM, the PLC start: empty for a warm or hot start (the
// decodes_a_plc_start capture in s7_param_test), "C " for a cold start (snap7's PlcColdStart).
// Only the first byte counts: 'C' is a cold start, anything else (or nothing) a warm/hot start.
enum class restart : std::uint8_t { warm_or_hot, cold };
[[nodiscard]] restart pi_restart_of(bytes param_block) noexcept;
// Writes the block of `r`: nothing for a warm/hot start, "C " for a cold start.
void write_pi_restart(writer& w, restart r) noexcept;

// Bytes 2-3 of a Start upload Ack_Data as an S7-300 (CPU 315-2EH14, firmware V3.2.7) answers
// every upload (snap7_s300_everything.pcapng, frames 18, 26, 32, 38: 01 00).
inline constexpr std::uint16_t start_upload_answer_word = 0x0100;

struct block_control {
  std::uint8_t status = 0;      // bit 0: more data follows, bit 1: error
  std::uint16_t word = 0;       // bytes 2-3: error code (Download ended) or unknown
  std::uint32_t upload_id = 0;  // bytes 4-7: upload id (upload functions) or unknown
  bool has_filename = false;
  block_filename filename;
  bytes part2;               // Request download: the bytes after the part-2 length byte
  bytes load_memory_length;  // Request download part 2: 6 ASCII digits
  bytes mc7_length;          //                          6 ASCII digits
  bytes block_length;        // Start upload Ack_Data: block length in ASCII
  bool has_status = false;   // Ack_Data: status byte present
};

struct pi_service {
  bytes unknown;            // 7 bytes after the function code
  bytes param_block;        // the PI parameter block
  bytes service_name;       // "_INSE", "P_PROGRAM", ...
  std::uint8_t status = 0;  // Ack_Data
  bool has_status = false;
};

struct plc_stop {
  bytes unknown;       // 5 bytes after the function code
  bytes service_name;  // "P_PROGRAM"
};

// A decoded parameter block of a Job or Ack_Data.
struct param {
  std::uint8_t fn = 0;          // function, raw
  setup_communication setup;    // fn 0xF0
  std::uint8_t item_count = 0;  // fn 0x04/0x05
  bytes items;                  // job: the variable specifications (walk with var_spec_iterator)
  block_control block;          // fn 0x1A..0x1F
  pi_service pi;                // fn 0x28
  plc_stop stop;                // fn 0x29
  bytes raw;                    // the whole parameter block

  [[nodiscard]] var_spec_iterator var_specs(const std::byte* origin) const noexcept {
    return {items, item_count, origin};
  }
};

struct param_options {
  item_options items{};
  data_options data{};
  // Risk: a Read Var job with item count 0 has nothing to answer; real CPUs reject it. Off.
  bool allow_zero_items = false;
};

// Decodes and validates the parameter block of a Job (ROSCTR 1), including the data block where
// the function defines it (Write Var items, Download data). Everything is checked before the
// caller acts on any of it.
// Errors: s7_missing_param, param_unknown_function, param_bad_length, param_item_count_zero,
// param_item_count_mismatch, param_reserved_nonzero, param_bad_filename, param_bad_pi_service,
// param_data_not_allowed, and the item and data errors.
[[nodiscard]] result<param> parse_job(const pdu& p, const param_options& opt = {}) noexcept;
// Same, decoding into `out` (no copy of the result; the hot path of the server).
[[nodiscard]] error parse_job(const pdu& p, param& out, const param_options& opt = {}) noexcept;

// Same for an Ack_Data (ROSCTR 3); the item count is taken from the parameter. An Ack_Data with a
// header error and neither parameter nor data is accepted (a CPU answers refused jobs so).
// Errors: s7_missing_param, param_unknown_function, param_bad_length, param_data_not_allowed,
// param_item_count_mismatch, data_count_mismatch, and the data and block data errors.
[[nodiscard]] result<param> parse_ack_data(const pdu& p, const param_options& opt = {}) noexcept;
[[nodiscard]] error parse_ack_data(const pdu& p, param& out,
                                   const param_options& opt = {}) noexcept;

// Download block / Upload Ack_Data data: | length (u16) | u16 | block bytes |.
struct block_data {
  std::uint16_t length = 0;
  std::uint16_t unknown = 0;  // 0x00FB in every capture
  bytes payload;
};
// Errors: truncated, data_item_truncated (length field != bytes present).
[[nodiscard]] result<block_data> parse_block_data(bytes data, const std::byte* origin) noexcept;

// --- Encoders ---
void write_setup_communication(writer& w, const setup_communication& s) noexcept;
// Read Var / Write Var job parameter: fn, count, S7ANY items.
void write_var_job(writer& w, function fn, std::span<const any_address> items) noexcept;
// The head of a Read Var / Write Var job parameter, | fn | item count |; the caller writes the
// `item_count` variable specifications after it (write_any, write_var_spec).
void write_var_job_head(writer& w, function fn, std::uint8_t item_count) noexcept;
// Ack_Data parameter of Read Var / Write Var.
void write_var_ack(writer& w, function fn, std::uint8_t item_count) noexcept;

// Block control jobs (0x1A..0x1F): fn, status, word, upload id, then for 0x1A..0x1D the file name
// (length-prefixed) and for 0x1A an optional part 2 (length-prefixed).
void write_block_control_job(writer& w, function fn, const block_control& b) noexcept;
// Block control Ack_Data parameter: fn [status] (and for Start upload: word, upload id, block
// length string). `with_status` false writes the 1-byte form CPUs use for 0x1A, 0x1C, 0x1F.
void write_block_control_ack(writer& w, function fn, const block_control& b,
                             bool with_status) noexcept;
// Download block / Upload Ack_Data data: | length | 0x00FB | block bytes |.
void write_block_data(writer& w, bytes payload, std::uint16_t unknown = 0x00FB) noexcept;
// PI-Service job: fn, 7 bytes, param block length + block, name length + name.
void write_pi_service(writer& w, const pi_service& pi) noexcept;
// PLC Stop job: fn, 5 bytes, name length + name.
void write_plc_stop(writer& w, const plc_stop& stop) noexcept;

}  // namespace protos7::codec::s7
