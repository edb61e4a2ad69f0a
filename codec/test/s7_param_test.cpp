// Job and Ack_Data parameter blocks (s7_param.hpp): Setup communication, Read/Write Var, block
// control (request download, download block, download ended, upload), PI-Service, PLC Stop.
//
// Capture frames are decoded whole (offsets from the TPKT start: S7 header at 7, a Job's
// parameter at 17, an Ack_Data's at 19). Synthetic PDUs are decoded alone (offsets from the
// 0x32 byte: a Job's parameter at 10, an Ack_Data's at 12).
#include "protos7/codec/s7_param.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "capture_fixtures.hpp"
#include "protos7/codec/s7.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::view;

std::string_view text(bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};  // NOLINT: ASCII field
}

result<s7::message> decode_pdu(const byte_vec& pdu, const s7::decode_options& opt = {}) {
  return s7::decode(view(pdu), nullptr, opt);
}

// --- Setup communication ------------------------------------------------------------------

TEST(s7_param_setup, decodes_the_captured_job) {
  const byte_vec frame = test::fx::setup_job();
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  EXPECT_EQ(m->prm.fn, static_cast<std::uint8_t>(s7::function::setup_communication));
  EXPECT_EQ(m->prm.setup.reserved, 0);
  EXPECT_EQ(m->prm.setup.max_amq_calling, 1);
  EXPECT_EQ(m->prm.setup.max_amq_called, 1);
  EXPECT_EQ(m->prm.setup.pdu_length, 480);
  EXPECT_EQ(m->prm.raw.size(), 8U);
}

TEST(s7_param_setup, decodes_the_captured_ack_and_libnodave_job) {
  const byte_vec ack_frame = test::fx::setup_ack();
  const auto ack = test::decode_frame(view(ack_frame));
  ASSERT_DECODES(ack);
  EXPECT_EQ(ack->prm.setup.pdu_length, 240);
  const byte_vec nodave_frame = test::fx::setup_job_nodave();
  const auto nodave = test::decode_frame(view(nodave_frame));
  ASSERT_DECODES(nodave);
  EXPECT_EQ(nodave->p.hdr.pdu_ref, 0xFFFF);
  EXPECT_EQ(nodave->prm.setup.pdu_length, 1920);
}

TEST(s7_param_setup, write_round_trips_the_captured_parameters) {
  for (const byte_vec& frame :
       {test::fx::setup_job(), test::fx::setup_ack(), test::fx::setup_job_nodave()}) {
    const auto m = test::decode_frame(view(frame));
    ASSERT_DECODES(m);
    EXPECT_WRITES([&](writer& w) { s7::write_setup_communication(w, m->prm.setup); }, m->p.param);
  }
}

TEST(s7_param_setup, rejects_a_parameter_that_is_not_8_bytes) {
  const byte_vec pdu =
      hex("32 01 0000 0001"
          "0007 0000"  // param 7
          "f0 00 0001 0001 01");
  EXPECT_FAILS_WITH(decode_pdu(pdu), param_bad_length, s7_param, 10U);
  const byte_vec ack =
      hex("32 03 0000 0001 0009 0000 00 00"
          "f0 00 0001 0001 00f0 00");  // 9 bytes
  EXPECT_FAILS_WITH(decode_pdu(ack), param_bad_length, s7_param, 12U);
}

TEST(s7_param_setup, rejects_a_nonzero_reserved_byte_in_the_job) {
  const byte_vec pdu =
      hex("32 01 0000 0001 0008 0000"
          "f0 01"  // reserved 1 at offset 11
          "0001 0001 01e0");
  EXPECT_FAILS_WITH(decode_pdu(pdu), param_reserved_nonzero, s7_param, 11U);
}

TEST(s7_param_setup, rejects_a_data_block) {
  const byte_vec pdu =
      hex("32 01 0000 0001 0008 0001"
          "f0 00 0001 0001 01e0"
          "00");  // data at offset 18
  EXPECT_FAILS_WITH(decode_pdu(pdu), param_data_not_allowed, s7_param, 18U);
  const byte_vec ack =
      hex("32 03 0000 0001 0008 0001 00 00"
          "f0 00 0001 0001 00f0"
          "00");  // data at offset 20
  EXPECT_FAILS_WITH(decode_pdu(ack), param_data_not_allowed, s7_param, 20U);
}

// --- Read Var -----------------------------------------------------------------------------

TEST(s7_param_read_var, decodes_the_captured_job) {
  const byte_vec frame = test::fx::read_var_job();
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  EXPECT_EQ(m->prm.fn, static_cast<std::uint8_t>(s7::function::read_var));
  EXPECT_EQ(m->prm.item_count, 1);
  EXPECT_EQ(m->prm.items.size(), 12U);
  s7::var_spec_iterator it = m->prm.var_specs(frame.data());
  s7::var_spec v;
  ASSERT_TRUE(it.next(v));
  EXPECT_EQ(v.offset, 19U);
  EXPECT_EQ(v.any.count, 64);
  EXPECT_EQ(v.any.db, 1);
  EXPECT_FALSE(it.next(v));
}

TEST(s7_param_read_var, write_var_job_builds_the_captured_parameters) {
  for (const byte_vec& frame : {test::fx::read_var_job(), test::fx::read_var_job_m(),
                                test::fx::read_var_job_5(), test::fx::write_var_job()}) {
    const auto m = test::decode_frame(view(frame));
    ASSERT_DECODES(m);
    std::vector<s7::any_address> items;
    s7::var_spec_iterator it = m->prm.var_specs(frame.data());
    s7::var_spec v;
    while (it.next(v)) items.push_back(v.any);
    EXPECT_WRITES(
        [&](writer& w) { s7::write_var_job(w, static_cast<s7::function>(m->prm.fn), items); },
        m->p.param);
  }
}

