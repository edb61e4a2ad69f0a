// Variable specifications: the items of a Read Var / Write Var job parameter (and of cyclic
// data requests).
//
//   +------+----------------+-----------+---------------------------------------+
//   | 0x12 | length of rest | syntax id | length - 1 bytes, by syntax id         |
//   +------+----------------+-----------+---------------------------------------+
//
// S7ANY (0x10), length 10:
//   | transport size | count (u16) | DB number (u16) | area | address (u24) = byte*8+bit |
// DBREAD (0xB0, S7-400), length 1 + 1 + 5n:
//   | number of areas n | n x (length(1), DB(2), start(2)) |
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::s7 {

inline constexpr std::uint8_t var_spec_type = 0x12;
inline constexpr std::uint8_t s7any_length = 10;  // length of rest of an S7ANY item
inline constexpr std::size_t s7any_item_size = 12;

enum class syntax_id : std::uint8_t {
  s7any = 0x10,
  pbc_r_id = 0x13,
  alarm_lockfree = 0x15,
  alarm_ind = 0x16,
  alarm_ack = 0x19,
  alarm_queryreq = 0x1A,
  notify_ind = 0x1C,
  nck = 0x82,
  nck_m = 0x83,
  nck_i = 0x84,
  driveesany = 0xA2,
  dbread = 0xB0,
  s1200sym = 0xB2,
};
[[nodiscard]] bool is_known_syntax(std::uint8_t id) noexcept;

enum class area : std::uint8_t {
  data_record = 0x01,
  s200_sysinfo = 0x03,
  s200_sysflags = 0x05,
  s200_analog_in = 0x06,
  s200_analog_out = 0x07,
  peripheral = 0x80,  // P: direct peripheral access
  inputs = 0x81,      // I / E
  outputs = 0x82,     // Q / A
  flags = 0x83,       // M
  db = 0x84,          // DB
  di = 0x85,          // instance DB
  local = 0x86,       // L
  v = 0x87,           // V (S7-200)
  counters = 0x1C,    // C / Z
  timers = 0x1D,      // T
  s200_iec_counters = 0x1E,
  s200_iec_timers = 0x1F,
};
[[nodiscard]] constexpr bool is_known_area(std::uint8_t a) noexcept {
  switch (a) {
    case 0x01:
    case 0x03:
    case 0x05:
    case 0x06:
    case 0x07:
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
    case 0x84:
    case 0x85:
    case 0x86:
    case 0x87:
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x1F:
      return true;
    default:
      return false;
  }
}

enum class transport_size : std::uint8_t {
  bit = 1,
  byte = 2,
  char_ = 3,
  word = 4,
  int_ = 5,
  dword = 6,
  dint = 7,
  real = 8,
  date = 9,
  tod = 10,
  time = 11,
  s5time = 12,
  date_and_time = 15,
  counter = 28,
  timer = 29,
  iec_counter = 30,  // per the Wireshark #defines (its 4.0 value strings show 30/31 swapped)
  iec_timer = 31,
  hs_counter = 32,
};
// Bytes one element of this transport size occupies in the data; 0 for an unknown size.
[[nodiscard]] constexpr std::size_t element_size(std::uint8_t tsize) noexcept {
  switch (static_cast<transport_size>(tsize)) {
    case transport_size::bit:
    case transport_size::byte:
    case transport_size::char_:
      return 1;
    case transport_size::word:
    case transport_size::int_:
    case transport_size::date:
    case transport_size::s5time:
    case transport_size::counter:
    case transport_size::timer:
      return 2;
    case transport_size::dword:
    case transport_size::dint:
    case transport_size::real:
    case transport_size::tod:
    case transport_size::time:
    case transport_size::iec_counter:
    case transport_size::iec_timer:
    case transport_size::hs_counter:
      return 4;
    case transport_size::date_and_time:
      return 8;
  }
  return 0;
}

// An S7ANY address.
struct any_address {
  std::uint8_t tsize = 0;  // transport_size, raw
  std::uint16_t count = 0;
  std::uint16_t db = 0;
  std::uint8_t area = 0;      // area, raw
  std::uint32_t address = 0;  // 24 bits: byte * 8 + bit (timer/counter number for T and C)

  [[nodiscard]] constexpr std::uint32_t byte_offset() const noexcept { return address >> 3U; }
  [[nodiscard]] constexpr std::uint8_t bit() const noexcept {
    return static_cast<std::uint8_t>(address & 7U);
  }
  // Bytes the item addresses: count * element size.
  [[nodiscard]] std::size_t byte_length() const noexcept { return count * element_size(tsize); }
  friend constexpr bool operator==(const any_address&, const any_address&) = default;
};

struct dbread_area {
  std::uint8_t length = 0;
  std::uint16_t db = 0;
  std::uint16_t start = 0;
};

struct var_spec {
  std::uint8_t spec_type = var_spec_type;
  std::uint8_t length = 0;        // length of rest (after this byte)
  std::uint8_t syntax = 0;        // syntax_id, raw
  any_address any;                // syntax s7any
  std::uint8_t dbread_count = 0;  // syntax dbread: the areas are in body after the count byte
  bytes body;                     // the length - 1 bytes after the syntax id
  std::uint32_t offset = 0;       // of the 0x12 byte
};

// NCK (0x82..0x84) address, length 8: | area (3 bits) + unit (5 bits) | column (u16) |
// line (u16) | module | line count |.
struct nck_address {
  std::uint8_t area = 0;
  std::uint8_t unit = 0;
  std::uint16_t column = 0;
  std::uint16_t line = 0;
  std::uint8_t module = 0;
  std::uint8_t line_count = 0;
};
[[nodiscard]] bool decode_nck(const var_spec& v, nck_address& out) noexcept;

// 1200SYM (0xB2): | reserved 0xFF | area1 (u16) | area2 or DB (u16) | CRC (u32) | LIDs (u32)... |
struct sym1200_address {
  std::uint8_t reserved = 0;
  std::uint16_t area1 = 0;
  std::uint16_t area2 = 0;
  std::uint32_t crc = 0;
  bytes lids;  // (length - 10) / 4 big-endian u32 LIDs
};
[[nodiscard]] bool decode_1200sym(const var_spec& v, sym1200_address& out) noexcept;

// DRIVEESANY (0xA2), length 10, drive parameters via routing (Wireshark's field layout):
//   | unknown1 (1) | unknown2 (u16) | unknown3 (u16) | parameter number (u16) | index (u16) |
struct driveesany_address {
  std::uint8_t unknown1 = 0;
  std::uint16_t unknown2 = 0;
  std::uint16_t unknown3 = 0;
  std::uint16_t parameter = 0;
  std::uint16_t index = 0;
};
[[nodiscard]] bool decode_driveesany(const var_spec& v, driveesany_address& out) noexcept;

// Iterates DBREAD areas of a var_spec with syntax dbread.
[[nodiscard]] bool dbread_at(const var_spec& v, std::size_t index, dbread_area& out) noexcept;

struct item_options {
  // Risk: an unknown syntax id cannot be checked beyond its length byte; with this set such items
  // are accepted as opaque (the server then answers them per item). Off: the PDU is rejected.
  bool allow_unknown_syntax = false;
};

// Parses one item at the reader (advancing it). `r` must be bounded to the parameter block.
// Errors: truncated, item_bad_spec_type, item_bad_length, item_unknown_syntax,
// item_dbread_bad_count.
void parse_var_spec(reader& r, var_spec& out, const item_options& opt = {}) noexcept;

// Parses `count` items filling `r` exactly, with fill bytes after odd-sized items that are not
// last. Errors: those of parse_var_spec, param_item_count_mismatch, data_fill_nonzero.
void parse_var_specs(reader& r, std::size_t count, const item_options& opt = {}) noexcept;

// Lazily walks items already validated by parse_var_specs.
class var_spec_iterator {
 public:
  var_spec_iterator() = default;
  // Offsets are measured from `origin`; from the first item when it is null.
  var_spec_iterator(bytes items, std::size_t count, const std::byte* origin) noexcept
      : items_(items), origin_(origin == nullptr ? items.data() : origin), count_(count) {}
  [[nodiscard]] bool next(var_spec& out) noexcept;

 private:
  bytes items_;
  const std::byte* origin_ = nullptr;
  std::size_t count_ = 0;
  std::size_t index_ = 0;
};

// The semantic checks a CPU makes on an S7ANY item, as the item return code it answers with
// (0xFF when fine): 0x05 invalid address for an unknown area, a zero count or a bit address on a
// non-BIT size, 0x06 for an unknown transport size. Kept out of the parser so that the server
// can answer such items one by one instead of rejecting the whole job.
[[nodiscard]] std::uint8_t check_any(const any_address& a) noexcept;

// The memory an S7ANY item addresses: area, DB, first byte, length in bytes, and for a BIT item
// the bit. Offsets of the fields inside the 12-byte item (for the error offsets below):
//   | 0x12 | 10 | 0x10 | tsize (3) | count (4) | DB (6) | area (8) | address (9) |
struct any_extent {
  std::uint8_t area = 0;          // as sent (a caller that treats DI as DB maps it itself)
  std::uint16_t db = 0;           // DB / DI number; 0 for every other area
  std::uint32_t byte_offset = 0;  // first byte
  std::uint32_t length = 0;       // bytes, never 0
  bool bit_item = false;          // transport size BIT: one bit of one byte (length 1)
  std::uint8_t bit = 0;           // its bit number 0..7

  [[nodiscard]] constexpr std::uint32_t end() const noexcept { return byte_offset + length; }
  [[nodiscard]] constexpr std::uint8_t bit_mask() const noexcept {
    return bit_item ? static_cast<std::uint8_t>(1U << bit) : std::uint8_t{0};
  }
  friend constexpr bool operator==(const any_extent&, const any_extent&) = default;
};

// The byte extent of an S7ANY item, as a CPU resolves it:
//  - counters (C, 0x1C) and timers (T, 0x1D): the address is the first number and each one is a
//    16-bit word, so bytes [number * 2, (number + count) * 2) of the area, whatever transport
//    size the item names (a server that insists on COUNTER / TIMER checks that itself);
//  - transport size BIT: one bit, bit (address & 7) of byte (address >> 3); length 1 whatever
//    the count (a CPU answers a BIT item with a count other than 1 with 0x05, the caller's call);
//  - every other transport size: count elements of its size (element_size) from byte
//    address >> 3; the bit part of the address is ignored (check_any flags it).
// It cannot overflow: the address is 24 bits and count * element size at most 65535 * 8, so the
// end stays below 2^26 (static_assert in s7_item.cpp).
// `item_offset` is the offset of the item's 0x12 byte (var_spec::offset) for the error offsets.
// Errors: item_bad_transport_size (a size element_size does not know, not for C / T; at +3),
// item_zero_length (count 0, at +4).
[[nodiscard]] result<any_extent> extent(const any_address& a,
                                        std::uint32_t item_offset = 0) noexcept;

// Writes an S7ANY item (12 bytes).
void write_any(writer& w, const any_address& a) noexcept;
// Re-encodes a decoded variable specification of any syntax as it was sent:
// | 0x12 | length | syntax id | body |, with length = 1 + body size (encode(parse(b)) == b).
// value_out_of_range when the body does not fit the length byte.
void write_var_spec(writer& w, const var_spec& v) noexcept;
// Writes a DBREAD item: | 0x12 | 1 + 1 + 5n | 0xB0 | n | n x (length, DB, start) | (1..50 areas;
// value_out_of_range otherwise, as the length of rest is one byte).
void write_dbread(writer& w, std::span<const dbread_area> areas) noexcept;
// Writes an NCK item (`syntax` 0x82, 0x83 or 0x84; value_out_of_range otherwise, and for an area
// above 7 or a unit above 31).
void write_nck(writer& w, std::uint8_t syntax, const nck_address& a) noexcept;
// Writes a DRIVEESANY item (12 bytes).
void write_driveesany(writer& w, const driveesany_address& a) noexcept;
// Writes a 1200SYM item; value_out_of_range unless the LIDs are 1..61 words of 4 bytes.
void write_1200sym(writer& w, const sym1200_address& a) noexcept;
// The area of a data record item (S7ANY with area 0x01, RDREC): count, DB and address are then
// the maximum length (MLEN), the record index and the diagnostic address (ID).
inline constexpr std::uint8_t data_record_area = 0x01;

}  // namespace protos7::codec::s7
