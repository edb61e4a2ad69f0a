#include "protos7/client/value_text.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "protos7/codec/reader.hpp"
#include "protos7/codec/s7_value.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::client {

namespace s7 = codec::s7;
using codec::bytes;
using s7::transport_size;

namespace {

constexpr std::chrono::sys_days s7_epoch{std::chrono::year{1990} / 1 / 1};  // DATE counts days

std::string hex_bytes(bytes b) {
  std::string s = "16#";
  for (const std::byte x : b) s += fmt::format("{:02X}", std::to_integer<unsigned>(x));
  return s;
}

// One element of `ts` (element_size bytes) as text.
std::string format_element(transport_size ts, bytes e) {
  codec::reader r{e, codec::layer::s7_data};
  switch (ts) {
    case transport_size::bit:
      return r.u8() != 0 ? "TRUE" : "FALSE";
    case transport_size::byte: {
      const std::uint8_t v = r.u8();
      return fmt::format("{} (16#{:02X})", v, v);
    }
    case transport_size::word: {
      const std::uint16_t v = r.u16be();
      return fmt::format("{} (16#{:04X})", v, v);
    }
    case transport_size::dword: {
      const std::uint32_t v = r.u32be();
      return fmt::format("{} (16#{:08X})", v, v);
    }
    case transport_size::char_: {
      const std::uint8_t c = r.u8();
      return c >= 0x20 && c < 0x7F ? fmt::format("'{}'", static_cast<char>(c)) : hex_bytes(e);
    }
    case transport_size::int_:
      return fmt::format("{}", static_cast<std::int16_t>(r.u16be()));
    case transport_size::dint:
      return fmt::format("{}", static_cast<std::int32_t>(r.u32be()));
    case transport_size::real: {
      const std::uint32_t bits = r.u32be();
      float f = 0;
      std::memcpy(&f, &bits, sizeof f);
      return fmt::format("{}", f);
    }
    case transport_size::date: {
      const std::chrono::year_month_day d{s7_epoch + std::chrono::days{r.u16be()}};
      return fmt::format("D#{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                         static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
    }
    case transport_size::tod: {
      const std::uint32_t ms = r.u32be();
      return fmt::format("TOD#{:02}:{:02}:{:02}.{:03}", ms / 3600000U, ms / 60000U % 60U,
                         ms / 1000U % 60U, ms % 1000U);
    }
    case transport_size::time:
      return fmt::format("T#{}MS", static_cast<std::int32_t>(r.u32be()));
    case transport_size::date_and_time: {
      const auto t = s7::value::parse_date_and_time(e, nullptr);
      if (!t) return hex_bytes(e);
      return fmt::format("DT#{:04}-{:02}-{:02}-{:02}:{:02}:{:02}.{:03}", t->year, t->month, t->day,
                         t->hour, t->minute, t->second, t->millisecond);
    }
    default:
      return hex_bytes(e);
  }
}

// A whole number in [lo, hi]: decimal (with a sign), 16#hex or 0xhex.
bool parse_integer(std::string_view s, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  int base = 10;
  if (s.starts_with("16#") || s.starts_with("0x") || s.starts_with("0X")) {
    s.remove_prefix(s[0] == '1' ? 3 : 2);
    base = 16;
  }
  if (s.starts_with('+')) s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size() && out >= lo && out <= hi;
}

struct int_range {
  std::int64_t lo = 0;
  std::int64_t hi = 0;
  unsigned size = 0;  // bytes
};
bool integer_type(transport_size ts, int_range& r) {
  switch (ts) {
    case transport_size::byte:
      r = {-128, 255, 1};
      return true;
    case transport_size::word:
      r = {-32768, 65535, 2};
      return true;
    case transport_size::int_:
      r = {-32768, 32767, 2};
      return true;
    case transport_size::dword:
      r = {INT32_MIN, UINT32_MAX, 4};
      return true;
    case transport_size::dint:
      r = {INT32_MIN, INT32_MAX, 4};
      return true;
    default:
      return false;
  }
}

// Exactly `size` bytes written as 16#HEX (for the types written only so).
status parse_hex_element(std::string_view s, std::size_t size, codec::writer& w) {
  const std::string why =
      fmt::format("'{}' is not {} bytes written as 16#{}", s, size, std::string(size * 2, 'h'));
  if (!s.starts_with("16#") || s.size() != 3 + size * 2) return status::failure(why);
  for (std::size_t i = 3; i < s.size(); i += 2) {
    std::uint8_t b = 0;
    const auto [end, ec] = std::from_chars(s.data() + i, s.data() + i + 2, b, 16);
    if (ec != std::errc{} || end != s.data() + i + 2) return status::failure(why);
    w.u8(b);
  }
  return {};
}

// One element of `ts` from text, appended through `w`; or why not.
status parse_element(transport_size ts, std::string_view s, codec::writer& w) {
  if (ts == transport_size::bit) {
    const bool on = s == "1" || s == "TRUE" || s == "true";
    if (!on && s != "0" && s != "FALSE" && s != "false")
      return status::failure(fmt::format("'{}' is not a BOOL (1, 0, true or false)", s));
    w.u8(on ? 1 : 0);
    return {};
  }
  if (int_range r; integer_type(ts, r)) {
    std::int64_t v = 0;
    if (!parse_integer(s, r.lo, r.hi, v))
      return status::failure(
          fmt::format("'{}' is not a whole number from {} to {}", s, r.lo, r.hi));
    for (unsigned i = r.size; i-- > 0;) w.u8(static_cast<std::uint8_t>((v >> (8 * i)) & 0xFF));
    return {};
  }
  if (ts == transport_size::char_) {
    if (s.size() == 3 && s.front() == '\'' && s.back() == '\'') s = s.substr(1, 1);
    if (s.size() != 1) return status::failure(fmt::format("'{}' is not one character", s));
    w.u8(static_cast<std::uint8_t>(s[0]));
    return {};
  }
  if (ts == transport_size::real) {
    float f = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), f);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
      return status::failure(fmt::format("'{}' is not a REAL number", s));
    std::uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    w.u32be(bits);
    return {};
  }
  return parse_hex_element(s, s7::element_size(static_cast<std::uint8_t>(ts)), w);
}

}  // namespace

