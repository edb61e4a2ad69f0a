// The timing of pushes in `protos7 replay` (issue 13, conformance/replay/README.md "Pushes"): a
// capture with time-driven cyclic pushes, recorded at run time from protos7 itself (the recorder
// of `protos7 serve --capture`, pcap_writer.hpp, and the codec-built client of tools/client),
// replayed against protos7:
//   - as recorded: every push exact or equivalent, with the interval compared, and the replay
//     takes about the capture's span (its pushes are waited for at the capture's pace);
//   - with the cyclic transfer request changed (by the codec's writers) to ask a third of the
//     recorded interval: the target then pushes three times as often as the capture shows, and
//     the pushes' verdict is `mismatch` because of the interval.
// Only the captures written here (into a temporary directory, removed after) are used.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "protos7/capture/capture.hpp"
#include "protos7/client/connection.hpp"
#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/ud_cyclic.hpp"
#include "protos7/codec/writer.hpp"
#include "protos7/learn/inproc.hpp"
#include "protos7/replay/replay.hpp"
#include "protos7/server/pcap_writer.hpp"
#include "protos7/server/profile.hpp"
#include "protos7/stream/stream.hpp"

namespace protos7 {
namespace {

using namespace std::chrono_literals;
namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
namespace cyc = codec::s7::cyclic;
using clock_type = std::chrono::steady_clock;

// The recorded subscription: time base 100 ms x 3, held for 1.65 s (five pushes), then ended.
constexpr std::uint8_t recorded_factor = 3;
constexpr std::uint8_t mutated_factor = 1;
constexpr auto held = 1650ms;

template <typename F>
std::vector<std::byte> encoded(F&& fn) {
  std::array<std::byte, 512> buf{};
  codec::writer w{buf};
  fn(w);
  const auto n = w.finish();
  EXPECT_TRUE(n);
  return {buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n ? *n : 0)};
}

ud::param request_param(std::uint8_t sub) {
  ud::param p;
  p.length = 4;
  p.method = ud::method_request;
  p.type = static_cast<std::uint8_t>(ud::type::request);
  p.group = static_cast<std::uint8_t>(ud::group::cyclic);
  p.subfunction = sub;
  return p;
}

// A cyclic transfer of DB1.DBB0, 2 bytes (a DB of the sample PLC), every `factor` x 100 ms.
std::vector<std::byte> transfer_data(std::uint8_t factor) {
  s7::any_address a;
  a.tsize = 0x02;  // BYTE
  a.count = 2;
  a.db = 1;
  a.area = 0x84;  // DB
  const auto payload = encoded([&](codec::writer& w) {
    cyc::write_request_head(w, 1, cyc::timebase::ms100, factor);
    s7::write_any(w, a);
  });
  return encoded([&](codec::writer& w) { ud::write_data_unit(w, 0xFF, 0x09, payload); });
}

std::shared_ptr<const server::plc_profile> bundled() {
  return std::make_shared<server::plc_profile>(server::bundled_profile());
}

// A client's session with protos7, recorded into `path`: the cyclic transfer, `held` of its
// pushes, the unsubscribe, the close.
void record_session(const std::string& path) {
  server::capture_recorder rec(path);
  learn::inproc_options io;
  io.observer = &rec;
  learn::inproc_server srv(bundled(), io);
  client::connection c({"127.0.0.1", srv.port()}, {});
  const auto prm = encoded(
      [](codec::writer& w) { ud::write_param(w, request_param(cyc::sub::cyclic_transfer)); });
  const s7::pdu a = c.request(s7::rosctr::userdata, prm, transfer_data(recorded_factor));
  const auto m = ud::parse(a);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->prm.error_code, 0);
  std::this_thread::sleep_for(held);
  const auto uprm =
      encoded([](codec::writer& w) { ud::write_param(w, request_param(cyc::sub::unsubscribe)); });
  const auto udata = encoded([&](codec::writer& w) {
    const auto u = encoded([&](codec::writer& x) {
      cyc::write_unsubscribe(x, {0x05, m->prm.seq});
    });
    ud::write_data_unit(w, 0xFF, 0x09, u);
  });
  (void)c.request(s7::rosctr::userdata, uprm, udata);
}

// The client's cyclic transfer request re-encoded to ask `factor`: the frame to write instead.
std::vector<std::byte> with_factor(const stream::record& r, std::uint8_t factor) {
  const auto m = s7::decode(r.s7);
  if (!m || m->p.hdr.type != s7::rosctr::userdata || !m->ud.has_data ||
      m->ud.prm.group != static_cast<std::uint8_t>(ud::group::cyclic) ||
      m->ud.prm.subfunction != cyc::sub::cyclic_transfer || r.segments != 1)
    return r.tpkt;
  const auto c = ud::parse_cyclic_request(m->ud.data.payload, nullptr);
  if (!c) return r.tpkt;
  const auto payload = encoded([&](codec::writer& w) {
    cyc::write_request_head(w, c->item_count, c->timebase, factor);
    w.raw(c->items);
  });
  const auto prm = encoded([&](codec::writer& w) { ud::write_param(w, m->ud.prm); });
  const auto data = encoded([&](codec::writer& w) {
    ud::write_data_unit(w, m->ud.data.return_code, m->ud.data.tsize, payload);
  });
  std::array<std::byte, 512> pdu{};
  const auto n = s7::encode(m->p.hdr, prm, data, pdu);
  if (!n) return r.tpkt;
  return encoded([&](codec::writer& w) {
    codec::tpkt::write_header(w, codec::cotp::dt_header_size + *n);
    codec::cotp::write_dt_header(w, true);
    w.raw(std::span<const std::byte>(pdu.data(), *n));
  });
}

server::pcap_writer::time_point at(double t) {
  return server::pcap_writer::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(t)));
}

