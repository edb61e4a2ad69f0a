// Layouts of S7 data types inside item data and data block memory: the STRING header, the BCD
// DATE_AND_TIME and the bit of a BOOL in its byte. The same bytes appear in Read/Write Var data,
// in DB images and (DATE_AND_TIME) in the clock functions' timestamp (userdata.hpp), which
// reads and writes its last 8 bytes through this header.
//
// STRING[n] (n + 2 bytes):
//   | max length (u8, n) | actual length (u8, <= n) | n characters (unused ones 0 when written) |
//
// DATE_AND_TIME (8 bytes, two BCD digits a byte):
//   offset  field                                     captured
//   (s7comm_reading_setting_plc_time.pcap
//                                                      frame 29, SZL 0x0132 index 8 offset 22)
//   0       year, two digits (90..99 = 19xx, 00..89 = 20xx)    14 = 2014
//   1       month 01..12                                       08
//   2       day 01..31                                         20
//   3       hour 00..23                                        11
//   4       minute 00..59                                      59
//   5       second 00..59                                      43
//   6       millisecond, hundreds and tens                     96
//   7       hi nibble: millisecond units; lo nibble: weekday   74 = 7 ms, weekday 4 (Wednesday)
//           1 = Sunday .. 7 = Saturday
//
// BOOL: one bit of a byte, bit 0 the least significant (DBX n.0 .. n.7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::s7::value {

// --- STRING ------------------------------------------------------------------------------------

inline constexpr std::size_t string_header_length = 2;
// STRING[254] is the longest S7 string (the length bytes are u8 and 255 is reserved).
inline constexpr std::size_t max_string_length = 254;

// A STRING as it lies in memory; `chars` views the bytes after the header (n for a STRING[n]).
struct string_value {
  std::uint8_t max_length = 0;  // header byte 0: the n of STRING[n]
  std::uint8_t length = 0;      // header byte 1: characters in use
  bytes chars;
  // The characters in use, bounded by both header bytes and by the bytes present: what a reader
  // shows of a STRING whose header a program wrote inconsistently.
  [[nodiscard]] constexpr bytes text() const noexcept {
    std::size_t n = length < max_length ? length : max_length;
    if (n > chars.size()) n = chars.size();
    return chars.first(n);
  }
};

struct string_options {
  // Accept a header that disagrees with the bytes given (max length != bytes after the header,
  // actual length > max length) and report it as it is. Risk: the header is then not a length
  // to trust; use text(), which is bounded by all three, never `length` alone.
  bool lenient_header = false;
};

// `in` is the whole STRING (header + characters); offsets are measured from `origin` (from
// in.data() when null).
// Errors (layer s7_value): truncated (fewer than 2 bytes); strict only: value_string_bad_max_length
// at the max length byte (it is not the number of bytes after the header),
// value_string_too_long at the actual length byte (larger than the max length).
[[nodiscard]] result<string_value> parse_string(bytes in, const std::byte* origin,
                                                string_options opt = {}) noexcept;

// Writes a STRING[max_length]: the header, `text`, zeros up to max_length characters.
// value_out_of_range when max_length > 254 or text is longer than max_length.
void write_string(writer& w, std::size_t max_length, bytes text) noexcept;
[[nodiscard]] constexpr std::size_t string_size(std::size_t max_length) noexcept {
  return string_header_length + max_length;
}

// --- DATE_AND_TIME -----------------------------------------------------------------------------

inline constexpr std::size_t date_and_time_length = 8;

struct date_and_time {
  std::uint16_t year = 1990;  // 1990..2089
  std::uint8_t month = 1, day = 1, hour = 0, minute = 0, second = 0;
  std::uint16_t millisecond = 0;
  std::uint8_t weekday = 0;  // 1 = Sunday .. 7 = Saturday, as sent (not checked)
  friend constexpr bool operator==(const date_and_time&, const date_and_time&) = default;
};

// Reads 8 bytes. Errors: truncated; `bad` (value_bad_date_and_time unless the caller's layer has
// its own code) at the first byte when a digit is not BCD, the millisecond units nibble is above
// 9, or a field is out of range (month 1..12, day 1..31, hour 0..23, minute and second 0..59).
// The day is not checked against the month: a CPU's clock is taken as it is.
[[nodiscard]] date_and_time read_date_and_time(reader& r,
                                               errc bad = errc::value_bad_date_and_time) noexcept;
// Exactly 8 bytes (trailing_bytes otherwise), layer s7_value.
[[nodiscard]] result<date_and_time> parse_date_and_time(bytes in, const std::byte* origin) noexcept;
// value_out_of_range when a field has no two-digit BCD form (year outside 1990..2089, any other
// field above 99, millisecond above 999, weekday above 15).
void write_date_and_time(writer& w, const date_and_time& t) noexcept;

// Two BCD digits of a byte; -1 when either nibble is not a decimal digit.
[[nodiscard]] constexpr int bcd_digits(std::uint8_t b) noexcept {
  const int hi = b >> 4U;
  const int lo = b & 0x0F;
  return hi > 9 || lo > 9 ? -1 : hi * 10 + lo;
}

// --- Counter and timer words ------------------------------------------------------------------

// The words of the counter (C) and timer (T) areas, 2 bytes each: a timer holds an S5TIME (bits
// 13-12 the time base, 11-0 three BCD digits), a counter its value 0..999. Neither sets bits
// 15-14: true when no word of `words` does (an odd last byte is a word's high byte).
[[nodiscard]] constexpr bool fits_counter_or_timer(std::span<const std::byte> words) noexcept {
  for (std::size_t i = 0; i < words.size(); i += 2)
    if ((std::to_integer<unsigned>(words[i]) & 0xC0U) != 0) return false;
  return true;
}

// --- BOOL --------------------------------------------------------------------------------------

// Bit `bit` (0..7; the bit number of an S7 address is 3 bits, higher bits are ignored).
[[nodiscard]] constexpr bool get_bit(std::byte b, unsigned bit) noexcept {
  return ((std::to_integer<unsigned>(b) >> (bit & 7U)) & 1U) != 0;
}
[[nodiscard]] constexpr std::byte set_bit(std::byte b, unsigned bit, bool on) noexcept {
  const auto mask = static_cast<std::byte>(1U << (bit & 7U));
  return on ? (b | mask) : (b & ~mask);
}

}  // namespace protos7::codec::s7::value
