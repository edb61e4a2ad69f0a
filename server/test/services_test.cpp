// CPU services over real sockets: SZL (static, computed, fragmented, errors), clock, operating
// mode, block functions, upload, protection and password, and the CPU's error for everything
// else. Expected bytes come from the Wireshark sample captures where the CPU answered the same.
#include "protos7/server/services.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "protos7/server/profile.hpp"
#include "test_client.hpp"

using namespace p7test;
namespace ud = protos7::codec::s7::ud;
namespace srv = protos7::server;

namespace {

// Userdata request: 8-byte parameter (method 0x11, type request), data FF 09 len payload, or
// 0A 00 0000 without payload.
buf ud_request(std::uint16_t ref, std::uint8_t group, std::uint8_t sub,
               std::string_view payload_hex, std::uint8_t seq = 0) {
  const buf payload = hex(payload_hex);
  buf prm = hex("00011204 11 00 00 00");
  prm[5] = std::byte{static_cast<std::uint8_t>(0x40U | group)};
  prm[6] = std::byte{sub};
  prm[7] = std::byte{seq};
  buf data;
  if (payload.empty() && payload_hex != "ff0900") {
    data = hex("0a000000");
  } else {
    data = {std::byte{0xFF}, std::byte{0x09}, std::byte(payload.size() >> 8U),
            std::byte(payload.size() & 0xFFU)};
    data.insert(data.end(), payload.begin(), payload.end());
  }
  buf out(10 + prm.size() + data.size() + 8);
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = ref;
  out.resize(*s7::encode(h, prm, data, out));
  return out;
}

// The "next" request of a fragmented answer (snap7 opReadSZL, frame 19 of the status capture).
buf ud_next(std::uint16_t ref, std::uint8_t group, std::uint8_t sub, std::uint8_t seq) {
  buf prm = hex("00011208 12 00 00 00 00000000");
  prm[5] = std::byte{static_cast<std::uint8_t>(0x40U | group)};
  prm[6] = std::byte{sub};
  prm[7] = std::byte{seq};
  const buf data = hex("0a000000");
  buf out(40);
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = ref;
  out.resize(*s7::encode(h, prm, data, out));
  return out;
}

struct ud_answer {
  std::uint16_t error = 0;
  std::uint8_t seq = 0, dur = 0;
  bool more = false;
  std::uint8_t rc = 0;
  buf payload;
};

std::optional<ud_answer> ud_transact(client& c, const buf& req) {
  const auto r = c.transact(req);
  if (!r) return std::nullopt;
  const auto m = s7::decode(*r);
  if (!m || m->p.hdr.type != s7::rosctr::userdata) return std::nullopt;
  ud_answer a;
  a.error = m->ud.prm.error_code;
  a.seq = m->ud.prm.seq;
  a.dur = m->ud.prm.data_unit_ref;
  a.more = m->ud.prm.last_data_unit != 0;
  a.rc = m->ud.data.return_code;
  a.payload.assign(m->ud.data.payload.begin(), m->ud.data.payload.end());
  return a;
}

std::string szl_req(std::uint16_t id, std::uint16_t index) {
  return fmt::format("{:04x}{:04x}", id, index);
}

// Reads a whole SZL answer, following continuations.
std::optional<buf> read_szl(client& c, std::uint16_t id, std::uint16_t index,
                            std::uint16_t* error = nullptr) {
  auto a = ud_transact(c, ud_request(0x100, 4, 1, szl_req(id, index)));
  if (!a) return std::nullopt;
  if (error != nullptr) *error = a->error;
  if (a->error != 0) return std::nullopt;
  buf all = a->payload;
  for (int i = 0; a->more && i < 100; ++i) {
    a = ud_transact(c, ud_next(static_cast<std::uint16_t>(0x101 + i), 4, 1, a->seq));
    if (!a || a->error != 0) return std::nullopt;
    all.insert(all.end(), a->payload.begin(), a->payload.end());
  }
  return all;
}

std::uint16_t w16(const buf& b, std::size_t at) {
  return static_cast<std::uint16_t>((u8(b[at]) << 8U) | u8(b[at + 1]));
}

std::string text(const buf& b, std::size_t at, std::size_t n) {
  std::string s;
  for (std::size_t i = at; i < at + n && i < b.size() && b[i] != std::byte{0}; ++i)
    s += static_cast<char>(b[i]);
  return s;
}

class services : public ::testing::Test {
 protected:
  void start(std::uint16_t pdu = 480, std::shared_ptr<const srv::plc_profile> profile = nullptr) {
    s_.cfg().pdu_size = pdu;
    s_.cfg().profile = std::move(profile);
    s_.start();
    c_ = std::make_unique<client>(s_.port());
    ASSERT_TRUE(c_->open(pdu));
  }
  running_server s_;
  std::unique_ptr<client> c_;
};

}  // namespace

