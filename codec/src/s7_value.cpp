#include "protos7/codec/s7_value.hpp"

namespace protos7::codec::s7::value {

namespace {
// Two BCD digits of v (0..99); value_out_of_range above.
void bcd2(writer& w, unsigned v) noexcept {
  if (v > 99U) w.range_error();
  w.u8(static_cast<std::uint8_t>((((v / 10U) % 10U) << 4U) | (v % 10U)));
}
}  // namespace

result<string_value> parse_string(bytes in, const std::byte* origin, string_options opt) noexcept {
  reader r{in, origin == nullptr ? in.data() : origin, layer::s7_value};
  const std::uint32_t at = r.offset();
  string_value s;
  s.max_length = r.u8();
  s.length = r.u8();
  if (!r.ok()) return r.err();
  s.chars = r.rest();
  if (!opt.lenient_header) {
    if (s.max_length != s.chars.size())
      return error{errc::value_string_bad_max_length, layer::s7_value, at, 0};
    if (s.length > s.max_length)
      return error{errc::value_string_too_long, layer::s7_value, at + 1, 0};
  }
  return s;
}

void write_string(writer& w, std::size_t max_length, bytes text) noexcept {
  if (max_length > max_string_length || text.size() > max_length) w.range_error();
  w.u8(static_cast<std::uint8_t>(max_length));
  w.u8(static_cast<std::uint8_t>(text.size()));
  w.raw(text);
  if (text.size() < max_length) w.zeros(max_length - text.size());
}

date_and_time read_date_and_time(reader& r, errc bad) noexcept {
  const std::uint32_t at = r.offset();
  date_and_time t;
  const int y = bcd_digits(r.u8());
  const int mo = bcd_digits(r.u8());
  const int d = bcd_digits(r.u8());
  const int h = bcd_digits(r.u8());
  const int mi = bcd_digits(r.u8());
  const int s = bcd_digits(r.u8());
  const int ms_hi = bcd_digits(r.u8());
  const std::uint8_t last = r.u8();
  if (!r.ok()) return t;
  const int ms_lo = last >> 4U;
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      s < 0 || s > 59 || ms_hi < 0 || ms_lo > 9) {
    r.fail_at(bad, at);
    return t;
  }
  // Wireshark and the CPUs: a two-digit year below 90 is 20xx.
  t.year = static_cast<std::uint16_t>(y < 90 ? 2000 + y : 1900 + y);
  t.month = static_cast<std::uint8_t>(mo);
  t.day = static_cast<std::uint8_t>(d);
  t.hour = static_cast<std::uint8_t>(h);
  t.minute = static_cast<std::uint8_t>(mi);
  t.second = static_cast<std::uint8_t>(s);
  t.millisecond = static_cast<std::uint16_t>(ms_hi * 10 + ms_lo);
  t.weekday = last & 0x0FU;
  return t;
}

result<date_and_time> parse_date_and_time(bytes in, const std::byte* origin) noexcept {
  reader r{in, origin == nullptr ? in.data() : origin, layer::s7_value};
  const date_and_time t = read_date_and_time(r);
  if (!r.expect_end()) return r.err();
  return t;
}

void write_date_and_time(writer& w, const date_and_time& t) noexcept {
  if (t.year < 1990 || t.year > 2089 || t.millisecond > 999 || t.weekday > 0x0F) w.range_error();
  bcd2(w, t.year % 100U);
  bcd2(w, t.month);
  bcd2(w, t.day);
  bcd2(w, t.hour);
  bcd2(w, t.minute);
  bcd2(w, t.second);
  bcd2(w, (t.millisecond / 10U) % 100U);
  w.u8(static_cast<std::uint8_t>(((t.millisecond % 10U) << 4U) | (t.weekday & 0x0FU)));
}

}  // namespace protos7::codec::s7::value
