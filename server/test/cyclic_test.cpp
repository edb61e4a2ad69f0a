// Cyclic services (cyclic.hpp) over real sockets: the answers and pushes of the captured S7-400
// (wincc_s400_production.pcapng, read from $PROTOS7_FIELD_PCAP_DIR, never copied) byte for byte,
// pushes of cyclic transfer at the interval and of change-driven transfer when another session
// writes, the CPU's and the connection's job limit (0xD805), unsubscribe.
#include <map>
#include <string>

#include "field_frames.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/ud_cyclic.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/server/profile.hpp"
#include "protos7/stream/stream.hpp"
#include "test_client.hpp"

using namespace p7test;

namespace {

namespace stream = protos7::stream;
namespace ud = protos7::codec::s7::ud;
namespace cyc = protos7::codec::s7::cyclic;
namespace srv = protos7::server;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr const char* production = "wincc_s400_production.pcapng";

// The group 2 Userdata PDUs of the capture's connections, in order.
struct captured {
  std::uint64_t frame = 0;
  buf pdu;
  ud::param prm;
};
bool cyclic_pdus(std::vector<captured>& out, std::string& why) {
  std::vector<stream::connection_records> conns;
  if (!load_field_connections(production, conns, why)) return false;
  for (const stream::connection_records& c : conns)
    for (const stream::record& r : c.records) {
      if (!r.has_s7) continue;
      const auto m = s7::decode(r.s7);
      if (!m || m->p.hdr.type != s7::rosctr::userdata ||
          m->ud.prm.group != static_cast<std::uint8_t>(ud::group::cyclic))
        continue;
      out.push_back(captured{r.frame, buf(r.s7.begin(), r.s7.end()), m->ud.prm});
    }
  return true;
}
const captured* at_frame(const std::vector<captured>& all, std::uint64_t frame) {
  for (const captured& c : all)
    if (c.frame == frame) return &c;
  return nullptr;
}

// Userdata group 2 request: | reserved | count | time base | factor | items | (or `payload`).
buf cyclic_request(std::uint16_t ref, std::uint8_t sub, std::uint8_t seq, const buf& payload) {
  ud::param prm;
  prm.length = 4;
  prm.method = ud::method_request;
  prm.type = static_cast<std::uint8_t>(ud::type::request);
  prm.group = static_cast<std::uint8_t>(ud::group::cyclic);
  prm.subfunction = sub;
  prm.seq = seq;
  buf p(8), d(payload.size() + 4);
  writer pw{p};
  ud::write_param(pw, prm);
  writer dw{d};
  ud::write_data_unit(dw, 0xFF, 0x09, payload);
  buf out(12 + p.size() + d.size());
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = ref;
  out.resize(*s7::encode(h, p, d, out));
  return out;
}
// One S7ANY BYTE item on DB `db` at `byte`, `n` bytes, every time base * factor.
buf subscribe_db(std::uint16_t ref, std::uint8_t sub, std::uint16_t db, std::uint32_t byte,
                 std::uint16_t n, std::uint8_t timebase = 0, std::uint8_t factor = 1) {
  buf payload(4 + 12);
  writer w{payload};
  cyc::write_request_head(w, 1, timebase, factor);
  s7::write_any(w, any(2, n, 0x84, db, byte));
  return cyclic_request(ref, sub, 0, payload);
}

// The next PDU that is (or is not) a push; pushes waiting for a request's answer are skipped.
std::optional<buf> next_userdata(client& c, bool push, int timeout_ms = 3000) {
  const auto until = steady::now() + std::chrono::milliseconds{timeout_ms};
  while (steady::now() < until) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - steady::now());
    auto r = c.read_pdu(static_cast<int>(std::max<long long>(left.count(), 1)));
    if (!r) return std::nullopt;
    const auto m = s7::decode(*r);
    if (!m) return r;  // let the caller see it fail
    const bool is_push = m->p.hdr.type == s7::rosctr::userdata &&
                         m->ud.prm.type == static_cast<std::uint8_t>(ud::type::push);
    if (is_push == push) return r;
  }
  return std::nullopt;
}