// --- SZL ---------------------------------------------------------------------------------------

TEST_F(services, szl_0011_carries_the_order_number_and_firmware_of_the_profile) {
  start();
  const auto r = read_szl(*c_, 0x0011, 0x0000);
  ASSERT_TRUE(r);
  EXPECT_EQ(w16(*r, 0), 0x0011);
  EXPECT_EQ(w16(*r, 4), 28);  // LENTHDR
  ASSERT_EQ(w16(*r, 6), 4);   // index 1, 6, 7, 0x81 as the captured CPU (frame 59)
  EXPECT_EQ(text(*r, 8 + 2, 20), "6ES7 151-8AB01-0AB0 ");
  EXPECT_EQ(w16(*r, 8 + 28 * 2), 7);
  EXPECT_EQ(to_hex(buf(r->begin() + 8 + 28 * 2 + 24, r->begin() + 8 + 28 * 3)),
            "56030206");  // V3.2.6
}

TEST_F(services, szl_0011_ignores_the_index_as_nmap_expects) {
  // nmap's s7-info reads ID 0x0011 index 1 and needs all records (>= 125 bytes of response).
  start();
  const auto r = read_szl(*c_, 0x0011, 0x0001);
  ASSERT_TRUE(r);
  EXPECT_EQ(w16(*r, 2), 0x0001);
  EXPECT_EQ(w16(*r, 6), 4);
}

TEST_F(services, szl_0111_selects_one_record_and_0f11_is_the_header) {
  start();
  auto r = read_szl(*c_, 0x0111, 0x0001);
  ASSERT_TRUE(r);
  // Frame 20 of the blocklist capture: 0111 0001 001C 0001 0001 "6ES7 151-8AB01-0AB0 " 00C0 0003
  // 0001.
  EXPECT_EQ(to_hex(*r), "01110001001c0001000136455337203135312d38414230312d304142302000c000030001");
  r = read_szl(*c_, 0x0F11, 0x0000);
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), "0f110000001c0004");  // frame 56 of the status capture
}

TEST_F(services, static_records_are_answered_as_the_captured_cpu_did) {
  start();
  // s7comm_reading_plc_status.pcap frame 27 (0x0131 index 2) and frame 78 (0x0074).
  auto r = read_szl(*c_, 0x0131, 0x0002);
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r),
            "01310002002800010002befd4f0000000000080000003c01080000007d000005030f00000800000c000a00"
            "0000010000");
  r = read_szl(*c_, 0x0074, 0x0000);
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), "007400000004000700010100000401000005000000060000000b0101000c000000150000");
  r = read_szl(*c_, 0x0174,
               0x0006);  // derived from 0x0074 (frame 90: 0174 0006 0004 0001 0006 0000)
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r),
            "01740006000400010006"
            "0000");
  r = read_szl(*c_, 0x0F3A, 0x0000);  // header-only entry (frame 218)
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), "0f3a000000940008");
}

TEST_F(services, szl_001c_is_the_identity_and_goes_out_in_continuation_telegrams_at_pdu_240) {
  start(240);
  auto first = ud_transact(*c_, ud_request(0x100, 4, 1, szl_req(0x001C, 0)));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->error, 0);
  EXPECT_TRUE(first->more);
  EXPECT_NE(first->dur, 0);
  EXPECT_EQ(first->payload.size(), 214U);  // a full PDU, as the CPU's frame 69
  const auto next = ud_transact(*c_, ud_next(0x101, 4, 1, first->seq));
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->more);
  EXPECT_EQ(next->dur, first->dur);
  buf all = first->payload;
  all.insert(all.end(), next->payload.begin(), next->payload.end());
  ASSERT_EQ(all.size(), 8U + 34U * 10U);
  EXPECT_EQ(text(all, 8 + 2, 32), "protos7");
  EXPECT_EQ(text(all, 8 + 34 + 2, 32), "protos7 S7-300 simulator");
  EXPECT_EQ(text(all, 8 + 34 * 3 + 2, 32), "protos7 PLC simulator");
  EXPECT_EQ(text(all, 8 + 34 * 4 + 2, 32), "S P7-SIM00000001");
  // A "next" request without an unfinished answer is the CPU's error.
  const auto stray = ud_transact(*c_, ud_next(0x102, 4, 1, first->seq));
  ASSERT_TRUE(stray);
  EXPECT_EQ(stray->error, 0xD402);
}

