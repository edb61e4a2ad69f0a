// CPU functions other than Read SZL (ud_alarm.hpp): the message service, alarm messages and
// indications, the alarm query answer and the diagnostic message, with PDUs of the field
// captures (../shared/pcaps/field, `tshark -T fields -e tcp.payload`) written field by field.
#include "protos7/codec/ud_alarm.hpp"

#include <gtest/gtest.h>

#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_data.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::view;
namespace alarm = s7::alarm;

struct ud_frame {
  byte_vec frame;
  bytes payload;
  std::uint8_t type = 0;
  std::uint8_t subfunction = 0;
  explicit ud_frame(byte_vec f) : frame(std::move(f)) {
    const auto m = test::decode_frame(view(frame));
    EXPECT_TRUE(m.ok()) << ::testing::PrintToString(m.err());
    if (!m) return;
    payload = m->ud.data.payload;
    type = m->ud.prm.type;
    subfunction = m->ud.prm.subfunction;
  }
  const std::byte* origin() const { return frame.data(); }
};

// wincc_s400_production.pcapng frame 19: an ALARM_8 indication with 8 associated values.
byte_vec alarm8_indication() {
  return hex(
      "0300 0063 02f080"
      "32 07 0000 0000 0008 004a"
      "000112 04 11 04 05 00"    // push, CPU functions, ALARM_8 indication
      "ff 09 0046"               // 70 bytes
      "94 01 06 00 27 20 39 75"  // 1994-01-06 00:27:20.397, Thursday
      "40 01"                    // function 0x40, one object
      "12 0a 16"                 // ALARM_IND, length 10
      "08 000000af 00 00 fe fe"  // 8 values, event 0xaf, states, ack states
      "ff 04 0010 0001"          // the values: WORDs
      "ff 04 0010 ffff"
      "ff 04 0010 ffff"
      "ff 04 0010 ffff"
      "ff 04 0010 ffff"
      "ff 04 0010 ffff"
      "ff 04 0010 ffff"
      "ff 04 0010 ffff");
}

// wincc_s400_production.pcapng frame 18: the answer to an ALARM query, four ALARM_8 datasets.
byte_vec query_answer() {
  return hex(
      "0300 0057 02f080"
      "32 07 0000 0a00 000c 003a"
      "000112 08 12 84 13 8a 00 00 0000"  // response, CPU functions, ALARM query
      "ff 09 0036"
      "00 01 ff 09 0030"  // function 0, 1 object, rc 0xff, tsize 9, 48 bytes
      "0a 0000 02 0000002f 00 00 cf cf"
      "0a 0000 02 000000af 00 01 fe fe"
      "0a 0000 02 000000bb 00 04 ff fb"
      "0a 0000 02 000000c2 00 30 ff cf");
}

TEST(alarm_message_service, subscription_and_answer) {
  // wincc_s400_production frames 5 and 6.
  const ud_frame req{
      hex("0300002702f0803207000004000008000e0001120411440200ff09000a"
          "01 00 533743484e5f3032")};
  const auto s = alarm::parse_subscription(req.payload, req.origin());
  ASSERT_DECODES(s);
  EXPECT_EQ(s->events, alarm::events::mode_transition);
  EXPECT_BYTES_EQ(s->username, view(hex("533743484e5f3032")));  // "S7CHN_02"
  EXPECT_FALSE(s->has_alarm_type);
  EXPECT_WRITES([&](writer& w) { alarm::write_subscription(w, *s); }, req.payload);
  const ud_frame ans{
      hex("0300002302f080320700000400000c000600011208128402ff00000000ff090002"
          "02 00")};
  const auto a = alarm::parse_subscription_answer(ans.payload, ans.origin());
  ASSERT_DECODES(a);
  EXPECT_EQ(a->result, 2);
  EXPECT_WRITES([&](writer& w) { alarm::write_subscription_answer(w, *a); }, ans.payload);
}

TEST(alarm_message_service, alarm_type_only_with_the_alarms_bit) {
  const byte_vec with = hex("81 00 4f53202020202020 09 00");
  const auto s = alarm::parse_subscription(view(with), nullptr);
  ASSERT_DECODES(s);
  EXPECT_TRUE(s->has_alarm_type);
  EXPECT_EQ(s->alarm_type, alarm::almtype::alarm_s_initiate);
  EXPECT_WRITES([&](writer& w) { alarm::write_subscription(w, *s); }, view(with));
  const byte_vec without_bit = hex("01 00 4f53202020202020 09 00");
  EXPECT_FAILS_WITH(alarm::parse_subscription(view(without_bit), nullptr), userdata_bad_payload,
                    userdata, 0U);
  const byte_vec no_name = hex("01 00");
  EXPECT_FAILS_WITH(alarm::parse_subscription(view(no_name), nullptr), userdata_bad_payload,
                    userdata, 0U);
  const byte_vec answer5 = hex("02 00 09 00 00");
  const auto a = alarm::parse_subscription_answer(view(answer5), nullptr);
  ASSERT_DECODES(a);
  EXPECT_TRUE(a->has_alarm_type);
  EXPECT_WRITES([&](writer& w) { alarm::write_subscription_answer(w, *a); }, view(answer5));
  const byte_vec answer3 = hex("02 00 09");
  EXPECT_FAILS_WITH(alarm::parse_subscription_answer(view(answer3), nullptr), userdata_bad_payload,
                    userdata, 0U);
}

