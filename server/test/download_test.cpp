// Download as a CPU does it: a client written for the test plays the PG's part of
// s7comm_downloading_block_db1.pcap byte for byte (frames 43, 48, 51, 54, 57, 58; the PDU
// references of its Ack_Data patched to the server's jobs). The server's answers and its own
// jobs must equal the CPU's frames 44, 46, 49, 52, 55 and 59 byte for byte; afterwards DB1 is
// the downloaded block (400 zero bytes), readable and stored as DB1.bin.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "protos7/server/services.hpp"
#include "test_client.hpp"

using namespace p7test;

namespace {

// --- the PG's frames (S7 PDUs, after TPKT + COTP DT) ---
// Frame 7: Setup Communication, AmQ 1/1, PDU 480 (the CPU answers 240, frame 8).
constexpr std::string_view pg_setup = "32010000020000080000f0000001000101e0";
// Frame 43: Request download "_0A00001P", part 2: '1', load memory 000500, MC7 000400.
constexpr std::string_view pg_request_download =
    "320100000e00002000001a00010000000000095f30413030303031500d31303030353030303030343030";
// Frames 48, 51, 54: Ack_Data of Download Block with the 500-byte MC7 block of DB1 (222 + 222 +
// 56 bytes; function status 01 = more, 00 = last). Header bytes 4-5 (the PDU reference) are
// patched to the reference of the server's job.
const std::string pg_block_1 =
    "320300000100000200e200001b0100de00fb70700101050a0001000001f400000000029147602bb5029147602bb500"
    "1c000000000190" +
    std::string(372, '0');
const std::string pg_block_2 =
    "320300000300000200e200001b0100de00fb" + std::string(428, '0') + "0501000c00080011";
constexpr std::string_view pg_block_3 =
    "3203000005000002003c00001b00003800fb0401100c010000c7000504010000010100000052545749000000000054"
    "657374484d49"
    "0044415441444200000100c0df0000000000000000";
// Frame 57: Ack_Data of Download Ended.
constexpr std::string_view pg_ended = "3203000007000001000000001c";
// Frame 58: PI-Service _INSE "0A00001P".
constexpr std::string_view pg_insert =
    "320100000f00001a000028000000000000fd000a01003041303030303150055f494e5345";

// --- the CPU's frames ---
constexpr std::string_view cpu_setup = "320300000200000800000000f0000001000100f0";  // frame 8
constexpr std::string_view cpu_request_ack = "320300000e000001000000001a";          // frame 44
constexpr std::string_view cpu_block_job_1 =
    "320100000100001200001b00000000000000095f3041303030303150";  // 46
constexpr std::string_view cpu_block_job_2 =
    "320100000300001200001b00000000000000095f3041303030303150";  // 49
constexpr std::string_view cpu_block_job_3 =
    "320100000500001200001b00000000000000095f3041303030303150";  // 52
constexpr std::string_view cpu_ended_job =
    "320100000700001200001c00000000000000095f3041303030303150";            // 55
constexpr std::string_view cpu_insert_ack = "320300000f0000010000000028";  // 59

buf with_ref(std::string_view pdu_hex, std::uint16_t ref) {
  buf b = hex(pdu_hex);
  b[4] = static_cast<std::byte>(ref >> 8U);
  b[5] = static_cast<std::byte>(ref & 0xFFU);
  return b;
}

std::uint16_t ref_of(const buf& pdu) {
  return static_cast<std::uint16_t>((u8(pdu[4]) << 8U) | u8(pdu[5]));
}

class download : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = "/tmp/protos7-dl-XXXXXX";
    dir_ = ::mkdtemp(t.data());
    s_.cfg().pdu_size = 240;  // the captured S7-300's PDU size
    s_.cfg().db_bin_dir = dir_;
    s_.start();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // COTP CR of frame 5 (src-ref 0x0007, TPDU 1024, TSAPs 0100 / 0102) + Setup Communication.
  void connect(client& c) {
    const auto cc = c.connect_request(0x0102, 0x0A, 0x0007);
    ASSERT_TRUE(cc);
    c.send_pdu(hex(pg_setup));
    const auto r = c.read_pdu();
    ASSERT_TRUE(r);
    EXPECT_EQ(to_hex(*r), cpu_setup);
  }

  std::string dir_;
  running_server s_;
};

}  // namespace

