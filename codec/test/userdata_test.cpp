// Userdata (ROSCTR 7, userdata.hpp): the parameter head, the data unit, and the payloads of block
// functions, time functions, cyclic services and security.
//
// Capture frames are decoded whole (offsets from the TPKT start: the Userdata parameter at 17,
// the data unit at 25 after an 8-byte parameter or 29 after a 12-byte one). Synthetic PDUs are
// decoded alone (parameter at 10, data unit at 18 or 22).
#include "protos7/codec/userdata.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "capture_fixtures.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_param.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::view;
namespace ud = s7::ud;

// A Userdata frame decoded whole; `ud` holds views of `frame`.
struct decoded {
  byte_vec frame;
  ud::message m;
  bool ok = false;
  decoded(const decoded&) = delete;
  decoded& operator=(const decoded&) = delete;
  explicit decoded(byte_vec f) : frame(std::move(f)) {
    const auto r = test::decode_frame(view(frame));
    EXPECT_TRUE(r.ok()) << ::testing::PrintToString(r.err());
    if (!r) return;
    EXPECT_EQ(r->p.hdr.type, s7::rosctr::userdata);
    m = r->ud;
    ok = true;
  }
  const std::byte* origin() const { return frame.data(); }
};

result<ud::message> parse_pdu(const byte_vec& pdu) {
  const auto p = s7::parse(view(pdu));
  if (!p) return p.err();
  return ud::parse(*p);
}

// encode(parse(b)) == b for the Userdata blocks of a frame: parameter and data unit.
::testing::AssertionResult userdata_round_trips(const byte_vec& frame) {
  const auto p = s7::parse(test::s7_of(frame), frame.data());
  if (!p) return ::testing::AssertionFailure() << ::testing::PrintToString(p.err());
  const auto u = ud::parse(*p);
  if (!u) return ::testing::AssertionFailure() << ::testing::PrintToString(u.err());
  auto prm = test::writes([&](writer& w) { ud::write_param(w, u->prm); }, p->param);
  if (!prm) return ::testing::AssertionFailure() << "parameter: " << prm.message();
  if (!u->has_data) return ::testing::AssertionSuccess();
  return test::writes(
      [&](writer& w) {
        ud::write_data_unit(w, u->data.return_code, u->data.tsize, u->data.payload);
      },
      p->data);
}

// Every Userdata frame of the fixtures.
std::vector<byte_vec> userdata_frames() {
  std::vector<byte_vec> out;
  for (byte_vec& f : test::fx::s7_frames())
    if (std::to_integer<unsigned>(f[test::s7_at + 1]) == 7) out.push_back(std::move(f));
  return out;
}

// --- Parameter head and data unit ---------------------------------------------------------

TEST(userdata_parse, decodes_a_request_head) {
  const decoded d{test::fx::szl_request()};
  ASSERT_TRUE(d.ok);
  const ud::param& p = d.m.prm;
  EXPECT_EQ(p.head0, 0);
  EXPECT_EQ(p.length, 4);
  EXPECT_EQ(p.method, ud::method_request);
  EXPECT_EQ(p.type, static_cast<std::uint8_t>(ud::type::request));
  EXPECT_EQ(p.group, static_cast<std::uint8_t>(ud::group::cpu));
  EXPECT_EQ(p.subfunction, ud::sub::read_szl);
  EXPECT_EQ(p.seq, 0);
  EXPECT_FALSE(p.extended);
  ASSERT_TRUE(d.m.has_data);
  EXPECT_EQ(d.m.data.return_code, 0xFF);
  EXPECT_EQ(d.m.data.tsize, 0x09);
  EXPECT_EQ(d.m.data.length, 4);
  EXPECT_EQ(d.m.data.payload_offset, 29U);
  EXPECT_EQ(d.m.data.payload.data(), d.frame.data() + 29);
}

TEST(userdata_parse, decodes_a_response_head_with_its_data_unit_fields) {
  const decoded d{test::fx::szl_response()};
  ASSERT_TRUE(d.ok);
  const ud::param& p = d.m.prm;
  EXPECT_EQ(p.length, 8);
  EXPECT_EQ(p.method, ud::method_response);
  EXPECT_EQ(p.type, static_cast<std::uint8_t>(ud::type::response));
  EXPECT_EQ(p.seq, 1);
  EXPECT_TRUE(p.extended);
  EXPECT_EQ(p.data_unit_ref, 0);
  EXPECT_EQ(p.last_data_unit, ud::last_unit_yes);
  EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(d.m.data.payload_offset, 33U);
  EXPECT_EQ(d.m.data.payload.size(), 48U);
}

