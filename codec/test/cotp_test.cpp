// COTP (ISO 8073 class 0 over RFC 1006): TPDU decoding, parameters, encoders, DT reassembly.
//
// Frames are whole TPKT frames; error offsets are measured from the first TPKT byte, so the
// COTP LI is at offset 4, the TPDU code at 5, and for CR/CC/DR: dst-ref 6, src-ref 8,
// class/reason 10, first parameter 11.
#include "protos7/codec/cotp.hpp"

#include <gtest/gtest.h>

#include <string>

#include "capture_fixtures.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::view;

// COTP of a whole frame, offsets from the frame start.
result<cotp::tpdu> cotp_of(const byte_vec& frame, const cotp::options& opt = {}) {
  const auto t = test::parse_transport(view(frame), opt);
  if (!t) return t.err();
  return t->cotp;
}

// A 7-byte frame whose TPDU has LI 2 and the code byte `code`.
byte_vec short_tpdu(const char* code) {
  return hex(std::string("03 00 0007 02 ") + code + " 80");
}

// --- Connect request / confirm ------------------------------------------------------------

TEST(cotp_parse, decodes_connect_request_from_capture) {
  const byte_vec in = test::fx::cotp_cr();
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->li, 0x11);
  EXPECT_EQ(t->type, cotp::tpdu_type::cr);
  EXPECT_EQ(t->cdt, 0);
  EXPECT_EQ(t->dst_ref, 0x0000);
  EXPECT_EQ(t->src_ref, 0x000F);
  EXPECT_EQ(t->class_option, 0x00);
  EXPECT_EQ(t->tpdu_class(), 0);
  EXPECT_EQ(t->params.tpdu_size_code, 0x0A);
  EXPECT_EQ(cotp::tpdu_size_bytes(t->params.tpdu_size_code), 1024U);
  EXPECT_BYTES_EQ(t->params.calling_tsap, view(hex("0100")));
  EXPECT_BYTES_EQ(t->params.called_tsap, view(hex("0102")));
  EXPECT_EQ(t->params.preferred_max_tpdu_size, 0U);
  EXPECT_FALSE(t->params.has_checksum);
  EXPECT_EQ(t->variable_part.data(), in.data() + 11);  // a view, from the first parameter
  EXPECT_EQ(t->variable_part.size(), 11U);
  EXPECT_TRUE(t->user_data.empty());

  cotp::s7_tsap tsap;
  ASSERT_TRUE(cotp::decode_s7_tsap(t->params.called_tsap, tsap));
  EXPECT_EQ(tsap.connection_type, static_cast<std::uint8_t>(cotp::connection_type::pg));
  EXPECT_EQ(tsap.rack, 0);
  EXPECT_EQ(tsap.slot, 2);
}

TEST(cotp_parse, decodes_connect_confirm_from_capture) {
  const byte_vec in = test::fx::cotp_cc();
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->type, cotp::tpdu_type::cc);
  EXPECT_EQ(t->dst_ref, 0x000F);  // the CR's src-ref
  EXPECT_EQ(t->src_ref, 0x0003);
  EXPECT_EQ(t->params.tpdu_size_code, 0x0A);
  EXPECT_BYTES_EQ(t->params.calling_tsap, view(hex("0100")));
  EXPECT_BYTES_EQ(t->params.called_tsap, view(hex("0102")));
}

TEST(cotp_parse, decodes_libnodave_connect_with_512_byte_tpdus) {
  const byte_vec cr_frame = test::fx::cotp_cr_nodave();
  const auto cr = cotp_of(cr_frame);
  ASSERT_DECODES(cr);
  EXPECT_EQ(cr->src_ref, 1);
  EXPECT_EQ(cotp::tpdu_size_bytes(cr->params.tpdu_size_code), 512U);
  const byte_vec cc_frame = test::fx::cotp_cc_nodave();
  const auto cc = cotp_of(cc_frame);
  ASSERT_DECODES(cc);
  EXPECT_EQ(cc->dst_ref, 1);
  EXPECT_EQ(cc->params.tpdu_size_code, 9);
}

TEST(cotp_param_iterator, walks_the_parameters_with_their_offsets) {
  const byte_vec in = test::fx::cotp_cr();
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  cotp::param_iterator it{t->variable_part, in.data()};
  cotp::parameter p;
  ASSERT_TRUE(it.next(p));
  EXPECT_EQ(p.code, 0xC1);
  EXPECT_BYTES_EQ(p.value, view(hex("0100")));
  EXPECT_EQ(p.offset, 11U);
  ASSERT_TRUE(it.next(p));
  EXPECT_EQ(p.code, 0xC2);
  EXPECT_BYTES_EQ(p.value, view(hex("0102")));
  EXPECT_EQ(p.offset, 15U);
  ASSERT_TRUE(it.next(p));
  EXPECT_EQ(p.code, 0xC0);
  EXPECT_BYTES_EQ(p.value, view(hex("0a")));
  EXPECT_EQ(p.offset, 19U);
  EXPECT_FALSE(it.next(p));
}