TEST_F(download, pg_exchange_of_the_capture_is_answered_byte_for_byte_as_the_cpu_did) {
  client c{s_.port()};
  ASSERT_TRUE(c.connected());
  connect(c);

  // Request download -> Ack_Data "1A", then the server's own Download Block job.
  c.send_pdu(hex(pg_request_download));
  auto r = c.read_pdu();
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), cpu_request_ack);
  auto job = c.read_pdu();
  ASSERT_TRUE(job);
  EXPECT_EQ(to_hex(*job), cpu_block_job_1);

  // Three slices of the block; each Ack_Data answers the server's job by its PDU reference.
  c.send_pdu(with_ref(pg_block_1, ref_of(*job)));
  job = c.read_pdu();
  ASSERT_TRUE(job);
  EXPECT_EQ(to_hex(*job), cpu_block_job_2);
  c.send_pdu(with_ref(pg_block_2, ref_of(*job)));
  job = c.read_pdu();
  ASSERT_TRUE(job);
  EXPECT_EQ(to_hex(*job), cpu_block_job_3);
  c.send_pdu(with_ref(pg_block_3, ref_of(*job)));
  // The whole block is there: Download Ended (error code 0).
  job = c.read_pdu();
  ASSERT_TRUE(job);
  EXPECT_EQ(to_hex(*job), cpu_ended_job);
  c.send_pdu(with_ref(pg_ended, ref_of(*job)));

  // Before _INSE the block is passive: DB1 is still the old one (256 bytes of pattern).
  const std::array before{any(0x02, 1, 0x84, 1, 1)};
  auto items =
      read_items(*c.transact(client::job(0x0101, var_param(s7::function::read_var, before))));
  ASSERT_EQ(items.size(), 1U);
  EXPECT_EQ(items[0].rc, 0xFF);
  EXPECT_EQ(items[0].data, buf{std::byte{0x01}});

  // PI-Service _INSE -> Ack_Data "28".
  r = c.transact(hex(pg_insert));
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), cpu_insert_ack);

  // DB1 is now the downloaded DB: 400 bytes of zeros.
  const std::array after{any(0x02, 200, 0x84, 1, 0), any(0x02, 1, 0x84, 1, 399),
                         any(0x02, 1, 0x84, 1, 400)};
  items = read_items(*c.transact(client::job(0x0102, var_param(s7::function::read_var, after))));
  ASSERT_EQ(items.size(), 3U);
  EXPECT_EQ(items[0].rc, 0xFF);
  EXPECT_EQ(items[0].data, buf(200));
  EXPECT_EQ(items[1].rc, 0xFF);
  EXPECT_EQ(items[2].rc, 0x05);  // past the end of the 400-byte DB

  // Stored like any other DB.
  std::ifstream f(dir_ + "/DB1.bin", std::ios::binary);
  ASSERT_TRUE(f);
  const std::vector<char> file((std::istreambuf_iterator<char>(f)),
                               std::istreambuf_iterator<char>());
  EXPECT_EQ(file.size(), 400U);
  EXPECT_TRUE(std::all_of(file.begin(), file.end(), [](char ch) { return ch == 0; }));
}

TEST_F(download, uploaded_block_of_a_downloaded_db_is_the_downloaded_block) {
  client c{s_.port()};
  connect(c);
  c.send_pdu(hex(pg_request_download));
  ASSERT_TRUE(c.read_pdu());
  auto job = c.read_pdu();
  for (const std::string& slice : {pg_block_1, pg_block_2, std::string(pg_block_3)}) {
    ASSERT_TRUE(job);
    c.send_pdu(with_ref(slice, ref_of(*job)));
    job = c.read_pdu();
  }
  ASSERT_TRUE(job);
  c.send_pdu(with_ref(pg_ended, ref_of(*job)));
  ASSERT_TRUE(c.transact(hex(pg_insert)));

  // Start Upload "_0A00001A", Upload until the last slice, End Upload.
  auto r = c.transact(client::job(0x0200, hex("1d 00 0000 00000000 09 5f3041303030303141")));
  ASSERT_TRUE(r);
  auto m = s7::decode(*r);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->p.hdr.error(), 0);
  const std::uint32_t id = m->prm.block.upload_id;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->prm.block.block_length.data()),
                        m->prm.block.block_length.size()),
            "0000500");
  buf block;
  for (int i = 0; i < 10; ++i) {
    buf up = hex("1e 00 0000 00000000");
    up[7] = static_cast<std::byte>(id & 0xFFU);
    r = c.transact(client::job(static_cast<std::uint16_t>(0x0201 + i), up));
    ASSERT_TRUE(r);
    m = s7::decode(*r);
    ASSERT_TRUE(m);
    const auto bd = s7::parse_block_data(m->p.data, nullptr);
    ASSERT_TRUE(bd);
    block.insert(block.end(), bd->payload.begin(), bd->payload.end());
    if ((m->prm.block.status & 1U) == 0) break;
  }
  buf end = hex("1f 00 0000 00000000");
  end[7] = static_cast<std::byte>(id & 0xFFU);
  r = c.transact(client::job(0x0300, end));
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), "3203000003000001000000001f");  // Ack_Data "1F"
  // The block as downloaded: header, 400 data bytes, Step 7's interface, footer.
  const buf expected = [] {
    buf b;
    for (std::string_view part :
         {std::string_view(pg_block_1), std::string_view(pg_block_2), pg_block_3}) {
      const buf pdu = hex(part);
      b.insert(b.end(), pdu.begin() + 18, pdu.end());
    }
    return b;
  }();
  EXPECT_EQ(block.size(), 500U);
  EXPECT_EQ(to_hex(block), to_hex(expected));
}

