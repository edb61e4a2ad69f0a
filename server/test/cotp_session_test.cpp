// COTP connection set-up and S7 Setup Communication over real sockets.
#include "test_client.hpp"

using namespace p7test;

namespace {

std::optional<s7::message> decode(const buf& b) {
  const auto m = s7::decode(b);
  if (!m) return std::nullopt;
  return *m;
}

}  // namespace

TEST(cotp_connect, answers_capture_cr_with_cpu_shaped_cc) {
  running_server s;
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.connected());
  // CR from the capture: LI 17, CR, dst-ref 0, src-ref 0x000F, class 0,
  // C1 calling 0100 (PG), C2 called 0102 (rack 0 slot 2), C0 TPDU 1024.
  c.send_raw(hex("0300001611e00000000f00c1020100c2020102c0010a"));
  const auto f = c.read_frame();
  ASSERT_TRUE(f);
  // The CPU's CC: 0300001611d0000f000300c0010ac1020100c2020102. Ours is identical except the
  // source reference (the CPU used 0x0003, we number connections from 1).
  buf expected = hex("0300001611d0000f000100c0010ac1020100c2020102");
  EXPECT_EQ(to_hex(*f), to_hex(expected));
}

TEST(cotp_connect, refuses_wrong_slot_with_dr_and_closes) {
  running_server s;
  s.start();
  client c{s.port()};
  const auto r = c.connect_request(cotp::make_s7_tsap(1, 0, 3));
  ASSERT_TRUE(r);
  const auto t = cotp::parse(*r);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, cotp::tpdu_type::dr);
  EXPECT_EQ(t->dst_ref, 0x000F);  // the CR's src-ref
  EXPECT_EQ(t->src_ref, 0);       // a DR refusing a CR has src-ref 0
  EXPECT_EQ(t->reason, 0x03);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(cotp_connect, refuses_unknown_connection_type_and_wrong_rack) {
  running_server s;
  s.start();
  for (std::uint16_t tsap :
       {cotp::make_s7_tsap(0x10, 0, 2), cotp::make_s7_tsap(1, 1, 2), std::uint16_t{0x0000}}) {
    client c{s.port()};
    const auto r = c.connect_request(tsap);
    ASSERT_TRUE(r);
    const auto t = cotp::parse(*r);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->type, cotp::tpdu_type::dr) << std::hex << tsap;
    EXPECT_TRUE(c.closed_by_peer());
  }
}

TEST(cotp_connect, accepts_pg_op_and_s7_basic_on_configured_rack_slot) {
  protos7::server::config cfg;
  cfg.rack = 1;
  cfg.slot = 3;
  running_server s{cfg};
  s.start();
  for (const std::uint8_t type : {std::uint8_t{1}, std::uint8_t{2}, std::uint8_t{3}}) {
    client c{s.port()};
    const auto r = c.connect_request(cotp::make_s7_tsap(type, 1, 3));
    ASSERT_TRUE(r);
    const auto t = cotp::parse(*r);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->type, cotp::tpdu_type::cc);
    EXPECT_EQ(t->params.called_tsap.size(), 2U);
    EXPECT_EQ(u8(t->params.called_tsap[0]), type);
    EXPECT_EQ(u8(t->params.called_tsap[1]), 1 * 32 + 3);
  }
}

TEST(cotp_connect, dr_is_answered_with_dc_and_close) {
  running_server s;
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.open());
  buf dr(16);
  writer w{dr};
  cotp::write_disconnect(w, {cotp::tpdu_type::dr, 1, 0x000F, 0x80, {}});
  dr.resize(*w.finish());
  c.send_tpdu(dr);
  const auto f = c.read_frame();
  ASSERT_TRUE(f);
  const auto t = cotp::parse(std::span<const std::byte>(*f).subspan(4));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, cotp::tpdu_type::dc);
  EXPECT_EQ(t->dst_ref, 0x000F);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(cotp_connect, tpdu_size_is_clamped_and_replies_are_segmented) {
  running_server s;
  s.start();
  {
    client c{s.port()};
    const auto r = c.connect_request(cotp::make_s7_tsap(1, 0, 2), 0x0B);  // asks 2048
    const auto t = cotp::parse(*r);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->params.tpdu_size_code, 0x0A);  // 1024, as the CPUs in the captures
  }
  client c{s.port()};
  const auto r = c.connect_request(cotp::make_s7_tsap(1, 0, 2), 0);  // no C0: 128 bytes
  const auto t = cotp::parse(*r);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->params.tpdu_size_code, 0x07);
  ASSERT_TRUE(c.setup(480));
  const std::array items{any(2, 300, 0x84, 3, 0)};  // DB3: 64 KiB
  c.send_pdu(client::job(7, var_param(s7::function::read_var, items)));
  // 12 + 2 + 4 + 300 = 318 bytes of PDU in DTs of at most 125 bytes: 3 segments.
  buf pdu;
  int segments = 0;
  for (;;) {
    const auto f = c.read_frame();
    ASSERT_TRUE(f);
    EXPECT_LE(f->size() - 4, 128U);
    const auto d = cotp::parse(std::span<const std::byte>(*f).subspan(4));
    ASSERT_TRUE(d);
    pdu.insert(pdu.end(), d->user_data.begin(), d->user_data.end());
    ++segments;
    if (d->eot) break;
  }
  EXPECT_EQ(segments, 3);
  const auto items_read = read_items(pdu);
  ASSERT_EQ(items_read.size(), 1U);
  EXPECT_EQ(items_read[0].data.size(), 300U);
}

