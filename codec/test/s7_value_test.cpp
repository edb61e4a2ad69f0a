// S7 data type layouts (s7_value.hpp): the STRING header, the BCD DATE_AND_TIME and the BOOL bit.
#include "protos7/codec/s7_value.hpp"

#include <gtest/gtest.h>

#include "protos7/codec/userdata.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

namespace value = s7::value;
using test::byte_vec;
using test::hex;
using test::view;

// --- STRING ----------------------------------------------------------------------------------

TEST(s7_string, decodes_a_string_and_writes_it_back) {
  const byte_vec in =
      hex("08"              // max length: STRING[8]
          "05"              // actual length 5
          "48 65 6c 6c 6f"  // "Hello"
          "00 00 00");      // unused characters
  const auto s = value::parse_string(view(in), nullptr);
  ASSERT_DECODES(s);
  EXPECT_EQ(s->max_length, 8);
  EXPECT_EQ(s->length, 5);
  EXPECT_EQ(s->chars.size(), 8U);
  EXPECT_BYTES_EQ(s->text(), view(hex("48656c6c6f")));
  EXPECT_WRITES([&](writer& w) { value::write_string(w, s->max_length, s->text()); }, view(in));
  EXPECT_EQ(value::string_size(8), in.size());
}

TEST(s7_string, writes_the_empty_string_as_header_and_zeros) {
  EXPECT_WRITES([&](writer& w) { value::write_string(w, 3, {}); }, view(hex("03 00 000000")));
  EXPECT_WRITES([&](writer& w) { value::write_string(w, 0, {}); }, view(hex("00 00")));
}

TEST(s7_string, rejects_a_header_that_disagrees_with_the_bytes) {
  // max length 9, but 8 characters follow: reported at the max length byte.
  const byte_vec wrong_max = hex("09 02 4142 000000000000");
  EXPECT_FAILS_WITH(value::parse_string(view(wrong_max), nullptr), value_string_bad_max_length,
                    s7_value, 0U);
  // actual length 9 > max length 8: reported at the actual length byte.
  const byte_vec too_long = hex("08 09 4142434445464748");
  EXPECT_FAILS_WITH(value::parse_string(view(too_long), nullptr), value_string_too_long, s7_value,
                    1U);
  // Offsets from the caller's origin: the STRING at DB offset 4.
  const byte_vec db = hex("00000000 08 09 4142434445464748");
  EXPECT_FAILS_WITH(value::parse_string(view(db).subspan(4), db.data()), value_string_too_long,
                    s7_value, 5U);
  const byte_vec one = hex("08");
  EXPECT_FAILS_WITH(value::parse_string(view(one), nullptr), truncated, s7_value, 1U);
  EXPECT_FAILS_WITH(value::parse_string({}, nullptr), truncated, s7_value, 0U);
}

TEST(s7_string, lenient_header_bounds_the_text_by_every_length) {
  const value::string_options lenient{.lenient_header = true};
  const byte_vec too_long = hex("08 09 4142434445464748");
  const auto a = value::parse_string(view(too_long), nullptr, lenient);
  ASSERT_DECODES(a);
  EXPECT_EQ(a->length, 9);
  EXPECT_EQ(a->text().size(), 8U);  // bounded by the max length
  const byte_vec small_max = hex("02 05 4142434445464748");
  const auto b = value::parse_string(view(small_max), nullptr, lenient);
  ASSERT_DECODES(b);
  EXPECT_BYTES_EQ(b->text(), view(hex("4142")));  // bounded by max length 2
  const byte_vec big_max = hex("fe fe 4142");
  const auto c = value::parse_string(view(big_max), nullptr, lenient);
  ASSERT_DECODES(c);
  EXPECT_BYTES_EQ(c->text(), view(hex("4142")));  // bounded by the bytes present
  const byte_vec one = hex("08");
  EXPECT_FAILS_WITH(value::parse_string(view(one), nullptr, lenient), truncated, s7_value, 1U);
}

