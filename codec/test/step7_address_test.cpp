// STEP 7 operand notation <-> S7ANY addresses (step7_address.hpp).
#include "protos7/codec/step7_address.hpp"

#include <gtest/gtest.h>

#include <string>

#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/writer.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using s7::any_address;
using test::byte_vec;
using test::hex;

constexpr std::uint8_t db = 0x84, di = 0x85, inputs = 0x81, outputs = 0x82, flags = 0x83;
constexpr std::uint8_t periphery = 0x80, counters = 0x1C, timers = 0x1D;
constexpr std::uint8_t bit = 1, byte = 2, word = 4, int_ = 5, dword = 6, real = 8;

any_address parsed(std::string_view text) {
  const auto r = step7::parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << to_string(r.err().code) << " at " << r.err().offset;
  return r.ok() ? *r : any_address{};
}

std::string formatted(const any_address& a) {
  return std::string(step7::to_text(a).view());
}

void expect_error(std::string_view text, errc code, std::uint32_t offset) {
  const auto r = step7::parse(text);
  ASSERT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.err().code, code) << text;
  EXPECT_EQ(r.err().where, layer::step7_text) << text;
  EXPECT_EQ(r.err().offset, offset) << text;
}

TEST(step7_parse, db_operands_of_every_size) {
  EXPECT_EQ(parsed("DB1.DBX4.0"), (any_address{bit, 1, 1, db, 4 * 8 + 0}));
  EXPECT_EQ(parsed("DB1.DBX4.7"), (any_address{bit, 1, 1, db, 4 * 8 + 7}));
  EXPECT_EQ(parsed("DB1.DBB0"), (any_address{byte, 1, 1, db, 0}));
  EXPECT_EQ(parsed("DB200.DBW10"), (any_address{word, 1, 200, db, 80}));
  EXPECT_EQ(parsed("DB65535.DBD8"), (any_address{dword, 1, 65535, db, 64}));
  EXPECT_EQ(parsed("DI5.DIW2"), (any_address{word, 1, 5, di, 16}));
}

TEST(step7_parse, area_operands_with_english_and_german_mnemonics) {
  EXPECT_EQ(parsed("MW10"), (any_address{word, 1, 0, flags, 80}));
  EXPECT_EQ(parsed("MB0"), (any_address{byte, 1, 0, flags, 0}));
  EXPECT_EQ(parsed("M10.3"), (any_address{bit, 1, 0, flags, 83}));
  EXPECT_EQ(parsed("I0.1"), (any_address{bit, 1, 0, inputs, 1}));
  EXPECT_EQ(parsed("E0.1"), parsed("I0.1"));
  EXPECT_EQ(parsed("QD4"), (any_address{dword, 1, 0, outputs, 32}));
  EXPECT_EQ(parsed("AD4"), parsed("QD4"));
  EXPECT_EQ(parsed("PIW256"), (any_address{word, 1, 0, periphery, 256 * 8}));
  EXPECT_EQ(parsed("PEW256"), parsed("PIW256"));
  EXPECT_EQ(parsed("PQB2"), (any_address{byte, 1, 0, periphery, 16}));
}

TEST(step7_parse, counters_and_timers_by_number) {
  EXPECT_EQ(parsed("C5"), (any_address{28, 1, 0, counters, 5}));
  EXPECT_EQ(parsed("Z5"), parsed("C5"));
  EXPECT_EQ(parsed("T3"), (any_address{29, 1, 0, timers, 3}));
  EXPECT_EQ(parsed("C0 COUNTER 4"), (any_address{28, 4, 0, counters, 0}));
}

TEST(step7_parse, type_and_count_suffix_and_any_pointer) {
  EXPECT_EQ(parsed("MB0 BYTE 4"), (any_address{byte, 4, 0, flags, 0}));
  EXPECT_EQ(parsed("MW10 INT"), (any_address{int_, 1, 0, flags, 80}));
  EXPECT_EQ(parsed("DB1.DBB0 REAL 2"), (any_address{real, 2, 1, db, 0}));
  EXPECT_EQ(parsed("P#DB1.DBX0.0 BYTE 10"), (any_address{byte, 10, 1, db, 0}));
  EXPECT_EQ(parsed("P#M0.0 BOOL 1"), (any_address{bit, 1, 0, flags, 0}));
  EXPECT_EQ(parsed("M0.1 BOOL"), (any_address{bit, 1, 0, flags, 1}));
  EXPECT_EQ(parsed("DB1.DBB0 DATE_AND_TIME 1"), (any_address{15, 1, 1, db, 0}));
}

TEST(step7_parse, lower_case_and_surrounding_spaces) {
  EXPECT_EQ(parsed("  db1.dbw0 "), (any_address{word, 1, 1, db, 0}));
  EXPECT_EQ(parsed("mb0\tbyte\t4"), (any_address{byte, 4, 0, flags, 0}));
}

TEST(step7_parse, rejects_what_is_not_an_operand_at_its_character) {
  expect_error("", errc::address_syntax, 0);
  expect_error("X10", errc::address_syntax, 0);
  expect_error("DB1.DBQ0", errc::address_syntax, 6);
  expect_error("DB1DBW0", errc::address_syntax, 3);
  expect_error("DB1.DIW0", errc::address_syntax, 4);
  expect_error("MW", errc::address_syntax, 2);
  expect_error("M10", errc::address_syntax, 3);  // a bit operand needs its bit
  expect_error("MW10x", errc::address_syntax, 4);
  expect_error("MW10 BYTE 4 5", errc::address_syntax, 12);
  expect_error("P#MB0 BYTE 4", errc::address_syntax, 3);  // P# takes the bit form
  expect_error("P#M0.0 BYTE", errc::address_syntax, 11);  // and a count
}