TEST(alarm_message, indication_with_timestamp_object_and_values) {
  const ud_frame f{alarm8_indication()};
  ASSERT_EQ(f.subfunction, alarm::sub::alarm8_ind);
  const auto m = alarm::parse_message(f.subfunction, f.type, f.payload, f.origin());
  ASSERT_DECODES(m);
  EXPECT_TRUE(m->has_timestamp);
  EXPECT_BYTES_EQ(m->timestamp, view(hex("9401060027203975")));
  EXPECT_EQ(m->function, 0x40);
  EXPECT_EQ(m->object_count, 1);
  alarm::object_iterator it{*m, f.origin()};
  alarm::object o;
  ASSERT_TRUE(it.next(o));
  EXPECT_EQ(o.offset, 39U);
  EXPECT_EQ(o.syntax, 0x16);
  EXPECT_EQ(o.value_count, 8);
  EXPECT_EQ(o.event_id, 0xafU);
  EXPECT_EQ(o.ack_going, 0xfe);
  EXPECT_EQ(o.values.size(), 48U);
  // The values are Read Var data items.
  s7::data_item_iterator values{o.values, o.value_count, f.origin()};
  s7::data_item d;
  ASSERT_TRUE(values.next(d));
  EXPECT_BYTES_EQ(d.data, view(hex("0001")));
  EXPECT_FALSE(it.next(o));
  // Written back: head, object, values.
  EXPECT_WRITES(
      [&](writer& w) {
        alarm::write_message_head(w, f.subfunction, m->timestamp, m->function, 1);
        alarm::write_object(w, o);
        w.raw(o.values);
      },
      f.payload);
}

TEST(alarm_message, notify_indication_values_of_several_sizes) {
  // wincc_s400_production frame 351: NOTIFY indication, one ALARM_IND object with 3 values.
  const byte_vec payload =
      hex("94 01 06 00 47 42 69 75"
          "40 01"
          "12 0a 16 03 00000001 01 00 01 01"
          "ff 04 0100 0000000000000000000000000000000000000000000000000000000000000000"
          "ff 04 0020 00000000"
          "ff 04 0020 00000000");
  const auto m = alarm::parse_message(alarm::sub::notify_ind, 0, view(payload), nullptr);
  ASSERT_DECODES(m);
  alarm::object_iterator it{*m, nullptr};
  alarm::object o;
  ASSERT_TRUE(it.next(o));
  EXPECT_EQ(o.event_id, 1U);
  EXPECT_EQ(o.event_state, 1);
  EXPECT_EQ(o.values.size(), 52U);
}

TEST(alarm_message, query_request_and_its_answer_codes) {
  // wincc_s300_setup-alarm-read frame 12: query by alarm type ALARM_S.
  const ud_frame f{
      hex("0300002902f080320700000002000800100001120411441300ff09000c"
          "00 01"
          "12 08 1a 00 01 34 00000004")};
  const auto m = alarm::parse_message(f.subfunction, f.type, f.payload, f.origin());
  ASSERT_DECODES(m);
  EXPECT_FALSE(m->has_timestamp);
  alarm::object_iterator it{*m, f.origin()};
  alarm::object o;
  ASSERT_TRUE(it.next(o));
  EXPECT_EQ(o.query_type, alarm::query_type::by_alarm_type);
  EXPECT_EQ(o.query_value, alarm::alarm_type::alarm_s);
  EXPECT_WRITES(
      [&](writer& w) {
        alarm::write_message_head(w, f.subfunction, {}, 0, 1);
        alarm::write_object(w, o);
      },
      f.payload);
  // An answer (type response) holds one return code per object.
  const byte_vec answer = hex("00 02 ff 0a");
  const auto a = alarm::parse_message(alarm::sub::alarm8_lock, 8, view(answer), nullptr);
  ASSERT_DECODES(a);
  EXPECT_TRUE(a->answer);
  EXPECT_BYTES_EQ(a->objects, view(hex("ff0a")));
}

