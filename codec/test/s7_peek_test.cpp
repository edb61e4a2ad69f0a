// The lenient header peek (s7_peek.hpp): the same fields as the strict codec on every valid
// PDU, and what it still reads from the PDUs the strict codec rejects.
#include "protos7/codec/s7_peek.hpp"

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

// Fields the peek and the strict codec both produce agree on a PDU the codec accepts.
::testing::AssertionResult agrees_with_decode(const byte_vec& frame) {
  const bytes pdu = test::s7_of(frame);
  const auto m = s7::decode(pdu, frame.data());
  if (!m) return ::testing::AssertionFailure() << "fixture does not decode";
  const s7::peek_result p = s7::peek(pdu, frame.data());
  const s7::header& h = m->p.hdr;
  if (!p.header || !p.s7 || p.err) return ::testing::AssertionFailure() << "peek found no header";
  if (p.rosctr != static_cast<std::uint8_t>(h.type) || p.pdu_ref != h.pdu_ref ||
      p.param_length != h.param_length || p.data_length != h.data_length ||
      p.redundancy_id != h.redundancy_id || p.header_error() != h.error())
    return ::testing::AssertionFailure() << "header fields differ";
  if (p.param_offset != m->p.param_offset || p.param.data() != m->p.param.data() ||
      p.param.size() != m->p.param.size())
    return ::testing::AssertionFailure() << "parameter view differs";
  if (h.type == s7::rosctr::job || h.type == s7::rosctr::ack_data) {
    if (!p.has_function || p.function != m->prm.fn || p.ud)
      return ::testing::AssertionFailure() << "function differs";
  }
  if (h.type == s7::rosctr::userdata) {
    const s7::ud::param& u = m->ud.prm;
    if (!p.ud || p.has_function || p.ud_type != u.type || p.ud_group != u.group ||
        p.ud_subfunction != u.subfunction || p.ud_seq != u.seq || p.ud_extended != u.extended)
      return ::testing::AssertionFailure() << "Userdata head differs";
    if (u.extended && (p.ud_data_unit_ref != u.data_unit_ref ||
                       p.ud_last_data_unit != u.last_data_unit || p.ud_error_code != u.error_code))
      return ::testing::AssertionFailure() << "extended Userdata head differs";
  }
  return ::testing::AssertionSuccess();
}

TEST(s7_peek, agrees_with_the_strict_codec_on_capture_pdus) {
  for (const byte_vec& f :
       {test::fx::setup_job(), test::fx::setup_ack(), test::fx::read_var_job(),
        test::fx::read_var_ack(), test::fx::write_var_job(), test::fx::write_var_ack(),
        test::fx::szl_request(), test::fx::szl_response(), test::fx::szl_response_first_fragment(),
        test::fx::szl_request_next(), test::fx::szl_response_last_fragment(),
        test::fx::szl_response_error(), test::fx::read_clock_request(),
        test::fx::read_clock_response(), test::fx::block_info_request(),
        test::fx::request_download_job()}) {
    EXPECT_TRUE(agrees_with_decode(f)) << test::to_hex(view(f));
  }
}

TEST(s7_peek, reads_a_job_header_and_its_function) {
  const byte_vec frame = test::fx::setup_job();
  const auto p = s7::peek(test::s7_of(frame));
  EXPECT_TRUE(p.header);
  EXPECT_TRUE(p.s7);
  EXPECT_EQ(p.protocol_id, 0x32);
  EXPECT_EQ(p.rosctr, 1);
  EXPECT_EQ(p.pdu_ref, 0x0200);
  EXPECT_EQ(p.param_length, 8);
  EXPECT_EQ(p.param_offset, 10U);  // from the PDU when no origin is given
  EXPECT_FALSE(p.has_error_fields);
  EXPECT_TRUE(p.has_function);
  EXPECT_EQ(p.function, 0xF0);
  EXPECT_FALSE(p.ud);
  EXPECT_FALSE(p.err);
}