TEST(cotp_data, empty_eot0_dt_is_ignored_and_segments_are_reassembled) {
  running_server s;
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.open());
  // Step 7 sends an empty DT with EOT=0 around its requests (captures: "segment, EOT=0").
  c.send_tpdu(hex("02f000"));
  const std::array items{any(2, 4, 0x84, 1, 8)};
  const buf job = client::job(0x1234, var_param(s7::function::read_var, items));
  // The job in three DT segments.
  c.send_pdu(std::span<const std::byte>(job).first(5), false);
  c.send_pdu(std::span<const std::byte>(job).subspan(5, 10), false);
  c.send_pdu(std::span<const std::byte>(job).subspan(15), true);
  const auto r = c.read_pdu();
  ASSERT_TRUE(r);
  const auto m = s7::decode(*r);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.pdu_ref, 0x1234);
  const auto it = read_items(*r);
  ASSERT_EQ(it.size(), 1U);
  EXPECT_EQ(to_hex(it[0].data), "08090a0b");
}

TEST(setup_communication, pdu_size_and_amq_are_clamped) {
  protos7::server::config cfg;
  cfg.pdu_size = 480;
  cfg.max_amq = 8;
  running_server s{cfg};
  s.start();
  struct row {
    std::uint16_t pdu, calling, called, want_pdu, want_calling, want_called;
  };
  for (const row r :
       {row{960, 1, 1, 480, 1, 1}, row{240, 3, 2, 240, 3, 2}, row{480, 20, 20, 480, 8, 8},
        row{100, 0, 0, 240, 1, 1}, row{65535, 65535, 8, 480, 8, 8}}) {
    client c{s.port()};
    ASSERT_TRUE(c.connect_request(cotp::make_s7_tsap(1, 0, 2)));
    const auto got = c.setup(r.pdu, r.calling, r.called);
    ASSERT_TRUE(got) << r.pdu;
    EXPECT_EQ(got->pdu_length, r.want_pdu) << r.pdu;
    EXPECT_EQ(got->max_amq_calling, r.want_calling);
    EXPECT_EQ(got->max_amq_called, r.want_called);
  }
}

TEST(setup_communication, job_before_setup_gets_header_error_8104) {
  running_server s;
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.connect_request(cotp::make_s7_tsap(1, 0, 2)));
  const std::array items{any(2, 1, 0x84, 1, 0)};
  const auto r = c.transact(client::job(5, var_param(s7::function::read_var, items)));
  ASSERT_TRUE(r);
  const auto m = decode(*r);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.type, s7::rosctr::ack_data);
  EXPECT_EQ(m->p.hdr.error(), 0x8104);
  EXPECT_EQ(m->p.hdr.pdu_ref, 5);
  // The connection stays usable.
  EXPECT_TRUE(c.setup(480));
}

TEST(setup_communication, pipelined_jobs_are_answered_in_order_with_their_own_refs) {
  running_server s;
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.connect_request(cotp::make_s7_tsap(1, 0, 2)));
  const auto neg = c.setup(480, 4, 4);
  ASSERT_TRUE(neg);
  ASSERT_EQ(neg->max_amq_called, 4);
  // Four jobs in one TCP send, before any answer.
  buf burst;
  for (std::uint16_t i = 0; i < 4; ++i) {
    const std::array items{any(2, 1, 0x84, 1, i)};
    const buf job =
        client::job(static_cast<std::uint16_t>(100 + i), var_param(s7::function::read_var, items));
    buf f(4);
    writer w{f};
    protos7::codec::tpkt::write_header(w, job.size() + 3);
    f.push_back(std::byte{0x02});
    f.push_back(std::byte{0xF0});
    f.push_back(std::byte{0x80});
    f.insert(f.end(), job.begin(), job.end());
    burst.insert(burst.end(), f.begin(), f.end());
  }
  c.send_raw(burst);
  for (std::uint16_t i = 0; i < 4; ++i) {
    const auto r = c.read_pdu();
    ASSERT_TRUE(r);
    const auto m = decode(*r);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->p.hdr.pdu_ref, 100 + i);
    const auto it = read_items(*r);
    ASSERT_EQ(it.size(), 1U);
    EXPECT_EQ(u8(it[0].data[0]), i);
  }
}
