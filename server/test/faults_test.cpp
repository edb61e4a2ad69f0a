// Fault injection (faults.hpp, fault_rules.hpp) over real sockets: each action's bytes on the
// wire, the selectors and counters, and the rules format with its errors.
#include "protos7/server/faults.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <future>

#include "protos7/codec/szl.hpp"
#include "protos7/codec/transport.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/server/fault_rules.hpp"
#include "test_client.hpp"

using namespace p7test;
namespace srv = protos7::server;
namespace ud = protos7::codec::s7::ud;
using clk = std::chrono::steady_clock;

namespace {

// The example of issue 15, as written there.
constexpr const char* issue_example = R"({ "rules": [
  { "when": { "function": "read_var", "db": 1 },   "do": { "delay_ms": 400 } },
  { "when": { "function": "write_var", "db": 2 },  "do": { "item_return_code": "0x05" } },
  { "when": { "szl_id": "0x001C" },                "do": { "no_reply": true } }
] })";

// Runs `f` on the server's loop thread and waits for it.
template <class F>
void on_loop(running_server& rs, F f) {
  std::promise<void> done;
  ASSERT_TRUE(rs.srv().post([&] { f(); }, [&](bool) { done.set_value(); }));
  done.get_future().wait();
}

void set_rules(running_server& rs, const std::string& json) {
  const srv::fault_rules r = srv::parse_fault_rules(json, "test");
  on_loop(rs, [&] { rs.srv().faults().set_rules(r); });
}

std::vector<srv::fault_rule_counters> counters(running_server& rs) {
  std::vector<srv::fault_rule_counters> c;
  on_loop(rs, [&] { c = rs.srv().faults().counters(); });
  return c;
}

buf read_job(std::uint16_t ref, std::uint16_t db, std::uint32_t byte, std::uint16_t count) {
  const std::array<s7::any_address, 1> items{any(0x02, count, 0x84, db, byte)};
  return client::job(ref, var_param(s7::function::read_var, items));
}

class faults : public ::testing::Test {
 protected:
  void SetUp() override {
    rs_.start();
    c_ = std::make_unique<client>(rs_.port());
    ASSERT_TRUE(c_->open(480));
  }
  running_server rs_;
  std::unique_ptr<client> c_;
};

std::uint16_t ms_since(clk::time_point t0) {
  return static_cast<std::uint16_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clk::now() - t0).count());
}

// --- the rules format ---------------------------------------------------------------------

TEST(fault_rules, the_example_of_the_issue_is_accepted_as_written) {
  const srv::fault_rules r = srv::parse_fault_rules(issue_example, "issue 15");
  ASSERT_EQ(r.rules.size(), 3U);
  EXPECT_EQ(r.rules[0].when.function, 0x04);
  EXPECT_EQ(r.rules[0].when.db, 1);
  EXPECT_EQ(r.rules[0].act.delay_ms, 400U);
  EXPECT_EQ(r.rules[1].when.function, 0x05);
  EXPECT_EQ(r.rules[1].act.item_return_code, 0x05);
  EXPECT_EQ(r.rules[2].when.szl_id, 0x001C);
  EXPECT_TRUE(r.rules[2].act.no_reply);
  // Written back and read again: the same rules.
  EXPECT_EQ(srv::parse_fault_rules(srv::fault_rules_json(r), "again"), r);
}

