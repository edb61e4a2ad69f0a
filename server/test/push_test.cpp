// Pushes (push.hpp) through a session, without sockets: only on a ready connection, checked and
// framed as replies are (DT segments of the negotiated size), dropped and counted beyond the
// output bound, and the source told which.
#include "protos7/server/push.hpp"

#include <gtest/gtest.h>

#include "protos7/codec/transport.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/server/session.hpp"
#include "test_client.hpp"

using namespace p7test;
namespace srv = protos7::server;
namespace ud = protos7::codec::s7::ud;

namespace {

using namespace std::chrono_literals;

// A source pushing one Userdata PDU (group 2, subfunction 1, sequence = job) with `payload`
// bytes of data every `every`, remembering whether each push left.
struct test_source final : srv::push_source {
  srv::push_clock::time_point due = srv::push_never;
  std::chrono::milliseconds every{100};
  std::size_t payload = 10;
  int calls = 0, sent = 0, dropped = 0;
  [[nodiscard]] srv::push_clock::time_point next_due() const noexcept override { return due; }
  void push(const srv::push_context& ctx, srv::push_sink& out) override {
    ++calls;
    due = ctx.now + every;
    ud::param prm;
    prm.method = ud::method_response;
    prm.type = static_cast<std::uint8_t>(ud::type::push);
    prm.group = static_cast<std::uint8_t>(ud::group::cyclic);
    prm.subfunction = 1;
    prm.seq = 1;
    prm.extended = true;
    std::array<std::byte, ud::long_param_length> pb{};
    writer pw{pb};
    ud::write_param(pw, prm);
    writer w{out.begin(s7::rosctr::userdata, pb.size())};
    const buf data(payload, std::byte{0x5A});
    ud::write_data_unit(w, 0xFF, 0x09, data);
    const auto n = w.finish();
    if (!n) {
      out.cancel();
      return;
    }
    s7::header h;
    h.type = s7::rosctr::userdata;
    out.commit(h, pb, *n);
    (out.sent() ? sent : dropped) += 1;
  }
};

struct fixture {
  srv::config cfg;
  srv::plc_memory mem{cfg.areas};
  srv::plc_state plc{cfg, mem};
  srv::session s{cfg, mem, plc, 1, "test"};
  test_source src;
  buf out;
  fixture() {
    cfg.abort_on_bad_reply = true;
    EXPECT_TRUE(s.cpu_services().add_push_source(src));
  }
  // COTP CR (TPDU size code `tpdu`) and Setup Communication (PDU 480).
  void open(std::uint8_t tpdu = 0x0A) {
    buf cr = hex("0300001611e00000000f00c1020100c2020102c0010a");
    cr.back() = std::byte{tpdu};
    ASSERT_TRUE(s.receive(cr, out));
    buf prm(8);
    writer w{prm};
    s7::write_setup_communication(w, {0, 1, 1, 480});
    const buf pdu = client::job(1, prm);
    buf f = hex("0300000002f080");
    f[3] = std::byte{static_cast<std::uint8_t>(7 + pdu.size())};
    f.insert(f.end(), pdu.begin(), pdu.end());
    ASSERT_TRUE(s.receive(f, out));
    ASSERT_EQ(s.current_state(), srv::session::state::ready);
    out.clear();
  }
};

// The PDUs of the frames in `b` (reassembled), each decoded by the strict codec.
std::vector<buf> pdus_of(const buf& b) {
  std::vector<std::byte> frame(4096), reasm(4096);
  protos7::codec::transport::stream_reader r{frame, reasm};
  std::vector<buf> pdus;
  std::span<const std::byte> rest = b;
  for (;;) {
    const auto e = r.next(rest);
    if (e.st != protos7::codec::transport::status::tpdu) break;
    if (e.completes_pdu) pdus.emplace_back(e.pdu.begin(), e.pdu.end());
  }
  EXPECT_TRUE(rest.empty());
  return pdus;
}

}  // namespace

TEST(push, nothing_before_setup_communication) {
  fixture f;
  f.src.due = srv::push_clock::now();
  EXPECT_EQ(f.s.next_push(), srv::push_never);
  const auto r = f.s.push(srv::push_clock::now(), 0, f.out, 1 << 16);
  EXPECT_EQ(r.sent, 0U);
  EXPECT_EQ(f.src.calls, 0);
  EXPECT_TRUE(f.out.empty());
}

TEST(push, a_due_source_appends_a_checked_push_and_reschedules) {
  fixture f;
  f.open();
  const auto now = srv::push_clock::now();
  f.src.due = now + 50ms;
  EXPECT_EQ(f.s.next_push(), now + 50ms);
  EXPECT_EQ(f.s.push(now, 0, f.out, 1 << 16).sent, 0U);  // not due yet
  EXPECT_EQ(f.src.calls, 0);
  const auto r = f.s.push(now + 50ms, 0, f.out, 1 << 16);
  EXPECT_EQ(r.sent, 1U);
  EXPECT_EQ(f.s.next_push(), now + 150ms);
  const auto pdus = pdus_of(f.out);
  ASSERT_EQ(pdus.size(), 1U);
  const auto m = s7::decode(pdus[0]);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.type, s7::rosctr::userdata);
  EXPECT_EQ(m->ud.prm.type, static_cast<std::uint8_t>(ud::type::push));
  EXPECT_EQ(m->ud.data.payload.size(), 10U);
}

TEST(push, segmented_in_dts_of_the_negotiated_tpdu_size) {
  fixture f;
  f.open(0x07);  // TPDU 128 bytes
  f.src.payload = 300;
  f.src.due = srv::push_clock::now();
  ASSERT_EQ(f.s.push(f.src.due, 0, f.out, 1 << 16).sent, 1U);
  const auto pdus = pdus_of(f.out);
  ASSERT_EQ(pdus.size(), 1U);
  EXPECT_EQ(pdus[0].size(), 10U + 12U + 4U + 300U);
  // Three DTs: 125 + 125 + 76 bytes of PDU, each with TPKT (4) and DT (3) headers.
  EXPECT_EQ(f.out.size(), pdus[0].size() + 3U * 7U);
}

TEST(push, over_the_output_bound_it_is_dropped_counted_and_the_source_told) {
  fixture f;
  f.open();
  f.out = buf(100, std::byte{0x11});  // earlier replies, not sent yet
  f.src.due = srv::push_clock::now();
  auto r = f.s.push(f.src.due, 0, f.out, 20);  // the push takes 43 bytes
  EXPECT_EQ(r.sent, 0U);
  EXPECT_EQ(r.skipped, 1U);
  EXPECT_EQ(f.src.dropped, 1);
  EXPECT_EQ(f.out, buf(100, std::byte{0x11}));  // unchanged
  // Room for one push of two: the second is dropped.
  r = f.s.push(f.src.due + 100ms, 0, f.out, 50);
  EXPECT_EQ(r.sent, 1U);
  f.src.due = f.src.due + 150ms;
  r = f.s.push(f.src.due, 0, f.out, 50 - 43);
  EXPECT_EQ(r.skipped, 1U);
  EXPECT_EQ(f.src.sent, 1);
  EXPECT_EQ(f.src.dropped, 2);
  EXPECT_EQ(f.out.size(), 143U);
}

TEST(push, sources_are_bounded_per_connection) {
  fixture f;
  std::vector<test_source> more(srv::max_push_sources);
  std::size_t added = 0;
  for (test_source& m : more) added += f.s.cpu_services().add_push_source(m) ? 1U : 0U;
  // The fixture's source took one, the services' own two (programmer jobs, mode events).
  EXPECT_EQ(added, srv::max_push_sources - 3);
}