TEST(userdata_parse, decodes_an_error_answer) {
  const decoded szl{test::fx::szl_response_error()};
  ASSERT_TRUE(szl.ok);
  EXPECT_EQ(szl.m.prm.error_code, s7::error_code::info_unavailable_2);
  EXPECT_EQ(szl.m.data.return_code, s7::return_code::object_does_not_exist);
  EXPECT_EQ(szl.m.data.tsize, 0);
  EXPECT_TRUE(szl.m.data.payload.empty());
  const decoded info{test::fx::block_info_response_error()};
  ASSERT_TRUE(info.ok);
  EXPECT_EQ(info.m.prm.error_code, s7::error_code::blocks_not_found);
}

TEST(userdata_parse, decodes_the_next_unit_request_of_a_fragmented_answer) {
  const decoded d{test::fx::szl_request_next()};
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.m.prm.method, ud::method_response);  // 0x12 with type request: snap7 and Step 7 do so
  EXPECT_EQ(d.m.prm.type, static_cast<std::uint8_t>(ud::type::request));
  EXPECT_TRUE(d.m.prm.extended);
  EXPECT_EQ(d.m.data.return_code, 0x0A);
  EXPECT_EQ(d.m.data.length, 0);
}

TEST(userdata_parse, accepts_a_pdu_without_data) {
  const byte_vec pdu =
      hex("32 07 0000 0001"
          "0008 0000"  // no data block
          "00 01 12 04 11 44 01 00");
  const auto u = parse_pdu(pdu);
  ASSERT_DECODES(u);
  EXPECT_FALSE(u->has_data);
  EXPECT_VALID_EVERYWHERE(pdu);
}

TEST(userdata_parse, decodes_push_and_nc_types_and_the_pbc_method) {
  for (const char* tg : {"04", "34", "74", "b4"}) {  // push, NC push, NC request, NC response
    const byte_vec pdu =
        hex(std::string("32 07 0000 0001 0008 0000 00 01 12 04 11 ") + tg + " 01 00");
    EXPECT_TRUE(parse_pdu(pdu).ok()) << tg;
    EXPECT_VALID_EVERYWHERE(pdu) << tg;
  }
  const byte_vec pbc = hex("32 07 0000 0001 0008 0000 00 01 12 04 13 06 01 00");  // PBC R_ID
  EXPECT_TRUE(parse_pdu(pbc).ok());
  EXPECT_VALID_EVERYWHERE(pbc);
}

TEST(userdata_encode, round_trips_every_captured_userdata_pdu) {
  const std::vector<byte_vec> frames = userdata_frames();
  EXPECT_EQ(frames.size(), 23U);
  for (const byte_vec& f : frames) EXPECT_TRUE(userdata_round_trips(f)) << test::to_hex(view(f));
}

TEST(userdata_write_data_unit, rejects_a_payload_over_65535_bytes) {
  const byte_vec big(0x10000);
  byte_vec out(0x10010);
  writer w{mutable_bytes{out}};
  ud::write_data_unit(w, 0xFF, 0x09, view(big));
  EXPECT_EQ(w.finish().err(), test::err(errc::value_out_of_range, layer::encode, 2));
}

TEST(userdata_write_data_unit_head, then_the_payload_is_the_whole_data_unit) {
  // rc FF (success), tsize 09 (octet string), length 0x0022: a 34-byte payload written after
  // the head gives the same bytes as write_data_unit.
  const byte_vec payload(0x22, std::byte{0x5A});
  byte_vec whole(4 + payload.size());
  writer a{mutable_bytes{whole}};
  ud::write_data_unit(a, 0xFF, 0x09, view(payload));
  byte_vec split(4 + payload.size());
  writer b{mutable_bytes{split}.first(4)};
  ud::write_data_unit_head(b, 0xFF, 0x09, payload.size());
  ASSERT_EQ(b.finish().value(), ud::data_unit_head_length);
  std::copy(payload.begin(), payload.end(), split.begin() + 4);
  EXPECT_EQ(split, whole);
  EXPECT_EQ(test::to_hex(view(split).first(4)), "ff090022");
}

TEST(userdata_write_data_unit_head, rejects_a_length_over_65535) {
  byte_vec out(4);
  writer w{mutable_bytes{out}};
  ud::write_data_unit_head(w, 0xFF, 0x09, 0x10000);
  EXPECT_EQ(w.finish().err(), test::err(errc::value_out_of_range, layer::encode, 2));
}

// --- Errors -------------------------------------------------------------------------------

TEST(userdata_parse, rejects_a_missing_parameter) {
  const byte_vec pdu = hex("32 07 0000 0001 0000 0000");
  EXPECT_FAILS_WITH(parse_pdu(pdu), s7_missing_param, userdata, 10U);
  EXPECT_FAILS_WITH(s7::decode(view(pdu)), s7_missing_param, userdata, 10U);
}

