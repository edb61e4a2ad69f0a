// Programmer commands (ud_tis.hpp): the frame, the job parameter, watch-table addresses and
// values, the job list and block status, with PDUs of the field captures
// (../shared/pcaps/field, read with `tshark -T fields -e tcp.payload`) written field by field.
#include "protos7/codec/ud_tis.hpp"

#include <gtest/gtest.h>

#include "protos7/codec/s7.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::view;
namespace tis = s7::tis;

// The payload of the only data unit of a Userdata frame (offsets from the TPKT start).
struct ud_frame {
  byte_vec frame;
  bytes payload;
  explicit ud_frame(byte_vec f) : frame(std::move(f)) {
    const auto m = test::decode_frame(view(frame));
    EXPECT_TRUE(m.ok()) << ::testing::PrintToString(m.err());
    if (m) payload = m->ud.data.payload;
  }
  const std::byte* origin() const { return frame.data(); }
};

// step7_s300_readVarTab.pcapng frame 1: a watch table asks for two variables.
byte_vec varstat_request() {
  return hex(
      "0300 0047 02f080"
      "32 07 0000 6e03 000c 002a"         // Userdata, param 12, data 42
      "000112 08 12 41 02 00 00 00 0000"  // request, programmer commands, variable status
      "ff 09 0026"                        // data unit: 38 bytes
      "0014 000e"                         // parameter 20 bytes, data 14 bytes
      "0000 0001 0000 0012 0001 0001 0001 0001 0001 0200"  // job parameter, trigger 0x0200
      "0002"                                               // two addresses
      "01 06 0000 0000"                                    // MB 0, 6 bytes
      "11 01 0000 0008");                                  // IB 8, 1 byte
}

// step7_s300_readVarTab.pcapng frame 7: the CPU pushes the two values.
byte_vec varstat_push() {
  return hex(
      "0300 003b 02f080"
      "32 07 0000 0000 000c 001e"
      "000112 08 12 01 02 02 00 00 0000"  // push, programmer commands, variable status, seq 2
      "ff 09 001a"
      "0004 0012"                // parameter 4, data 18
      "0100 0002"                // response parameter
      "0002"                     // two values
      "ff 09 0006 4133851fdead"  // octet string, 6 bytes
      "ff 09 0001 02 00");       // 1 byte and its fill byte (the last one has one too)
}

TEST(tis_frame, splits_parameter_and_data) {
  const ud_frame f{varstat_push()};
  const auto fr = tis::parse_frame(f.payload, f.origin());
  ASSERT_DECODES(fr);
  EXPECT_EQ(fr->param_size, 4);
  EXPECT_EQ(fr->data_size, 18);
  EXPECT_EQ(fr->param_offset, 37U);
  EXPECT_EQ(fr->data_offset, 41U);
  EXPECT_WRITES([&](writer& w) { tis::write_frame(w, fr->param, fr->data); }, f.payload);
}

TEST(tis_frame, rejects_sizes_that_do_not_add_up) {
  const byte_vec one_short = hex("0004 0013 0100 0002 0002");
  EXPECT_FAILS_WITH(tis::parse_frame(view(one_short), nullptr), userdata_tis_bad_size, userdata,
                    0U);
  const byte_vec cut = hex("0004");
  EXPECT_FAILS_WITH(tis::parse_frame(view(cut), nullptr), truncated, userdata, 2U);
}

TEST(tis_job_param, reads_the_fields_of_each_size) {
  const ud_frame f{varstat_request()};
  const auto fr = tis::parse_frame(f.payload, f.origin());
  ASSERT_DECODES(fr);
  const auto p = tis::parse_job_param(fr->param, f.origin());
  ASSERT_DECODES(p);
  EXPECT_EQ(p->size, 20);
  EXPECT_EQ(p->param2, 1);
  EXPECT_EQ(p->answer_size, 0x12);
  EXPECT_EQ(p->trigger_event, 0x0200);
  EXPECT_TRUE(p->extra.empty());
  EXPECT_WRITES([&](writer& w) { tis::write_job_param(w, *p); }, fr->param);
}

TEST(tis_job_param, block_status_parameter_has_block_and_saz) {
  // step7_s300_readDiagData.pcapng frame 22: 28 bytes, trigger 0x0600, OB1 from address 0.
  const byte_vec param =
      hex("0000 0001 0000 002e 0001 0001 0001 0001 0001 0600 0008 0001 0000 0010");
  const auto p = tis::parse_job_param(view(param), nullptr);
  ASSERT_DECODES(p);
  EXPECT_EQ(p->trigger_event, 0x0600);
  EXPECT_EQ(p->block_type, 8);
  EXPECT_EQ(p->block_number, 1);
  EXPECT_EQ(p->saz, 0x10);
  EXPECT_WRITES([&](writer& w) { tis::write_job_param(w, *p); }, view(param));
}

