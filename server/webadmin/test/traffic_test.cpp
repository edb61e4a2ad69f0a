// The web traffic view as a tap: requests paired with their replies, results formatted on
// demand. Regression: a Write Var reply with a failed item once made the tap loop forever
// (a short-circuited read), which stalled the event loop (interop WriteMultiVars).
#include "protos7/webadmin/traffic.hpp"

#include <gtest/gtest.h>

#include <string>

#include "test_client.hpp"

TEST(traffic_monitor, a_write_var_reply_with_a_failed_item_is_logged_and_counted) {
  protos7::webadmin::traffic_monitor tap;
  tap.on_open(5, "127.0.0.1:40000");
  // Write Var: DB999.DBB0 (2 bytes) and DB1.DBB0 (2 bytes); reply: 0x0A, 0xFF.
  const auto job = p7test::hex(
      "0300003702f080 32010000000500 1a000c 0502"
      "120a1002000203e784000000 120a100200020001840000 00"
      "000400100102 000400100304");
  const auto reply = p7test::hex("0300001702f080 32030000000500020002 0000 0502 0aff");
  tap.on_traffic(5, job, reply);
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
}

TEST(traffic_monitor, a_request_without_reply_is_logged_when_the_connection_closes) {
  protos7::webadmin::traffic_monitor tap;
  tap.on_open(6, "127.0.0.1:40001");
  const auto read =
      p7test::hex("0300001f02f080 320100000009000e0000 0401120a100400010001840000 00");
  tap.on_traffic(6, read, {});
  EXPECT_EQ(tap.requests_json(10).size(), 0U);  // still pending
  tap.on_close(6);
  const auto log = tap.requests_json(10);
  ASSERT_EQ(log.size(), 1U);
  EXPECT_EQ(log[0]["result"], "no reply (connection closed)");
  EXPECT_EQ(log[0]["items"][0], "DB1.DBW0");
}
