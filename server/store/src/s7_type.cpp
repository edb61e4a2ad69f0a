#include "protos7/store/s7_type.hpp"

#include <fmt/core.h>

#include <array>
#include <charconv>

namespace protos7::store {

namespace {

struct type_row {
  s7_kind kind;
  std::string_view name;
  std::size_t size;
  s7_kind goprotos7;  // the goprotos7 type with the same bytes
};

// The one table: name, size and goprotos7 equivalent of every kind (STRING's size is n + 2).
constexpr std::array<type_row, 22> rows{{
    {s7_kind::boolean, "BOOL", 1, s7_kind::boolean},
    {s7_kind::byte, "BYTE", 1, s7_kind::byte},
    {s7_kind::character, "CHAR", 1, s7_kind::character},
    {s7_kind::word, "WORD", 2, s7_kind::word},
    {s7_kind::integer, "INT", 2, s7_kind::integer},
    {s7_kind::dword, "DWORD", 4, s7_kind::dword},
    {s7_kind::dinteger, "DINT", 4, s7_kind::dinteger},
    {s7_kind::real, "REAL", 4, s7_kind::real},
    {s7_kind::string, "STRING", 2, s7_kind::string},
    {s7_kind::time, "TIME", 4, s7_kind::dinteger},
    {s7_kind::date, "DATE", 2, s7_kind::uint},
    {s7_kind::time_of_day, "TIME_OF_DAY", 4, s7_kind::udint},
    {s7_kind::date_and_time, "DATE_AND_TIME", 8, s7_kind::lword},
    {s7_kind::s5time, "S5TIME", 2, s7_kind::word},
    {s7_kind::sint, "SINT", 1, s7_kind::sint},
    {s7_kind::usint, "USINT", 1, s7_kind::usint},
    {s7_kind::uint, "UINT", 2, s7_kind::uint},
    {s7_kind::udint, "UDINT", 4, s7_kind::udint},
    {s7_kind::lword, "LWORD", 8, s7_kind::lword},
    {s7_kind::lint, "LINT", 8, s7_kind::lint},
    {s7_kind::ulint, "ULINT", 8, s7_kind::ulint},
    {s7_kind::lreal, "LREAL", 8, s7_kind::lreal},
}};

constexpr const type_row& row_of(s7_kind k) noexcept {
  return rows[static_cast<std::size_t>(k)];
}

static_assert(
    [] {
      for (std::size_t i = 0; i < rows.size(); ++i)
        if (static_cast<std::size_t>(rows[i].kind) != i) return false;
      return true;
    }(),
    "rows is indexed by s7_kind");

std::string upper_trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

}  // namespace

std::size_t type_spec::size() const noexcept {
  return kind == s7_kind::string ? string_length + 2 : row_of(kind).size;
}

std::string type_spec::name() const {
  if (kind == s7_kind::string) return fmt::format("STRING[{}]", string_length);
  return std::string{row_of(kind).name};
}

bool type_spec::is_integer() const noexcept {
  switch (kind) {
    case s7_kind::byte:
    case s7_kind::word:
    case s7_kind::dword:
    case s7_kind::lword:
    case s7_kind::sint:
    case s7_kind::usint:
    case s7_kind::integer:
    case s7_kind::uint:
    case s7_kind::dinteger:
    case s7_kind::udint:
    case s7_kind::lint:
    case s7_kind::ulint:
      return true;
    default:
      return false;
  }
}

bool type_spec::is_signed() const noexcept {
  return kind == s7_kind::sint || kind == s7_kind::integer || kind == s7_kind::dinteger ||
         kind == s7_kind::lint || kind == s7_kind::time;
}

bool type_spec::is_goprotos7() const noexcept {
  return row_of(kind).goprotos7 == kind;
}

type_spec type_spec::goprotos7_type() const noexcept {
  return type_spec{row_of(kind).goprotos7, kind == s7_kind::string ? string_length : 0};
}

std::string type_spec::goprotos7_name() const {
  const type_spec g = goprotos7_type();
  return g.kind == s7_kind::string ? std::string{"STRING[n]"} : g.name();
}

const std::vector<std::string>& type_names() {
  static const std::vector<std::string> names{
      "BOOL",      "BYTE",  "CHAR", "WORD",        "INT",           "DWORD", "DINT",  "REAL",
      "SINT",      "USINT", "UINT", "UDINT",       "LINT",          "ULINT", "LWORD", "LREAL",
      "STRING[n]", "TIME",  "DATE", "TIME_OF_DAY", "DATE_AND_TIME", "S5TIME"};
  return names;
}

std::optional<type_spec> parse_type(std::string_view text, std::string& why) {
  const std::string t = upper_trimmed(text);
  for (const type_row& r : rows)
    if (r.kind != s7_kind::string && t == r.name) return type_spec{r.kind, 0};
  if (t == "TOD") return type_spec{s7_kind::time_of_day, 0};
  if (t == "DT") return type_spec{s7_kind::date_and_time, 0};
  if (t == "STRING") return type_spec{s7_kind::string, max_string_length};
  if (t.starts_with("STRING[") && t.ends_with("]")) {
    const std::string_view n = std::string_view(t).substr(7, t.size() - 8);
    std::size_t len = 0;
    const auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), len);
    if (n.empty() || ec != std::errc{} || p != n.data() + n.size() || len < 1 ||
        len > max_string_length) {
      why = fmt::format("'{}': the length of a STRING must be 1..{} characters, e.g. STRING[20]",
                        text, max_string_length);
      return std::nullopt;
    }
    return type_spec{s7_kind::string, len};
  }
  why = fmt::format(
      "unknown type '{}'; use one of BOOL, BYTE, CHAR, WORD, INT, DWORD, DINT, REAL, SINT, "
      "USINT, UINT, UDINT, LINT, ULINT, LWORD, LREAL, STRING[n], TIME, DATE, TIME_OF_DAY, "
      "DATE_AND_TIME, S5TIME",
      text.substr(0, 40));
  return std::nullopt;
}

}  // namespace protos7::store