TEST(tis_job_param, call_environment_fields_depend_on_the_setup) {
  // 36 bytes with setup 2: DB1 and DB2 numbers; 38 with setup 0: block type, number, address.
  byte_vec p36(36);
  p36[29] = std::byte{2};  // setup = 2
  p36[33] = std::byte{5};  // DB1 = 5
  const auto a = tis::parse_job_param(view(p36), nullptr);
  ASSERT_DECODES(a);
  EXPECT_EQ(a->callenv_setup, 2);
  EXPECT_EQ(a->db1_or_block_type, 5);
  EXPECT_WRITES([&](writer& w) { tis::write_job_param(w, *a); }, view(p36));
  byte_vec p38(38);
  p38[37] = std::byte{7};
  const auto b = tis::parse_job_param(view(p38), nullptr);
  ASSERT_DECODES(b);
  EXPECT_EQ(b->cond_address, 7);
  EXPECT_WRITES([&](writer& w) { tis::write_job_param(w, *b); }, view(p38));
  const byte_vec two = hex("0000");
  EXPECT_FAILS_WITH(tis::parse_job_param(view(two), nullptr), userdata_tis_bad_size, userdata, 0U);
}

TEST(tis_response_param, is_four_bytes) {
  const byte_vec p = hex("0100 0002");
  const auto r = tis::parse_response_param(view(p), nullptr);
  ASSERT_DECODES(r);
  EXPECT_EQ(r->param1, 0x0100);
  EXPECT_EQ(r->param2, 2);
  EXPECT_WRITES([&](writer& w) { tis::write_response_param(w, *r); }, view(p));
  const byte_vec five = hex("0100 0002 00");
  EXPECT_FAILS_WITH(tis::parse_response_param(view(five), nullptr), userdata_tis_bad_size, userdata,
                    0U);
}

TEST(tis_items, decodes_the_addresses_of_a_variable_status_request) {
  const ud_frame f{varstat_request()};
  const auto fr = tis::parse_frame(f.payload, f.origin());
  ASSERT_DECODES(fr);
  const auto l = tis::parse_item_list(fr->data, tis::list_kind::addresses, f.origin());
  ASSERT_DECODES(l);
  EXPECT_EQ(l->count, 2);
  tis::address_iterator it{l->addresses, f.origin()};
  tis::item_address a;
  std::uint32_t at = 0;
  ASSERT_TRUE(it.next(a, &at));
  EXPECT_EQ(at, 59U);
  EXPECT_EQ(a, (tis::item_address{0x01, 6, 0, 0}));
  EXPECT_FALSE(a.bit_area());
  ASSERT_TRUE(it.next(a));
  EXPECT_EQ(a, (tis::item_address{0x11, 1, 0, 8}));
  EXPECT_FALSE(it.next(a));
  EXPECT_WRITES(
      [](writer& w) {
        tis::write_item_count(w, 2);
        tis::write_item_address(w, {0x01, 6, 0, 0});
        tis::write_item_address(w, {0x11, 1, 0, 8});
      },
      fr->data);
}

TEST(tis_items, decodes_the_values_of_a_push_with_fill_bytes) {
  const ud_frame f{varstat_push()};
  const auto fr = tis::parse_frame(f.payload, f.origin());
  ASSERT_DECODES(fr);
  const auto l = tis::parse_item_list(fr->data, tis::list_kind::values, f.origin());
  ASSERT_DECODES(l);
  EXPECT_EQ(l->count, 2);
  tis::value_iterator it{l->values, f.origin()};
  tis::item_value v;
  ASSERT_TRUE(it.next(v));
  EXPECT_EQ(v.return_code, 0xFF);
  EXPECT_EQ(v.tsize, 0x09);
  EXPECT_BYTES_EQ(v.data, view(hex("4133851fdead")));
  EXPECT_FALSE(v.has_fill);
  ASSERT_TRUE(it.next(v));
  EXPECT_EQ(v.offset, 53U);
  EXPECT_BYTES_EQ(v.data, view(hex("02")));
  EXPECT_TRUE(v.has_fill);
  EXPECT_FALSE(it.next(v));
  // The same data written back.
  EXPECT_WRITES(
      [](writer& w) {
        tis::write_item_count(w, 2);
        tis::write_item_value(w, 0xFF, 0x09, view(hex("4133851fdead")));
        tis::write_item_value(w, 0xFF, 0x09, view(hex("02")));
      },
      fr->data);
}