TEST(userdata_parse, rejects_a_head_other_than_00_01_12) {
  for (const char* head : {"01 01 12", "00 02 12", "00 01 11"}) {
    const byte_vec pdu = hex(std::string("32 07 0000 0001 0008 0000 ") + head + " 04 11 44 01 00");
    EXPECT_FAILS_WITH(parse_pdu(pdu), userdata_bad_head, userdata, 10U) << head;
  }
}

TEST(userdata_parse, rejects_a_head_cut_short) {
  const byte_vec two = hex("32 07 0000 0001 0002 0000 00 01");
  EXPECT_FAILS_WITH(parse_pdu(two), truncated, userdata, 12U);
  const byte_vec three = hex("32 07 0000 0001 0003 0000 00 01 12");
  EXPECT_FAILS_WITH(parse_pdu(three), truncated, userdata, 13U);
}

TEST(userdata_parse, rejects_a_length_of_rest_that_does_not_fill_the_parameter) {
  const byte_vec five =
      hex("32 07 0000 0001 0009 0000"
          "00 01 12 05"  // length of rest 5 at 13
          "11 44 01 00 00");
  EXPECT_FAILS_WITH(parse_pdu(five), userdata_bad_length, userdata, 13U);
  const byte_vec short_in_long =
      hex("32 07 0000 0001 000c 0000"
          "00 01 12 04"  // says 4, 8 follow
          "12 84 01 01 00 00 0000");
  EXPECT_FAILS_WITH(parse_pdu(short_in_long), userdata_bad_length, userdata, 13U);
  const byte_vec long_in_short =
      hex("32 07 0000 0001 0008 0000"
          "00 01 12 08"  // says 8, 4 follow
          "11 44 01 00");
  EXPECT_FAILS_WITH(parse_pdu(long_in_short), userdata_bad_length, userdata, 13U);
}

TEST(userdata_parse, rejects_an_unknown_method) {
  const byte_vec pdu =
      hex("32 07 0000 0001 0008 0000"
          "00 01 12 04"
          "10"  // method 0x10 at 14
          "44 01 00");
  EXPECT_FAILS_WITH(parse_pdu(pdu), userdata_bad_method, userdata, 14U);
}

TEST(userdata_parse, rejects_an_unknown_type) {
  for (const char* tg : {"14", "24", "54", "64", "94", "a4", "c4", "f4"}) {
    const byte_vec pdu =
        hex(std::string("32 07 0000 0001 0008 0000 00 01 12 04 11 ") + tg + " 01 00");
    EXPECT_FAILS_WITH(parse_pdu(pdu), userdata_bad_type, userdata, 15U) << tg;
  }
  int known = 0;
  for (unsigned t = 0; t < 16; ++t)
    known += ud::is_known_type(static_cast<std::uint8_t>(t)) ? 1 : 0;
  EXPECT_EQ(known, 6);
}

TEST(userdata_parse, rejects_a_data_unit_shorter_than_its_head) {
  const byte_vec pdu =
      hex("32 07 0000 0001 0008 0003"
          "00 01 12 04 11 44 01 00"
          "ff 09 00");  // 3 bytes at 18
  EXPECT_FAILS_WITH(parse_pdu(pdu), userdata_data_too_short, userdata, 18U);
}

TEST(userdata_parse, rejects_a_data_unit_length_that_differs_from_the_payload) {
  const byte_vec more =
      hex("32 07 0000 0001 0008 0008"
          "00 01 12 04 11 44 01 00"
          "ff 09 0005"  // length 5 at 20
          "0132 0004");
  EXPECT_FAILS_WITH(parse_pdu(more), userdata_data_length_mismatch, userdata, 20U);
  byte_vec frame = test::fx::szl_response();
  frame[32] = std::byte{0x2F};  // length 47 for 48 bytes
  EXPECT_FAILS_WITH(test::decode_frame(view(frame)), userdata_data_length_mismatch, userdata, 31U);
}

// --- Block functions ----------------------------------------------------------------------

