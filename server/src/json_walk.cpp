#include "json_walk.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

namespace protos7::server::json_walk {

namespace {

// A decimal or "0x..." number written as a string; nullopt when it is not one (or overflows).
std::optional<std::uint64_t> number_of_text(std::string_view s) {
  const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  const std::string_view digits = hex ? s.substr(2) : s;
  const std::uint64_t base = hex ? 16U : 10U;
  if (digits.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : digits) {
    std::uint64_t d = base;
    if (c >= '0' && c <= '9')
      d = static_cast<std::uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<std::uint64_t>(c - 'a') + 10U;
    else if (c >= 'A' && c <= 'F')
      d = static_cast<std::uint64_t>(c - 'A') + 10U;
    if (d >= base || v > (UINT64_MAX - d) / base) return std::nullopt;
    v = v * base + d;
  }
  return v;
}

}  // namespace

place place::key(std::string_view k) const {
  return {source_, path_.empty() ? std::string(k) : fmt::format("{}.{}", path_, k), raise_,
          context_};
}

place place::item(std::size_t i) const {
  return {source_, fmt::format("{}[{}]", path_, i), raise_, context_};
}

void place::fail(std::string_view what) const {
  if (path_.empty())
    raise_(fmt::format("{}: {}", source_, what));
  else if (context_.empty())
    raise_(fmt::format("{}: {}: {}", source_, path_, what));
  else
    raise_(fmt::format("{}: {} ({}): {}", source_, path_, context_, what));
  std::abort();  // a raiser always throws
}

std::string_view type_of(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a fraction";
    default:
      return "something else";
  }
}

void expect_object(const json& j, const place& where, std::span<const std::string_view> allowed,
                   std::span<const std::string_view> required) {
  if (!j.is_object()) where.fail(fmt::format("expected an object, got {}", type_of(j)));
  for (const auto& [k, v] : j.items())
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      where.key(k).fail(fmt::format("unknown key (allowed here: {})", fmt::join(allowed, ", ")));
  for (const std::string_view r : required)
    if (!j.contains(std::string(r))) where.fail(fmt::format("missing key \"{}\"", r));
}

std::string get_string(const json& j, const place& where, string_rules rules) {
  if (!j.is_string()) where.fail(fmt::format("expected a string, got {}", type_of(j)));
  const auto& s = j.get_ref<const std::string&>();
  if (s.empty() && !rules.allow_empty) where.fail("must not be empty");
  if (s.size() > rules.max_length)
    where.fail(fmt::format("longer than {} characters ({})", rules.max_length, s.size()));
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (rules.chars == text::printable_ascii && (u < 0x20 || u > 0x7E))
      where.fail("only printable ASCII characters are allowed (S7 strings are ASCII)");
    if (rules.chars == text::no_control && (u < 0x20 || u == 0x7F))
      where.fail("control characters are not allowed");
  }
  return s;
}

std::uint64_t get_uint(const json& j, const place& where, std::uint64_t lo, std::uint64_t hi,
                       number_text from_text) {
  std::uint64_t v = 0;
  if (j.is_number_unsigned()) {
    v = j.get<std::uint64_t>();
  } else if (j.is_number_integer()) {
    where.fail(fmt::format("expected a whole number {}..{}, got {}", lo, hi, j.dump()));
  } else if (j.is_string() && from_text == number_text::allowed) {
    const auto& s = j.get_ref<const std::string&>();
    const auto n = number_of_text(s);
    if (!n)
      where.fail(fmt::format("\"{}\" is not a number (write 5 or \"0x05\")", s.substr(0, 40)));
    v = *n;
  } else {
    where.fail(fmt::format("expected a whole number {}..{}, got {}", lo, hi, type_of(j)));
  }
  if (v < lo || v > hi) where.fail(fmt::format("{} is outside {}..{}", v, lo, hi));
  return v;
}

bool get_bool(const json& j, const place& where) {
  if (!j.is_boolean()) where.fail(fmt::format("expected true or false, got {}", type_of(j)));
  return j.get<bool>();
}

}  // namespace protos7::server::json_walk
