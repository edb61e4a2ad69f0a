// Variable specifications: the items of Read Var / Write Var job parameters (s7_item.hpp).
//
// Items are parsed from a reader over the item bytes alone (offsets from the first item byte)
// unless a test goes through a whole frame.
#include <gtest/gtest.h>

#include <array>

#include "capture_fixtures.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/s7_param.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::view;

// Parses one item; returns the error (ok when none) and leaves the result in `out`.
error parse_one(const byte_vec& in, s7::var_spec& out, const s7::item_options& opt = {},
                std::size_t* consumed = nullptr) {
  reader r{view(in), layer::s7_item};
  s7::parse_var_spec(r, out, opt);
  if (consumed != nullptr) *consumed = in.size() - r.remaining();
  return r.err();
}

error parse_all(const byte_vec& in, std::size_t count, const s7::item_options& opt = {}) {
  reader r{view(in), layer::s7_item};
  s7::parse_var_specs(r, count, opt);
  return r.err();
}

// --- S7ANY --------------------------------------------------------------------------------

TEST(item_parse, decodes_the_s7any_item_of_a_captured_read) {
  const byte_vec frame = test::fx::read_var_job();
  const byte_vec in(frame.begin() + 19, frame.end());  // the item after "04 01"
  s7::var_spec v;
  std::size_t consumed = 0;
  ASSERT_EQ(parse_one(in, v, {}, &consumed), error{});
  EXPECT_EQ(consumed, s7::s7any_item_size);
  EXPECT_EQ(v.spec_type, 0x12);
  EXPECT_EQ(v.length, s7::s7any_length);
  EXPECT_EQ(v.syntax, static_cast<std::uint8_t>(s7::syntax_id::s7any));
  EXPECT_EQ(v.offset, 0U);
  EXPECT_EQ(v.body.size(), 9U);
  EXPECT_EQ(v.any.tsize, static_cast<std::uint8_t>(s7::transport_size::byte));
  EXPECT_EQ(v.any.count, 64);
  EXPECT_EQ(v.any.db, 1);
  EXPECT_EQ(v.any.area, static_cast<std::uint8_t>(s7::area::db));
  EXPECT_EQ(v.any.address, 0U);
  EXPECT_EQ(v.any.byte_length(), 64U);
  EXPECT_EQ(s7::check_any(v.any), s7::return_code::success);
}

TEST(item_any_address, splits_byte_and_bit) {
  s7::any_address a;
  a.tsize = static_cast<std::uint8_t>(s7::transport_size::bit);
  a.count = 1;
  a.address = 0x30 * 8 + 5;  // byte 0x30, bit 5
  EXPECT_EQ(a.byte_offset(), 0x30U);
  EXPECT_EQ(a.bit(), 5);
  a.tsize = static_cast<std::uint8_t>(s7::transport_size::real);
  a.count = 3;
  EXPECT_EQ(a.byte_length(), 12U);
  a.tsize = 0x0D;  // not defined
  EXPECT_EQ(a.byte_length(), 0U);
}

TEST(item_element_size, follows_the_transport_size_table) {
  EXPECT_EQ(s7::element_size(1), 1U);   // BIT
  EXPECT_EQ(s7::element_size(2), 1U);   // BYTE
  EXPECT_EQ(s7::element_size(3), 1U);   // CHAR
  EXPECT_EQ(s7::element_size(4), 2U);   // WORD
  EXPECT_EQ(s7::element_size(5), 2U);   // INT
  EXPECT_EQ(s7::element_size(6), 4U);   // DWORD
  EXPECT_EQ(s7::element_size(7), 4U);   // DINT
  EXPECT_EQ(s7::element_size(8), 4U);   // REAL
  EXPECT_EQ(s7::element_size(9), 2U);   // DATE
  EXPECT_EQ(s7::element_size(10), 4U);  // TOD
  EXPECT_EQ(s7::element_size(11), 4U);  // TIME
  EXPECT_EQ(s7::element_size(12), 2U);  // S5TIME
  EXPECT_EQ(s7::element_size(15), 8U);  // DATE_AND_TIME
  EXPECT_EQ(s7::element_size(28), 2U);  // COUNTER
  EXPECT_EQ(s7::element_size(29), 2U);  // TIMER
  EXPECT_EQ(s7::element_size(30), 4U);  // IEC counter
  EXPECT_EQ(s7::element_size(31), 4U);  // IEC timer
  EXPECT_EQ(s7::element_size(32), 4U);  // HS counter
  for (const unsigned t : {0U, 13U, 14U, 16U, 27U, 33U, 0xFFU})
    EXPECT_EQ(s7::element_size(static_cast<std::uint8_t>(t)), 0U) << t;
}

