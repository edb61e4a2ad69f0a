// Reading a JSON document strictly and naming the place of every error. The profile
// (services/profile.cpp), the fault rules (fault_rules.cpp) and the plant file (plant_config.cpp)
// walk their documents with these, so the three say a wrong value the same way:
//
//   line.json: $.plcs[1].pdu_size (PLC "b"): 70000 is outside 240..960
//   ^ source   ^ path             ^ context   ^ what is wrong
//
// Each document throws its own error type: a place carries the function that throws it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

namespace protos7::server::json_walk {

using json = nlohmann::ordered_json;

// Throws the document's error (profile_error, fault_error, plant_error) with `message`.
using raiser = void (*)(const std::string& message);

// Where in the document a value sits.
class place {
 public:
  place(const std::string& source, std::string path, raiser raise, std::string context = {})
      : source_(source), path_(std::move(path)), context_(std::move(context)), raise_(raise) {}
  [[nodiscard]] place key(std::string_view k) const;
  [[nodiscard]] place item(std::size_t i) const;
  // The same place, naming what it belongs to ("PLC \"b\"").
  [[nodiscard]] place with_context(std::string context) const {
    return {source_, path_, raise_, std::move(context)};
  }
  [[noreturn]] void fail(std::string_view what) const;

 private:
  const std::string& source_;
  std::string path_;
  std::string context_;
  raiser raise_;
};

// "an object", "a string", "an integer", ... for "expected X, got Y".
[[nodiscard]] std::string_view type_of(const json& j);

// `j` is an object holding only `allowed` keys and every key of `required`.
void expect_object(const json& j, const place& where, std::span<const std::string_view> allowed,
                   std::span<const std::string_view> required = {});
inline void expect_object(const json& j, const place& where,
                          std::initializer_list<std::string_view> allowed,
                          std::initializer_list<std::string_view> required = {}) {
  expect_object(j, where, std::span<const std::string_view>(allowed.begin(), allowed.size()),
                std::span<const std::string_view>(required.begin(), required.size()));
}

// What a string may hold: printable ASCII (what S7 strings hold), or anything but control
// characters (names, paths).
enum class text : std::uint8_t { printable_ascii, no_control };
struct string_rules {
  std::size_t max_length = 1024;
  text chars = text::printable_ascii;
  bool allow_empty = true;
};
[[nodiscard]] std::string get_string(const json& j, const place& where, string_rules rules);

// An unsigned integer from `lo` to `hi`: a JSON number, or with `from_text` also a decimal or
// "0x..." string (codes read better in hex).
enum class number_text : std::uint8_t { refused, allowed };
[[nodiscard]] std::uint64_t get_uint(const json& j, const place& where, std::uint64_t lo,
                                     std::uint64_t hi, number_text from_text);

[[nodiscard]] bool get_bool(const json& j, const place& where);

}  // namespace protos7::server::json_walk
