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
