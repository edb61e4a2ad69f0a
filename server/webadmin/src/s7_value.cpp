#include "protos7/webadmin/s7_value.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>

#include "protos7/codec/s7_value.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::webadmin {

namespace {

using json = nlohmann::json;
namespace s7v = codec::s7::value;

// DATE counts days from 1990-01-01 in 16 bits: the last one is 2168-12-31.
constexpr std::int64_t date_epoch_days = 7305;  // days_from_civil(1990, 1, 1)
constexpr std::int64_t max_date_days = 65378;   // 2168-12-31
constexpr std::int64_t ms_per_day = 86'400'000;
// S5TIME: 999 units of 10 s.
constexpr std::int64_t max_s5time_ms = 9'990'000;

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  return upper(s.substr(0, prefix.size())) == prefix;
}

// Strips one of the prefixes (case-insensitive, longest first as listed).
std::string_view strip_prefix(std::string_view s,
                              std::initializer_list<std::string_view> prefixes) {
  for (const std::string_view p : prefixes)
    if (iequals_prefix(s, p)) return s.substr(p.size());
  return s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::uint64_t get_be(std::span<const std::byte> b) {
  std::uint64_t v = 0;
  for (const std::byte x : b) v = (v << 8U) | std::to_integer<std::uint64_t>(x);
  return v;
}

std::vector<std::byte> put_be(std::uint64_t v, std::size_t n) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<std::byte>((v >> (8U * (n - 1 - i))) & 0xFFU);
  return out;
}

// "1d2h3m4s5ms"; "0ms" for zero.
std::string duration_text(std::int64_t ms) {
  std::string out;
  std::uint64_t rest =
      ms < 0 ? static_cast<std::uint64_t>(-(ms + 1)) + 1 : static_cast<std::uint64_t>(ms);
  if (ms < 0) out += '-';
  const std::uint64_t d = rest / 86'400'000;
  rest %= 86'400'000;
  const std::uint64_t h = rest / 3'600'000;
  rest %= 3'600'000;
  const std::uint64_t m = rest / 60'000;
  rest %= 60'000;
  const std::uint64_t s = rest / 1000;
  rest %= 1000;
  if (d != 0) out += fmt::format("{}d", d);
  if (h != 0) out += fmt::format("{}h", h);
  if (m != 0) out += fmt::format("{}m", m);
  if (s != 0) out += fmt::format("{}s", s);
  if (rest != 0 || (d == 0 && h == 0 && m == 0 && s == 0)) out += fmt::format("{}ms", rest);
  return out;
}

// Milliseconds of a duration unit (upper case): D, H, M, S, MS.
std::optional<std::int64_t> unit_ms(std::string_view unit) {
  if (unit == "D") return 86'400'000;
  if (unit == "H") return 3'600'000;
  if (unit == "M") return 60'000;
  if (unit == "S") return 1000;
  if (unit == "MS") return 1;
  return std::nullopt;
}

// Parses "1d2h3m4s5ms" (units in any case, '_' between parts allowed, an optional leading '-')
// or a plain number of milliseconds. Limited to +-2^40 ms to stay far from overflow.
std::optional<std::int64_t> parse_duration(std::string_view s, std::string& why) {
  s = trim(s);
  bool neg = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    neg = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) {
    why = "an empty duration";
    return std::nullopt;
  }
  constexpr std::int64_t limit = std::int64_t{1} << 40;
  std::int64_t total = 0;
  bool any_unit = false;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '_') {
      ++i;
      continue;
    }
    if (s[i] < '0' || s[i] > '9') {
      why = fmt::format("'{}' is not a duration like T#1h2m3s4ms or a number of milliseconds", s);
      return std::nullopt;
    }
    std::int64_t n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      n = n * 10 + (s[i] - '0');
      if (n > limit) {
        why = "the duration is far too large";
        return std::nullopt;
      }
      ++i;
    }
    std::size_t j = i;
    while (j < s.size() && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z'))) ++j;
    const std::string unit = upper(s.substr(i, j - i));
    i = j;
    std::int64_t factor = 1;
    if (unit.empty()) {
      if (any_unit || i != s.size()) {
        why = fmt::format("'{}': a number without unit must stand alone (milliseconds)", s);
        return std::nullopt;
      }
    } else if (const auto f = unit_ms(unit)) {
      factor = *f;
    } else {
      why = fmt::format("unknown time unit '{}' (use d, h, m, s, ms)", unit);
      return std::nullopt;
    }
    if (!unit.empty()) any_unit = true;
    total += n * factor;
    if (total > limit) {
      why = "the duration is far too large";
      return std::nullopt;
    }
  }
  return neg ? -total : total;
}

