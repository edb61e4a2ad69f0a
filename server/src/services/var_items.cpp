#include "protos7/server/var_items.hpp"

#include <array>

#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_value.hpp"

namespace protos7::server::var_items {

namespace s7 = codec::s7;
namespace rc = codec::s7::return_code;

namespace {
constexpr auto db_area = static_cast<std::uint8_t>(s7::area::db);

// Where area `a` of a DBREAD item points: the return code and, when 0xFF, the bytes.
location locate_area(const s7::dbread_area& a, plc_memory& mem, const plc_state& plc) noexcept {
  if (plc.db_hidden(a.db)) return location{rc::object_does_not_exist, {}, nullptr, 0};
  return mem.locate(db_area, a.db, a.start, a.length);
}
}  // namespace

void write_dbread(codec::writer& w, const s7::var_spec& v, plc_memory& mem, const plc_state& plc,
                  bool last) noexcept {
  s7::dbread_area a;
  std::size_t length = 0;
  for (std::size_t i = 0; s7::dbread_at(v, i, a); ++i) {
    const location loc = locate_area(a, mem, plc);
    length += 1 + (loc.return_code == rc::success ? loc.ram.size() : 0);
  }
  s7::write_dbread_answer_head(w, length);
  for (std::size_t i = 0; s7::dbread_at(v, i, a); ++i) {
    const location loc = locate_area(a, mem, plc);
    s7::write_dbread_area(w, loc.return_code, loc.ram);
  }
  s7::write_fill(w, length, last);
}

resolved resolve(const s7::var_spec& v, plc_memory& mem, const plc_state& plc) noexcept {
  resolved r;
  if (v.syntax != static_cast<std::uint8_t>(s7::syntax_id::s7any)) {
    r.rc = rc::invalid_address;
    return r;
  }
  const s7::any_address& a = v.any;
  r.rc = s7::check_any(a);
  if (r.rc != rc::success) return r;
  const auto ts = static_cast<s7::transport_size>(a.tsize);
  const bool counter_ts = ts == s7::transport_size::counter;
  const bool timer_ts = ts == s7::transport_size::timer;
  const bool counter_area = a.area == static_cast<std::uint8_t>(s7::area::counters);
  const bool timer_area = a.area == static_cast<std::uint8_t>(s7::area::timers);
  // Counters and timers are addressed by number with their own transport sizes; IEC and
  // high-speed counters/timers are S7-200 objects.
  if (counter_area != counter_ts || timer_area != timer_ts ||
      ts == s7::transport_size::iec_counter || ts == s7::transport_size::iec_timer ||
      ts == s7::transport_size::hs_counter) {
    r.rc = rc::type_not_supported;
    return r;
  }
  std::size_t offset = a.byte_offset();
  std::size_t length = a.byte_length();
  if (counter_area || timer_area) {
    offset = std::size_t{a.address} * 2U;
  } else if (ts == s7::transport_size::bit) {
    // BIT: exactly one bit, answered as one byte 0x00 / 0x01.
    if (a.count != 1) {
      r.rc = rc::invalid_address;
      return r;
    }
    r.bit = true;
    r.bit_no = a.bit();
    length = 1;
  }
  // A DB deleted with PI-Service _DELE is hidden, not dropped from plc_memory (plc_state.hpp).
  const bool in_db = a.area == static_cast<std::uint8_t>(s7::area::db) ||
                     a.area == static_cast<std::uint8_t>(s7::area::di);
  if (in_db && plc.db_hidden(a.db)) {
    r.rc = rc::object_does_not_exist;
    return r;
  }
  r.loc = mem.locate(a.area, a.db, offset, length);
  r.rc = r.loc.return_code;
  r.data_tsize = s7::data_tsize_for(a.tsize);
  return r;
}

std::uint8_t write_read_item(codec::writer& w, const s7::var_spec& v, plc_memory& mem,
                             const plc_state& plc, bool last) noexcept {
  if (v.syntax == static_cast<std::uint8_t>(s7::syntax_id::dbread)) {
    write_dbread(w, v, mem, plc, last);
    return rc::success;
  }
  const resolved r = resolve(v, mem, plc);
  if (r.rc != rc::success) {
    s7::write_data_item(w, r.rc, 0, {}, last);
  } else if (r.bit) {
    const std::array<std::byte, 1> b{std::byte{
        static_cast<std::uint8_t>((std::to_integer<unsigned>(r.loc.ram[0]) >> r.bit_no) & 1U)}};
    s7::write_data_item(w, rc::success, r.data_tsize, b, last);
  } else {
    s7::write_data_item(w, rc::success, r.data_tsize, r.loc.ram, last);
  }
  return r.rc;
}

std::uint8_t check_counter_timer_write(std::span<const std::byte> data) noexcept {
  return s7::value::fits_counter_or_timer(data) ? rc::success : rc::access_denied;
}

}  // namespace protos7::server::var_items
