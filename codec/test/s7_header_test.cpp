// S7comm header (protocol id 0x32): ROSCTR, lengths, error class/code, and s7::decode dispatch.
//
// Error offsets are measured from the S7 PDU's first byte when it is parsed alone, and from the
// TPKT frame's first byte (S7 header at 7) when the frame is the origin.
#include "protos7/codec/s7_header.hpp"

#include <gtest/gtest.h>

#include "capture_fixtures.hpp"
#include "protos7/codec/s7.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::s7_at;
using test::view;

TEST(s7_parse, decodes_a_job_header_from_capture) {
  const byte_vec frame = test::fx::setup_job();
  const bytes pdu = test::s7_of(frame);
  const auto p = s7::parse(pdu, frame.data());
  ASSERT_DECODES(p);
  EXPECT_EQ(p->hdr.type, s7::rosctr::job);
  EXPECT_EQ(p->hdr.redundancy_id, 0);
  EXPECT_EQ(p->hdr.pdu_ref, 0x0200);
  EXPECT_EQ(p->hdr.param_length, 8);
  EXPECT_EQ(p->hdr.data_length, 0);
  EXPECT_EQ(p->hdr.error(), 0);
  EXPECT_EQ(p->param_offset, s7_at + 10);
  EXPECT_EQ(p->param.data(), frame.data() + s7_at + 10);  // a view
  EXPECT_EQ(p->param.size(), 8U);
  EXPECT_EQ(p->data_offset, s7_at + 18);
  EXPECT_TRUE(p->data.empty());
  EXPECT_EQ(p->origin, frame.data());
}

TEST(s7_parse, decodes_an_ack_data_header_with_its_error_fields) {
  const byte_vec frame = test::fx::setup_ack();
  const auto p = s7::parse(test::s7_of(frame), frame.data());
  ASSERT_DECODES(p);
  EXPECT_EQ(p->hdr.type, s7::rosctr::ack_data);
  EXPECT_EQ(p->hdr.error_class, 0);
  EXPECT_EQ(p->hdr.error_code, 0);
  EXPECT_EQ(p->param_offset, s7_at + 12);
  EXPECT_EQ(p->param.size(), 8U);
}

TEST(s7_parse, decodes_a_userdata_header) {
  const byte_vec frame = test::fx::szl_request();
  const auto p = s7::parse(test::s7_of(frame), frame.data());
  ASSERT_DECODES(p);
  EXPECT_EQ(p->hdr.type, s7::rosctr::userdata);
  EXPECT_EQ(p->hdr.pdu_ref, 0x0300);
  EXPECT_EQ(p->param_offset, 17U);
  EXPECT_EQ(p->data_offset, 25U);
  EXPECT_EQ(p->data.size(), 8U);
}

TEST(s7_parse, measures_offsets_from_the_pdu_without_an_origin) {
  const byte_vec frame = test::fx::read_var_ack();
  const auto p = s7::parse(test::s7_of(frame));
  ASSERT_DECODES(p);
  EXPECT_EQ(p->param_offset, 12U);
  EXPECT_EQ(p->data_offset, 14U);
  EXPECT_EQ(p->data.size(), 68U);
}

TEST(s7_parse, decodes_an_ack_with_an_error_and_no_payload) {
  const byte_vec pdu =
      hex("32 02"      // Ack
          "0000 0005"  // redundancy id, PDU ref
          "0000 0000"  // no parameter, no data
          "81 04");    // error 0x8104: not implemented
  const auto p = s7::parse(view(pdu));
  ASSERT_DECODES(p);
  EXPECT_EQ(p->hdr.type, s7::rosctr::ack);
  EXPECT_EQ(p->hdr.error(), s7::error_code::not_implemented);
  EXPECT_TRUE(p->param.empty());
  EXPECT_TRUE(p->data.empty());
  EXPECT_TRUE(test::s7_header_round_trips(view(pdu)));
  const byte_vec frame = test::frame_dt(view(pdu));
  EXPECT_FRAMED_AT_EVERY_SPLIT(frame);
  EXPECT_TRUE(test::decode_frame(view(frame)).ok());
}

