#include "protos7/webadmin/catalog.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <set>
#include <stdexcept>

namespace protos7::webadmin {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7F) return fmt::format("'{}'", c);
  if (c == ' ') return "a space";
  return fmt::format("the byte 0x{:02X}", u);
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Validation

std::optional<std::string> check_name(std::string_view name, std::string_view what) {
  if (name.empty()) return fmt::format("the {} is empty", what);
  if (name.size() > max_name_length)
    return fmt::format("the {} is {} characters long; at most {} are allowed", what, name.size(),
                       max_name_length);
  if (!is_letter(name[0]) && name[0] != '_')
    return fmt::format("the {} must start with a letter or '_', not {}", what, printable(name[0]));
  if (name.back() == ' ') return fmt::format("the {} ends with a space", what);
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (is_letter(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == ' ') continue;
    return fmt::format(
        "the {} contains {} at position {}; use letters, digits, spaces, '_', '-' and '.' only",
        what, printable(c), i + 1);
  }
  return std::nullopt;
}

std::optional<std::string> check_description(std::string_view text) {
  // Valid UTF-8 (structure and no overlong forms are enough here: the text is only stored and
  // shown), no control characters.
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const std::size_t n = b < 0x80                            ? 1
                          : (b & 0xE0U) == 0xC0U && b >= 0xC2 ? 2
                          : (b & 0xF0U) == 0xE0U              ? 3
                          : (b & 0xF8U) == 0xF0U && b <= 0xF4 ? 4
                                                              : 0;
    if (n == 0 || i + n > text.size()) return std::string("the description is not valid UTF-8");
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0U) != 0x80U)
        return std::string("the description is not valid UTF-8");
    if (b < 0x20 || b == 0x7F)
      return std::string(
          "the description contains a control character (line breaks and tabs included)");
    i += n;
    ++chars;
  }
  if (chars > max_description_length)
    return fmt::format("the description is {} characters long; at most {} are allowed", chars,
                       max_description_length);
  return std::nullopt;
}

namespace {

// The bit offset, and the variable's bytes inside the DB.
problem check_placement(const var_def& v, std::size_t db_size) {
  const std::string tn = v.type.name();
  if (v.type.is_bool()) {
    if (v.bit_offset > 7)
      return {fmt::format("bit_offset {} is not a bit of a byte (0..7)", v.bit_offset),
              "bit_offset"};
  } else if (v.bit_offset != 0) {
    return {fmt::format(
                "bit_offset applies to BOOL only; a {} starts at a whole byte (bit_offset 0)", tn),
            "bit_offset"};
  }
  if (v.end_byte() > db_size) {
    if (v.type.size() == 1)
      return {fmt::format("byte {} is past the end of DB{} ({} bytes: 0..{}); choose a byte offset "
                          "of at most {} "
                          "or resize DB{}",
                          v.byte_offset, v.db, db_size, db_size - 1, db_size - 1, v.db),
              "byte_offset"};
    return {fmt::format("{} needs bytes {}..{} but DB{} has {} bytes (0..{}); {} or resize DB{}",
                        tn, v.byte_offset, v.end_byte() - 1, v.db, db_size, db_size - 1,
                        db_size >= v.type.size() ? fmt::format("choose a byte offset of at most {}",
                                                               db_size - v.type.size())
                                                 : std::string{"it does not fit at any offset"},
                        v.db),
            "byte_offset"};
  }
  return {};
}

// Another variable of the DB with the same name, or bits in common.
problem check_clashes(const var_def& v, const std::vector<var_def>& others) {
  const std::string tn = v.type.name();
  const std::string lname = lower(v.name);
  for (const var_def& o : others) {
    if (o.id == v.id && v.id != 0) continue;
    if (o.db != v.db) continue;
    if (lower(o.name) == lname)
      return {fmt::format("DB{} already has a variable named '{}' ({})", v.db, o.name, o.address()),
              "name", true};
    if (v.first_bit() < o.end_bit() && o.first_bit() < v.end_bit()) {
      const std::string where =
          o.type.is_bool() && v.type.is_bool()
              ? fmt::format("bit {}.{} is", o.byte_offset, o.bit_offset)
              : fmt::format("byte{} {} in use", o.type.size() > 1 ? "s" : "",
                            o.type.size() > 1
                                ? fmt::format("{}..{} are", o.byte_offset, o.end_byte() - 1)
                                : fmt::format("{} is", o.byte_offset));
      return {fmt::format("{} at {} overlaps '{}' ({} at {}): {} already", tn, v.address(), o.name,
                          o.type.name(), o.address(), where),
              "byte_offset", true};
    }
  }
  return {};
}

// The named states: allowed for the type, at most max_states, valid names and values, no name
// or value twice.
problem check_states(const var_def& v) {
  const std::string tn = v.type.name();
  if (!v.states.empty() && !v.type.has_states())
    return {
        fmt::format("named states are for BOOL, whole numbers, REAL/LREAL, CHAR and STRING, not {}",
                    tn),
        "states"};
  if (v.states.size() > max_states)
    return {
        fmt::format("{} named states given; at most {} are allowed", v.states.size(), max_states),
        "states"};
  std::set<std::string> state_names;
  std::set<std::string> state_values;
  for (const named_state& s : v.states) {
    if (auto e = check_name(s.name, "state name"))
      return {fmt::format("{} ('{}')", *e, s.name.substr(0, 40)), "states"};
    std::string why;
    const auto made = make_state(v.type, s.name, state_value(s, v.type), why);
    if (!made || made->kind != s.kind)
      return {fmt::format("state '{}': {}", s.name, why.empty() ? "not a value of " + tn : why),
              "states"};
    if (!state_names.insert(lower(s.name)).second)
      return {fmt::format("the state name '{}' is given twice", s.name), "states"};
    if (!state_values.insert(state_value(s, v.type).dump()).second)
      return {fmt::format("two states have the value {}", state_value(s, v.type).dump()), "states"};
  }
  return {};
}

}  // namespace

