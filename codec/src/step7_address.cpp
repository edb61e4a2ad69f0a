#include "protos7/codec/step7_address.hpp"

#include "protos7/codec/names.hpp"

namespace protos7::codec::step7 {

namespace {

using s7::any_address;
using s7::area;
using s7::transport_size;

constexpr std::uint8_t raw(area a) noexcept {
  return static_cast<std::uint8_t>(a);
}
constexpr std::uint8_t raw(transport_size t) noexcept {
  return static_cast<std::uint8_t>(t);
}

// Data type names beyond the ANY pointer mnemonics of names.hpp (which a STEP 7 ANY pointer
// shows): the counter and timer types, and the long forms STEP 7 also accepts.
struct type_alias {
  std::string_view name;
  transport_size tsize;
};
constexpr type_alias more_types[] = {
    {"COUNTER", transport_size::counter},
    {"TIMER", transport_size::timer},
    {"TIME_OF_DAY", transport_size::tod},
    {"DATE_AND_TIME", transport_size::date_and_time},
};

constexpr char upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
}

// What an operand names before its type: the area, the DB, the start and the operand's size.
enum class size_mark : std::uint8_t { bit, byte, word, dword, number };
struct operand {
  std::uint8_t area = 0;
  std::uint16_t db = 0;
  std::uint32_t byte = 0;  // or the counter / timer number
  std::uint8_t bit = 0;
  size_mark size = size_mark::bit;
};

// A cursor over the text; the first error sticks (later calls do nothing).
class cursor {
 public:
  explicit cursor(std::string_view s) noexcept : s_(s) {}
  [[nodiscard]] bool failed() const noexcept { return static_cast<bool>(err_); }
  [[nodiscard]] const error& err() const noexcept { return err_; }
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= s_.size(); }
  [[nodiscard]] char peek(std::size_t ahead = 0) const noexcept {
    return pos_ + ahead < s_.size() ? upper(s_[pos_ + ahead]) : '\0';
  }
  void fail(errc code, std::size_t at) noexcept {
    if (!err_) err_ = error{code, layer::step7_text, static_cast<std::uint32_t>(at), 0};
  }
  void fail(errc code) noexcept { fail(code, pos_); }
  // Consumes `word` (upper case) when the text continues with it, in any case.
  bool take(std::string_view word) noexcept {
    for (std::size_t i = 0; i < word.size(); ++i)
      if (peek(i) != word[i]) return false;
    pos_ += word.size();
    return true;
  }
  void expect(char c) noexcept {
    if (failed()) return;
    if (peek() != c) return fail(errc::address_syntax);
    ++pos_;
  }
  // A decimal number in [lo, hi].
  std::uint32_t number(std::uint32_t lo, std::uint32_t hi) noexcept {
    if (failed()) return 0;
    const std::size_t start = pos_;
    std::uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9' && v <= 0xFFFFFFFFU)
      v = v * 10 + static_cast<std::uint64_t>(s_[pos_++] - '0');
    if (pos_ == start)
      fail(errc::address_syntax);
    else if (v < lo || v > hi)
      fail(errc::address_out_of_range, start);
    return failed() ? 0 : static_cast<std::uint32_t>(v);
  }
  // One or more spaces or tabs; false when there are none.
  bool spaces() noexcept {
    const std::size_t start = pos_;
    while (peek() == ' ' || peek() == '\t') ++pos_;
    return pos_ > start;
  }
  // A word of letters, digits and '_' (a type name).
  std::string_view word() noexcept {
    const std::size_t start = pos_;
    while ((peek() >= 'A' && peek() <= 'Z') || (peek() >= '0' && peek() <= '9') || peek() == '_')
      ++pos_;
    return s_.substr(start, pos_ - start);
  }
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
  error err_{};
};