TEST(tis_items, modify_request_and_its_return_codes) {
  // A modify variable request: one address (MB 10, one byte) and its value (BYTE, 8 bits).
  const byte_vec req =
      hex("0001"
          "01 01 0000 000a"
          "ff 04 0008 7f 00");
  const auto l = tis::parse_item_list(view(req), tis::list_kind::addresses_and_values, nullptr);
  ASSERT_DECODES(l);
  EXPECT_EQ(l->addresses.size(), 6U);
  tis::value_iterator it{l->values, nullptr};
  tis::item_value v;
  ASSERT_TRUE(it.next(v));
  EXPECT_EQ(v.length, 8);
  EXPECT_BYTES_EQ(v.data, view(hex("7f")));
  EXPECT_WRITES(
      [](writer& w) {
        tis::write_item_count(w, 1);
        tis::write_item_address(w, {0x01, 0x01, 0, 10});
        tis::write_item_value(w, 0xFF, 0x04, view(hex("7f")));
      },
      view(req));
  // Its push: one return code and a fill byte.
  const byte_vec ind = hex("0001 ff 00");
  const auto codes = tis::parse_item_list(view(ind), tis::list_kind::return_codes, nullptr);
  ASSERT_DECODES(codes);
  EXPECT_BYTES_EQ(codes->return_codes, view(hex("ff")));
  EXPECT_WRITES([&](writer& w) { tis::write_return_codes(w, codes->return_codes); }, view(ind));
  const byte_vec two = hex("0002 ff 0a");
  const auto even = tis::parse_item_list(view(two), tis::list_kind::return_codes, nullptr);
  ASSERT_DECODES(even);
  EXPECT_WRITES([&](writer& w) { tis::write_return_codes(w, even->return_codes); }, view(two));
}

TEST(tis_items, rejects_counts_the_items_do_not_fill) {
  const byte_vec more = hex("0003 00 02 0106 0000");
  EXPECT_FAILS_WITH(tis::parse_item_list(view(more), tis::list_kind::addresses, nullptr),
                    userdata_bad_item_count, userdata, 0U);
  const byte_vec extra = hex("0001 00 02 0106 0000 00");
  EXPECT_FAILS_WITH(tis::parse_item_list(view(extra), tis::list_kind::addresses, nullptr),
                    userdata_bad_item_count, userdata, 0U);
  const byte_vec short_value = hex("0001 ff 09 0004 0102");
  EXPECT_FAILS_WITH(tis::parse_item_list(view(short_value), tis::list_kind::values, nullptr),
                    data_item_truncated, userdata, 4U);
  const byte_vec error_with_data = hex("0001 0a 00 0008");
  EXPECT_FAILS_WITH(tis::parse_item_list(view(error_with_data), tis::list_kind::values, nullptr),
                    data_error_item_has_data, userdata, 4U);
  const byte_vec bad_fill = hex("0001 ff 09 0001 02 55");
  EXPECT_FAILS_WITH(tis::parse_item_list(view(bad_fill), tis::list_kind::values, nullptr),
                    data_fill_nonzero, userdata, 7U);
}

TEST(tis_jobs, read_job_list_request_and_answer) {
  // readDiagData frame 13 (data 00000000) and frame 14: one job, 0x10 with sequence 3.
  const ud_frame a{
      hex("0300002d02f080320700006606000c0010000112081281100300000000ff09000c"
          "0004 0004"
          "0100 0001"
          "10 03 0000")};
  const auto fr = tis::parse_frame(a.payload, a.origin());
  ASSERT_DECODES(fr);
  const auto n = tis::parse_job_list(fr->data, a.origin());
  ASSERT_DECODES(n);
  EXPECT_EQ(*n, 1U);
  tis::job_entry e;
  ASSERT_TRUE(tis::job_entry_at(fr->data, 0, e));
  EXPECT_EQ(e.function, tis::sub::read_job_list);
  EXPECT_EQ(e.seq, 3);
  EXPECT_FALSE(tis::job_entry_at(fr->data, 1, e));
  EXPECT_WRITES([&](writer& w) { tis::write_job_entry(w, e); }, fr->data);
  const byte_vec odd = hex("10 03 00");
  EXPECT_FAILS_WITH(tis::parse_job_list(view(odd), nullptr), userdata_bad_payload, userdata, 0U);
}

