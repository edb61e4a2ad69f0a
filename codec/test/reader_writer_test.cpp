// The codec's plumbing: the bounded reader, the counting writer, and the error values
// (reader.hpp, writer.hpp, error.hpp).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/writer.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::view;

// --- reader -------------------------------------------------------------------------------

TEST(reader, reads_big_endian_fields) {
  const byte_vec in = hex("01 0203 040506 0708090a");
  reader r{view(in), layer::s7_header};
  EXPECT_EQ(r.peek_u8(), 0x01);
  EXPECT_EQ(r.u8(), 0x01);
  EXPECT_EQ(r.u16be(), 0x0203);
  EXPECT_EQ(r.u24be(), 0x040506U);
  EXPECT_EQ(r.offset(), 6U);
  EXPECT_EQ(r.remaining(), 4U);
  EXPECT_EQ(r.u32be(), 0x0708090AU);
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(r.expect_end());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.peek_u8(), 0);  // nothing left: 0, and no error
  EXPECT_TRUE(r.ok());
}

TEST(reader, reports_truncation_at_the_field_that_does_not_fit) {
  const byte_vec in = hex("01 02 03");
  reader r{view(in), layer::cotp};
  EXPECT_EQ(r.u8(), 1);
  EXPECT_EQ(r.u32be(), 0U);  // 4 bytes at offset 1, 2 left
  EXPECT_EQ(r.err(), test::err(errc::truncated, layer::cotp, 1));
}

TEST(reader, keeps_the_first_error) {
  const byte_vec in = hex("01 02");
  reader r{view(in), layer::userdata};
  (void)r.u8();
  r.fail(errc::userdata_bad_head);                           // at 1
  r.fail_at(errc::userdata_bad_type, 0);                     // ignored
  (void)r.u16be();                                           // ignored, returns 0
  r.adopt(test::err(errc::szl_bad_request, layer::szl, 9));  // ignored
  EXPECT_FALSE(r.expect_end());
  EXPECT_EQ(r.err(), test::err(errc::userdata_bad_head, layer::userdata, 1));
  // After a failure every read gives 0 or an empty view.
  EXPECT_EQ(r.u8(), 0);
  EXPECT_TRUE(r.take(1).empty());
  EXPECT_EQ(r.peek_u8(), 0);
}

TEST(reader, measures_offsets_from_the_origin) {
  const byte_vec frame = hex("03 00 0009 02 f0 80 32 07");
  reader r{view(frame).subspan(7), frame.data(), layer::s7_header};
  EXPECT_EQ(r.offset(), 7U);
  EXPECT_EQ(r.origin(), frame.data());
  (void)r.u16be();
  EXPECT_EQ(r.u8(), 0);
  EXPECT_EQ(r.err(), test::err(errc::truncated, layer::s7_header, 9));
}

TEST(reader, bounds_a_child_to_its_block) {
  const byte_vec in = hex("02 aa bb cc");
  reader r{view(in), layer::s7_param};
  const std::uint8_t n = r.u8();
  reader child = r.sub(n, layer::s7_item);
  EXPECT_EQ(child.where(), layer::s7_item);
  EXPECT_EQ(child.offset(), 1U);
  EXPECT_EQ(child.u16be(), 0xAABB);
  EXPECT_EQ(child.u8(), 0);  // past the child's end, though the parent has more
  EXPECT_EQ(child.err(), test::err(errc::truncated, layer::s7_item, 3));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.offset(), 3U);  // the parent moved past the block
  r.adopt(child.err());
  EXPECT_EQ(r.err(), child.err());
}

TEST(reader, fails_a_child_larger_than_what_is_left) {
  const byte_vec in = hex("05 aa");
  reader r{view(in), layer::s7_param};
  (void)r.u8();
  reader child = r.sub(5);
  EXPECT_EQ(r.err(), test::err(errc::truncated, layer::s7_param, 1));
  EXPECT_EQ(child.err(), r.err());  // the child starts failed
  EXPECT_TRUE(child.rest().empty());
}

TEST(reader, reports_trailing_bytes_with_the_given_code) {
  const byte_vec in = hex("01 02 03");
  reader r{view(in), layer::s7_data};
  r.skip(1);
  EXPECT_FALSE(r.expect_end(errc::param_bad_length));
  EXPECT_EQ(r.err(), test::err(errc::param_bad_length, layer::s7_data, 1));
  reader r2{view(in), layer::s7_data};
  r2.skip(2);
  EXPECT_FALSE(r2.expect_end());
  EXPECT_EQ(r2.err(), test::err(errc::trailing_bytes, layer::s7_data, 2));
}

TEST(reader, takes_views_not_copies) {
  const byte_vec in = hex("01 02 03 04");
  reader r{view(in), layer::none};
  const bytes b = r.take(3);
  EXPECT_EQ(b.data(), in.data());
  EXPECT_EQ(r.rest().data(), in.data() + 3);
  EXPECT_EQ(offset_of(in.data(), r.rest().data()), 3U);
  r.set_layer(layer::szl);
  EXPECT_EQ(r.where(), layer::szl);
}

// --- writer -------------------------------------------------------------------------------

TEST(writer, counts_in_an_empty_span) {
  writer w{mutable_bytes{}};
  w.u8(1);
  w.u16be(2);
  w.u24be(3);
  w.u32be(4);
  w.zeros(5);
  const byte_vec raw = hex("aa bb");
  w.raw(view(raw));
  EXPECT_EQ(w.size(), 17U);
  EXPECT_TRUE(w.overflowed());
  EXPECT_EQ(w.finish().err(), (error{errc::buffer_too_small, layer::encode, 0, 17}));
}

