// Programmer commands (Userdata group 1; SZL 0x0132 index 2 calls them "test and installation
// functions", TIS): watch tables (variable status, modify variable), block status, force and the
// job list. The data unit payload of every request, response and push is a frame
//
//   | parameter size (u16) | data size (u16) | parameter (size bytes) | data (size bytes) |
//
// (step7_s300_readVarTab.pcapng frame 7: 0004 0012, a 4-byte parameter and 18 bytes of data).
// The layouts are those Wireshark 4.0 decodes (packet-s7comm.c, s7comm_decode_ud_tis_*).
#pragma once

#include <cstddef>
#include <cstdint>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::s7::tis {

// Subfunctions of group 1.
namespace sub {
inline constexpr std::uint8_t block_status = 0x01;
inline constexpr std::uint8_t variable_status = 0x02;
inline constexpr std::uint8_t output_istack = 0x03;
inline constexpr std::uint8_t output_bstack = 0x04;
inline constexpr std::uint8_t output_lstack = 0x05;
inline constexpr std::uint8_t time_measurement = 0x06;
inline constexpr std::uint8_t force_selection = 0x07;
inline constexpr std::uint8_t modify_variable = 0x08;
inline constexpr std::uint8_t force = 0x09;
inline constexpr std::uint8_t breakpoint = 0x0A;
inline constexpr std::uint8_t exit_hold = 0x0B;
inline constexpr std::uint8_t memory_reset = 0x0C;
inline constexpr std::uint8_t disable_job = 0x0D;
inline constexpr std::uint8_t enable_job = 0x0E;
inline constexpr std::uint8_t delete_job = 0x0F;
inline constexpr std::uint8_t read_job_list = 0x10;
inline constexpr std::uint8_t read_job = 0x11;
inline constexpr std::uint8_t replace_job = 0x12;
inline constexpr std::uint8_t block_status_v2 = 0x13;
inline constexpr std::uint8_t flash_led = 0x16;
}  // namespace sub

// --- Frame ------------------------------------------------------------------------------------

struct frame {
  std::uint16_t param_size = 0;
  std::uint16_t data_size = 0;
  bytes param;
  bytes data;
  std::uint32_t param_offset = 0;
  std::uint32_t data_offset = 0;
};
inline constexpr std::size_t frame_head_length = 4;
// Errors: truncated (fewer than 4 bytes), userdata_tis_bad_size (the two sizes do not add up to
// the bytes after them).
[[nodiscard]] result<frame> parse_frame(bytes payload, const std::byte* origin) noexcept;
void write_frame(writer& w, bytes param, bytes data) noexcept;

// --- Parameter --------------------------------------------------------------------------------

// The parameter of a request (a job): which fields are present depends on its size, as
// Wireshark reads them (sizes 20 and 28 were captured: readDiagData frames 13 and 22):
//   >= 4:  | param1 | param2 |
//   >= 20: | param3 | answer size | param5 | param6 | param7 | param8 | param9 | trigger event |
//   >= 26: | block type | block number | start address (AWL) |
//   >= 28: | SAZ |
//   >= 36: | call environment setup | call condition | then, when setup is 2, DB1 number,
//            DB2 number; otherwise condition block type, block number and (>= 38) address |
// every field a u16. Bytes past the last field of the size are kept in `extra`.
struct job_param {
  std::uint16_t size = 0;
  std::uint16_t param1 = 0, param2 = 0;
  std::uint16_t param3 = 0, answer_size = 0, param5 = 0, param6 = 0, param7 = 0, param8 = 0,
                param9 = 0, trigger_event = 0;
  std::uint16_t block_type = 0, block_number = 0, start_address = 0;
  std::uint16_t saz = 0;
  std::uint16_t callenv_setup = 0, callenv_cond = 0;
  std::uint16_t db1_or_block_type = 0, db2_or_block_number = 0, cond_address = 0;
  bytes extra;
};
// Size thresholds of job_param.
inline constexpr std::uint16_t job_param_basic = 4;
inline constexpr std::uint16_t job_param_trigger = 20;
inline constexpr std::uint16_t job_param_block = 26;
inline constexpr std::uint16_t job_param_saz = 28;
inline constexpr std::uint16_t job_param_callenv = 36;
inline constexpr std::uint16_t job_param_cond_address = 38;
inline constexpr std::uint16_t callenv_db_numbers = 2;
// Never fails on a whole parameter: every size is a valid prefix of the layout. Errors:
// userdata_tis_bad_size for a size below 4 other than 0.
[[nodiscard]] result<job_param> parse_job_param(bytes param, const std::byte* origin) noexcept;
// Writes the fields of `p.size` (and `extra`); value_out_of_range when extra does not make up
// the size.
void write_job_param(writer& w, const job_param& p) noexcept;