// Parses a run of exactly `digits` decimal digits at s[i].
bool take_digits(std::string_view s, std::size_t& i, std::size_t digits, unsigned& out) {
  if (i + digits > s.size()) return false;
  unsigned v = 0;
  for (std::size_t k = 0; k < digits; ++k) {
    const char c = s[i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  out = v;
  i += digits;
  return true;
}

struct civil_date {
  std::int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
};

bool valid_date(std::int64_t y, unsigned m, unsigned d) {
  if (m < 1 || m > 12 || d < 1) return false;
  std::int64_t yy = 0;
  unsigned mm = 0;
  unsigned dd = 0;
  civil_from_days(days_from_civil(y, m, d), yy, mm, dd);
  return yy == y && mm == m && dd == d;
}

// "YYYY-MM-DD" at s[i].
bool parse_date_at(std::string_view s, std::size_t& i, civil_date& out) {
  unsigned y = 0;
  unsigned m = 0;
  unsigned d = 0;
  if (!take_digits(s, i, 4, y) || i >= s.size() || s[i++] != '-' || !take_digits(s, i, 2, m) ||
      i >= s.size() || s[i++] != '-' || !take_digits(s, i, 2, d))
    return false;
  out = {y, m, d};
  return valid_date(y, m, d);
}

// "HH:MM[:SS[.f{1,3}]]" at s[i] -> ms since midnight.
bool parse_time_at(std::string_view s, std::size_t& i, std::int64_t& ms) {
  unsigned h = 0;
  unsigned m = 0;
  unsigned sec = 0;
  unsigned frac = 0;
  if (!take_digits(s, i, 2, h) || i >= s.size() || s[i++] != ':' || !take_digits(s, i, 2, m))
    return false;
  if (i < s.size() && s[i] == ':') {
    ++i;
    if (!take_digits(s, i, 2, sec)) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      std::size_t n = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9' && n < 3) {
        frac = frac * 10 + static_cast<unsigned>(s[i] - '0');
        ++i;
        ++n;
      }
      if (n == 0) return false;
      while (n < 3) {
        frac *= 10;
        ++n;
      }
    }
  }
  if (h > 23 || m > 59 || sec > 59) return false;
  ms = ((std::int64_t{h} * 60 + m) * 60 + sec) * 1000 + frac;
  return true;
}

std::string tod_text(std::int64_t ms) {
  return fmt::format("{:02}:{:02}:{:02}.{:03}", ms / 3'600'000, ms / 60'000 % 60, ms / 1000 % 60,
                     ms % 1000);
}

std::string date_text(std::int64_t y, unsigned m, unsigned d) {
  return fmt::format("{:04}-{:02}-{:02}", y, m, d);
}

// Shortest text that reads back as the same float.
std::string float_text(float f) {
  return fmt::format("{}", f);
}

// Unicode code point -> UTF-8.
void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {
    out += static_cast<char>(0xC0U | (cp >> 6U));
    out += static_cast<char>(0x80U | (cp & 0x3FU));
  }
}