TEST_F(services, identity_comes_from_the_profile_with_overrides) {
  auto p = std::make_shared<srv::plc_profile>(srv::bundled_profile());
  srv::identity_overrides o;
  o.module_name = "Line 4 press";
  o.serial_number = "S C-TEST0001";
  o.order_number = "6ES7 315-2EH14-0AB0";
  srv::apply_overrides(*p, o);
  start(480, p);
  const auto r = read_szl(*c_, 0x011C, 0x0005);
  ASSERT_TRUE(r);
  EXPECT_EQ(text(*r, 8 + 2, 32), "S C-TEST0001");
  const auto m = read_szl(*c_, 0x011C, 0x0002);
  ASSERT_TRUE(m);
  EXPECT_EQ(text(*m, 8 + 2, 32), "Line 4 press");
  const auto o11 = read_szl(*c_, 0x0111, 0x0006);
  ASSERT_TRUE(o11);
  EXPECT_EQ(text(*o11, 8 + 2, 20), "6ES7 315-2EH14-0AB0 ");
}

TEST_F(services, szl_0000_lists_what_exists) {
  start(240);
  const auto r = read_szl(*c_, 0x0000, 0x0000);
  ASSERT_TRUE(r);
  EXPECT_EQ(w16(*r, 4), 2);
  std::vector<std::uint16_t> ids;
  for (std::size_t i = 8; i + 1 < r->size(); i += 2) ids.push_back(w16(*r, i));
  EXPECT_EQ(ids.size(), w16(*r, 6));
  for (int want : {0x0000, 0x0011, 0x0111, 0x0F11, 0x001C, 0x011C, 0x0131, 0x0132, 0x0232, 0x0424,
                   0x0074, 0x0174, 0x00A0})
    EXPECT_NE(std::find(ids.begin(), ids.end(), static_cast<std::uint16_t>(want)), ids.end())
        << std::hex << want;
  // Every listed ID answers (header-only lists included).
  for (std::uint16_t id : ids) {
    if ((id & 0x0F00U) == 0x0100U || (id & 0xFF00U) == 0x0200U) continue;  // need an index
    EXPECT_TRUE(read_szl(*c_, id, 0)) << std::hex << id;
  }
}

TEST_F(services, unknown_szl_id_or_index_gets_d402) {
  start();
  std::uint16_t err = 0;
  EXPECT_FALSE(read_szl(*c_, 0x0C91, 0x7FFF, &err));  // the captured CPU's case (frame 42)
  EXPECT_EQ(err, 0xD402);
  EXPECT_FALSE(read_szl(*c_, 0x0111, 0x00FF, &err));
  EXPECT_EQ(err, 0xD402);
  EXPECT_FALSE(read_szl(*c_, 0x8011, 0x0000, &err));
  EXPECT_EQ(err, 0xD402);
  const auto a = ud_transact(*c_, ud_request(0x100, 4, 1, szl_req(0x0C91, 0x7FFF)));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rc, 0x0A);  // data 0A 00 0000
  EXPECT_TRUE(a->payload.empty());
  // The connection goes on.
  EXPECT_TRUE(read_szl(*c_, 0x0011, 0));
}

TEST_F(services, szl_0131_and_0132_carry_the_real_pdu_size_and_connections) {
  start(240);
  client other{s_.port()};
  ASSERT_TRUE(other.open());
  auto r = read_szl(*c_, 0x0131, 0x0001);
  ASSERT_TRUE(r);
  EXPECT_EQ(w16(*r, 8 + 2), 240);
  EXPECT_EQ(w16(*r, 8 + 4), s_.cfg().max_connections);
  r = read_szl(*c_, 0x0132, 0x0001);
  ASSERT_TRUE(r);
  EXPECT_EQ(w16(*r, 8 + 6), 2);  // two PG connections
}

// --- operating mode ----------------------------------------------------------------------------

TEST_F(services, stop_and_start_show_in_szl_0424) {
  start();
  auto mode = [&] {
    const auto r = read_szl(*c_, 0x0424, 0);
    return r ? u8((*r)[8 + 3]) : 0;
  };
  EXPECT_EQ(mode(), 0x08);
  // One record whatever the index: index 4 is answered as index 0 (tia_s300_goOnline frame 6).
  const auto idx4 = read_szl(*c_, 0x0424, 4);
  ASSERT_TRUE(idx4);
  EXPECT_EQ(w16(*idx4, 0), 0x0424);
  EXPECT_EQ(w16(*idx4, 2), 0);
  EXPECT_EQ(u8((*idx4)[8 + 3]), 0x08);
  const buf stop = hex("29 0000000000 09 505f50524f4752414d");
  auto r = c_->transact(client::job(0x10, stop));
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), "32030000001000010000000029");
  EXPECT_EQ(mode(), 0x04);
  EXPECT_EQ(s_.srv().plc().mode(), srv::operating_mode::stop);
  // Stop in STOP: error, function status 07 (snap7: "already in STOP").
  r = c_->transact(client::job(0x11, stop));
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), "32030000001100020000d0ad2907");
  // Hot start (snap7: empty parameter block) and cold start ("C ").
  const buf hot = hex("28 0000000000 00fd 0000 09 505f50524f4752414d");
  r = c_->transact(client::job(0x12, hot));
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), "32030000001200010000000028");
  EXPECT_EQ(mode(), 0x08);
  const buf cold = hex("28 0000000000 00fd 0002 4320 09 505f50524f4752414d");
  r = c_->transact(client::job(0x13, cold));
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), "32030000001300020000d0ad2803");  // already RUN
  EXPECT_EQ(s_.srv().plc().mode_changes(), 2U);
}