TEST(s7_param_read_var, write_var_job_rejects_more_than_255_items) {
  const std::vector<s7::any_address> items(256);
  byte_vec out(4000);
  writer w{mutable_bytes{out}};
  s7::write_var_job(w, s7::function::read_var, items);
  EXPECT_EQ(w.finish().err(), test::err(errc::value_out_of_range, layer::encode, 1));
}

TEST(s7_param_read_var, decodes_the_captured_ack_and_its_data) {
  const byte_vec frame = test::fx::read_var_ack_m();
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  EXPECT_EQ(m->prm.item_count, 1);
  s7::data_item_iterator it{m->p.data, m->prm.item_count, frame.data()};
  s7::data_item d;
  ASSERT_TRUE(it.next(d));
  EXPECT_EQ(d.offset, 21U);
  EXPECT_EQ(d.return_code, s7::return_code::success);
  EXPECT_EQ(d.tsize, static_cast<std::uint8_t>(s7::data_tsize::byte_word_dword));
  EXPECT_EQ(d.length, 128);
  EXPECT_BYTES_EQ(d.data, view(hex("a9100000000001010000000000000000")));
  EXPECT_FALSE(it.next(d));
  EXPECT_WRITES([&](writer& w) { s7::write_var_ack(w, s7::function::read_var, 1); }, m->p.param);
}

TEST(s7_param_read_var, decodes_five_captured_items_and_their_answers) {
  const byte_vec job_frame = test::fx::read_var_job_5();
  const byte_vec ack_frame = test::fx::read_var_ack_5();
  const auto job = test::decode_frame(view(job_frame));
  const auto ack = test::decode_frame(view(ack_frame));
  ASSERT_DECODES(job);
  ASSERT_DECODES(ack);
  EXPECT_EQ(job->prm.item_count, 5);
  EXPECT_EQ(ack->prm.item_count, 5);
  // Each answer is as long as its item asked for.
  s7::var_spec_iterator vi = job->prm.var_specs(job_frame.data());
  s7::data_item_iterator di{ack->p.data, ack->prm.item_count, ack_frame.data()};
  s7::var_spec v;
  s7::data_item d;
  std::size_t n = 0;
  while (vi.next(v)) {
    ASSERT_TRUE(di.next(d));
    EXPECT_EQ(d.data.size(), v.any.byte_length());
    EXPECT_EQ(d.tsize, s7::data_tsize_for(v.any.tsize));
    ++n;
  }
  EXPECT_EQ(n, 5U);
  EXPECT_FALSE(di.next(d));
}

TEST(s7_param_read_var, rejects_item_count_zero) {
  const byte_vec pdu =
      hex("32 01 0000 0001 0002 0000"
          "04 00");  // item count 0 at offset 11
  EXPECT_FAILS_WITH(decode_pdu(pdu), param_item_count_zero, s7_param, 11U);
  const byte_vec write = hex("32 01 0000 0001 0002 0000 05 00");
  EXPECT_FAILS_WITH(decode_pdu(write), param_item_count_zero, s7_param, 11U);
}

TEST(s7_param_read_var, accepts_item_count_zero_when_allowed) {
  const byte_vec pdu = hex("32 01 0000 0001 0002 0000 04 00");
  s7::decode_options opt;
  opt.params.allow_zero_items = true;
  const auto m = decode_pdu(pdu, opt);
  ASSERT_DECODES(m);
  EXPECT_EQ(m->prm.item_count, 0);
  EXPECT_VALID_EVERYWHERE(pdu, opt);
}

TEST(s7_param_read_var, rejects_an_item_count_the_items_do_not_match) {
  const byte_vec fewer =
      hex("32 01 0000 0001 000e 0000"
          "04 02"                              // 2 items announced
          "12 0a 10 02 0001 0000 83 000000");  // 1 given; ends at 24
  EXPECT_FAILS_WITH(decode_pdu(fewer), param_item_count_mismatch, s7_item, 24U);
  const byte_vec more =
      hex("32 01 0000 0001 001a 0000"
          "04 01"
          "12 0a 10 02 0001 0000 83 000000"
          "12 0a 10 02 0001 0000 83 000008");  // item 2 at 24
  EXPECT_FAILS_WITH(decode_pdu(more), param_item_count_mismatch, s7_item, 24U);
}

TEST(s7_param_read_var, rejects_a_data_block_in_the_job) {
  const byte_vec pdu =
      hex("32 01 0000 0001 000e 0001"
          "04 01 12 0a 10 02 0001 0000 83 000000"
          "00");  // data at 24
  EXPECT_FAILS_WITH(decode_pdu(pdu), param_data_not_allowed, s7_param, 24U);
}

TEST(s7_param_read_var, rejects_an_ack_parameter_longer_than_fn_and_count) {
  const byte_vec pdu =
      hex("32 03 0000 0001 0003 0005 00 00"
          "04 01 00"  // third byte at 14
          "ff 04 0008 2a");
  EXPECT_FAILS_WITH(decode_pdu(pdu), param_bad_length, s7_param, 14U);
}

TEST(s7_param_read_var, rejects_an_ack_whose_data_lacks_an_item) {
  const byte_vec pdu =
      hex("32 03 0000 0001 0002 0006 00 00"
          "04 02"              // 2 items
          "ff 04 0010 2a2b");  // 1 item, data ends at 20
  EXPECT_FAILS_WITH(decode_pdu(pdu), param_item_count_mismatch, s7_data, 20U);
}

// --- Write Var ----------------------------------------------------------------------------

