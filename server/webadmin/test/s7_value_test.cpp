// The S7 types of the web admin: names, sizes, Siemens addresses, and value <-> bytes for every
// type, including the refusals (wrong JSON type, out of range, not representable).
#include "protos7/webadmin/s7_value.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace protos7::webadmin;
using json = nlohmann::json;

namespace {

type_spec T(const char* name) {
  std::string why;
  const auto t = parse_type(name, why);
  EXPECT_TRUE(t) << name << ": " << why;
  return t.value_or(type_spec{});
}

std::vector<std::byte> B(std::initializer_list<unsigned> v) {
  std::vector<std::byte> out;
  for (const unsigned x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

// Encodes, checks the bytes, decodes them again and checks the value and its display.
void round_trip(const char* type, const json& in, std::vector<std::byte> bytes, const json& value,
                const std::string& display) {
  const type_spec t = T(type);
  const encoded_value e = encode_value(t, in);
  ASSERT_TRUE(e.ok()) << type << " " << in.dump() << ": " << e.error;
  EXPECT_EQ(e.bytes, bytes) << type << " " << in.dump();
  const decoded_value d = decode_value(t, bytes);
  EXPECT_EQ(d.value, value) << type;
  EXPECT_EQ(d.display, display) << type;
}

std::string refused(const char* type, const json& in) {
  const encoded_value e = encode_value(T(type), in);
  EXPECT_FALSE(e.ok()) << type << " " << in.dump() << " was accepted";
  return e.error;
}

}  // namespace

TEST(s7_type, parses_every_type_and_the_step7_short_forms) {
  EXPECT_EQ(T("BOOL").size(), 1U);
  EXPECT_EQ(T("int").name(), "INT");
  EXPECT_EQ(T("TOD").name(), "TIME_OF_DAY");
  EXPECT_EQ(T("DT").name(), "DATE_AND_TIME");
  EXPECT_EQ(T("DT").size(), 8U);
  EXPECT_EQ(T("String[20]").name(), "STRING[20]");
  EXPECT_EQ(T("STRING[20]").size(), 22U);
  EXPECT_EQ(T("STRING").name(), "STRING[254]");
  EXPECT_EQ(T("S5TIME").size(), 2U);
  EXPECT_EQ(T("DATE").size(), 2U);
  EXPECT_EQ(T("TIME").size(), 4U);
  EXPECT_EQ(type_names().size(), 22U);
}

TEST(s7_type, refuses_unknown_types_and_bad_string_lengths) {
  std::string why;
  EXPECT_FALSE(parse_type("QWORD", why));
  EXPECT_NE(why.find("unknown type 'QWORD'"), std::string::npos) << why;
  EXPECT_FALSE(parse_type("STRING[0]", why));
  EXPECT_NE(why.find("1..254"), std::string::npos) << why;
  EXPECT_FALSE(parse_type("STRING[255]", why));
  EXPECT_FALSE(parse_type("STRING[x]", why));
  EXPECT_FALSE(parse_type("INT'; DROP TABLE db_variables; --", why));
}

TEST(s7_address, uses_step7_notation) {
  EXPECT_EQ(siemens_address(200, T("BOOL"), 26, 1), "DB200.DBX26.1");
  EXPECT_EQ(siemens_address(200, T("BYTE"), 4, 0), "DB200.DBB4");
  EXPECT_EQ(siemens_address(200, T("CHAR"), 4, 0), "DB200.DBB4");
  EXPECT_EQ(siemens_address(200, T("INT"), 0, 0), "DB200.DBW0");
  EXPECT_EQ(siemens_address(200, T("S5TIME"), 2, 0), "DB200.DBW2");
  EXPECT_EQ(siemens_address(1, T("REAL"), 8, 0), "DB1.DBD8");
  EXPECT_EQ(siemens_address(1, T("TIME_OF_DAY"), 8, 0), "DB1.DBD8");
  EXPECT_EQ(siemens_address(200, T("STRING[20]"), 4, 0), "P#DB200.DBX4.0 BYTE 22");
  EXPECT_EQ(siemens_address(7, T("DATE_AND_TIME"), 10, 0), "P#DB7.DBX10.0 BYTE 8");
}

TEST(s7_value, integers_round_trip_big_endian) {
  round_trip("BYTE", 42, B({0x2A}), 42, "16#2A");
  round_trip("WORD", 65535, B({0xFF, 0xFF}), 65535, "16#FFFF");
  round_trip("INT", -2, B({0xFF, 0xFE}), -2, "-2");
  round_trip("INT", 32767, B({0x7F, 0xFF}), 32767, "32767");
  round_trip("DWORD", 4294967295U, B({0xFF, 0xFF, 0xFF, 0xFF}), 4294967295U, "16#FFFFFFFF");
  round_trip("DINT", -2147483648LL, B({0x80, 0, 0, 0}), -2147483648LL, "-2147483648");
}

TEST(s7_value, integers_out_of_range_or_of_the_wrong_json_type_are_refused) {
  EXPECT_NE(refused("INT", 32768).find("out of range for INT (-32768..32767)"), std::string::npos);
  refused("INT", -32769);
  refused("BYTE", 256);
  refused("BYTE", -1);
  refused("WORD", 65536);
  refused("DWORD", -1);
  refused("DINT", 2147483648LL);
  refused("INT", json::parse("18446744073709551615"));
  EXPECT_NE(refused("INT", "12").find("whole number, not a string"), std::string::npos);
  EXPECT_NE(refused("INT", 1.5).find("not a number with a fraction"), std::string::npos);
  refused("INT", true);
  refused("INT", nullptr);
  refused("DINT", json::array());
}

TEST(s7_value, goprotos7s_other_integers_and_lreal_round_trip_big_endian) {
  round_trip("SINT", -100, B({0x9C}), -100, "-100");
  round_trip("USINT", 250, B({0xFA}), 250, "250");
  round_trip("UINT", 60000, B({0xEA, 0x60}), 60000, "60000");
  round_trip("UDINT", 3000000000U, B({0xB2, 0xD0, 0x5E, 0x00}), 3000000000U, "3000000000");
  round_trip("LINT", -2, B({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE}), -2, "-2");
  round_trip("ULINT", 18446744073709551615ULL, B({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}),
             18446744073709551615ULL, "18446744073709551615");
  round_trip("LWORD", 0x0123456789ABCDEFULL, B({0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}),
             0x0123456789ABCDEFULL, "16#0123456789ABCDEF");
  round_trip("LREAL", -1.0625, B({0xBF, 0xF1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}), -1.0625,
             "-1.0625");
  // 64-bit values as text (a browser's numbers hold 53 bits), decimal or 16#.
  EXPECT_EQ(encode_value(T("ULINT"), "18446744073709551615").bytes,
            B({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(encode_value(T("LWORD"), "16#FFFFFFFFFFFFFFFE").bytes,
            B({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE}));
  EXPECT_EQ(encode_value(T("LINT"), "-9223372036854775808").bytes, B({0x80, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(refused("SINT", 128), "128 is out of range for SINT (-128..127)");
  EXPECT_EQ(refused("USINT", -1), "-1 is out of range for USINT (0..255)");
  EXPECT_EQ(refused("ULINT", -1), "-1 is out of range for ULINT (0..18446744073709551615)");
  EXPECT_NE(refused("ULINT", "18446744073709551616").find("ULINT"), std::string::npos);
  EXPECT_EQ(refused("LREAL", "1.5"), "LREAL takes a number, not a string");
  std::string why;
  EXPECT_EQ(parse_value_text(T("ULINT"), "18446744073709551615", why),
            json(18446744073709551615ULL));
  EXPECT_EQ(parse_value_text(T("LREAL"), "2.5", why), json(2.5));
}

TEST(s7_value, bool_is_a_bit) {
  const type_spec t = T("BOOL");
  EXPECT_EQ(encode_value(t, true).bytes, B({1}));
  EXPECT_EQ(encode_value(t, false).bytes, B({0}));
  EXPECT_EQ(decode_value(t, B({0x02}), 1).value, true);
  EXPECT_EQ(decode_value(t, B({0x02}), 0).value, false);
  EXPECT_EQ(decode_value(t, B({0x80}), 7).display, "TRUE");
  EXPECT_NE(refused("BOOL", 1).find("true or false"), std::string::npos);
  refused("BOOL", "true");
}

TEST(s7_value, real_is_ieee754_single_and_keeps_its_shortest_form) {
  round_trip("REAL", 21.5, B({0x41, 0xAC, 0x00, 0x00}), 21.5, "21.5");
  round_trip("REAL", 0.1, B({0x3D, 0xCC, 0xCC, 0xCD}), 0.1, "0.1");
  round_trip("REAL", -3, B({0xC0, 0x40, 0x00, 0x00}), -3.0, "-3");
  refused("REAL", 1e39);
  refused("REAL", "1.5");
  const decoded_value nan = decode_value(T("REAL"), B({0x7F, 0xC0, 0, 0}));
  EXPECT_TRUE(nan.value.is_null());
  EXPECT_EQ(nan.display, "NaN");
}

TEST(s7_value, string_has_max_and_actual_length_and_latin1_characters) {
  round_trip("STRING[4]", "ab", B({4, 2, 'a', 'b', 0, 0}), "ab", "ab");
  round_trip("STRING[3]", "", B({3, 0, 0, 0, 0}), "", "");
  // U+00E9 (é) is the byte 0xE9.
  round_trip("STRING[2]", "\xC3\xA9", B({2, 1, 0xE9, 0}), "\xC3\xA9", "\xC3\xA9");
  EXPECT_NE(refused("STRING[4]", "abcde").find("at most 4 characters, got 5"), std::string::npos);
  EXPECT_NE(refused("STRING[4]", "\xE2\x82\xAC").find("single-byte"), std::string::npos);  // €
  refused("STRING[4]", 5);
  // A corrupt header is shown, clamped to the declared length.
  const decoded_value d = decode_value(T("STRING[2]"), B({9, 9, 'x', 'y'}));
  EXPECT_EQ(d.value, "xy");
  EXPECT_NE(d.display.find("header says max 9 / length 9"), std::string::npos);
}

TEST(s7_value, char_is_one_byte) {
  round_trip("CHAR", "A", B({0x41}), "A", "'A'");
  EXPECT_EQ(decode_value(T("CHAR"), B({0x0A})).display, "'$0A'");
  EXPECT_NE(refused("CHAR", "AB").find("exactly one character, got 2"), std::string::npos);
  refused("CHAR", "");
}

TEST(s7_value, time_is_signed_milliseconds_with_iec_literals) {
  round_trip("TIME", 3723004, B({0x00, 0x38, 0xCE, 0xFC}), 3723004, "T#1h2m3s4ms");
  round_trip("TIME", "T#1d_2h", B({0x05, 0x94, 0x39, 0x00}), 93600000, "T#1d2h");
  round_trip("TIME", "-5s", B({0xFF, 0xFF, 0xEC, 0x78}), -5000, "T#-5s");
  round_trip("TIME", 0, B({0, 0, 0, 0}), 0, "T#0ms");
  refused("TIME", "T#25x");
  refused("TIME", 2147483648LL);
  refused("TIME", "T#30d");  // 2592000000 ms > 2^31 - 1
}

TEST(s7_value, s5time_picks_the_finest_time_base) {
  round_trip("S5TIME", 2340, B({0x02, 0x34}), 2340, "S5T#2s340ms");                // 234 x 10 ms
  round_trip("S5TIME", 99900, B({0x19, 0x99}), 99900, "S5T#1m39s900ms");           // 999 x 100 ms
  round_trip("S5TIME", "S5T#2h46m30s", B({0x39, 0x99}), 9990000, "S5T#2h46m30s");  // 999 x 10 s
  round_trip("S5TIME", 0, B({0x00, 0x00}), 0, "S5T#0ms");
  EXPECT_NE(refused("S5TIME", 12345).find("cannot hold 12345 ms exactly"), std::string::npos);
  refused("S5TIME", 9990001);
  refused("S5TIME", -10);
  const decoded_value bad = decode_value(T("S5TIME"), B({0x0A, 0xBC}));
  EXPECT_TRUE(bad.value.is_null());
  EXPECT_EQ(bad.display, "invalid S5TIME 16#0ABC");
}

TEST(s7_value, date_counts_days_from_1990) {
  round_trip("DATE", "1990-01-01", B({0, 0}), "1990-01-01", "D#1990-01-01");
  round_trip("DATE", "D#2024-03-05", B({0x30, 0xC2}), "2024-03-05", "D#2024-03-05");
  round_trip("DATE", "2168-12-31", B({0xFF, 0x62}), "2168-12-31", "D#2168-12-31");
  refused("DATE", "1989-12-31");
  refused("DATE", "2169-01-01");
  refused("DATE", "2023-02-29");
  refused("DATE", "2024-3-5");
  refused("DATE", 12);
}

TEST(s7_value, time_of_day_is_milliseconds_since_midnight) {
  round_trip("TIME_OF_DAY", "12:34:56.789", B({0x02, 0xB3, 0x2C, 0x95}), "12:34:56.789",
             "TOD#12:34:56.789");
  round_trip("TIME_OF_DAY", "TOD#23:59", B({0x05, 0x25, 0x71, 0xA0}), "23:59:00.000",
             "TOD#23:59:00.000");
  round_trip("TIME_OF_DAY", "00:00:00.5", B({0, 0, 0x01, 0xF4}), "00:00:00.500",
             "TOD#00:00:00.500");
  refused("TIME_OF_DAY", "24:00:00");
  refused("TIME_OF_DAY", "12:60");
  EXPECT_TRUE(
      decode_value(T("TIME_OF_DAY"), B({0x05, 0x26, 0x5C, 0x00})).value.is_null());  // 86400000
}

TEST(s7_value, date_and_time_is_bcd_with_the_weekday) {
  // 2024-03-05 was a Tuesday (3); ms 789 = 78 in byte 6, 9 in the high nibble of byte 7.
  round_trip("DATE_AND_TIME", "2024-03-05T12:34:56.789",
             B({0x24, 0x03, 0x05, 0x12, 0x34, 0x56, 0x78, 0x93}), "2024-03-05T12:34:56.789",
             "DT#2024-03-05-12:34:56.789");
  round_trip("DATE_AND_TIME", "DT#1990-01-01-00:00:00", B({0x90, 0x01, 0x01, 0, 0, 0, 0, 0x02}),
             "1990-01-01T00:00:00.000", "DT#1990-01-01-00:00:00.000");
  round_trip("DATE_AND_TIME", "2089-12-31 23:59:59.999",
             B({0x89, 0x12, 0x31, 0x23, 0x59, 0x59, 0x99, 0x97}), "2089-12-31T23:59:59.999",
             "DT#2089-12-31-23:59:59.999");
  refused("DATE_AND_TIME", "2090-01-01T00:00:00");
  refused("DATE_AND_TIME", "1989-12-31T00:00:00");
  refused("DATE_AND_TIME", "2024-02-30T00:00:00");
  const decoded_value bad =
      decode_value(T("DT"), B({0x24, 0x13, 0x05, 0x12, 0x34, 0x56, 0x78, 0x93}));
  EXPECT_TRUE(bad.value.is_null());
  EXPECT_NE(bad.display.find("invalid DATE_AND_TIME"), std::string::npos);
}

TEST(s7_value, text_forms_parse_to_the_json_forms) {
  std::string why;
  EXPECT_EQ(*parse_value_text(T("BOOL"), "TRUE", why), true);
  EXPECT_EQ(*parse_value_text(T("BOOL"), "0", why), false);
  EXPECT_EQ(*parse_value_text(T("BYTE"), "16#2A", why), 42);
  EXPECT_EQ(*parse_value_text(T("WORD"), "W#16#FF_FF", why), 65535);
  EXPECT_EQ(*parse_value_text(T("BYTE"), "2#1010", why), 10);
  EXPECT_EQ(*parse_value_text(T("INT"), "-12", why), -12);
  EXPECT_EQ(*parse_value_text(T("REAL"), "21.5", why), 21.5);
  EXPECT_EQ(*parse_value_text(T("TIME"), "1500", why), 1500);
  EXPECT_EQ(*parse_value_text(T("TIME"), "T#1s", why), "T#1s");
  EXPECT_EQ(*parse_value_text(T("STRING[5]"), " a b ", why), " a b ");
  EXPECT_FALSE(parse_value_text(T("INT"), "12abc", why));
  EXPECT_FALSE(parse_value_text(T("BOOL"), "yes", why));
  EXPECT_FALSE(parse_value_text(T("REAL"), "", why));
}

TEST(s7_value, latin1_mapping_round_trips_every_byte) {
  std::vector<std::byte> all;
  for (unsigned i = 0; i < 256; ++i) all.push_back(static_cast<std::byte>(i));
  const std::string utf8 = utf8_from_latin1(all);
  const auto back = latin1_from_utf8(utf8);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 256U);
  for (unsigned i = 0; i < 256; ++i) EXPECT_EQ(static_cast<unsigned char>((*back)[i]), i);
  EXPECT_FALSE(latin1_from_utf8("\xC3"));          // truncated
  EXPECT_FALSE(latin1_from_utf8("\xC0\x80"));      // overlong
  EXPECT_FALSE(latin1_from_utf8("\xED\xA0\x80"));  // surrogate
}

TEST(s7_calendar, civil_days_round_trip) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(1990, 1, 1), 7305);
  for (std::int64_t z = -800000; z < 800000; z += 997) {
    std::int64_t y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(z, y, m, d);
    ASSERT_EQ(days_from_civil(y, m, d), z);
  }
}
