// Userdata (ROSCTR 7): programmer commands, cyclic data, block functions, CPU functions (SZL,
// messages, alarms), security, time.
//
// Parameter (8 bytes in requests, 12 in responses and pushes):
//   | 00 | 01 | 12 | len of rest (4/8) | method 11/12 | type(hi nibble) group(lo) | subfunction |
//   | sequence number | [data unit ref | last data unit (0 = last) | error code (u16)] |
// Data unit (data block, >= 4 bytes):
//   | return code | transport size | length (u16) | payload ... |
#pragma once

#include <cstddef>
#include <cstdint>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_header.hpp"
#include "protos7/codec/s7_value.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::s7 {

namespace ud {

inline constexpr std::uint8_t method_request = 0x11;
inline constexpr std::uint8_t method_response = 0x12;
inline constexpr std::uint8_t method_pbc_r_id = 0x13;
inline constexpr std::size_t short_param_length = 8;
inline constexpr std::size_t long_param_length = 12;

// A data unit's return code and transport size as the captured CPUs send them: 0xFF with 0x09
// (octet string) before data; 0x0A "object does not exist" (with 0x00 and no data) for a
// request that names nothing there.
inline constexpr std::uint8_t rc_ok = return_code::success;
inline constexpr std::uint8_t rc_none = return_code::object_does_not_exist;
inline constexpr std::uint8_t ts_octet = 0x09;

enum class type : std::uint8_t { push = 0x0, request = 0x4, response = 0x8 };
// NC variants (0x3, 0x7, 0xB) are decoded as such but have no meaning on an S7-300/400.
[[nodiscard]] bool is_known_type(std::uint8_t t) noexcept;

enum class group : std::uint8_t {
  mode_transition = 0x0,
  programmer = 0x1,
  cyclic = 0x2,
  block = 0x3,
  cpu = 0x4,
  security = 0x5,
  pbc = 0x6,
  time = 0x7,
  nc = 0xF,
};

namespace sub {
// block functions
inline constexpr std::uint8_t list_blocks = 0x01;
inline constexpr std::uint8_t list_blocks_of_type = 0x02;
inline constexpr std::uint8_t block_info = 0x03;
// CPU functions
inline constexpr std::uint8_t read_szl = 0x01;
inline constexpr std::uint8_t message_service = 0x02;
// security
inline constexpr std::uint8_t password = 0x01;
// time
inline constexpr std::uint8_t read_clock = 0x01;
inline constexpr std::uint8_t set_clock = 0x02;
inline constexpr std::uint8_t read_clock_following = 0x03;
inline constexpr std::uint8_t set_clock_2 = 0x04;
// cyclic
inline constexpr std::uint8_t cyclic_transfer = 0x01;
inline constexpr std::uint8_t unsubscribe = 0x04;
inline constexpr std::uint8_t change_driven = 0x05;
inline constexpr std::uint8_t change_driven_modify = 0x07;
}  // namespace sub

// The "last data unit" byte: 0x00 = this is the last (or only) unit, 0x01 = more follow.
inline constexpr std::uint8_t last_unit_yes = 0x00;
inline constexpr std::uint8_t last_unit_no = 0x01;

// The mode-transition push a CPU sends to a PG when its mode changes (step7_s300_stop.pcapng
// frame 4, parameter 01 00 10 10 00 00 00 00, no data): the same 8 bytes read with another head,
//   | 01 | 00 | 4 bytes (10 10 00 00) | mode (0 STOP, 2 RUN, ...) | 00 |
// Wireshark 4.0 reads them with the Userdata fields (head 0x010010, length 16, method 0, type and
// group 0, the mode as subfunction, sequence 0); param keeps them in those fields.
inline constexpr std::uint8_t mode_transition_head0 = 0x01;

struct param {
  std::uint8_t head0 = 0;  // 0x00 (0x01: mode transition)
  std::uint8_t head1 = 0x01;
  std::uint8_t head2 = 0x12;
  bool mode_transition = false;  // head 01 00 ..: see mode_transition_head0
  std::uint8_t length = 0;       // length of rest: 4 (short) or 8 (extended)
  std::uint8_t method = 0;       // 0x11 request, 0x12 response
  std::uint8_t type = 0;         // high nibble of byte 5
  std::uint8_t group = 0;        // low nibble of byte 5
  std::uint8_t subfunction = 0;
  std::uint8_t seq = 0;
  bool extended = false;  // data unit ref, last data unit and error code present
  std::uint8_t data_unit_ref = 0;
  std::uint8_t last_data_unit = 0;
  std::uint16_t error_code = 0;
};

struct data_unit {
  std::uint8_t return_code = 0;
  std::uint8_t tsize = 0;
  std::uint16_t length = 0;
  bytes payload;
  std::uint32_t payload_offset = 0;
};

struct message {
  param prm;
  bool has_data = false;
  data_unit data;
};

// Decodes the parameter head and the data unit of a Userdata PDU (a mode-transition push too).
// Errors: s7_missing_param, userdata_bad_head, userdata_bad_length, userdata_bad_method,
// userdata_bad_type, userdata_data_too_short, userdata_data_length_mismatch; for a mode
// transition userdata_bad_length (a parameter other than 8 bytes), param_data_not_allowed.
[[nodiscard]] result<message> parse(const pdu& p) noexcept;

void write_param(writer& w, const param& prm) noexcept;
// Writes | rc | tsize | length | payload |.
void write_data_unit(writer& w, std::uint8_t rc, std::uint8_t tsize, bytes payload) noexcept;
// Writes the head | rc | tsize | length | of a data unit whose `payload_length` bytes are written
// after it separately (in place, by the server). A length over 65535 is value_out_of_range.
inline constexpr std::size_t data_unit_head_length = 4;
void write_data_unit_head(writer& w, std::uint8_t rc, std::uint8_t tsize,
                          std::size_t payload_length) noexcept;

// --- Payloads ---

// Block list response record: 2 ASCII type chars ("08" OB ...) + count.
struct block_count {
  std::uint8_t type_ascii[2]{};
  std::uint8_t block_type = 0;  // decoded from the two hex chars
  std::uint16_t count = 0;
};
// List blocks of type response record.
struct block_entry {
  std::uint16_t number = 0;
  std::uint8_t flags = 0;
  std::uint8_t language = 0;
};
// Walks fixed 4-byte records of a payload.
[[nodiscard]] bool block_count_at(bytes payload, std::size_t index, block_count& out) noexcept;
[[nodiscard]] bool block_entry_at(bytes payload, std::size_t index, block_entry& out) noexcept;
// Writes a List blocks record: the type as two upper-case ASCII hex digits ("0A") and the count
// (s7comm_program_blocklist_onlineview.pcap frame 59: 30 38 00 01 = one OB).
void write_block_count(writer& w, std::uint8_t block_type, std::uint16_t count) noexcept;
// Writes a List blocks of type record: number, flags, language.
void write_block_entry(writer& w, const block_entry& e) noexcept;
// The List blocks of type request: the block type as two ASCII hex digits ("0A").
// Errors: userdata_bad_payload (not two hex digits).
[[nodiscard]] result<std::uint8_t> parse_block_type_request(bytes payload,
                                                            const std::byte* origin) noexcept;
// Writes the List blocks of type request: the two upper-case ASCII hex digits of the type.
void write_block_type_request(writer& w, std::uint8_t block_type) noexcept;

// Get block info response payload (78 bytes), as an S7-300 sends it (capture
// s7comm_program_blocklist_onlineview.pcap frame 137):
//   | block type (u16) | info length (u16, 74) | unknown (u16) | constant "pp" | unknown (1) |
//   | flags | language | sub-block type | number (u16) | load memory length (u32) |
//   | security (u32) | code timestamp (6) | interface timestamp (6) | SSB length (u16) |
//   | ADD length (u16) | local data length (u16) | MC7 length (u16) | author (8) | family (8) |
//   | name (8) | version (1) | unknown (1) | checksum (u16) | reserved (u32) | reserved (u32) |
struct block_info {
  std::uint16_t block_type = 0x0100;
  std::uint16_t info_length = 74;
  std::uint16_t unknown2 = 0;
  std::uint16_t constant3 = 0x7070;  // "pp"
  std::uint8_t unknown1 = 0;
  std::uint8_t flags = 0;
  std::uint8_t language = 0;
  std::uint8_t subblock_type = 0;
  std::uint16_t number = 0;
  std::uint32_t load_memory_length = 0;
  std::uint32_t security = 0;
  bytes code_timestamp;       // 6 bytes: ms since midnight (u32) + days since 1984-01-01 (u16)
  bytes interface_timestamp;  // 6 bytes
  std::uint16_t ssb_length = 0;
  std::uint16_t add_length = 0;
  std::uint16_t local_data_length = 0;
  std::uint16_t mc7_length = 0;
  bytes author;  // 8 bytes
  bytes family;  // 8
  bytes name;    // 8
  std::uint8_t version = 0;
  std::uint8_t unknown3 = 0;
  std::uint16_t checksum = 0;
  std::uint32_t reserved1 = 0;
  std::uint32_t reserved2 = 0;
};
inline constexpr std::size_t block_info_length = 78;
// Errors: userdata_bad_payload (wrong size).
[[nodiscard]] result<block_info> parse_block_info(bytes payload, const std::byte* origin) noexcept;
void write_block_info(writer& w, const block_info& b) noexcept;

// BCD date and time of the time functions (Read clock / Set clock): two bytes, then a
// DATE_AND_TIME (s7_value.hpp), read and written by that header's functions:
//   | reserved | year high (BCD) | year low (BCD) | month | day | hour | minute | second |
//   | ms high two digits (BCD) | ms low digit (hi nibble), weekday 1..7 (lo nibble) |
struct timestamp {
  std::uint8_t reserved = 0;
  std::uint8_t year_high = 0;  // as sent (0x19 or 0x20); the year is taken from year low
  std::uint16_t year = 0;      // 1990..2089 (year low < 90 => 20xx)
  std::uint8_t month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::uint16_t millisecond = 0;
  std::uint8_t weekday = 0;  // 1 = Sunday .. 7 = Saturday
  friend constexpr bool operator==(const timestamp&, const timestamp&) = default;
};
inline constexpr std::size_t timestamp_length = 10;
// Errors: userdata_bad_payload (size), userdata_bad_timestamp (non-BCD digit, out of range).
[[nodiscard]] result<timestamp> parse_timestamp(bytes payload, const std::byte* origin) noexcept;
void write_timestamp(writer& w, const timestamp& t) noexcept;
// The DATE_AND_TIME part of a timestamp (its last 8 bytes).
[[nodiscard]] constexpr value::date_and_time date_and_time_of(const timestamp& t) noexcept {
  return {t.year, t.month, t.day, t.hour, t.minute, t.second, t.millisecond, t.weekday};
}

// Cyclic data request (group 2, subfunction 1/5/7):
//   | reserved | item count | time base | interval | items (variable specifications) |
struct cyclic_request {
  std::uint8_t reserved = 0;
  std::uint8_t item_count = 0;
  std::uint8_t timebase = 0;
  std::uint8_t interval = 0;
  bytes items;
};
[[nodiscard]] result<cyclic_request> parse_cyclic_request(bytes payload,
                                                          const std::byte* origin) noexcept;

// PLC password (group 5, subfunction 1): 8 bytes, the ASCII password (space padded) scrambled
// byte-wise: b[0] = c[0] ^ 0x55, b[1] = c[1] ^ 0x55, b[i] = c[i] ^ 0x55 ^ b[i - 2] (what snap7's
// client sends; Wireshark shows the bytes raw).
inline constexpr std::size_t password_length = 8;
void scramble_password(std::span<const std::uint8_t, password_length> plain,
                       std::span<std::uint8_t, password_length> out) noexcept;
void unscramble_password(std::span<const std::uint8_t, password_length> scrambled,
                         std::span<std::uint8_t, password_length> out) noexcept;
// The plain password of a PLC password request's data (its 8 scrambled bytes); false, and `out`
// untouched, when the data is not 8 bytes.
[[nodiscard]] bool read_password(bytes data, std::span<std::uint8_t, password_length> out) noexcept;

}  // namespace ud

}  // namespace protos7::codec::s7
