// STEP 7 operand notation for S7ANY addresses: what an engineer types and reads ("DB1.DBW0",
// "MW10", "I0.1") turned into the S7ANY item a Read/Write Var job carries, and back.
//
//   operand                   area      transport size, count   S7ANY address (byte*8+bit)
//   DB1.DBX4.0                DB 1      BIT, 1                  4*8+0
//   DB1.DBB0 / DBW0 / DBD0    DB 1      BYTE / WORD / DWORD, 1  0
//   DI5.DIX0.1, DI5.DIW2      DI 5      (instance DB)
//   I0.0 IB0 IW0 ID0          I (0x81)  (German: E0.0 EB0 EW0 ED0)
//   Q1.7 QB1 QW2 QD4          Q (0x82)  (German: A1.7 AB1 AW2 AD4)
//   M10.3 MB0 MW10 MD4        M (0x83)
//   PIB0 PIW256 PQD4          P (0x80)  (PEW/PAW; PB/PW/PD when in or out is not known)
//   LB0, VB0 ...              L (0x86), V (0x87, S7-200)
//   C5 (Z5), T3               counters / timers: COUNTER / TIMER, the number as address
//
// A suffix " TYPE [count]" gives the data type and count of an ANY pointer, with the byte
// address as its start: "MB0 BYTE 4", "DB1.DBB0 REAL 2", "MB10 INT", "C0 COUNTER 4".
// STEP 7's own ANY pointer "P#DB1.DBX0.0 BYTE 10" is read too (and written when the start
// has a bit number, which only BOOL items may have). TYPE is one of BOOL BYTE CHAR WORD INT
// DWORD DINT REAL DATE TOD (TIME_OF_DAY) TIME S5TIME DT (DATE_AND_TIME) COUNTER TIMER.
// Letters may be lower case; numbers are decimal.
//
// Parsing allocates nothing; errors are {code, layer step7_text, offset of the character}.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protos7/codec/error.hpp"
#include "protos7/codec/s7_item.hpp"

namespace protos7::codec::step7 {

// Largest byte address an S7ANY address holds (24 bits = byte * 8 + bit).
inline constexpr std::uint32_t max_byte_address = 0xFFFFFFU >> 3U;
// The longest text format() writes: "P#DI65535.DIX2097151.7 DATE_AND_TIME 65535" fits.
inline constexpr std::size_t max_text_length = 48;

// Parses an operand (with an optional " TYPE [count]" suffix or as "P#... TYPE count").
// Errors (layer step7_text, offset = the character): address_syntax (not an operand: an unknown
// area, a missing number or '.', characters left over), address_out_of_range (DB number 0 or
// above 65535, bit above 7, byte address above max_byte_address, count 0 or above 65535,
// counter/timer number above 65535), address_bad_type (an unknown TYPE, a bit operand with a
// TYPE other than BOOL, a BOOL suffix on a byte operand).
[[nodiscard]] result<s7::any_address> parse(std::string_view text) noexcept;

// Writes the notation of `a` into `out` (at most max_text_length characters) and returns the
// number written; 0 when `a` has no STEP 7 form (an area or transport size STEP 7 does not
// name) or `out` is too small. parse(format(a)) == a for every address format() writes.
[[nodiscard]] std::size_t format(const s7::any_address& a, std::span<char> out) noexcept;

// format() into a value that carries its own storage (for logs and printing).
struct text {
  std::array<char, max_text_length> chars{};
  std::size_t size = 0;
  [[nodiscard]] std::string_view view() const noexcept { return {chars.data(), size}; }
  [[nodiscard]] bool empty() const noexcept { return size == 0; }
};
[[nodiscard]] text to_text(const s7::any_address& a) noexcept;

// The STEP 7 name of a transport size ("WORD", "REAL", ...); "" for one STEP 7 does not name.
[[nodiscard]] std::string_view type_name(std::uint8_t tsize) noexcept;

}  // namespace protos7::codec::step7