TEST_F(services, copy_ram_to_rom_and_compress_are_acknowledged) {
  start();
  auto r = c_->transact(client::job(0x20, hex("28 0000000000 00fd 0002 4550 05 5f4d4f4455")));
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), "32030000002000010000000028");
  r = c_->transact(client::job(0x21, hex("28 0000000000 00fd 0000 05 5f47415242")));
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), "32030000002100010000000028");
  EXPECT_EQ(s_.srv().plc().ram_to_rom_count(), 1U);
  EXPECT_EQ(s_.srv().plc().compress_count(), 1U);
}

// --- clock -------------------------------------------------------------------------------------

TEST_F(services, a_set_clock_reads_back_as_set) {
  start();
  // Set 2014-08-20 11:59:33.040 as the PG did (clock capture frame 43, weekday 0).
  auto a = ud_transact(*c_, ud_request(0x30, 7, 2, "00191408201159330400"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, 0);
  EXPECT_EQ(a->rc, 0x0A);  // answer data 0A 00 0000 (frame 44)
  a = ud_transact(*c_, ud_request(0x31, 7, 1, ""));
  ASSERT_TRUE(a);
  ASSERT_EQ(a->payload.size(), 10U);
  // 00 19 14 08 20 11 59 33 0x x4: same second (the clock runs on), Wednesday = 4.
  EXPECT_EQ(to_hex(buf(a->payload.begin(), a->payload.begin() + 8)), "0019140820115933");
  EXPECT_EQ(u8(a->payload[9]) & 0x0FU, 4);
  // An impossible date is refused with 0xDC01.
  a = ud_transact(*c_, ud_request(0x32, 7, 2, "00191402301159330400"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, 0xDC01);
}

// --- blocks ------------------------------------------------------------------------------------

TEST_F(services, list_blocks_counts_profile_blocks_and_storage_dbs) {
  start();
  const auto a = ud_transact(*c_, ud_request(0x40, 3, 1, ""));
  ASSERT_TRUE(a);
  // OB 3 (OB1, OB35, OB100), FB 2, FC 3 (the sample program of the bundled profile), DB 3 (the
  // test server's DB1..3), SDB 12, SFC 71, SFB 14.
  EXPECT_EQ(to_hex(a->payload),
            "3038000330450002304300033041000330420"
            "00c304400473046000e");
}

TEST_F(services, list_blocks_of_type_continues_as_the_cpu_does) {
  start(240);
  auto a = ud_transact(*c_, ud_request(0x41, 3, 2, "3044"));  // "0D" = SFC
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, 0);
  EXPECT_TRUE(a->more);
  EXPECT_EQ(a->payload.size(), 208U);  // 52 entries, as frame 96 of the blocklist capture
  EXPECT_EQ(to_hex(buf(a->payload.begin(), a->payload.begin() + 8)), "0000420100014201");
  const auto b = ud_transact(*c_, ud_next(0x42, 3, 2, a->seq));
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->more);
  EXPECT_EQ(b->payload.size(), 76U);  // 19 entries (frame 99)
  // The sample program's FCs: FC1, FC2 (AWL), FC3 (KOP), flags 0x22.
  const auto fc = ud_transact(*c_, ud_request(0x43, 3, 2, "3043"));
  ASSERT_TRUE(fc);
  EXPECT_EQ(fc->error, 0);
  EXPECT_EQ(to_hex(fc->payload), "000122010002220100032202");
  // DBs from storage, flags 0x22 language 5 (frame 78 of the download capture: 0001 22 05).
  const auto db = ud_transact(*c_, ud_request(0x44, 3, 2, "3041"));
  ASSERT_TRUE(db);
  EXPECT_EQ(to_hex(db->payload), "000122050002220500032205");
}

TEST_F(services, block_info_of_a_profile_block_is_the_captured_answer) {
  start();
  const auto a = ud_transact(*c_, ud_request(0x50, 3, 3, "3044303030303042"));  // SFC 0, "B"
  ASSERT_TRUE(a);
  // s7comm_program_blocklist_onlineview.pcap frame 134.
  EXPECT_EQ(to_hex(a->payload),
            "0100004a423070700109010d00000000005a0000000002c1aac80f7602c1aac80f76000c00040000000253"
            "494d415449430043"
            "4c4b5f46554e435345545f434c4b001000c5a00000000000000000");
  EXPECT_EQ(a->seq, 0);
}