TEST(cotp_param_iterator, measures_offsets_from_the_variable_part_by_default) {
  const byte_vec var =
      hex("c0 01 0a"  // TPDU size
          "c1 02 0100");
  cotp::param_iterator it{view(var)};
  cotp::parameter p;
  ASSERT_TRUE(it.next(p));
  EXPECT_EQ(p.offset, 0U);
  ASSERT_TRUE(it.next(p));
  EXPECT_EQ(p.offset, 3U);
  EXPECT_FALSE(it.next(p));
  cotp::param_iterator none;
  EXPECT_FALSE(none.next(p));
}

TEST(cotp_parse, decodes_every_known_class_0_parameter) {
  const byte_vec in =
      hex("03 00 0028"
          "23 e0 0000 0001 00"  // LI 35, CR
          "c0 01 0b"            // TPDU size 2048
          "c1 02 0200"          // calling TSAP: OP
          "c2 02 0323"          // called TSAP: S7 basic, rack 1 slot 3
          "f0 02 0008"          // preferred max TPDU size 8 x 128
          "c4 01 01"            // version
          "c6 01 00"            // additional options
          "c3 02 beef"          // checksum
          "85 02 0000");        // ack time: not a class 0 parameter, ignored
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->params.tpdu_size_code, 0x0B);
  EXPECT_EQ(t->params.preferred_max_tpdu_size, 1024U);
  EXPECT_TRUE(t->params.has_version);
  EXPECT_EQ(t->params.version, 1);
  EXPECT_TRUE(t->params.has_additional_options);
  EXPECT_EQ(t->params.additional_options, 0);
  EXPECT_TRUE(t->params.has_checksum);
  EXPECT_EQ(t->params.checksum, 0xBEEF);
  cotp::s7_tsap tsap;
  ASSERT_TRUE(cotp::decode_s7_tsap(t->params.called_tsap, tsap));
  EXPECT_EQ(tsap.connection_type, 3);
  EXPECT_EQ(tsap.rack, 1);
  EXPECT_EQ(tsap.slot, 3);
  EXPECT_EQ(cotp::make_s7_tsap(3, 1, 3), 0x0323);
  EXPECT_TRUE(test::transport_round_trips(view(in)));
  EXPECT_FRAMED_AT_EVERY_SPLIT(in);
}

TEST(cotp_parse, accepts_an_inactivity_timer_of_4_bytes) {
  const byte_vec in =
      hex("03 00 0011"
          "0c e0 0000 0001 00"
          "f2 04 0000ea60");  // 60 s
  EXPECT_TRUE(cotp_of(in).ok());
  EXPECT_TRUE(test::transport_round_trips(view(in)));
  EXPECT_FRAMED_AT_EVERY_SPLIT(in);
}

TEST(cotp_param_iterator, stops_at_a_parameter_past_the_end) {
  const byte_vec var =
      hex("c0 01 0a"
          "c1 05 0100");  // 5 announced, 2 present
  cotp::param_iterator it{view(var)};
  cotp::parameter p;
  ASSERT_TRUE(it.next(p));
  EXPECT_FALSE(it.next(p));
  const byte_vec lone = hex("c0");
  cotp::param_iterator it2{view(lone)};
  EXPECT_FALSE(it2.next(p));
}

TEST(cotp_encode, keeps_the_low_nibble_of_the_code_byte) {
  // Class 0 sends 0 there; a peer that does not is decoded as is and re-encoded unchanged.
  const byte_vec dt = hex("03 00 0008 02 f8 80 32");
  const auto t = cotp_of(dt);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->cdt, 8);
  EXPECT_TRUE(test::transport_round_trips(view(dt)));
  EXPECT_FRAMED_AT_EVERY_SPLIT(dt);
  byte_vec cr = test::fx::cotp_cr();
  cr[5] = std::byte{0xE1};  // CR with CDT 1
  EXPECT_TRUE(test::transport_round_trips(view(cr)));
  const byte_vec dr = hex("03 00 000b 06 83 000f 0003 80");
  EXPECT_TRUE(test::transport_round_trips(view(dr)));
}

TEST(cotp_parse, accepts_a_four_byte_preferred_tpdu_size) {
  const byte_vec in =
      hex("03 00 0011"
          "0c e0 0000 0001 00"
          "f0 04 01ffffff");  // the largest value that fits 32 bits x 128
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->params.preferred_max_tpdu_size, 0x01FFFFFFU * 128U);
  EXPECT_FRAMED_AT_EVERY_SPLIT(in);
}

// --- DT -----------------------------------------------------------------------------------

TEST(cotp_parse, decodes_data_with_eot) {
  const byte_vec in = test::fx::setup_job();
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->li, 2);
  EXPECT_EQ(t->type, cotp::tpdu_type::dt);
  EXPECT_TRUE(t->eot);
  EXPECT_EQ(t->tpdu_nr, 0);
  EXPECT_EQ(t->user_data_offset, 7U);
  EXPECT_EQ(t->user_data.data(), in.data() + 7);
  EXPECT_EQ(t->user_data.size(), in.size() - 7);
  EXPECT_TRUE(t->variable_part.empty());
}

