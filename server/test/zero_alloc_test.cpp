// The request path allocates nothing after set-up: a session answering Read Var and Write Var
// jobs, with the web admin's traffic tap on and off. Global operator new is replaced by a
// counting one (codec/test/alloc_counter.hpp), armed after the connection is set up and one
// request of each kind has warmed the buffers.
//
// Not covered yet: SZL and other Userdata answers (services build them in std::vector) and the
// group commit's bookkeeping (server.cpp); see docs/ARCHITECTURE.md.
#include <gtest/gtest.h>

#include <vector>

#include "alloc_counter.hpp"
#include "protos7/server/config.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/plc_state.hpp"
#include "protos7/server/session.hpp"
#include "protos7/webadmin/traffic.hpp"
#include "test_client.hpp"

namespace srv = protos7::server;

namespace {

// CR to rack 0 slot 2 (plc_status frame 8), Setup Communication (PDU 480, AmQ 1), Read Var
// DB1.DBW0 and Write Var DB1.DBW0 = 0x1234, each in TPKT + COTP DT.
const p7test::buf cr = p7test::hex("0300001611e00000000f00c1020100c2020102c0010a");
const p7test::buf setup = p7test::hex("0300001902f080 32010000000100080000 f0000001000101e0");
const p7test::buf read_var =
    p7test::hex("0300001f02f080 320100000002000e0000 0401120a100400010001840000 00");
const p7test::buf write_var =
    p7test::hex("0300002502f080 320100000003000e0006 0501120a100400010001840000 00 0004001012 34");

struct bench_session {
  srv::config cfg;
  srv::plc_memory mem{srv::area_sizes{}};
  std::unique_ptr<srv::plc_state> plc;
  std::unique_ptr<srv::session> s;
  protos7::webadmin::traffic_monitor tap;
  bool tapped = false;
  std::vector<std::byte> out;

  explicit bench_session(bool with_tap) : tapped(with_tap) {
    mem.add_db(p7test::ram_db(1, 256));
    plc = std::make_unique<srv::plc_state>(cfg, mem);
    s = std::make_unique<srv::session>(cfg, mem, *plc, 1, "127.0.0.1:50000");
    if (tapped) tap.on_open(7, "127.0.0.1:50000");
    out.reserve(8192);
  }
  // One request through the session (and the tap); false when the session closed.
  bool request(const p7test::buf& frame) {
    out.clear();
    const bool open = s->receive(frame, out);
    if (tapped) tap.on_traffic(7, frame, out);
    return open && !out.empty();
  }
};

}  // namespace

TEST(server_request_path, read_and_write_var_allocate_nothing_after_setup) {
  for (const bool tap : {false, true}) {
    bench_session b{tap};
    ASSERT_TRUE(b.request(cr));
    ASSERT_TRUE(b.request(setup));
    ASSERT_TRUE(b.request(read_var));
    ASSERT_TRUE(b.request(write_var));
    p7alloc::arm();
    bool ok = true;
    for (int i = 0; i < 2000 && ok; ++i) ok = b.request(read_var) && b.request(write_var);
    const std::size_t n = p7alloc::disarm();
    ASSERT_TRUE(ok);
    EXPECT_EQ(n, 0U) << "allocations on the request path, web tap " << (tap ? "on" : "off");
    EXPECT_EQ(b.mem.find_db(1)->bytes()[0], std::byte{0x12});  // the writes landed
  }
}

TEST(server_request_path, the_counter_sees_an_allocation) {
  p7alloc::arm();
  auto* p = new std::vector<int>(3);
  const std::size_t n = p7alloc::disarm();
  delete p;
  EXPECT_GE(n, 1U);  // the test above cannot pass by a counter that counts nothing
}