TEST_F(services, block_info_of_a_storage_db_and_of_a_missing_block) {
  start();
  auto a = ud_transact(*c_, ud_request(0x51, 3, 3, "3041303030303141"));  // DB 1, "A" (snap7)
  ASSERT_TRUE(a);
  ASSERT_EQ(a->payload.size(), 78U);
  EXPECT_EQ(u8(a->payload[11]), 0x0A);  // sub block type DB
  EXPECT_EQ(w16(a->payload, 12), 1);    // number
  EXPECT_EQ(u8(a->payload[10]), 5);     // language DB
  EXPECT_EQ(w16(a->payload, 40), 256);  // MC7 length = DB size
  EXPECT_EQ(w16(a->payload, 34), 20);   // interface (SBB) length
  // The CPU's error for a missing block: 0xD209 (frames 38 and 44 of the captures).
  a = ud_transact(*c_, ud_request(0x52, 3, 3, "3042333237363842"));  // SDB 32768
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, 0xD209);
  EXPECT_EQ(a->rc, 0x0A);
}

TEST_F(services, upload_of_a_storage_db_is_an_mc7_block_with_its_contents) {
  start(240);
  auto r = c_->transact(
      client::job(0x60, hex("1d 00 0000 00000000 09 5f3041303030303141")));  // "_0A00001A"
  ASSERT_TRUE(r);
  auto m = s7::decode(*r);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->p.hdr.error(), 0);
  EXPECT_EQ(m->prm.block.status, 0);
  const std::uint32_t id = m->prm.block.upload_id;
  buf block;
  for (int i = 0; i < 10; ++i) {
    buf up = hex("1e 00 0000 00000000");
    up[7] = static_cast<std::byte>(id & 0xFFU);
    r = c_->transact(client::job(static_cast<std::uint16_t>(0x61 + i), up));
    ASSERT_TRUE(r);
    m = s7::decode(*r);
    ASSERT_TRUE(m);
    const auto bd = s7::parse_block_data(m->p.data, nullptr);
    ASSERT_TRUE(bd);
    EXPECT_LE(r->size(), 240U);
    block.insert(block.end(), bd->payload.begin(), bd->payload.end());
    if ((m->prm.block.status & 1U) == 0) break;
  }
  buf end = hex("1f 00 0000 00000000");
  end[7] = static_cast<std::byte>(id & 0xFFU);
  ASSERT_TRUE(c_->transact(client::job(0x70, end)));
  ASSERT_EQ(block.size(), 36U + 256U + 20U + 36U);
  EXPECT_EQ(to_hex(buf(block.begin(), block.begin() + 8)), "70700101050a0001");
  for (std::size_t i = 0; i < 256; ++i) ASSERT_EQ(u8(block[36 + i]), i & 0xFFU);  // the DB's bytes
  srv::block_meta meta;
  std::string why;
  EXPECT_TRUE(srv::mc7_header_to_meta(block, meta, why)) << why;
  // A missing block: 0xD209, and an unknown upload id: 0x8401.
  r = c_->transact(client::job(0x71, hex("1d 00 0000 00000000 09 5f3041303030393941")));
  ASSERT_TRUE(r);
  EXPECT_EQ(s7::decode(*r)->p.hdr.error(), 0xD209);
  r = c_->transact(client::job(0x72, hex("1e 00 0000 000000ee")));
  ASSERT_TRUE(r);
  EXPECT_EQ(s7::decode(*r)->p.hdr.error(), 0x8401);
}

TEST_F(services, start_upload_answers_as_the_captured_s300_and_refuses_ob_numbers_without_class) {
  // snap7_s300_everything.pcapng frames 18, 26, 32, 38: | 1D | 00 | 01 00 | id 7 | "0000216" |
  // for each of four uploads one after the other; frame 44: OB 0 refused with an Ack, 0xD20C.
  start(240);
  const buf db1 = hex("1d 00 0000 00000000 09 5f3041303030303141");  // "_0A00001A"
  for (std::uint16_t round = 0; round < 2; ++round) {
    const auto r = c_->transact(client::job(static_cast<std::uint16_t>(0x80 + round), db1));
    ASSERT_TRUE(r);
    const auto m = s7::decode(*r);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->prm.block.word, 0x0100);
    EXPECT_EQ(m->prm.block.upload_id, 7U) << "round " << round;
    buf end = hex("1f 00 0000 00000007");
    ASSERT_TRUE(c_->transact(client::job(static_cast<std::uint16_t>(0x90 + round), end)));
  }
  // Two uploads in progress hold 7 and 8.
  auto a = c_->transact(client::job(0xA0, db1));
  auto b = c_->transact(client::job(0xA1, db1));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(s7::decode(*a)->prm.block.upload_id, 7U);
  EXPECT_EQ(s7::decode(*b)->prm.block.upload_id, 8U);
  const auto ob0 =
      c_->transact(client::job(0xA2, hex("1d 00 0000 00000000 09 5f3038303030303041")));
  ASSERT_TRUE(ob0);
  const auto m = s7::decode(*ob0);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.type, s7::rosctr::ack);
  EXPECT_EQ(m->p.hdr.error(), 0xD20C);
  const auto ob99 =
      c_->transact(client::job(0xA3, hex("1d 00 0000 00000000 09 5f3038303030393941")));
  ASSERT_TRUE(ob99);
  EXPECT_EQ(s7::decode(*ob99)->p.hdr.error(), 0xD20C);
}