TEST(s7_param_write_var, decodes_the_captured_job_and_its_data) {
  const byte_vec frame = test::fx::write_var_job();
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  EXPECT_EQ(m->prm.fn, static_cast<std::uint8_t>(s7::function::write_var));
  s7::data_item_iterator it{m->p.data, m->prm.item_count, frame.data()};
  s7::data_item d;
  ASSERT_TRUE(it.next(d));
  EXPECT_EQ(d.offset, 31U);
  EXPECT_EQ(d.return_code, s7::return_code::reserved);
  EXPECT_EQ(d.length, 32);
  EXPECT_BYTES_EQ(d.data, view(hex("a9100001")));
}

TEST(s7_param_write_var, decodes_the_captured_ack) {
  const byte_vec frame = test::fx::write_var_ack();
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  EXPECT_EQ(m->prm.fn, static_cast<std::uint8_t>(s7::function::write_var));
  EXPECT_EQ(m->prm.item_count, 1);
  EXPECT_BYTES_EQ(m->p.data, view(hex("ff")));
  EXPECT_WRITES([&](writer& w) { s7::write_var_ack(w, s7::function::write_var, 1); }, m->p.param);
}

TEST(s7_param_write_var, rejects_a_job_without_data) {
  const byte_vec pdu =
      hex("32 01 0000 0001 000e 0000"  // data length 0
          "05 01 12 0a 10 02 0001 0000 83 000000");
  EXPECT_FAILS_WITH(decode_pdu(pdu), param_data_missing, s7_param, 24U);
}

TEST(s7_param_write_var, rejects_job_data_with_an_answer_return_code) {
  const byte_vec pdu =
      hex("32 01 0000 0001 000e 0005"
          "05 01 12 0a 10 02 0001 0000 83 000000"
          "0a 04 0008 2a");  // rc 0x0a at 24: a request carries 0x00 or 0xff
  EXPECT_FAILS_WITH(decode_pdu(pdu), data_bad_return_code, s7_data, 24U);
}

TEST(s7_param_write_var, accepts_plc4x_success_return_codes_in_the_job) {
  const byte_vec pdu =
      hex("32 01 0000 0001 000e 0005"
          "05 01 12 0a 10 02 0001 0000 83 000000"
          "ff 04 0008 2a");
  EXPECT_VALID_EVERYWHERE(pdu);
}

TEST(s7_param_write_var, accepts_error_codes_in_the_ack) {
  const byte_vec pdu =
      hex("32 03 0000 0001 0002 0002 00 00"
          "05 02"
          "ff 0a");  // item 1 written, item 2: object does not exist
  EXPECT_VALID_EVERYWHERE(pdu);
}

TEST(s7_param_write_var, rejects_an_ack_with_one_code_too_few_or_many) {
  const byte_vec fewer = hex("32 03 0000 0001 0002 0001 00 00 05 02 ff");
  EXPECT_FAILS_WITH(decode_pdu(fewer), data_count_mismatch, s7_data, 14U);
  const byte_vec more = hex("32 03 0000 0001 0002 0002 00 00 05 01 ff ff");
  EXPECT_FAILS_WITH(decode_pdu(more), data_count_mismatch, s7_data, 14U);
}

TEST(s7_param_write_var, rejects_an_undefined_code_in_the_ack) {
  const byte_vec pdu =
      hex("32 03 0000 0001 0002 0002 00 00 05 02"
          "ff 02");  // 0x02 at 15 is not a return code
  EXPECT_FAILS_WITH(decode_pdu(pdu), data_bad_return_code, s7_data, 15U);
}

// --- Ack_Data without parameter, unknown functions ----------------------------------------

TEST(s7_param_ack_data, accepts_a_header_error_without_parameter) {
  // A CPU answers some refused jobs with only the header error.
  const byte_vec pdu =
      hex("32 03 0000 0001 0000 0000"
          "81 04");  // not implemented
  const auto m = decode_pdu(pdu);
  ASSERT_DECODES(m);
  EXPECT_EQ(m->p.hdr.error(), 0x8104);
  EXPECT_TRUE(m->prm.raw.empty());
  EXPECT_VALID_EVERYWHERE(pdu);
}

TEST(s7_param_ack_data, rejects_a_missing_parameter_without_error) {
  const byte_vec pdu = hex("32 03 0000 0001 0000 0000 00 00");
  EXPECT_FAILS_WITH(decode_pdu(pdu), s7_missing_param, s7_param, 12U);
}

TEST(s7_param_job, rejects_a_missing_parameter) {
  const byte_vec pdu = hex("32 01 0000 0001 0000 0000");
  EXPECT_FAILS_WITH(decode_pdu(pdu), s7_missing_param, s7_param, 10U);
}

TEST(s7_param_job, rejects_an_unknown_function) {
  for (const char* fn : {"00", "01", "42", "ff"}) {
    const byte_vec pdu = hex(std::string("32 01 0000 0001 0001 0000 ") + fn);
    EXPECT_FAILS_WITH(decode_pdu(pdu), param_unknown_function, s7_param, 10U) << fn;
    const byte_vec ack = hex(std::string("32 03 0000 0001 0001 0000 00 00 ") + fn);
    EXPECT_FAILS_WITH(decode_pdu(ack), param_unknown_function, s7_param, 12U) << fn;
  }
}

TEST(s7_param_job, knows_the_12_job_functions) {
  int known = 0;
  for (unsigned i = 0; i < 256; ++i)
    known += s7::is_known_function(static_cast<std::uint8_t>(i)) ? 1 : 0;
  EXPECT_EQ(known, 12);
}

// --- Block control ------------------------------------------------------------------------

