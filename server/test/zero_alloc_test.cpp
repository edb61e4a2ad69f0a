// The request path allocates nothing after set-up: a session answering Read Var and Write Var
// jobs, SZL reads and the other Userdata requests a client polls with (clock, block lists), with
// the web admin's traffic tap on and off. Global operator new is replaced by a counting one
// (codec/test/alloc_counter.hpp), armed after the connection is set up and one request of each
// kind has warmed the buffers.
//
// Not covered: the group commit's bookkeeping (server.cpp), fragmented Userdata answers (their
// rest is kept in a buffer that grows to the largest answer once), Get Block Info of a DB.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "alloc_counter.hpp"
#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/userdata.hpp"
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

// Userdata requests: header (pdu_ref 4, parameter 8, data 8 or 4/6), parameter 00 01 12 04 11
// <type 4, group> <subfunction> 00, data unit | rc | tsize | length | payload |.
p7test::buf userdata(std::string_view group_sub, std::string_view data) {
  const std::size_t data_len = data.size() / 2;
  return p7test::hex(fmt::format("0300{:04x}02f080 3207000000040008{:04x} 00011204114{}00 {}",
                                 4 + 3 + 10 + 8 + data_len, data_len, group_sub, data));
}
// Read SZL (group 4, subfunction 01): | FF 09 0004 | SZL-ID | index |.
p7test::buf read_szl(std::uint16_t id, std::uint16_t index) {
  return userdata("401", fmt::format("ff090004{:04x}{:04x}", id, index));
}
const std::vector<p7test::buf> userdata_requests = {
    read_szl(0x0011, 0x0000),         // module identification (snap7 GetOrderCode)
    read_szl(0x001C, 0x0000),         // component identification (snap7 GetCpuInfo)
    read_szl(0x0424, 0x0000),         // operating mode (snap7 GetPlcStatus)
    read_szl(0x0232, 0x0004),         // protection (snap7 GetProtection)
    read_szl(0x0131, 0x0001),         // communication capabilities (snap7 GetCpInfo)
    read_szl(0x0000, 0x0000),         // the SZL-IDs
    read_szl(0x0F11, 0x0000),         // a header-only extract
    userdata("701", "0a000000"),      // read clock (snap7 GetPlcDateTime)
    userdata("301", "0a000000"),      // list blocks (counts per type)
    userdata("302", "ff0900023041"),  // list blocks of type "0A" (DB)
};

// The Userdata error of a reply (0: an answer with data); -1 when the reply is not Userdata.
int userdata_error(std::span<const std::byte> out) {
  const auto frame = protos7::codec::tpkt::parse(out);
  if (!frame) return -1;
  const auto t = protos7::codec::cotp::parse(frame->payload);
  if (!t) return -1;
  const auto p = protos7::codec::s7::parse(t->user_data);
  if (!p) return -1;
  const auto m = protos7::codec::s7::ud::parse(*p);
  return m ? m->prm.error_code : -1;
}

struct bench_session {
  srv::config cfg;
  srv::plc_memory mem{srv::area_sizes{}};
  std::unique_ptr<srv::plc_state> plc;
  std::unique_ptr<srv::session> s;
  protos7::webadmin::traffic_monitor tap;
  // The server's part: what the session decoded goes to the monitor (server.cpp's connection).
  struct forward final : srv::session_tap {
    protos7::webadmin::traffic_monitor* to = nullptr;
    void on_session_event(const srv::session_event& e) override { to->on_event(7, e); }
  } fwd;
  bool tapped = false;
  std::vector<std::byte> out;

  explicit bench_session(bool with_tap) : tapped(with_tap) {
    mem.add_db(p7test::ram_db(1, 256));
    plc = std::make_unique<srv::plc_state>(cfg, mem);
    s = std::make_unique<srv::session>(cfg, mem, *plc, 1, "127.0.0.1:50000");
    if (tapped) {
      tap.on_open(7, "127.0.0.1:50000");
      fwd.to = &tap;
      s->set_tap(&fwd);
    }
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

TEST(server_request_path, szl_reads_and_userdata_allocate_nothing_after_setup) {
  for (const bool tap : {false, true}) {
    bench_session b{tap};
    ASSERT_TRUE(b.request(cr));
    ASSERT_TRUE(b.request(setup));
    for (const p7test::buf& r : userdata_requests) {
      ASSERT_TRUE(b.request(r));
      ASSERT_EQ(userdata_error(b.out), 0) << p7test::to_hex(r);  // answered, not refused
    }
    p7alloc::arm();
    bool ok = true;
    for (int i = 0; i < 200 && ok; ++i)
      for (const p7test::buf& r : userdata_requests) ok = ok && b.request(r);
    const std::size_t n = p7alloc::disarm();
    ASSERT_TRUE(ok);
    EXPECT_EQ(n, 0U) << "allocations answering Userdata, web tap " << (tap ? "on" : "off");
  }
}

TEST(server_request_path, the_counter_sees_an_allocation) {
  p7alloc::arm();
  auto* p = new std::vector<int>(3);
  const std::size_t n = p7alloc::disarm();
  delete p;
  EXPECT_GE(n, 1U);  // the test above cannot pass by a counter that counts nothing
}
