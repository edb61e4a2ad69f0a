// The web traffic view as a tap: requests paired with their replies, results formatted on
// demand. Regression: a Write Var reply with a failed item once made the tap loop forever
// (a short-circuited read), which stalled the event loop (interop WriteMultiVars).
#include "protos7/webadmin/traffic.hpp"

#include <gtest/gtest.h>

#include <string>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/tpkt.hpp"
#include "test_client.hpp"

namespace {

namespace s7 = protos7::codec::s7;
using event = protos7::server::session_event;

// The S7 PDU of one TPKT frame holding one COTP DT.
protos7::codec::bytes pdu_of(const p7test::buf& frame) {
  const auto f = protos7::codec::tpkt::parse(frame);
  const auto t = protos7::codec::cotp::parse(f->payload);
  return t->user_data;
}

// What a session reports for a request frame (header parsed as the session parses it).
void request(protos7::webadmin::traffic_monitor& tap, int id, const p7test::buf& frame) {
  const auto pdu = pdu_of(frame);
  const auto parsed = s7::parse(pdu);
  ASSERT_TRUE(parsed);
  tap.on_traffic(id, frame, {});
  tap.on_event(id, {.what = event::kind::request,
                    .cr = nullptr,
                    .pdu = pdu,
                    .parsed = &*parsed,
                    .decoded = nullptr});
}

// A reply, with the session's self check (decoded) or without it (the monitor decodes it).
void reply(protos7::webadmin::traffic_monitor& tap, int id, const p7test::buf& frame,
           bool self_checked) {
  const auto pdu = pdu_of(frame);
  s7::message m;
  ASSERT_FALSE(s7::decode(pdu, m));
  tap.on_traffic(id, {}, frame);
  tap.on_event(id, {.what = event::kind::reply,
                    .cr = nullptr,
                    .pdu = pdu,
                    .parsed = nullptr,
                    .decoded = self_checked ? &m : nullptr});
}

// Write Var of DB999.DBB0 and DB1.DBB0, 2 bytes each (PDU reference 7).
p7test::buf two_item_write() {
  return p7test::hex(
      "0300003702f080 32010000000700 1a000c 0502"
      "120a1002000203e784000000 120a100200020001840000 00"
      "000400100102 000400100304");
}

}  // namespace

TEST(traffic_monitor, a_write_var_reply_with_a_failed_item_is_logged_and_counted) {
  for (const bool self_checked : {true, false}) {
    protos7::webadmin::traffic_monitor tap;
    tap.on_open(5, "127.0.0.1:40000");
    // Write Var: DB999.DBB0 (2 bytes) and DB1.DBB0 (2 bytes); reply: 0x0A, 0xFF.
    const auto job = p7test::hex(
        "0300003702f080 32010000000500 1a000c 0502"
        "120a1002000203e784000000 120a100200020001840000 00"
        "000400100102 000400100304");
    const auto answer = p7test::hex("0300001702f080 32030000000500020002 0000 0502 0aff");
    request(tap, 5, job);
    reply(tap, 5, answer, self_checked);
    const auto clients = tap.clients_json();
    ASSERT_EQ(clients.size(), 1U);
    EXPECT_EQ(clients[0]["writes"], 1);
    EXPECT_EQ(clients[0]["errors"], 1);
    const auto log = tap.requests_json(10);
    ASSERT_EQ(log.size(), 1U);
    EXPECT_EQ(log[0]["function"], "Write Var");
    EXPECT_EQ(log[0]["items"].size(), 2U);
    EXPECT_EQ(log[0]["result"], "item 1: object does not exist (0x0A)");
    EXPECT_EQ(log[0]["ok"], false);
    EXPECT_EQ(log[0]["peer"], "127.0.0.1:40000");
    EXPECT_EQ(clients[0]["bytes_in"], job.size());
    EXPECT_EQ(clients[0]["bytes_out"], answer.size());
  }
}

TEST(traffic_monitor, a_request_without_reply_is_logged_when_the_connection_closes) {
  protos7::webadmin::traffic_monitor tap;
  tap.on_open(6, "127.0.0.1:40001");
  const auto read =
      p7test::hex("0300001f02f080 320100000009000e0000 0401120a100400010001840000 00");
  request(tap, 6, read);
  EXPECT_EQ(tap.requests_json(10).size(), 0U);  // still pending
  tap.on_close(6);
  const auto log = tap.requests_json(10);
  ASSERT_EQ(log.size(), 1U);
  EXPECT_EQ(log[0]["result"], "no reply (connection closed)");
  EXPECT_EQ(log[0]["items"][0], "DB1.DBW0");
}

TEST(traffic_monitor, takes_the_sessions_item_count_and_the_servers_read_time) {
  // The reply says both items failed; the session counted none (its count is what it wrote, so
  // the monitor takes it without walking the items again). The request was read at t and the
  // reply made 3 ms later: the log shows 3 ms, with no clock read of the monitor's own.
  protos7::webadmin::traffic_monitor tap;
  tap.on_open(8, "127.0.0.1:40002");
  const auto job = two_item_write();
  const auto answer = p7test::hex("0300001702f080 32030000000700020002 0000 0502 0a0a");
  const auto at = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  const auto pdu = pdu_of(job);
  const auto parsed = s7::parse(pdu);
  ASSERT_TRUE(parsed);
  tap.on_event(8, {.what = event::kind::request, .pdu = pdu, .parsed = &*parsed, .at = at});
  const auto reply_pdu = pdu_of(answer);
  s7::message m;
  ASSERT_FALSE(s7::decode(reply_pdu, m));
  tap.on_event(8, {.what = event::kind::reply,
                   .pdu = reply_pdu,
                   .decoded = &m,
                   .failed_items = 0,
                   .at = at + std::chrono::milliseconds(3)});
  EXPECT_EQ(tap.clients_json()[0]["errors"], 0);
  const auto log = tap.requests_json(10);
  ASSERT_EQ(log.size(), 1U);
  EXPECT_EQ(log[0]["ok"], false);  // the record is described from the bytes kept
  EXPECT_DOUBLE_EQ(log[0]["duration_ms"].get<double>(), 3.0);
}

TEST(traffic_monitor, without_the_self_check_takes_a_var_replys_header_and_the_sessions_count) {
  // serve --no-reply-check: the session passes no decoded reply. A Write Var answer is then
  // judged by its header and the session's count of failed items (nothing decoded again);
  // a reply without a count is decoded by the monitor.
  protos7::webadmin::traffic_monitor tap;
  tap.on_open(9, "127.0.0.1:40003");
  const auto job = two_item_write();
  const auto answer = p7test::hex("0300001702f080 32030000000700020002 0000 0502 ff0a");
  const auto reply_pdu = pdu_of(answer);  // a view into `answer`
  for (const int count : {1, 0, -1}) {    // -1: no count, the monitor decodes the reply
    request(tap, 9, job);
    tap.on_event(9, {.what = event::kind::reply, .pdu = reply_pdu, .failed_items = count});
  }
  // 1 error as the session counted it, then 0 as it counted it (taken as it is), then 1 of
  // the monitor's own decoding.
  EXPECT_EQ(tap.clients_json()[0]["errors"], 2);
  EXPECT_EQ(tap.requests_json(10).size(), 3U);
}