TEST(s7_param_block, decodes_the_captured_request_download) {
  const byte_vec frame = test::fx::request_download_job();
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  const s7::block_control& b = m->prm.block;
  EXPECT_EQ(b.status, 0);
  EXPECT_EQ(b.word, 0x0100);
  EXPECT_EQ(b.upload_id, 0U);
  ASSERT_TRUE(b.has_filename);
  EXPECT_TRUE(b.filename.valid);
  EXPECT_EQ(text(b.filename.raw), "_0A00001P");
  EXPECT_EQ(b.filename.file_id, '_');
  EXPECT_EQ(b.filename.block_type, 0x0A);
  EXPECT_EQ(b.filename.number, 1U);
  EXPECT_EQ(b.filename.filesystem, 'P');
  EXPECT_EQ(b.part2.size(), 13U);
  EXPECT_EQ(text(b.load_memory_length), "000500");
  EXPECT_EQ(text(b.mc7_length), "000400");
}

TEST(s7_param_block, decodes_the_captured_download_sequence) {
  for (const byte_vec& frame : {test::fx::request_download_ack(), test::fx::download_block_job(),
                                test::fx::download_ended_job(), test::fx::download_ended_ack()}) {
    const auto m = test::decode_frame(view(frame));
    ASSERT_DECODES(m);
  }
  const byte_vec job_frame = test::fx::download_block_job();
  const auto job = test::decode_frame(view(job_frame));
  EXPECT_EQ(job->prm.fn, static_cast<std::uint8_t>(s7::function::download_block));
  EXPECT_EQ(job->prm.block.filename.number, 1U);
  const byte_vec ack_frame = test::fx::request_download_ack();
  const auto ack = test::decode_frame(view(ack_frame));
  EXPECT_FALSE(ack->prm.block.has_status);  // "1a" alone
}

TEST(s7_param_block, decodes_the_captured_download_block_answer) {
  const byte_vec frame = test::fx::download_block_ack_last();
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  EXPECT_TRUE(m->prm.block.has_status);
  EXPECT_EQ(m->prm.block.status, 0);  // no more data
  const auto bd = s7::parse_block_data(m->p.data, frame.data());
  ASSERT_DECODES(bd);
  EXPECT_EQ(bd->length, 56);
  EXPECT_EQ(bd->unknown, 0x00FB);
  EXPECT_EQ(bd->payload.size(), 56U);
  EXPECT_EQ(bd->payload.data(), frame.data() + 25);
}

TEST(s7_param_block, rejects_block_data_whose_length_differs) {
  const byte_vec shorter =
      hex("32 03 0000 0001 0002 0007 00 00"
          "1b 00"
          "0004 00fb 010203");  // says 4, has 3
  EXPECT_FAILS_WITH(decode_pdu(shorter), data_item_truncated, s7_data, 14U);
  const byte_vec longer = hex("32 03 0000 0001 0002 0009 00 00 1b 00 0004 00fb 0102030405");
  EXPECT_FAILS_WITH(decode_pdu(longer), data_item_truncated, s7_data, 14U);
  const byte_vec head = hex("32 03 0000 0001 0002 0003 00 00 1b 00 0004 00");  // 3 bytes
  EXPECT_FAILS_WITH(decode_pdu(head), truncated, s7_data, 16U);
}

TEST(s7_param_block, rejects_a_download_block_answer_without_status) {
  const byte_vec pdu = hex("32 03 0000 0001 0001 0000 00 00 1b");
  EXPECT_FAILS_WITH(decode_pdu(pdu), truncated, s7_param, 13U);
}

TEST(s7_param_block, decodes_upload_jobs_and_answers) {
  const byte_vec start =
      hex("32 01 0000 0001 0012 0000"
          "1d 00 0000 00000000"      // Start upload
          "09 5f3041303030303141");  // "_0A00001A"
  EXPECT_VALID_EVERYWHERE(start);
  const byte_vec start_ack =
      hex("32 03 0000 0001 0010 0000 00 00"
          "1d 00 0100 00000007"  // upload id 7
          "07 30303030323536");  // block length "0000256"
  EXPECT_VALID_EVERYWHERE(start_ack);
  const auto sa = decode_pdu(start_ack);
  ASSERT_DECODES(sa);
  EXPECT_EQ(sa->prm.block.upload_id, 7U);
  EXPECT_EQ(text(sa->prm.block.block_length), "0000256");
  const byte_vec upload = hex("32 01 0000 0002 0008 0000 1e 00 0000 00000007");
  EXPECT_VALID_EVERYWHERE(upload);
  const byte_vec upload_ack =
      hex("32 03 0000 0002 0002 0008 00 00"
          "1e 00"
          "0004 00fb 01020304");
  EXPECT_VALID_EVERYWHERE(upload_ack);
  const byte_vec end = hex("32 01 0000 0003 0008 0000 1f 00 0000 00000007");
  EXPECT_VALID_EVERYWHERE(end);
  const auto e = decode_pdu(end);
  ASSERT_DECODES(e);
  EXPECT_EQ(e->prm.block.upload_id, 7U);
  EXPECT_FALSE(e->prm.block.has_filename);
  const byte_vec end_ack = hex("32 03 0000 0003 0001 0000 00 00 1f");
  EXPECT_VALID_EVERYWHERE(end_ack);
}

