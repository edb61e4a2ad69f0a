// Typed places in the PLC's memory (plc_variable.hpp).
#include "protos7/server/plc_variable.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>

#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/store/goprotos7_db.hpp"

namespace protos7::server {

namespace {

namespace s7 = codec::s7;

struct cursor {
  std::string_view s;
  std::size_t at = 0;
  [[nodiscard]] bool done() const { return at == s.size(); }
  [[nodiscard]] char peek() const {
    return done() ? '\0' : static_cast<char>(std::toupper(static_cast<unsigned char>(s[at])));
  }
  bool eat(char c) {
    if (peek() != c) return false;
    ++at;
    return true;
  }
  std::optional<std::size_t> number(std::size_t max) {
    std::size_t v = 0;
    const std::size_t from = at;
    while (!done() && std::isdigit(static_cast<unsigned char>(s[at])) != 0) {
      v = v * 10 + static_cast<std::size_t>(s[at++] - '0');
      if (v > max) return std::nullopt;
    }
    if (at == from) return std::nullopt;
    return v;
  }
};

// The width letter after the area: X bit, B byte, W word, D double word (0: bit, written "M10.3").
std::size_t width_of(char c) {
  switch (c) {
    case 'B':
      return 1;
    case 'W':
      return 2;
    case 'D':
      return 4;
    default:
      return 0;
  }
}

std::optional<store::type_spec> type_for(std::size_t width, std::string_view type,
                                         std::string& why) {
  store::type_spec t;
  if (type.empty()) {
    t.kind = width == 0   ? store::s7_kind::boolean
             : width == 1 ? store::s7_kind::byte
             : width == 2 ? store::s7_kind::integer
                          : store::s7_kind::dinteger;
    return t;
  }
  const auto parsed = store::parse_type(type, why);
  if (!parsed) return std::nullopt;
  if ((width == 0) != parsed->is_bool() || (width != 0 && parsed->size() != width)) {
    why = fmt::format("type {} does not fit the address width ({})", parsed->name(),
                      width == 0 ? "a bit" : fmt::format("{} byte(s)", width));
    return std::nullopt;
  }
  return parsed;
}

// "DB<n>.DB<w><b>[.<bit>]" or "<area><w><b>[.<bit>]"; nullopt when it is not that shape at all.
std::optional<plc_variable> parse_address(std::string_view text, std::string_view type,
                                          std::string& why) {
  cursor c{text};
  plc_variable v;
  if (c.eat('D') && c.eat('B') && std::isdigit(static_cast<unsigned char>(c.peek())) != 0) {
    const auto db = c.number(65535);
    if (!db || *db == 0 || !c.eat('.') || !c.eat('D') || !c.eat('B')) return std::nullopt;
    v.area = static_cast<std::uint8_t>(s7::area::db);
    v.db = static_cast<std::uint16_t>(*db);
  } else {
    c.at = 0;
    const char a = c.peek();
    if (a == 'I' || a == 'E')
      v.area = static_cast<std::uint8_t>(s7::area::inputs);
    else if (a == 'Q' || a == 'A')
      v.area = static_cast<std::uint8_t>(s7::area::outputs);
    else if (a == 'M')
      v.area = static_cast<std::uint8_t>(s7::area::flags);
    else
      return std::nullopt;
    ++c.at;
  }
  const std::size_t width = width_of(c.peek());
  if (width != 0 || c.peek() == 'X') ++c.at;
  const auto byte = c.number(65535);
  if (!byte) return std::nullopt;
  v.byte = *byte;
  if (width == 0) {
    const auto bit = c.eat('.') ? c.number(7) : std::nullopt;
    if (!bit) return std::nullopt;
    v.bit = static_cast<std::uint8_t>(*bit);
  }
  if (!c.done()) return std::nullopt;
  const auto t = type_for(width, type, why);
  if (!t) return std::nullopt;
  v.type = *t;
  return v;
}

std::pair<double, double> range_of(const store::type_spec& t) {
  if (t.is_bool()) return {0, 1};
  if (t.is_float()) {
    const double m = t.size() == 4 ? static_cast<double>(std::numeric_limits<float>::max())
                                   : std::numeric_limits<double>::max();
    return {-m, m};
  }
  const double bits = static_cast<double>(t.size() * 8);
  if (t.is_signed()) return {-std::pow(2.0, bits - 1), std::pow(2.0, bits - 1) - 1};
  return {0, std::pow(2.0, bits) - 1};
}

}  // namespace

std::optional<plc_variable> parse_plc_variable(std::string_view text, std::string_view type,
                                               const variable_lookup& lookup, std::string& why) {
  why.clear();
  std::optional<plc_variable> v = parse_address(text, type, why);
  if (!v && why.empty() && lookup) {
    v = lookup(text);
    if (v && !type.empty()) {
      why = fmt::format("\"{}\" is a variable of type {}: give no type", text, v->type.name());
      return std::nullopt;
    }
  }
  if (!v) {
    if (why.empty())
      why = fmt::format(
          "\"{}\" is neither a STEP 7 address (DB1.DBW2, DB1.DBX0.1, MW10, Q0.3) nor "
          "a variable of the table (DB1.Name)",
          text);
    return std::nullopt;
  }
  if (v->type.is_text() || v->type.kind == store::s7_kind::date_and_time) {
    why = fmt::format("\"{}\" is a {}: only numbers and BOOL can be set and driven", text,
                      v->type.name());
    return std::nullopt;
  }
  v->label = std::string(text);
  return v;
}

std::optional<double> read_plc_variable(plc_memory& mem, const plc_variable& v) {
  const location loc = mem.locate(v.area, v.db, v.byte, v.type.size());
  if (loc.return_code != s7::return_code::success) return std::nullopt;
  const store::value_columns c = store::columns_from_bytes(v.type, loc.ram, v.bit);
  if (c.bool_val) return *c.bool_val ? 1.0 : 0.0;
  if (c.real_val) return *c.real_val;
  if (c.int_val) return static_cast<double>(*c.int_val);
  return std::nullopt;
}

bool write_plc_variable(plc_memory& mem, const plc_variable& v, double value) {
  const location loc = mem.locate(v.area, v.db, v.byte, v.type.size());
  if (loc.return_code != s7::return_code::success || !std::isfinite(value)) return false;
  const auto [lo, hi] = range_of(v.type);
  value = std::clamp(value, lo, hi);
  store::value_columns c;
  if (v.type.is_bool()) {
    const auto mask = static_cast<std::uint8_t>(1U << v.bit);
    const auto old = std::to_integer<std::uint8_t>(loc.ram[0]);
    const std::array<std::byte, 1> b{
        std::byte{static_cast<std::uint8_t>(value != 0 ? (old | mask) : (old & ~mask))}};
    return mem.write(loc, b);
  }
  if (v.type.is_float())
    c.real_val = value;
  else
    c.int_val = static_cast<std::int64_t>(std::llround(value));
  return mem.write(loc, store::bytes_from_columns(v.type, c));
}

}  // namespace protos7::server
