// SZL payloads of Read SZL (szl.hpp): requests, response heads, fragmented answers, and every
// distinct kind of SZL answer in the captures.
//
// Payload offsets are measured from the first byte of the data unit payload unless a test gives
// the frame as the origin.
#include "protos7/codec/szl.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "capture_fixtures.hpp"
#include "protos7/codec/s7_value.hpp"
#include "protos7/codec/userdata.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::view;

// The data unit payload of a Userdata frame (decoded whole).
struct payload_of {
  byte_vec frame;
  s7::ud::message ud;
  bool ok = false;
  payload_of(const payload_of&) = delete;  // `ud` holds views of `frame`
  payload_of& operator=(const payload_of&) = delete;
  explicit payload_of(byte_vec f) : frame(std::move(f)) {
    const auto m = test::decode_frame(view(frame));
    EXPECT_TRUE(m.ok()) << ::testing::PrintToString(m.err());
    if (!m) return;
    ud = m->ud;
    ok = true;
  }
  bytes payload() const { return ud.data.payload; }
};

// --- Requests -----------------------------------------------------------------------------

TEST(szl_request, decodes_the_captured_request) {
  const payload_of in{test::fx::szl_request()};
  ASSERT_TRUE(in.ok);
  const auto q = szl::parse_request(in.payload(), in.frame.data());
  ASSERT_DECODES(q);
  EXPECT_EQ(q->id, 0x0132);
  EXPECT_EQ(q->index, 0x0004);
  EXPECT_WRITES([&](writer& w) { szl::write_request(w, *q); }, in.payload());
}

TEST(szl_request, rejects_a_payload_that_is_not_4_bytes) {
  const payload_of in{test::fx::szl_request()};
  ASSERT_TRUE(in.ok);
  // Frame offset 29: the payload after the 4-byte data unit head.
  EXPECT_FAILS_WITH(szl::parse_request(in.payload().first(3), in.frame.data()), szl_bad_request,
                    szl, 29U);
  const byte_vec five = hex("0132 0004 00");
  EXPECT_FAILS_WITH(szl::parse_request(view(five), nullptr), szl_bad_request, szl, 0U);
  // The "next unit" request carries no SZL-ID at all.
  const payload_of next{test::fx::szl_request_next()};
  ASSERT_TRUE(next.ok);
  EXPECT_TRUE(next.payload().empty());
  EXPECT_FAILS_WITH(szl::parse_request(next.payload(), next.frame.data()), szl_bad_request, szl,
                    33U);
}

// --- Responses ----------------------------------------------------------------------------

TEST(szl_response, decodes_the_captured_answer) {
  const payload_of in{test::fx::szl_response()};
  ASSERT_TRUE(in.ok);
  const auto h = szl::parse_response(in.payload(), in.frame.data(), true);
  ASSERT_DECODES(h);
  EXPECT_EQ(h->id, 0x0132);
  EXPECT_EQ(h->index, 0x0004);
  EXPECT_EQ(h->record_length, 40);
  EXPECT_EQ(h->record_count, 1);
  EXPECT_EQ(h->records.size(), 40U);
  EXPECT_EQ(h->records.data(), in.frame.data() + 41);  // a view
  EXPECT_EQ(szl::list_number(h->id), 0x32);
}

TEST(szl_response, decodes_module_identification) {
  const payload_of in{test::fx::szl_response_0111()};
  ASSERT_TRUE(in.ok);
  const auto h = szl::parse_response(in.payload(), nullptr, true);
  ASSERT_DECODES(h);
  EXPECT_EQ(h->id, 0x0111);
  EXPECT_EQ(h->record_length, 28);
  // Record: index (2), order number "6ES7 151-8AB01-0AB0 " (20), ...
  const bytes order = h->records.subspan(2, 20);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(order.data()), order.size()),  // NOLINT
            "6ES7 151-8AB01-0AB0 ");
}

TEST(szl_response, decodes_a_partial_list_header_without_records) {
  // SZL-ID 0x0f11: extract number 0xF asks for the header only. The CPU answers LENTHDR and
  // N_DR of the whole list and sends no records.
  const payload_of in{test::fx::szl_response_header_only()};
  ASSERT_TRUE(in.ok);
  const auto h = szl::parse_response(in.payload(), in.frame.data(), true);
  ASSERT_DECODES(h);
  EXPECT_EQ(h->id, 0x0F11);
  EXPECT_EQ(h->record_length, 28);
  EXPECT_EQ(h->record_count, 4);
  EXPECT_TRUE(h->records.empty());
}

TEST(szl_response, rejects_records_with_a_header_only_id) {
  const byte_vec payload =
      hex("0f11 0000 001c 0004"
          "0001");  // header-only lists carry no records
  EXPECT_FAILS_WITH(szl::parse_response(view(payload), nullptr, true), szl_bad_length, szl, 4U);
}