TEST(s7_peek, reads_the_extended_userdata_head_of_a_response) {
  const byte_vec frame = test::fx::szl_response_first_fragment();
  const auto p = s7::peek(test::s7_of(frame), frame.data());
  EXPECT_EQ(p.param_offset, s7_at + 10);
  ASSERT_TRUE(p.ud);
  EXPECT_EQ(p.ud_type, 8);
  EXPECT_EQ(p.ud_group, 4);
  EXPECT_EQ(p.ud_subfunction, 1);
  EXPECT_EQ(p.ud_seq, 1);
  ASSERT_TRUE(p.ud_extended);
  EXPECT_EQ(p.ud_data_unit_ref, 5);
  EXPECT_EQ(p.ud_last_data_unit, 1);
  EXPECT_EQ(p.ud_error_code, 0);
}

TEST(s7_peek, reads_the_userdata_error_code) {
  const byte_vec frame = test::fx::szl_response_error();
  const auto p = s7::peek(test::s7_of(frame));
  ASSERT_TRUE(p.ud_extended);
  EXPECT_EQ(p.ud_error_code, 0xD402);
}

TEST(s7_peek, reads_a_pdu_whose_lengths_disagree) {
  const byte_vec pdu =
      hex("32 03 0000 0700"  // Ack_Data, PDU ref 0x0700
          "0002 0010"        // param 2, data 16: only 0 data bytes follow
          "00 00"            // no error
          "04 01");          // Read Var, 1 item
  EXPECT_FAILS_WITH(s7::parse(view(pdu)), s7_length_mismatch, s7_header, 6);
  const auto p = s7::peek(view(pdu));
  EXPECT_TRUE(p.s7);
  EXPECT_FALSE(p.err);
  EXPECT_EQ(p.pdu_ref, 0x0700);
  EXPECT_EQ(p.data_length, 0x10);
  EXPECT_EQ(p.function, 0x04);
}

TEST(s7_peek, cuts_the_parameter_at_the_end_of_the_pdu) {
  const byte_vec pdu =
      hex("32 07 0000 0100"
          "0008 0000"    // param 8 declared
          "00 01 12 04"  // only 4 bytes present
      );
  const auto p = s7::peek(view(pdu));
  EXPECT_TRUE(p.s7);
  EXPECT_EQ(p.param_length, 8);
  EXPECT_EQ(p.param.size(), 4U);
  EXPECT_FALSE(p.ud);  // the head needs 8 bytes
  EXPECT_FALSE(p.err);
}

TEST(s7_peek, does_not_check_the_userdata_head_or_the_redundancy_id) {
  const byte_vec pdu = hex(
      "32 07 1234 0100"  // redundancy id 0x1234 (the strict codec rejects it)
      "0008 0000"
      "ff ff ff 04 ee 47 02 09");  // no 00 01 12 head, method 0xee; type 4 group 7, sub 2, seq 9
  EXPECT_FAILS_WITH(s7::parse(view(pdu)), s7_redundancy_nonzero, s7_header, 2);
  const auto p = s7::peek(view(pdu));
  EXPECT_EQ(p.redundancy_id, 0x1234);
  ASSERT_TRUE(p.ud);
  EXPECT_EQ(p.ud_type, 4);
  EXPECT_EQ(p.ud_group, 7);
  EXPECT_EQ(p.ud_subfunction, 2);
  EXPECT_EQ(p.ud_seq, 9);
  EXPECT_FALSE(p.ud_extended);
}

TEST(s7_peek, reads_the_extended_head_only_when_all_twelve_bytes_are_there) {
  const byte_vec pdu =
      hex("32 07 0000 0100"
          "000c 0000"
          "00 01 12 08 12 84 01 01"  // length of rest 8
          "05 00");                  // 10 of the 12 bytes
  const auto p = s7::peek(view(pdu));
  EXPECT_TRUE(p.ud);
  EXPECT_FALSE(p.ud_extended);
  EXPECT_EQ(p.ud_data_unit_ref, 0);
}