TEST(cotp_parse, decodes_the_empty_dt_without_eot) {
  // What the PLC sends before each answer in these captures.
  const byte_vec in = test::fx::dt_empty_no_eot();
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->type, cotp::tpdu_type::dt);
  EXPECT_FALSE(t->eot);
  EXPECT_EQ(t->tpdu_nr, 0);
  EXPECT_TRUE(t->user_data.empty());
  EXPECT_EQ(t->user_data_offset, 7U);
}

TEST(cotp_parse, decodes_a_counting_tpdu_number) {
  // PLC4X numbers its DTs 0x81, 0x82, ...; real PLCs accept it.
  const byte_vec in = hex("03 00 0008 02 f0 82 32");
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  EXPECT_TRUE(t->eot);
  EXPECT_EQ(t->tpdu_nr, 2);
  EXPECT_TRUE(test::transport_round_trips(view(in)));
  EXPECT_FRAMED_AT_EVERY_SPLIT(in);
}

TEST(cotp_parse, rejects_dt_parameters_by_default) {
  // PLC4X's DT with LI 5 carrying a TPDU-size parameter.
  const byte_vec in =
      hex("03 00 000a"
          "05 f0 80"  // LI 5: not a class 0 DT
          "c0 01 0a");
  EXPECT_FAILS_WITH(cotp_of(in), cotp_bad_li_for_tpdu, cotp, 4U);
}

TEST(cotp_parse, accepts_dt_parameters_when_allowed) {
  const byte_vec in =
      hex("03 00 000b"
          "05 f0 80"
          "c0 01 0a"
          "32");  // user data
  const cotp::options opt{.allow_dt_parameters = true};
  const auto t = cotp_of(in, opt);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->li, 5);
  EXPECT_EQ(t->params.tpdu_size_code, 0x0A);
  EXPECT_BYTES_EQ(t->variable_part, view(hex("c0 01 0a")));
  EXPECT_BYTES_EQ(t->user_data, view(hex("32")));
  EXPECT_EQ(t->user_data_offset, 10U);
  // The extra header bytes are kept verbatim by the encoder.
  EXPECT_ENCODES_TO([&](mutable_bytes out) { return cotp::encode(*t, out); }, view(in).subspan(4));
  EXPECT_FRAMED_AT_EVERY_SPLIT(in);
}

TEST(cotp_parse, still_validates_dt_parameters_when_allowed) {
  const byte_vec in =
      hex("03 00 000a 05 f0 80"
          "c0 01 05");  // TPDU size 32: not defined
  EXPECT_FAILS_WITH(cotp_of(in, {.allow_dt_parameters = true}), cotp_bad_tpdu_size, cotp, 9U);
}

// --- DR, DC, ER ---------------------------------------------------------------------------

TEST(cotp_parse, decodes_disconnect_request) {
  const byte_vec in =
      hex("03 00 000e"
          "09 80"       // LI 9, DR
          "000f 0003"   // dst-ref, src-ref
          "80"          // reason: normal disconnect
          "e0 01 41");  // additional clearing information
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->type, cotp::tpdu_type::dr);
  EXPECT_EQ(t->dst_ref, 0x000F);
  EXPECT_EQ(t->src_ref, 0x0003);
  EXPECT_EQ(t->reason, 0x80);
  EXPECT_BYTES_EQ(t->variable_part, view(hex("e0 01 41")));
  EXPECT_TRUE(test::transport_round_trips(view(in)));
  EXPECT_FRAMED_AT_EVERY_SPLIT(in);
}

TEST(cotp_parse, decodes_disconnect_confirm) {
  const byte_vec in =
      hex("03 00 000a"
          "05 c0"  // LI 5, DC
          "0003 000f");
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->type, cotp::tpdu_type::dc);
  EXPECT_EQ(t->dst_ref, 0x0003);
  EXPECT_EQ(t->src_ref, 0x000F);
  EXPECT_TRUE(test::transport_round_trips(view(in)));
  EXPECT_FRAMED_AT_EVERY_SPLIT(in);
}

TEST(cotp_parse, decodes_tpdu_error) {
  const byte_vec in =
      hex("03 00 000e"
          "09 70"             // LI 9, ER
          "000f"              // dst-ref
          "02"                // reject cause: invalid TPDU type
          "c1 03 02 30 80");  // the rejected header (same code as calling TSAP)
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  EXPECT_EQ(t->type, cotp::tpdu_type::er);
  EXPECT_EQ(t->dst_ref, 0x000F);
  EXPECT_EQ(t->reject_cause, 2);
  EXPECT_TRUE(t->params.calling_tsap.empty());  // ER's 0xC1 is not a TSAP
  EXPECT_TRUE(test::transport_round_trips(view(in)));
  EXPECT_FRAMED_AT_EVERY_SPLIT(in);
}

