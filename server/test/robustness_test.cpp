// Bad input: every case ends in the CPU's error answer or a clean disconnect, never a crash
// or a hang, and never disturbs another connection.
#include "test_client.hpp"

using namespace p7test;

namespace {

constexpr std::uint8_t DB = 0x84;

std::optional<s7::message> decode_into(const std::optional<buf>& r, buf& keep) {
  if (!r) return std::nullopt;
  keep = *r;
  const auto m = s7::decode(keep);
  if (!m) return std::nullopt;
  return *m;
}

// The server still answers a fresh client after the abuse.
void expect_server_alive(std::uint16_t port) {
  client c{port};
  ASSERT_TRUE(c.open());
  const std::array items{any(2, 2, DB, 1, 4)};
  const auto r = c.transact(client::job(1, var_param(s7::function::read_var, items)));
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(read_items(*r).at(0).data), "0405");
}

}  // namespace

TEST(robustness, read_count_ffff_on_64k_db_is_error_8500) {
  protos7::server::config cfg;
  cfg.pdu_size = 960;
  running_server s{cfg};
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.open(960));
  const std::array items{any(2, 0xFFFF, DB, 3, 0)};
  buf keep;
  const auto m =
      decode_into(c.transact(client::job(1, var_param(s7::function::read_var, items))), keep);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.error(), 0x8500);
  expect_server_alive(s.port());
}

TEST(robustness, write_var_with_30_items) {
  protos7::server::config cfg;
  cfg.pdu_size = 960;
  running_server s{cfg};
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.open(960));
  std::vector<s7::any_address> items;
  std::vector<wdata> data;
  for (std::uint32_t i = 0; i < 30; ++i) {
    items.push_back(any(2, 1, DB, 2, i));
    data.push_back({0x04, buf{static_cast<std::byte>(0x40 + i)}, {}});
  }
  buf keep;
  const auto m = decode_into(
      c.transact(client::job(1, var_param(s7::function::write_var, items), write_data(data))),
      keep);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.error(), 0);
  ASSERT_EQ(m->p.data.size(), 30U);
  for (std::byte b : m->p.data) EXPECT_EQ(u8(b), 0xFF);
  const std::array rd{any(2, 30, DB, 2, 0)};
  const auto r = c.transact(client::job(2, var_param(s7::function::read_var, rd)));
  ASSERT_TRUE(r);
  const auto got = read_items(*r).at(0).data;
  for (std::size_t i = 0; i < 30; ++i) EXPECT_EQ(u8(got[i]), 0x40 + i);

  // The same 30 items on a 240-byte PDU: the request itself is too large.
  client small{s.port()};
  ASSERT_TRUE(small.open(240));
  const auto m2 = decode_into(
      small.transact(client::job(3, var_param(s7::function::write_var, items), write_data(data))),
      keep);
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->p.hdr.error(), 0x8500);
}

TEST(robustness, tpkt_length_under_7_closes_the_connection) {
  running_server s;
  s.start();
  for (const char* frame : {"03000006 02f080", "03000004", "03000000", "0300000502f0"}) {
    client c{s.port()};
    ASSERT_TRUE(c.open());
    c.send_raw(hex(frame));
    EXPECT_TRUE(c.closed_by_peer()) << frame;
  }
  expect_server_alive(s.port());
}

TEST(robustness, not_tpkt_and_garbage_close_the_connection) {
  running_server s;
  s.start();
  for (const char* bytes :
       {"474554202f20485454502f312e310d0a", "0400001611e00000000f00c1020100c2020102c0010a",
        "0300001600000000000000000000000000000000000000", "03000009 02f0 80 ffff"}) {
    client c{s.port()};
    c.send_raw(hex(bytes));
    EXPECT_TRUE(c.closed_by_peer()) << bytes;
  }
  expect_server_alive(s.port());
}