TEST(fault_rules, every_selector_and_action_round_trips) {
  const char* all = R"({ "seed": 42, "rules": [
    { "name": "a", "enabled": false,
      "when": { "plc": "press", "client": "10.1.0.0/16", "connection_type": "op", "tsap": "0x0202",
                "function": "read_var", "area": "db", "db": 7, "every": 3, "probability": 0.25,
                "max": 9, "after": "1s", "until": 2.5 },
      "do": { "delay_ms": 10, "jitter_ms": 5, "wrong_pdu_ref": true, "duplicate": true,
              "cotp_segment": 7, "tcp_segment": 3, "stop": true } },
    { "name": "b", "when": { "function": "userdata", "group": "cpu", "subfunction": 1, "nth": 2 },
      "do": { "header_error": "0x8104", "trickle": { "bytes": 2, "interval_ms": 10 } } },
    { "when": { "szl_id": 28, "szl_index": "0x0001" }, "do": { "cotp_dr": "0x80", "delay_ms": 1 } },
    { "when": { "event": "connect", "connection_type": "pg" }, "do": { "reset": true } },
    { "when": { "client": "127.0.0.2" }, "do": { "refuse_connections": true } },
    { "when": { "function": "setup_communication" }, "do": { "clamp_pdu": 240, "pdu_ref": 9 } },
    { "when": { "function": "write_var" }, "do": { "item_return_code": 10, "close": false } }
  ] })";
  const srv::fault_rules r = srv::parse_fault_rules(all, "all");
  ASSERT_EQ(r.rules.size(), 7U);
  EXPECT_EQ(r.seed, 42U);
  EXPECT_EQ(r.rules[0].when.until, std::chrono::milliseconds(2500));
  EXPECT_EQ(r.rules[0].when.client->bits, 16);
  EXPECT_EQ(r.rules[4].when.event, srv::fault_event_kind::accept);
  EXPECT_EQ(srv::parse_fault_rules(srv::fault_rules_json(r), "again"), r);
}