TEST(s7_param_block, rejects_block_jobs_cut_short_or_too_long) {
  const byte_vec upload = hex("32 01 0000 0002 0007 0000 1e 00 0000 000000");  // u32 cut at 14
  EXPECT_FAILS_WITH(decode_pdu(upload), truncated, s7_param, 14U);
  const byte_vec end = hex("32 01 0000 0002 0009 0000 1f 00 0000 00000007 00");  // extra at 18
  EXPECT_FAILS_WITH(decode_pdu(end), param_bad_length, s7_param, 18U);
  const byte_vec dl =
      hex("32 01 0000 0002 0013 0000"
          "1b 00 0000 00000000 09 5f3041303030303150"
          "00");  // extra at 28
  EXPECT_FAILS_WITH(decode_pdu(dl), param_bad_length, s7_param, 28U);
  const byte_vec ack = hex("32 03 0000 0002 0003 0000 00 00 1c 00 00");  // extra at 14
  EXPECT_FAILS_WITH(decode_pdu(ack), param_bad_length, s7_param, 14U);
  const byte_vec su =
      hex("32 03 0000 0001 0011 0000 00 00"
          "1d 00 0100 00000007 07 30303030323536"
          "00");  // extra at 28
  EXPECT_FAILS_WITH(decode_pdu(su), param_bad_length, s7_param, 28U);
}

TEST(s7_param_block, rejects_a_data_block_on_block_jobs) {
  const byte_vec pdu =
      hex("32 01 0000 0002 0012 0001"
          "1b 00 0000 00000000 09 5f3041303030303150"
          "00");  // data at 28
  EXPECT_FAILS_WITH(decode_pdu(pdu), param_data_not_allowed, s7_param, 28U);
}

TEST(s7_param_block, rejects_malformed_file_names) {
  // The error points at the file name length byte (frame offset 25).
  for (const char* name : {"09 58 3041303030303150",        // 'X' instead of '_'
                           "09 5f 3047303030303150",        // type "0G": not hex
                           "09 5f 304130303030 2f 50",      // number "0000/"
                           "08 5f 30413030303031",          // 8 characters
                           "0a 5f 3041303030303150 50"}) {  // 10 characters
    const byte_vec var = hex(name);
    byte_vec pdu =
        test::concat({view(hex("32 01 0000 0001 0000 0000 1c 00 0000 00000000")), view(var)});
    pdu[7] = static_cast<std::byte>(pdu.size() - 10);  // param length
    const byte_vec frame = test::frame_dt(view(pdu));
    EXPECT_FAILS_WITH(test::decode_frame(view(frame)), param_bad_filename, s7_param, 25U) << name;
  }
}

TEST(s7_param_block, rejects_a_request_download_part_2_of_the_wrong_length) {
  byte_vec frame = test::fx::request_download_job();
  // Part 2 length byte at frame offset 35 says 12; 13 bytes follow.
  frame[35] = std::byte{0x0C};
  EXPECT_FAILS_WITH(test::decode_frame(view(frame)), param_bad_length, s7_param, 35U);
}

TEST(s7_param_block, accepts_a_request_download_without_part_2) {
  const byte_vec pdu =
      hex("32 01 0000 0001 0012 0000"
          "1a 00 0100 00000000 09 5f3041303030303150");
  EXPECT_VALID_EVERYWHERE(pdu);
  const auto m = decode_pdu(pdu);
  ASSERT_DECODES(m);
  EXPECT_TRUE(m->prm.block.part2.empty());
}

TEST(s7_param_filename, decodes_block_file_names) {
  const byte_vec dollar = hex("24 3045 3030313233 41");  // "$0E00123A": FB 123 header, active
  const s7::block_filename f = s7::decode_filename(view(dollar));
  EXPECT_TRUE(f.valid);
  EXPECT_EQ(f.file_id, '$');
  EXPECT_EQ(f.block_type, 0x0E);
  EXPECT_EQ(f.number, 123U);
  EXPECT_EQ(f.filesystem, 'A');
  const byte_vec lower = hex("5f 3061 3635353335 42");  // "_0a65535B": lower-case hex accepted
  const s7::block_filename g = s7::decode_filename(view(lower));
  EXPECT_TRUE(g.valid);
  EXPECT_EQ(g.block_type, 0x0A);
  EXPECT_EQ(g.number, 65535U);
  EXPECT_FALSE(s7::decode_filename({}).valid);
}

TEST(s7_param_filename, writes_block_file_names_that_decode_back) {
  byte_vec out(s7::block_filename_length);
  writer w{out};
  s7::write_block_filename(w, {0x08, 1, 'P'});
  ASSERT_TRUE(w.finish().ok());
  EXPECT_EQ(out, hex("5f 3038 3030303031 50"));  // "_0800001P": OB 1, passive
  const s7::block_filename f = s7::decode_filename(view(out));
  EXPECT_TRUE(f.valid);
  EXPECT_EQ(f.file_id, '_');
  EXPECT_EQ(f.block_type, 0x08);
  EXPECT_EQ(f.number, 1U);
  writer hw{out};
  s7::write_block_filename(hw, {0x0E, 99999, 'A'}, '$');
  ASSERT_TRUE(hw.finish().ok());
  EXPECT_EQ(out, hex("24 3045 3939393939 41"));
  writer bad{out};
  s7::write_block_filename(bad, {0x0A, 100000, 'P'});
  EXPECT_EQ(bad.finish().err().code, errc::value_out_of_range);
}

TEST(s7_param_filename, decodes_eight_character_block_names) {
  const byte_vec name = hex("3042 3332373638 42");  // "0B32768B": SDB 32768
  const s7::block_filename f = s7::decode_block_name8(view(name));
  EXPECT_TRUE(f.valid);
  EXPECT_EQ(f.block_type, 0x0B);
  EXPECT_EQ(f.number, 32768U);
  EXPECT_EQ(f.filesystem, 'B');
  const byte_vec nine = hex("5f 3042 3332373638 42");
  EXPECT_FALSE(s7::decode_block_name8(view(nine)).valid);
}

