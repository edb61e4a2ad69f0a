// Alarm indications pushed to subscribed connections (alarm_push.hpp), over sockets against a
// running server with the bundled profile's alarms (ALARM_SQ 1 on DB100.DBX0.1 with DB100.DBW4
// as associated value, ALARM_S 2 on DB100.DBX0.0 with DB100.DBW2).
#include "protos7/server/alarm_push.hpp"

#include <gtest/gtest.h>

#include "protos7/codec/ud_alarm.hpp"
#include "test_client.hpp"

using namespace p7test;

namespace {

namespace ud = s7::ud;
namespace alarm = s7::alarm;

// Message service request: | events | 00 | "HmiRtm  " | [alarm type | 00] | (frames 3 and 6 of
// wincc_s300_setup-alarm-read.pcapng), written with the codec's writers.
buf subscribe(std::uint16_t ref, std::uint8_t events, std::uint8_t alarm_type) {
  const buf prm = hex("000112 04 11 44 02 00");
  const buf name = hex("486d6952746d2020");
  alarm::subscription sub;
  sub.events = events;
  sub.username = name;
  sub.has_alarm_type = (events & alarm::events::alarms) != 0;
  sub.alarm_type = alarm_type;
  buf body(12);
  protos7::codec::writer bw{body};
  alarm::write_subscription(bw, sub);
  body.resize(bw.size());
  buf data(4 + body.size());
  protos7::codec::writer dw{data};
  ud::write_data_unit(dw, 0xFF, 0x09, body);
  buf out(12 + prm.size() + data.size());
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = ref;
  out.resize(*s7::encode(h, prm, data, out));
  return out;
}

struct pushes : ::testing::Test {
  running_server s;
  std::unique_ptr<client> hmi, writer_client;
  void SetUp() override {
    s.mem().add_db(ram_db(100, 40));
    s.start();
    hmi = std::make_unique<client>(s.port());
    writer_client = std::make_unique<client>(s.port());
    ASSERT_TRUE(hmi->open(480));
    ASSERT_TRUE(writer_client->open(480));
  }
  // DB100 byte `byte` := v from the other client.
  void put(std::uint32_t byte, buf v) {
    const std::array items{any(2, static_cast<std::uint16_t>(v.size()), 0x84, 100, byte)};
    const std::array d{wdata{0x04, std::move(v), {}}};
    const auto r = writer_client->transact(
        client::job(9, var_param(s7::function::write_var, items), write_data(d)));
    ASSERT_TRUE(r);
  }
};

}  // namespace

TEST_F(pushes, a_signal_written_by_another_client_is_pushed_to_the_subscriber) {
  const auto a = hmi->transact(subscribe(1, 0x81, alarm::almtype::alarm_s_initiate));
  ASSERT_TRUE(a);
  put(4, hex("01 2c"));  // Level 300: the associated value
  put(0, hex("02"));     // Horn on: ALARM_SQ 1 comes
  const auto p = hmi->read_pdu(2000);
  ASSERT_TRUE(p) << "no indication pushed";
  const auto pp = s7::parse(*p);
  ASSERT_TRUE(pp);
  EXPECT_EQ(pp->hdr.pdu_ref, 0);
  const auto m = ud::parse(*pp);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->prm.type, static_cast<std::uint8_t>(ud::type::push));
  EXPECT_EQ(m->prm.subfunction, alarm::sub::alarmsq_ind);
  const auto msg = alarm::parse_message(m->prm.subfunction, m->prm.type, m->data.payload,
                                        m->data.payload.data());
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->function, 0x40);
  alarm::object o;
  alarm::object_iterator it{*msg, m->data.payload.data()};
  ASSERT_TRUE(it.next(o));
  EXPECT_EQ(o.event_id, 1U);
  EXPECT_EQ(o.event_state, 0x01);
  EXPECT_EQ(to_hex(o.values), "ff050010012c");  // INT item, 16 bits, 300
  // Horn off: it goes. The Lamp (ALARM_S 2) with it: two indications.
  put(0, hex("01"));
  std::vector<std::pair<std::uint32_t, std::uint8_t>> seen;
  for (int i = 0; i < 2; ++i) {
    const auto q = hmi->read_pdu(2000);
    ASSERT_TRUE(q);
    const auto qm = ud::parse(*s7::parse(*q));
    ASSERT_TRUE(qm);
    const auto qmsg = alarm::parse_message(qm->prm.subfunction, qm->prm.type, qm->data.payload,
                                           qm->data.payload.data());
    ASSERT_TRUE(qmsg);
    alarm::object_iterator qi{*qmsg, qm->data.payload.data()};
    ASSERT_TRUE(qi.next(o));
    seen.emplace_back(o.event_id, o.event_state);
  }
  EXPECT_EQ(seen, (std::vector<std::pair<std::uint32_t, std::uint8_t>>{{1, 0x00}, {2, 0x01}}));
}

TEST_F(pushes, nothing_is_pushed_without_or_after_a_subscription) {
  // Subscribed to ALARM_8 only: the bundled alarms are ALARM_S / ALARM_SQ.
  ASSERT_TRUE(hmi->transact(subscribe(1, 0x81, alarm::almtype::alarm_initiate)));
  put(0, hex("03"));
  EXPECT_FALSE(hmi->read_pdu(400));
  // Subscribed, then every event class ended: nothing either.
  ASSERT_TRUE(hmi->transact(subscribe(2, 0x81, alarm::almtype::alarm_s_initiate)));
  ASSERT_TRUE(hmi->transact(subscribe(3, 0x00, 0)));
  put(0, hex("00"));
  EXPECT_FALSE(hmi->read_pdu(400));
}