TEST(fault_rules, refuses_what_cannot_work_and_says_where) {
  const auto error_of = [](const char* text) {
    try {
      (void)srv::parse_fault_rules(text, "f.json");
    } catch (const srv::fault_error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error_of(R"({"rules": [{"when": {"db": 1}, "do": {"delay": 4}}]})"),
            "f.json: rules[0].do.delay: unknown key (allowed here: delay_ms, jitter_ms, no_reply, "
            "close, reset, cotp_dr, header_error, item_return_code, wrong_pdu_ref, pdu_ref, "
            "duplicate, cotp_segment, tcp_segment, trickle, refuse_connections, stop, clamp_pdu)");
  EXPECT_EQ(error_of(R"({"rules": [{"when": {"db": 0}, "do": {"no_reply": true}}]})"),
            "f.json: rules[0].when.db: 0 is outside 1..65535");
  EXPECT_EQ(error_of(R"({"rules": [{"do": {"no_reply": true, "delay_ms": 5}}]})"),
            "f.json: rules[0].do: no_reply, close and reset send nothing: they cannot be combined "
            "with actions on the reply (only with \"stop\")");
  EXPECT_EQ(error_of(R"({"rules": [{"when": {"db": 2}, "do": {"item_return_code": 5}}]})"),
            "f.json: rules[0].do: item_return_code needs \"function\": \"read_var\" or "
            "\"write_var\"");
  EXPECT_EQ(
      error_of(
          R"({"rules": [{"when": {"function": "read_var"}, "do": {"item_return_code": "0xFF"}}]})"),
      "f.json: rules[0].do.item_return_code: 0xFF is not an item error code (e.g. \"0x05\" "
      "address out of range, \"0x0A\" object does not exist)");
  EXPECT_EQ(
      error_of(R"({"rules": [{"when": {"function": "raed_var"}, "do": {"stop": true}}]})"),
      "f.json: rules[0].when.function: unknown name \"raed_var\" (one of setup_communication, "
      "read_var, write_var, request_download, download_block, download_ended, start_upload, "
      "upload, end_upload, pi_service, plc_stop, or a number)");
  EXPECT_EQ(
      error_of(R"({"rules": [{"when": {"event": "connect", "db": 1}, "do": {"close": true}}]})"),
      "f.json: rules[0].when: a COTP CR is not a request: function, area, db, szl_* do not "
      "apply");
  EXPECT_EQ(error_of(R"({"rules": [{"when": {"client": "10.0.0.300"}, "do": {"stop": true}}]})"),
            "f.json: rules[0].when.client: \"10.0.0.300\" is not an IPv4 address (write "
            "\"10.0.0.5\" or \"10.0.0.0/8\")");
  EXPECT_EQ(error_of(R"({"rules": [{"name": "x", "do": {"stop": true}}, {"name": "x")"
                     R"(, "do": {"stop": true}}]})"),
            "f.json: rules[1].name: \"x\" names an earlier rule too");
  EXPECT_EQ(error_of(R"({"rules": [{"do": {"header_error": "0x0001"}}]})"),
            "f.json: rules[0].do.header_error: 0x0001: a Job's error class is 0x81, 0x82, 0x83, "
            "0x84, 0x85 or 0x87 (e.g. \"0x8500\"); any code goes only for Userdata requests "
            "(\"function\": \"userdata\")");
  EXPECT_EQ(error_of("{\"rules\": [}"), error_of("{\"rules\": [}"));  // deterministic
  EXPECT_NE(error_of("{\"rules\": [}").find("not valid JSON"), std::string::npos);
}

// --- actions on the wire ------------------------------------------------------------------

TEST_F(faults, the_issue_example_delays_db1_reads_refuses_db2_writes_and_drops_szl_001c) {
  set_rules(rs_, issue_example);
  // Read Var of DB1: delayed by 400 ms; of DB3: not.
  auto t0 = clk::now();
  ASSERT_TRUE(c_->transact(read_job(1, 3, 0, 4)));
  EXPECT_LT(ms_since(t0), 300);
  t0 = clk::now();
  const auto r = c_->transact(read_job(2, 1, 0, 4));
  ASSERT_TRUE(r);
  EXPECT_GE(ms_since(t0), 400);
  EXPECT_EQ(read_items(*r).at(0).rc, 0xFF);
  // Write Var of DB1 and DB2 in one job: DB2's item answered 0x05 and not written.
  const std::array<s7::any_address, 2> items{any(0x02, 2, 0x84, 1, 10), any(0x02, 2, 0x84, 2, 10)};
  const std::array<wdata, 2> data{wdata{0x04, hex("abcd"), {}}, wdata{0x04, hex("abcd"), {}}};
  const auto w =
      c_->transact(client::job(3, var_param(s7::function::write_var, items), write_data(data)));
  ASSERT_TRUE(w);
  const auto m = s7::decode(*w);
  ASSERT_TRUE(m);
  EXPECT_EQ(to_hex(m->p.data), "ff05");
  EXPECT_EQ(to_hex(rs_.mem().find_db(1)->bytes().subspan(10, 2)), "abcd");
  EXPECT_EQ(to_hex(rs_.mem().find_db(2)->bytes().subspan(10, 2)), "0000");
  // Read SZL 0x001C: no answer; the connection still serves the next request.
  c_->send_pdu(read_szl_request(4, 0x001C, 0));
  EXPECT_FALSE(c_->read_pdu(500));
  ASSERT_TRUE(c_->transact(read_szl_request(5, 0x0011, 0)));
  const auto n = counters(rs_);
  EXPECT_EQ(n[0].injected, 1U);
  EXPECT_EQ(n[0].matched, 1U);
  EXPECT_EQ(n[1].injected, 1U);
  EXPECT_EQ(n[2].injected, 1U);
}

TEST_F(faults, item_return_code_on_reads_keeps_the_other_items_and_their_order) {
  set_rules(rs_, R"({"rules": [{"when": {"function": "read_var", "db": 3})"
                 R"(, "do": {"item_return_code": "0x0A"}}]})");
  const std::array<s7::any_address, 3> items{any(0x02, 3, 0x84, 1, 0), any(0x02, 2, 0x84, 3, 0),
                                             any(0x02, 1, 0x84, 1, 7)};
  const auto r = c_->transact(client::job(7, var_param(s7::function::read_var, items)));
  ASSERT_TRUE(r);
  const auto got = read_items(*r);
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[0].rc, 0xFF);
  EXPECT_EQ(to_hex(got[0].data), "000102");
  EXPECT_EQ(got[1].rc, 0x0A);
  EXPECT_TRUE(got[1].data.empty());
  EXPECT_EQ(got[2].rc, 0xFF);
  EXPECT_EQ(to_hex(got[2].data), "07");
  // Every item selected: nothing goes to the session.
  const auto all = c_->transact(read_job(8, 3, 0, 2));
  ASSERT_TRUE(all);
  EXPECT_EQ(read_items(*all).at(0).rc, 0x0A);
}

