#include "protos7/codec/s7_item.hpp"

#include "protos7/codec/s7_data.hpp"

namespace protos7::codec::s7 {

bool is_known_syntax(std::uint8_t id) noexcept {
  switch (id) {
    case 0x10:
    case 0x13:
    case 0x15:
    case 0x16:
    case 0x19:
    case 0x1A:
    case 0x1C:
    case 0x82:
    case 0x83:
    case 0x84:
    case 0xA2:
    case 0xB0:
    case 0xB2:
      return true;
    default:
      return false;
  }
}

namespace {

// Expected length-of-rest for syntax ids with a fixed layout; 0 when variable or unknown.
std::uint8_t fixed_length(std::uint8_t syntax) noexcept {
  switch (static_cast<syntax_id>(syntax)) {
    case syntax_id::s7any:
    case syntax_id::driveesany:
      return 10;
    case syntax_id::nck:
    case syntax_id::nck_m:
    case syntax_id::nck_i:
      return 8;
    default:
      return 0;
  }
}

}  // namespace

namespace {

constexpr std::uint8_t u8_at(const std::byte* p, std::size_t i) noexcept {
  return std::to_integer<std::uint8_t>(p[i]);
}

// Whether the reader is at a whole S7ANY item (12 bytes: 12 0A 10 ...), which has no other
// constraint a parser checks (its fields are checked by check_any, per item).
bool at_any(const reader& r) noexcept {
  const bytes rest = r.rest();
  if (!r.ok() || rest.size() < s7any_item_size) return false;
  const std::byte* b = rest.data();
  return u8_at(b, 0) == var_spec_type && u8_at(b, 1) == s7any_length &&
         u8_at(b, 2) == static_cast<std::uint8_t>(syntax_id::s7any);
}

// The common case, an S7ANY item, decoded straight from the bytes. Returns false when the item
// is anything else; the general path then handles it.
bool fast_any(reader& r, var_spec& out) noexcept {
  if (!at_any(r)) return false;
  const bytes rest = r.rest();
  const std::byte* b = rest.data();
  out.offset = r.offset();
  out.spec_type = var_spec_type;
  out.length = s7any_length;
  out.syntax = static_cast<std::uint8_t>(syntax_id::s7any);
  out.body = rest.subspan(3, s7any_length - 1);
  out.any.tsize = u8_at(b, 3);
  out.any.count = static_cast<std::uint16_t>((u8_at(b, 4) << 8U) | u8_at(b, 5));
  out.any.db = static_cast<std::uint16_t>((u8_at(b, 6) << 8U) | u8_at(b, 7));
  out.any.area = u8_at(b, 8);
  out.any.address =
      (std::uint32_t{u8_at(b, 9)} << 16U) | (std::uint32_t{u8_at(b, 10)} << 8U) | u8_at(b, 11);
  r.skip(s7any_item_size);
  return true;
}

}  // namespace

void parse_var_spec(reader& r, var_spec& out, const item_options& opt) noexcept {
  if (fast_any(r, out)) return;
  out.offset = r.offset();
  out.spec_type = r.u8();
  if (!r.ok()) return;
  if (out.spec_type != var_spec_type) {
    r.fail_at(errc::item_bad_spec_type, out.offset);
    return;
  }
  out.length = r.u8();
  if (!r.ok()) return;
  // Wireshark treats length 0 as malformed: there is no room for the syntax id.
  if (out.length == 0) {
    r.fail_at(errc::item_bad_length, out.offset + 1);
    return;
  }
  if (r.remaining() < out.length) {
    r.fail_at(errc::truncated, out.offset + 1);
    return;
  }
  reader v = r.sub(out.length, layer::s7_item);
  out.syntax = v.u8();
  out.body = v.rest();
  const std::uint8_t fixed = fixed_length(out.syntax);
  if (fixed != 0 && out.length != fixed) {
    r.fail_at(errc::item_bad_length, out.offset + 1);
    return;
  }
  switch (static_cast<syntax_id>(out.syntax)) {
    case syntax_id::s7any:
      out.any.tsize = v.u8();
      out.any.count = v.u16be();
      out.any.db = v.u16be();
      out.any.area = v.u8();
      out.any.address = v.u24be();
      break;
    case syntax_id::dbread: {
      // count(1) + count * 5 bytes.
      out.dbread_count = v.u8();
      if (out.length < 2 || out.dbread_count == 0 ||
          std::size_t{out.dbread_count} * 5U != v.remaining()) {
        r.fail_at(errc::item_dbread_bad_count, out.offset + 3);
        return;
      }
      v.skip(v.remaining());
      break;
    }
    case syntax_id::s1200sym:
      // reserved(1) area1(2) area2(2) crc(4) then LIDs of 4 bytes: length >= 14 and 4-aligned.
      if (out.length < 14 || (out.length - 10U) % 4U != 0) {
        r.fail_at(errc::item_bad_length, out.offset + 1);
        return;
      }
      v.skip(v.remaining());
      break;
    default:
      if (!is_known_syntax(out.syntax) && !opt.allow_unknown_syntax) {
        r.fail_at(errc::item_unknown_syntax, out.offset + 2);
        return;
      }
      v.skip(v.remaining());
      break;
  }
  r.adopt(v.err());
}

void parse_var_specs(reader& r, std::size_t count, const item_options& opt) noexcept {
  var_spec spec;
  for (std::size_t i = 0; i < count && r.ok(); ++i) {
    if (r.empty()) {
      r.fail(errc::param_item_count_mismatch);
      return;
    }
    // Validation only: an S7ANY item needs no decoding here (and is even-sized: no fill byte).
    if (at_any(r)) {
      r.skip(s7any_item_size);
      continue;
    }
    parse_var_spec(r, spec, opt);
    if (!r.ok()) return;
    // A fill byte follows an odd-sized item unless it is the last one.
    if (((2U + spec.length) & 1U) != 0 && i + 1 < count) {
      const std::uint32_t at = r.offset();
      if (r.empty()) {
        r.fail(errc::param_item_count_mismatch);
        return;
      }
      if (r.u8() != 0) {
        r.fail_at(errc::data_fill_nonzero, at);
        return;
      }
    }
  }
  if (r.ok() && !r.empty()) r.fail(errc::param_item_count_mismatch);
}

bool var_spec_iterator::next(var_spec& out) noexcept {
  if (index_ >= count_) return false;
  reader r{items_, origin_, layer::s7_item};
  if (!fast_any(r, out)) parse_var_spec(r, out, item_options{true});
  if (!r.ok()) {
    index_ = count_;
    return false;
  }
  ++index_;
  if (((2U + out.length) & 1U) != 0 && index_ < count_) r.skip(1);
  items_ = r.rest();
  return true;
}

bool dbread_at(const var_spec& v, std::size_t index, dbread_area& out) noexcept {
  if (v.syntax != static_cast<std::uint8_t>(syntax_id::dbread) || index >= v.dbread_count)
    return false;
  reader r{v.body, layer::s7_item};
  r.skip(1 + index * 5U);
  out.length = r.u8();
  out.db = r.u16be();
  out.start = r.u16be();
  return r.ok();
}

bool decode_nck(const var_spec& v, nck_address& out) noexcept {
  if ((v.syntax != 0x82 && v.syntax != 0x83 && v.syntax != 0x84) || v.body.size() != 7)
    return false;
  reader r{v.body, layer::s7_item};
  const std::uint8_t au = r.u8();
  out.area = au >> 5U;
  out.unit = au & 0x1FU;
  out.column = r.u16be();
  out.line = r.u16be();
  out.module = r.u8();
  out.line_count = r.u8();
  return r.ok();
}

bool decode_1200sym(const var_spec& v, sym1200_address& out) noexcept {
  if (v.syntax != static_cast<std::uint8_t>(syntax_id::s1200sym) || v.body.size() < 13)
    return false;
  reader r{v.body, layer::s7_item};
  out.reserved = r.u8();
  out.area1 = r.u16be();
  out.area2 = r.u16be();
  out.crc = r.u32be();
  out.lids = r.rest();
  return r.ok() && out.lids.size() % 4U == 0;
}

bool decode_driveesany(const var_spec& v, driveesany_address& out) noexcept {
  if (v.syntax != static_cast<std::uint8_t>(syntax_id::driveesany) || v.body.size() != 9)
    return false;
  reader r{v.body, layer::s7_item};
  out.unknown1 = r.u8();
  out.unknown2 = r.u16be();
  out.unknown3 = r.u16be();
  out.parameter = r.u16be();
  out.index = r.u16be();
  return r.ok();
}

std::uint8_t check_any(const any_address& a) noexcept {
  if (element_size(a.tsize) == 0) return return_code::type_not_supported;
  if (!is_known_area(a.area)) return return_code::invalid_address;
  if (a.count == 0) return return_code::invalid_address;
  if (a.tsize != static_cast<std::uint8_t>(transport_size::bit) && a.bit() != 0 &&
      a.area != static_cast<std::uint8_t>(area::counters) &&
      a.area != static_cast<std::uint8_t>(area::timers))
    return return_code::invalid_address;
  return return_code::success;
}

// The largest end extent() can compute: a C / T item at the largest 24-bit number with the
// largest count, and a DATE_AND_TIME item at the largest byte address.
static_assert((std::uint64_t{0xFFFFFF} + 0xFFFF) * 2 < (std::uint64_t{1} << 26));
static_assert((std::uint64_t{0xFFFFFF} >> 3U) + std::uint64_t{0xFFFF} * 8 <
              (std::uint64_t{1} << 26));

result<any_extent> extent(const any_address& a, std::uint32_t item_offset) noexcept {
  // Field offsets inside the item: | 0x12 | length | syntax | tsize | count | ...
  constexpr std::uint32_t tsize_at = 3;
  constexpr std::uint32_t count_at = 4;
  if (a.count == 0) return error{errc::item_zero_length, layer::s7_item, item_offset + count_at, 0};
  any_extent e;
  e.area = a.area;
  if (a.area == static_cast<std::uint8_t>(area::db) ||
      a.area == static_cast<std::uint8_t>(area::di))
    e.db = a.db;
  if (a.area == static_cast<std::uint8_t>(area::counters) ||
      a.area == static_cast<std::uint8_t>(area::timers)) {
    e.byte_offset = a.address * 2U;
    e.length = std::uint32_t{a.count} * 2U;
    return e;
  }
  const std::size_t size = element_size(a.tsize);
  if (size == 0)
    return error{errc::item_bad_transport_size, layer::s7_item, item_offset + tsize_at, 0};
  e.byte_offset = a.byte_offset();
  if (a.tsize == static_cast<std::uint8_t>(transport_size::bit)) {
    e.bit_item = true;
    e.bit = a.bit();
    e.length = 1;
    return e;
  }
  e.length = static_cast<std::uint32_t>(a.count * size);
  return e;
}

void write_any(writer& w, const any_address& a) noexcept {
  w.u8(var_spec_type);
  w.u8(s7any_length);
  w.u8(static_cast<std::uint8_t>(syntax_id::s7any));
  w.u8(a.tsize);
  w.u16be(a.count);
  w.u16be(a.db);
  w.u8(a.area);
  w.u24be(a.address);
}

void write_var_spec(writer& w, const var_spec& v) noexcept {
  w.u8(var_spec_type);
  if (v.body.size() + 1 > 0xFF) w.range_error();
  w.u8(static_cast<std::uint8_t>((v.body.size() + 1) & 0xFFU));
  w.u8(v.syntax);
  w.raw(v.body);
}

void write_dbread(writer& w, std::span<const dbread_area> areas) noexcept {
  // The length of rest (syntax + count + 5 per area) must fit its byte.
  if (areas.empty() || areas.size() > 50) w.range_error();
  const std::size_t n = areas.size() > 50 ? 50 : areas.size();
  w.u8(var_spec_type);
  w.u8(static_cast<std::uint8_t>(2U + 5U * n));
  w.u8(static_cast<std::uint8_t>(syntax_id::dbread));
  w.u8(static_cast<std::uint8_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    w.u8(areas[i].length);
    w.u16be(areas[i].db);
    w.u16be(areas[i].start);
  }
}

void write_nck(writer& w, std::uint8_t syntax, const nck_address& a) noexcept {
  if ((syntax != 0x82 && syntax != 0x83 && syntax != 0x84) || a.area > 7 || a.unit > 31)
    w.range_error();
  w.u8(var_spec_type);
  w.u8(8);
  w.u8(syntax);
  w.u8(static_cast<std::uint8_t>(((a.area & 7U) << 5U) | (a.unit & 0x1FU)));
  w.u16be(a.column);
  w.u16be(a.line);
  w.u8(a.module);
  w.u8(a.line_count);
}

void write_driveesany(writer& w, const driveesany_address& a) noexcept {
  w.u8(var_spec_type);
  w.u8(10);
  w.u8(static_cast<std::uint8_t>(syntax_id::driveesany));
  w.u8(a.unknown1);
  w.u16be(a.unknown2);
  w.u16be(a.unknown3);
  w.u16be(a.parameter);
  w.u16be(a.index);
}

void write_1200sym(writer& w, const sym1200_address& a) noexcept {
  const std::size_t words = a.lids.size() / 4U;
  if (a.lids.size() % 4U != 0 || words == 0 || words > 61) w.range_error();
  w.u8(var_spec_type);
  w.u8(static_cast<std::uint8_t>((10U + a.lids.size()) & 0xFFU));
  w.u8(static_cast<std::uint8_t>(syntax_id::s1200sym));
  w.u8(a.reserved);
  w.u16be(a.area1);
  w.u16be(a.area2);
  w.u32be(a.crc);
  w.raw(a.lids);
}

}  // namespace protos7::codec::s7
