// protos7::client against an in-process protos7 server (the bundled S7-300 profile, RAM DBs).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protos7/client/connection.hpp"
#include "protos7/client/operations.hpp"
#include "protos7/codec/mc7.hpp"
#include "protos7/codec/step7_address.hpp"
#include "protos7/codec/szl.hpp"
#include "test_client.hpp"

namespace {

using protos7::client::client_error;
using protos7::client::connection;
using protos7::client::endpoint;
using protos7::client::failure;
using protos7::codec::s7::any_address;
namespace client = protos7::client;
namespace step7 = protos7::codec::step7;

any_address operand(std::string_view text) {
  const auto a = step7::parse(text);
  EXPECT_TRUE(a.ok()) << text;
  return *a;
}

endpoint local(std::uint16_t port) {
  return {"127.0.0.1", port};
}

TEST(client_endpoint, reads_hosts_ports_and_ipv6) {
  endpoint e;
  EXPECT_TRUE(client::parse_endpoint("plc1", e));
  EXPECT_EQ(e.host, "plc1");
  EXPECT_EQ(e.port, 102);
  EXPECT_TRUE(client::parse_endpoint("10.0.0.5:1102", e));
  EXPECT_EQ(e.host, "10.0.0.5");
  EXPECT_EQ(e.port, 1102);
  EXPECT_TRUE(client::parse_endpoint("[::1]:1102", e));
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 1102);
  EXPECT_TRUE(client::parse_endpoint("fe80::1", e, 102));
  EXPECT_EQ(e.host, "fe80::1");
  EXPECT_EQ(e.port, 102);
  EXPECT_FALSE(client::parse_endpoint("plc:0", e));
  EXPECT_FALSE(client::parse_endpoint("plc:70000", e));
  EXPECT_FALSE(client::parse_endpoint("[::1", e));
  EXPECT_FALSE(client::parse_endpoint(":102", e));
}

TEST(client_connection, negotiates_the_pdu_size) {
  p7test::running_server s;
  s.cfg().pdu_size = 240;
  s.start();
  connection c(local(s.port()), {});
  EXPECT_EQ(c.pdu_size(), 240);
  EXPECT_EQ(c.peer(), "127.0.0.1:" + std::to_string(s.port()));
}

bool has_ipv6_loopback() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

TEST(client_connection, reaches_a_server_listening_on_ipv6_loopback) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this host";
  p7test::running_server s;
  s.cfg().listen_address = "::1";
  s.start();
  connection c({"::1", s.port()}, {});
  EXPECT_EQ(c.peer(), "[::1]:" + std::to_string(s.port()));
  const auto r = client::read_var(c, std::vector<any_address>{operand("DB1.DBB7")});
  ASSERT_EQ(r.size(), 1U);
  EXPECT_EQ(r[0].data, std::vector<std::byte>{std::byte{7}});
}

TEST(client_connection, a_closed_port_is_unreachable_and_a_wrong_slot_refused) {
  std::uint16_t closed = 0;
  {
    p7test::running_server s;
    s.start();
    closed = s.port();
  }
  try {
    connection c(local(closed), {});
    FAIL() << "connected to a closed port";
  } catch (const client_error& e) {
    EXPECT_EQ(e.kind(), failure::unreachable) << e.what();
  }
  p7test::running_server s;
  s.start();
  client::options o;
  o.slot = 3;
  try {
    connection c(local(s.port()), o);
    FAIL() << "slot 3 accepted";
  } catch (const client_error& e) {
    EXPECT_EQ(e.kind(), failure::refused) << e.what();
  }
}

TEST(client_operations, writes_and_reads_back_memory) {
  p7test::running_server s;
  s.start();
  connection c(local(s.port()), {});
  const std::vector<any_address> items{operand("MW10"), operand("DB2.DBX1.3")};
  const std::vector<std::vector<std::byte>> data{{std::byte{0x00}, std::byte{0x2A}},
                                                 {std::byte{0x01}}};
  const auto codes = client::write_var(c, items, data);
  ASSERT_EQ(codes.size(), 2U);
  EXPECT_EQ(codes[0], 0xFF);
  EXPECT_EQ(codes[1], 0xFF);
  const auto r = client::read_var(c, std::vector<any_address>{operand("MW10"), operand("DB2.DBB1"),
                                                              operand("DB1.DBB4 BYTE 3")});
  ASSERT_EQ(r.size(), 3U);
  EXPECT_EQ(r[0].data, data[0]);
  EXPECT_EQ(r[1].data, std::vector<std::byte>{std::byte{0x08}});  // bit 3
  // DB1 holds the pattern byte i = i (test_client.hpp).
  EXPECT_EQ(r[2].data, (std::vector<std::byte>{std::byte{4}, std::byte{5}, std::byte{6}}));
}