// Decodes the next UTF-8 code point; false on invalid UTF-8.
bool next_code_point(std::string_view s, std::size_t& i, std::uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  if (b0 < 0x80) {
    cp = b0;
    n = 1;
  } else if ((b0 & 0xE0U) == 0xC0U) {
    cp = b0 & 0x1FU;
    n = 2;
  } else if ((b0 & 0xF0U) == 0xE0U) {
    cp = b0 & 0x0FU;
    n = 3;
  } else if ((b0 & 0xF8U) == 0xF0U) {
    cp = b0 & 0x07U;
    n = 4;
  } else {
    return false;
  }
  if (i + n > s.size()) return false;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0U) != 0x80U) return false;
    cp = (cp << 6U) | (b & 0x3FU);
  }
  // Overlong forms and surrogates are invalid UTF-8.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return false;
  i += n;
  return true;
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  std::size_t i = 0;
  std::uint32_t cp = 0;
  while (i < s.size() && next_code_point(s, i, cp)) ++n;
  return n;
}

struct int_range {
  std::int64_t lo;
  std::int64_t hi;
};

int_range range_of(s7_kind k) {
  switch (k) {
    case s7_kind::byte:
      return {0, 255};
    case s7_kind::word:
      return {0, 65535};
    case s7_kind::integer:
      return {-32768, 32767};
    case s7_kind::dword:
      return {0, 4294967295LL};
    case s7_kind::dinteger:
      return {-2147483648LL, 2147483647LL};
    case s7_kind::time:
      return {-2147483648LL, 2147483647LL};
    case s7_kind::s5time:
      return {0, max_s5time_ms};
    default:
      return {0, 0};
  }
}

// A JSON integer (signed or unsigned); floats with a fraction, strings, booleans are not.
std::optional<std::int64_t> json_integer(const json& v, bool& too_big) {
  too_big = false;
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      too_big = true;
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

encoded_value fail(std::string why) {
  encoded_value e;
  e.error = std::move(why);
  return e;
}

encoded_value ok_bytes(std::vector<std::byte> b) {
  encoded_value e;
  e.bytes = std::move(b);
  return e;
}

std::optional<std::int64_t> parse_int_text(std::string_view s, std::string& why) {
  s = trim(s);
  // B#16#, W#16#, DW#16#, 16#, 2# (bit strings) or a signed decimal number.
  s = strip_prefix(s, {"DW#", "W#", "B#", "L#"});
  int base = 10;
  if (iequals_prefix(s, "16#")) {
    base = 16;
    s.remove_prefix(3);
  } else if (iequals_prefix(s, "2#")) {
    base = 2;
    s.remove_prefix(2);
  }
  std::string digits;
  for (const char c : s)
    if (c != '_') digits += c;
  if (!digits.empty() && digits.front() == '+') digits.erase(0, 1);
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (digits.empty() || ec != std::errc{} || p != digits.data() + digits.size()) {
    why = fmt::format("'{}' is not a whole number", s);
    return std::nullopt;
  }
  return v;
}

// The integer family (BYTE, WORD, DWORD, LWORD, SINT, USINT, INT, UINT, DINT, UDINT, LINT,
// ULINT): signed or not, 1..8 bytes. Values travel as int64 or, above 2^63-1, as uint64.
struct wide_range {
  bool is_signed;
  std::int64_t lo;
  std::uint64_t hi;
};

wide_range wide_range_of(const type_spec& t) {
  const std::size_t bits = t.size() * 8;
  if (t.is_signed()) {
    const std::uint64_t hi = (std::uint64_t{1} << (bits - 1)) - 1;
    return {true, -static_cast<std::int64_t>(hi) - 1, hi};
  }
  return {false, 0,
          bits == 64 ? std::numeric_limits<std::uint64_t>::max() : (std::uint64_t{1} << bits) - 1};
}

bool is_bit_string(s7_kind k) {
  return k == s7_kind::byte || k == s7_kind::word || k == s7_kind::dword || k == s7_kind::lword;
}

decoded_value decode_integer(const type_spec& t, std::uint64_t raw) {
  decoded_value out;
  const std::size_t bits = t.size() * 8;
  if (is_bit_string(t.kind)) {
    out.value = raw;
    out.display = fmt::format("16#{:0{}X}", raw, t.size() * 2);
  } else if (t.is_signed()) {
    const std::uint64_t sign = std::uint64_t{1} << (bits - 1);
    const auto v = bits == 64 ? static_cast<std::int64_t>(raw)
                              : static_cast<std::int64_t>((raw ^ sign) - sign);
    out.value = v;
    out.display = fmt::format("{}", v);
  } else {
    out.value = raw;
    out.display = fmt::format("{}", raw);
  }
  return out;
}

std::optional<json> parse_integer_text(const type_spec& t, std::string_view text,
                                       std::string& why) {
  if (!t.is_signed()) {  // ULINT and LWORD reach 2^64-1: read unsigned first (decimal or 16#)
    std::string_view d = strip_prefix(trim(text), {"LW#", "DW#", "W#", "B#"});
    int base = 10;
    if (iequals_prefix(d, "16#")) {
      base = 16;
      d.remove_prefix(3);
    }
    std::string digits;
    for (const char c : d)
      if (c != '_') digits += c;
    std::uint64_t u = 0;
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
    if (!digits.empty() && ec == std::errc{} && p == digits.data() + digits.size()) return json(u);
  }
  const auto n = parse_int_text(text, why);
  if (!n) return std::nullopt;
  return json(*n);
}

encoded_value encode_integer(const type_spec& t, const json& v) {
  const wide_range r = wide_range_of(t);
  const std::string tn = t.name();
  const auto out_of_range = [&] {
    return fail(fmt::format("{} is out of range for {} ({}..{})", v.dump(), tn, r.lo, r.hi));
  };
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > r.hi) return out_of_range();
    return ok_bytes(put_be(u, t.size()));
  }
  if (v.is_string() && t.size() == 8) {  // 64-bit values as decimal text (browsers hold 53 bits)
    std::string why;
    const auto parsed = parse_integer_text(t, v.get<std::string>(), why);
    if (!parsed) return fail(fmt::format("{}: {}", tn, why));
    return encode_integer(t, *parsed);
  }
  if (!v.is_number_integer())
    return fail(fmt::format("{} takes a whole number, not {}", tn, json_kind(v)));
  const auto n = v.get<std::int64_t>();
  if (n < r.lo || (n > 0 && static_cast<std::uint64_t>(n) > r.hi)) return out_of_range();
  return ok_bytes(put_be(static_cast<std::uint64_t>(n), t.size()));
}

}  // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  // Howard Hinnant's algorithm (chrono-Compatible Low-Level Date Algorithms).
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

