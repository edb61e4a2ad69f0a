#include "protos7/codec/userdata.hpp"

#include <array>

#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/s7_value.hpp"

namespace protos7::codec::s7::ud {

namespace {
constexpr std::uint8_t u8_of(std::byte b) noexcept {
  return std::to_integer<std::uint8_t>(b);
}

int hex_digit(std::uint8_t c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool is_known_type(std::uint8_t t) noexcept {
  return t == 0x0 || t == 0x4 || t == 0x8 || t == 0x3 || t == 0x7 || t == 0xB;
}

namespace {
// The mode-transition push: 8 bytes of parameter, no data.
result<message> parse_mode_transition(const pdu& p, reader& r, message& m) noexcept {
  const std::uint32_t at = r.offset() - 3;
  if (p.param.size() != short_param_length)
    return error{errc::userdata_bad_length, layer::userdata, at, 0};
  if (!p.data.empty())
    return error{errc::param_data_not_allowed, layer::userdata, p.data_offset, 0};
  m.prm.mode_transition = true;
  m.prm.length = r.u8();
  m.prm.method = r.u8();
  const std::uint8_t tg = r.u8();
  m.prm.type = tg >> 4U;
  m.prm.group = tg & 0x0FU;
  m.prm.subfunction = r.u8();
  m.prm.seq = r.u8();
  if (!r.ok()) return r.err();
  return m;
}
}  // namespace

result<message> parse(const pdu& p) noexcept {
  message m;
  if (p.param.empty()) return error{errc::s7_missing_param, layer::userdata, p.param_offset, 0};
  reader r{p.param, p.origin, layer::userdata};
  const std::uint32_t at = r.offset();
  m.prm.head0 = r.u8();
  m.prm.head1 = r.u8();
  m.prm.head2 = r.u8();
  if (!r.ok()) return r.err();
  if (m.prm.head0 == mode_transition_head0 && m.prm.head1 == 0x00)
    return parse_mode_transition(p, r, m);
  if (m.prm.head0 != 0x00 || m.prm.head1 != 0x01 || m.prm.head2 != 0x12)
    return error{errc::userdata_bad_head, layer::userdata, at, 0};
  m.prm.length = r.u8();
  if (!r.ok()) return r.err();
  // The length of rest must be 4 or 8 and fill the parameter block exactly.
  if ((m.prm.length != 4 && m.prm.length != 8) || r.remaining() != m.prm.length)
    return error{errc::userdata_bad_length, layer::userdata, at + 3, 0};
  m.prm.method = r.u8();
  if (m.prm.method != method_request && m.prm.method != method_response &&
      m.prm.method != method_pbc_r_id)
    return error{errc::userdata_bad_method, layer::userdata, at + 4, 0};
  const std::uint8_t tg = r.u8();
  m.prm.type = tg >> 4U;
  m.prm.group = tg & 0x0FU;
  if (!is_known_type(m.prm.type)) return error{errc::userdata_bad_type, layer::userdata, at + 5, 0};
  m.prm.subfunction = r.u8();
  m.prm.seq = r.u8();
  if (m.prm.length == 8) {
    m.prm.extended = true;
    m.prm.data_unit_ref = r.u8();
    m.prm.last_data_unit = r.u8();
    m.prm.error_code = r.u16be();
  }
  if (!r.ok()) return r.err();

  if (p.data.empty()) return m;
  reader d{p.data, p.origin, layer::userdata};
  const std::uint32_t dat = d.offset();
  if (p.data.size() < 4) return error{errc::userdata_data_too_short, layer::userdata, dat, 0};
  m.has_data = true;
  m.data.return_code = d.u8();
  m.data.tsize = d.u8();
  m.data.length = d.u16be();
  if (m.data.length != d.remaining())
    return error{errc::userdata_data_length_mismatch, layer::userdata, dat + 2, 0};
  m.data.payload_offset = d.offset();
  m.data.payload = d.rest();
  return m;
}

void write_param(writer& w, const param& prm) noexcept {
  if (prm.mode_transition) {
    w.u8(mode_transition_head0);
    w.u8(0x00);
    w.u8(prm.head2);
    w.u8(prm.length);
    w.u8(prm.method);
    w.u8(static_cast<std::uint8_t>(((prm.type & 0x0FU) << 4U) | (prm.group & 0x0FU)));
    w.u8(prm.subfunction);
    w.u8(prm.seq);
    return;
  }
  w.u8(0x00);
  w.u8(0x01);
  w.u8(0x12);
  w.u8(prm.extended ? 8 : 4);
  w.u8(prm.method);
  w.u8(static_cast<std::uint8_t>(((prm.type & 0x0FU) << 4U) | (prm.group & 0x0FU)));
  w.u8(prm.subfunction);
  w.u8(prm.seq);
  if (prm.extended) {
    w.u8(prm.data_unit_ref);
    w.u8(prm.last_data_unit);
    w.u16be(prm.error_code);
  }
}

void write_data_unit_head(writer& w, std::uint8_t rc, std::uint8_t tsize,
                          std::size_t payload_length) noexcept {
  w.u8(rc);
  w.u8(tsize);
  if (payload_length > 0xFFFF) w.range_error();
  w.u16be(static_cast<std::uint16_t>(payload_length & 0xFFFFU));
}

void write_data_unit(writer& w, std::uint8_t rc, std::uint8_t tsize, bytes payload) noexcept {
  write_data_unit_head(w, rc, tsize, payload.size());
  w.raw(payload);
}

bool block_count_at(bytes payload, std::size_t index, block_count& out) noexcept {
  if (payload.size() % 4U != 0 || index >= payload.size() / 4U) return false;
  const bytes rec = payload.subspan(index * 4U, 4);
  out.type_ascii[0] = u8_of(rec[0]);
  out.type_ascii[1] = u8_of(rec[1]);
  const int hi = hex_digit(out.type_ascii[0]);
  const int lo = hex_digit(out.type_ascii[1]);
  out.block_type = (hi < 0 || lo < 0) ? 0 : static_cast<std::uint8_t>(hi * 16 + lo);
  out.count = static_cast<std::uint16_t>((u8_of(rec[2]) << 8U) | u8_of(rec[3]));
  return true;
}

bool block_entry_at(bytes payload, std::size_t index, block_entry& out) noexcept {
  if (payload.size() % 4U != 0 || index >= payload.size() / 4U) return false;
  const bytes rec = payload.subspan(index * 4U, 4);
  out.number = static_cast<std::uint16_t>((u8_of(rec[0]) << 8U) | u8_of(rec[1]));
  out.flags = u8_of(rec[2]);
  out.language = u8_of(rec[3]);
  return true;
}

void write_block_count(writer& w, std::uint8_t block_type, std::uint16_t count) noexcept {
  static constexpr char hex[] = "0123456789ABCDEF";
  w.u8(static_cast<std::uint8_t>(hex[block_type >> 4U]));
  w.u8(static_cast<std::uint8_t>(hex[block_type & 0x0FU]));
  w.u16be(count);
}

void write_block_entry(writer& w, const block_entry& e) noexcept {
  w.u16be(e.number);
  w.u8(e.flags);
  w.u8(e.language);
}

result<std::uint8_t> parse_block_type_request(bytes payload, const std::byte* origin) noexcept {
  reader r{payload, origin == nullptr ? payload.data() : origin, layer::userdata};
  const std::uint32_t at = r.offset();
  // Leniency: lower-case digits are taken too (protos7 always answered them; no capture shows
  // what a CPU does with them; the risk is only answering a request a CPU might refuse).
  const auto digit = [](std::uint8_t c) {
    return hex_digit(c >= 'a' && c <= 'f' ? static_cast<std::uint8_t>(c - 32) : c);
  };
  const int hi = digit(r.u8());
  const int lo = digit(r.u8());
  if (!r.ok() || !r.empty() || hi < 0 || lo < 0)
    return error{errc::userdata_bad_payload, layer::userdata, at, 0};
  return static_cast<std::uint8_t>(hi * 16 + lo);
}

void write_block_type_request(writer& w, std::uint8_t block_type) noexcept {
  static constexpr char hex[] = "0123456789ABCDEF";
  w.u8(static_cast<std::uint8_t>(hex[block_type >> 4U]));
  w.u8(static_cast<std::uint8_t>(hex[block_type & 0x0FU]));
}

result<block_info> parse_block_info(bytes payload, const std::byte* origin) noexcept {
  reader r{payload, origin == nullptr ? payload.data() : origin, layer::userdata};
  if (payload.size() != block_info_length)
    return error{errc::userdata_bad_payload, layer::userdata, r.offset(), 0};
  block_info b;
  b.block_type = r.u16be();
  b.info_length = r.u16be();
  b.unknown2 = r.u16be();
  b.constant3 = r.u16be();
  b.unknown1 = r.u8();
  b.flags = r.u8();
  b.language = r.u8();
  b.subblock_type = r.u8();
  b.number = r.u16be();
  b.load_memory_length = r.u32be();
  b.security = r.u32be();
  b.code_timestamp = r.take(6);
  b.interface_timestamp = r.take(6);
  b.ssb_length = r.u16be();
  b.add_length = r.u16be();
  b.local_data_length = r.u16be();
  b.mc7_length = r.u16be();
  b.author = r.take(8);
  b.family = r.take(8);
  b.name = r.take(8);
  b.version = r.u8();
  b.unknown3 = r.u8();
  b.checksum = r.u16be();
  b.reserved1 = r.u32be();
  b.reserved2 = r.u32be();
  r.expect_end();
  if (!r.ok()) return r.err();
  return b;
}

namespace {
void fixed(writer& w, bytes b, std::size_t n) noexcept {
  const std::size_t k = b.size() < n ? b.size() : n;
  w.raw(b.first(k));
  w.zeros(n - k);
}
}  // namespace

void write_block_info(writer& w, const block_info& b) noexcept {
  w.u16be(b.block_type);
  w.u16be(b.info_length);
  w.u16be(b.unknown2);
  w.u16be(b.constant3);
  w.u8(b.unknown1);
  w.u8(b.flags);
  w.u8(b.language);
  w.u8(b.subblock_type);
  w.u16be(b.number);
  w.u32be(b.load_memory_length);
  w.u32be(b.security);
  fixed(w, b.code_timestamp, 6);
  fixed(w, b.interface_timestamp, 6);
  w.u16be(b.ssb_length);
  w.u16be(b.add_length);
  w.u16be(b.local_data_length);
  w.u16be(b.mc7_length);
  fixed(w, b.author, 8);
  fixed(w, b.family, 8);
  fixed(w, b.name, 8);
  w.u8(b.version);
  w.u8(b.unknown3);
  w.u16be(b.checksum);
  w.u32be(b.reserved1);
  w.u32be(b.reserved2);
}

result<timestamp> parse_timestamp(bytes payload, const std::byte* origin) noexcept {
  reader r{payload, origin == nullptr ? payload.data() : origin, layer::userdata};
  const std::uint32_t at = r.offset();
  if (payload.size() != timestamp_length)
    return error{errc::userdata_bad_payload, layer::userdata, at, 0};
  timestamp t;
  t.reserved = r.u8();
  t.year_high = r.u8();
  const value::date_and_time dt = value::read_date_and_time(r, errc::userdata_bad_timestamp);
  // Reported at the timestamp's first byte, whichever field is wrong.
  if (!r.ok() || value::bcd_digits(t.year_high) < 0)
    return error{errc::userdata_bad_timestamp, layer::userdata, at, 0};
  t.year = dt.year;
  t.month = dt.month;
  t.day = dt.day;
  t.hour = dt.hour;
  t.minute = dt.minute;
  t.second = dt.second;
  t.millisecond = dt.millisecond;
  t.weekday = dt.weekday;
  return t;
}

void write_timestamp(writer& w, const timestamp& t) noexcept {
  w.u8(t.reserved);
  w.u8(t.year_high);
  value::write_date_and_time(w, date_and_time_of(t));
}

result<cyclic_request> parse_cyclic_request(bytes payload, const std::byte* origin) noexcept {
  reader r{payload, origin == nullptr ? payload.data() : origin, layer::userdata};
  cyclic_request c;
  c.reserved = r.u8();
  c.item_count = r.u8();
  c.timebase = r.u8();
  c.interval = r.u8();
  if (!r.ok()) return r.err();
  c.items = r.rest();
  reader items{c.items, r.origin(), layer::s7_item};
  parse_var_specs(items, c.item_count);
  if (!items.ok()) return items.err();
  return c;
}

void scramble_password(std::span<const std::uint8_t, password_length> plain,
                       std::span<std::uint8_t, password_length> out) noexcept {
  for (std::size_t i = 0; i < password_length; ++i) {
    const unsigned c = plain[i] ^ 0x55U;
    out[i] = static_cast<std::uint8_t>(i < 2 ? c : c ^ out[i - 2]);
  }
}

void unscramble_password(std::span<const std::uint8_t, password_length> scrambled,
                         std::span<std::uint8_t, password_length> out) noexcept {
  for (std::size_t i = 0; i < password_length; ++i) {
    const unsigned b = scrambled[i] ^ 0x55U;
    out[i] = static_cast<std::uint8_t>(i < 2 ? b : b ^ scrambled[i - 2]);
  }
}

bool read_password(bytes data, std::span<std::uint8_t, password_length> out) noexcept {
  if (data.size() != password_length) return false;
  std::array<std::uint8_t, password_length> scrambled{};
  for (std::size_t i = 0; i < password_length; ++i)
    scrambled[i] = std::to_integer<std::uint8_t>(data[i]);
  unscramble_password(scrambled, out);
  return true;
}

}  // namespace protos7::codec::s7::ud