TEST(cotp_parse, knows_every_dr_reason_of_iso_8073) {
  int known = 0;
  for (unsigned r = 0; r < 256; ++r)
    known += cotp::is_known_dr_reason(static_cast<std::uint8_t>(r)) ? 1 : 0;
  EXPECT_EQ(known, 13);
  for (const unsigned r :
       {0x00U, 0x01U, 0x02U, 0x03U, 0x80U, 0x81U, 0x82U, 0x83U, 0x84U, 0x85U, 0x87U, 0x88U, 0x8AU})
    EXPECT_TRUE(cotp::is_known_dr_reason(static_cast<std::uint8_t>(r))) << r;
}

// --- Non class-0 TPDUs --------------------------------------------------------------------

TEST(cotp_parse, rejects_class_1_to_4_tpdus_by_default) {
  for (const char* code : {"10", "20", "50", "60"}) {  // ED, EA, RJ, AK
    const byte_vec in = short_tpdu(code);
    EXPECT_FAILS_WITH(cotp_of(in), cotp_tpdu_not_class0, cotp, 5U) << code;
  }
}

TEST(cotp_parse, decodes_class_1_to_4_tpdus_as_headers_when_allowed) {
  const byte_vec in =
      hex("03 00 0009"
          "03 11 80 00"  // LI 3, ED with CDT 1
          "aa");         // user data
  const auto t = cotp_of(in, {.allow_non_class0_tpdus = true});
  ASSERT_DECODES(t);
  EXPECT_EQ(t->type, cotp::tpdu_type::ed);
  EXPECT_EQ(t->cdt, 1);
  EXPECT_BYTES_EQ(t->variable_part, view(hex("80 00")));
  EXPECT_BYTES_EQ(t->user_data, view(hex("aa")));
  EXPECT_EQ(t->user_data_offset, 8U);
  EXPECT_ENCODES_TO([&](mutable_bytes out) { return cotp::encode(*t, out); }, view(in).subspan(4));
  EXPECT_FRAMED_AT_EVERY_SPLIT(in);
}

// --- Errors -------------------------------------------------------------------------------

TEST(cotp_parse, rejects_an_empty_tpdu_as_truncated) {
  EXPECT_FAILS_WITH(cotp::parse({}), truncated, cotp, 0U);
}

TEST(cotp_parse, rejects_length_indicator_zero) {
  const byte_vec in =
      hex("03 00 0007"
          "00"  // LI 0
          "f0 80");
  EXPECT_FAILS_WITH(cotp_of(in), cotp_li_zero, cotp, 4U);
}

TEST(cotp_parse, rejects_length_indicator_255) {
  const byte_vec in = hex("03 00 0007 ff f0 80");  // LI 255 is reserved (ISO 8073 §13.2.1)
  EXPECT_FAILS_WITH(cotp_of(in), cotp_bad_li_for_tpdu, cotp, 4U);
}

TEST(cotp_parse, rejects_length_indicator_past_tpkt) {
  const byte_vec in =
      hex("03 00 0007"
          "03"  // LI 3, only 2 bytes follow in the TPKT
          "f0 80");
  EXPECT_FAILS_WITH(cotp_of(in), cotp_li_past_end, cotp, 4U);
  const byte_vec cr =
      hex("03 00 0016"
          "12"  // LI 18 for 17 bytes of header
          "e0 0000 000f 00 c1 02 0100 c2 02 0102 c0 01 0a");
  EXPECT_FAILS_WITH(cotp_of(cr), cotp_li_past_end, cotp, 4U);
}

TEST(cotp_parse, rejects_tpdu_codes_iso_8073_does_not_define) {
  for (const char* code : {"00", "30", "40", "90", "a0", "b0"}) {
    const byte_vec in = short_tpdu(code);
    EXPECT_FAILS_WITH(cotp_of(in), cotp_unknown_tpdu, cotp, 5U) << code;
  }
}

TEST(cotp_parse, rejects_class_above_4) {
  byte_vec in = test::fx::cotp_cr();
  in[10] = std::byte{0x50};  // class 5
  EXPECT_FAILS_WITH(cotp_of(in), cotp_bad_class, cotp, 10U);
}

TEST(cotp_parse, accepts_classes_0_to_4_in_a_connect_request) {
  for (unsigned c = 0; c <= 4; ++c) {
    byte_vec in = test::fx::cotp_cr();
    in[10] = static_cast<std::byte>(c << 4U);
    const auto t = cotp_of(in);
    ASSERT_DECODES(t);
    EXPECT_EQ(t->tpdu_class(), c);
  }
}

TEST(cotp_parse, rejects_connect_request_with_nonzero_dst_ref) {
  byte_vec in = test::fx::cotp_cr();
  in[7] = std::byte{0x01};  // dst-ref 0x0001
  EXPECT_FAILS_WITH(cotp_of(in), cotp_bad_dst_ref, cotp, 6U);
}