TEST(s7_string, refuses_to_write_what_has_no_encoding) {
  const byte_vec text = hex("414243");
  byte_vec out(16);
  writer w{mutable_bytes{out}};
  value::write_string(w, 2, view(text));  // 3 characters into a STRING[2]
  EXPECT_EQ(w.finish().err().code, errc::value_out_of_range);
  byte_vec big(300);
  writer w2{mutable_bytes{big}};
  value::write_string(w2, 255, {});  // STRING[255] does not exist
  EXPECT_EQ(w2.finish().err().code, errc::value_out_of_range);
}

// --- DATE_AND_TIME ---------------------------------------------------------------------------

// s7comm_reading_setting_plc_time.pcap frame 29: SZL 0x0132 index 8, record offset 22.
const char* const captured_dt =
    "14"   // year 2014
    "08"   // month
    "20"   // day
    "11"   // hour
    "59"   // minute
    "43"   // second
    "96"   // ms hundreds and tens: 96
    "74";  // ms units 7, weekday 4 (Wednesday)

TEST(s7_date_and_time, decodes_the_captured_clock_and_writes_it_back) {
  const byte_vec in = hex(captured_dt);
  const auto t = value::parse_date_and_time(view(in), nullptr);
  ASSERT_DECODES(t);
  EXPECT_EQ(*t, (value::date_and_time{2014, 8, 20, 11, 59, 43, 967, 4}));
  EXPECT_WRITES([&](writer& w) { value::write_date_and_time(w, *t); }, view(in));
}

TEST(s7_date_and_time, maps_two_digit_years_below_90_to_20xx) {
  const byte_vec y1990 = hex("90 01 01 00 00 00 00 02");
  const byte_vec y2089 = hex("89 12 31 23 59 59 99 97");
  const auto a = value::parse_date_and_time(view(y1990), nullptr);
  const auto b = value::parse_date_and_time(view(y2089), nullptr);
  ASSERT_DECODES(a);
  ASSERT_DECODES(b);
  EXPECT_EQ(a->year, 1990);
  EXPECT_EQ(b->year, 2089);
  EXPECT_EQ(b->millisecond, 999);
  EXPECT_EQ(b->weekday, 7);
  EXPECT_WRITES([&](writer& w) { value::write_date_and_time(w, *a); }, view(y1990));
  EXPECT_WRITES([&](writer& w) { value::write_date_and_time(w, *b); }, view(y2089));
}

TEST(s7_date_and_time, rejects_non_bcd_digits_and_out_of_range_fields_at_its_first_byte) {
  const byte_vec good = hex(captured_dt);
  const struct {
    std::size_t at;
    unsigned value;
  } cases[] = {{0, 0xA0},   // year not BCD
               {1, 0x00},   // month 0
               {1, 0x13},   // month 13
               {2, 0x00},   // day 0
               {2, 0x32},   // day 32
               {2, 0x1F},   // day not BCD
               {3, 0x24},   // hour 24
               {4, 0x60},   // minute 60
               {5, 0x60},   // second 60
               {6, 0x9A},   // ms hundreds and tens not BCD
               {7, 0xA4}};  // ms units 10
  for (const auto& c : cases) {
    byte_vec in = good;
    in[c.at] = static_cast<std::byte>(c.value);
    EXPECT_FAILS_WITH(value::parse_date_and_time(view(in), nullptr), value_bad_date_and_time,
                      s7_value, 0U)
        << "byte " << c.at << " = " << c.value;
  }
  // The weekday nibble is taken as sent (Step 7 sends 0 when it sets the clock).
  byte_vec weekday_f = good;
  weekday_f[7] = std::byte{0x7F};
  EXPECT_TRUE(value::parse_date_and_time(view(weekday_f), nullptr).ok());
}