TEST(s7_peek, accepts_an_ack_with_a_payload) {
  const byte_vec pdu = hex("32 02 0000 0100 0001 0000 81 04 ff");
  EXPECT_FAILS_WITH(s7::parse(view(pdu)), s7_ack_has_payload, s7_header, 6);
  const auto p = s7::peek(view(pdu));
  EXPECT_TRUE(p.s7);
  EXPECT_TRUE(p.has_error_fields);
  EXPECT_EQ(p.header_error(), 0x8104);
  EXPECT_FALSE(p.has_function);  // an Ack has no function
  EXPECT_EQ(p.param.size(), 1U);
}

TEST(s7_peek, an_ack_data_cut_after_ten_bytes_has_no_error_fields) {
  const byte_vec pdu = hex("32 03 0000 0100 0002 0000");
  const auto p = s7::peek(view(pdu));
  EXPECT_TRUE(p.s7);
  EXPECT_FALSE(p.has_error_fields);
  EXPECT_EQ(p.param_offset, 12U);
  EXPECT_TRUE(p.param.empty());
  EXPECT_FALSE(p.has_function);
}

TEST(s7_peek, reports_the_first_header_field_that_does_not_fit) {
  const byte_vec pdu = hex("32 01 0000 0100 0002 0000");
  // Offsets of the fields: id 0, ROSCTR 1, redundancy 2, ref 4, param len 6, data len 8.
  constexpr std::uint32_t field_at[] = {0, 1, 2, 2, 4, 4, 6, 6, 8, 8};
  for (std::size_t n = 0; n < 10; ++n) {
    const auto p = s7::peek(view(pdu).first(n));
    EXPECT_FALSE(p.header) << n;
    EXPECT_FALSE(p.s7) << n;
    EXPECT_EQ(p.err, test::err(errc::truncated, layer::s7_header, field_at[n])) << n;
  }
}

TEST(s7_peek, reads_the_header_fields_of_another_protocol_but_is_not_s7) {
  const byte_vec frame = hex("03 00 0013 02 f0 80 72 03 0000 0100 0000 0000 81 04");
  const bytes pdu = view(frame).subspan(s7_at);
  const auto p = s7::peek(pdu, frame.data());
  EXPECT_TRUE(p.header);
  EXPECT_FALSE(p.s7);
  EXPECT_EQ(p.protocol_id, 0x72);
  EXPECT_EQ(p.rosctr, 3);
  EXPECT_TRUE(p.has_error_fields);  // shown as Wireshark shows them
  EXPECT_EQ(p.header_error(), 0x8104);
  EXPECT_FALSE(p.has_function);
  EXPECT_EQ(p.err, test::err(errc::s7_bad_protocol_id, layer::s7_header, s7_at));
}

TEST(s7_peek, rejects_an_unknown_rosctr) {
  const byte_vec pdu = hex("32 05 0000 0100 0001 0000 04");
  const auto p = s7::peek(view(pdu));
  EXPECT_TRUE(p.header);
  EXPECT_FALSE(p.s7);
  EXPECT_EQ(p.rosctr, 5);
  EXPECT_FALSE(p.has_function);
  EXPECT_EQ(p.err, test::err(errc::s7_bad_rosctr, layer::s7_header, 1));
}

TEST(s7_peek, field_offsets_match_the_layout) {
  const byte_vec frame = test::fx::szl_response();
  const bytes pdu = test::s7_of(frame);
  const auto p = s7::peek(pdu);
  EXPECT_EQ(test::u8_at(pdu, s7::header_at::pdu_ref), p.pdu_ref >> 8U);
  EXPECT_EQ(test::u8_at(pdu, s7::header_at::pdu_ref + 1), p.pdu_ref & 0xFFU);
  EXPECT_EQ(test::u8_at(p.param, s7::ud::param_at::seq), p.ud_seq);
  EXPECT_EQ(test::u8_at(p.param, s7::ud::param_at::subfunction), p.ud_subfunction);
  EXPECT_EQ(test::u8_at(p.param, s7::ud::param_at::data_unit_ref), p.ud_data_unit_ref);
  EXPECT_EQ(test::u8_at(p.param, s7::ud::param_at::length), 8);
}

}  // namespace
}  // namespace protos7::codec