TEST_F(faults, header_error_answers_a_job_and_a_userdata_request) {
  set_rules(rs_, R"({"rules": [
    {"when": {"function": "read_var"}, "do": {"header_error": "0x8500"}},
    {"when": {"szl_id": "0x0011"}, "do": {"header_error": "0xD401"}}]})");
  const auto r = c_->transact(read_job(0x1234, 1, 0, 4));
  ASSERT_TRUE(r);
  // Ack_Data, pdu_ref 0x1234, error class 0x85 code 0x00, parameter | 04 | 00 |.
  EXPECT_EQ(to_hex(*r),
            "32030000"
            "1234"
            "00020000"
            "8500"
            "0400");
  const auto u = c_->transact(read_szl_request(0x55, 0x0011, 0));
  ASSERT_TRUE(u);
  const auto m = s7::decode(*u);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->ud.prm.type, static_cast<std::uint8_t>(ud::type::response));
  EXPECT_EQ(m->ud.prm.error_code, 0xD401);
  EXPECT_EQ(m->p.hdr.pdu_ref, 0x55);
  EXPECT_EQ(m->ud.data.return_code, 0x0A);
}

TEST_F(faults, a_wrong_pdu_reference_is_exactly_that) {
  const auto normal = c_->transact(read_job(0x0100, 1, 0, 8));
  ASSERT_TRUE(normal);
  set_rules(rs_, R"({"rules": [{"when": {"function": "read_var"}, "do": {"wrong_pdu_ref": true}},
                               {"when": {"function": "write_var"}, "do": {"pdu_ref": 7}}]})");
  const auto wrong = c_->transact(read_job(0x0100, 1, 0, 8));
  ASSERT_TRUE(wrong);
  // Byte for byte the normal answer but for the PDU reference (offset 4, 2 bytes): 0x0101.
  buf expected = *normal;
  expected[5] = std::byte{0x01};
  EXPECT_EQ(to_hex(*wrong), to_hex(expected));
  const std::array<s7::any_address, 1> items{any(0x02, 1, 0x84, 1, 0)};
  const std::array<wdata, 1> data{wdata{0x04, hex("00"), {}}};
  const auto w = c_->transact(
      client::job(0xFFFF, var_param(s7::function::write_var, items), write_data(data)));
  ASSERT_TRUE(w);
  EXPECT_EQ(s7::decode(*w)->p.hdr.pdu_ref, 7);
}

TEST_F(faults, a_duplicated_reply_comes_twice) {
  set_rules(rs_, R"({"rules": [{"when": {"function": "read_var"}, "do": {"duplicate": true}}]})");
  const auto first = c_->transact(read_job(9, 1, 0, 4));
  ASSERT_TRUE(first);
  const auto second = c_->read_pdu(1000);
  ASSERT_TRUE(second);
  EXPECT_EQ(to_hex(*first), to_hex(*second));
  EXPECT_FALSE(c_->read_pdu(200));
}