TEST(tis_jobs, job_references_of_enable_and_delete) {
  // readVarTab frame 4: enable job 02 02 (variable status, sequence 2).
  const byte_vec enable = hex("02 02");
  const auto e = tis::parse_job_ref(tis::sub::enable_job, view(enable), nullptr);
  ASSERT_DECODES(e);
  EXPECT_EQ(e->function, tis::sub::variable_status);
  EXPECT_EQ(e->seq, 2);
  EXPECT_WRITES([&](writer& w) { tis::write_job_ref(w, tis::sub::enable_job, *e); }, view(enable));
  // readDiagData frame 673: delete job 0001 13 03 (block status v2, sequence 3).
  const byte_vec del = hex("0001 13 03");
  const auto d = tis::parse_job_ref(tis::sub::delete_job, view(del), nullptr);
  ASSERT_DECODES(d);
  EXPECT_EQ(d->function, tis::sub::block_status_v2);
  EXPECT_EQ(d->reserved.size(), 2U);
  EXPECT_WRITES([&](writer& w) { tis::write_job_ref(w, tis::sub::delete_job, *d); }, view(del));
  EXPECT_FAILS_WITH(tis::parse_job_ref(tis::sub::delete_job, view(enable), nullptr),
                    userdata_bad_payload, userdata, 0U);
  EXPECT_FAILS_WITH(tis::parse_job_ref(tis::sub::variable_status, view(enable), nullptr),
                    userdata_bad_payload, userdata, 0U);
}

TEST(tis_jobs, replace_job_carries_a_whole_job) {
  const byte_vec data =
      hex("0000 02 05"
          "0004 0008"
          "0000 0001"
          "0001 00 02 0001 0000");
  const auto j = tis::parse_replace_job(view(data), nullptr);
  ASSERT_DECODES(j);
  EXPECT_EQ(j->function, tis::sub::variable_status);
  EXPECT_EQ(j->seq, 5);
  EXPECT_EQ(j->job.param_size, 4);
  EXPECT_EQ(j->job.data.size(), 8U);
}

TEST(tis_block_status, request_v2_lines_and_registers) {
  // readDiagData frame 22's data: flags 0, 6 lines, registers STW + ACCU1, then the lines.
  const byte_vec data =
      hex("00 06 00 03"
          "0000 00 01"
          "0002 00 01"
          "0006 00 03"
          "0008 00 02"
          "000a 00 03"
          "000e 00 03");
  const auto b = tis::parse_block_status_request(true, view(data), nullptr);
  ASSERT_DECODES(b);
  EXPECT_EQ(b->line_count, 6);
  EXPECT_EQ(b->registers, 3);
  tis::block_status_line l;
  ASSERT_TRUE(tis::block_status_line_at(*b, 5, l));
  EXPECT_EQ(l.address, 0x0e);
  EXPECT_EQ(l.registers, 3);
  EXPECT_FALSE(tis::block_status_line_at(*b, 6, l));
  EXPECT_WRITES([&](writer& w) { tis::write_block_status_request(w, *b); }, view(data));
  const byte_vec five_lines = hex("00 06 00 03 0000 00 01");
  EXPECT_FAILS_WITH(tis::parse_block_status_request(true, view(five_lines), nullptr),
                    userdata_bad_item_count, userdata, 1U);
  // v1: the line count follows from the size.
  const byte_vec v1 = hex("00 01 00 01 00 03");
  const auto c = tis::parse_block_status_request(false, view(v1), nullptr);
  ASSERT_DECODES(c);
  EXPECT_EQ(c->line_count, 2);
  EXPECT_WRITES([&](writer& w) { tis::write_block_status_request(w, *c); }, view(v1));
}

TEST(tis_block_status, push_starts_with_the_address) {
  // readDiagData frame 28's data (46 bytes): start address 0x0100, then register values.
  const byte_vec data = hex("0100 0001 0000 0007");
  const auto b = tis::parse_block_status_push(view(data), nullptr);
  ASSERT_DECODES(b);
  EXPECT_EQ(b->start_address, 0x0100);
  EXPECT_EQ(b->values.size(), 6U);
  EXPECT_WRITES([&](writer& w) { tis::write_block_status_push(w, *b); }, view(data));
}

}  // namespace
}  // namespace protos7::codec