struct cyclic_fixture : ::testing::Test {
  srv::config cfg = make_cfg(32, 32);
  std::unique_ptr<running_server> s;
  std::unique_ptr<client> c, w;  // the subscriber and a second session that writes
  static srv::config make_cfg(std::uint16_t per_cpu, std::uint16_t per_connection) {
    srv::config cfg;
    cfg.pdu_size = 960;
    auto p = std::make_shared<srv::plc_profile>(
        srv::parse_profile(srv::bundled_profile_json(), "bundled"));
    p->max_cyclic_jobs = per_cpu;
    p->max_cyclic_jobs_per_connection = per_connection;
    cfg.profile = p;
    return cfg;
  }
  void start(const std::map<std::uint16_t, std::size_t>& dbs = {}) {
    s = std::make_unique<running_server>(cfg);
    for (const auto& [db, n] : dbs) s->mem().add_db(ram_db(db, n, true));
    s->start();
    c = std::make_unique<client>(s->port());
    w = std::make_unique<client>(s->port());
    ASSERT_TRUE(c->open(960, 8));
    ASSERT_TRUE(w->open(960));
  }
  // Write Var of `data` at DB `db` byte `byte` from the second session.
  void put(std::uint16_t db, std::uint32_t byte, std::span<const std::byte> data) {
    const std::array items{any(2, static_cast<std::uint16_t>(data.size()), 0x84, db, byte)};
    const std::array d{wdata{0x04, buf(data.begin(), data.end()), {}}};
    const auto r =
        w->transact(client::job(7, var_param(s7::function::write_var, items), write_data(d)));
    ASSERT_TRUE(r);
    const auto m = s7::decode(*r);
    ASSERT_TRUE(m);
    ASSERT_EQ(to_hex(m->p.data), "ff") << "writing DB" << db;
  }
  // Gives the DBREAD areas of a captured request the values its captured answer (or push) has.
  void preload(const captured& request, const captured& values) {
    const auto q = s7::decode(request.pdu);
    const auto a = s7::decode(values.pdu);
    ASSERT_TRUE(q && a);
    const auto r = ud::parse_cyclic_request(q->ud.data.payload, nullptr);
    const auto d = cyc::parse_data(a->ud.data.payload, nullptr);
    ASSERT_TRUE(r && d) << "frames " << request.frame << ", " << values.frame;
    s7::var_spec_iterator specs{r->items, r->item_count, nullptr};
    s7::data_item_iterator items{d->items, d->item_count, nullptr};
    s7::var_spec v;
    s7::data_item item;
    while (specs.next(v) && items.next(item)) {
      ASSERT_EQ(v.syntax, static_cast<std::uint8_t>(s7::syntax_id::dbread));
      s7::dbread_area area;
      s7::dbread_area_answer answered;
      for (std::size_t i = 0; s7::dbread_at(v, i, area); ++i) {
        ASSERT_TRUE(s7::dbread_answer_at(item.data, v, i, answered)) << values.frame;
        put(area.db, area.start, answered.data);
      }
    }
  }
};

// The DBs the captured requests read, as large as their largest read.
std::map<std::uint16_t, std::size_t> dbs_read(const std::vector<captured>& all) {
  std::map<std::uint16_t, std::size_t> size;
  for (const captured& c : all) {
    if (c.prm.type != static_cast<std::uint8_t>(ud::type::request) ||
        !cyc::carries_items(c.prm.subfunction))
      continue;
    const auto m = s7::decode(c.pdu);
    const auto r = ud::parse_cyclic_request(m->ud.data.payload, nullptr);
    if (!r) continue;
    s7::var_spec_iterator it{r->items, r->item_count, nullptr};
    s7::var_spec v;
    s7::dbread_area a;
    while (it.next(v))
      for (std::size_t i = 0; s7::dbread_at(v, i, a); ++i)
        size[a.db] = std::max(size[a.db], std::size_t{a.start} + a.length);
  }
  return size;
}

// The captured answer to the request at index `i` (same PDU reference, type response).
const captured* answer_to(const std::vector<captured>& all, std::size_t i) {
  for (std::size_t k = i + 1; k < all.size(); ++k)
    if (all[k].prm.type == static_cast<std::uint8_t>(ud::type::response) &&
        s7::decode(all[k].pdu)->p.hdr.pdu_ref == s7::decode(all[i].pdu)->p.hdr.pdu_ref)
      return &all[k];
  return nullptr;
}

}  // namespace