TEST_F(download, a_truncated_block_is_refused_in_download_ended_and_not_inserted) {
  client c{s_.port()};
  connect(c);
  c.send_pdu(hex(pg_request_download));
  ASSERT_TRUE(c.read_pdu());
  auto job = c.read_pdu();
  ASSERT_TRUE(job);
  // Only the first slice, marked as the last one.
  buf last = with_ref(pg_block_1, ref_of(*job));
  last[13] = std::byte{0x00};
  c.send_pdu(last);
  job = c.read_pdu();
  ASSERT_TRUE(job);
  const auto m = s7::decode(*job);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->prm.fn, 0x1C);
  EXPECT_EQ(m->prm.block.word, protos7::codec::s7::error_code::incorrect_block_lengths);
  c.send_pdu(with_ref(pg_ended, ref_of(*job)));
  // _INSE finds no block.
  const auto r = c.transact(hex(pg_insert));
  ASSERT_TRUE(r);
  const auto a = s7::decode(*r);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->p.hdr.error(), protos7::codec::s7::error_code::blocks_not_found);
}

TEST_F(download, delete_removes_a_db) {
  client c{s_.port()};
  connect(c);
  // _DELE "0A00002P" (DB2 exists in the test server).
  const auto r =
      c.transact(hex("320100000f00001a000028000000000000fd000a01003041303030303250055f44454c45"));
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), cpu_insert_ack);
  const std::array item{any(0x02, 1, 0x84, 2, 0)};
  const auto items =
      read_items(*c.transact(client::job(0x0400, var_param(s7::function::read_var, item))));
  ASSERT_EQ(items.size(), 1U);
  EXPECT_EQ(items[0].rc, 0x0A);
  // A second _DELE: the block is not there any more.
  const auto again =
      c.transact(hex("320100001000001a000028000000000000fd000a01003041303030303250055f44454c45"));
  ASSERT_TRUE(again);
  EXPECT_EQ(s7::decode(*again)->p.hdr.error(), protos7::codec::s7::error_code::blocks_not_found);
}

// Issue #16: with its load memory full the CPU refuses the download at once (0x8301).
TEST(download_limits, request_download_beyond_the_load_memory_is_refused_with_0x8301) {
  running_server s;
  auto p = std::make_shared<protos7::server::plc_profile>(protos7::server::bundled_profile());
  // The test server's DBs 1, 2, 3 (256 + 64 + 65536 bytes + 72 each) and 100 bytes more: the
  // announced 500-byte block does not fit.
  p->mem_limits.load_memory = 3 * 72 + 256 + 64 + 65536 + 100;
  s.cfg().profile = p;
  s.cfg().pdu_size = 240;
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.connect_request(0x0102, 0x0A, 0x0007));
  c.send_pdu(hex(pg_setup));
  ASSERT_TRUE(c.read_pdu());
  c.send_pdu(hex(pg_request_download));
  const auto r = c.read_pdu();
  ASSERT_TRUE(r);
  const auto m = s7::decode(*r);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.error(), 0x8301);
  EXPECT_FALSE(c.read_pdu(300)) << "the server started the transfer anyway";
}
