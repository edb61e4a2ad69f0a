// The message and alarm services (alarms.hpp) against the frames of the WinCC field captures:
// subscriptions and ALARM queries sent to protos7 as captured must get the captured answers, and
// the indication builder must write the captured pushes byte for byte. The captures are read
// from $PROTOS7_FIELD_PCAP_DIR (../shared/pcaps/field by default), never copied; a missing
// capture skips its test with a message.
#include "protos7/server/alarms.hpp"

#include <map>
#include <string>

#include "field_frames.hpp"
#include "protos7/codec/ud_alarm.hpp"
#include "protos7/server/profile.hpp"
#include "test_client.hpp"

using namespace p7test;

namespace {

namespace stream = protos7::stream;
namespace capture = protos7::capture;
namespace srv = protos7::server;
namespace ud = s7::ud;
namespace alarm = s7::alarm;
using bytes = std::span<const std::byte>;

constexpr const char* s400 = "wincc_s400_production.pcapng";
constexpr const char* s300 = "wincc_s300_setup-alarm-read.pcapng";

// The S7 PDUs of a capture by frame number. False (with a message) when it cannot be read.
bool pdus(const std::string& name, std::map<std::uint64_t, buf>& out, std::string& why) {
  return p7test::load_field_pdus(name, out, why);
}

// The Userdata data unit payload of a PDU.
buf payload_of(const buf& pdu) {
  const auto p = s7::parse(pdu);
  if (!p) return {};
  const auto m = ud::parse(*p);
  if (!m || !m->has_data) return {};
  return buf(m->data.payload.begin(), m->data.payload.end());
}

// A Userdata answer without its sequence number (a CPU's own counter, which replay also takes as
// equivalent): the header, the parameter with seq 0, the data.
std::string without_seq(const buf& pdu) {
  const auto p = s7::parse(pdu);
  if (!p) return "not an S7 PDU";
  const auto m = ud::parse(*p);
  if (!m) return "not Userdata";
  ud::param prm = m->prm;
  prm.seq = 0;
  buf pb(ud::long_param_length);
  protos7::codec::writer w{pb};
  ud::write_param(w, prm);
  pb.resize(w.size());
  return to_hex(pb) + " | " + to_hex(p->data);
}

srv::profile_alarm mk(std::uint32_t id, srv::alarm_kind k) {
  srv::profile_alarm a;
  a.event_id = id;
  a.kind = k;
  return a;
}

// A Userdata request PDU from its parameter and data blocks.
buf ud_request(std::uint16_t ref, const buf& prm, const buf& data) {
  buf out(12 + prm.size() + data.size());
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = ref;
  out.resize(*s7::encode(h, prm, data, out));
  return out;
}

// The signals of the S7-400's four ALARM_8 alarms as the first query found them (frame 18),
// each signal SIG_n on DB 50 byte (alarm index), bit n-1.
std::vector<srv::profile_alarm> s400_alarms() {
  struct row {
    std::uint32_t id;
    std::uint8_t ack;
  };
  std::vector<srv::profile_alarm> out;
  const row rows[] = {{0x2F, 0xCF}, {0xAF, 0xFE}, {0xBB, 0xFF}, {0xC2, 0xFF}};
  for (std::uint32_t i = 0; i < 4; ++i) {
    srv::profile_alarm a;
    a.event_id = rows[i].id;
    a.kind = srv::alarm_kind::alarm_8;
    for (std::uint8_t b = 0; b < 8; ++b) a.signals.push_back({0x84, 50, i, b});
    a.ack_going = rows[i].ack;
    a.ack_coming = rows[i].id == 0xBB ? 0xFB : rows[i].id == 0xC2 ? 0xCF : rows[i].ack;
    out.push_back(std::move(a));
  }
  return out;
}

struct alarm_server : ::testing::Test {
  std::map<std::uint64_t, buf> frames;
  std::unique_ptr<running_server> s;
  std::unique_ptr<client> c;
  void start(std::vector<srv::profile_alarm> alarms) {
    auto p = std::make_shared<srv::plc_profile>(srv::bundled_profile());
    p->alarms = std::move(alarms);
    srv::config cfg;
    cfg.profile = p;
    s = std::make_unique<running_server>(cfg);
    s->mem().add_db(ram_db(50, 8));
    s->start();
    c = std::make_unique<client>(s->port());
    ASSERT_TRUE(c->open(480));
  }
  // Writes one byte of DB 50 with a Write Var (the alarms' signals).
  void put(std::uint32_t byte, std::uint8_t v) {
    const std::array items{any(2, 1, 0x84, 50, byte)};
    const std::array d{wdata{0x04, buf{std::byte{v}}, {}}};
    const auto r =
        c->transact(client::job(9, var_param(s7::function::write_var, items), write_data(d)));
    ASSERT_TRUE(r);
  }
  // Sends the captured request `req` and expects the captured answer `ans` (seq aside).
  void expect_answer(std::uint64_t req, std::uint64_t ans) {
    const auto r = c->transact(frames.at(req));
    ASSERT_TRUE(r) << "request frame " << req;
    EXPECT_EQ(without_seq(*r), without_seq(frames.at(ans))) << "request frame " << req;
  }
};

}  // namespace