TEST(szl_response, accepts_the_first_unit_of_a_fragmented_answer_as_incomplete) {
  const payload_of in{test::fx::szl_response_first_fragment()};
  ASSERT_TRUE(in.ok);
  EXPECT_EQ(in.ud.prm.last_data_unit, s7::ud::last_unit_no);
  const auto h = szl::parse_response(in.payload(), in.frame.data(), false);
  ASSERT_DECODES(h);
  EXPECT_EQ(h->record_length, 2);
  EXPECT_EQ(h->record_count, 0x70);
  EXPECT_EQ(h->records.size(), 206U);  // of 224
  // As a complete answer it is 18 bytes short. LENTHDR is at frame offset 37.
  EXPECT_FAILS_WITH(szl::parse_response(in.payload(), in.frame.data(), true), szl_bad_length, szl,
                    37U);
}

TEST(szl_response, reassembles_a_fragmented_answer) {
  // plc_status frames 17 (first unit, more follow), 19 (client: next please), 20 (last unit):
  // the records of the follow-up unit continue the first unit's.
  const payload_of first{test::fx::szl_response_first_fragment()};
  const payload_of next{test::fx::szl_request_next()};
  const payload_of last{test::fx::szl_response_last_fragment()};
  ASSERT_TRUE(first.ok && next.ok && last.ok);
  EXPECT_EQ(first.ud.prm.data_unit_ref, 5);
  EXPECT_EQ(last.ud.prm.data_unit_ref, 5);
  EXPECT_EQ(last.ud.prm.last_data_unit, s7::ud::last_unit_yes);
  EXPECT_EQ(next.ud.prm.seq, first.ud.prm.seq);  // the request echoes the sequence number
  const byte_vec whole = test::concat({first.payload(), last.payload()});
  const auto h = szl::parse_response(view(whole), nullptr, true);
  ASSERT_DECODES(h);
  EXPECT_EQ(h->records.size(), 224U);
  // The list of all SZL-IDs: the first and last record.
  EXPECT_BYTES_EQ(h->records.first(2), view(hex("0000")));
  EXPECT_BYTES_EQ(h->records.last(2), view(hex("04b6")));
}

TEST(szl_response, rejects_more_records_than_the_head_announces) {
  const byte_vec payload =
      hex("0132 0004 0002 0001"
          "0001 0002");  // 2 records of 2 bytes, the head says 1
  EXPECT_FAILS_WITH(szl::parse_response(view(payload), nullptr, true), szl_bad_length, szl, 4U);
  EXPECT_FAILS_WITH(szl::parse_response(view(payload), nullptr, false), szl_bad_length, szl, 4U);
}

TEST(szl_response, rejects_a_head_cut_short) {
  const byte_vec payload = hex("0132 0004 0028");  // N_DR missing at 6
  EXPECT_FAILS_WITH(szl::parse_response(view(payload), nullptr, false), truncated, szl, 6U);
  EXPECT_FAILS_WITH(szl::parse_response({}, nullptr, false), truncated, szl, 0U);
}

TEST(szl_response, write_response_head_round_trips) {
  const payload_of in{test::fx::szl_response()};
  ASSERT_TRUE(in.ok);
  const auto h = szl::parse_response(in.payload(), nullptr, true);
  ASSERT_DECODES(h);
  EXPECT_WRITES(
      [&](writer& w) {
        szl::write_response_head(w, *h);
        w.raw(h->records);
      },
      in.payload());
}

// --- Every kind of SZL answer in the captures ---------------------------------------------

struct szl_case {
  const char* name;
  const char* frame;
};

