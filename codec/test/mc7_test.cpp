// MC7 block files, against the DB1 that Step 7 downloads in s7comm_downloading_block_db1.pcap
// (frames 48, 51, 54 carry the 500-byte file; the header, interface and footer bytes below are
// the captured ones, the code part is 400 zero bytes as captured).
#include "protos7/codec/mc7.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace protos7::codec::test {
namespace {

byte_vec captured_db1() {
  return concat(
      {view(hex("7070 01 01 05 0A 0001"      // pp, version, attributes, DB language, DB, number
                "000001F4"                   // load memory length 500
                "00000000"                   // security
                "029147602BB5 029147602BB5"  // code time, interface time
                "001C 0000 0000 0190")),     // SBB 28, ADD 0, local data 0, MC7 400
       view(byte_vec(400)),                  // the DB's 400 data bytes
       view(hex("05 0100 0C00 0800 11 04 01 10 0C 01 0000 C700 05 04 01 00 00 01 01 00 00 00 52")),
       view(hex("5457490000000000"   // author "TWI"
                "54657374484D4900"   // family "TestHMI"
                "44415441444200 00"  // name "DATADB"
                "01 00 C0DF"         // version 0.1, unknown, checksum
                "0000000000000000"))});
}

TEST(mc7_decode, reads_the_captured_db1) {
  const byte_vec f = captured_db1();
  ASSERT_EQ(f.size(), 500U);
  const auto b = mc7::decode(view(f));
  ASSERT_DECODES(b);
  EXPECT_EQ(b->hdr.block_type, 0x0A);
  EXPECT_EQ(b->hdr.language, 5);
  EXPECT_EQ(b->hdr.number, 1);
  EXPECT_EQ(b->hdr.load_memory_length, 500U);
  EXPECT_EQ(b->hdr.code_time, (mc7::block_time{0x02914760, 0x2BB5}));
  EXPECT_EQ(b->hdr.sbb_length, 28);
  EXPECT_EQ(b->hdr.mc7_length, 400);
  EXPECT_EQ(b->code.size(), 400U);
  EXPECT_EQ(b->code.data(), f.data() + 36);  // views into the input
  EXPECT_EQ(b->sbb.size(), 28U);
  EXPECT_EQ(std::string(b->foot.author.data(), 3), "TWI");
  EXPECT_EQ(std::string(b->foot.name.data(), 6), "DATADB");
  EXPECT_EQ(b->foot.checksum, 0xC0DF);
}

TEST(mc7_encode, round_trips_the_captured_db1) {
  const byte_vec f = captured_db1();
  const auto b = mc7::decode(view(f));
  ASSERT_DECODES(b);
  EXPECT_WRITES([&](writer& w) { mc7::encode(w, b->hdr, b->code, b->sbb, b->add, b->foot); },
                view(f));
}

TEST(mc7_encode, pads_and_cuts_the_parts_to_the_header_lengths_and_computes_the_load_length) {
  mc7::header h;
  h.block_type = 0x0A;
  h.number = 7;
  h.mc7_length = 4;
  h.sbb_length = 2;
  h.load_memory_length = 12345;  // ignored: the encoder writes the real size
  byte_vec out(mc7::file_size(h));
  writer w{out};
  mc7::encode(w, h, view(hex("01 02")), view(hex("AA BB CC")), {}, mc7::footer{});
  ASSERT_TRUE(w.finish().ok());
  const auto b = mc7::decode(view(out));
  ASSERT_DECODES(b);
  EXPECT_EQ(b->hdr.load_memory_length, 78U);
  EXPECT_TRUE(same_bytes(b->code, view(hex("01 02 00 00"))));
  EXPECT_TRUE(same_bytes(b->sbb, view(hex("AA BB"))));
}

TEST(mc7_decode, checks_every_redundant_length) {
  byte_vec f = captured_db1();
  EXPECT_FAILS_WITH(mc7::decode(view(f).first(71)), truncated, mc7, 0);
  f[0] = std::byte{0x71};
  EXPECT_FAILS_WITH(mc7::decode(view(f)), mc7_bad_magic, mc7, 0);
  f = captured_db1();
  f[11] = std::byte{0xF5};  // load memory length 501
  EXPECT_FAILS_WITH(mc7::decode(view(f)), mc7_load_length_mismatch, mc7, 8);
  f = captured_db1();
  f[29] = std::byte{0x1D};  // SBB 29: the parts no longer add up to 500
  EXPECT_FAILS_WITH(mc7::decode(view(f)), mc7_parts_mismatch, mc7, 28);
}

TEST(mc7_db_interface, encodes_struct_of_byte_array_as_step7_does) {
  EXPECT_WRITES([](writer& w) { mc7::write_db_interface(w, 1, 400); },
                view(hex("05 0100 0C00 0000 11 04 01 10 04 01 0000 8F01 02 04 00")));
  // Above 32 KiB the INT bounds start at -32768.
  EXPECT_WRITES([](writer& w) { mc7::write_db_interface(w, 2, 65536); },
                view(hex("05 0200 0C00 0000 11 04 01 10 04 01 0080 FF7F 02 04 00")));
  byte_vec out(mc7::db_interface_length);
  writer w{out};
  mc7::write_db_interface(w, 9, 1);
  EXPECT_EQ(*w.finish(), mc7::db_interface_length);
}

}  // namespace
}  // namespace protos7::codec::test