TEST(client_operations, reports_item_errors_per_item) {
  p7test::running_server s;
  s.start();
  connection c(local(s.port()), {});
  const auto r =
      client::read_var(c, std::vector<any_address>{operand("DB999.DBW0"), operand("DB1.DBW0")});
  ASSERT_EQ(r.size(), 2U);
  EXPECT_EQ(r[0].return_code, 0x0A);
  EXPECT_EQ(client::return_code_text(r[0].return_code), "object does not exist (0x0A)");
  EXPECT_EQ(r[1].return_code, 0xFF);
}

TEST(client_operations, reads_an_szl_split_over_several_pdus) {
  p7test::running_server s;
  s.cfg().pdu_size = 240;
  s.start();
  connection c(local(s.port()), {});
  // SZL 0x0011 of the bundled profile (the S7-300's module identification): 28-byte records.
  const client::szl_answer a = client::read_szl(c, 0x0011, 0x0000);
  EXPECT_EQ(a.id, 0x0011);
  EXPECT_EQ(a.record_length, 28);
  EXPECT_GT(a.record_count, 0);
  EXPECT_EQ(a.records.size(), std::size_t{a.record_length} * a.record_count);
  // The component identification (0x001C: 34-byte records) of the bundled profile is longer
  // than one answer of a 240-byte PDU holds (214 bytes): the rest comes with follow-up requests.
  const client::szl_answer all = client::read_szl(c, 0x001C, 0x0000);
  EXPECT_EQ(all.records.size(), std::size_t{all.record_length} * all.record_count);
  EXPECT_GT(all.records.size(), 240U - 26U);
  // So is the list of the SFCs (4 bytes each, 52 a telegram at PDU 240).
  std::uint16_t sfcs = 0;
  for (const auto& bc : client::list_blocks(c))
    if (bc.type == client::block_type_code("SFC")) sfcs = bc.count;
  EXPECT_GT(sfcs, (240U - 32U) / 4U);
  EXPECT_EQ(client::list_blocks_of_type(c, client::block_type_code("SFC")).size(), sfcs);
}

TEST(client_operations, lists_blocks_and_uploads_ob1) {
  p7test::running_server s;
  s.start();
  connection c(local(s.port()), {});
  const auto counts = client::list_blocks(c);
  ASSERT_FALSE(counts.empty());
  std::uint16_t obs = 0;
  for (const auto& bc : counts)
    if (bc.type == client::block_type_code("OB")) obs = bc.count;
  EXPECT_GE(obs, 1);
  const auto list = client::list_blocks_of_type(c, client::block_type_code("OB"));
  EXPECT_EQ(list.size(), obs);
  const std::vector<std::byte> ob1 = client::upload(c, client::block_type_code("OB"), 1);
  const auto b = protos7::codec::mc7::decode(ob1);
  ASSERT_TRUE(b.ok()) << protos7::codec::to_string(b.err().code);
  EXPECT_EQ(b->hdr.number, 1);
  EXPECT_EQ(b->hdr.block_type, 0x08);
}

TEST(client_operations, a_missing_block_is_refused_with_the_cpu_error) {
  p7test::running_server s;
  s.start();
  connection c(local(s.port()), {});
  try {
    (void)client::upload(c, client::block_type_code("FB"), 4711);
    FAIL() << "uploaded a block that does not exist";
  } catch (const client_error& e) {
    EXPECT_EQ(e.kind(), failure::refused) << e.what();
    EXPECT_NE(e.code(), 0);
  }
}

TEST(client_block_types, names_and_codes) {
  EXPECT_EQ(client::block_type_code("db"), 0x0A);
  EXPECT_EQ(client::block_type_code("SFB"), 0x0F);
  EXPECT_EQ(client::block_type_code("XY"), 0);
  EXPECT_EQ(client::block_type_name(0x0C), "FC");
  EXPECT_EQ(client::block_type_name(0x01), "");
}

}  // namespace