TEST(s7_param_block, rejects_a_file_name_or_part_2_longer_than_the_parameter) {
  const byte_vec name =
      hex("32 01 0000 0001 0010 0000"
          "1b 00 0000 00000000"
          "09 5f304130303030");  // 9 announced at 18, 7 present from 19
  EXPECT_FAILS_WITH(decode_pdu(name), truncated, s7_param, 19U);
  const byte_vec part2 =
      hex("32 01 0000 0001 0016 0000"
          "1a 00 0100 00000000 09 5f3041303030303150"
          "0d 31 3030");  // 13 announced at 28, 3 present from 29
  EXPECT_FAILS_WITH(decode_pdu(part2), truncated, s7_param, 29U);
}

TEST(s7_param_block, accepts_a_download_block_answer_without_data) {
  const byte_vec pdu = hex("32 03 0000 0001 0002 0000 00 00 1b 01");
  EXPECT_VALID_EVERYWHERE(pdu);
}

TEST(s7_param_ack_data, rejects_data_without_parameter_even_with_an_error) {
  const byte_vec pdu = hex("32 03 0000 0001 0000 0001 81 04 ff");
  EXPECT_FAILS_WITH(decode_pdu(pdu), s7_missing_param, s7_param, 12U);
}

TEST(s7_param_block, write_block_control_job_rebuilds_the_captured_jobs) {
  for (const byte_vec& frame : {test::fx::request_download_job(), test::fx::download_block_job(),
                                test::fx::download_ended_job()}) {
    const auto m = test::decode_frame(view(frame));
    ASSERT_DECODES(m);
    EXPECT_WRITES(
        [&](writer& w) {
          s7::write_block_control_job(w, static_cast<s7::function>(m->prm.fn), m->prm.block);
        },
        m->p.param);
  }
  for (const char* job : {"32 01 0000 0001 0012 0000 1d 00 0000 00000000 09 5f3041303030303141",
                          "32 01 0000 0002 0008 0000 1e 00 0000 00000007",
                          "32 01 0000 0003 0008 0000 1f 00 0000 00000007"}) {
    const byte_vec pdu = hex(job);
    const auto m = decode_pdu(pdu);
    ASSERT_DECODES(m);
    EXPECT_WRITES(
        [&](writer& w) {
          s7::write_block_control_job(w, static_cast<s7::function>(m->prm.fn), m->prm.block);
        },
        m->p.param);
  }
}

TEST(s7_param_block, write_block_control_ack_rebuilds_the_captured_answers) {
  for (const byte_vec& frame : {test::fx::request_download_ack(), test::fx::download_ended_ack()}) {
    const auto m = test::decode_frame(view(frame));
    ASSERT_DECODES(m);
    EXPECT_WRITES(
        [&](writer& w) {
          s7::write_block_control_ack(w, static_cast<s7::function>(m->prm.fn), m->prm.block, false);
        },
        m->p.param);
  }
  const byte_vec frame = test::fx::download_block_ack_last();
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  EXPECT_WRITES(
      [&](writer& w) {
        s7::write_block_control_ack(w, s7::function::download_block, m->prm.block, true);
      },
      m->p.param);
  const auto bd = s7::parse_block_data(m->p.data, nullptr);
  ASSERT_DECODES(bd);
  EXPECT_WRITES([&](writer& w) { s7::write_block_data(w, bd->payload, bd->unknown); }, m->p.data);
  const byte_vec start_ack =
      hex("32 03 0000 0001 0010 0000 00 00"
          "1d 00 0100 00000007 07 30303030323536");
  const auto sa = decode_pdu(start_ack);
  ASSERT_DECODES(sa);
  EXPECT_WRITES(
      [&](writer& w) {
        s7::write_block_control_ack(w, s7::function::start_upload, sa->prm.block, true);
      },
      sa->p.param);
}

TEST(s7_param_block, write_block_data_rejects_a_payload_over_65535_bytes) {
  const byte_vec big(0x10000);
  byte_vec out(0x10010);
  writer w{mutable_bytes{out}};
  s7::write_block_data(w, view(big));
  EXPECT_EQ(w.finish().err(), test::err(errc::value_out_of_range, layer::encode, 0));
}

TEST(s7_param_block, write_block_control_job_rejects_a_name_over_255_bytes) {
  const byte_vec name(256);
  s7::block_control b;
  b.filename.raw = view(name);
  byte_vec out(300);
  writer w{mutable_bytes{out}};
  s7::write_block_control_job(w, s7::function::download_block, b);
  EXPECT_EQ(w.finish().err(), test::err(errc::value_out_of_range, layer::encode, 8));
}

TEST(s7_param_decode, result_forms_match_the_in_place_forms) {
  const byte_vec frame = test::fx::read_var_job();
  const auto p = s7::parse(test::s7_of(frame), frame.data());
  ASSERT_DECODES(p);
  const auto job = s7::parse_job(*p);
  ASSERT_DECODES(job);
  EXPECT_EQ(job->item_count, 1);
  EXPECT_FAILS_WITH(s7::parse_ack_data(*p), param_bad_length, s7_param, 19U);  // "04 01" + 12 bytes
  const byte_vec ack_frame = test::fx::read_var_ack();
  const auto a = s7::parse(test::s7_of(ack_frame), ack_frame.data());
  ASSERT_DECODES(a);
  const auto ack = s7::parse_ack_data(*a);
  ASSERT_DECODES(ack);
  EXPECT_EQ(ack->item_count, 1);
  EXPECT_FAILS_WITH(s7::parse_job(*a), param_item_count_mismatch, s7_item,
                    21U);  // "04 01", no item
}