std::string siemens_address(std::uint16_t db, const type_spec& t, std::size_t byte_offset,
                            std::uint8_t bit_offset) {
  switch (t.size()) {
    case 1:
      if (t.is_bool()) return fmt::format("DB{}.DBX{}.{}", db, byte_offset, bit_offset);
      return fmt::format("DB{}.DBB{}", db, byte_offset);
    case 2:
      return fmt::format("DB{}.DBW{}", db, byte_offset);
    case 4:
      return fmt::format("DB{}.DBD{}", db, byte_offset);
    default:
      return fmt::format("P#DB{}.DBX{}.0 BYTE {}", db, byte_offset, t.size());
  }
}

std::string utf8_from_latin1(std::span<const std::byte> bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const std::byte b : bytes) append_utf8(out, std::to_integer<unsigned>(b));
  return out;
}

std::optional<std::string> latin1_from_utf8(std::string_view utf8) {
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::uint32_t cp = 0;
    if (!next_code_point(utf8, i, cp) || cp > 0xFF) return std::nullopt;
    out += static_cast<char>(static_cast<unsigned char>(cp));
  }
  return out;
}

namespace {

std::string non_finite_text(double d) {
  return std::isnan(d) ? "NaN" : (d > 0 ? "+inf" : "-inf");
}

decoded_value decode_real(std::uint64_t raw) {
  decoded_value out;
  const float f = std::bit_cast<float>(static_cast<std::uint32_t>(raw));
  if (std::isfinite(f)) {
    out.display = float_text(f);
    // The shortest decimal form, so 0.1f is 0.1 in the JSON and not 0.100000001490116.
    out.value = std::stod(out.display);
  } else {
    out.display = non_finite_text(static_cast<double>(f));
  }
  return out;
}

decoded_value decode_lreal(std::uint64_t raw) {
  decoded_value out;
  const double d = std::bit_cast<double>(raw);
  if (!std::isfinite(d)) {
    out.display = non_finite_text(d);
    return out;
  }
  out.value = d;
  out.display = fmt::format("{}", d);
  return out;
}

decoded_value decode_character(std::span<const std::byte> b, std::uint64_t raw) {
  decoded_value out;
  const auto c = static_cast<unsigned>(raw);  // the one byte
  out.value = utf8_from_latin1(b);
  // Non-printable characters in STEP 7's $hh notation.
  out.display = c >= 0x20 && c != 0x7F && c != '$' && c != '\''
                    ? fmt::format("'{}'", out.value.get<std::string>())
                    : fmt::format("'${:02X}'", c);
  return out;
}

// Shown even when a program wrote a header that disagrees with the declaration: the characters
// bounded by every length, and the header beside them.
decoded_value decode_string(std::span<const std::byte> b) {
  decoded_value out;
  const auto str = s7v::parse_string(b, nullptr, {.lenient_header = true});
  if (!str) return out;
  const std::string s = utf8_from_latin1(str->text());
  out.value = s;
  out.display = s;
  if (!s7v::parse_string(b, nullptr).ok())
    out.display =
        fmt::format("{} (header says max {} / length {})", s, str->max_length, str->length);
  return out;
}

decoded_value decode_s5time(std::uint64_t raw) {
  decoded_value out;
  const auto w = static_cast<unsigned>(raw);
  const unsigned d2 = (w >> 8U) & 0xFU;
  const unsigned d1 = (w >> 4U) & 0xFU;
  const unsigned d0 = w & 0xFU;
  if ((w & 0xC000U) != 0 || d2 > 9 || d1 > 9 || d0 > 9) {
    out.display = fmt::format("invalid S5TIME 16#{:04X}", w);
    return out;
  }
  static constexpr std::int64_t base_ms[] = {10, 100, 1000, 10000};
  const std::int64_t ms = (d2 * 100 + d1 * 10 + d0) * base_ms[(w >> 12U) & 3U];
  out.value = ms;
  out.display = "S5T#" + duration_text(ms);
  return out;
}

decoded_value decode_date_and_time(std::span<const std::byte> b) {
  decoded_value out;
  const auto dt = s7v::parse_date_and_time(b, nullptr);
  if (!dt || !valid_date(dt->year, dt->month, dt->day)) {
    out.display = fmt::format("invalid DATE_AND_TIME 16#{:016X}", get_be(b));
    return out;
  }
  const std::string date = date_text(dt->year, dt->month, dt->day);
  const std::string time =
      fmt::format("{:02}:{:02}:{:02}.{:03}", dt->hour, dt->minute, dt->second, dt->millisecond);
  out.value = date + "T" + time;
  out.display = "DT#" + date + "-" + time;
  return out;
}

// TIME, DATE, TIME_OF_DAY: a number with a literal of its own.
decoded_value decode_time_kind(s7_kind kind, std::uint64_t raw) {
  decoded_value out;
  if (kind == s7_kind::time) {
    const auto v = static_cast<std::int32_t>(static_cast<std::uint32_t>(raw));
    out.value = v;
    out.display = "T#" + duration_text(v);
  } else if (kind == s7_kind::date) {
    std::int64_t y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(date_epoch_days + static_cast<std::int64_t>(raw), y, m, d);
    out.value = date_text(y, m, d);
    out.display = "D#" + out.value.get<std::string>();
  } else if (raw >= static_cast<std::uint64_t>(ms_per_day)) {
    out.display = fmt::format("invalid TIME_OF_DAY ({} ms)", raw);
  } else {
    out.value = tod_text(static_cast<std::int64_t>(raw));
    out.display = "TOD#" + out.value.get<std::string>();
  }
  return out;
}

}  // namespace