std::string format_value(const s7::any_address& a, std::span<const std::byte> data) {
  const auto ts = static_cast<transport_size>(a.tsize);
  const std::size_t size = ts == transport_size::bit ? 1 : s7::element_size(a.tsize);
  if (size == 0 || data.size() % size != 0 || data.empty()) return hex_bytes(data);
  std::string out;
  for (std::size_t i = 0; i < data.size(); i += size) {
    if (i > 0) out += ' ';
    out += format_element(ts, data.subspan(i, size));
  }
  return out;
}

status parse_value(const s7::any_address& a, std::string_view text, std::vector<std::byte>& out) {
  const auto ts = static_cast<transport_size>(a.tsize);
  const std::size_t size = ts == transport_size::bit ? 1 : s7::element_size(a.tsize);
  if (size == 0) return status::failure("the item's data type has no values to write");
  std::vector<std::string_view> elements;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t end = std::min(text.find_first_of(" ,", i), text.size());
    if (end > i) elements.push_back(text.substr(i, end - i));
    i = end + 1;
  }
  const std::size_t count = ts == transport_size::bit ? 1 : a.count;
  if (elements.size() != count)
    return status::failure(
        fmt::format("the item holds {} element(s), the value gives {}", count, elements.size()));
  out.assign(size * count, std::byte{0});
  codec::writer w{out};
  for (const std::string_view e : elements)
    if (status st = parse_element(ts, e, w); !st) return st;
  return w.finish() ? status{} : status::failure("the value does not fit the item");
}

}  // namespace protos7::client
