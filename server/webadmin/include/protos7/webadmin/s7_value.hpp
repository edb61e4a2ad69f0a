// The S7 data types the web admin shows and edits, and how their values look in memory
// (big-endian, as an S7-300/400 stores them), in the JSON API and in Siemens literal notation.
//
//   type           bytes  JSON value                       display (Siemens literal)
//   BOOL           bit    true / false                     TRUE / FALSE
//   BYTE           1      0..255                           16#2A
//   CHAR           1      "A" (one character U+0000-U+00FF) 'A'
//   WORD           2      0..65535                         16#002A
//   INT            2      -32768..32767                    42
//   DWORD          4      0..4294967295                    16#0000002A
//   DINT           4      -2147483648..2147483647          42
//   REAL           4      number (IEEE 754 single)         21.5
//   SINT USINT     1      -128..127, 0..255                 42
//   UINT UDINT     2, 4   0..65535, 0..4294967295           42
//   LINT           8      -2^63..2^63-1                     42
//   ULINT          8      0..2^64-1                         42
//   LWORD          8      0..2^64-1                         16#000000000000002A
//   LREAL          8      number (IEEE 754 double)          21.5
//   STRING[n]      n+2    "text" (<= n characters)         text    | max len | act len | n chars |
//   TIME           4      milliseconds (signed 32 bit)     T#1d2h3m4s5ms
//   DATE           2      "2024-03-05" (days since 1990-01-01) D#2024-03-05
//   TIME_OF_DAY    4      "12:34:56.789" (ms since midnight)   TOD#12:34:56.789
//   DATE_AND_TIME  8      "2024-03-05T12:34:56.789" (BCD)  DT#2024-03-05-12:34:56.789
//   S5TIME         2      milliseconds (time base + 3 BCD digits) S5T#2s340ms
//
// Characters of CHAR and STRING are single bytes; the API maps byte b <-> code point U+00bb
// (ISO 8859-1), so every byte round-trips and any other character is refused.
// DATE_AND_TIME (STEP 7 "DT"): BCD bytes year (90-99 = 199x, 00-89 = 20xx), month, day, hour,
// minute, second, ms/10, then ms%10 in the high nibble and the weekday (1 = Sunday) in the low.
// S5TIME: bits 13-12 time base (0 = 10 ms, 1 = 100 ms, 2 = 1 s, 3 = 10 s), bits 11-0 three BCD
// digits; the encoder picks the finest base that holds the value exactly and refuses the rest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protos7/store/s7_type.hpp"

namespace protos7::webadmin {

// The type table is protos7::store's (server/store/include/protos7/store/s7_type.hpp).
using store::max_string_length;
using store::parse_type;
using store::s7_kind;
using store::type_names;
using store::type_spec;

// The absolute address in STEP 7 notation: DB200.DBX26.0 (BOOL), DB200.DBB4, DB200.DBW0,
// DB200.DBD2, and for STRING / DATE_AND_TIME the ANY pointer P#DB200.DBX4.0 BYTE 22.
[[nodiscard]] std::string siemens_address(std::uint16_t db, const type_spec& t,
                                          std::size_t byte_offset, std::uint8_t bit_offset);

struct decoded_value {
  nlohmann::json value;  // null when the bytes are not a valid value of the type
  std::string display;   // Siemens literal (or "invalid ..." text)
};

// Decodes `bytes` (exactly t.size() bytes; for BOOL the byte holding bit `bit`).
[[nodiscard]] decoded_value decode_value(const type_spec& t, std::span<const std::byte> bytes,
                                         std::uint8_t bit = 0);

struct encoded_value {
  std::vector<std::byte> bytes;  // t.size() bytes; for BOOL one byte 0x00 / 0x01 (the bit value)
  std::string error;             // non-empty: refused, with a sentence saying why
  [[nodiscard]] bool ok() const noexcept { return error.empty(); }
};

// Encodes a JSON value (the forms of the table above; TIME / S5TIME also accept their literals
// as strings, DATE / TIME_OF_DAY / DATE_AND_TIME accept them with or without the D#, TOD#, DT#
// prefix). Wrong JSON types and out-of-range values are refused, never clamped.
[[nodiscard]] encoded_value encode_value(const type_spec& t, const nlohmann::json& v);
// What a JSON value is, for error texts: "null", "a boolean", "a number", "a string", ...
[[nodiscard]] std::string json_kind(const nlohmann::json& v);

// Parses a value written as text (CSV import): TRUE/FALSE/1/0, decimal or 16#/2# numbers,
// numbers with a decimal point, literals (T#, S5T#, D#, TOD#, DT#), text for CHAR and STRING.
// Returns the JSON form encode_value() takes, or nullopt with `why`.
[[nodiscard]] std::optional<nlohmann::json> parse_value_text(const type_spec& t,
                                                             std::string_view text,
                                                             std::string& why);

// Latin-1 bytes <-> UTF-8 text (the CHAR / STRING mapping above). latin1_from_utf8 returns
// nullopt for invalid UTF-8 or a code point above U+00FF.
[[nodiscard]] std::string utf8_from_latin1(std::span<const std::byte> bytes);
[[nodiscard]] std::optional<std::string> latin1_from_utf8(std::string_view utf8);

// Calendar helpers (proleptic Gregorian), exposed for the tests.
[[nodiscard]] std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept;
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) noexcept;

}  // namespace protos7::webadmin