// Every block of the bundled profile's CPU, as a client sees it: List blocks counts = entries of
// List blocks of type = Get block info answers = uploads (issue #13).

namespace {

// "08" for OB ... "0F" for SFB: the ASCII block type of block functions and file names.
std::string type_ascii_hex(std::uint8_t type) {
  return fmt::format("30{:02x}", type < 0x0A ? 0x30 + type : 0x41 + type - 0x0A);
}

std::string ascii_hex(std::string_view s) {
  std::string out;
  for (const char ch : s) out += fmt::format("{:02x}", static_cast<unsigned char>(ch));
  return out;
}

// The entries (number, flags, language) of List blocks of type, continuations followed.
std::optional<buf> list_of_type(client& c, std::uint8_t type, std::uint16_t* error) {
  auto a = ud_transact(c, ud_request(0x200, 3, 2, type_ascii_hex(type)));
  if (!a) return std::nullopt;
  *error = a->error;
  buf all = a->payload;
  for (int i = 0; a->more && i < 100; ++i) {
    a = ud_transact(c, ud_next(static_cast<std::uint16_t>(0x201 + i), 3, 2, a->seq));
    if (!a || a->error != 0) return std::nullopt;
    all.insert(all.end(), a->payload.begin(), a->payload.end());
  }
  return all;
}

// Start upload, upload until the last data unit, end upload: the block file, or the error of
// Start upload.
std::optional<buf> upload(client& c, std::uint8_t type, std::uint16_t number,
                          std::uint16_t* error) {
  const std::string name = fmt::format("{:05}A", number);
  auto r = c.transact(client::job(
      0x300, hex("1d 00 0000 00000000 09 5f" + type_ascii_hex(type) + ascii_hex(name))));
  if (!r) return std::nullopt;
  auto m = s7::decode(*r);
  if (!m) return std::nullopt;
  *error = m->p.hdr.error();
  if (*error != 0) return buf{};
  const std::uint32_t id = m->prm.block.upload_id;
  buf block;
  for (int i = 0; i < 1000; ++i) {
    buf up = hex("1e 00 0000 00000000");
    up[7] = static_cast<std::byte>(id & 0xFFU);
    r = c.transact(client::job(static_cast<std::uint16_t>(0x301 + i), up));
    if (!r) return std::nullopt;
    m = s7::decode(*r);
    if (!m) return std::nullopt;
    const auto bd = s7::parse_block_data(m->p.data, nullptr);
    if (!bd) return std::nullopt;
    block.insert(block.end(), bd->payload.begin(), bd->payload.end());
    if ((m->prm.block.status & 1U) == 0) break;
  }
  buf end = hex("1f 00 0000 00000000");
  end[7] = static_cast<std::byte>(id & 0xFFU);
  if (!c.transact(client::job(0x3F0, end))) return std::nullopt;
  return block;
}

std::uint32_t w32(const buf& b, std::size_t at) {
  return (std::uint32_t{w16(b, at)} << 16U) | w16(b, at + 2);
}

}  // namespace