// The parameter of a response or a push: | param1 (u16) | param2 (u16) | (0x0100, 0x0002 in
// the variable status pushes of step7_s300_readVarTab.pcapng).
struct response_param {
  std::uint16_t param1 = 0;
  std::uint16_t param2 = 0;
};
inline constexpr std::size_t response_param_length = 4;
// Errors: userdata_tis_bad_size (not 4 bytes).
[[nodiscard]] result<response_param> parse_response_param(bytes param,
                                                          const std::byte* origin) noexcept;
void write_response_param(writer& w, const response_param& p) noexcept;

// --- Variable addresses and values ------------------------------------------------------------

// An address of a watch table (6 bytes): | area | count, or bit number for a bit area | DB (u16)
// | start byte (u16) |. The area's high nibble is the memory (0 M, 1 I, 2 Q, 3 PI, 7 DB,
// 0x54 T, 0x64 C), the low nibble the width (0 bit, 1 byte, 2 word, 3 double word).
struct item_address {
  std::uint8_t area = 0;
  std::uint8_t count_or_bit = 0;
  std::uint16_t db = 0;
  std::uint16_t start = 0;
  [[nodiscard]] constexpr bool bit_area() const noexcept { return (area & 0x0FU) == 0; }
  friend constexpr bool operator==(const item_address&, const item_address&) = default;
};
inline constexpr std::size_t item_address_length = 6;
void write_item_address(writer& w, const item_address& a) noexcept;

// A value (read data, data to write or force):
//   | return code | transport size | length (u16) | data | fill 00 when the data is odd |
// The length counts bits for transport sizes 3, 4 and 5 (s7_data.hpp), bytes otherwise. Only
// return codes 0xFF and 0x00 carry data; any other value is the 4-byte head with length 0.
// Unlike Read Var data items the fill byte follows every odd value, the last one too
// (readVarTab frame 7: 6 bytes, then 1 byte + fill).
struct item_value {
  std::uint8_t return_code = 0;
  std::uint8_t tsize = 0;
  std::uint16_t length = 0;
  bytes data;
  bool has_fill = false;
  std::uint32_t offset = 0;  // of the return code
};
// Writes a value (rc, tsize, the length in the unit of tsize, data, fill); an rc other than 0xFF
// and 0x00 writes the head only.
void write_item_value(writer& w, std::uint8_t rc, std::uint8_t tsize, bytes data) noexcept;

// The data of variable status, modify variable and force:
//   request of variable status:      | count (u16) | count x address |
//   push of variable status:         | count (u16) | count x value |
//   request of modify / force:       | count (u16) | count x address | count x value |
//   push of modify / force:          | count (u16) | count x return code | fill if count odd |
enum class list_kind : std::uint8_t { addresses, values, addresses_and_values, return_codes };
struct item_list {
  std::uint16_t count = 0;
  bytes addresses;     // count x 6 bytes (addresses, addresses_and_values)
  bytes values;        // the values (values, addresses_and_values)
  bytes return_codes;  // count bytes (return_codes)
};
// Errors: truncated, userdata_bad_item_count (a count the items do not fill exactly),
// data_fill_nonzero, and in a value data_bad_return_code, data_error_item_has_data,
// data_item_truncated (layer userdata).
[[nodiscard]] result<item_list> parse_item_list(bytes data, list_kind kind,
                                                const std::byte* origin) noexcept;
// Writes | count | (the caller then writes the items with write_item_address / _value).
void write_item_count(writer& w, std::uint16_t count) noexcept;
// Writes the data of a modify / force push: | count | the return codes | fill 00 if odd |
// (value_out_of_range for more than 65535 codes).
void write_return_codes(writer& w, bytes codes) noexcept;

// Walk the items of a list parse_item_list accepted.
class address_iterator {
 public:
  address_iterator(bytes addresses, const std::byte* origin) noexcept
      : rest_(addresses), origin_(origin == nullptr ? addresses.data() : origin) {}
  [[nodiscard]] bool next(item_address& out, std::uint32_t* offset = nullptr) noexcept;

