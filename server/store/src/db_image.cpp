// goprotos7's layout of DB<n>.bin, both ways: value columns -> bytes (render_db, the BIN files
// goprotos7's dbtool builds) and bytes -> value columns (what the web admin keeps in SQLite).
#include <algorithm>
#include <bit>
#include <cstring>

#include "protos7/codec/s7_value.hpp"
#include "protos7/codec/writer.hpp"
#include "protos7/store/goprotos7_db.hpp"

namespace protos7::store {

namespace {

namespace s7v = codec::s7::value;

std::uint64_t get_be(std::span<const std::byte> b) {
  std::uint64_t v = 0;
  for (const std::byte x : b) v = (v << 8U) | std::to_integer<std::uint64_t>(x);
  return v;
}

void put_be(std::span<std::byte> out, std::uint64_t v) {
  const std::size_t n = out.size();
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<std::byte>((v >> (8U * (n - 1 - i))) & 0xFFU);
}

// The integer the bytes hold as int_val: sign-extended for the signed types, ULINT and LWORD
// as the same 64 bits.
std::int64_t int_of(const type_spec& g, std::uint64_t raw) {
  const std::size_t bits = g.size() * 8;
  if (!g.is_signed() || bits == 64) return static_cast<std::int64_t>(raw);
  const std::uint64_t sign = std::uint64_t{1} << (bits - 1);
  return static_cast<std::int64_t>((raw ^ sign) - sign);
}

std::string string_of(std::span<const std::byte> b) {
  std::string s(b.size(), '\0');
  if (!b.empty()) std::memcpy(s.data(), b.data(), b.size());
  return s;
}

}  // namespace

value_columns columns_from_bytes(const type_spec& t, std::span<const std::byte> bytes,
                                 std::uint8_t bit) {
  value_columns c;
  if (bytes.size() != t.size()) return c;
  const type_spec g = t.goprotos7_type();
  if (g.is_bool()) {
    c.bool_val = s7v::get_bit(bytes.front(), bit);
  } else if (g.kind == s7_kind::character) {
    c.str_val = string_of(bytes);
  } else if (g.kind == s7_kind::string) {
    // What the header says, bounded by the declared length (a program may have written any
    // header): the characters in use.
    const auto str = s7v::parse_string(bytes, nullptr, {.lenient_header = true});
    c.str_val = str ? string_of(str->text()) : std::string{};
  } else if (g.kind == s7_kind::real) {
    c.real_val = std::bit_cast<float>(static_cast<std::uint32_t>(get_be(bytes)));
  } else if (g.kind == s7_kind::lreal) {
    c.real_val = std::bit_cast<double>(get_be(bytes));
  } else {
    c.int_val = int_of(g, get_be(bytes));
  }
  return c;
}

std::vector<std::byte> bytes_from_columns(const type_spec& t, const value_columns& c) {
  std::vector<std::byte> out(t.size());
  const type_spec g = t.goprotos7_type();
  if (g.is_bool()) {
    out[0] = std::byte{static_cast<std::uint8_t>(c.bool_val.value_or(false) ? 1 : 0)};
  } else if (g.kind == s7_kind::character) {
    if (c.str_val && !c.str_val->empty())
      out[0] = static_cast<std::byte>((*c.str_val)[0]);
    else if (c.int_val)
      out[0] = static_cast<std::byte>(*c.int_val & 0xFF);
  } else if (g.kind == s7_kind::string) {
    // S7 STRING[n]: max length, actual length, n characters (unused ones 0); longer text is cut.
    const std::string s = c.str_val.value_or(std::string{});
    const std::size_t len = std::min(s.size(), g.string_length);
    codec::writer w{out};
    s7v::write_string(w, g.string_length, std::as_bytes(std::span{s.data(), len}));
  } else if (g.kind == s7_kind::real) {
    put_be(out, std::bit_cast<std::uint32_t>(static_cast<float>(c.real_val.value_or(0.0))));
  } else if (g.kind == s7_kind::lreal) {
    put_be(out, std::bit_cast<std::uint64_t>(c.real_val.value_or(0.0)));
  } else {
    put_be(out, static_cast<std::uint64_t>(c.int_val.value_or(0)));
  }
  return out;
}

std::vector<std::byte> render_db(const catalog& c, std::uint16_t db) {
  std::vector<std::byte> img(c.db_size(db));
  for (const variable& v : c.variables) {
    if (v.db != db || v.end_byte() > img.size()) continue;
    const std::vector<std::byte> b = bytes_from_columns(v.type, v.values);
    if (v.type.is_bool()) {
      std::byte& x = img[v.byte_offset];
      x = s7v::set_bit(x, v.bit_offset, b.front() != std::byte{0});
    } else {
      std::copy(b.begin(), b.end(), img.begin() + static_cast<std::ptrdiff_t>(v.byte_offset));
    }
  }
  return img;
}

std::size_t catalog::db_size(std::uint16_t db) const {
  std::size_t size = 0;
  if (const auto it = declared_sizes.find(db); it != declared_sizes.end()) size = it->second;
  for (const variable& v : variables)
    if (v.db == db) size = std::max(size, v.end_byte());
  return std::min(size, max_db_size);
}

std::size_t catalog::state_count() const {
  std::size_t n = 0;
  for (const variable& v : variables) n += v.states.size();
  return n;
}

}  // namespace protos7::store