// Every group 2 request of the capture (set up, modify, unsubscribe: 242 of them), sent as WinCC
// sent it after the DBs were given the values the CPU answered: each answer equals the CPU's,
// job ids (sequence numbers) included.
TEST_F(cyclic_fixture, answers_every_captured_request_as_the_s7_400_did) {
  std::vector<captured> all;
  std::string why;
  if (!cyclic_pdus(all, why)) GTEST_SKIP() << why;
  start(dbs_read(all));
  std::size_t answered = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].prm.type != static_cast<std::uint8_t>(ud::type::request)) continue;
    const captured* a = answer_to(all, i);
    ASSERT_NE(a, nullptr) << "frame " << all[i].frame;
    if (cyc::carries_items(all[i].prm.subfunction)) preload(all[i], *a);
    c->send_pdu(all[i].pdu);
    const auto r = next_userdata(*c, false);
    ASSERT_TRUE(r) << "frame " << all[i].frame;
    EXPECT_EQ(to_hex(*r), to_hex(a->pdu)) << "request frame " << all[i].frame;
    ++answered;
  }
  EXPECT_EQ(answered, 242U);
}

// Job 1 changed by frame 70 (modify, 1 s), then the values of the push of frame 80 written by
// another session: the next push is frame 80 byte for byte (PDU reference 0, type push,
// subfunction 7, sequence 1).
TEST_F(cyclic_fixture, pushes_a_change_as_the_captured_push) {
  std::vector<captured> all;
  std::string why;
  if (!cyclic_pdus(all, why)) GTEST_SKIP() << why;
  const captured *setup = at_frame(all, 22), *setup_answer = at_frame(all, 23);
  const captured *modify = at_frame(all, 70), *modify_answer = at_frame(all, 71);
  const captured* pushed = at_frame(all, 80);
  ASSERT_TRUE(setup && setup_answer && modify && modify_answer && pushed);
  start(dbs_read(all));
  preload(*setup, *setup_answer);
  c->send_pdu(setup->pdu);
  ASSERT_TRUE(next_userdata(*c, false));
  preload(*modify, *modify_answer);
  c->send_pdu(modify->pdu);
  const auto r = next_userdata(*c, false);
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), to_hex(modify_answer->pdu));
  preload(*modify, *pushed);
  const auto p = next_userdata(*c, true, 2500);
  ASSERT_TRUE(p) << "no push within 2.5 s of the change";
  EXPECT_EQ(to_hex(*p), to_hex(pushed->pdu));
}

// Change-driven transfer every 100 ms: a Write Var of another session is pushed within a few
// intervals; no push while nothing changes; a write of the same value is no change.
TEST_F(cyclic_fixture, change_driven_pushes_what_another_session_writes) {
  start({{5, 16}});
  const auto r = c->transact(subscribe_db(0x100, cyc::sub::change_driven, 5, 2, 2));
  ASSERT_TRUE(r);
  // Answer: job 1, current values 00 00 (reserved 00, one item ff 04 0010 0000).
  EXPECT_EQ(to_hex(*r).substr(20), "000112081282050100000000ff0900080001ff0400100000");
  EXPECT_FALSE(next_userdata(*c, true, 350)) << "pushed without a change";
  const buf v = hex("1234");
  put(5, 2, v);
  const auto t0 = steady::now();
  const auto p = next_userdata(*c, true, 1000);
  ASSERT_TRUE(p);
  EXPECT_LT(steady::now() - t0, 600ms);  // the 100 ms interval, with room for a loaded CI
  const auto m = s7::decode(*p);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->p.hdr.pdu_ref, 0);
  EXPECT_EQ(m->ud.prm.subfunction, cyc::sub::change_driven);
  EXPECT_EQ(m->ud.prm.seq, 1);
  EXPECT_EQ(to_hex(m->ud.data.payload), "0001ff0400101234");
  put(5, 2, v);  // the same value again
  EXPECT_FALSE(next_userdata(*c, true, 350)) << "pushed an unchanged value";
}