 private:
  bytes rest_;
  const std::byte* origin_;
};
class value_iterator {
 public:
  value_iterator(bytes values, const std::byte* origin) noexcept
      : rest_(values), origin_(origin == nullptr ? values.data() : origin) {}
  [[nodiscard]] bool next(item_value& out) noexcept;

 private:
  bytes rest_;
  const std::byte* origin_;
};

// --- Jobs -------------------------------------------------------------------------------------

// A job of the CPU's job list: the subfunction that set it up and the sequence number of its
// answer. Enable / disable / read job request: | function | sequence |; delete job request:
// | reserved (2) | function | sequence |.
struct job_ref {
  std::uint8_t function = 0;
  std::uint8_t seq = 0;
  bytes reserved;  // delete job: 2 bytes
};
// `subfunction` is the request's (0x0D, 0x0E, 0x11: 2 bytes; 0x0F: 4 bytes).
// Errors: userdata_bad_payload (other sizes, other subfunctions).
[[nodiscard]] result<job_ref> parse_job_ref(std::uint8_t subfunction, bytes data,
                                            const std::byte* origin) noexcept;
void write_job_ref(writer& w, std::uint8_t subfunction, const job_ref& j) noexcept;

// Read job list request: 4 reserved bytes (00 00 00 00 in readDiagData frame 13).
inline constexpr std::size_t read_job_list_request_length = 4;
// Read job list answer: 4 bytes per job | function | sequence | reserved (2) | (readDiagData
// frame 14: 10 03 0000, the job list reading itself).
struct job_entry {
  std::uint8_t function = 0;
  std::uint8_t seq = 0;
  std::uint16_t reserved = 0;
};
inline constexpr std::size_t job_entry_length = 4;
// Errors: userdata_bad_payload (not a multiple of 4 bytes).
[[nodiscard]] result<std::size_t> parse_job_list(bytes data, const std::byte* origin) noexcept;
[[nodiscard]] bool job_entry_at(bytes data, std::size_t index, job_entry& out) noexcept;
void write_job_entry(writer& w, const job_entry& e) noexcept;

// Replace job request: | reserved (2) | function | sequence | parameter size | data size |
// parameter | data | (the new job, a frame of subfunction `function`).
struct replace_job {
  bytes reserved;
  std::uint8_t function = 0;
  std::uint8_t seq = 0;
  frame job;
};
// Errors: truncated, userdata_tis_bad_size.
[[nodiscard]] result<replace_job> parse_replace_job(bytes data, const std::byte* origin) noexcept;

// --- Block status ----------------------------------------------------------------------------

// Block status request data. v2 (0x13): | flags | line count | reserved | registers |
// line count x (line address (u16) | reserved | registers) |; v1 (0x01): | reserved | registers
// | (size - 2) / 2 x (reserved | registers) |. The register byte asks for STW (bit 0), ACCU1,
// ACCU2, AR1, AR2, DB1, DB2 (bit 6).
struct block_status_request {
  bool v2 = false;
  std::uint8_t flags = 0;
  std::uint8_t line_count = 0;
  bytes reserved;  // 1 byte
  std::uint8_t registers = 0;
  bytes lines;  // line_count x 4 (v2) or 2 (v1) bytes
};
struct block_status_line {
  std::uint16_t address = 0;  // v2 only
  std::uint8_t reserved = 0;
  std::uint8_t registers = 0;
};
// Errors: truncated, userdata_bad_item_count (lines that do not fill the data).
[[nodiscard]] result<block_status_request> parse_block_status_request(
    bool v2, bytes data, const std::byte* origin) noexcept;
[[nodiscard]] bool block_status_line_at(const block_status_request& r, std::size_t index,
                                        block_status_line& out) noexcept;
void write_block_status_request(writer& w, const block_status_request& r) noexcept;

// Block status push: | start address (u16) | register values of each line (their layout depends
// on the registers the request asked for) |.
struct block_status_push {
  std::uint16_t start_address = 0;
  bytes values;
};
// Errors: truncated.
[[nodiscard]] result<block_status_push> parse_block_status_push(bytes data,
                                                                const std::byte* origin) noexcept;
void write_block_status_push(writer& w, const block_status_push& b) noexcept;

}  // namespace protos7::codec::s7::tis