TEST(userdata_block_list, decodes_the_captured_counts) {
  const decoded d{test::fx::list_blocks_response()};
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.m.prm.group, static_cast<std::uint8_t>(ud::group::block));
  EXPECT_EQ(d.m.prm.subfunction, ud::sub::list_blocks);
  const struct {
    std::uint8_t type;
    std::uint16_t count;
  } expected[] = {{0x08, 1}, {0x0E, 0}, {0x0C, 0}, {0x0A, 0}, {0x0B, 12}, {0x0D, 71}, {0x0F, 14}};
  ud::block_count c;
  for (std::size_t i = 0; i < std::size(expected); ++i) {
    ASSERT_TRUE(ud::block_count_at(d.m.data.payload, i, c)) << i;
    EXPECT_EQ(c.block_type, expected[i].type) << i;
    EXPECT_EQ(c.count, expected[i].count) << i;
  }
  EXPECT_EQ(c.type_ascii[0], '0');
  EXPECT_EQ(c.type_ascii[1], 'F');
  EXPECT_FALSE(ud::block_count_at(d.m.data.payload, std::size(expected), c));
}

TEST(userdata_block_list, refuses_a_payload_that_is_not_whole_records) {
  const byte_vec payload = hex("3038 0001 30");
  ud::block_count c;
  EXPECT_FALSE(ud::block_count_at(view(payload), 0, c));
  ud::block_entry e;
  EXPECT_FALSE(ud::block_entry_at(view(payload), 0, e));
  const byte_vec bad_hex = hex("3047 0001");  // "0G"
  ASSERT_TRUE(ud::block_count_at(view(bad_hex), 0, c));
  EXPECT_EQ(c.block_type, 0);
}

TEST(userdata_block_list, decodes_list_blocks_of_type) {
  const decoded req{test::fx::list_blocks_of_type_request()};
  ASSERT_TRUE(req.ok);
  EXPECT_EQ(req.m.prm.subfunction, ud::sub::list_blocks_of_type);
  EXPECT_BYTES_EQ(req.m.data.payload, view(hex("3038")));  // "08": OB
  const decoded resp{test::fx::list_blocks_of_type_response()};
  ASSERT_TRUE(resp.ok);
  ud::block_entry e;
  ASSERT_TRUE(ud::block_entry_at(resp.m.data.payload, 0, e));
  EXPECT_EQ(e.number, 1);
  EXPECT_EQ(e.flags, 0x22);
  EXPECT_EQ(e.language, 3);
  EXPECT_FALSE(ud::block_entry_at(resp.m.data.payload, 1, e));
}

TEST(userdata_block_list, joins_a_fragmented_list_of_type) {
  // blocklist frames 96, 98, 99: 52 + 19 SFC entries; the block list counts 71 SFCs.
  const decoded first{test::fx::list_sfc_first_fragment()};
  const decoded next{test::fx::list_sfc_request_next()};
  const decoded last{test::fx::list_sfc_last_fragment()};
  ASSERT_TRUE(first.ok && next.ok && last.ok);
  EXPECT_EQ(first.m.prm.data_unit_ref, 4);
  EXPECT_EQ(first.m.prm.last_data_unit, ud::last_unit_no);
  EXPECT_EQ(last.m.prm.last_data_unit, ud::last_unit_yes);
  const byte_vec all = test::concat({first.m.data.payload, last.m.data.payload});
  std::size_t n = 0;
  ud::block_entry e;
  std::uint16_t last_number = 0;
  while (ud::block_entry_at(view(all), n, e)) {
    EXPECT_EQ(e.flags, 0x42);
    EXPECT_EQ(e.language, 0x01);  // AWL
    last_number = e.number;
    ++n;
  }
  EXPECT_EQ(n, 71U);
  EXPECT_EQ(last_number, 127);  // the CPU lists SFC 127 last (and SFC 102 before SFC 55)
}

TEST(userdata_block_info, decodes_the_captured_request_and_answer) {
  const decoded req{test::fx::block_info_request()};
  ASSERT_TRUE(req.ok);
  EXPECT_EQ(req.m.prm.subfunction, ud::sub::block_info);
  const s7::block_filename name = s7::decode_block_name8(req.m.data.payload);
  EXPECT_TRUE(name.valid);
  EXPECT_EQ(name.block_type, 0x0A);
  EXPECT_EQ(name.number, 1U);
  EXPECT_EQ(name.filesystem, 'B');

  const decoded resp{test::fx::block_info_response()};
  ASSERT_TRUE(resp.ok);
  const auto b = ud::parse_block_info(resp.m.data.payload, resp.origin());
  ASSERT_DECODES(b);
  EXPECT_EQ(b->block_type, 0x0100);
  EXPECT_EQ(b->info_length, 74);
  EXPECT_EQ(b->constant3, 0x7070);
  EXPECT_EQ(b->flags, 0x01);
  EXPECT_EQ(b->language, 5);  // DB
  EXPECT_EQ(b->subblock_type, 0x0A);
  EXPECT_EQ(b->number, 1);
  EXPECT_EQ(b->load_memory_length, 500U);
  EXPECT_EQ(b->security, 0U);
  EXPECT_BYTES_EQ(b->code_timestamp, view(hex("029147602bb5")));
  EXPECT_EQ(b->ssb_length, 28);
  EXPECT_EQ(b->mc7_length, 400);
  EXPECT_BYTES_EQ(b->author, view(hex("5457490000000000")));  // "TWI"
  EXPECT_BYTES_EQ(b->family, view(hex("54657374484d4900")));  // "TestHMI"
  EXPECT_BYTES_EQ(b->name, view(hex("4441544144420000")));    // "DATADB"
  EXPECT_EQ(b->version, 1);
  EXPECT_EQ(b->checksum, 0xC0DF);
  EXPECT_WRITES([&](writer& w) { ud::write_block_info(w, *b); }, resp.m.data.payload);
}