TEST(cotp_parse, rejects_fixed_parts_shorter_than_the_tpdu_needs) {
  const byte_vec cr =
      hex("03 00 000a"
          "05 e0 0000 000f");  // LI 5: CR needs 6
  EXPECT_FAILS_WITH(cotp_of(cr), cotp_bad_li_for_tpdu, cotp, 4U);
  const byte_vec cc = hex("03 00 000a 05 d0 000f 0003");
  EXPECT_FAILS_WITH(cotp_of(cc), cotp_bad_li_for_tpdu, cotp, 4U);
  const byte_vec dr = hex("03 00 000a 05 80 000f 0003");  // no reason
  EXPECT_FAILS_WITH(cotp_of(dr), cotp_bad_li_for_tpdu, cotp, 4U);
  const byte_vec dc = hex("03 00 0009 04 c0 000f 00");  // LI 4: DC needs 5
  EXPECT_FAILS_WITH(cotp_of(dc), cotp_bad_li_for_tpdu, cotp, 4U);
  const byte_vec er = hex("03 00 0008 03 70 000f");  // LI 3: ER needs 4
  EXPECT_FAILS_WITH(cotp_of(er), cotp_bad_li_for_tpdu, cotp, 4U);
  const byte_vec dt = hex("03 00 0007 01 f0 80");  // LI 1 puts the EOT byte in the user data
  EXPECT_FAILS_WITH(cotp_of(dt), cotp_bad_li_for_tpdu, cotp, 4U);
  const byte_vec dt3 = hex("03 00 0008 03 f0 80 00");  // LI 3
  EXPECT_FAILS_WITH(cotp_of(dt3), cotp_bad_li_for_tpdu, cotp, 4U);
}

TEST(cotp_parse, rejects_disconnect_reason_iso_8073_does_not_define) {
  const byte_vec in =
      hex("03 00 000b"
          "06 80 000f 0003"
          "86");  // 0x86 is not in the table
  EXPECT_FAILS_WITH(cotp_of(in), cotp_bad_dr_reason, cotp, 10U);
}

TEST(cotp_parse, rejects_reject_cause_above_3) {
  const byte_vec in =
      hex("03 00 0009"
          "04 70 000f"
          "04");  // reject cause 4
  EXPECT_FAILS_WITH(cotp_of(in), cotp_bad_er_cause, cotp, 8U);
}

TEST(cotp_parse, rejects_parameter_length_past_the_header) {
  byte_vec in = test::fx::cotp_cr();
  in[20] = std::byte{0x02};  // TPDU size parameter (code at 19) claims 2 bytes, 1 is left
  EXPECT_FAILS_WITH(cotp_of(in), cotp_param_truncated, cotp, 19U);
}

TEST(cotp_parse, rejects_a_parameter_code_without_its_length) {
  const byte_vec in =
      hex("03 00 000c"
          "07 e0 0000 000f 00"
          "c0");  // code at offset 11, nothing after it
  EXPECT_FAILS_WITH(cotp_of(in), cotp_param_truncated, cotp, 11U);
}

TEST(cotp_parse, rejects_known_parameters_with_forbidden_lengths) {
  // Each variable part starts at offset 11; the error points at the length byte (12).
  for (const char* param : {"c0 02 0a0a",  // TPDU size: 1 byte
                            "c1 00",       // calling TSAP: not empty
                            "c2 00",       // called TSAP: not empty
                            "c3 01 00",    // checksum: 2 bytes
                            "c4 02 0101",  // version: 1 byte
                            "c6 00",       // additional options: 1 byte
                            "f0 00",       // preferred TPDU size: 1..4 bytes
                            "f0 05 0000000001",
                            "f0 04 02000000",   // x 128 overflows 32 bits
                            "f2 03 000000"}) {  // inactivity timer: 4 bytes
    const byte_vec var = hex(param);
    byte_vec in =
        test::concat({view(hex("03 00 0000")), view(hex("00 e0 0000 000f 00")), view(var)});
    in[3] = static_cast<std::byte>(in.size());
    in[4] = static_cast<std::byte>(in.size() - 5);
    EXPECT_FAILS_WITH(cotp_of(in), cotp_param_bad_length, cotp, 12U) << param;
  }
  const byte_vec long_tsap = test::concat(
      {view(hex("03 00 002e 29 e0 0000 000f 00 c1 21")), view(byte_vec(33, std::byte{0x41}))});
  EXPECT_FAILS_WITH(cotp_of(long_tsap), cotp_param_bad_length, cotp, 12U);  // TSAP over 32 bytes
}

TEST(cotp_parse, rejects_a_parameter_given_twice) {
  const byte_vec in =
      hex("03 00 0013"
          "0e e0 0000 000f 00"
          "c1 02 0100"    // calling TSAP at 11
          "c1 02 0101");  // again at 15
  EXPECT_FAILS_WITH(cotp_of(in), cotp_param_duplicate, cotp, 15U);
}

TEST(cotp_parse, rejects_tpdu_size_outside_7_to_13) {
  byte_vec in = test::fx::cotp_cr();
  in[21] = std::byte{0x06};  // 64 octets
  EXPECT_FAILS_WITH(cotp_of(in), cotp_bad_tpdu_size, cotp, 21U);
  in[21] = std::byte{0x0E};  // 16384 octets
  EXPECT_FAILS_WITH(cotp_of(in), cotp_bad_tpdu_size, cotp, 21U);
  in[21] = std::byte{0x0D};  // 8192: a class 0 CR may propose it; the CC may not confirm it
  EXPECT_TRUE(cotp_of(in).ok());
}