TEST_F(faults, a_reply_split_into_cotp_segments_reassembles_to_the_same_pdu) {
  const auto normal = c_->transact(read_job(3, 1, 0, 40));
  ASSERT_TRUE(normal);
  set_rules(rs_, R"({"rules": [{"when": {"function": "read_var"}, "do": {"cotp_segment": 7}}]})");
  c_->send_pdu(read_job(3, 1, 0, 40));
  buf pdu;
  std::size_t frames = 0;
  for (bool eot = false; !eot;) {
    const auto f = c_->read_frame();
    ASSERT_TRUE(f);
    const auto t = cotp::parse(std::span<const std::byte>(*f).subspan(4));
    ASSERT_TRUE(t);
    ASSERT_EQ(t->type, cotp::tpdu_type::dt);
    EXPECT_LE(t->user_data.size(), 7U);
    pdu.insert(pdu.end(), t->user_data.begin(), t->user_data.end());
    eot = t->eot;
    ++frames;
  }
  EXPECT_EQ(frames, (normal->size() + 6) / 7);
  EXPECT_EQ(to_hex(pdu), to_hex(*normal));
}

TEST_F(faults, tcp_segments_and_a_trickle_deliver_the_reply_in_pieces) {
  set_rules(rs_, R"({"rules": [{"when": {"function": "read_var"})"
                 R"(, "do": {"trickle": {"bytes": 5, "interval_ms": 30}}}]})");
  c_->send_pdu(read_job(4, 1, 0, 16));  // the answer: 4 + 3 + 14 + 4 + 16 = 41 bytes
  const auto t0 = clk::now();
  std::size_t got = 0;
  std::size_t reads = 0;
  while (got < 41) {
    std::array<std::byte, 64> b{};
    pollfd p{c_->fd(), POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 2000), 0);
    const ssize_t n = ::recv(c_->fd(), b.data(), b.size(), 0);
    ASSERT_GT(n, 0);
    got += static_cast<std::size_t>(n);
    ++reads;
  }
  EXPECT_EQ(got, 41U);
  EXPECT_GE(reads, 3U);             // (a slow reader may find several steps waiting)
  EXPECT_GE(ms_since(t0), 8 * 30);  // 9 steps, 30 ms apart
  // TCP segments: the next reply leaves in 3-byte sends (the client sees it whole and unchanged).
  set_rules(rs_, R"({"rules": [{"when": {"function": "read_var"}, "do": {"tcp_segment": 3}}]})");
  const auto r = c_->transact(read_job(5, 1, 0, 16));
  ASSERT_TRUE(r);
  EXPECT_EQ(read_items(*r).at(0).data.size(), 16U);
}

TEST_F(faults, cotp_dr_carries_its_reason_and_the_connection_ends) {
  set_rules(rs_, R"({"rules": [{"when": {"function": "read_var"}, "do": {"cotp_dr": "0x80"}}]})");
  c_->send_pdu(read_job(4, 1, 0, 4));
  const auto f = c_->read_frame();
  ASSERT_TRUE(f);
  // TPKT, DR, dst-ref = the client's 0x000F, src-ref = ours (1), reason 0x80.
  EXPECT_EQ(to_hex(*f),
            "0300000b"
            "0680000f0001"
            "80");
  EXPECT_TRUE(c_->closed_by_peer());
}

TEST_F(faults, close_sends_a_fin_and_reset_an_rst) {
  set_rules(rs_, R"({"rules": [
      {"when": {"function": "read_var", "db": 1}, "do": {"close": true}},
      {"when": {"function": "read_var", "db": 3}, "do": {"reset": true}}]})");
  c_->send_pdu(read_job(1, 1, 0, 4));
  std::array<std::byte, 16> b{};
  pollfd p{c_->fd(), POLLIN, 0};
  ASSERT_GT(::poll(&p, 1, 2000), 0);
  EXPECT_EQ(::recv(c_->fd(), b.data(), b.size(), 0), 0);  // orderly EOF
  client other(rs_.port());
  ASSERT_TRUE(other.open());
  other.send_pdu(read_job(1, 3, 0, 4));
  pollfd q{other.fd(), POLLIN, 0};
  ASSERT_GT(::poll(&q, 1, 2000), 0);
  EXPECT_EQ(::recv(other.fd(), b.data(), b.size(), 0), -1);
  EXPECT_EQ(errno, ECONNRESET);
}