TEST(userdata_block_info, pads_short_text_fields_with_zeros) {
  ud::block_info b;
  const byte_vec author = hex("41 42");  // "AB"
  b.author = view(author);
  byte_vec out(ud::block_info_length);
  writer w{mutable_bytes{out}};
  ud::write_block_info(w, b);
  ASSERT_DECODES(w.finish());
  const auto back = ud::parse_block_info(view(out), nullptr);
  ASSERT_DECODES(back);
  EXPECT_BYTES_EQ(back->author, view(hex("4142000000000000")));
  EXPECT_BYTES_EQ(back->code_timestamp, view(hex("000000000000")));
  EXPECT_EQ(back->info_length, 74);
}

TEST(userdata_block_info, rejects_a_payload_that_is_not_78_bytes) {
  const decoded resp{test::fx::block_info_response()};
  ASSERT_TRUE(resp.ok);
  // The payload starts at frame offset 33.
  EXPECT_FAILS_WITH(ud::parse_block_info(resp.m.data.payload.first(77), resp.origin()),
                    userdata_bad_payload, userdata, 33U);
  const byte_vec longer = test::concat({resp.m.data.payload, view(hex("00"))});
  EXPECT_FAILS_WITH(ud::parse_block_info(view(longer), nullptr), userdata_bad_payload, userdata,
                    0U);
}

// --- Time functions -----------------------------------------------------------------------

TEST(userdata_clock, decodes_the_captured_read_clock) {
  const decoded req{test::fx::read_clock_request()};
  ASSERT_TRUE(req.ok);
  EXPECT_EQ(req.m.prm.group, static_cast<std::uint8_t>(ud::group::time));
  EXPECT_EQ(req.m.prm.subfunction, ud::sub::read_clock);
  EXPECT_EQ(req.m.data.return_code, 0x0A);

  const decoded resp{test::fx::read_clock_response()};
  ASSERT_TRUE(resp.ok);
  const auto t = ud::parse_timestamp(resp.m.data.payload, resp.origin());
  ASSERT_DECODES(t);
  EXPECT_EQ(t->reserved, 0);
  EXPECT_EQ(t->year_high, 0x19);
  EXPECT_EQ(t->year, 2014);
  EXPECT_EQ(t->month, 8);
  EXPECT_EQ(t->day, 20);
  EXPECT_EQ(t->hour, 11);
  EXPECT_EQ(t->minute, 59);
  EXPECT_EQ(t->second, 43);
  EXPECT_EQ(t->millisecond, 912);
  EXPECT_EQ(t->weekday, 4);  // 2014-08-20 was a Wednesday (1 = Sunday)
  EXPECT_WRITES([&](writer& w) { ud::write_timestamp(w, *t); }, resp.m.data.payload);
}

TEST(userdata_clock, decodes_the_captured_set_clock) {
  const decoded req{test::fx::set_clock_request()};
  ASSERT_TRUE(req.ok);
  EXPECT_EQ(req.m.prm.subfunction, ud::sub::set_clock);
  const auto t = ud::parse_timestamp(req.m.data.payload, req.origin());
  ASSERT_DECODES(t);
  EXPECT_EQ(t->second, 33);
  EXPECT_EQ(t->millisecond, 40);
  EXPECT_EQ(t->weekday, 0);  // Step 7 leaves the weekday to the CPU
  EXPECT_WRITES([&](writer& w) { ud::write_timestamp(w, *t); }, req.m.data.payload);
  const decoded resp{test::fx::set_clock_response()};
  ASSERT_TRUE(resp.ok);
  EXPECT_EQ(resp.m.data.return_code, 0x0A);
}