// "X4.0", "B4", "W4", "D4" after "DB1.DB" / "DI1.DI"; "4.0", "B4", ... after an area letter
// (`x_for_bits`: whether a bit operand is written with an X; `bits_only`: an ANY pointer's start,
// always written as a bit).
void parse_start(cursor& c, operand& o, bool x_for_bits, bool bits_only) noexcept {
  const char s = c.peek();
  if (s == 'B' || s == 'W' || s == 'D') {
    if (bits_only) return c.fail(errc::address_syntax);
    c.take(std::string_view(&s, 1));
    o.size = s == 'B' ? size_mark::byte : s == 'W' ? size_mark::word : size_mark::dword;
    o.byte = c.number(0, max_byte_address);
    return;
  }
  if (x_for_bits && !c.take("X")) return c.fail(errc::address_syntax);
  o.size = size_mark::bit;
  o.byte = c.number(0, max_byte_address);
  c.expect('.');
  o.bit = static_cast<std::uint8_t>(c.number(0, 7));
}

// The operand without its type suffix.
void parse_operand(cursor& c, operand& o, bool bits_only) noexcept {
  const auto db_operand = [&](std::string_view again, area a) {
    o.area = raw(a);
    o.db = static_cast<std::uint16_t>(c.number(1, 65535));
    c.expect('.');
    if (!c.failed() && !c.take(again)) c.fail(errc::address_syntax);
    if (!c.failed()) parse_start(c, o, true, bits_only);
  };
  const auto numbered = [&](area a) {
    o.area = raw(a);
    o.size = size_mark::number;
    o.byte = c.number(0, 65535);
  };
  if (c.take("DB")) return db_operand("DB", area::db);
  if (c.take("DI")) return db_operand("DI", area::di);
  if (c.take("C") || c.take("Z")) return numbered(area::counters);
  if (c.take("T")) return numbered(area::timers);
  if (c.take("PI") || c.take("PE") || c.take("PQ") || c.take("PA") || c.take("P")) {
    o.area = raw(area::peripheral);
  } else if (c.take("I") || c.take("E")) {
    o.area = raw(area::inputs);
  } else if (c.take("Q") || c.take("A")) {
    o.area = raw(area::outputs);
  } else if (c.take("M")) {
    o.area = raw(area::flags);
  } else if (c.take("L")) {
    o.area = raw(area::local);
  } else if (c.take("V")) {
    o.area = raw(area::v);
  } else {
    return c.fail(errc::address_syntax);
  }
  parse_start(c, o, false, bits_only);
}

// " TYPE [count]" (required when `any_pointer`): sets a.tsize and a.count.
void parse_suffix(cursor& c, const operand& o, bool any_pointer, any_address& a) noexcept {
  const bool has_suffix = c.spaces() && !c.at_end();
  if (!has_suffix) {
    if (any_pointer) return c.fail(errc::address_syntax);
    constexpr transport_size by_mark[] = {transport_size::bit, transport_size::byte,
                                          transport_size::word, transport_size::dword};
    a.tsize =
        o.size == size_mark::number
            ? raw(o.area == raw(area::counters) ? transport_size::counter : transport_size::timer)
            : raw(by_mark[static_cast<std::size_t>(o.size)]);
    a.count = 1;
    return;
  }
  const std::size_t type_at = c.pos();
  const std::string_view name = c.word();
  const auto same = [&](std::string_view known) {
    bool eq = known.size() == name.size();
    for (std::size_t i = 0; eq && i < name.size(); ++i) eq = upper(name[i]) == known[i];
    return eq;
  };
  int tsize = -1;
  for (const names::value_name& e : names::transport_size_mnemonics)
    if (same(e.name)) tsize = e.value;
  for (const type_alias& e : more_types)
    if (same(e.name)) tsize = raw(e.tsize);
  if (tsize < 0)
    return c.fail(name.empty() ? errc::address_syntax : errc::address_bad_type, type_at);
  const bool bool_type = tsize == raw(transport_size::bit);
  // A bit operand names a BOOL; a byte operand names anything but a BOOL. "P#" takes any pair.
  if (!any_pointer && o.size != size_mark::number && (o.size == size_mark::bit) != bool_type)
    return c.fail(errc::address_bad_type, type_at);
  a.tsize = static_cast<std::uint8_t>(tsize);
  a.count = 1;
  if (c.spaces() && !c.at_end())
    a.count = static_cast<std::uint16_t>(c.number(1, 65535));
  else if (any_pointer)
    c.fail(errc::address_syntax);
}

}  // namespace