TEST(step7_parse, rejects_numbers_out_of_range_at_the_number) {
  expect_error("DB0.DBW0", errc::address_out_of_range, 2);
  expect_error("DB65536.DBW0", errc::address_out_of_range, 2);
  expect_error("M0.8", errc::address_out_of_range, 3);
  expect_error("MW2097152", errc::address_out_of_range, 2);
  expect_error("MB0 BYTE 0", errc::address_out_of_range, 9);
  expect_error("MB0 BYTE 65536", errc::address_out_of_range, 9);
  expect_error("C65536", errc::address_out_of_range, 1);
  expect_error("DB1.DBW99999999999999", errc::address_out_of_range, 7);
}

TEST(step7_parse, rejects_types_the_operand_cannot_have) {
  expect_error("MB0 WORDS 4", errc::address_bad_type, 4);
  expect_error("DB1.DBW0 BOOL", errc::address_bad_type, 9);
  expect_error("M0.0 BYTE 2", errc::address_bad_type, 5);
}

TEST(step7_format, writes_the_plain_operand_for_single_elements) {
  EXPECT_EQ(formatted({bit, 1, 1, db, 4 * 8}), "DB1.DBX4.0");
  EXPECT_EQ(formatted({word, 1, 1, db, 0}), "DB1.DBW0");
  EXPECT_EQ(formatted({dword, 1, 5, di, 32}), "DI5.DID4");
  EXPECT_EQ(formatted({word, 1, 0, flags, 80}), "MW10");
  EXPECT_EQ(formatted({bit, 1, 0, inputs, 1}), "I0.1");
  EXPECT_EQ(formatted({byte, 1, 0, outputs, 8}), "QB1");
  EXPECT_EQ(formatted({word, 1, 0, periphery, 2048}), "PW256");
  EXPECT_EQ(formatted({28, 1, 0, counters, 5}), "C5");
  EXPECT_EQ(formatted({29, 1, 0, timers, 3}), "T3");
}

TEST(step7_format, writes_type_and_count_for_arrays_and_typed_items) {
  EXPECT_EQ(formatted({byte, 4, 0, flags, 0}), "MB0 BYTE 4");
  EXPECT_EQ(formatted({int_, 1, 0, flags, 80}), "MB10 INT 1");
  EXPECT_EQ(formatted({real, 2, 1, db, 16}), "DB1.DBB2 REAL 2");
  EXPECT_EQ(formatted({28, 3, 0, counters, 0}), "C0 COUNTER 3");
  EXPECT_EQ(formatted({word, 1, 0, counters, 0}), "C0 WORD 1");
  EXPECT_EQ(formatted({bit, 8, 0, flags, 0}), "P#M0.0 BOOL 8");
  EXPECT_EQ(formatted({byte, 4, 0, flags, 3}), "P#M0.3 BYTE 4");
}

TEST(step7_format, has_no_form_for_what_step7_does_not_name) {
  EXPECT_TRUE(step7::to_text({byte, 1, 0, 0x1E, 0}).empty());   // S7-200 IEC counters
  EXPECT_TRUE(step7::to_text({0x13, 1, 1, db, 0}).empty());     // unknown transport size
  EXPECT_TRUE(step7::to_text({byte, 0, 1, db, 0}).empty());     // count 0
  EXPECT_TRUE(step7::to_text({byte, 1, 0, db, 0}).empty());     // DB 0
  EXPECT_TRUE(step7::to_text({byte, 1, 7, flags, 0}).empty());  // a DB number on M
  std::array<char, 4> small{};
  EXPECT_EQ(step7::format({word, 1, 1, db, 0}, small), 0U);
}

TEST(step7_format, round_trips_through_parse) {
  const any_address cases[] = {
      {bit, 1, 1, db, 0},
      {bit, 1, 65535, di, 0xFFFFFF},
      {byte, 1, 0, flags, 0},
      {word, 1, 0, inputs, 8},
      {dword, 1, 0, outputs, 0x7FFF8},
      {byte, 65535, 9, db, 0},
      {real, 3, 0, flags, 24},
      {15, 1, 2, db, 0},
      {28, 1, 0, counters, 65535},
      {29, 9, 0, timers, 1},
      {bit, 2, 0, flags, 7},
      {int_, 2, 0, periphery, 5},
      {byte, 1, 0, 0x86, 0},
      {word, 1, 0, 0x87, 8},
  };
  for (const any_address& a : cases) {
    const std::string t = formatted(a);
    ASSERT_FALSE(t.empty());
    EXPECT_EQ(parsed(t), a) << t;
  }
}

TEST(step7_parse, parsed_item_encodes_as_the_s7any_item) {
  // | 12 | 0a | 10 | tsize BYTE 02 | count 0004 | DB 0001 | area DB 84 | address 000000 |
  const any_address a = parsed("DB1.DBB0 BYTE 4");
  byte_vec out(s7::s7any_item_size);
  writer w{out};
  s7::write_any(w, a);
  ASSERT_TRUE(w.finish().ok());
  EXPECT_EQ(out, hex("12 0a 10 02 0004 0001 84 000000"));
}

}  // namespace
}  // namespace protos7::codec