TEST_F(faults, refuse_connections_resets_new_connections_from_the_address) {
  set_rules(rs_, R"({"rules": [{"when": {"client": "127.0.0.2", "max": 1})"
                 R"(, "do": {"refuse_connections": true}}]})");
  client refused(rs_.port(), 0, "127.0.0.2");
  ASSERT_TRUE(refused.connected());
  std::array<std::byte, 16> b{};
  pollfd p{refused.fd(), POLLIN, 0};
  ASSERT_GT(::poll(&p, 1, 2000), 0);
  EXPECT_EQ(::recv(refused.fd(), b.data(), b.size(), 0), -1);
  EXPECT_EQ(errno, ECONNRESET);
  client again(rs_.port(), 0, "127.0.0.2");  // "max": 1: the next one gets in
  EXPECT_TRUE(again.open());
  client other(rs_.port());  // and other addresses always
  EXPECT_TRUE(other.open());
}

TEST_F(faults, stop_puts_the_cpu_in_stop_and_the_request_is_still_served) {
  set_rules(rs_,
            R"({"rules": [{"when": {"function": "read_var", "nth": 2}, "do": {"stop": true}}]})");
  ASSERT_TRUE(c_->transact(read_job(1, 1, 0, 1)));
  srv::operating_mode mode{};
  on_loop(rs_, [&] { mode = rs_.srv().plc().mode(); });
  EXPECT_EQ(mode, srv::operating_mode::run);
  const auto r = c_->transact(read_job(2, 1, 0, 1));
  ASSERT_TRUE(r);
  EXPECT_EQ(read_items(*r).at(0).rc, 0xFF);
  on_loop(rs_, [&] { mode = rs_.srv().plc().mode(); });
  EXPECT_EQ(mode, srv::operating_mode::stop);
}

TEST_F(faults, clamp_pdu_lowers_the_negotiated_pdu_size) {
  set_rules(
      rs_,
      R"({"rules": [{"when": {"function": "setup_communication"}, "do": {"clamp_pdu": 240}}]})");
  client c(rs_.port());
  const auto cc = c.connect_request(cotp::make_s7_tsap(1, 0, 2));
  ASSERT_TRUE(cc);
  const auto s = c.setup(960);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pdu_length, 240);
  // 230 bytes no longer fit an answer: 0x8500, as for any answer over the PDU size.
  const auto r = c.transact(read_job(2, 3, 0, 230));
  ASSERT_TRUE(r);
  EXPECT_EQ(s7::decode(*r)->p.hdr.error(), 0x8500);
}

TEST_F(faults, a_delay_at_connect_holds_the_cc) {
  set_rules(rs_, R"({"rules": [{"when": {"event": "connect"}, "do": {"delay_ms": 300}}]})");
  client c(rs_.port());
  const auto t0 = clk::now();
  const auto cc = c.connect_request(cotp::make_s7_tsap(1, 0, 2));
  ASSERT_TRUE(cc);
  EXPECT_GE(ms_since(t0), 300);
  EXPECT_EQ(cotp::parse(*cc)->type, cotp::tpdu_type::cc);
}

TEST_F(faults, every_nth_and_max_count_the_matching_requests) {
  set_rules(rs_, R"({"rules": [{"when": {"function": "read_var", "every": 2, "max": 2})"
                 R"(, "do": {"header_error": "0x8500"}}]})");
  std::string seen;
  for (std::uint16_t i = 1; i <= 6; ++i) {
    const auto r = c_->transact(read_job(i, 1, 0, 1));
    ASSERT_TRUE(r);
    seen += s7::decode(*r)->p.hdr.error() == 0 ? '.' : 'X';
  }
  EXPECT_EQ(seen, ".X.X..");
  const auto n = counters(rs_);
  EXPECT_EQ(n[0].matched, 6U);
  EXPECT_EQ(n[0].injected, 2U);
}