TEST(item_tables, know_13_syntax_ids_and_17_areas) {
  int syntaxes = 0;
  int areas = 0;
  for (unsigned i = 0; i < 256; ++i) {
    syntaxes += s7::is_known_syntax(static_cast<std::uint8_t>(i)) ? 1 : 0;
    areas += s7::is_known_area(static_cast<std::uint8_t>(i)) ? 1 : 0;
  }
  EXPECT_EQ(syntaxes, 13);
  EXPECT_EQ(areas, 17);
  EXPECT_TRUE(s7::is_known_area(0x84));
  EXPECT_FALSE(s7::is_known_area(0x88));
}

// --- Re-encoding ----------------------------------------------------------------------------

TEST(item_write_var_spec, re_encodes_items_of_every_syntax_as_sent) {
  const byte_vec items =
      hex("12 0a 10 02 0001 0000 83 000000"        // S7ANY: BYTE 1 of M0.0
          "12 0c b0 02 04 0001 0000 02 0005 0010"  // DBREAD, 2 areas
          "12 08 82 41 0001 0002 01 01");          // NCK address
  reader r{view(items), layer::s7_item};
  byte_vec out(items.size());
  writer w{out};
  s7::var_spec v;
  for (int i = 0; i < 3; ++i) {
    s7::parse_var_spec(r, v);
    ASSERT_TRUE(r.ok()) << i;
    s7::write_var_spec(w, v);
  }
  EXPECT_EQ(w.finish().value(), items.size());
  EXPECT_BYTES_EQ(view(out), view(items));
}

TEST(item_write_var_spec, the_job_head_and_specs_make_the_captured_job_parameter) {
  const byte_vec frame = test::fx::read_var_job();
  const byte_vec param(frame.begin() + 17, frame.end());  // | 04 | 01 | item |
  reader r{view(param).subspan(2), layer::s7_item};
  s7::var_spec v;
  s7::parse_var_spec(r, v);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(test::writes(
      [&](writer& w) {
        s7::write_var_job_head(w, s7::function::read_var, 1);
        s7::write_var_spec(w, v);
      },
      view(param)));
}

// --- Other syntax ids ---------------------------------------------------------------------

TEST(item_parse, decodes_a_dbread_item_and_its_areas) {
  const byte_vec in =
      hex("12 0c b0"        // var spec, length 12, DBREAD
          "02"              // 2 areas
          "04 0001 0000"    // 4 bytes of DB1 from 0
          "02 0005 0010");  // 2 bytes of DB5 from 16
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  EXPECT_EQ(v.dbread_count, 2);
  s7::dbread_area a;
  ASSERT_TRUE(s7::dbread_at(v, 0, a));
  EXPECT_EQ(a.length, 4);
  EXPECT_EQ(a.db, 1);
  EXPECT_EQ(a.start, 0);
  ASSERT_TRUE(s7::dbread_at(v, 1, a));
  EXPECT_EQ(a.length, 2);
  EXPECT_EQ(a.db, 5);
  EXPECT_EQ(a.start, 0x10);
  EXPECT_FALSE(s7::dbread_at(v, 2, a));
}

TEST(item_dbread_at, refuses_items_of_another_syntax) {
  const byte_vec in = hex("12 0a 10 02 0001 0000 83 000000");
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  s7::dbread_area a;
  EXPECT_FALSE(s7::dbread_at(v, 0, a));
}

