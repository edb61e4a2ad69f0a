// What a session reports to its tap (session_event): each request and each reply once, and for
// Read Var and Write Var replies the number of items it answered with an error, which the
// observers (the web traffic view, /metrics) take instead of walking the reply's items again.
#include <vector>

#include "test_client.hpp"

using namespace p7test;
namespace srv = protos7::server;

namespace {

struct recorded {
  srv::session_event::kind what;
  int failed_items;
  bool decoded;
};

struct recorder final : srv::session_tap {
  std::vector<recorded> events;
  void on_session_event(const srv::session_event& e) override {
    events.push_back({e.what, e.failed_items, e.decoded != nullptr});
  }
};

// CR to rack 0 slot 2, Setup Communication (PDU 480, AmQ 1); DB1 has 256 bytes, DB999 none.
struct fixture {
  srv::config cfg;
  srv::plc_memory mem{cfg.areas};
  std::unique_ptr<srv::plc_state> plc;
  std::unique_ptr<srv::session> s;
  recorder tap;
  buf out;
  fixture() {
    cfg.abort_on_bad_reply = true;
    mem.add_db(ram_db(1, 256));
    plc = std::make_unique<srv::plc_state>(cfg, mem);
    s = std::make_unique<srv::session>(cfg, mem, *plc, 1, "test");
    s->set_tap(&tap);
    EXPECT_TRUE(s->receive(hex("0300001611e00000000f00c1020100c2020102c0010a"), out));
    EXPECT_TRUE(s->receive(hex("0300001902f080 32010000000100080000 f0000001000101e0"), out));
    EXPECT_EQ(s->current_state(), srv::session::state::ready);
    tap.events.clear();
  }
  // The reply event of one request frame.
  recorded reply_to(const buf& frame) {
    tap.events.clear();
    EXPECT_TRUE(s->receive(frame, out));
    EXPECT_EQ(tap.events.size(), 2U);
    if (tap.events.size() != 2U) return {srv::session_event::kind::request, -2, false};
    EXPECT_EQ(tap.events[0].what, srv::session_event::kind::request);
    EXPECT_EQ(tap.events[0].failed_items, -1);
    EXPECT_EQ(tap.events[1].what, srv::session_event::kind::reply);
    return tap.events[1];
  }
};

// Read Var of DB1.DBW0, DB999.DBW0 and DB1.DBW2 (pdu_ref 2).
const buf read_two_good_one_missing =
    hex("0300003702f080 3201000000020026 0000 0403 120a10040001 0001 84 000000"
        "120a10040001 03e7 84 000000 120a10040001 0001 84 000010");
// Write Var of DB999.DBB0 and DB1.DBB0, two bytes each (pdu_ref 3).
const buf write_one_missing =
    hex("0300003702f080 32010000000300 1a000c 0502"
        "120a1002000203e784000000 120a100200020001840000 00"
        "000400100102 000400100304");

}  // namespace

TEST(session_events, read_var_replies_count_the_items_answered_with_an_error) {
  fixture f;
  const recorded r = f.reply_to(read_two_good_one_missing);
  EXPECT_EQ(r.failed_items, 1);
  EXPECT_TRUE(r.decoded);  // the self check's decoding goes along
  const recorded ok =
      f.reply_to(hex("0300001f02f080 320100000004000e0000 0401120a100400010001840000 00"));
  EXPECT_EQ(ok.failed_items, 0);
}

TEST(session_events, write_var_replies_count_the_items_answered_with_an_error) {
  fixture f;
  const recorded r = f.reply_to(write_one_missing);
  EXPECT_EQ(r.failed_items, 1);
  EXPECT_EQ(f.mem.find_db(1)->bytes()[0], std::byte{0x03});  // the good item was written
}

TEST(session_events, other_replies_say_the_count_is_not_known) {
  fixture f;
  // Read SZL 0x0011 (Userdata) and a job the CPU refuses (function 0x99): -1, not 0.
  const recorded szl =
      f.reply_to(hex("0300002102f080 32070000000500080008 0001120411440100 ff09000400110000"));
  EXPECT_EQ(szl.failed_items, -1);
  const recorded refused = f.reply_to(hex("0300001302f080 320100000006000200 00 9900"));
  EXPECT_EQ(refused.failed_items, -1);
}
