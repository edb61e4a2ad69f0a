// `serve --validate` with fault rules: each injected fault and what the client did next, in the
// JSON and JUnit reports (validate.hpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "protos7/server/fault_rules.hpp"
#include "protos7/server/validate.hpp"
#include "test_client.hpp"

using namespace p7test;
namespace srv = protos7::server;

namespace {

// A server with a validator as observer and fault listener; the reports go to a temporary
// directory and are read back once the validator is gone (the server stopped).
class validated_server {
 public:
  explicit validated_server(const std::string& rules) : mem_(cfg_.areas) {
    dir_ = std::filesystem::temp_directory_path() /
           ("protos7-validate-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    cfg_.port = 0;
    cfg_.listen_address = "127.0.0.1";
    cfg_.abort_on_bad_reply = true;
    srv::set_log_level(std::getenv("PROTOS7_TEST_LOG") != nullptr ? srv::log_level::trace
                                                                  : srv::log_level::off);
    mem_.add_db(ram_db(1, 256));
    srv::validate_options vo;
    vo.report_dir = dir_.string();
    vo.reconnect_window = std::chrono::milliseconds(1500);
    vo.idle_after_fault = std::chrono::milliseconds(800);
    val_ = std::make_unique<srv::validator>(vo);
    srv_ = std::make_unique<srv::server>(cfg_, mem_);
    EXPECT_EQ(srv_->listen(), 0);
    srv_->set_observer(val_.get());
    srv_->faults().add_listener(val_.get());
    srv_->faults().set_rules(srv::parse_fault_rules(rules, "test"));
    thread_ = std::thread([this] { srv_->run(); });
  }
  ~validated_server() {
    stop();
    std::filesystem::remove_all(dir_);
  }
  void stop() {
    if (!srv_) return;
    srv_->stop();
    thread_.join();
    val_.reset();  // writes the reports of the connections still open or waiting
    srv_.reset();
  }
  [[nodiscard]] std::uint16_t port() const { return srv_->port(); }
  // The reports written, by file name.
  std::map<std::string, std::string> reports() const {
    std::map<std::string, std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      std::ifstream f(e.path());
      std::ostringstream s;
      s << f.rdbuf();
      out[e.path().filename().string()] = s.str();
    }
    return out;
  }
  // The "faults" of every JSON report, in connection order.
  std::vector<nlohmann::json> faults() const {
    std::vector<nlohmann::json> out;
    for (const auto& [name, text] : reports())
      if (name.ends_with(".json")) {
        const nlohmann::json report = nlohmann::json::parse(text);
        for (const auto& f : report.at("faults")) out.push_back(f);
      }
    return out;
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  srv::config cfg_;
  srv::plc_memory mem_;
  std::unique_ptr<srv::validator> val_;
  std::unique_ptr<srv::server> srv_;
  std::thread thread_;
};

buf read_job(std::uint16_t ref) {
  const std::array<s7::any_address, 1> items{any(0x02, 4, 0x84, 1, 0)};
  return client::job(ref, var_param(s7::function::read_var, items));
}

TEST(validate_faults, a_retry_with_a_new_pdu_reference_after_a_lost_reply) {
  validated_server vs(
      R"({"rules": [{"when": {"function": "read_var", "nth": 1}, "do": {"no_reply": true}}]})");
  client c(vs.port());
  ASSERT_TRUE(c.open());
  c.send_pdu(read_job(10));
  EXPECT_FALSE(c.read_pdu(200));  // the client's timeout
  ASSERT_TRUE(c.transact(read_job(11)));
  vs.stop();
  const auto f = vs.faults();
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].at("action"), "no reply");
  EXPECT_EQ(f[0].at("request"), "Read Var (pdu_ref 10, 1 item(s))");
  EXPECT_EQ(f[0].at("reply_suppressed"), true);
  EXPECT_EQ(f[0].at("reaction"), "retried_same_request");
  EXPECT_EQ(f[0].at("detail"), "with a new PDU reference 11 (was 10)");
  EXPECT_GE(f[0].at("after_ms").get<int>(), 150);
}

TEST(validate_faults, a_malformed_request_after_a_fault_violates_a_rule) {
  validated_server vs(R"({"rules": [{"when": {"function": "read_var", "nth": 1})"
                      R"(, "do": {"header_error": "0x8500"}}]})");
  client c(vs.port());
  ASSERT_TRUE(c.open());
  ASSERT_TRUE(c.transact(read_job(10)));
  // Read Var with no item: the strict codec refuses it (and the server answers 0x8500).
  ASSERT_TRUE(c.transact(client::job(11, hex("04 00"))));
  vs.stop();
  const auto f = vs.faults();
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].at("reaction"), "violated_rule");
  EXPECT_EQ(f[0].at("detail").get<std::string>().rfind("param_item_count_zero: ", 0), 0U)
      << f[0].at("detail");
  // The JUnit report fails that fault's test case (and the conformance one).
  bool junit = false;
  for (const auto& [name, text] : vs.reports())
    if (name.ends_with(".xml")) {
      junit = true;
      EXPECT_NE(text.find("tests=\"2\" failures=\"2\""), std::string::npos) << text;
      EXPECT_NE(text.find("name=\"fault 1 (rule 1): header error 0x8500 on Read Var (pdu_ref 10, 1 "
                          "item(s))\"><failure message=\"violated_rule: param_item_count_zero"),
                std::string::npos)
          << text;
    }
  EXPECT_TRUE(junit);
}