TEST(item_parse, rejects_dbread_with_an_area_count_that_does_not_fit) {
  s7::var_spec v;
  const byte_vec zero = hex("12 02 b0 00");  // 0 areas
  EXPECT_EQ(parse_one(zero, v), test::err(errc::item_dbread_bad_count, layer::s7_item, 3));
  const byte_vec two_for_one = hex("12 07 b0 02 04 0001 0000");  // says 2, has 1
  EXPECT_EQ(parse_one(two_for_one, v), test::err(errc::item_dbread_bad_count, layer::s7_item, 3));
  const byte_vec no_count = hex("12 01 b0");  // nothing after the syntax id
  EXPECT_EQ(parse_one(no_count, v), test::err(errc::item_dbread_bad_count, layer::s7_item, 3));
}

TEST(item_parse, decodes_an_s7_1200_symbolic_item) {
  const byte_vec in =
      hex("12 0e b2"    // length 14, 1200SYM
          "ff"          // reserved
          "8a0e 0001"   // area DB, DB 1
          "12345678"    // CRC
          "80000004");  // one LID
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  EXPECT_EQ(v.body.size(), 13U);
}

TEST(item_parse, rejects_s7_1200_symbolic_items_with_a_partial_lid) {
  s7::var_spec v;
  const byte_vec thirteen = hex("12 0d b2 ff 8a0e 0001 12345678 800000");
  EXPECT_EQ(parse_one(thirteen, v), test::err(errc::item_bad_length, layer::s7_item, 1));
  const byte_vec fifteen = hex("12 0f b2 ff 8a0e 0001 12345678 80000004 01");
  EXPECT_EQ(parse_one(fifteen, v), test::err(errc::item_bad_length, layer::s7_item, 1));
}

TEST(item_parse, checks_the_fixed_lengths_of_nck_and_drive_items) {
  s7::var_spec v;
  const byte_vec nck = hex("12 08 82 41 0001 0001 01 00");  // NCK, length 8
  EXPECT_EQ(parse_one(nck, v), error{});
  const byte_vec drive = hex("12 0a a2 00 0001 0002 03 000000");  // DRIVEESANY, length 10
  EXPECT_EQ(parse_one(drive, v), error{});
  const byte_vec nck9 = hex("12 09 83 41 0001 0001 01 00 00");
  EXPECT_EQ(parse_one(nck9, v), test::err(errc::item_bad_length, layer::s7_item, 1));
  const byte_vec any9 = hex("12 09 10 02 0001 0000 83 0000");  // S7ANY must be 10
  EXPECT_EQ(parse_one(any9, v), test::err(errc::item_bad_length, layer::s7_item, 1));
}

TEST(item_parse, accepts_known_syntax_ids_of_free_length) {
  const byte_vec in = hex("12 03 13 aa bb");  // PBC-R_ID
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  EXPECT_BYTES_EQ(v.body, view(hex("aa bb")));
}

TEST(item_parse, rejects_an_unknown_syntax_id) {
  const byte_vec in = hex("12 03 20 aa bb");  // syntax 0x20: not defined
  s7::var_spec v;
  EXPECT_EQ(parse_one(in, v), test::err(errc::item_unknown_syntax, layer::s7_item, 2));
}

TEST(item_parse, accepts_an_unknown_syntax_id_as_opaque_when_allowed) {
  const byte_vec in = hex("12 03 20 aa bb");
  s7::var_spec v;
  std::size_t consumed = 0;
  ASSERT_EQ(parse_one(in, v, {.allow_unknown_syntax = true}, &consumed), error{});
  EXPECT_EQ(consumed, 5U);
  EXPECT_EQ(v.syntax, 0x20);
  EXPECT_BYTES_EQ(v.body, view(hex("aa bb")));
}

TEST(item_parse, rejects_a_spec_type_other_than_0x12) {
  const byte_vec in = hex("11 0a 10 02 0001 0000 83 000000");
  s7::var_spec v;
  EXPECT_EQ(parse_one(in, v), test::err(errc::item_bad_spec_type, layer::s7_item, 0));
}