TEST(userdata_clock, maps_two_digit_years_below_90_to_20xx) {
  const byte_vec y1990 = hex("00 19 90 01 01 00 00 00 00 02");
  const byte_vec y2089 = hex("00 20 89 12 31 23 59 59 99 97");
  const auto a = ud::parse_timestamp(view(y1990), nullptr);
  const auto b = ud::parse_timestamp(view(y2089), nullptr);
  ASSERT_DECODES(a);
  ASSERT_DECODES(b);
  EXPECT_EQ(a->year, 1990);
  EXPECT_EQ(b->year, 2089);
  EXPECT_EQ(b->millisecond, 999);
  EXPECT_EQ(b->weekday, 7);
  EXPECT_WRITES([&](writer& w) { ud::write_timestamp(w, *a); }, view(y1990));
  EXPECT_WRITES([&](writer& w) { ud::write_timestamp(w, *b); }, view(y2089));
}

TEST(userdata_clock, parse_of_write_gives_back_the_time) {
  const ud::timestamp t{.reserved = 0,
                        .year_high = 0x20,
                        .year = 2024,
                        .month = 2,
                        .day = 29,
                        .hour = 13,
                        .minute = 7,
                        .second = 5,
                        .millisecond = 305,
                        .weekday = 5};
  byte_vec out(ud::timestamp_length);
  writer w{mutable_bytes{out}};
  ud::write_timestamp(w, t);
  ASSERT_DECODES(w.finish());
  EXPECT_BYTES_EQ(view(out), view(hex("00 20 24 02 29 13 07 05 30 55")));
  const auto back = ud::parse_timestamp(view(out), nullptr);
  ASSERT_DECODES(back);
  EXPECT_EQ(*back, t);
}

TEST(userdata_clock, rejects_a_payload_that_is_not_10_bytes) {
  const decoded resp{test::fx::read_clock_response()};
  ASSERT_TRUE(resp.ok);
  EXPECT_FAILS_WITH(ud::parse_timestamp(resp.m.data.payload.first(9), resp.origin()),
                    userdata_bad_payload, userdata, 33U);
  // The read clock request's empty data unit is not a timestamp either.
  const decoded req{test::fx::read_clock_request()};
  ASSERT_TRUE(req.ok);
  EXPECT_FAILS_WITH(ud::parse_timestamp(req.m.data.payload, req.origin()), userdata_bad_payload,
                    userdata, 29U);
}

TEST(userdata_clock, rejects_non_bcd_digits_and_out_of_range_fields) {
  const byte_vec good = hex("00 19 14 08 20 11 59 43 91 24");
  ASSERT_TRUE(ud::parse_timestamp(view(good), nullptr).ok());
  const struct {
    std::size_t at;
    unsigned value;
  } cases[] = {{1, 0x1A},   // year high: not BCD
               {2, 0xA0},   // year low
               {3, 0x00},   // month 0
               {3, 0x13},   // month 13
               {3, 0x1A},   // month not BCD
               {4, 0x00},   // day 0
               {4, 0x32},   // day 32
               {5, 0x24},   // hour 24
               {6, 0x60},   // minute 60
               {7, 0x60},   // second 60
               {8, 0xA0},   // ms high digits not BCD
               {9, 0xA4}};  // ms low digit 10
  for (const auto& c : cases) {
    byte_vec in = good;
    in[c.at] = static_cast<std::byte>(c.value);
    EXPECT_FAILS_WITH(ud::parse_timestamp(view(in), nullptr), userdata_bad_timestamp, userdata, 0U)
        << "byte " << c.at << " = " << c.value;
  }
}

// --- CPU functions, cyclic services, security ----------------------------------------------

TEST(userdata_message_service, decodes_the_captured_subscription) {
  const decoded d{test::fx::message_service_request()};
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.m.prm.group, static_cast<std::uint8_t>(ud::group::cpu));
  EXPECT_EQ(d.m.prm.subfunction, ud::sub::message_service);
  EXPECT_EQ(d.m.data.payload.size(), 10U);
  EXPECT_EQ(test::u8_at(d.m.data.payload, 0), 0x03);  // subscribed events: MODE, SYS
}

TEST(userdata_cyclic, decodes_a_cyclic_read_request) {
  const byte_vec pdu =
      hex("32 07 0000 0001 0008 0014"
          "00 01 12 04 11 42 01 00"            // request, cyclic services, cyclic transfer
          "ff 09 0010"                         // data unit at 18, 16 bytes
          "00 01"                              // reserved, 1 item
          "01 05"                              // time base 1 s, interval 5
          "12 0a 10 02 0004 0000 83 000000");  // MB0..MB3 at 26
  EXPECT_VALID_EVERYWHERE(pdu);
  const auto u = parse_pdu(pdu);
  ASSERT_DECODES(u);
  EXPECT_EQ(u->prm.group, static_cast<std::uint8_t>(ud::group::cyclic));
  const auto c = ud::parse_cyclic_request(u->data.payload, pdu.data());
  ASSERT_DECODES(c);
  EXPECT_EQ(c->item_count, 1);
  EXPECT_EQ(c->timebase, 1);
  EXPECT_EQ(c->interval, 5);
  s7::var_spec_iterator it{c->items, c->item_count, pdu.data()};
  s7::var_spec v;
  ASSERT_TRUE(it.next(v));
  EXPECT_EQ(v.offset, 26U);
  EXPECT_EQ(v.any.count, 4);
}

