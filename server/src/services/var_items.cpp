#include "protos7/server/var_items.hpp"

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

std::uint8_t check_counter_timer_write(std::span<const std::byte> data) noexcept {
  return s7::value::fits_counter_or_timer(data) ? rc::success : rc::access_denied;
}

}  // namespace protos7::server::var_items