TEST(cotp_parse, rejects_class_0_connect_confirm_above_2048_octets) {
  byte_vec in = test::fx::cotp_cc();
  in[13] = std::byte{0x0C};  // TPDU size parameter (code at 11) value: 4096
  EXPECT_FAILS_WITH(cotp_of(in), cotp_bad_tpdu_size, cotp, 13U);
  in[10] = std::byte{0x20};  // class 2 may use it
  EXPECT_TRUE(cotp_of(in).ok());
}

TEST(cotp_parse, rejects_user_data_on_a_connect_request) {
  const byte_vec in =
      hex("03 00 0017"
          "11 e0 0000 000f 00 c1 02 0100 c2 02 0102 c0 01 0a"
          "aa");  // after the header: class 0 forbids it
  EXPECT_FAILS_WITH(cotp_of(in), cotp_user_data_not_allowed, cotp, 22U);
  for (const char* tpdu : {"05 c0 0003 000f aa",     // DC
                           "06 80 000f 0003 80 aa",  // DR
                           "04 70 000f 00 aa"}) {    // ER
    byte_vec f = test::concat({view(hex("03 00 0000")), view(hex(tpdu))});
    f[3] = static_cast<std::byte>(f.size());
    EXPECT_FAILS_WITH(cotp_of(f), cotp_user_data_not_allowed, cotp,
                      static_cast<std::uint32_t>(f.size() - 1))
        << tpdu;
  }
}

TEST(cotp_parse, accepts_user_data_on_a_connect_request_when_allowed) {
  const byte_vec in =
      hex("03 00 0018"
          "11 e0 0000 000f 00 c1 02 0100 c2 02 0102 c0 01 0a"
          "aa bb");
  const auto t = cotp_of(in, {.allow_connect_user_data = true});
  ASSERT_DECODES(t);
  EXPECT_BYTES_EQ(t->user_data, view(hex("aa bb")));
  EXPECT_EQ(t->user_data_offset, 22U);
  EXPECT_ENCODES_TO([&](mutable_bytes out) { return cotp::encode(*t, out); }, view(in).subspan(4));
  EXPECT_FRAMED_AT_EVERY_SPLIT(in);
}

// --- Encoders -----------------------------------------------------------------------------

TEST(cotp_encode, round_trips_every_capture_frame) {
  for (const byte_vec& in : test::fx::all_frames())
    EXPECT_TRUE(test::transport_round_trips(view(in)));
}

TEST(cotp_write_connect, builds_the_captured_connect_request_from_fields) {
  byte_vec var(11);
  writer pw{mutable_bytes{var}};
  cotp::write_param(pw, 0xC1, view(hex("0100")));
  cotp::write_param(pw, 0xC2, view(hex("0102")));
  cotp::write_param_u8(pw, 0xC0, 0x0A);
  ASSERT_DECODES(pw.finish());
  const byte_vec expected = test::fx::cotp_cr();
  EXPECT_WRITES(
      [&](writer& w) {
        cotp::write_connect(w, {cotp::tpdu_type::cr, 0x0000, 0x000F, 0x00, view(var)});
      },
      view(expected).subspan(4));
}

TEST(cotp_write_connect, builds_the_captured_connect_confirm_from_fields) {
  const byte_vec expected = test::fx::cotp_cc();
  const byte_vec var = hex("c0 01 0a c1 02 0100 c2 02 0102");
  EXPECT_WRITES(
      [&](writer& w) {
        cotp::write_connect(w, {cotp::tpdu_type::cc, 0x000F, 0x0003, 0x00, view(var)});
      },
      view(expected).subspan(4));
}

TEST(cotp_write_disconnect, writes_dr_with_reason_and_dc_without) {
  EXPECT_WRITES(
      [](writer& w) {
        cotp::write_disconnect(w, {cotp::tpdu_type::dr, 0x000F, 0x0003, 0x80, {}});
      },
      view(hex("06 80 000f 0003 80")));
  EXPECT_WRITES(
      [](writer& w) {
        cotp::write_disconnect(w, {cotp::tpdu_type::dc, 0x0003, 0x000F, 0x80, {}});
      },
      view(hex("05 c0 0003 000f")));
}

TEST(cotp_write_error, writes_er_with_the_rejected_header) {
  const byte_vec var = hex("c1 03 02 30 80");
  EXPECT_WRITES(
      [&](writer& w) {
        cotp::write_error(w, {0x000F, 2, view(var)});
      },
      view(hex("09 70 000f 02 c1 03 02 30 80")));
}

TEST(cotp_write_dt_header, writes_eot_and_the_7_bit_number) {
  EXPECT_WRITES([](writer& w) { cotp::write_dt_header(w, true); }, view(hex("02 f0 80")));
  EXPECT_WRITES([](writer& w) { cotp::write_dt_header(w, false); }, view(hex("02 f0 00")));
  EXPECT_WRITES([](writer& w) { cotp::write_dt_header(w, true, 0x85); }, view(hex("02 f0 85")));
}