TEST(validate_faults, a_retry_with_the_same_reference_after_a_lost_reply_is_no_violation) {
  validated_server vs(
      R"({"rules": [{"when": {"function": "read_var", "nth": 1}, "do": {"no_reply": true}}]})");
  client c(vs.port());
  ASSERT_TRUE(c.open());
  c.send_pdu(read_job(10));
  EXPECT_FALSE(c.read_pdu(100));
  ASSERT_TRUE(c.transact(read_job(10)));
  vs.stop();
  const auto f = vs.faults();
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].at("reaction"), "retried_same_request");
  EXPECT_EQ(f[0].at("detail"), "with the same PDU reference 10");
}

TEST(validate_faults, a_client_that_reconnects_after_a_reset_and_one_that_moves_on) {
  validated_server vs(R"({"rules": [
      {"when": {"function": "read_var", "nth": 1}, "do": {"reset": true}},
      {"when": {"function": "write_var", "nth": 1}, "do": {"header_error": "0x8500"}}]})");
  {
    client c(vs.port());
    ASSERT_TRUE(c.open());
    c.send_pdu(read_job(1));
    EXPECT_TRUE(c.closed_by_peer());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  client again(vs.port());
  ASSERT_TRUE(again.open());
  const std::array<s7::any_address, 1> items{any(0x02, 1, 0x84, 1, 0)};
  const std::array<wdata, 1> data{wdata{0x04, hex("07"), {}}};
  ASSERT_TRUE(
      again.transact(client::job(5, var_param(s7::function::write_var, items), write_data(data))));
  ASSERT_TRUE(again.transact(read_job(6)));
  vs.stop();
  const auto f = vs.faults();
  ASSERT_EQ(f.size(), 2U);
  EXPECT_EQ(f[0].at("action"), "reset (RST)");
  EXPECT_EQ(f[0].at("connection_ended"), true);
  EXPECT_EQ(f[0].at("reaction"), "reconnected");
  EXPECT_EQ(f[0].at("detail"), "connection 2 from the same address");
  EXPECT_EQ(f[1].at("reaction"), "new_request");
  EXPECT_EQ(f[1].at("detail"), "PDU reference 6");
}

TEST(validate_faults, a_client_that_does_not_come_back_gave_up_and_a_silent_one_is_idle) {
  validated_server vs(R"({"rules": [
      {"when": {"function": "read_var", "nth": 1}, "do": {"close": true}},
      {"when": {"function": "read_var", "nth": 1}, "do": {"header_error": "0x8500"}}]})");
  {
    client c(vs.port());
    ASSERT_TRUE(c.open());
    c.send_pdu(read_job(1));
    EXPECT_TRUE(c.closed_by_peer());
  }
  // Another address's connection does not count as coming back (127.0.0.2 is loopback too).
  client other(vs.port(), 0, "127.0.0.2");
  ASSERT_TRUE(other.open());
  ASSERT_TRUE(other.transact(read_job(2)));  // rule 2's first Read Var: header error
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));  // idle 800 ms, window 1500 ms
  ASSERT_TRUE(other.transact(read_job(3)));
  vs.stop();
  const auto f = vs.faults();
  ASSERT_EQ(f.size(), 2U);
  EXPECT_EQ(f[0].at("reaction"), "gave_up");
  EXPECT_EQ(f[0].at("detail"), "no new connection from its address");
  EXPECT_EQ(f[1].at("reaction"), "idle");
  EXPECT_EQ(f[1].at("detail").get<std::string>().rfind("nothing for ", 0), 0U);
  EXPECT_NE(f[1].at("detail").get<std::string>().find(
                "then retried_same_request: with a new PDU reference 3 (was 2)"),
            std::string::npos)
      << f[1].at("detail");
}

TEST(validate_faults, a_retry_before_a_delayed_reply_is_noted) {
  validated_server vs(
      R"({"rules": [{"when": {"function": "read_var", "nth": 1}, "do": {"delay_ms": 600}}]})");
  client c(vs.port(), 0);
  ASSERT_TRUE(c.open(480, 2));  // two jobs in flight allowed
  c.send_pdu(read_job(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  c.send_pdu(read_job(2));  // gives up waiting and asks again
  ASSERT_TRUE(c.read_pdu());
  ASSERT_TRUE(c.read_pdu());
  vs.stop();
  const auto f = vs.faults();
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].at("delay_ms"), 600);
  EXPECT_EQ(f[0].at("reaction"), "retried_same_request");
  EXPECT_EQ(f[0].at("detail"),
            "with a new PDU reference 2 (was 1), before the delayed reply was sent");
  EXPECT_LT(f[0].at("after_ms").get<int>(), 0);
}

TEST(validate_faults, a_refused_connection_has_a_report_of_its_own) {
  validated_server vs(R"({"rules": [{"when": {"max": 1}, "do": {"refuse_connections": true}}]})");
  {
    client refused(vs.port());
    EXPECT_TRUE(refused.closed_by_peer());
  }
  client c(vs.port());
  ASSERT_TRUE(c.open());
  vs.stop();
  const auto f = vs.faults();
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].at("request"), "TCP connection");
  EXPECT_EQ(f[0].at("reaction"), "reconnected");
}

}  // namespace