// WinCC subscribing on the S7-300 (mode transitions, then ALARM_S, then ending both) and on the
// S7-400 (ALARM_8): every answer as captured, the alarm type echoed with | 01 00 |.
TEST_F(alarm_server, message_service_answers_as_captured) {
  std::string why;
  if (!pdus(s300, frames, why)) GTEST_SKIP() << why;
  start({});
  expect_answer(3, 5);  // events 0x01, "HmiRtm": 02 00
  expect_answer(6, 9);  // events 0x81, ALARM_S initiate: 02 00 09 01 00
  frames.clear();
  ASSERT_TRUE(pdus(s400, frames, why)) << why;
  expect_answer(5, 6);    // events 0x01, "S7CHN_02"
  expect_answer(15, 16);  // events 0x81, ALARM_8 initiate: 02 00 05 01 00
}

TEST(alarm_subscription, follows_initiate_abort_and_the_end_of_all_events) {
  srv::alarm_subscription sub;
  buf out(16);
  const auto ask = [&](const char* h) {
    protos7::codec::writer w{out};
    const buf req = hex(h);
    EXPECT_TRUE(srv::message_service(sub, req, w));
    return to_hex(bytes{out.data(), w.size()});
  };
  EXPECT_EQ(ask("81 00 486d6952746d2020 09 00"), "0200090100");
  EXPECT_TRUE(sub.wants(srv::alarm_kind::alarm_s));
  EXPECT_FALSE(sub.wants(srv::alarm_kind::alarm_8));
  EXPECT_EQ(ask("81 00 486d6952746d2020 05 00"), "0200050100");
  EXPECT_TRUE(sub.wants(srv::alarm_kind::notify));
  EXPECT_EQ(ask("80 00 486d6952746d2020 08 00"), "0200080100");  // ALARM_S abort
  EXPECT_FALSE(sub.wants(srv::alarm_kind::alarm_sq));
  EXPECT_TRUE(sub.wants(srv::alarm_kind::alarm_8));
  EXPECT_EQ(ask("00 00 486d6952746d2020"), "0200");  // no event class: everything ends
  EXPECT_FALSE(sub.wants(srv::alarm_kind::alarm_8));
  // Not a subscription (9 bytes): refused, nothing changed.
  sub.alarms = true;
  protos7::codec::writer w{out};
  EXPECT_FALSE(srv::message_service(sub, hex("81 00 486d6952746d20"), w));
  EXPECT_TRUE(sub.alarms);
}