TEST(s7_date_and_time, reports_the_offset_from_the_callers_origin) {
  const byte_vec rec = test::concat({view(hex("0000 0000")), view(hex("14 13 20 11 59 43 96 74"))});
  EXPECT_FAILS_WITH(value::parse_date_and_time(view(rec).subspan(4), rec.data()),
                    value_bad_date_and_time, s7_value, 4U);
  EXPECT_FAILS_WITH(value::parse_date_and_time(view(rec).subspan(4, 7), rec.data()), truncated,
                    s7_value, 11U);
  const byte_vec nine = hex("14 08 20 11 59 43 96 74 00");
  EXPECT_FAILS_WITH(value::parse_date_and_time(view(nine), nullptr), trailing_bytes, s7_value, 8U);
}

TEST(s7_date_and_time, read_reports_the_callers_code) {
  const byte_vec in = hex("14 13 20 11 59 43 96 74");
  reader r{view(in), layer::userdata};
  (void)value::read_date_and_time(r, errc::userdata_bad_timestamp);
  EXPECT_EQ(r.err(), test::err(errc::userdata_bad_timestamp, layer::userdata, 0));
}

TEST(s7_date_and_time, refuses_to_write_fields_without_a_bcd_form) {
  for (const value::date_and_time t : {value::date_and_time{1989, 1, 1, 0, 0, 0, 0, 1},
                                       value::date_and_time{2090, 1, 1, 0, 0, 0, 0, 1},
                                       value::date_and_time{2000, 100, 1, 0, 0, 0, 0, 1},
                                       value::date_and_time{2000, 1, 1, 0, 0, 0, 1000, 1},
                                       value::date_and_time{2000, 1, 1, 0, 0, 0, 0, 16}}) {
    byte_vec out(8);
    writer w{mutable_bytes{out}};
    value::write_date_and_time(w, t);
    EXPECT_EQ(w.finish().err().code, errc::value_out_of_range);
  }
}

TEST(s7_date_and_time, is_the_last_8_bytes_of_the_clock_timestamp) {
  // The clock functions' timestamp is two bytes and a DATE_AND_TIME: both write the same 8 bytes.
  const byte_vec ts = hex("00 19 14 08 20 11 59 43 91 24");
  const auto t = s7::ud::parse_timestamp(view(ts), nullptr);
  ASSERT_DECODES(t);
  EXPECT_WRITES([&](writer& w) { value::write_date_and_time(w, s7::ud::date_and_time_of(*t)); },
                view(ts).subspan(2));
}

// --- BOOL ------------------------------------------------------------------------------------

TEST(s7_bool, gets_and_sets_the_bit_of_an_address) {
  const std::byte b{0b1010'0001};
  EXPECT_TRUE(value::get_bit(b, 0));
  EXPECT_FALSE(value::get_bit(b, 1));
  EXPECT_TRUE(value::get_bit(b, 5));
  EXPECT_TRUE(value::get_bit(b, 7));
  EXPECT_EQ(value::set_bit(b, 1, true), std::byte{0b1010'0011});
  EXPECT_EQ(value::set_bit(b, 7, false), std::byte{0b0010'0001});
  EXPECT_EQ(value::set_bit(b, 0, true), b);  // already set: unchanged
  // The bit number is 3 bits: 8 is bit 0.
  EXPECT_TRUE(value::get_bit(b, 8));
  EXPECT_EQ(value::set_bit(std::byte{0}, 9, true), std::byte{0b10});
}

TEST(s7_value_counter_timer, words_with_bits_15_14_fit_no_counter_or_timer) {
  // Counters 0..999 (0x03e7), S5TIME with time base 3 and 999 (0x3999) fit; the words of
  // snap7_s300_everything.pcapng frame 53 (0xefbe, 0xfeca) do not.
  EXPECT_TRUE(value::fits_counter_or_timer(view(hex("03e7 3999 0000"))));
  EXPECT_FALSE(value::fits_counter_or_timer(view(hex("0000 efbe"))));
  EXPECT_FALSE(value::fits_counter_or_timer(view(hex("feca"))));
  EXPECT_FALSE(value::fits_counter_or_timer(view(hex("4000"))));
  EXPECT_TRUE(value::fits_counter_or_timer(view(hex(""))));
}

}  // namespace
}  // namespace protos7::codec