TEST(item_parse, rejects_length_of_rest_zero) {
  const byte_vec in = hex("12 00");
  s7::var_spec v;
  EXPECT_EQ(parse_one(in, v), test::err(errc::item_bad_length, layer::s7_item, 1));
}

TEST(item_parse, rejects_an_item_longer_than_its_block) {
  s7::var_spec v;
  const byte_vec cut = hex("12 0a 10 02 0001 0000 83 0000");  // 9 of 10 bytes
  EXPECT_EQ(parse_one(cut, v), test::err(errc::truncated, layer::s7_item, 1));
  EXPECT_EQ(parse_one({}, v), test::err(errc::truncated, layer::s7_item, 0));
  const byte_vec no_length = hex("12");
  EXPECT_EQ(parse_one(no_length, v), test::err(errc::truncated, layer::s7_item, 1));
}

// --- Several items: counts and fill bytes -------------------------------------------------

// Two DBREAD items of 9 bytes (odd): a fill byte separates them, none follows the last.
const char* const two_odd_items =
    "12 07 b0 01 04 0001 0000"   // item 1 at 0, 9 bytes
    "00"                         // fill at 9
    "12 07 b0 01 02 0002 0004";  // item 2 at 10

TEST(item_parse_all, accepts_a_fill_byte_after_an_odd_item_that_is_not_last) {
  EXPECT_EQ(parse_all(hex(two_odd_items), 2), error{});
}

TEST(item_parse_all, walks_items_and_fill_bytes_with_the_iterator) {
  const byte_vec in = hex(two_odd_items);
  s7::var_spec_iterator it{view(in), 2, in.data()};
  s7::var_spec v;
  ASSERT_TRUE(it.next(v));
  EXPECT_EQ(v.offset, 0U);
  EXPECT_EQ(v.syntax, static_cast<std::uint8_t>(s7::syntax_id::dbread));
  ASSERT_TRUE(it.next(v));
  EXPECT_EQ(v.offset, 10U);
  s7::dbread_area a;
  ASSERT_TRUE(s7::dbread_at(v, 0, a));
  EXPECT_EQ(a.db, 2);
  EXPECT_FALSE(it.next(v));
}

TEST(item_parse_all, rejects_a_missing_fill_byte) {
  // Without the fill, item 2's 0x12 sits where the fill belongs.
  const byte_vec in =
      hex("12 07 b0 01 04 0001 0000"
          "12 07 b0 01 02 0002 0004");
  EXPECT_EQ(parse_all(in, 2), test::err(errc::data_fill_nonzero, layer::s7_item, 9));
}

TEST(item_parse_all, rejects_a_nonzero_fill_byte) {
  byte_vec in = hex(two_odd_items);
  in[9] = std::byte{0xFF};
  EXPECT_EQ(parse_all(in, 2), test::err(errc::data_fill_nonzero, layer::s7_item, 9));
}

TEST(item_parse_all, rejects_a_fill_byte_after_the_last_item) {
  const byte_vec in = test::concat({view(hex(two_odd_items)), view(hex("00"))});
  EXPECT_EQ(parse_all(in, 2), test::err(errc::param_item_count_mismatch, layer::s7_item, 19));
}

TEST(item_parse_all, rejects_fewer_items_than_the_count) {
  const byte_vec one = hex("12 0a 10 02 0001 0000 83 000000");
  EXPECT_EQ(parse_all(one, 2), test::err(errc::param_item_count_mismatch, layer::s7_item, 12));
  // An odd item followed by nothing where the count wants a fill byte and another item.
  const byte_vec odd = hex("12 07 b0 01 04 0001 0000");
  EXPECT_EQ(parse_all(odd, 2), test::err(errc::param_item_count_mismatch, layer::s7_item, 9));
}

TEST(item_parse_all, rejects_more_items_than_the_count) {
  const byte_vec two =
      hex("12 0a 10 02 0001 0000 83 000000"
          "12 0a 10 02 0001 0000 83 000008");
  EXPECT_EQ(parse_all(two, 1), test::err(errc::param_item_count_mismatch, layer::s7_item, 12));
}