TEST(s7_param_decode, leaves_no_stale_fields_when_a_message_is_reused) {
  s7::message m;
  const byte_vec rd = test::fx::request_download_job();
  ASSERT_EQ(s7::decode(test::s7_of(rd), m, rd.data()), error{});
  EXPECT_FALSE(m.prm.block.part2.empty());
  const byte_vec db = test::fx::download_block_job();
  ASSERT_EQ(s7::decode(test::s7_of(db), m, db.data()), error{});
  EXPECT_EQ(m.prm.fn, static_cast<std::uint8_t>(s7::function::download_block));
  EXPECT_TRUE(m.prm.block.part2.empty());
  EXPECT_TRUE(m.prm.block.load_memory_length.empty());
  const byte_vec pi = test::fx::pi_inse_job();
  ASSERT_EQ(s7::decode(test::s7_of(pi), m, pi.data()), error{});
  EXPECT_FALSE(m.prm.block.has_filename);
  const byte_vec pi_ack = test::fx::pi_ack();
  ASSERT_EQ(s7::decode(test::s7_of(pi_ack), m, pi_ack.data()), error{});
  EXPECT_TRUE(m.prm.pi.service_name.empty());
  EXPECT_FALSE(m.prm.pi.has_status);
  const byte_vec rv = test::fx::read_var_job();
  ASSERT_EQ(s7::decode(test::s7_of(rv), m, rv.data()), error{});
  EXPECT_EQ(m.prm.item_count, 1);
  const byte_vec setup = test::fx::setup_job();
  ASSERT_EQ(s7::decode(test::s7_of(setup), m, setup.data()), error{});
  EXPECT_EQ(m.prm.item_count, 0);
  EXPECT_TRUE(m.prm.items.empty());
  EXPECT_EQ(m.prm.setup.pdu_length, 480);
  const byte_vec bad = hex("32 01 0000 0001 0001 0000 42");
  EXPECT_EQ(s7::decode(view(bad), m), test::err(errc::param_unknown_function, layer::s7_param, 10));
}

// --- PI-Service, PLC Stop -----------------------------------------------------------------

TEST(s7_param_pi, decodes_the_captured_inse_job_and_ack) {
  const byte_vec frame = test::fx::pi_inse_job();
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  EXPECT_EQ(m->prm.fn, static_cast<std::uint8_t>(s7::function::pi_service));
  EXPECT_BYTES_EQ(m->prm.pi.unknown, view(hex("00 00 00 00 00 00 fd")));
  EXPECT_EQ(m->prm.pi.param_block.size(), 10U);
  EXPECT_EQ(text(m->prm.pi.service_name), "_INSE");
  // _INSE parameter block: count, 0x00, count x 8-character block names.
  ASSERT_GE(m->prm.pi.param_block.size(), 2U);
  EXPECT_EQ(test::u8_at(m->prm.pi.param_block, 0), 1);
  const s7::block_filename b = s7::decode_block_name8(m->prm.pi.param_block.subspan(2));
  EXPECT_TRUE(b.valid);
  EXPECT_EQ(b.block_type, 0x0A);
  EXPECT_EQ(b.number, 1U);
  const byte_vec ack_frame = test::fx::pi_ack();
  const auto ack = test::decode_frame(view(ack_frame));
  ASSERT_DECODES(ack);
  EXPECT_FALSE(ack->prm.pi.has_status);
}

TEST(s7_param_pi, decodes_a_plc_start_and_an_ack_with_status) {
  const byte_vec pdu =
      hex("32 01 0000 0001 0014 0000"
          "28 00 00 00 00 00 00 fd"
          "0000"                     // empty parameter block
          "09 505f50524f4752414d");  // "P_PROGRAM"
  EXPECT_VALID_EVERYWHERE(pdu);
  const byte_vec ack = hex("32 03 0000 0001 0002 0000 00 00 28 02");
  EXPECT_VALID_EVERYWHERE(ack);
  const auto a = decode_pdu(ack);
  ASSERT_DECODES(a);
  EXPECT_TRUE(a->prm.pi.has_status);
  EXPECT_EQ(a->prm.pi.status, 2);
}

TEST(s7_param_pi, reads_and_writes_the_restart_kind_of_p_program) {
  EXPECT_EQ(s7::pi_restart_of({}), s7::restart::warm_or_hot);  // the captured hot start
  const byte_vec cold = hex("43 20");                          // snap7's PlcColdStart: "C "
  EXPECT_EQ(s7::pi_restart_of(view(cold)), s7::restart::cold);
  EXPECT_EQ(s7::pi_restart_of(view(hex("50"))), s7::restart::warm_or_hot);
  for (const s7::restart r : {s7::restart::warm_or_hot, s7::restart::cold}) {
    std::array<std::byte, 4> buf{};
    writer w{buf};
    s7::write_pi_restart(w, r);
    const auto n = w.finish();
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, r == s7::restart::cold ? 2U : 0U);
    EXPECT_EQ(s7::pi_restart_of(bytes{buf.data(), *n}), r);
  }
  std::array<std::byte, 2> out{};
  writer w{out};
  s7::write_pi_restart(w, s7::restart::cold);
  ASSERT_TRUE(w.finish());
  EXPECT_TRUE(test::same_bytes(out, view(cold)));
}

TEST(s7_param_pi, rejects_an_empty_service_name) {
  const byte_vec pdu =
      hex("32 01 0000 0001 000b 0000"
          "28 00 00 00 00 00 00 fd"
          "0000"
          "00");  // service name length 0 at offset 20
  EXPECT_FAILS_WITH(decode_pdu(pdu), param_bad_pi_service, s7_param, 20U);
}

TEST(s7_param_pi, rejects_a_parameter_block_longer_than_the_parameter) {
  const byte_vec pdu =
      hex("32 01 0000 0001 000e 0000"
          "28 00 00 00 00 00 00 fd"
          "0010"           // 16 bytes announced at 18
          "01 00 30 41");  // 4 present from 20
  EXPECT_FAILS_WITH(decode_pdu(pdu), truncated, s7_param, 20U);
}