std::string json_kind(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_float()) return "a number with a fraction";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

decoded_value decode_value(const type_spec& t, std::span<const std::byte> b, std::uint8_t bit) {
  if (b.size() != t.size()) {
    decoded_value out;
    out.display = "unavailable";
    return out;
  }
  const std::uint64_t raw =
      t.kind == s7_kind::string || t.kind == s7_kind::date_and_time ? 0 : get_be(b);
  if (t.is_integer()) return decode_integer(t, raw);
  switch (t.kind) {
    case s7_kind::lreal:
      return decode_lreal(raw);
    case s7_kind::boolean: {
      decoded_value out;
      const bool v = s7v::get_bit(b.front(), bit);
      out.value = v;
      out.display = v ? "TRUE" : "FALSE";
      return out;
    }
    case s7_kind::character:
      return decode_character(b, raw);
    case s7_kind::real:
      return decode_real(raw);
    case s7_kind::string:
      return decode_string(b);
    case s7_kind::s5time:
      return decode_s5time(raw);
    case s7_kind::date_and_time:
      return decode_date_and_time(b);
    case s7_kind::time:
    case s7_kind::date:
    case s7_kind::time_of_day:
      return decode_time_kind(t.kind, raw);
    default:
      return {};  // the integer family is handled above
  }
}