// Cyclic transfer every 100 ms pushes at the interval whether or not anything changes.
TEST_F(cyclic_fixture, cyclic_transfer_pushes_at_every_interval) {
  start({{5, 16}});
  const auto r = c->transact(subscribe_db(0x100, cyc::sub::cyclic_transfer, 5, 0, 4));
  ASSERT_TRUE(r);
  const auto t0 = steady::now();
  for (int i = 0; i < 5; ++i) {
    const auto p = next_userdata(*c, true, 1000);
    ASSERT_TRUE(p);
    const auto m = s7::decode(*p);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->ud.prm.subfunction, cyc::sub::cyclic_transfer);
    EXPECT_EQ(to_hex(m->ud.data.payload), "0001ff04002000000000");
  }
  const auto took = steady::now() - t0;
  EXPECT_GE(took, 450ms);  // five intervals of 100 ms (the first 100 ms after the answer)
  EXPECT_LT(took, 2s);     // not a burst, not stalled (room for a loaded CI)
  s->srv().stop();
}

// The CPU's limit (profile max_cyclic_jobs) over all connections and the connection's own:
// 0xD805 when no more job can be set up; an unsubscribed job frees its id and its place.
TEST_F(cyclic_fixture, no_more_jobs_is_0xd805_and_unsubscribe_frees_the_job) {
  cfg = make_cfg(3, 2);
  start({{5, 16}});
  const auto job_of = [](const std::optional<buf>& r) {
    const auto m = s7::decode(*r);
    return std::pair{int(m->ud.prm.seq), int(m->ud.prm.error_code)};
  };
  EXPECT_EQ(job_of(c->transact(subscribe_db(1, 5, 5, 0, 1, 1, 1))), std::pair(1, 0));
  EXPECT_EQ(job_of(c->transact(subscribe_db(2, 5, 5, 0, 1, 1, 1))), std::pair(2, 0));
  // The connection's limit (2).
  const auto refused = c->transact(subscribe_db(3, 5, 5, 0, 1, 1, 1));
  EXPECT_EQ(to_hex(*refused).substr(20), "00011208128205000000d8050a000000");
  // The CPU's limit (3): one more on the other connection, then none.
  EXPECT_EQ(job_of(w->transact(subscribe_db(4, 5, 5, 0, 1, 1, 1))), std::pair(1, 0));
  EXPECT_EQ(job_of(w->transact(subscribe_db(5, 5, 5, 0, 1, 1, 1))).second, 0xD805);
  // Unsubscribe job 1 (function 5, as WinCC): answered 0A 00 0000 with sequence 1.
  const auto u = c->transact(cyclic_request(6, cyc::sub::unsubscribe, 0, hex("0501")));
  EXPECT_EQ(to_hex(*u).substr(20), "0001120812820401000000000a000000");
  EXPECT_EQ(job_of(w->transact(subscribe_db(7, 5, 5, 0, 1, 1, 1))), std::pair(2, 0));
  EXPECT_EQ(job_of(c->transact(subscribe_db(8, 5, 5, 0, 1, 1, 1))).second, 0xD805);
}

// Malformed requests and a modify of a job that does not exist change nothing.
TEST_F(cyclic_fixture, bad_requests_are_refused_and_set_up_nothing) {
  start({{5, 16}});
  // Time base 3 does not exist: 0xD405.
  const auto tb = c->transact(subscribe_db(1, 5, 5, 0, 1, 3, 1));
  EXPECT_EQ(s7::decode(*tb)->ud.prm.error_code, 0xD405);
  // An item list shorter than its count: 0xD405.
  const auto bad = c->transact(cyclic_request(2, cyc::sub::change_driven, 0, hex("00020001")));
  EXPECT_EQ(s7::decode(*bad)->ud.prm.error_code, 0xD405);
  // Modify of job 9: no such job, answered like its unsubscribe.
  buf payload(4 + 12);
  writer pw{payload};
  cyc::write_request_head(pw, 1, 0, 1);
  s7::write_any(pw, any(2, 1, 0x84, 5, 0));
  const auto m = c->transact(cyclic_request(3, cyc::sub::change_driven_modify, 9, payload));
  EXPECT_EQ(to_hex(*m).substr(20), "0001120812820709000000000a000000");
  // Nothing was set up: the first job gets id 1.
  const auto ok = c->transact(subscribe_db(4, 5, 5, 0, 1));
  EXPECT_EQ(s7::decode(*ok)->ud.prm.seq, 1);
  EXPECT_FALSE(next_userdata(*c, true, 250)) << "a refused job pushed";
}
