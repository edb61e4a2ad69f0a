// Item values as text (value_text.hpp): what `protos7 client read` prints and `write` takes.
#include "protos7/client/value_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protos7/codec/step7_address.hpp"

namespace {

using protos7::client::format_value;
using protos7::client::parse_value;
using bytes = std::vector<std::byte>;

protos7::codec::s7::any_address item(std::string_view operand) {
  const auto a = protos7::codec::step7::parse(operand);
  EXPECT_TRUE(a.ok()) << operand;
  return *a;
}

bytes b(std::initializer_list<unsigned> v) {
  bytes out;
  for (const unsigned x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

bytes written(std::string_view operand, std::string_view text) {
  bytes out;
  const protos7::status st = parse_value(item(operand), text, out);
  EXPECT_TRUE(st) << operand << " = " << text << ": " << st.why();
  return out;
}

std::string refusal(std::string_view operand, std::string_view text) {
  bytes out;
  const protos7::status st = parse_value(item(operand), text, out);
  EXPECT_FALSE(st) << operand << " = " << text;
  return st.why();
}

TEST(value_text, formats_each_type) {
  EXPECT_EQ(format_value(item("M0.0"), b({1})), "TRUE");
  EXPECT_EQ(format_value(item("MB0"), b({0x2A})), "42 (16#2A)");
  EXPECT_EQ(format_value(item("MW0"), b({0x00, 0x2A})), "42 (16#002A)");
  EXPECT_EQ(format_value(item("MD0"), b({0xFF, 0xFF, 0xFF, 0xFF})), "4294967295 (16#FFFFFFFF)");
  EXPECT_EQ(format_value(item("MB0 INT 1"), b({0xFF, 0xFB})), "-5");
  EXPECT_EQ(format_value(item("MB0 DINT 1"), b({0xFF, 0xFF, 0xFF, 0xFE})), "-2");
  EXPECT_EQ(format_value(item("MB0 REAL 1"), b({0x40, 0x60, 0x00, 0x00})), "3.5");
  EXPECT_EQ(format_value(item("MB0 CHAR 1"), b({0x41})), "'A'");
  EXPECT_EQ(format_value(item("MB0 DATE 1"), b({0x00, 0x00})), "D#1990-01-01");
  // 0x02AF0A7F = 45025919 ms since midnight.
  EXPECT_EQ(format_value(item("MB0 TOD 1"), b({0x02, 0xAF, 0x0A, 0x7F})), "TOD#12:30:25.919");
  EXPECT_EQ(format_value(item("MB0 TIME 1"), b({0x00, 0x00, 0x05, 0xDC})), "T#1500MS");
  // DATE_AND_TIME of s7_value.hpp's example: 2014-08-20 11:59:43.967, Wednesday.
  EXPECT_EQ(
      format_value(item("DB1.DBB0 DT 1"), b({0x14, 0x08, 0x20, 0x11, 0x59, 0x43, 0x96, 0x74})),
      "DT#2014-08-20-11:59:43.967");
  EXPECT_EQ(format_value(item("C5"), b({0x01, 0x23})), "16#0123");
}

TEST(value_text, formats_arrays_element_by_element_and_odd_data_as_hex) {
  EXPECT_EQ(format_value(item("MB0 BYTE 3"), b({1, 2, 255})), "1 (16#01) 2 (16#02) 255 (16#FF)");
  EXPECT_EQ(format_value(item("MB0 INT 2"), b({0, 1, 0xFF, 0xFF})), "1 -1");
  EXPECT_EQ(format_value(item("MW0"), b({1, 2, 3})), "16#010203");
  EXPECT_EQ(format_value(item("MW0"), {}), "16#");
}

TEST(value_text, parses_numbers_of_each_width_big_endian) {
  EXPECT_EQ(written("MW10", "42"), b({0x00, 0x2A}));
  EXPECT_EQ(written("MW10", "16#BEEF"), b({0xBE, 0xEF}));
  EXPECT_EQ(written("MW10", "0x10"), b({0x00, 0x10}));
  EXPECT_EQ(written("MW10", "-1"), b({0xFF, 0xFF}));
  EXPECT_EQ(written("MB0", "255"), b({0xFF}));
  EXPECT_EQ(written("MD0", "305419896"), b({0x12, 0x34, 0x56, 0x78}));
  EXPECT_EQ(written("MB0 INT 1", "-5"), b({0xFF, 0xFB}));
  EXPECT_EQ(written("MB0 DINT 1", "-2"), b({0xFF, 0xFF, 0xFF, 0xFE}));
  EXPECT_EQ(written("MB0 REAL 1", "3.5"), b({0x40, 0x60, 0x00, 0x00}));
  EXPECT_EQ(written("DB1.DBX0.1", "true"), b({0x01}));
  EXPECT_EQ(written("DB1.DBX0.1", "0"), b({0x00}));
  EXPECT_EQ(written("MB0 CHAR 1", "'Z'"), b({0x5A}));
  EXPECT_EQ(written("MB0 BYTE 4", "1 2,3 4"), b({1, 2, 3, 4}));
  EXPECT_EQ(written("C5", "16#0123"), b({0x01, 0x23}));
}

TEST(value_text, refuses_values_the_item_cannot_hold) {
  EXPECT_NE(refusal("MB0", "256"), "");
  EXPECT_NE(refusal("MB0 INT 1", "40000"), "");
  EXPECT_NE(refusal("MW0", "12abc"), "");
  EXPECT_NE(refusal("MW0", ""), "");
  EXPECT_NE(refusal("M0.0", "2"), "");
  EXPECT_NE(refusal("MB0 REAL 1", "pi"), "");
  EXPECT_NE(refusal("MB0 BYTE 4", "1 2 3"), "");
  EXPECT_NE(refusal("MB0 CHAR 1", "AB"), "");
  EXPECT_NE(refusal("C5", "5"), "");
  EXPECT_NE(refusal("C5", "16#01"), "");
}

}  // namespace