TEST(item_parse_all, accepts_five_captured_s7any_items) {
  const byte_vec frame = test::fx::read_var_job_5();
  const byte_vec items(frame.begin() + 19, frame.end());
  EXPECT_EQ(parse_all(items, 5), error{});
  s7::var_spec_iterator it{view(items), 5, nullptr};
  s7::var_spec v;
  std::size_t n = 0;
  std::uint32_t expected_offset = 0;
  while (it.next(v)) {
    EXPECT_EQ(v.offset, expected_offset);
    expected_offset += 12;
    ++n;
  }
  EXPECT_EQ(n, 5U);
}

TEST(item_parse_all, decodes_odd_items_inside_a_whole_read_job) {
  const byte_vec pdu = test::concat({view(hex("32 01 0000 0010"
                                              "0015 0000"  // param 21
                                              "04 02")),   // Read Var, 2 items
                                     view(hex(two_odd_items))});
  const byte_vec frame = test::frame_dt(view(pdu));
  EXPECT_FRAMED_AT_EVERY_SPLIT(frame);
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  EXPECT_EQ(m->prm.item_count, 2);
  s7::var_spec_iterator it = m->prm.var_specs(frame.data());
  s7::var_spec v;
  ASSERT_TRUE(it.next(v));
  EXPECT_EQ(v.offset, 19U);  // frame offsets
  ASSERT_TRUE(it.next(v));
  EXPECT_EQ(v.offset, 29U);
  EXPECT_FALSE(it.next(v));
  // Fill byte at frame offset 28 set to 0x01.
  byte_vec bad = frame;
  bad[28] = std::byte{0x01};
  EXPECT_FAILS_WITH(test::decode_frame(view(bad)), data_fill_nonzero, s7_item, 28U);
}

TEST(item_parse_all, iterator_stops_at_a_malformed_item) {
  const byte_vec in =
      hex("12 0a 10 02 0001 0000 83 000000"
          "11 0a 10 02 0001 0000 83 000000");  // spec type 0x11
  s7::var_spec_iterator it{view(in), 2, nullptr};
  s7::var_spec v;
  ASSERT_TRUE(it.next(v));
  EXPECT_FALSE(it.next(v));
  EXPECT_FALSE(it.next(v));  // and stays stopped
}

// --- Address layouts of the other syntax ids ----------------------------------------------

TEST(item_decode_nck, splits_area_unit_column_line_module_and_count) {
  const byte_vec in =
      hex("12 08 82"
          "41"       // area 2, unit 1
          "0001"     // column
          "0002"     // line
          "03 04");  // module, line count
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  s7::nck_address a;
  ASSERT_TRUE(s7::decode_nck(v, a));
  EXPECT_EQ(a.area, 2);
  EXPECT_EQ(a.unit, 1);
  EXPECT_EQ(a.column, 1);
  EXPECT_EQ(a.line, 2);
  EXPECT_EQ(a.module, 3);
  EXPECT_EQ(a.line_count, 4);
  const byte_vec any = hex("12 0a 10 02 0001 0000 83 000000");
  ASSERT_EQ(parse_one(any, v), error{});
  EXPECT_FALSE(s7::decode_nck(v, a));
}

TEST(item_decode_1200sym, splits_the_head_and_the_lids) {
  const byte_vec in =
      hex("12 12 b2"
          "ff 8a0e 0001"         // reserved, area DB, DB 1
          "12345678"             // CRC
          "80000004 00000002");  // two LIDs
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  s7::sym1200_address a;
  ASSERT_TRUE(s7::decode_1200sym(v, a));
  EXPECT_EQ(a.reserved, 0xFF);
  EXPECT_EQ(a.area1, 0x8A0E);
  EXPECT_EQ(a.area2, 1);
  EXPECT_EQ(a.crc, 0x12345678U);
  EXPECT_BYTES_EQ(a.lids, view(hex("80000004 00000002")));
  const byte_vec any = hex("12 0a 10 02 0001 0000 83 000000");
  ASSERT_EQ(parse_one(any, v), error{});
  EXPECT_FALSE(s7::decode_1200sym(v, a));
}

