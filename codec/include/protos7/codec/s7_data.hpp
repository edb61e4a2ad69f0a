// Data items: the data block of a Write Var job, a Read Var Ack_Data and cyclic data.
//
//   +-------------+----------------+--------------+------------------+----------------+
//   | return code | transport size | length (u16) | data (ceil bytes) | fill 0x00 if   |
//   |             | (data side)    | bits or bytes|                   | odd, not last  |
//   +-------------+----------------+--------------+------------------+----------------+
//
// The length counts bits for transport sizes BIT, BYTE/WORD/DWORD and INTEGER, bytes otherwise.
// In a Read Var response an item with an error return code is 4 bytes: rc, 0x00, 0x0000.
// A Write Var Ack_Data's data block is one return code byte per item.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::s7 {

struct var_spec;

namespace return_code {
inline constexpr std::uint8_t reserved = 0x00;  // what Step 7 and snap7 put in write requests
inline constexpr std::uint8_t hardware_error = 0x01;
inline constexpr std::uint8_t access_denied = 0x03;
inline constexpr std::uint8_t invalid_address = 0x05;
inline constexpr std::uint8_t type_not_supported = 0x06;
inline constexpr std::uint8_t type_inconsistent = 0x07;
inline constexpr std::uint8_t object_does_not_exist = 0x0A;
inline constexpr std::uint8_t success = 0xFF;
}  // namespace return_code
[[nodiscard]] constexpr bool is_known_return_code(std::uint8_t rc) noexcept {
  switch (rc) {
    case 0x00:
    case 0x01:
    case 0x03:
    case 0x05:
    case 0x06:
    case 0x07:
    case 0x0A:
    case 0xFF:
      return true;
    default:
      return false;
  }
}

enum class data_tsize : std::uint8_t {
  null = 0x00,
  bit = 0x03,
  byte_word_dword = 0x04,
  integer = 0x05,
  dinteger = 0x06,
  real = 0x07,
  octet_string = 0x09,
  nck_address1 = 0x11,
  nck_address2 = 0x12,
};
[[nodiscard]] constexpr bool is_known_data_tsize(std::uint8_t ts) noexcept {
  switch (ts) {
    case 0x00:
    case 0x03:
    case 0x04:
    case 0x05:
    case 0x06:
    case 0x07:
    case 0x09:
    case 0x11:
    case 0x12:
      return true;
    default:
      return false;
  }
}
[[nodiscard]] constexpr bool length_in_bits(std::uint8_t ts) noexcept {
  return ts == 0x03 || ts == 0x04 || ts == 0x05;
}
// Byte count of the data that a length field describes.
[[nodiscard]] constexpr std::size_t data_bytes(std::uint8_t ts, std::uint16_t length) noexcept {
  return length_in_bits(ts) ? (std::size_t{length} + 7U) / 8U : length;
}
// The data transport size a CPU answers for a parameter transport size (Read Var response):
// BIT 0x03; BYTE, WORD, DWORD, DATE, TOD, TIME, S5TIME, DATE_AND_TIME 0x04; INT, DINT 0x05;
// REAL 0x07; CHAR, COUNTER, TIMER (and the S7-200 IEC / HS counters and timers) 0x09. The
// evidence of each row is in docs/TRANSPORT_SIZES.md.
[[nodiscard]] constexpr std::uint8_t data_tsize_for(std::uint8_t param_tsize) noexcept {
  // What S7-300/400 CPUs answer: captured for BIT, BYTE, WORD, DWORD, REAL, COUNTER and TIMER,
  // snap7's server for the others (docs/TRANSPORT_SIZES.md).
  switch (static_cast<transport_size>(param_tsize)) {
    case transport_size::bit:
      return static_cast<std::uint8_t>(data_tsize::bit);
    case transport_size::int_:
    case transport_size::dint:
      return static_cast<std::uint8_t>(data_tsize::integer);
    case transport_size::real:
      return static_cast<std::uint8_t>(data_tsize::real);
    case transport_size::char_:
    case transport_size::counter:
    case transport_size::timer:
    case transport_size::iec_counter:
    case transport_size::iec_timer:
    case transport_size::hs_counter:
      return static_cast<std::uint8_t>(data_tsize::octet_string);
    default:
      return static_cast<std::uint8_t>(data_tsize::byte_word_dword);
  }
}

struct data_item {
  std::uint8_t return_code = 0;
  std::uint8_t tsize = 0;    // data_tsize, raw
  std::uint16_t length = 0;  // the length field as sent (bits or bytes)
  bytes data;                // the data bytes
  bool has_fill = false;
  std::uint32_t offset = 0;  // of the return code byte
};