TEST_F(services, every_listed_block_has_its_info_and_uploads) {
  start(240);
  const auto counts = ud_transact(*c_, ud_request(0x80, 3, 1, ""));
  ASSERT_TRUE(counts);
  ASSERT_EQ(counts->payload.size(), 28U);
  std::size_t total = 0;
  for (std::size_t i = 0; i < 7; ++i) {
    const unsigned digit = u8(counts->payload[4 * i + 1]);  // "08" .. "0F": the type's hex digit
    const auto t = static_cast<std::uint8_t>(digit >= 0x41 ? digit - 0x41 + 0x0A : digit - 0x30);
    const std::uint16_t count = w16(counts->payload, 4 * i + 2);
    SCOPED_TRACE(fmt::format("{} ({} blocks)", srv::block_type_name(t), count));
    EXPECT_GT(count, 0U);  // a CPU with a program: every type is there
    std::uint16_t error = 0;
    const auto list = list_of_type(*c_, t, &error);
    ASSERT_TRUE(list);
    ASSERT_EQ(error, 0);
    ASSERT_EQ(list->size(), 4U * count);
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint16_t n = w16(*list, 4 * k);
      SCOPED_TRACE(fmt::format("{} {}", srv::block_type_name(t), n));
      const auto bi = ud_transact(
          *c_, ud_request(0x90, 3, 3, type_ascii_hex(t) + ascii_hex(fmt::format("{:05}A", n))));
      ASSERT_TRUE(bi);
      ASSERT_EQ(bi->error, 0);
      ASSERT_EQ(bi->payload.size(), 78U);
      EXPECT_EQ(u8(bi->payload[11]), t);                       // sub block type
      EXPECT_EQ(w16(bi->payload, 12), n);                      // number
      EXPECT_EQ(u8(bi->payload[10]), u8((*list)[4 * k + 3]));  // language as listed
      const auto file = upload(*c_, t, n, &error);
      ASSERT_TRUE(file);
      ASSERT_EQ(error, 0);
      srv::block_meta meta;
      std::string why;
      ASSERT_TRUE(srv::mc7_header_to_meta(*file, meta, why)) << why;
      EXPECT_EQ(meta.type, t);
      EXPECT_EQ(meta.number, n);
      EXPECT_EQ(meta.load_memory_length, file->size());
      EXPECT_EQ(w32(bi->payload, 14), file->size());     // info: load memory length
      EXPECT_EQ(w16(bi->payload, 40), meta.mc7_length);  // info: MC7 code length
      ++total;
    }
  }
  EXPECT_EQ(total, 3U + 2 + 3 + 3 + 12 + 71 + 14);
}

TEST_F(services, the_sample_programs_blocks_carry_their_names_and_shape) {
  start();
  struct want {
    std::uint8_t type;
    std::uint16_t number;
    const char* name;
    std::uint32_t load_memory;
  };
  // OB1's shape is the captured OB1's (tia_s300_goOnline.pcapng frame 134: 324 bytes).
  for (const want& w :
       {want{srv::block_type::ob, 1, "CYCLE", 324}, want{srv::block_type::ob, 35, "CYC_INT5", 148},
        want{srv::block_type::ob, 100, "COMPLETE", 122}, want{srv::block_type::fb, 1, "MOTOR", 470},
        want{srv::block_type::fb, 2, "TEMPCTRL", 686}, want{srv::block_type::fc, 1, "INIT", 144},
        want{srv::block_type::fc, 2, "SCALE", 212}, want{srv::block_type::fc, 3, "ALARMS", 210}}) {
    SCOPED_TRACE(w.name);
    const auto bi = ud_transact(
        *c_, ud_request(0x90, 3, 3,
                        type_ascii_hex(w.type) + ascii_hex(fmt::format("{:05}A", w.number))));
    ASSERT_TRUE(bi);
    ASSERT_EQ(bi->payload.size(), 78U);
    EXPECT_EQ(w16(bi->payload, 4), 0x2200);  // as the captured OB1, DB1, FB1 (goOnline 134-140)
    EXPECT_EQ(w32(bi->payload, 14), w.load_memory);
    EXPECT_EQ(text(bi->payload, 42, 8), "protos7");
    EXPECT_EQ(text(bi->payload, 50, 8), "SAMPLE");
    EXPECT_EQ(text(bi->payload, 58, 8), w.name);
  }
}

TEST_F(services, a_cpu_without_blocks_of_a_type_answers_d20e) {
  auto p = std::make_shared<srv::plc_profile>(srv::parse_profile(
      R"({"format": "protos7-profile", "version": 1,
          "identity": {"order_number": "6ES7 315-2EH14-0AB0", "module_name": "m",
                       "serial_number": "s"},
          "szl": [], "blocks": [{"type": "OB", "number": 1}]})",
      "t.json"));
  start(480, p);
  std::uint16_t error = 0;
  ASSERT_TRUE(list_of_type(*c_, srv::block_type::fc, &error));
  EXPECT_EQ(error, 0xD20E);
  ASSERT_TRUE(list_of_type(*c_, srv::block_type::ob, &error));
  EXPECT_EQ(error, 0);
}

// --- protection --------------------------------------------------------------------------------