TEST(s7_header_size, is_12_for_acks_and_10_otherwise) {
  EXPECT_EQ(s7::header_size(s7::rosctr::job), 10U);
  EXPECT_EQ(s7::header_size(s7::rosctr::ack), 12U);
  EXPECT_EQ(s7::header_size(s7::rosctr::ack_data), 12U);
  EXPECT_EQ(s7::header_size(s7::rosctr::userdata), 10U);
}

// --- Errors -------------------------------------------------------------------------------

TEST(s7_parse, rejects_a_header_cut_short) {
  EXPECT_FAILS_WITH(s7::parse({}), truncated, s7_header, 0U);
  const byte_vec one = hex("32");
  EXPECT_FAILS_WITH(s7::parse(view(one)), truncated, s7_header, 1U);
  const byte_vec nine = hex("32 01 0000 0000 0000 00");  // data length cut at offset 8
  EXPECT_FAILS_WITH(s7::parse(view(nine)), truncated, s7_header, 8U);
  const byte_vec ack = hex("32 03 0000 0000 0000 0000 00");  // Ack_Data without the error code
  EXPECT_FAILS_WITH(s7::parse(view(ack)), truncated, s7_header, 11U);
}

TEST(s7_parse, rejects_protocol_id_other_than_0x32) {
  byte_vec pdu = hex("72 01 0000 0000 0000 0000");  // 0x72: S7comm-plus
  EXPECT_FAILS_WITH(s7::parse(view(pdu)), s7_bad_protocol_id, s7_header, 0U);
  byte_vec frame = test::fx::setup_job();
  frame[s7_at] = std::byte{0x31};
  EXPECT_FAILS_WITH(test::decode_frame(view(frame)), s7_bad_protocol_id, s7_header, 7U);
}

TEST(s7_parse, rejects_rosctr_other_than_1_2_3_7) {
  for (const unsigned r : {0U, 4U, 5U, 6U, 8U, 0xFFU}) {
    byte_vec frame = test::fx::setup_job();
    frame[s7_at + 1] = static_cast<std::byte>(r);
    EXPECT_FAILS_WITH(test::decode_frame(view(frame)), s7_bad_rosctr, s7_header, 8U) << r;
  }
}

TEST(s7_parse, rejects_nonzero_redundancy_id) {
  byte_vec frame = test::fx::setup_job();
  frame[s7_at + 3] = std::byte{0x01};
  EXPECT_FAILS_WITH(test::decode_frame(view(frame)), s7_redundancy_nonzero, s7_header, 9U);
}

TEST(s7_parse, accepts_nonzero_redundancy_id_when_allowed) {
  byte_vec frame = test::fx::setup_job();
  frame[s7_at + 2] = std::byte{0x12};
  frame[s7_at + 3] = std::byte{0x34};
  const auto m = test::decode_frame(view(frame), {.header = {.allow_nonzero_redundancy_id = true}});
  ASSERT_DECODES(m);
  EXPECT_EQ(m->p.hdr.redundancy_id, 0x1234);
}

TEST(s7_parse, rejects_lengths_that_do_not_fill_the_pdu) {
  // The header's param + data length is the one redundant length of this layer; both directions.
  const byte_vec frame = test::fx::setup_job();
  const bytes pdu = test::s7_of(frame);
  const byte_vec shorter(pdu.begin(), pdu.end() - 1);
  EXPECT_FAILS_WITH(s7::parse(view(shorter)), s7_length_mismatch, s7_header, 6U);
  const byte_vec longer = test::concat({pdu, view(hex("00"))});
  EXPECT_FAILS_WITH(s7::parse(view(longer)), s7_length_mismatch, s7_header, 6U);
  byte_vec data_claims_more = test::concat({pdu});
  data_claims_more[9] = std::byte{0x01};  // data length 1, none present
  EXPECT_FAILS_WITH(s7::parse(view(data_claims_more)), s7_length_mismatch, s7_header, 6U);
}