TEST(cotp_write_param, rejects_a_value_longer_than_255_bytes) {
  const byte_vec value(256);
  byte_vec out(300);
  writer w{mutable_bytes{out}};
  cotp::write_param(w, 0xC1, view(value));
  EXPECT_EQ(w.finish().err(),
            test::err(errc::value_out_of_range, layer::encode, 1));  // the length byte
}

TEST(cotp_write_connect, rejects_a_header_longer_than_254_bytes) {
  const byte_vec var(249);  // LI would be 255
  byte_vec out(300);
  writer w{mutable_bytes{out}};
  cotp::write_connect(w, {cotp::tpdu_type::cr, 0, 1, 0, view(var)});
  EXPECT_EQ(w.finish().err(), test::err(errc::value_out_of_range, layer::encode, 0));
  const byte_vec var_ok(248);  // LI 254
  writer w2{mutable_bytes{out}};
  cotp::write_connect(w2, {cotp::tpdu_type::cr, 0, 1, 0, view(var_ok)});
  EXPECT_TRUE(w2.finish().ok());
  EXPECT_EQ(out[0], std::byte{0xFE});
}

TEST(cotp_encode, parse_of_encode_gives_back_the_fields) {
  cotp::tpdu t;
  t.type = cotp::tpdu_type::cc;
  t.dst_ref = 0x1234;
  t.src_ref = 0x5678;
  t.class_option = 0x00;
  const byte_vec var = hex("c0 01 09");
  t.variable_part = view(var);
  byte_vec out(32);
  const auto n = cotp::encode(t, mutable_bytes{out});
  ASSERT_DECODES(n);
  const auto back = cotp::parse(view(out).first(*n));
  ASSERT_DECODES(back);
  EXPECT_EQ(back->li, 9);
  EXPECT_EQ(back->type, cotp::tpdu_type::cc);
  EXPECT_EQ(back->dst_ref, 0x1234);
  EXPECT_EQ(back->src_ref, 0x5678);
  EXPECT_EQ(back->params.tpdu_size_code, 9);
}

TEST(cotp_tpdu_size_bytes, maps_codes_7_to_13_and_nothing_else) {
  EXPECT_EQ(cotp::tpdu_size_bytes(6), 0U);
  EXPECT_EQ(cotp::tpdu_size_bytes(7), 128U);
  EXPECT_EQ(cotp::tpdu_size_bytes(11), 2048U);
  EXPECT_EQ(cotp::tpdu_size_bytes(13), 8192U);
  EXPECT_EQ(cotp::tpdu_size_bytes(14), 0U);
}

TEST(cotp_decode_s7_tsap, needs_exactly_two_bytes) {
  cotp::s7_tsap tsap;
  const byte_vec three = hex("01 02 03");
  EXPECT_FALSE(cotp::decode_s7_tsap(view(three), tsap));
  EXPECT_FALSE(cotp::decode_s7_tsap({}, tsap));
  EXPECT_EQ(cotp::make_s7_tsap(1, 0, 2), 0x0102);
  EXPECT_EQ(cotp::make_s7_tsap(2, 7, 31), 0x02FF);
}

// --- Reassembly ---------------------------------------------------------------------------

// A DT TPDU carrying `data`, as parse() would return it.
cotp::tpdu dt_of(bytes data, bool eot) {
  cotp::tpdu t;
  t.li = 2;
  t.type = cotp::tpdu_type::dt;
  t.eot = eot;
  t.user_data = data;
  return t;
}

TEST(cotp_reassembler, returns_a_lone_final_dt_without_copying) {
  const byte_vec in = test::fx::szl_request();
  const auto t = cotp_of(in);
  ASSERT_DECODES(t);
  byte_vec storage(256);
  cotp::reassembler r{std::span<std::byte>{storage}};
  const auto out = r.feed(*t);
  ASSERT_EQ(out.st, cotp::reassembler::status::complete);
  EXPECT_EQ(out.pdu.data(), in.data() + 7);
  EXPECT_EQ(out.pdu.size(), in.size() - 7);
  EXPECT_EQ(r.buffered(), 0U);
}

TEST(cotp_reassembler, joins_segments_of_every_size) {
  const byte_vec frame = test::fx::szl_response();
  const bytes pdu = test::s7_of(frame);
  for (std::size_t seg = 1; seg <= pdu.size(); ++seg) {
    byte_vec storage(pdu.size());  // exactly large enough
    cotp::reassembler r{std::span<std::byte>{storage}};
    std::size_t fed = 0;
    std::size_t segments = 0;
    for (std::size_t at = 0; at < pdu.size(); at += seg) {
      const std::size_t n = std::min(seg, pdu.size() - at);
      const bool last = at + n == pdu.size();
      const byte_vec part(pdu.begin() + static_cast<std::ptrdiff_t>(at),
                          pdu.begin() + static_cast<std::ptrdiff_t>(at + n));
      const auto out = r.feed(dt_of(view(part), last));
      fed += n;
      ++segments;
      if (!last) {
        ASSERT_EQ(out.st, cotp::reassembler::status::need_more) << seg;
        EXPECT_EQ(r.buffered(), fed);
        EXPECT_EQ(r.segments(), segments);
        continue;
      }
      ASSERT_EQ(out.st, cotp::reassembler::status::complete) << seg;
      EXPECT_BYTES_EQ(out.pdu, pdu);
      EXPECT_EQ(r.buffered(), 0U);
      EXPECT_EQ(r.segments(), 0U);
      // The reassembled PDU decodes like the unsegmented one.
      EXPECT_TRUE(s7::decode(out.pdu).ok());
    }
  }
}

