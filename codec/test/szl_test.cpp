// SZL payloads of Read SZL (szl.hpp): requests, response heads, fragmented answers, and every
// distinct kind of SZL answer in the captures.
//
// Payload offsets are measured from the first byte of the data unit payload unless a test gives
// the frame as the origin.
#include "protos7/codec/szl.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "capture_fixtures.hpp"
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

}  // namespace
}  // namespace protos7::codec