TEST(s7_parse, rejects_an_ack_carrying_parameter_or_data) {
  const byte_vec param =
      hex("32 02 0000 0001"
          "0002 0000"  // 2 parameter bytes on an Ack
          "00 00"
          "04 01");
  EXPECT_FAILS_WITH(s7::parse(view(param)), s7_ack_has_payload, s7_header, 6U);
  const byte_vec data = hex("32 02 0000 0001 0000 0001 00 00 ff");
  EXPECT_FAILS_WITH(s7::parse(view(data)), s7_ack_has_payload, s7_header, 6U);
}

// --- Encode -------------------------------------------------------------------------------

TEST(s7_encode, round_trips_every_capture_pdu) {
  for (const byte_vec& frame : test::fx::s7_frames())
    EXPECT_TRUE(test::s7_header_round_trips(test::s7_of(frame)));
}

TEST(s7_encode, takes_the_lengths_from_the_blocks) {
  s7::header h;
  h.type = s7::rosctr::ack_data;
  h.pdu_ref = 0x0200;
  h.param_length = 99;  // ignored: encode() counts the blocks
  h.data_length = 99;
  const byte_vec param = hex("f0 00 0001 0001 00f0");
  const byte_vec expected = test::concat({test::s7_of(test::fx::setup_ack())});
  EXPECT_ENCODES_TO([&](mutable_bytes out) { return s7::encode(h, view(param), {}, out); },
                    view(expected));
}

TEST(s7_encode, rejects_a_block_over_65535_bytes) {
  const byte_vec big(0x10000);
  byte_vec out(0x10010);
  EXPECT_FAILS_WITH(s7::encode(s7::header{}, view(big), {}, mutable_bytes{out}), value_out_of_range,
                    encode, 0U);
  EXPECT_FAILS_WITH(s7::encode(s7::header{}, {}, view(big), mutable_bytes{out}), value_out_of_range,
                    encode, 0U);
}

TEST(s7_write_header, writes_the_lengths_as_given) {
  s7::header h;
  h.type = s7::rosctr::job;
  h.pdu_ref = 0x0102;
  h.param_length = 0x000e;
  h.data_length = 0x0008;
  EXPECT_WRITES([&](writer& w) { s7::write_header(w, h); }, view(hex("32 01 0000 0102 000e 0008")));
  h.type = s7::rosctr::ack;
  h.error_class = s7::error_class::access;
  h.error_code = 0x03;
  EXPECT_WRITES([&](writer& w) { s7::write_header(w, h); },
                view(hex("32 02 0000 0102 000e 0008 87 03")));
}

// --- s7::decode: the whole PDU ------------------------------------------------------------

TEST(s7_decode, decodes_every_capture_pdu) {
  for (const byte_vec& frame : test::fx::s7_frames()) {
    const auto m = test::decode_frame(view(frame));
    EXPECT_TRUE(m.ok()) << test::to_hex(view(frame)) << ": " << ::testing::PrintToString(m.err());
  }
}

TEST(s7_decode, dispatches_on_rosctr) {
  const byte_vec job_frame = test::fx::read_var_job();
  const auto job = test::decode_frame(view(job_frame));
  ASSERT_DECODES(job);
  EXPECT_EQ(job->prm.fn, static_cast<std::uint8_t>(s7::function::read_var));
  const byte_vec ud_frame = test::fx::szl_request();
  const auto ud = test::decode_frame(view(ud_frame));
  ASSERT_DECODES(ud);
  EXPECT_EQ(ud->prm.fn, 0);
  EXPECT_EQ(ud->ud.prm.group, static_cast<std::uint8_t>(s7::ud::group::cpu));
  const byte_vec ack_frame = test::fx::setup_ack();
  const auto ack = test::decode_frame(view(ack_frame));
  ASSERT_DECODES(ack);
  EXPECT_EQ(ack->prm.setup.pdu_length, 240);
}

TEST(s7_decode, reports_nested_errors_at_frame_offsets) {
  byte_vec frame = test::fx::read_var_job();
  frame[s7_at + 12] = std::byte{0x11};  // var spec type of item 1 (frame offset 19)
  EXPECT_FAILS_WITH(test::decode_frame(view(frame)), item_bad_spec_type, s7_item, 19U);
}

}  // namespace
}  // namespace protos7::codec