namespace {

encoded_value encode_real(const type_spec& t, const json& v) {
  if (t.kind == s7_kind::lreal) {
    if (!v.is_number()) return fail(fmt::format("LREAL takes a number, not {}", json_kind(v)));
    const double d = v.get<double>();
    if (!std::isfinite(d)) return fail(fmt::format("{} is not a finite number", v.dump()));
    return ok_bytes(put_be(std::bit_cast<std::uint64_t>(d), 8));
  }
  if (!v.is_number()) return fail(fmt::format("REAL takes a number, not {}", json_kind(v)));
  const double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max()))
    return fail(fmt::format("{} is out of range for REAL (at most ±3.4028235e38)", v.dump()));
  return ok_bytes(put_be(std::bit_cast<std::uint32_t>(static_cast<float>(d)), 4));
}

// CHAR and STRING: ISO 8859-1 characters.
encoded_value encode_text(const type_spec& t, const json& v) {
  const std::string tn = t.name();
  if (!v.is_string()) return fail(fmt::format("{} takes a string, not {}", tn, json_kind(v)));
  const auto& s = v.get_ref<const std::string&>();
  const auto bytes = latin1_from_utf8(s);
  if (!bytes)
    return fail(
        fmt::format("{} holds single-byte characters (U+0000..U+00FF, ISO 8859-1); the text has "
                    "other characters",
                    tn));
  if (t.kind == s7_kind::character) {
    if (bytes->size() != 1)
      return fail(fmt::format("CHAR takes exactly one character, got {}", code_points(s)));
    return ok_bytes({static_cast<std::byte>(static_cast<unsigned char>((*bytes)[0]))});
  }
  if (bytes->size() > t.string_length)
    return fail(
        fmt::format("{} holds at most {} characters, got {}", tn, t.string_length, bytes->size()));
  std::vector<std::byte> out(t.size());
  codec::writer w{out};
  s7v::write_string(w, t.string_length, std::as_bytes(std::span{*bytes}));
  return ok_bytes(std::move(out));
}