// Generated from the captures (every distinct single-unit SZL answer of
// s7comm_reading_plc_status.pcap, plus the 0x0013 and 0x0132/2 answers of
// s7comm_downloading_block_db1.pcap and 0x011c of s7comm_reading_setting_plc_time.pcap).
const szl_case captured_answers[] = {
    {"plc_status frame 122: SZL 0x0f1a index 0x0000, header only: 3 x 12 bytes",
     "03000029 02f080"                 // TPKT, DT
     "3207 0000 2500 000c 000c"        // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"      // head, response CPU functions Read SZL, unit, error
     "ff090008 0f1a 0000 000c 0003"},  // data unit, SZL-ID, index, LENTHDR, N_DR
    {"plc_status frame 125: SZL 0x0f1b index 0x0000, header only: 6 x 20 bytes",
     "03000029 02f080"                 // TPKT, DT
     "3207 0000 2600 000c 000c"        // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"      // head, response CPU functions Read SZL, unit, error
     "ff090008 0f1b 0000 0014 0006"},  // data unit, SZL-ID, index, LENTHDR, N_DR
    {"plc_status frame 174: SZL 0x0f12 index 0x0000, header only: 23 x 2 bytes",
     "03000029 02f080"                 // TPKT, DT
     "3207 0000 3500 000c 000c"        // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"      // head, response CPU functions Read SZL, unit, error
     "ff090008 0f12 0000 0002 0017"},  // data unit, SZL-ID, index, LENTHDR, N_DR
    {"plc_status frame 218: SZL 0x0f3a index 0x0000, header only: 8 x 148 bytes",
     "03000029 02f080"                 // TPKT, DT
     "3207 0000 4300 000c 000c"        // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"      // head, response CPU functions Read SZL, unit, error
     "ff090008 0f3a 0000 0094 0008"},  // data unit, SZL-ID, index, LENTHDR, N_DR
    {"plc_status frame 65: SZL 0x0f1c index 0x0000, header only: 10 x 34 bytes",
     "03000029 02f080"                 // TPKT, DT
     "3207 0000 1300 000c 000c"        // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"      // head, response CPU functions Read SZL, unit, error
     "ff090008 0f1c 0000 0022 000a"},  // data unit, SZL-ID, index, LENTHDR, N_DR
    {"plc_status frame 75: SZL 0x0f74 index 0x0000, header only: 7 x 4 bytes",
     "03000029 02f080"                 // TPKT, DT
     "3207 0000 1600 000c 000c"        // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"      // head, response CPU functions Read SZL, unit, error
     "ff090008 0f74 0000 0004 0007"},  // data unit, SZL-ID, index, LENTHDR, N_DR
    {"plc_status frame 221: SZL 0x003a index 0x0000, 0 records of 148 bytes",
     "03000029 02f080"                 // TPKT, DT
     "3207 0000 4400 000c 000c"        // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"      // head, response CPU functions Read SZL, unit, error
     "ff090008 003a 0000 0094 0000"},  // data unit, SZL-ID, index, LENTHDR, N_DR
    {"plc_status frame 62: SZL 0x0112 index 0x0200, 0 records of 0 bytes",
     "03000029 02f080"                 // TPKT, DT
     "3207 0000 1200 000c 000c"        // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"      // head, response CPU functions Read SZL, unit, error
     "ff090008 0112 0200 0000 0000"},  // data unit, SZL-ID, index, LENTHDR, N_DR
    {"plc_status frame 177: SZL 0x0112 index 0x0100, 2 records of 2 bytes",
     "0300002d 02f080"               // TPKT, DT
     "3207 0000 3600 000c 0010"      // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff09000c 0112 0100 0002 0002"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "01010104"},
    {"plc_status frame 90: SZL 0x0174 index 0x0006, 1 records of 4 bytes",
     "0300002d 02f080"               // TPKT, DT
     "3207 0000 1b00 000c 0010"      // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff09000c 0174 0006 0004 0001"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "00060000"},
    {"plc_status frame 49: SZL 0x0d91 index 0x0000, 1 records of 16 bytes",
     "03000039 02f080"               // TPKT, DT
     "3207 0000 0e00 000c 001c"      // Userdata, PDU ref, param and data length
     "00011208 12840101 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff090018 0d91 0000 0010 0001"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "000002007fff00c000c00000b4020011"},
    {"plc_status frame 87: SZL 0x0424 index 0x0000, 1 records of 20 bytes",
     "0300003d 02f080"               // TPKT, DT
     "3207 0000 1a00 000c 0020"      // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff09001c 0424 0000 0014 0001"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "5144ff0800000000000000001408201205283494"},
    {"plc_status frame 148: SZL 0x0222 index 0x0050, 1 records of 28 bytes",
     "03000045 02f080"               // TPKT, DT
     "3207 0000 2d00 000c 0028"      // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff090024 0222 0050 001c 0001"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "35011a50c85800000000012c00000000000000000000000800000000"},
    {"plc_status frame 78: SZL 0x0074 index 0x0000, 7 records of 4 bytes",
     "03000045 02f080"               // TPKT, DT
     "3207 0000 1700 000c 0028"      // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff090024 0074 0000 0004 0007"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "00010100000401000005000000060000000b0101000c000000150000"},
    {"plc_time frame 32: SZL 0x011c index 0x0002, 1 records of 34 bytes",
     "0300004b 02f080"               // TPKT, DT
     "3207 0000 0900 000c 002e"      // Userdata, PDU ref, param and data length
     "00011208 12840101 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff09002a 011c 0002 0022 0001"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "0002494d3135312d3820504e2f445020435055000000000000000000000000000000"},
    {"plc_status frame 128: SZL 0x001a index 0x0000, 3 records of 12 bytes",
     "0300004d 02f080"               // TPKT, DT
     "3207 0000 2700 000c 0030"      // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff09002c 001a 0000 000c 0003"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "090101050002000000800000120100020003000000030000180100020001000000010000"},
    {"download frame 14: SZL 0x0132 index 0x0002, 1 records of 40 bytes",
     "03000051 02f080"               // TPKT, DT
     "3207 0000 0400 000c 0034"      // Userdata, PDU ref, param and data length
     "00011208 12840101 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff090030 0132 0002 0028 0001"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "0002000000000000000e000000000601080000000000000000000000000000000000000000000000"},
    {"plc_status frame 203: SZL 0x0131 index 0x0006, 1 records of 40 bytes",
     "03000051 02f080"               // TPKT, DT
     "3207 0000 3e00 000c 0034"      // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff090030 0131 0006 0028 0001"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "0006f30000f801f0ff4e000000000000000000000004000000200100000a004cffff05c000000000"},
    {"plc_status frame 59: SZL 0x0011 index 0x0000, 4 records of 28 bytes",
     "03000099 02f080"               // TPKT, DT
     "3207 0000 1100 000c 007c"      // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff090078 0011 0000 001c 0004"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "000136455337203135312d38414230312d304142302000c000030001000636455337203135312d38414230312d304"
     "142"
     "302000c0000300010007202020202020202020202020202020202020202000c0560302060081426f6f74204c6f616"
     "465"
     "72202020202020202020000041200909"},
    {"plc_status frame 131: SZL 0x001b index 0x0000, 6 records of 20 bytes",
     "030000a1 02f080"               // TPKT, DT
     "3207 0000 2800 000c 0084"      // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff090080 001b 0000 0014 0006"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "0900000000020000000000000000151e000000000900007000020000000000000001eae2000000001200000000000"
     "000"
     "0000000000000314000000001200007000000000000000000002fcec0000000018000000000000000000000000000"
     "1b4"
     "000000001800007000000000000000000000fe4c00000000"},
    {"download frame 17: SZL 0x0013 index 0x0000, 5 records of 36 bytes",
     "030000dd 02f080"               // TPKT, DT
     "3207 0000 0500 000c 00c0"      // Userdata, PDU ref, param and data length
     "00011208 12840101 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff0900bc 0013 0000 0024 0005"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "000100010003000000110000000300000000016000000000000000000000000000000000000200010000000000010"
     "000"
     "000000000000000000000000000000000000000000000000000300020002000000020000000000000000000000000"
     "000"
     "000200000000132a00000000000400020080000000020000000000000000000000000000008000000000000000000"
     "000"
     "000500020000050000020000000000000000000000000000000005000000002000000000"},
    {"plc_status frame 103: SZL 0x00a0 index 0x0000, 10 records of 20 bytes",
     "030000f1 02f080"               // TPKT, DT
     "3207 0000 1f00 000c 00d4"      // Userdata, PDU ref, param and data length
     "00011208 12840102 00000000"    // head, response CPU functions Read SZL, unit, error
     "ff0900d0 00a0 0000 0014 000a"  // data unit, SZL-ID, index, LENTHDR, N_DR
     "4302ff68c70000000b107710140820115359202413821b64c772494e0b10771014082011535920144301ff46c7724"
     "94e"
     "0810771014082011535911644300fff300000000000000001408201153434984494eff8fc00000000000000014081"
     "422"
     "553568854302ff68c70000000b107710140814223155986513821b64c772494e0b10771014081422315598554301f"
     "f46"
     "c772494e0810771014081422315590154300fff300000000000000001408142231403045494eff8fc000000000000"
     "000"
     "1407102217076815"},

};

TEST(szl_response, decodes_every_captured_kind_of_answer) {
  for (const szl_case& c : captured_answers) {
    SCOPED_TRACE(c.name);
    const byte_vec frame = hex(c.frame);
    EXPECT_FRAMED_AT_EVERY_SPLIT(frame);
    EXPECT_TRUE(test::transport_round_trips(view(frame)));
    EXPECT_TRUE(test::s7_header_round_trips(test::s7_of(frame)));
    const payload_of in{frame};
    ASSERT_TRUE(in.ok);
    EXPECT_EQ(in.ud.prm.group, static_cast<std::uint8_t>(s7::ud::group::cpu));
    EXPECT_EQ(in.ud.prm.subfunction, s7::ud::sub::read_szl);
    const auto h = szl::parse_response(in.payload(), in.frame.data(), true);
    ASSERT_DECODES(h);
    const bool header_only = (h->id & 0x0F00U) == 0x0F00U;
    EXPECT_EQ(h->records.size(),
              header_only ? 0U : std::size_t{h->record_length} * h->record_count);
    EXPECT_WRITES(
        [&](writer& w) {
          szl::write_response_head(w, *h);
          w.raw(h->records);
        },
        in.payload());
  }
}

TEST(szl_is_header_only, is_extract_number_0xf) {
  EXPECT_TRUE(szl::is_header_only(0x0F11));
  EXPECT_TRUE(szl::is_header_only(0x0F00));
  EXPECT_TRUE(szl::is_header_only(0x8F74));
  EXPECT_FALSE(szl::is_header_only(0x0011));
  EXPECT_FALSE(szl::is_header_only(0x0E11));
  EXPECT_FALSE(szl::is_header_only(0x0D91));
}

TEST(szl_list_number, is_the_low_byte_of_the_id) {
  EXPECT_EQ(szl::list_number(0x0F11), 0x11);
  EXPECT_EQ(szl::list_number(0x0424), 0x24);
  EXPECT_EQ(szl::list_number(0x0000), 0x00);
}

// --- Records ------------------------------------------------------------------------------

// The records of the captured answers, written field by field.

// plc_status frame 59: SZL 0x0011, 4 records of 28 bytes.
byte_vec module_records() {
  return hex(
      "0001"                                      // index 1: module
      "36455337203135312d38414230312d3041423020"  // MlfB "6ES7 151-8AB01-0AB0 "
      "00c0 0003 0001"                            // BGTyp, Ausbg1, Ausbg2
      "0006"                                      // index 6: basic hardware
      "36455337203135312d38414230312d3041423020"  // MlfB "6ES7 151-8AB01-0AB0 "
      "00c0 0003 0001"                            // BGTyp, Ausbg1, Ausbg2
      "0007"                                      // index 7: basic firmware
      "2020202020202020202020202020202020202020"  // MlfB: 20 spaces
      "00c0 5603 0206"                            // BGTyp, 'V' 3, 2 6: V3.2.6
      "0081"                                      // index 0x81: boot loader
      "426f6f74204c6f61646572202020202020202020"  // "Boot Loader" + 9 spaces
      "0000 4120 0909");                          // BGTyp, 'A' 32, 9 9
}

// plc_status frames 69 + 72: SZL 0x001C, 10 records of 34 bytes (the answer in two data units).
byte_vec component_records() {
  const std::string zeros(64, '0');  // 32 zero bytes
  return hex(
      "0001 494d3135312d382d435055" + zeros.substr(0, 42) +               // "IM151-8-CPU"
      "0002 494d3135312d3820504e2f4450204350 55" + zeros.substr(0, 30) +  // "IM151-8 PN/DP CPU"
      "0003" + zeros +                                                    // plant id: empty
      "0004 4f726967696e616c205369656d656e732045717569706d656e74"         // "Original Siemens
      + zeros.substr(0, 12) +                                             //  Equipment"
      "0005 5320432d433654573734383832303132" + zeros.substr(0, 32) +     // "S C-C6TW74882012"
      "0007 494d3135312d3820504e2f4450204350 55" + zeros.substr(0, 30) +  // "IM151-8 PN/DP CPU"
      "0008 4d4d432032393030464331 41" + zeros.substr(0, 40) +            // "MMC 2900FC1A"
      "0009 002a f600 0001" + zeros.substr(0, 52) +                       // manufacturer, profile
      "000a" + zeros +                                                    // OEM: empty
      "000b" + zeros);                                                    // location: empty
}

// plc_status frame 24: SZL 0x0131 index 1.
byte_vec capabilities_record() {
  return hex(
      "0001"      // index 1
      "00f0"      // pdu: 240
      "000c"      // anz: 12 connections
      "0002dc6c"  // mpi_bps: 187500
      "00000000"  // mkbus_bps
      "05f5e100"  // res (not modelled): 100000000, then zeros
      "00000000000000000000000000000000000000000000");
}

// plc_status frame 212: SZL 0x0132 index 1.
byte_vec comm_status_record() {
  return hex(
      "0001"                                        // index 1
      "0001 0001"                                   // res_pg, res_os
      "0001 0000"                                   // u_pg, u_os
      "0001 0000"                                   // proj, auf
      "000a 0000 0014"                              // free 10, used 0, last 20
      "0000000000000000000000000000000000000003");  // res (not modelled)
}

// s7comm_program_blocklist_onlineview.pcap frame 11: SZL 0x0132 index 4.
byte_vec protection_record() {
  return hex(
      "0004"                                                        // index 4
      "0001 0000 0001"                                              // sch_schal, sch_par, sch_rel
      "0002 0000"                                                   // bart_sch: RUN-P, anl_sch
      "00005656bc04a3d58401d6b202000000000000000000000000000000");  // res (not modelled)
}

// s7comm_reading_setting_plc_time.pcap frame 29: SZL 0x0132 index 8.
byte_vec time_status_record() {
  return hex(
      "0008"                              // index 8
      "0000 0000"                         // zykl, korr
      "00000000000000000000000000000000"  // run-time meters
      "14 08 20 11 59 43 96 74"           // 2014-08-20 11:59:43.967, Wednesday
      "00000000000000000000");            // bszl, status (not modelled)
}

// plc_status frame 87: SZL 0x0424.
byte_vec operating_mode_record() {
  return hex(
      "5144"                       // ereig
      "ff"                         // ae
      "08"                         // bzu_id: RUN
      "00000000 00000000"          // res, anlinfo1..4
      "14 08 20 12 05 28 34 94");  // 2014-08-20 12:05:28.349, Wednesday
}

// The records of the captured frame's answer (captured_answers above, by name).
byte_vec records_of(std::string_view name) {
  for (const szl_case& c : captured_answers)
    if (std::string_view{c.name}.starts_with(name)) {
      const payload_of in{hex(c.frame)};
      const auto h = szl::parse_response(in.payload(), nullptr, true);
      if (!h) break;
      return {h->records.begin(), h->records.end()};
    }
  ADD_FAILURE() << "no captured answer " << name;
  return {};
}

TEST(szl_records, fixtures_are_the_captured_bytes) {
  EXPECT_BYTES_EQ(view(module_records()), view(records_of("plc_status frame 59:")));
  EXPECT_BYTES_EQ(view(operating_mode_record()), view(records_of("plc_status frame 87:")));
  EXPECT_EQ(component_records().size(), 10U * szl::component_identification_length);
  for (const byte_vec& r :
       {capabilities_record(), comm_status_record(), protection_record(), time_status_record()})
    EXPECT_EQ(r.size(), 40U);
}

TEST(szl_records, record_at_splits_a_list_by_its_record_length) {
  const byte_vec list = module_records();
  EXPECT_EQ(szl::record_at(view(list), 28, 0).size(), 28U);
  EXPECT_EQ(szl::record_at(view(list), 28, 3).data(), list.data() + 84);
  EXPECT_TRUE(szl::record_at(view(list), 28, 4).empty());
  EXPECT_TRUE(szl::record_at(view(list), 0, 0).empty());
  EXPECT_TRUE(szl::record_at(view(list).first(27), 28, 0).empty());
}

TEST(szl_records, record_index_is_the_first_word) {
  const byte_vec list = module_records();
  std::vector<std::uint16_t> indexes;
  for (std::size_t i = 0; i < 4; ++i) {
    const auto idx = szl::parse_record_index(szl::record_at(view(list), 28, i), nullptr);
    ASSERT_DECODES(idx);
    indexes.push_back(*idx);
  }
  EXPECT_EQ(indexes, (std::vector<std::uint16_t>{1, 6, 7, 0x81}));
  const byte_vec one = hex("00");
  EXPECT_FAILS_WITH(szl::parse_record_index(view(one), nullptr), truncated, szl, 0U);
}

TEST(szl_records, id_list_records_are_the_ids) {
  // plc_status frame 17: the first SZL-IDs of 0x0000.
  EXPECT_WRITES(
      [](writer& w) {
        for (const int id : {0x0000, 0x0F00, 0x0002, 0x0011})
          szl::write_id_record(w, static_cast<std::uint16_t>(id));
      },
      view(hex("0000 0f00 0002 0011")));
}

TEST(szl_module_identification, decodes_the_captured_records_and_writes_them_back) {
  const byte_vec list = module_records();
  const auto m1 = szl::parse_module_identification(szl::record_at(view(list), 28, 0), nullptr);
  ASSERT_DECODES(m1);
  EXPECT_EQ(m1->index, szl::module_index::module);
  EXPECT_EQ(szl::text_of(m1->mlfb), "6ES7 151-8AB01-0AB0 ");
  EXPECT_EQ(m1->bg_type, 0x00C0);
  EXPECT_EQ(m1->ausbg1, 0x0003);
  EXPECT_EQ(m1->ausbg2, 0x0001);
  const auto m7 = szl::parse_module_identification(szl::record_at(view(list), 28, 2), nullptr);
  ASSERT_DECODES(m7);
  EXPECT_EQ(m7->index, szl::module_index::basic_firmware);
  EXPECT_EQ(szl::version_of(*m7), (szl::version{'V', 3, 2, 6}));
  const auto boot = szl::parse_module_identification(szl::record_at(view(list), 28, 3), nullptr);
  ASSERT_DECODES(boot);
  EXPECT_EQ(boot->index, szl::module_index::boot_loader);
  EXPECT_EQ(szl::text_of(boot->mlfb), "Boot Loader         ");
  for (std::size_t i = 0; i < 4; ++i) {
    const bytes r = szl::record_at(view(list), 28, i);
    const auto m = szl::parse_module_identification(r, nullptr);
    ASSERT_DECODES(m);
    EXPECT_WRITES([&](writer& w) { szl::write_module_identification(w, *m); }, r);
  }
}

TEST(szl_module_identification, writes_changed_fields_into_a_template) {
  const byte_vec list = module_records();
  auto m = *szl::parse_module_identification(szl::record_at(view(list), 28, 2), nullptr);
  szl::set_version(m, {'V', 4, 1, 12});
  auto h = *szl::parse_module_identification(szl::record_at(view(list), 28, 0), nullptr);
  szl::set_text(h.mlfb, "6ES7 315-2EH14-0AB0", ' ');
  EXPECT_WRITES([&](writer& w) { szl::write_module_identification(w, m); },
                view(hex("0007 2020202020202020202020202020202020202020 00c0 5604 010c")));
  EXPECT_WRITES([&](writer& w) { szl::write_module_identification(w, h); },
                view(hex("0001 36455337203331352d32454831342d3041423020 00c0 0003 0001")));
  // A name longer than the field is cut.
  szl::set_text(h.mlfb, "0123456789012345678901", ' ');
  EXPECT_EQ(szl::text_of(h.mlfb), "01234567890123456789");
}

TEST(szl_module_identification, rejects_a_record_of_another_length) {
  const byte_vec list = module_records();
  EXPECT_FAILS_WITH(szl::parse_module_identification(view(list).first(27), nullptr),
                    szl_bad_record_length, szl, 0U);
  EXPECT_FAILS_WITH(szl::parse_module_identification(view(list).subspan(28, 29), list.data()),
                    szl_bad_record_length, szl, 28U);
}

TEST(szl_component_identification, decodes_the_captured_records_and_writes_them_back) {
  const byte_vec list = component_records();
  const auto name = [](const szl::component_identification& c) {
    const std::string_view t = szl::text_of(c.name);
    return t.substr(0, t.find('\0'));
  };
  const std::pair<std::uint16_t, std::string_view> expected[] = {{1, "IM151-8-CPU"},
                                                                 {2, "IM151-8 PN/DP CPU"},
                                                                 {3, ""},
                                                                 {4, "Original Siemens Equipment"},
                                                                 {5, "S C-C6TW74882012"},
                                                                 {7, "IM151-8 PN/DP CPU"},
                                                                 {8, "MMC 2900FC1A"}};
  for (std::size_t i = 0; i < 10; ++i) {
    const bytes r = szl::record_at(view(list), 34, i);
    const auto c = szl::parse_component_identification(r, nullptr);
    ASSERT_DECODES(c);
    if (i < std::size(expected)) {
      EXPECT_EQ(c->index, expected[i].first);
      EXPECT_EQ(name(*c), expected[i].second);
    }
    EXPECT_WRITES([&](writer& w) { szl::write_component_identification(w, *c); }, r);
  }
  auto as = *szl::parse_component_identification(szl::record_at(view(list), 34, 0), nullptr);
  szl::set_text(as.name, "PLC", '\0');
  EXPECT_WRITES([&](writer& w) { szl::write_component_identification(w, as); },
                view(hex("0001 504c43" + std::string(58, '0'))));
  EXPECT_FAILS_WITH(szl::parse_component_identification(view(list).first(33), nullptr),
                    szl_bad_record_length, szl, 0U);
}

TEST(szl_communication_capabilities, decodes_the_captured_record_and_writes_it_back) {
  const byte_vec r = capabilities_record();
  const auto c = szl::parse_communication_capabilities(view(r), nullptr);
  ASSERT_DECODES(c);
  EXPECT_EQ(c->index, 1);
  EXPECT_EQ(c->pdu, 240);
  EXPECT_EQ(c->anz, 12);
  EXPECT_EQ(c->mpi_bps, 187500U);
  EXPECT_EQ(c->mkbus_bps, 0U);
  EXPECT_EQ(c->rest.size(), 26U);
  EXPECT_WRITES([&](writer& w) { szl::write_communication_capabilities(w, *c); }, view(r));
  auto changed = *c;
  changed.pdu = 480;
  changed.anz = 32;
  byte_vec want = r;
  want[3] = std::byte{0xE0};
  want[2] = std::byte{0x01};
  want[5] = std::byte{0x20};
  EXPECT_WRITES([&](writer& w) { szl::write_communication_capabilities(w, changed); }, view(want));
  EXPECT_FAILS_WITH(szl::parse_communication_capabilities(view(r).first(39), nullptr),
                    szl_bad_record_length, szl, 0U);
}

// wincc_s400_production.pcapng frame 10 (an S7-400): 32 cyclic read jobs, 100 ms to 90 s.
TEST(szl_oi_capabilities, decodes_the_captured_record_and_writes_it_back) {
  const byte_vec r = hex("0003 ffff8301 01e0 0020 0001 0384 0001" + std::string(48, '0'));
  const auto c = szl::parse_oi_capabilities(view(r), nullptr);
  ASSERT_DECODES(c);
  EXPECT_EQ(c->index, 3);
  EXPECT_EQ(c->funkt, 0xFFFF8301U);
  EXPECT_EQ(c->data, 480);
  EXPECT_EQ(c->anz, 32);
  EXPECT_EQ(c->per_min, 1);
  EXPECT_EQ(c->per_max, 900);
  EXPECT_EQ(c->rest.size(), 26U);
  EXPECT_WRITES([&](writer& w) { szl::write_oi_capabilities(w, *c); }, view(r));
  auto changed = *c;
  changed.anz = 8;
  byte_vec want = r;
  want[9] = std::byte{0x08};
  EXPECT_WRITES([&](writer& w) { szl::write_oi_capabilities(w, changed); }, view(want));
  EXPECT_FAILS_WITH(szl::parse_oi_capabilities(view(r).first(39), nullptr), szl_bad_record_length,
                    szl, 0U);
}

TEST(szl_communication_status, decodes_the_captured_record_and_writes_it_back) {
  const byte_vec r = comm_status_record();
  const auto c = szl::parse_communication_status(view(r), nullptr);
  ASSERT_DECODES(c);
  EXPECT_EQ(c->index, 1);
  EXPECT_EQ(c->res_pg, 1);
  EXPECT_EQ(c->res_os, 1);
  EXPECT_EQ(c->u_pg, 1);
  EXPECT_EQ(c->u_os, 0);
  EXPECT_EQ(c->proj, 1);
  EXPECT_EQ(c->auf, 0);
  EXPECT_EQ(c->free, 10);
  EXPECT_EQ(c->used, 0);
  EXPECT_EQ(c->last, 20);
  EXPECT_EQ(c->rest.size(), 20U);
  EXPECT_WRITES([&](writer& w) { szl::write_communication_status(w, *c); }, view(r));
  EXPECT_FAILS_WITH(szl::parse_communication_status(view(r).first(2), nullptr),
                    szl_bad_record_length, szl, 0U);
}

TEST(szl_protection, decodes_the_captured_record_and_writes_it_back) {
  const byte_vec r = protection_record();
  const auto p = szl::parse_protection(view(r), nullptr);
  ASSERT_DECODES(p);
  EXPECT_EQ(p->index, 4);
  EXPECT_EQ(p->sch_schal, 1);
  EXPECT_EQ(p->sch_par, 0);
  EXPECT_EQ(p->sch_rel, 1);
  EXPECT_EQ(p->bart_sch, 2);
  EXPECT_EQ(p->anl_sch, 0);
  EXPECT_EQ(p->rest.size(), 28U);
  EXPECT_WRITES([&](writer& w) { szl::write_protection(w, *p); }, view(r));
  // Without a template: the index and zeros.
  szl::protection none;
  none.sch_schal = 1;
  none.bart_sch = 3;
  EXPECT_WRITES([&](writer& w) { szl::write_protection(w, none); },
                view(hex("0004 0001 0000 0000 0003 0000"
                         "00000000000000000000000000000000000000000000000000000000")));
  EXPECT_FAILS_WITH(szl::parse_protection(view(r).first(12), nullptr), szl_bad_record_length, szl,
                    0U);
}

TEST(szl_time_status, decodes_the_captured_record_and_writes_it_back) {
  const byte_vec r = time_status_record();
  const auto t = szl::parse_time_status(view(r), nullptr);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->index, 8);
  EXPECT_EQ(t->run_time_meters.size(), 16U);
  EXPECT_EQ(t->time.data(), r.data() + 22);
  const auto dt = s7::value::parse_date_and_time(t->time, r.data());
  ASSERT_DECODES(dt);
  EXPECT_EQ(*dt, (s7::value::date_and_time{2014, 8, 20, 11, 59, 43, 967, 4}));
  EXPECT_EQ(t->rest.size(), 10U);
  EXPECT_WRITES([&](writer& w) { szl::write_time_status(w, *t); }, view(r));
  EXPECT_FAILS_WITH(szl::parse_time_status(view(r).subspan(1), r.data()), szl_bad_record_length,
                    szl, 1U);
}

TEST(szl_operating_mode, decodes_the_captured_record_and_writes_it_back) {
  const byte_vec r = operating_mode_record();
  const auto m = szl::parse_operating_mode(view(r), nullptr);
  ASSERT_DECODES(m);
  EXPECT_EQ(m->ereig, 0x5144);
  EXPECT_EQ(m->ae, 0xFF);
  EXPECT_EQ(m->bzu_id, szl::bzu_run);
  EXPECT_EQ(m->mode(), szl::bzu_run);
  EXPECT_EQ(m->time.data(), r.data() + 12);
  EXPECT_WRITES([&](writer& w) { szl::write_operating_mode(w, *m); }, view(r));
  auto stop = *m;
  stop.bzu_id = szl::bzu_stop;
  byte_vec want = r;
  want[3] = std::byte{0x04};
  EXPECT_WRITES([&](writer& w) { szl::write_operating_mode(w, stop); }, view(want));
  EXPECT_FAILS_WITH(szl::parse_operating_mode(view(r).first(19), nullptr), szl_bad_record_length,
                    szl, 0U);
}

}  // namespace
}  // namespace protos7::codec