TEST(item_decode_driveesany, splits_the_drive_parameter_address) {
  const byte_vec in =
      hex("12 0a a2"
          "00 0001 0002"  // unknown
          "0003 0004");   // parameter number, index
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  s7::driveesany_address a;
  ASSERT_TRUE(s7::decode_driveesany(v, a));
  EXPECT_EQ(a.unknown2, 1);
  EXPECT_EQ(a.unknown3, 2);
  EXPECT_EQ(a.parameter, 3);
  EXPECT_EQ(a.index, 4);
  const byte_vec nck = hex("12 08 82 41 0001 0002 03 04");
  ASSERT_EQ(parse_one(nck, v), error{});
  EXPECT_FALSE(s7::decode_driveesany(v, a));
}

// --- Semantic checks (answered per item, never fatal to the PDU) ---------------------------

TEST(item_check_any, answers_what_a_cpu_answers) {
  s7::any_address a{.tsize = 2, .count = 4, .db = 1, .area = 0x84, .address = 0};
  EXPECT_EQ(s7::check_any(a), s7::return_code::success);

  s7::any_address bad_size = a;
  bad_size.tsize = 0x0D;
  EXPECT_EQ(s7::check_any(bad_size), s7::return_code::type_not_supported);

  s7::any_address bad_area = a;
  bad_area.area = 0x88;
  EXPECT_EQ(s7::check_any(bad_area), s7::return_code::invalid_address);

  s7::any_address zero = a;
  zero.count = 0;
  EXPECT_EQ(s7::check_any(zero), s7::return_code::invalid_address);

  s7::any_address bit_on_byte = a;
  bit_on_byte.address = 8 * 3 + 1;  // DBX3.1 for a BYTE item
  EXPECT_EQ(s7::check_any(bit_on_byte), s7::return_code::invalid_address);

  s7::any_address bit = bit_on_byte;
  bit.tsize = static_cast<std::uint8_t>(s7::transport_size::bit);
  bit.count = 1;
  EXPECT_EQ(s7::check_any(bit), s7::return_code::success);

  s7::any_address timer{.tsize = 29, .count = 1, .db = 0, .area = 0x1D, .address = 7};  // T7
  EXPECT_EQ(s7::check_any(timer), s7::return_code::success);
  s7::any_address counter{.tsize = 28, .count = 2, .db = 0, .area = 0x1C, .address = 9};  // Z9
  EXPECT_EQ(s7::check_any(counter), s7::return_code::success);
}

// --- Byte extent ------------------------------------------------------------------------------

TEST(item_extent, counts_elements_of_the_transport_size_from_the_byte_address) {
  // DB1.DBW10, 3 WORDs: bytes 10..15.
  const s7::any_address a{.tsize = 4, .count = 3, .db = 1, .area = 0x84, .address = 10 * 8};
  const auto e = s7::extent(a);
  ASSERT_DECODES(e);
  EXPECT_EQ(*e, (s7::any_extent{.area = 0x84, .db = 1, .byte_offset = 10, .length = 6}));
  EXPECT_EQ(e->end(), 16U);
  EXPECT_EQ(e->bit_mask(), 0);
}

TEST(item_extent, takes_the_extent_of_a_captured_item) {
  const byte_vec frame = test::fx::read_var_job();
  const byte_vec in(frame.begin() + 19, frame.end());
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  const auto e = s7::extent(v.any, v.offset);
  ASSERT_DECODES(e);
  EXPECT_EQ(e->area, v.any.area);
  EXPECT_EQ(e->byte_offset, v.any.byte_offset());
  EXPECT_EQ(e->length, v.any.byte_length());
}

TEST(item_extent, a_bit_item_is_one_bit_of_one_byte) {
  // M3.5, count 1.
  const s7::any_address a{.tsize = 1, .count = 1, .db = 7, .area = 0x83, .address = 3 * 8 + 5};
  const auto e = s7::extent(a);
  ASSERT_DECODES(e);
  EXPECT_EQ(*e, (s7::any_extent{
                    .area = 0x83, .byte_offset = 3, .length = 1, .bit_item = true, .bit = 5}));
  EXPECT_EQ(e->db, 0);  // only DB and DI carry a DB number
  EXPECT_EQ(e->bit_mask(), 0x20);
  s7::any_address more = a;
  more.count = 4;
  EXPECT_EQ(s7::extent(more)->length, 1U);
}

