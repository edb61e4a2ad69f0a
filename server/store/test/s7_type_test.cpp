// The type table against goprotos7's facts (data_types.go: names and sizes; build-datab.go:
// STRING = 2 + length bytes).
#include "protos7/store/s7_type.hpp"

#include <gtest/gtest.h>

using namespace protos7::store;

namespace {

type_spec parse(const char* text) {
  std::string why;
  const auto t = parse_type(text, why);
  EXPECT_TRUE(t.has_value()) << text << ": " << why;
  return t.value_or(type_spec{});
}

}  // namespace

TEST(s7_type, goprotos7s_seventeen_types_have_goprotos7s_sizes_and_names) {
  const std::pair<const char*, std::size_t> facts[] = {
      {"BOOL", 1},  {"BYTE", 1}, {"WORD", 2},  {"DWORD", 4}, {"LWORD", 8}, {"SINT", 1},
      {"USINT", 1}, {"INT", 2},  {"UINT", 2},  {"DINT", 4},  {"UDINT", 4}, {"LINT", 8},
      {"ULINT", 8}, {"REAL", 4}, {"LREAL", 8}, {"CHAR", 1},
  };
  for (const auto& [name, size] : facts) {
    const type_spec t = parse(name);
    EXPECT_EQ(t.size(), size) << name;
    EXPECT_TRUE(t.is_goprotos7()) << name;
    EXPECT_EQ(t.goprotos7_name(), name);
    EXPECT_EQ(t.name(), name);
  }
  const type_spec s = parse("STRING[20]");
  EXPECT_EQ(s.size(), 22U);
  EXPECT_TRUE(s.is_goprotos7());
  EXPECT_EQ(s.goprotos7_name(), "STRING[n]");  // goprotos7 writes the n literally
  EXPECT_EQ(parse("string").string_length, 254U);
}

TEST(s7_type, the_other_s7_types_are_stored_as_the_goprotos7_type_of_their_bytes) {
  const std::pair<const char*, const char*> facts[] = {
      {"TIME", "DINT"},   {"DATE", "UINT"},           {"TIME_OF_DAY", "UDINT"}, {"TOD", "UDINT"},
      {"S5TIME", "WORD"}, {"DATE_AND_TIME", "LWORD"}, {"DT", "LWORD"},
  };
  for (const auto& [name, stored] : facts) {
    const type_spec t = parse(name);
    EXPECT_FALSE(t.is_goprotos7()) << name;
    EXPECT_EQ(t.goprotos7_name(), stored) << name;
    EXPECT_EQ(t.goprotos7_type().size(), t.size()) << name;
  }
}

TEST(s7_type, signedness_follows_iec_61131) {
  for (const char* n : {"SINT", "INT", "DINT", "LINT", "TIME"})
    EXPECT_TRUE(parse(n).is_signed()) << n;
  for (const char* n :
       {"BYTE", "USINT", "WORD", "UINT", "DWORD", "UDINT", "LWORD", "ULINT", "DATE"})
    EXPECT_FALSE(parse(n).is_signed()) << n;
}

TEST(s7_type, refuses_unknown_names_and_bad_string_lengths_with_a_sentence) {
  std::string why;
  EXPECT_FALSE(parse_type("QWORD", why));
  EXPECT_NE(why.find("unknown type 'QWORD'"), std::string::npos);
  EXPECT_NE(why.find("LREAL"), std::string::npos);
  EXPECT_FALSE(parse_type("STRING[0]", why));
  EXPECT_FALSE(parse_type("STRING[255]", why));
  EXPECT_NE(why.find("1..254"), std::string::npos);
  EXPECT_FALSE(parse_type("STRING[n]", why));  // the literal n is goprotos7's, read with `length`
}

TEST(s7_type, every_listed_name_parses) {
  for (const std::string& n : type_names()) {
    std::string why;
    const std::string text = n == "STRING[n]" ? "STRING[8]" : n;
    EXPECT_TRUE(parse_type(text, why).has_value()) << n;
  }
  EXPECT_EQ(type_names().size(), 22U);
}