TEST(robustness, item_count_zero_and_disagreeing_lengths) {
  running_server s;
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.open());
  buf keep;
  // Read Var with item count 0.
  auto m = decode_into(c.transact(client::job(1, hex("0400"))), keep);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.error(), 0x8500);
  // Item count 3 but one item.
  const std::array one{any(2, 1, DB, 1, 0)};
  buf prm = var_param(s7::function::read_var, one);
  prm[1] = std::byte{3};
  m = decode_into(c.transact(client::job(2, prm)), keep);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.error(), 0x8500);
  // Item count 0xFF with one item.
  prm[1] = std::byte{0xFF};
  m = decode_into(c.transact(client::job(3, prm)), keep);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.error(), 0x8500);
  // Still connected and working.
  const auto r = c.transact(client::job(4, var_param(s7::function::read_var, one)));
  ASSERT_TRUE(r);
  EXPECT_EQ(read_items(*r).size(), 1U);
  // S7 header whose parameter length disagrees with the PDU: not trustworthy, disconnect.
  buf job = client::job(5, var_param(s7::function::read_var, one));
  job[7] = std::byte{0x20};
  c.send_pdu(job);
  const auto f = c.read_frame();
  ASSERT_TRUE(f);
  const auto t = cotp::parse(std::span<const std::byte>(*f).subspan(4));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, cotp::tpdu_type::dr);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(robustness, unknown_syntax_id_is_answered_per_item) {
  running_server s;
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.open());
  // Item 1: syntax 0x77 with 10 bytes of rest; item 2: a normal S7ANY.
  const buf prm = hex("0402 120a77 02000100018400 0000 120a10 0200020001840000 20");
  const auto r = c.transact(client::job(1, prm));
  ASSERT_TRUE(r);
  const auto it = read_items(*r);
  ASSERT_EQ(it.size(), 2U);
  EXPECT_EQ(it[0].rc, 0x05);
  EXPECT_EQ(it[1].rc, 0xFF);
  EXPECT_EQ(to_hex(it[1].data), "0405");
}

TEST(robustness, endless_segments_are_capped_at_the_pdu_size) {
  running_server s;
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.open(240));
  const buf chunk(100, std::byte{0x32});
  for (int i = 0; i < 3; ++i) c.send_pdu(chunk, false);  // 300 bytes > 240
  const auto f = c.read_frame();
  ASSERT_TRUE(f);
  const auto t = cotp::parse(std::span<const std::byte>(*f).subspan(4));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, cotp::tpdu_type::dr);
  EXPECT_TRUE(c.closed_by_peer());
  expect_server_alive(s.port());
}

TEST(robustness, half_open_connections_time_out) {
  protos7::server::config cfg;
  cfg.setup_timeout = std::chrono::milliseconds(300);
  cfg.idle_timeout = std::chrono::milliseconds(900);
  running_server s{cfg};
  s.start();
  client silent{s.port()};  // never sends anything
  client half{s.port()};    // COTP only, no Setup Communication
  ASSERT_TRUE(half.connect_request(cotp::make_s7_tsap(1, 0, 2)));
  client idle{s.port()};
  ASSERT_TRUE(idle.open());  // fully set up, then silent
  EXPECT_TRUE(silent.closed_by_peer(2000));
  EXPECT_TRUE(half.closed_by_peer(2000));
  EXPECT_TRUE(idle.closed_by_peer(3000));
  expect_server_alive(s.port());
}

TEST(robustness, malformed_bytes_do_not_affect_a_concurrent_connection) {
  running_server s;
  s.start();
  client good{s.port()};
  ASSERT_TRUE(good.open());
  const std::array items{any(2, 2, DB, 1, 4)};
  const buf job = client::job(1, var_param(s7::function::read_var, items));
  for (const char* garbage :
       {"0300000402", "ffffffffffffffff", "0300ffff02f080", "03000007 02f000",
        "0300001611e00000000f00c1020100c2020102c0010a 0300000a02f0 80 320100"}) {
    client bad{s.port()};
    bad.send_raw(hex(garbage));
    const auto r = good.transact(job);
    ASSERT_TRUE(r) << garbage;
    EXPECT_EQ(to_hex(read_items(*r).at(0).data), "0405");
  }
  // A partial frame left hanging on the bad connection does not block the good one.
  client stuck{s.port()};
  stuck.send_raw(hex("0300001611e000"));
  const auto r = good.transact(job);
  ASSERT_TRUE(r);
}

TEST(robustness, max_connections_is_enforced) {
  protos7::server::config cfg;
  cfg.max_connections = 2;
  cfg.reserved_pg = cfg.reserved_op = 0;  // hardening_test: the reserved PG/OP resources
  running_server s{cfg};
  s.start();
  client a{s.port()};
  client b{s.port()};
  ASSERT_TRUE(a.open());
  ASSERT_TRUE(b.open());
  client c{s.port()};
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(robustness, userdata_is_answered_with_an_error_not_a_hang) {
  running_server s;
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.open());
  // Cyclic services (group 2), subscribe 1 item every 100 ms: answered with job 1 (cyclic.hpp).
  buf pdu = hex(
      "3207 0000 0100 0008 0014 0001120411420100 ff090010 00 01 00 01 120a10020001000184000000");
  const auto r = c.transact(pdu);
  ASSERT_TRUE(r);
  const auto m = s7::decode(*r);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.type, s7::rosctr::userdata);
  EXPECT_EQ(m->ud.prm.error_code, 0);
  EXPECT_EQ(m->ud.prm.seq, 1);
}