result<any_address> parse(std::string_view text) noexcept {
  cursor c{text};
  c.spaces();
  const bool any_pointer = c.take("P#");
  operand o;
  parse_operand(c, o, any_pointer);
  any_address a;
  if (!c.failed()) parse_suffix(c, o, any_pointer, a);
  c.spaces();
  if (!c.failed() && !c.at_end()) c.fail(errc::address_syntax);
  if (c.failed()) return c.err();
  a.area = o.area;
  a.db = o.db;
  a.address = o.size == size_mark::number ? o.byte : o.byte * 8U + o.bit;
  return a;
}

std::string_view type_name(std::uint8_t tsize) noexcept {
  if (tsize == raw(transport_size::counter)) return "COUNTER";
  if (tsize == raw(transport_size::timer)) return "TIMER";
  return names::transport_size_mnemonic(tsize);
}

namespace {

// Appends to a bounded buffer; `ok` turns false when it does not fit.
struct out_text {
  std::span<char> buf;
  std::size_t n = 0;
  bool ok = true;
  void put(std::string_view s) noexcept {
    if (n + s.size() > buf.size()) ok = false;
    for (std::size_t i = 0; ok && i < s.size(); ++i) buf[n++] = s[i];
  }
  void num(std::uint32_t v) noexcept {
    char digits[10];
    std::size_t k = 0;
    do digits[k++] = static_cast<char>('0' + v % 10);
    while ((v /= 10) != 0);
    while (k > 0) put(std::string_view(&digits[--k], 1));
  }
};

// "DB1.DB" / "DI1.DI" / "M" ...; false for an area STEP 7 does not name (or a DB number that
// does not belong to the area).
bool put_area(out_text& t, const any_address& a) noexcept {
  const bool db_area = a.area == raw(area::db) || a.area == raw(area::di);
  if (db_area != (a.db != 0)) return false;
  if (db_area) {
    const std::string_view p = a.area == raw(area::db) ? "DB" : "DI";
    t.put(p);
    t.num(a.db);
    t.put(".");
    t.put(p);
    return true;
  }
  // I, Q, M, P, L, V (names.hpp); C and T are written by format() itself.
  const bool counter_or_timer = a.area == raw(area::counters) || a.area == raw(area::timers);
  const std::string_view m = names::area_mnemonic(a.area);
  if (m.empty() || counter_or_timer) return false;
  t.put(m);
  return true;
}

void put_bit_start(out_text& t, const any_address& a) noexcept {
  if (a.db != 0) t.put("X");
  t.num(a.byte_offset());
  t.put(".");
  t.num(a.bit());
}

void put_type_count(out_text& t, std::string_view type, std::uint16_t count) noexcept {
  t.put(" ");
  t.put(type);
  t.put(" ");
  t.num(count);
}

}  // namespace

std::size_t format(const any_address& a, std::span<char> out) noexcept {
  out_text t{out};
  const std::string_view type = type_name(a.tsize);
  if (type.empty() || a.count == 0) return 0;
  const auto ts = static_cast<transport_size>(a.tsize);
  if (a.area == raw(area::counters) || a.area == raw(area::timers)) {
    const bool counters = a.area == raw(area::counters);
    if (a.db != 0 || a.address > 65535) return 0;
    t.put(counters ? "C" : "T");
    t.num(a.address);
    if (a.count != 1 || ts != (counters ? transport_size::counter : transport_size::timer))
      put_type_count(t, type, a.count);
    return t.ok ? t.n : 0;
  }
  const bool plain_bit = ts == transport_size::bit && a.count == 1;
  const bool sized =
      ts == transport_size::byte || ts == transport_size::word || ts == transport_size::dword;
  const bool pointer = !plain_bit && (a.bit() != 0 || ts == transport_size::bit);
  if (pointer) t.put("P#");
  if (!put_area(t, a)) return 0;
  if (plain_bit || pointer) {
    put_bit_start(t, a);
  } else {
    t.put(!sized || a.count != 1       ? "B"
          : ts == transport_size::byte ? "B"
          : ts == transport_size::word ? "W"
                                       : "D");
    t.num(a.byte_offset());
  }
  if (!plain_bit && (pointer || !sized || a.count != 1)) put_type_count(t, type, a.count);
  return t.ok ? t.n : 0;
}

text to_text(const any_address& a) noexcept {
  text t;
  t.size = format(a, t.chars);
  return t;
}

}  // namespace protos7::codec::step7