TEST_F(services, write_protection_refuses_writes_until_the_password_is_given) {
  auto p = std::make_shared<srv::plc_profile>(srv::bundled_profile());
  p->protection_level = 2;
  p->password = "secret";
  start(480, p);
  const std::array item{any(0x02, 1, 0x84, 1, 0)};
  const std::array data{wdata{0x04, buf{std::byte{0x55}}, {}}};
  const buf write = client::job(0x80, var_param(s7::function::write_var, item), write_data(data));
  auto r = c_->transact(write);
  ASSERT_TRUE(r);
  EXPECT_EQ(s7::decode(*r)->p.hdr.error(), 0xD241);
  // The protection as snap7's GetProtection reads it (0x0232 index 4).
  auto prot = read_szl(*c_, 0x0232, 0x0004);
  ASSERT_TRUE(prot);
  EXPECT_EQ(w16(*prot, 8 + 4), 2);  // sch_par
  EXPECT_EQ(w16(*prot, 8 + 6), 2);  // sch_rel
  // Wrong password: 0xD602. The password is scrambled as snap7 does.
  const auto password = [](std::string_view pw) {
    std::array<std::uint8_t, 8> plain{}, scr{};
    for (std::size_t i = 0; i < 8; ++i)
      plain[i] = static_cast<std::uint8_t>(i < pw.size() ? pw[i] : ' ');
    ud::scramble_password(plain, scr);
    return to_hex(buf(reinterpret_cast<const std::byte*>(scr.data()),
                      reinterpret_cast<const std::byte*>(scr.data()) + 8));
  };
  auto a = ud_transact(*c_, ud_request(0x81, 5, 1, password("wrong")));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, 0xD602);
  a = ud_transact(*c_, ud_request(0x82, 5, 1, password("secret")));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, 0);
  r = c_->transact(write);
  ASSERT_TRUE(r);
  EXPECT_EQ(s7::decode(*r)->p.hdr.error(), 0);
  prot = read_szl(*c_, 0x0232, 0x0004);
  ASSERT_TRUE(prot);
  EXPECT_EQ(w16(*prot, 8 + 6), 1);  // level in force for this connection
  // Another connection is still protected (legitimation is per connection).
  client other{s_.port()};
  ASSERT_TRUE(other.open());
  r = other.transact(write);
  ASSERT_TRUE(r);
  EXPECT_EQ(s7::decode(*r)->p.hdr.error(), 0xD241);
  // Clear: protected again.
  a = ud_transact(*c_, ud_request(0x83, 5, 2, ""));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, 0);
  r = c_->transact(write);
  ASSERT_TRUE(r);
  EXPECT_EQ(s7::decode(*r)->p.hdr.error(), 0xD241);
  // Stop needs the password too.
  r = c_->transact(client::job(0x84, hex("29 0000000000 09 505f50524f4752414d")));
  ASSERT_TRUE(r);
  EXPECT_EQ(s7::decode(*r)->p.hdr.error(), 0xD241);
}

TEST_F(services, password_without_protection_is_refused_with_d605) {
  start();
  const auto a = ud_transact(*c_, ud_request(0x90, 5, 1, "0000000000000000"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, 0xD605);
}

// --- everything else ---------------------------------------------------------------------------

TEST_F(services, other_userdata_functions_get_the_cpus_error_and_the_connection_goes_on) {
  start();
  struct probe {
    std::uint8_t group, sub;
    std::string_view payload;
  };
  const probe probes[] = {
      {2, 0x08, ""},  // cyclic services: RDREC
      {6, 0x01, ""},  // PBC
      {9, 0x01, ""},  // unknown group
      {4, 0x7F, ""},  // unknown subfunction
  };
  std::uint16_t ref = 0xA0;
  for (const probe& p : probes) {
    const auto a = ud_transact(*c_, ud_request(ref++, p.group, p.sub, p.payload));
    ASSERT_TRUE(a) << int(p.group) << "/" << int(p.sub);
    EXPECT_EQ(a->error, 0x8104) << int(p.group) << "/" << int(p.sub);
    EXPECT_EQ(a->rc, 0x0A);
  }
  // Unknown PI service, Download Block from a client.
  auto r = c_->transact(client::job(ref++, hex("28 0000000000 00fd 0000 05 5f58585858")));
  ASSERT_TRUE(r);
  EXPECT_EQ(s7::decode(*r)->p.hdr.error(), 0x8104);
  r = c_->transact(client::job(ref++, hex("1b 00 0000 00000000 09 5f3041303030303150")));
  ASSERT_TRUE(r);
  EXPECT_EQ(s7::decode(*r)->p.hdr.error(), 0x8104);
  EXPECT_TRUE(read_szl(*c_, 0x0011, 0));
}

TEST_F(services, message_service_subscription_is_answered_as_the_cpu_does) {
  // s7comm_reading_plc_status.pcap frames 52/53: subscribe to MODE and SYS events as "asmess";
  // the CPU answers result 0x02, reserved 0x00.
  start();
  const auto a = ud_transact(*c_, ud_request(0x0f00, 4, 2, "030061736d6573730000"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, 0);
  EXPECT_EQ(a->rc, 0xFF);
  EXPECT_EQ(to_hex(a->payload), "0200");
}