TEST(s7_param_pi, rejects_bytes_after_the_service_name) {
  const byte_vec pdu =
      hex("32 01 0000 0001 0011 0000"
          "28 00 00 00 00 00 00 fd 0000"
          "05 5f474152 42"  // "_GARB"
          "00");            // extra at 26
  EXPECT_FAILS_WITH(decode_pdu(pdu), param_bad_length, s7_param, 26U);
}

TEST(s7_param_plc_stop, decodes_the_job_and_ack) {
  const byte_vec pdu =
      hex("32 01 0000 0001 0010 0000"
          "29 00 00 00 00 00"        // 5 unknown bytes
          "09 505f50524f4752414d");  // "P_PROGRAM"
  EXPECT_VALID_EVERYWHERE(pdu);
  const auto m = decode_pdu(pdu);
  ASSERT_DECODES(m);
  EXPECT_EQ(text(m->prm.stop.service_name), "P_PROGRAM");
  EXPECT_EQ(m->prm.stop.unknown.size(), 5U);
  const byte_vec ack = hex("32 03 0000 0001 0001 0000 00 00 29");
  EXPECT_VALID_EVERYWHERE(ack);
}

TEST(s7_param_pi, write_pi_service_rebuilds_the_captured_job) {
  const byte_vec frame = test::fx::pi_inse_job();
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  EXPECT_WRITES([&](writer& w) { s7::write_pi_service(w, m->prm.pi); }, m->p.param);
  // Without the 7 unknown bytes the encoder writes zeros.
  s7::pi_service pi;
  const byte_vec garb = hex("5f47415242");  // "_GARB"
  pi.service_name = view(garb);
  EXPECT_WRITES([&](writer& w) { s7::write_pi_service(w, pi); },
                view(hex("28 00000000000000 0000 05 5f47415242")));
}

TEST(s7_param_plc_stop, write_plc_stop_rebuilds_the_job) {
  const byte_vec pdu =
      hex("32 01 0000 0001 0010 0000"
          "29 00 00 00 00 00 09 505f50524f4752414d");
  const auto m = decode_pdu(pdu);
  ASSERT_DECODES(m);
  EXPECT_WRITES([&](writer& w) { s7::write_plc_stop(w, m->prm.stop); }, m->p.param);
  s7::plc_stop stop;
  stop.service_name = m->prm.stop.service_name;
  EXPECT_WRITES([&](writer& w) { s7::write_plc_stop(w, stop); }, m->p.param);  // zeros by default
}

TEST(s7_param_plc_stop, rejects_a_name_longer_than_the_parameter) {
  const byte_vec pdu =
      hex("32 01 0000 0001 000a 0000"
          "29 00 00 00 00 00"
          "09 505f50");  // 9 announced at 16, 3 present from 17
  EXPECT_FAILS_WITH(decode_pdu(pdu), truncated, s7_param, 17U);
}

}  // namespace
}  // namespace protos7::codec

namespace protos7::codec::test {
namespace {

// _INSE / _DELE parameter block of s7comm_downloading_block_db1.pcap frame 58.
TEST(pi_block_list, reads_the_captured_insert_of_db1) {
  const byte_vec pb = hex("01 00 30413030303031 50");  // count 1, 00, "0A00001P"
  const auto l = s7::parse_pi_block_list(view(pb), nullptr);
  ASSERT_DECODES(l);
  EXPECT_EQ(l->count, 1);
  const s7::block_filename b = l->at(0);
  EXPECT_TRUE(b.valid);
  EXPECT_EQ(b.block_type, 0x0A);
  EXPECT_EQ(b.number, 1U);
  EXPECT_EQ(b.filesystem, 'P');
}

TEST(pi_block_list, round_trips_several_blocks) {
  const s7::block_ref blocks[] = {{0x0A, 1, 'P'}, {0x0C, 99999, 'A'}, {0x08, 35, 'P'}};
  const byte_vec want = hex("03 00 3041303030303150 3043393939393941 3038303030333550");
  EXPECT_WRITES([&](writer& w) { s7::write_pi_block_list(w, blocks); }, view(want));
  const auto l = s7::parse_pi_block_list(view(want), nullptr);
  ASSERT_DECODES(l);
  ASSERT_EQ(l->count, 3);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(l->at(i).block_type, blocks[i].type);
    EXPECT_EQ(l->at(i).number, blocks[i].number);
    EXPECT_EQ(l->at(i).filesystem, blocks[i].filesystem);
  }
}

TEST(pi_block_list, refuses_a_wrong_count_or_a_bad_name_at_its_offset) {
  const byte_vec zero = hex("00 00");
  EXPECT_FAILS_WITH(s7::parse_pi_block_list(view(zero), nullptr), param_bad_pi_service, s7_param,
                    0);
  const byte_vec short_list = hex("02 00 3041303030303150");
  EXPECT_FAILS_WITH(s7::parse_pi_block_list(view(short_list), nullptr), param_bad_pi_service,
                    s7_param, 0);
  const byte_vec empty;
  EXPECT_FAILS_WITH(s7::parse_pi_block_list(view(empty), nullptr), param_bad_pi_service, s7_param,
                    0);
  const byte_vec bad = hex("02 00 3041303030303150 3047303030303150");  // "0G..." is not hex
  EXPECT_FAILS_WITH(s7::parse_pi_block_list(view(bad), nullptr), param_bad_filename, s7_param, 10);
  const s7::block_ref too_big{0x0A, 100000, 'P'};
  byte_vec out(10);
  writer w{out};
  s7::write_pi_block_list(w, std::span{&too_big, 1});
  EXPECT_FALSE(w.finish().ok());
}

}  // namespace
}  // namespace protos7::codec::test
