// Values of S7 items as an engineer reads and writes them at a terminal, by the item's data type
// (its S7ANY transport size; step7_address.hpp gives the type with the operand):
//
//   BOOL         TRUE / FALSE            (write: 1, 0, true, false)
//   BYTE WORD    42 (16#2A)              (write: 42, 16#2A, 0x2A; negative numbers as two's
//   DWORD                                 complement)
//   CHAR         'A'                     (write: A or 'A')
//   INT DINT     -5                      (signed)
//   REAL         3.5                     (IEEE 754 single)
//   DATE         D#2024-05-01            TOD  TOD#12:30:00.000    TIME  T#1500MS
//   DT           DT#2014-08-20-11:59:43.967
//   S5TIME COUNTER TIMER                 as hex bytes 16#...
//
// An item of several elements ("MB0 BYTE 4") reads as the elements joined by spaces and is
// written the same way ("1 2 3 4"). Numbers on the wire are big-endian, read and written through
// the codec's reader and writer.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protos7/codec/s7_item.hpp"
#include "protos7/status.hpp"

namespace protos7::client {

// The text of the bytes a Read Var answered for `a` (one byte 0/1 for a BIT item). Bytes that do
// not fill the item's elements are shown as hex.
[[nodiscard]] std::string format_value(const codec::s7::any_address& a,
                                       std::span<const std::byte> data);

// The bytes to write to `a` for `text`, or why `text` is not a value of the item's type (a
// number out of range, too many or too few elements, a type written only as hex with the wrong
// length).
[[nodiscard]] status parse_value(const codec::s7::any_address& a, std::string_view text,
                                 std::vector<std::byte>& out);

}  // namespace protos7::client