TEST(alarm_message, rejects_objects_that_do_not_fit) {
  const byte_vec bad_length = hex("00 01 12 09 1a 00 01 34 00000004 00");
  EXPECT_FAILS_WITH(alarm::parse_message(alarm::sub::alarm_query, 4, view(bad_length), nullptr),
                    item_bad_length, userdata, 3U);
  const byte_vec missing = hex("00 02 12 08 1a 00 01 34 00000004");
  EXPECT_FAILS_WITH(alarm::parse_message(alarm::sub::alarm_query, 4, view(missing), nullptr),
                    userdata_bad_item_count, userdata, 1U);
  const byte_vec unknown = hex("00 01 12 03 77 00 00");
  EXPECT_FAILS_WITH(alarm::parse_message(alarm::sub::alarm_query, 4, view(unknown), nullptr),
                    item_unknown_syntax, userdata, 4U);
  EXPECT_TRUE(alarm::parse_message(alarm::sub::alarm_query, 4, view(unknown), nullptr,
                                   s7::item_options{true})
                  .ok());
  const byte_vec short_value =
      hex("9401060027203975 40 01 12 0a 16 01 000000af 00 00 fe fe ff 04 0010 00");
  EXPECT_FAILS_WITH(alarm::parse_message(alarm::sub::alarm8_ind, 0, view(short_value), nullptr),
                    data_item_truncated, s7_data, 24U);
  const byte_vec answer_count = hex("00 02 ff");
  EXPECT_FAILS_WITH(alarm::parse_message(alarm::sub::alarm8_lock, 8, view(answer_count), nullptr),
                    userdata_bad_item_count, userdata, 1U);
}

TEST(alarm_query_answer, walks_the_datasets) {
  const ud_frame f{query_answer()};
  const auto a = alarm::parse_query_answer(f.payload, f.origin());
  ASSERT_DECODES(a);
  EXPECT_EQ(a->return_code, 0xFF);
  EXPECT_EQ(a->complete_length, 48);
  alarm::dataset_iterator it{*a, f.origin()};
  alarm::query_dataset d;
  std::size_t n = 0;
  std::uint32_t last_event = 0;
  while (it.next(d)) {
    ++n;
    last_event = d.event_id;
    EXPECT_EQ(d.alarm_type, alarm::alarm_type::alarm_8);
    EXPECT_EQ(d.length, 10);
  }
  EXPECT_EQ(n, 4U);
  EXPECT_EQ(last_event, 0xc2U);
  const auto write_all = [&](writer& w) {
    alarm::write_query_answer_head(w, *a);
    alarm::dataset_iterator again{*a, f.origin()};
    alarm::query_dataset x;
    while (again.next(x)) alarm::write_query_dataset(w, x);
  };
  EXPECT_WRITES(write_all, f.payload);
}

TEST(alarm_query_answer, an_error_has_no_datasets_and_alarm_s_has_stamps_and_values) {
  // wincc_s300_setup-alarm-read frame 14: return code 0x0a, complete length 0.
  const byte_vec none = hex("00 01 0a 00 0000");
  const auto e = alarm::parse_query_answer(view(none), nullptr);
  ASSERT_DECODES(e);
  EXPECT_TRUE(e->datasets.empty());
  const byte_vec alarm_s =
      hex("00 01 ff 09 0028"
          "0a 0000 04 00000001 00 01 fe fe"
          "9401060027203975"
          "ff 04 0010 0001"
          "0000000000000000"
          "ff 04 0010 0000");
  const auto s = alarm::parse_query_answer(view(alarm_s), nullptr);
  ASSERT_DECODES(s);
  alarm::dataset_iterator it{*s, nullptr};
  alarm::query_dataset d;
  ASSERT_TRUE(it.next(d));
  EXPECT_BYTES_EQ(d.value_coming, view(hex("ff0400100001")));
  EXPECT_BYTES_EQ(d.timestamp_going, view(hex("0000000000000000")));
  const byte_vec wrong_length = hex("00 01 ff 09 0030 0a 0000 02 0000002f 00 00 cf cf");
  EXPECT_FAILS_WITH(alarm::parse_query_answer(view(wrong_length), nullptr), userdata_bad_item_count,
                    userdata, 4U);
  const byte_vec open = hex("00 01 ff 09 ffff 0a 0000 02 0000002f 00 00 cf cf 00");
  const auto o = alarm::parse_query_answer(view(open), nullptr);
  ASSERT_DECODES(o);
  EXPECT_EQ(o->datasets.size(), 12U);
}

TEST(alarm_diagnostic_message, decodes_a_stop_entry) {
  // step7_s300_stop.pcapng frame 3: event 0x4304 (STOP by PG), OB 132, 1994-01-09.
  const ud_frame f{
      hex("0300003102f080320700000000000800180001120411040300ff090014"
          "4304 ff 84 0000 0000 00000000 9401092153421521")};
  const auto d = alarm::parse_diagnostic_message(f.payload, f.origin());
  ASSERT_DECODES(d);
  EXPECT_EQ(d->event_id, 0x4304);
  EXPECT_EQ(d->priority_class, 0xff);
  EXPECT_EQ(d->ob_number, 0x84);
  EXPECT_BYTES_EQ(d->timestamp, view(hex("9401092153421521")));
  EXPECT_WRITES([&](writer& w) { alarm::write_diagnostic_message(w, *d); }, f.payload);
  const byte_vec short19 = hex("4304 ff 84 0000 0000 00000000 94010921534215");
  EXPECT_FAILS_WITH(alarm::parse_diagnostic_message(view(short19), nullptr), userdata_bad_payload,
                    userdata, 0U);
}

}  // namespace
}  // namespace protos7::codec