// The S7-400's ALARM query (frame 17, ALARM_8 alarms) answered from the alarm list, the signal
// states in memory as frame 18 shows them; the S7-300's (ALARM_S, of which it had none) with
// return code 0x0A.
TEST_F(alarm_server, alarm_query_answers_from_the_alarm_list_as_captured) {
  std::string why;
  if (!pdus(s400, frames, why)) GTEST_SKIP() << why;
  start(s400_alarms());
  // 0x2F none, 0xAF SIG_1, 0xBB SIG_3, 0xC2 SIG_5 and SIG_6.
  put(1, 0x01);
  put(2, 0x04);
  put(3, 0x30);
  expect_answer(17, 18);
  // Frame 19 pushes that 0xAF went; the second query (frame 20) finds it gone.
  put(1, 0x00);
  expect_answer(20, 21);
  std::map<std::uint64_t, buf> s3;
  ASSERT_TRUE(pdus(s300, s3, why)) << why;
  frames = s3;
  expect_answer(12, 14);
}

TEST_F(alarm_server, a_query_longer_than_a_telegram_continues_and_a_bad_one_is_refused) {
  std::vector<srv::profile_alarm> many;
  for (std::uint32_t i = 0; i < 100; ++i) many.push_back(mk(i + 1, srv::alarm_kind::alarm_8));
  start(many);
  // Query by alarm type ALARM_8: 100 datasets of 12 bytes do not fit PDU 480.
  const buf prm = hex("000112 04 11 44 13 00");
  const auto r =
      c->transact(ud_request(5, prm, hex("ff 09 000c 00 01 12 08 1a 00 01 34 00000002")));
  ASSERT_TRUE(r);
  const auto p = s7::parse(*r);
  ASSERT_TRUE(p);
  const auto m = ud::parse(*p);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->prm.last_data_unit, ud::last_unit_no);
  EXPECT_EQ(to_hex(m->data.payload.first(6)), "0001ff0904b0");  // 1,200 bytes of datasets
  // A query object of another syntax: the CPU's error, 0xD402.
  const auto bad =
      c->transact(ud_request(6, prm, hex("ff 09 000c 00 01 12 08 1b 00 01 34 00000002")));
  ASSERT_TRUE(bad);
  const auto bp = s7::parse(*bad);
  ASSERT_TRUE(bp);
  const auto bm = ud::parse(*bp);
  ASSERT_TRUE(bm);
  EXPECT_EQ(bm->prm.error_code, 0xD402);
}

// The indication builder against the captured pushes: ALARM_8 0xAF going (frame 19: 8 WORD
// values), ALARM_8 0xC2 (frame 476: bytes, DWORDs and INTs) and NOTIFY 1 coming (frame 351).
TEST(alarm_indication, writes_the_captured_pushes_byte_for_byte) {
  std::map<std::uint64_t, buf> frames;
  std::string why;
  if (!pdus(s400, frames, why)) GTEST_SKIP() << why;
  srv::plc_memory mem{srv::area_sizes{}};
  mem.add_db(ram_db(60, 64));
  struct want {
    std::uint64_t frame;
    srv::alarm_kind kind;
    std::uint32_t id;
    std::uint8_t state, ack_going, ack_coming;
    std::vector<std::pair<std::uint8_t, std::size_t>> values;  // transport size, bytes
  };
  const want cases[] = {
      {19, srv::alarm_kind::alarm_8, 0xAF, 0x00, 0xFE, 0xFE, {8, {0x04, 2}}},
      {476,
       srv::alarm_kind::alarm_8,
       0xC2,
       0x00,
       0xCF,
       0xCF,
       {{0x04, 32}, {0x04, 4}, {0x04, 4}, {0x05, 2}, {0x05, 2}, {0x05, 2}, {0x05, 2}, {0x05, 2}}},
      {351, srv::alarm_kind::notify, 0x01, 0x01, 0x01, 0x01, {{0x04, 32}, {0x04, 4}, {0x04, 4}}},
  };
  for (const want& x : cases) {
    const buf& captured = frames.at(x.frame);
    const buf payload = payload_of(captured);
    const auto msg =
        alarm::parse_message(srv::indication_subfunction(x.kind), 0, payload, payload.data());
    ASSERT_TRUE(msg) << "frame " << x.frame;
    const auto ts = s7::value::parse_date_and_time(msg->timestamp, msg->timestamp.data());
    ASSERT_TRUE(ts) << "frame " << x.frame;
    // The associated values in DB 60, one after the other, as the frame carries them.
    srv::profile_alarm a = mk(x.id, x.kind);
    a.ack_going = x.ack_going;
    a.ack_coming = x.ack_coming;
    alarm::object o;
    alarm::object_iterator it{*msg, payload.data()};
    ASSERT_TRUE(it.next(o));
    s7::data_item_iterator items{o.values, o.value_count, payload.data()};
    s7::data_item item;
    std::uint32_t at = 0;
    for (const auto& [tsize, n] : x.values) {
      ASSERT_TRUE(items.next(item)) << "frame " << x.frame << " value " << a.values.size();
      ASSERT_EQ(item.data.size(), n) << "frame " << x.frame << " value " << a.values.size();
      ASSERT_TRUE(mem.find_db(60)->write(at, item.data));
      a.values.push_back({tsize, 0x84, 60, at, static_cast<std::uint16_t>(n), {}});
      at += static_cast<std::uint32_t>(n);
    }
    buf out(512);
    const auto n = srv::write_indication(out, a, x.state, *ts, mem);
    ASSERT_TRUE(n) << "frame " << x.frame;
    out.resize(*n);
    EXPECT_EQ(to_hex(out), to_hex(captured)) << "frame " << x.frame;
  }
}