TEST(userdata_cyclic, rejects_a_request_with_a_bad_item) {
  const byte_vec payload =
      hex("00 01 01 05"
          "11 0a 10 02 0004 0000 83 000000");  // spec type 0x11 at 4
  EXPECT_FAILS_WITH(ud::parse_cyclic_request(view(payload), nullptr), item_bad_spec_type, s7_item,
                    4U);
  const byte_vec two = hex("00 02 01 05 12 0a 10 02 0004 0000 83 000000");  // 2 items announced
  EXPECT_FAILS_WITH(ud::parse_cyclic_request(view(two), nullptr), param_item_count_mismatch,
                    s7_item, 16U);
}

TEST(userdata_cyclic, rejects_a_request_head_cut_short) {
  const byte_vec payload = hex("00 01 01");  // interval missing at 3
  EXPECT_FAILS_WITH(ud::parse_cyclic_request(view(payload), nullptr), truncated, userdata, 3U);
}

TEST(userdata_password, scrambles_as_snap7_does) {
  // b[0] = c[0] ^ 0x55, b[1] = c[1] ^ 0x55, b[i] = c[i] ^ 0x55 ^ b[i - 2].
  const std::array<std::uint8_t, 8> plain{'a', 'b', 'c', ' ', ' ', ' ', ' ', ' '};
  std::array<std::uint8_t, 8> scrambled{};
  ud::scramble_password(plain, scrambled);
  EXPECT_EQ(scrambled,
            (std::array<std::uint8_t, 8>{0x34, 0x37, 0x02, 0x42, 0x77, 0x37, 0x02, 0x42}));
  std::array<std::uint8_t, 8> back{};
  ud::unscramble_password(scrambled, back);
  EXPECT_EQ(back, plain);
}

TEST(userdata_password, unscramble_inverts_scramble_for_every_byte_value) {
  for (unsigned v = 0; v < 256; ++v) {
    std::array<std::uint8_t, 8> plain{};
    for (std::size_t i = 0; i < plain.size(); ++i)
      plain[i] = static_cast<std::uint8_t>((v + i * 37U) & 0xFFU);
    std::array<std::uint8_t, 8> scrambled{};
    std::array<std::uint8_t, 8> back{};
    ud::scramble_password(plain, scrambled);
    ud::unscramble_password(scrambled, back);
    ASSERT_EQ(back, plain) << v;
  }
}

TEST(userdata_password, reads_the_plain_password_of_a_request_data_unit) {
  const byte_vec data = hex("34 37 02 42 77 37 02 42");  // "abc" scrambled (test above)
  std::array<std::uint8_t, 8> plain{};
  ASSERT_TRUE(ud::read_password(view(data), plain));
  EXPECT_EQ(plain, (std::array<std::uint8_t, 8>{'a', 'b', 'c', ' ', ' ', ' ', ' ', ' '}));
  std::array<std::uint8_t, 8> untouched{};
  untouched.fill(0xEE);
  const byte_vec short_data = hex("34 37 02 42 77 37 02");  // 7 bytes: not a password
  EXPECT_FALSE(ud::read_password(view(short_data), untouched));
  EXPECT_EQ(untouched[0], 0xEE);
}

TEST(userdata_password, decodes_a_password_request) {
  const byte_vec pdu =
      hex("32 07 0000 0001 0008 000c"
          "00 01 12 04 11 45 01 00"  // request, security, PLC password
          "ff 09 0008"
          "3437024277370242");  // "abc     " scrambled
  EXPECT_VALID_EVERYWHERE(pdu);
  const auto u = parse_pdu(pdu);
  ASSERT_DECODES(u);
  EXPECT_EQ(u->prm.group, static_cast<std::uint8_t>(ud::group::security));
  EXPECT_EQ(u->prm.subfunction, ud::sub::password);
  EXPECT_EQ(u->data.payload.size(), 8U);
}

// --- Mode-transition push -------------------------------------------------------------------

// step7_s300_stop.pcapng frame 4: the CPU tells the PG it went to STOP.
byte_vec mode_transition_push() {
  return hex(
      "0300 0019 02f080"
      "32 07 0000 0000 0008 0000"  // Userdata, parameter 8, no data
      "01 00 10 10 00 00 00 00");  // 01 00 | 10 10 00 00 | mode 0 (STOP) | 00
}