problem check_variable(const var_def& v, std::size_t db_size, const std::vector<var_def>& others) {
  if (auto e = check_name(v.name)) return {*e, "name"};
  if (auto e = check_description(v.description)) return {*e, "description"};
  if (problem p = check_placement(v, db_size)) return p;
  if (problem p = check_clashes(v, others)) return p;
  return check_states(v);
}

std::optional<named_state> make_state(const type_spec& t, std::string name,
                                      const nlohmann::json& value, std::string& why) {
  const auto refuse = [&](std::string text) -> std::optional<named_state> {
    why = std::move(text);
    return std::nullopt;
  };
  named_state s;
  s.name = std::move(name);
  if (t.is_bool()) {
    s.kind = list_kind::boolean;
    const bool as_int = value.is_number_integer() &&
                        (value.get<std::int64_t>() == 0 || value.get<std::int64_t>() == 1);
    if (!value.is_boolean() && !as_int)
      return refuse("a BOOL state's value is 0 or 1 (or true / false)");
    s.value = value.is_boolean() ? (value.get<bool>() ? 1 : 0) : value.get<std::int64_t>();
    return s;
  }
  if (t.is_text()) {
    s.kind = list_kind::text;  // goprotos7 keeps no value for it: the label is the text
    if (!value.is_string() || value.get<std::string>() != s.name)
      return refuse(
          fmt::format("a {} state's value is its name (\"{}\")", t.name(), s.name.substr(0, 40)));
  } else if (t.is_float()) {
    s.kind = list_kind::floating;
    if (value.is_number()) s.fvalue = value.get<double>();
  } else if (t.is_integer()) {
    s.kind = list_kind::integer;
    if (value.is_number_unsigned())
      s.value = static_cast<std::int64_t>(value.get<std::uint64_t>());
    else if (value.is_number_integer())
      s.value = value.get<std::int64_t>();
  } else {
    return refuse(fmt::format("named states are not offered for {}", t.name()));
  }
  if (const encoded_value e = encode_value(t, value); !e.ok()) return refuse(e.error);
  return s;
}

nlohmann::json state_value(const named_state& s, const type_spec& t) {
  switch (s.kind) {
    case list_kind::boolean:
      return s.value;
    case list_kind::floating:
      return s.fvalue;
    case list_kind::text:
      return s.name;
    case list_kind::integer:
      break;
  }
  if (t.is_integer() && !t.is_signed()) return static_cast<std::uint64_t>(s.value);
  return s.value;
}

// ------------------------------------------------------------------------------------------
// SQLite (through protos7::store)

namespace {

store::variable to_store(const var_def& v, const initial_value& values) {
  store::variable out;
  static_cast<store::variable_definition&>(out) = v;
  out.values = values;
  return out;
}

var_def from_store(store::variable&& v) {
  var_def out;
  static_cast<store::variable_definition&>(out) = std::move(v);
  return out;
}

}  // namespace

catalog_store::loaded catalog_store::load() {
  store::catalog c = db_.load();
  loaded out;
  for (store::variable& v : c.variables) out.variables.push_back(from_store(std::move(v)));
  out.sizes = std::move(c.declared_sizes);
  out.processes = std::move(c.processes);
  return out;
}

std::int64_t catalog_store::insert_variable(const var_def& v, const initial_value& init) {
  return db_.insert(to_store(v, init));
}

void catalog_store::update_variable(const var_def& v, const std::optional<initial_value>& init) {
  db_.update(to_store(v, init.value_or(initial_value{})), init.has_value());
}

std::vector<std::int64_t> catalog_store::apply_db_variables(
    std::uint16_t db, const std::vector<std::pair<var_def, std::optional<initial_value>>>& vars) {
  std::vector<std::pair<store::variable, bool>> rows;
  rows.reserve(vars.size());
  for (const auto& [v, init] : vars)
    rows.emplace_back(to_store(v, init.value_or(initial_value{})), init.has_value());
  return db_.replace_db(db, rows);
}

}  // namespace protos7::webadmin