TEST_F(faults, a_seeded_probability_injects_the_same_requests_every_run) {
  const auto pattern = [&] {
    set_rules(rs_, R"({"seed": 5, "rules": [{"when": {"function": "read_var", "probability": 0.5})"
                   R"(, "do": {"header_error": "0x8500"}}]})");
    std::string seen;
    for (std::uint16_t i = 1; i <= 24; ++i) {
      const auto r = c_->transact(read_job(i, 1, 0, 1));
      seen += r && s7::decode(*r)->p.hdr.error() == 0 ? '.' : 'X';
    }
    return seen;
  };
  const std::string a = pattern();
  EXPECT_EQ(pattern(), a);
  EXPECT_NE(a.find('X'), std::string::npos);
  EXPECT_NE(a.find('.'), std::string::npos);
}

TEST_F(faults, every_injected_fault_is_recorded_with_what_it_did) {
  set_rules(rs_,
            R"({"rules": [
      {"name": "lost SZL", "when": {"szl_id": "0x0011"}, "do": {"no_reply": true}},
      {"when": {"function": "read_var"}, "do": {"delay_ms": 50, "duplicate": true}}]})");
  c_->send_pdu(read_szl_request(0x21, 0x0011, 0));
  EXPECT_FALSE(c_->read_pdu(300));
  ASSERT_TRUE(c_->transact(read_job(0x22, 1, 0, 2)));
  std::vector<srv::fault_event> ev;
  std::map<std::string, std::uint64_t, std::less<>> kinds;
  std::uint64_t total = 0;
  on_loop(rs_, [&] {
    ev.assign(rs_.srv().faults().recent().begin(), rs_.srv().faults().recent().end());
    kinds = rs_.srv().faults().by_kind();
    total = rs_.srv().faults().injected_total();
  });
  ASSERT_EQ(ev.size(), 2U);
  EXPECT_EQ(ev[0].rule_name, "lost SZL");
  EXPECT_EQ(ev[0].request, "Read SZL 0x0011 index 0x0000 (pdu_ref 33)");
  EXPECT_TRUE(ev[0].reply_suppressed);
  EXPECT_EQ(ev[1].rule_name, "rule 2");
  EXPECT_EQ(ev[1].action, "delay 50 ms, duplicated reply");
  EXPECT_EQ(ev[1].request, "Read Var (pdu_ref 34, 1 item(s))");
  EXPECT_EQ(ev[1].delay_ms, 50U);
  EXPECT_EQ(ev[1].pdu_ref, 0x22);
  EXPECT_EQ(total, 2U);
  EXPECT_EQ(kinds["no_reply"], 1U);
  EXPECT_EQ(kinds["delay"], 1U);
  EXPECT_EQ(kinds["duplicate"], 1U);
}

TEST_F(faults, disabled_rules_and_no_rules_leave_every_answer_unchanged) {
  const auto normal = c_->transact(read_job(0x42, 1, 0, 32));
  ASSERT_TRUE(normal);
  set_rules(rs_,
            R"({"rules": [{"name": "x", "enabled": false, "do": {"header_error": "0x8500"}}]})");
  EXPECT_EQ(to_hex(*c_->transact(read_job(0x42, 1, 0, 32))), to_hex(*normal));
  bool found = false;
  on_loop(rs_, [&] { found = rs_.srv().faults().set_enabled("x", true); });
  ASSERT_TRUE(found);
  EXPECT_EQ(s7::decode(*c_->transact(read_job(0x42, 1, 0, 32)))->p.hdr.error(), 0x8500);
  on_loop(rs_, [&] { rs_.srv().faults().set_rules({}); });
  EXPECT_EQ(to_hex(*c_->transact(read_job(0x42, 1, 0, 32))), to_hex(*normal));
}

}  // namespace