TEST(userdata_mode_transition, decodes_the_push_with_the_userdata_fields) {
  const decoded d{mode_transition_push()};
  ASSERT_TRUE(d.ok);
  const ud::param& p = d.m.prm;
  EXPECT_TRUE(p.mode_transition);
  EXPECT_EQ((p.head0 << 16U) | (p.head1 << 8U) | p.head2, 0x010010);
  EXPECT_EQ(p.length, 0x10);
  EXPECT_EQ(p.method, 0);
  EXPECT_EQ(p.group, static_cast<std::uint8_t>(ud::group::mode_transition));
  EXPECT_EQ(p.subfunction, 0);  // STOP
  EXPECT_FALSE(p.extended);
  EXPECT_FALSE(d.m.has_data);
  EXPECT_TRUE(userdata_round_trips(mode_transition_push()));
}

TEST(userdata_mode_transition, needs_eight_parameter_bytes_and_no_data) {
  const byte_vec longer = hex("32 07 0000 0000 0009 0000 01 00 10 10 00 00 00 00 00");
  EXPECT_FAILS_WITH(parse_pdu(longer), userdata_bad_length, userdata, 10U);
  const byte_vec with_data = hex("32 07 0000 0000 0008 0004 01 00 10 10 00 00 00 00 ff 09 0000");
  EXPECT_FAILS_WITH(parse_pdu(with_data), param_data_not_allowed, userdata, 18U);
  // Any other head is still refused.
  const byte_vec other = hex("32 07 0000 0000 0008 0000 02 00 10 10 00 00 00 00");
  EXPECT_FAILS_WITH(parse_pdu(other), userdata_bad_head, userdata, 10U);
}

}  // namespace
}  // namespace protos7::codec

namespace protos7::codec::test {
namespace {

// List blocks answer records (s7comm_program_blocklist_onlineview.pcap frame 59) and List
// blocks of type records (frame 96).
TEST(block_list_records, write_what_block_count_at_and_block_entry_at_read) {
  const byte_vec counts = hex("3038 0001 3041 0003 3042 000C");
  EXPECT_WRITES(
      [](writer& w) {
        s7::ud::write_block_count(w, 0x08, 1);
        s7::ud::write_block_count(w, 0x0A, 3);
        s7::ud::write_block_count(w, 0x0B, 12);
      },
      view(counts));
  s7::ud::block_count c;
  ASSERT_TRUE(s7::ud::block_count_at(view(counts), 1, c));
  EXPECT_EQ(c.block_type, 0x0A);
  EXPECT_EQ(c.count, 3);
  const s7::ud::block_entry e{0x0102, 0x22, 0x05};
  EXPECT_WRITES([&](writer& w) { s7::ud::write_block_entry(w, e); }, view(hex("0102 22 05")));
  s7::ud::block_entry back;
  const byte_vec one = hex("0102 22 05");
  ASSERT_TRUE(s7::ud::block_entry_at(view(one), 0, back));
  EXPECT_EQ(back.number, e.number);
  EXPECT_EQ(back.flags, e.flags);
  EXPECT_EQ(back.language, e.language);
}

TEST(block_type_request, writes_two_upper_case_hex_digits_that_read_back) {
  for (const int t : {0x08, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F}) {
    const auto type = static_cast<std::uint8_t>(t);
    byte_vec out(2);
    writer w{out};
    s7::ud::write_block_type_request(w, type);
    ASSERT_TRUE(w.finish().ok());
    EXPECT_EQ(*s7::ud::parse_block_type_request(view(out), nullptr), type);
  }
  byte_vec db(2);
  writer w{db};
  s7::ud::write_block_type_request(w, 0x0A);
  EXPECT_EQ(db, hex("3041"));  // "0A": DB
}

TEST(block_type_request, reads_two_hex_digits_and_refuses_the_rest) {
  const byte_vec db = hex("3041");
  const auto t = s7::ud::parse_block_type_request(view(db), nullptr);
  ASSERT_DECODES(t);
  EXPECT_EQ(*t, 0x0A);
  const byte_vec lower = hex("3065");  // "0e": FB, lower case accepted as the CPU does
  EXPECT_EQ(*s7::ud::parse_block_type_request(view(lower), nullptr), 0x0E);
  for (const char* bad : {"30", "304130", "3047", ""}) {
    const byte_vec b = hex(bad);
    EXPECT_FAILS_WITH(s7::ud::parse_block_type_request(view(b), nullptr), userdata_bad_payload,
                      userdata, 0)
        << bad;
  }
}

}  // namespace
}  // namespace protos7::codec::test