TEST(alarm_indication, a_value_whose_memory_is_missing_is_an_error_item_and_small_buffers_fail) {
  srv::plc_memory mem{srv::area_sizes{}};
  srv::profile_alarm a = mk(7, srv::alarm_kind::alarm_s);
  a.values.push_back({0x04, 0x84, 99, 0, 2, {}});  // DB 99 does not exist
  buf out(128);
  const auto n = srv::write_indication(out, a, 1, {}, mem);
  ASSERT_TRUE(n);
  out.resize(*n);
  const auto p = s7::parse(out);
  ASSERT_TRUE(p);
  const auto m = ud::parse(*p);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->prm.subfunction, alarm::sub::alarms_ind);
  // ... | 12 0a 16 01 00000007 01 00 ff ff | 0a 00 0000 |
  EXPECT_EQ(to_hex(m->data.payload.subspan(10)), "120a1601000000070100ffff0a000000");
  buf small(20);
  EXPECT_FALSE(srv::write_indication(small, a, 1, {}, mem));
}

// Edge detection: a change of a signal bit is reported once; one not taken is reported again.
TEST(alarm_watch, reports_each_change_of_a_signal_once) {
  srv::plc_memory mem{srv::area_sizes{}};
  mem.add_db(ram_db(100, 40));
  std::vector<srv::profile_alarm> list{mk(1, srv::alarm_kind::alarm_sq),
                                       mk(2, srv::alarm_kind::alarm_8)};
  list[0].signals = {{0x84, 100, 0, 1}};
  list[1].signals = {{0x84, 100, 0, 0}, {0x84, 100, 1, 7}};
  srv::alarm_watch watch{list, mem};
  std::vector<std::pair<std::uint32_t, std::uint8_t>> seen;
  bool take = true;
  const auto poll = [&] {
    seen.clear();
    return watch.poll([&](const srv::profile_alarm& a, std::uint8_t st) {
      seen.emplace_back(a.event_id, st);
      return take;
    });
  };
  EXPECT_TRUE(poll());
  EXPECT_TRUE(seen.empty());
  ASSERT_TRUE(mem.find_db(100)->write(0, hex("02 80")));
  take = false;
  EXPECT_FALSE(poll());
  EXPECT_EQ(seen.size(), 2U);
  take = true;
  EXPECT_TRUE(poll());
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0], (std::pair<std::uint32_t, std::uint8_t>{1, 0x01}));
  EXPECT_EQ(seen[1], (std::pair<std::uint32_t, std::uint8_t>{2, 0x02}));
  EXPECT_TRUE(poll());
  EXPECT_TRUE(seen.empty());
}
