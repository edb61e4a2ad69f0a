// The pushes of a mode change (mode_events.hpp) against the pushes the captured S7-300 sent after
// STEP 7's PLC Stop (step7_s300_stop.pcapng frames 3 and 4), byte for byte.
#include "protos7/server/mode_events.hpp"

#include <gtest/gtest.h>

#include "field_frames.hpp"
#include "test_client.hpp"

using namespace p7test;
namespace ud = protos7::codec::s7::ud;
namespace srv = protos7::server;

namespace {

buf encode(const srv::push_pdu& p) {
  buf out(64);
  const auto n = s7::encode(p.header, p.param_bytes(), p.data_bytes(), out);
  if (!n) return {};
  out.resize(*n);
  return out;
}

struct mode_events : ::testing::Test {
  field_pdus f;
  void SetUp() override {
    std::string why;
    if (!load_field_pdus("step7_s300_stop.pcapng", f, why)) GTEST_SKIP() << why;
  }
};

}  // namespace

TEST_F(mode_events, diagnostic_message_of_the_stop_is_the_captured_push) {
  ud::timestamp clock;  // the captured entry's time: 1994-01-09 21:53:42.152, a Sunday
  clock.year = 1994;
  clock.month = 1;
  clock.day = 9;
  clock.hour = 21;
  clock.minute = 53;
  clock.second = 42;
  clock.millisecond = 152;
  clock.weekday = 1;
  const buf got = encode(srv::diagnostic_message_push(srv::diag_event::stop_by_pg, clock));
  EXPECT_EQ(to_hex(got), to_hex(f.at(3)));
  // It decodes as the push it is.
  const auto m = s7::decode(got);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->ud.prm.type, static_cast<std::uint8_t>(ud::type::push));
  EXPECT_EQ(m->ud.prm.group, static_cast<std::uint8_t>(ud::group::cpu));
}

TEST_F(mode_events, mode_transition_to_stop_is_the_captured_push) {
  EXPECT_EQ(to_hex(encode(srv::mode_transition_push(srv::operating_mode::stop))), to_hex(f.at(4)));
  const buf run = encode(srv::mode_transition_push(srv::operating_mode::run));
  const auto m = s7::decode(run);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->ud.prm.mode_transition);
  EXPECT_EQ(m->ud.prm.subfunction, 0x02);
}

// Over a socket: a connection that subscribed to mode transitions and system diagnostics (message
// service, events 0x03) gets, after its PLC Stop (the captured request, frame 1), the captured
// Ack_Data (frame 2), the diagnostic message (frame 3, but the PLC's clock) and the mode
// transition (frame 4). A connection that did not subscribe gets the Ack_Data only.
TEST_F(mode_events, a_subscribed_connection_gets_both_pushes_after_its_plc_stop) {
  running_server s;
  s.start();
  client quiet{s.port()}, pg{s.port()};
  ASSERT_TRUE(quiet.open(240));
  ASSERT_TRUE(pg.open(240));
  const buf subscribe =
      hex("32070000 0100 0008 000e 00011204 11 44 02 00 ff09000a 03 00 3030306430333061");
  const auto sub = pg.transact(subscribe);
  ASSERT_TRUE(sub);
  EXPECT_EQ(to_hex(std::span(*sub).subspan(sub->size() - 6)), "ff0900020200");
  pg.send_pdu(f.at(1));
  const auto ack = pg.read_pdu(), diag = pg.read_pdu(), transition = pg.read_pdu();
  ASSERT_TRUE(ack && diag && transition);
  EXPECT_EQ(to_hex(*ack), to_hex(f.at(2)));
  const buf& want = f.at(3);
  ASSERT_EQ(diag->size(), want.size());
  const std::size_t clock_at = want.size() - 8;  // the DATE_AND_TIME: the PLC's clock now
  EXPECT_EQ(to_hex(std::span(*diag).first(clock_at)), to_hex(std::span(want).first(clock_at)));
  EXPECT_EQ(to_hex(*transition), to_hex(f.at(4)));
  // The other connection: nothing pushed, its next answer comes first.
  const auto r =
      quiet.transact(hex("32070000 0200 0008 0008 00011204 11 44 01 00 ff090004 0424 0000"));
  ASSERT_TRUE(r);
  const auto m = s7::decode(*r);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.pdu_ref, 0x0200);
}