enum class data_kind : std::uint8_t {
  read_response,  // items may be error items (4 bytes, no data)
  write_request,  // return code 0x00 (or 0xFF as PLC4X sends)
  push,           // cyclic/pushed data: like read_response
};

struct data_options {
  // Risk: some clients omit the fill byte; accepting it makes item boundaries ambiguous.
  bool allow_missing_fill = false;
  // A fill byte of any value is skipped. snap7's client (s7_micro_client.cpp, opWriteMultiVars)
  // skips the fill byte without writing it, so it carries whatever its PDU buffer held before;
  // CPUs accept those writes. Risk: none for framing (the byte is still required and skipped),
  // only a stricter check of the sender is lost. Takes precedence over allow_missing_fill.
  bool allow_nonzero_fill = false;
};

// Validates `count` items that fill `r` exactly.
// Errors: data_item_truncated, data_fill_missing, data_fill_nonzero, data_bad_transport_size,
// data_error_item_has_data, data_bad_return_code, param_item_count_mismatch, trailing_bytes.
void parse_data_items(reader& r, std::size_t count, data_kind kind,
                      const data_options& opt = {}) noexcept;

// Reads `count` items at `r` and stops after the last one: what follows belongs to the caller
// (the associated values inside an alarm message). Errors: those of parse_data_items but
// trailing_bytes.
void read_data_items(reader& r, std::size_t count, data_kind kind,
                     const data_options& opt = {}) noexcept;

// Lazily walks data items already validated by parse_data_items.
class data_item_iterator {
 public:
  data_item_iterator() = default;
  // Offsets are measured from `origin`; from the first item when it is null.
  data_item_iterator(bytes data, std::size_t count, const std::byte* origin,
                     data_options opt = {}) noexcept
      : data_(data), origin_(origin == nullptr ? data.data() : origin), count_(count), opt_(opt) {}
  [[nodiscard]] bool next(data_item& out) noexcept;

 private:
  bytes data_;
  const std::byte* origin_ = nullptr;
  std::size_t count_ = 0;
  std::size_t index_ = 0;
  data_options opt_{};
};

// Writes one item: rc, tsize, the length field (bits or bytes as tsize demands), data, and a fill
// byte when the data is odd and `last` is false. An error item (rc other than 0xFF and 0x00, the
// two codes that carry data) writes rc 00 0000. A BIT item carries one bit in one byte: BIT data
// longer than one byte has no encoding (its length field counts bits) and is value_out_of_range.
void write_data_item(writer& w, std::uint8_t rc, std::uint8_t tsize, bytes data,
                     bool last) noexcept;
// Re-encodes a decoded item as it was sent: rc, tsize, the length field as given (not derived
// from the data), data, and a 0x00 fill byte after odd data when `last` is false
// (encode(parse(b)) == b for items with zero fill bytes).
void write_data_item(writer& w, const data_item& d, bool last) noexcept;
// The data item that answers a DBREAD item (an S7-400 Read Var, s7_item.hpp;
// wincc_s400_production.pcapng frames 24 and 25): one item with return code 0xFF, transport size
// 0x09 (octet string, length in bytes), whose data holds for each area of the request
//   | return code | the area's bytes when the code is 0xFF, nothing otherwise |
// with no fill bytes between areas (frame 1210: areas of 13 and 22 bytes, 37 bytes of data).
inline constexpr std::uint8_t dbread_answer_tsize = 0x09;
// Writes the item head for `data_length` bytes of area answers.
void write_dbread_answer_head(writer& w, std::size_t data_length) noexcept;
// Writes one area's answer: the return code, then `data` when it is 0xFF.
void write_dbread_area(writer& w, std::uint8_t rc, bytes data) noexcept;
// Writes the fill byte that follows an odd item that is not the last one.
void write_fill(writer& w, std::size_t data_length, bool last) noexcept;
// The answer of area `index` of DBREAD request `request` inside the answer item's data, whose
// areas are all walked and checked (each 0xFF with its length, or an error code alone; the
// areas fill the data exactly). False when the data does not have that layout.
struct dbread_area_answer {
  std::uint8_t return_code = 0;
  bytes data;
};
[[nodiscard]] bool dbread_answer_at(bytes item_data, const var_spec& request, std::size_t index,
                                    dbread_area_answer& out) noexcept;

// Size an item occupies including its fill byte: what write_data_item writes.
[[nodiscard]] constexpr std::size_t data_item_size(std::uint8_t rc, std::size_t data_size,
                                                   bool last) noexcept {
  if (rc != return_code::success && rc != return_code::reserved) return 4;
  return 4 + data_size + ((data_size & 1U) != 0 && !last ? 1 : 0);
}

}  // namespace protos7::codec::s7