// The capture at `from` written again to `to`, its cyclic transfer requests asking `factor`.
void mutate(const std::string& from, const std::string& to, std::uint8_t factor) {
  capture::capture_file file;
  capture::load_error err;
  ASSERT_TRUE(capture::load(from, file, err)) << err.message;
  const auto conns = stream::extract(file);
  ASSERT_EQ(conns.size(), 1U);
  ASSERT_FALSE(conns[0].records.empty());
  server::pcap_writer w(to);
  const server::pcap_writer::endpoint client{{127, 0, 0, 1}, 40000};
  const server::pcap_writer::endpoint plc{{127, 0, 0, 1}, 102};
  w.open(1, client, plc, at(conns[0].records.front().time));
  std::size_t changed = 0;
  for (const stream::record& r : conns[0].records) {
    std::vector<std::byte> bytes = r.side == 0 && r.has_s7 ? with_factor(r, factor) : r.tpkt;
    changed += bytes != r.tpkt ? 1U : 0U;
    w.data(1, r.side == 0, bytes, at(r.time));
  }
  w.close(1, false, at(conns[0].records.back().time));
  w.flush();
  ASSERT_EQ(changed, 1U);
}

struct replayed {
  replay::capture_report report;
  double seconds = 0.0;
  std::vector<const replay::answer*> pushes;
  std::size_t failures = 0;
};

replayed replay_against_protos7(const std::string& path) {
  learn::inproc_server srv(bundled());
  replay::options o;
  o.tgt = {"127.0.0.1", srv.port()};
  o.linger = 50ms;  // as `protos7 replay` in-process
  replayed r;
  const auto t0 = clock_type::now();
  r.report = replay::replay_capture(path, o);
  r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  for (const replay::connection_report& c : r.report.connections)
    for (const replay::answer& a : c.answers) {
      if (a.service.find("(PLC push)") != std::string::npos) r.pushes.push_back(&a);
      if (replay::is_failure(a.v)) ++r.failures;
    }
  return r;
}

// The captured push interval and the target's, from a push verdict's detail (0, 0 if absent).
std::pair<int, int> intervals(const std::string& detail) {
  static const std::regex re{"interval ([0-9]+) ms, capture ([0-9]+) ms"};
  std::smatch m;
  if (!std::regex_search(detail, m, re)) return {0, 0};
  return {std::stoi(m[1].str()), std::stoi(m[2].str())};
}

// Each test records its own session (ctest runs each test in a process of its own, in
// parallel): into a directory of the temporary directory named after the process, the file
// named after the test (never into the working tree, whatever the working directory).
class push_timing : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / fmt::format("protos7-push-timing-{}", ::getpid());
    std::filesystem::create_directories(dir_);
    const auto& dir = dir_;
    base_ = (dir / ::testing::UnitTest::GetInstance()->current_test_info()->name()).string();
    recorded_ = base_ + "_300ms.pcap";
    record_session(recorded_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
  std::string base_;
  std::string recorded_;
};

TEST_F(push_timing, recorded_cyclic_pushes_replay_at_the_capture_pace_with_the_interval_compared) {
  const replayed r = replay_against_protos7(recorded_);
  ASSERT_TRUE(r.report.loaded) << r.report.error;
  EXPECT_EQ(r.failures, 0U);
  // Five pushes in 1.65 s at 300 ms (the recorder's time stamps); one may fall at the edge.
  ASSERT_GE(r.pushes.size(), 4U);
  ASSERT_LE(r.pushes.size(), 6U);
  std::size_t compared = 0;
  for (const replay::answer* a : r.pushes) {
    EXPECT_TRUE(a->v == replay::verdict::exact || a->v == replay::verdict::equivalent) << a->detail;
    const auto [got, want] = intervals(a->detail);
    if (want == 0) continue;
    ++compared;
    EXPECT_NEAR(want, 300, 60) << a->detail;
    EXPECT_NEAR(got, 300, 150) << a->detail;
    EXPECT_NE(a->detail.find("the request asked 300 ms"), std::string::npos) << a->detail;
  }
  EXPECT_EQ(compared, r.pushes.size());
  // The replay waits for the pushes as the capture paces them: about the 1.65 s the client held
  // the subscription (a fastest-pace replay that did not wait took 0.1 s, its pushes missing).
  EXPECT_GT(r.seconds, 1.2);
  EXPECT_LT(r.seconds, 4.0);
}

TEST_F(push_timing, a_target_pushing_at_another_interval_is_a_mismatch) {
  const std::string mutated = base_ + "_asks_100ms.pcap";
  mutate(recorded_, mutated, mutated_factor);
  const replayed r = replay_against_protos7(mutated);
  ASSERT_TRUE(r.report.loaded) << r.report.error;
  ASSERT_FALSE(r.pushes.empty());
  std::size_t different = 0;
  for (const replay::answer* a : r.pushes) {
    const auto [got, want] = intervals(a->detail);
    ASSERT_NE(want, 0) << a->detail;
    EXPECT_NEAR(want, 300, 60) << a->detail;
    EXPECT_NEAR(got, 100, 45) << a->detail;
    EXPECT_EQ(a->v, replay::verdict::mismatch) << a->detail;
    EXPECT_NE(a->detail.find("timing differs"), std::string::npos) << a->detail;
    ASSERT_FALSE(a->fields.empty());
    EXPECT_EQ(a->fields.back().name, "protos7.push.interval_ms");
    different += a->v == replay::verdict::mismatch ? 1U : 0U;
  }
  EXPECT_EQ(different, r.pushes.size());
  // The target's pushes come three times as fast as the capture's: nothing to wait for.
  EXPECT_LT(r.seconds, 1.2);
}

}  // namespace
}  // namespace protos7