TEST(writer, writes_exactly_into_a_buffer_of_the_counted_size) {
  const auto write = [](writer& w) {
    w.u8(0x01);
    w.u16be(0x0203);
    w.u24be(0x040506);
    w.u32be(0x0708090A);
    w.zeros(2);
  };
  EXPECT_WRITES(write, view(hex("01 0203 040506 0708090a 0000")));
}

TEST(writer, patches_fields_written_earlier) {
  byte_vec out(6);
  writer w{mutable_bytes{out}};
  w.u16be(0);  // length, known later
  w.u8(0);
  w.u8(0xAA);
  w.patch_u16be(0, 0x1234);
  w.patch_u8(2, 0x56);
  w.patch_u16be(3, 0xFFFF);  // not written yet: ignored
  w.patch_u8(4, 0xFF);       // not written yet: ignored
  EXPECT_EQ(*w.finish(), 4U);
  EXPECT_BYTES_EQ(view(out), view(hex("1234 56 aa 0000")));
  // Patching in counting mode does not write anywhere.
  writer c{mutable_bytes{}};
  c.u16be(0);
  c.patch_u16be(0, 0x1234);
  c.patch_u8(0, 0x12);
  EXPECT_EQ(c.size(), 2U);
}

TEST(writer, reports_the_first_value_out_of_range_over_buffer_too_small) {
  writer w{mutable_bytes{}};
  w.u8(0);
  w.u24be(0x1000000);  // at 1
  w.range_error();     // at 4: ignored
  EXPECT_EQ(w.finish().err(), test::err(errc::value_out_of_range, layer::encode, 1));
}

// --- error values -------------------------------------------------------------------------

TEST(error_to_string, names_every_code_distinctly) {
  std::set<std::string> names;
  int count = 0;
  for (unsigned v = 0; v < 1100; ++v) {
    const std::string_view s = to_string(static_cast<errc>(v));
    if (s == "unknown") continue;
    ++count;
    EXPECT_TRUE(names.insert(std::string(s)).second) << s;
  }
  EXPECT_GE(count, 65);  // ok + the 64 errors of the first release
  EXPECT_EQ(to_string(errc::ok), "ok");
  EXPECT_EQ(to_string(errc::tpkt_length_too_small), "tpkt_length_too_small");
  EXPECT_EQ(to_string(errc::cotp_li_past_end), "cotp_li_past_end");
  EXPECT_EQ(to_string(errc::szl_bad_request), "szl_bad_request");
  EXPECT_EQ(to_string(errc::value_string_too_long), "value_string_too_long");
  EXPECT_EQ(to_string(static_cast<errc>(999)), "unknown");
  EXPECT_EQ(to_string(static_cast<errc>(1099)), "unknown");
}

TEST(error_to_string, keeps_the_stable_numbers) {
  EXPECT_EQ(static_cast<unsigned>(errc::truncated), 1U);
  EXPECT_EQ(static_cast<unsigned>(errc::tpkt_bad_version), 100U);
  EXPECT_EQ(static_cast<unsigned>(errc::cotp_li_zero), 200U);
  EXPECT_EQ(static_cast<unsigned>(errc::s7_bad_protocol_id), 300U);
  EXPECT_EQ(static_cast<unsigned>(errc::param_unknown_function), 400U);
  EXPECT_EQ(static_cast<unsigned>(errc::item_bad_spec_type), 500U);
  EXPECT_EQ(static_cast<unsigned>(errc::data_item_truncated), 600U);
  EXPECT_EQ(static_cast<unsigned>(errc::userdata_bad_head), 700U);
  EXPECT_EQ(static_cast<unsigned>(errc::szl_bad_length), 800U);
  EXPECT_EQ(static_cast<unsigned>(errc::szl_bad_record_length), 802U);
  EXPECT_EQ(static_cast<unsigned>(errc::mc7_bad_magic), 900U);
  EXPECT_EQ(static_cast<unsigned>(errc::value_bad_date_and_time), 1000U);
  EXPECT_EQ(static_cast<unsigned>(errc::value_string_too_long), 1002U);
}

TEST(error_to_string, names_every_layer) {
  std::set<std::string> names;
  for (unsigned v = 0; v <= 12; ++v) {
    const std::string_view s = to_string(static_cast<layer>(v));
    EXPECT_NE(s, "unknown") << v;
    names.insert(std::string(s));
  }
  EXPECT_EQ(names.size(), 13U);
  EXPECT_EQ(to_string(layer::s7_item), "s7_item");
  EXPECT_EQ(to_string(layer::s7_value), "s7_value");
  EXPECT_EQ(to_string(layer::step7_text), "step7_text");
  EXPECT_EQ(to_string(static_cast<layer>(13)), "unknown");
}

TEST(result, holds_a_value_or_an_error) {
  const result<int> v = 42;
  EXPECT_TRUE(v.ok());
  EXPECT_TRUE(static_cast<bool>(v));
  EXPECT_EQ(*v, 42);
  EXPECT_FALSE(v.err());
  const result<int> e = test::err(errc::truncated, layer::tpkt, 3);
  EXPECT_FALSE(e.ok());
  EXPECT_TRUE(static_cast<bool>(e.err()));
  EXPECT_EQ(e.err().offset, 3U);
  EXPECT_EQ(*e, 0);  // default value alongside an error
}

}  // namespace
}  // namespace protos7::codec