TEST(cotp_reassembler, passes_over_the_empty_dt_without_eot) {
  // Capture pattern: 02 f0 00 (no data, EOT 0) and then the answer in one DT with EOT.
  const byte_vec empty = test::fx::dt_empty_no_eot();
  const byte_vec answer = test::fx::szl_response();
  const auto e = cotp_of(empty);
  const auto a = cotp_of(answer);
  ASSERT_DECODES(e);
  ASSERT_DECODES(a);
  byte_vec storage(256);
  cotp::reassembler r{std::span<std::byte>{storage}};
  EXPECT_EQ(r.feed(*e).st, cotp::reassembler::status::need_more);
  EXPECT_EQ(r.buffered(), 0U);
  const auto out = r.feed(*a);
  ASSERT_EQ(out.st, cotp::reassembler::status::complete);
  EXPECT_BYTES_EQ(out.pdu, test::s7_of(answer));
}

TEST(cotp_reassembler, reports_overflow_and_starts_over) {
  const byte_vec a = hex("32 07 00 00 00 00 00 00 00 00");
  const byte_vec b = hex("01 02 03 04 05 06 07");
  byte_vec storage(16);
  cotp::reassembler r{std::span<std::byte>{storage}};
  EXPECT_EQ(r.feed(dt_of(view(a), false)).st, cotp::reassembler::status::need_more);
  const auto out = r.feed(dt_of(view(b), true));  // 17 bytes > 16
  EXPECT_EQ(out.st, cotp::reassembler::status::overflow);
  EXPECT_TRUE(out.pdu.empty());
  EXPECT_EQ(r.buffered(), 0U);
  EXPECT_EQ(r.segments(), 0U);
  // The next PDU is assembled from scratch.
  EXPECT_EQ(r.feed(dt_of(view(b), false)).st, cotp::reassembler::status::need_more);
  const auto next = r.feed(dt_of(view(b), true));
  ASSERT_EQ(next.st, cotp::reassembler::status::complete);
  EXPECT_EQ(next.pdu.size(), 14U);
}

TEST(cotp_reassembler, reset_drops_buffered_segments) {
  const byte_vec a = hex("aa bb");
  byte_vec storage(16);
  cotp::reassembler r{std::span<std::byte>{storage}};
  EXPECT_EQ(r.feed(dt_of(view(a), false)).st, cotp::reassembler::status::need_more);
  r.reset();
  EXPECT_EQ(r.buffered(), 0U);
  const auto out = r.feed(dt_of(view(a), true));
  ASSERT_EQ(out.st, cotp::reassembler::status::complete);
  EXPECT_EQ(out.pdu.data(), a.data());  // nothing buffered: the lone DT is its own PDU
}

TEST(cotp_reassembler, reassembles_segmented_dts_framed_at_every_split) {
  // The SZL answer split into four DTs of 20, 20, 20 and 14 bytes, EOT on the last, sent as one
  // stream: TPKT framing at every split, COTP parse, reassembly.
  const byte_vec frame = test::fx::szl_response();
  const bytes pdu = test::s7_of(frame);
  ASSERT_EQ(pdu.size(), 74U);
  byte_vec stream;
  std::vector<byte_vec> frames;
  for (std::size_t at = 0; at < pdu.size(); at += 20) {
    const std::size_t n = std::min<std::size_t>(20, pdu.size() - at);
    byte_vec f(7 + n);
    writer w{mutable_bytes{f}};
    tpkt::write_header(w, 3 + n);
    cotp::write_dt_header(w, at + n == pdu.size(), static_cast<std::uint8_t>(at / 20));
    w.raw(pdu.subspan(at, n));
    ASSERT_DECODES(w.finish());
    stream.insert(stream.end(), f.begin(), f.end());
    frames.push_back(std::move(f));
  }
  ASSERT_EQ(frames.size(), 4U);
  EXPECT_TRUE(test::frames_at_every_split(view(stream), frames));

  byte_vec storage(128);
  cotp::reassembler r{std::span<std::byte>{storage}};
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto t = cotp_of(frames[i]);
    ASSERT_DECODES(t);
    EXPECT_EQ(t->tpdu_nr, i);
    const auto out = r.feed(*t);
    if (i + 1 < frames.size()) {
      EXPECT_EQ(out.st, cotp::reassembler::status::need_more);
      continue;
    }
    ASSERT_EQ(out.st, cotp::reassembler::status::complete);
    EXPECT_BYTES_EQ(out.pdu, pdu);
    const auto m = s7::decode(out.pdu);
    ASSERT_DECODES(m);
    EXPECT_EQ(m->p.hdr.type, s7::rosctr::userdata);
  }
}

}  // namespace
}  // namespace protos7::codec