TEST(item_extent, counters_and_timers_are_words_by_number) {
  // C9..C10 and T7, whatever transport size names them.
  const s7::any_address c{.tsize = 28, .count = 2, .db = 0, .area = 0x1C, .address = 9};
  EXPECT_EQ(*s7::extent(c), (s7::any_extent{.area = 0x1C, .byte_offset = 18, .length = 4}));
  const s7::any_address t{.tsize = 2, .count = 1, .db = 0, .area = 0x1D, .address = 7};
  EXPECT_EQ(*s7::extent(t), (s7::any_extent{.area = 0x1D, .byte_offset = 14, .length = 2}));
  const s7::any_address odd{.tsize = 0x0D, .count = 1, .db = 0, .area = 0x1D, .address = 7};
  EXPECT_TRUE(s7::extent(odd).ok());
}

TEST(item_extent, keeps_the_db_number_of_an_instance_db) {
  const s7::any_address a{.tsize = 2, .count = 1, .db = 12, .area = 0x85, .address = 0};
  EXPECT_EQ(s7::extent(a)->db, 12);
  EXPECT_EQ(s7::extent(a)->area, 0x85);
}

TEST(item_extent, ignores_the_bit_part_of_a_byte_address) {
  const s7::any_address a{.tsize = 2, .count = 2, .db = 1, .area = 0x84, .address = 8 * 3 + 1};
  EXPECT_EQ(s7::extent(a)->byte_offset, 3U);
  EXPECT_FALSE(s7::extent(a)->bit_item);
}

TEST(item_extent, reaches_its_largest_values_without_overflow) {
  const s7::any_address dt{
      .tsize = 15, .count = 0xFFFF, .db = 1, .area = 0x84, .address = 0xFFFFFF};
  const auto e = s7::extent(dt);
  ASSERT_DECODES(e);
  EXPECT_EQ(e->byte_offset, 0x1FFFFFU);
  EXPECT_EQ(e->length, 0xFFFFU * 8U);
  EXPECT_EQ(e->end(), 0x1FFFFFU + 0xFFFFU * 8U);
  const s7::any_address c{.tsize = 28, .count = 0xFFFF, .db = 0, .area = 0x1C, .address = 0xFFFFFF};
  EXPECT_EQ(s7::extent(c)->end(), (0xFFFFFFU + 0xFFFFU) * 2U);
}

TEST(item_extent, rejects_a_zero_count_at_the_count_field) {
  const s7::any_address a{.tsize = 2, .count = 0, .db = 1, .area = 0x84, .address = 0};
  EXPECT_FAILS_WITH(s7::extent(a), item_zero_length, s7_item, 4);
  EXPECT_FAILS_WITH(s7::extent(a, 21), item_zero_length, s7_item, 25);
  const s7::any_address t{.tsize = 29, .count = 0, .db = 0, .area = 0x1D, .address = 0};
  EXPECT_FAILS_WITH(s7::extent(t), item_zero_length, s7_item, 4);
}

TEST(item_extent, rejects_an_unknown_transport_size_at_its_field) {
  const s7::any_address a{.tsize = 0x0D, .count = 1, .db = 1, .area = 0x84, .address = 0};
  EXPECT_FAILS_WITH(s7::extent(a), item_bad_transport_size, s7_item, 3);
  EXPECT_FAILS_WITH(s7::extent(a, 19), item_bad_transport_size, s7_item, 22);
}

// --- Encoding -----------------------------------------------------------------------------

TEST(item_write_any, round_trips_the_captured_item) {
  const byte_vec frame = test::fx::read_var_job();
  const byte_vec in(frame.begin() + 19, frame.end());
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  EXPECT_WRITES([&](writer& w) { s7::write_any(w, v.any); }, view(in));
}