// TIME and S5TIME: milliseconds, or a literal (T#1h2m3s, S5T#2s340ms).
encoded_value encode_duration(const type_spec& t, const json& v) {
  const std::string tn = t.name();
  std::int64_t ms = 0;
  bool too_big = false;
  if (const auto n = json_integer(v, too_big)) {
    ms = *n;
  } else if (v.is_string()) {
    std::string why;
    const std::string_view s = strip_prefix(
        trim(v.get_ref<const std::string&>()),
        t.kind == s7_kind::time ? std::initializer_list<std::string_view>{"TIME#", "T#"}
                                : std::initializer_list<std::string_view>{"S5TIME#", "S5T#"});
    const auto d = parse_duration(s, why);
    if (!d) return fail(fmt::format("{}: {}", tn, why));
    ms = *d;
  } else {
    return fail(fmt::format("{} takes milliseconds or a literal like {}, not {}", tn,
                            t.kind == s7_kind::time ? "T#1h2m3s" : "S5T#2s340ms",
                            too_big ? "a number this large" : json_kind(v)));
  }
  const int_range r = range_of(t.kind);
  if (ms < r.lo || ms > r.hi)
    return fail(fmt::format("{} ms is out of range for {} ({}..{} ms)", ms, tn, r.lo, r.hi));
  if (t.kind == s7_kind::time) return ok_bytes(put_be(static_cast<std::uint64_t>(ms), 4));
  // The finest time base holding the value exactly in three BCD digits.
  static constexpr std::int64_t base_ms[] = {10, 100, 1000, 10000};
  for (unsigned base = 0; base < 4; ++base) {
    const std::int64_t unit = base_ms[base];
    if (ms % unit != 0 || ms / unit > 999) continue;
    const auto count = static_cast<unsigned>(ms / unit);
    const unsigned w =
        (base << 12U) | ((count / 100) << 8U) | ((count / 10 % 10) << 4U) | (count % 10);
    return ok_bytes(put_be(w, 2));
  }
  return fail(
      fmt::format("S5TIME cannot hold {} ms exactly: it counts 0..999 units of 10 ms, 100 ms, "
                  "1 s or 10 s (e.g. 9990 ms, 99.9 s = 99900 ms, 999 s, 9990 s)",
                  ms));
}

encoded_value encode_date(const json& v) {
  if (!v.is_string()) return fail(fmt::format("DATE takes \"YYYY-MM-DD\", not {}", json_kind(v)));
  const std::string_view s = strip_prefix(trim(v.get_ref<const std::string&>()), {"DATE#", "D#"});
  civil_date c;
  std::size_t i = 0;
  if (!parse_date_at(s, i, c) || i != s.size())
    return fail(fmt::format("'{}' is not a date like 2024-03-05", s.substr(0, 40)));
  const std::int64_t days = days_from_civil(c.year, c.month, c.day) - date_epoch_days;
  if (days < 0 || days > max_date_days)
    return fail(fmt::format("{} is outside the range of DATE (1990-01-01..2168-12-31)", s));
  return ok_bytes(put_be(static_cast<std::uint64_t>(days), 2));
}

encoded_value encode_time_of_day(const json& v) {
  if (!v.is_string())
    return fail(fmt::format("TIME_OF_DAY takes \"HH:MM:SS.mmm\", not {}", json_kind(v)));
  const std::string_view s =
      strip_prefix(trim(v.get_ref<const std::string&>()), {"TIME_OF_DAY#", "TOD#"});
  std::int64_t ms = 0;
  std::size_t i = 0;
  if (!parse_time_at(s, i, ms) || i != s.size())
    return fail(fmt::format("'{}' is not a time of day like 12:34:56.789", s.substr(0, 40)));
  return ok_bytes(put_be(static_cast<std::uint64_t>(ms), 4));
}