TEST(item_write_any, parse_of_write_gives_back_the_address) {
  const s7::any_address a{.tsize = 8, .count = 3, .db = 0x1234, .area = 0x84, .address = 0xFFFFFF};
  byte_vec out(12);
  writer w{mutable_bytes{out}};
  s7::write_any(w, a);
  ASSERT_DECODES(w.finish());
  s7::var_spec v;
  ASSERT_EQ(parse_one(out, v), error{});
  EXPECT_EQ(v.any, a);
}

TEST(item_write_any, rejects_an_address_over_24_bits) {
  const s7::any_address a{.tsize = 2, .count = 1, .db = 1, .area = 0x84, .address = 0x1000000};
  byte_vec out(12);
  writer w{mutable_bytes{out}};
  s7::write_any(w, a);
  EXPECT_EQ(w.finish().err(),
            test::err(errc::value_out_of_range, layer::encode, 9));  // the address
}

// --- Writers of the other syntax ids: parse(write(x)) == x, write(parse(b)) == b ---------------

TEST(item_write_dbread, round_trips_the_captured_item) {
  // wincc_s400_production.pcapng frame 24: 3 areas (DB74.DBB108 2, DB76.DBB404 4, DB81.DBB60 2).
  const byte_vec in =
      hex("12 11 b0 03"
          "02 004a 006c"
          "04 004c 0194"
          "02 0051 003c");
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  std::array<s7::dbread_area, 3> areas{};
  for (std::size_t i = 0; i < areas.size(); ++i) ASSERT_TRUE(s7::dbread_at(v, i, areas[i]));
  EXPECT_EQ(areas[1].db, 76);
  EXPECT_EQ(areas[1].start, 404);
  EXPECT_WRITES([&](writer& w) { s7::write_dbread(w, areas); }, view(in));
}

TEST(item_write_dbread, refuses_no_area_and_more_than_fit_the_length_byte) {
  byte_vec out(300);
  writer none{mutable_bytes{out}};
  s7::write_dbread(none, {});
  EXPECT_EQ(none.finish().err().code, errc::value_out_of_range);
  std::array<s7::dbread_area, 51> many{};
  writer w{mutable_bytes{out}};
  s7::write_dbread(w, many);
  EXPECT_EQ(w.finish().err().code, errc::value_out_of_range);
}

TEST(item_write_nck, round_trips_and_checks_area_and_unit) {
  const byte_vec in = hex("12 08 83 41 0001 0002 03 04");
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  s7::nck_address a;
  ASSERT_TRUE(s7::decode_nck(v, a));
  EXPECT_WRITES([&](writer& w) { s7::write_nck(w, 0x83, a); }, view(in));
  byte_vec out(10);
  writer w{mutable_bytes{out}};
  s7::write_nck(w, 0x10, a);
  EXPECT_EQ(w.finish().err().code, errc::value_out_of_range);
}

TEST(item_write_driveesany, round_trips) {
  const byte_vec in = hex("12 0a a2 00 0001 0002 0003 0004");
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  s7::driveesany_address a;
  ASSERT_TRUE(s7::decode_driveesany(v, a));
  EXPECT_WRITES([&](writer& w) { s7::write_driveesany(w, a); }, view(in));
}

TEST(item_write_1200sym, round_trips_and_needs_whole_lids) {
  const byte_vec in = hex("12 12 b2 ff 8a0e 0001 12345678 80000004 00000002");
  s7::var_spec v;
  ASSERT_EQ(parse_one(in, v), error{});
  s7::sym1200_address a;
  ASSERT_TRUE(s7::decode_1200sym(v, a));
  EXPECT_WRITES([&](writer& w) { s7::write_1200sym(w, a); }, view(in));
  const byte_vec partial = hex("800000");
  a.lids = view(partial);
  byte_vec out(20);
  writer w{mutable_bytes{out}};
  s7::write_1200sym(w, a);
  EXPECT_EQ(w.finish().err().code, errc::value_out_of_range);
}

}  // namespace
}  // namespace protos7::codec