encoded_value encode_date_and_time(const json& v) {
  if (!v.is_string())
    return fail(
        fmt::format("DATE_AND_TIME takes \"YYYY-MM-DDTHH:MM:SS.mmm\", not {}", json_kind(v)));
  const std::string_view s =
      strip_prefix(trim(v.get_ref<const std::string&>()), {"DATE_AND_TIME#", "DT#"});
  civil_date c;
  std::int64_t ms = 0;
  std::size_t i = 0;
  const bool ok = parse_date_at(s, i, c) && i < s.size() &&
                  (s[i] == 'T' || s[i] == 't' || s[i] == ' ' || s[i] == '-') &&
                  parse_time_at(s, ++i, ms) && i == s.size();
  if (!ok)
    return fail(
        fmt::format("'{}' is not a date and time like 2024-03-05T12:34:56.789", s.substr(0, 40)));
  if (c.year < 1990 || c.year > 2089)
    return fail(fmt::format("{} is outside the range of DATE_AND_TIME (1990..2089)", s));
  const std::int64_t days = days_from_civil(c.year, c.month, c.day);
  // 1970-01-01 was a Thursday; S7 counts the weekday 1 = Sunday .. 7 = Saturday.
  const auto weekday = static_cast<unsigned>(((days % 7) + 7 + 4) % 7 + 1);
  const auto msec = static_cast<unsigned>(ms % 1000);
  const auto secs = static_cast<unsigned>(ms / 1000);
  const s7v::date_and_time dt{
      static_cast<std::uint16_t>(c.year),        static_cast<std::uint8_t>(c.month),
      static_cast<std::uint8_t>(c.day),          static_cast<std::uint8_t>(secs / 3600),
      static_cast<std::uint8_t>(secs / 60 % 60), static_cast<std::uint8_t>(secs % 60),
      static_cast<std::uint16_t>(msec),          static_cast<std::uint8_t>(weekday)};
  std::vector<std::byte> out(s7v::date_and_time_length);
  codec::writer w{out};
  s7v::write_date_and_time(w, dt);
  return ok_bytes(std::move(out));
}

}  // namespace

encoded_value encode_value(const type_spec& t, const json& v) {
  if (t.is_integer()) return encode_integer(t, v);
  switch (t.kind) {
    case s7_kind::boolean:
      if (!v.is_boolean())
        return fail(fmt::format("a BOOL takes true or false, not {}", json_kind(v)));
      return ok_bytes({std::byte{static_cast<std::uint8_t>(v.get<bool>() ? 1 : 0)}});
    case s7_kind::real:
    case s7_kind::lreal:
      return encode_real(t, v);
    case s7_kind::character:
    case s7_kind::string:
      return encode_text(t, v);
    case s7_kind::time:
    case s7_kind::s5time:
      return encode_duration(t, v);
    case s7_kind::date:
      return encode_date(v);
    case s7_kind::time_of_day:
      return encode_time_of_day(v);
    case s7_kind::date_and_time:
      return encode_date_and_time(v);
    default:
      return fail("unsupported type");  // the integer family is handled above
  }
}

std::optional<json> parse_value_text(const type_spec& t, std::string_view text, std::string& why) {
  if (t.is_integer()) return parse_integer_text(t, text, why);
  switch (t.kind) {
    case s7_kind::boolean: {
      const std::string u = upper(trim(text));
      if (u == "TRUE" || u == "1") return json(true);
      if (u == "FALSE" || u == "0") return json(false);
      why = fmt::format("'{}' is not a BOOL (TRUE, FALSE, 1 or 0)", text.substr(0, 40));
      return std::nullopt;
    }
    case s7_kind::real:
    case s7_kind::lreal: {
      const std::string s(trim(text));
      double d = 0;
      const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) {
        why = fmt::format("'{}' is not a number", s.substr(0, 40));
        return std::nullopt;
      }
      return json(d);
    }
    case s7_kind::character:
    case s7_kind::string:
      return json(std::string(text));
    case s7_kind::time:
    case s7_kind::s5time: {
      const std::string_view s = trim(text);
      if (!s.empty() && std::all_of(s.begin(), s.end(),
                                    [](char c) { return (c >= '0' && c <= '9') || c == '-'; })) {
        const auto n = parse_int_text(s, why);
        if (!n) return std::nullopt;
        return json(*n);
      }
      return json(std::string(s));
    }
    case s7_kind::date:
    case s7_kind::time_of_day:
    case s7_kind::date_and_time:
      return json(std::string(trim(text)));
    default:
      break;  // the integer family is handled above
  }
  why = "unsupported type";
  return std::nullopt;
}

}  // namespace protos7::webadmin
