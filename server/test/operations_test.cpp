// What `protos7 serve` does for its operators (issue #17): listen addresses (net_address.hpp),
// the data directory lock (data_lock.hpp), the metrics observer (metrics.hpp), JSON log lines.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "protos7/server/data_lock.hpp"
#include "protos7/server/fault_rules.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/metrics.hpp"
#include "protos7/server/net_address.hpp"
#include "protos7/server/server.hpp"
#include "test_client.hpp"

namespace {

namespace srv = protos7::server;
namespace fs = std::filesystem;
using p7test::buf;

std::string text_of(const sockaddr_storage& a) {
  return srv::address_text(a);
}

TEST(net_address, resolves_literals_and_names) {
  std::vector<sockaddr_storage> out;
  ASSERT_TRUE(srv::resolve_listen("0.0.0.0", 102, out).ok());
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(text_of(out[0]), "0.0.0.0:102");
  ASSERT_TRUE(srv::resolve_listen("::1", 1102, out).ok());
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(text_of(out[0]), "[::1]:1102");
  ASSERT_TRUE(srv::resolve_listen("[::]", 1102, out).ok());
  EXPECT_EQ(text_of(out[0]), "[::]:1102");
  ASSERT_TRUE(srv::resolve_listen("localhost", 7, out).ok());
  ASSERT_FALSE(out.empty());
  bool loopback = false;
  for (const sockaddr_storage& a : out)
    loopback = loopback || text_of(a) == "127.0.0.1:7" || text_of(a) == "[::1]:7";
  EXPECT_TRUE(loopback);
  EXPECT_FALSE(srv::resolve_listen("no-such-host.invalid", 102, out).ok());
  EXPECT_FALSE(srv::resolve_listen("", 102, out).ok());
  EXPECT_FALSE(srv::resolve_listen("300.1.1.1", 102, out).ok());
}

TEST(net_address, an_ipv4_client_is_one_address_on_either_listener) {
  sockaddr_storage v4{};
  auto& a = reinterpret_cast<sockaddr_in&>(v4);
  a.sin_family = AF_INET;
  a.sin_port = htons(4000);
  ::inet_pton(AF_INET, "192.0.2.7", &a.sin_addr);
  sockaddr_storage mapped{};
  auto& m = reinterpret_cast<sockaddr_in6&>(mapped);
  m.sin6_family = AF_INET6;
  m.sin6_port = htons(4001);
  ::inet_pton(AF_INET6, "::ffff:192.0.2.7", &m.sin6_addr);
  EXPECT_EQ(text_of(v4), "192.0.2.7:4000");
  EXPECT_EQ(text_of(mapped), "192.0.2.7:4001");
  EXPECT_EQ(srv::key_of(v4), srv::key_of(mapped));
  sockaddr_storage other = v4;
  ::inet_pton(AF_INET, "192.0.2.8", &reinterpret_cast<sockaddr_in&>(other).sin_addr);
  EXPECT_FALSE(srv::key_of(v4) == srv::key_of(other));
}

TEST(server_listen, a_name_that_does_not_resolve_is_refused_with_why) {
  srv::config cfg;
  cfg.listen_address = "no-such-host.invalid";
  cfg.port = 0;
  srv::plc_memory mem(cfg.areas);
  srv::server s(cfg, mem);
  const int err = s.listen();
  EXPECT_EQ(err, EINVAL);
  EXPECT_NE(srv::listen_error_text(err, cfg).find("no-such-host.invalid"), std::string::npos);
}

TEST(server_listen, localhost_binds_each_of_its_addresses_on_one_port) {
  srv::config cfg;
  cfg.listen_address = "localhost";
  cfg.port = 0;
  srv::plc_memory mem(cfg.areas);
  srv::server s(cfg, mem);
  ASSERT_EQ(s.listen(), 0);
  EXPECT_NE(s.port(), 0);
  p7test::client c(s.port());  // 127.0.0.1
  std::thread t([&] { s.run(); });
  EXPECT_TRUE(c.connected());
  EXPECT_TRUE(c.open());
  s.stop();
  t.join();
}

TEST(data_lock, a_second_lock_on_the_same_directory_is_refused_until_the_first_goes) {
  const fs::path dir = fs::temp_directory_path() / ("protos7-lock-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    srv::data_lock first;
    bool busy = true;
    ASSERT_TRUE(first.acquire(dir.string(), busy).ok());
    EXPECT_FALSE(busy);
    srv::data_lock second;
    const srv::status s = second.acquire(dir.string(), busy);
    EXPECT_FALSE(s.ok());
    const std::string& why = s.why();
    EXPECT_TRUE(busy);
    EXPECT_NE(why.find("in use by another protos7"), std::string::npos) << why;
    EXPECT_NE(why.find(std::to_string(::getpid())), std::string::npos) << why;
  }
  srv::data_lock third;
  bool busy = true;
  EXPECT_TRUE(third.acquire(dir.string(), busy).ok());
  fs::remove_all(dir);
}

TEST(data_lock, a_directory_that_cannot_hold_the_lock_file_is_an_error) {
  srv::data_lock l;
  bool busy = true;
  const srv::status s = l.acquire("/nonexistent/protos7", busy);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.why().find("/nonexistent/protos7"), std::string::npos) << s.why();
  EXPECT_FALSE(busy);
}

TEST(log_format, json_lines_carry_an_rfc3339_utc_time_the_level_and_the_message) {
  char* text = nullptr;
  std::size_t size = 0;
  std::FILE* f = ::open_memstream(&text, &size);
  srv::set_log_file(f);
  srv::set_log_format(srv::log_format::json);
  srv::set_log_level(srv::log_level::info);
  srv::log(srv::log_level::warn, "peer {} said \"{}\"", "10.0.0.1:5", "a\\b\x1b[31m");
  srv::set_log_format(srv::log_format::text);
  srv::set_log_file(nullptr);
  std::fclose(f);
  const std::string line(text, size);
  std::free(text);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], "peer 10.0.0.1:5 said \"a\\\\b\\x1B[31m\"");
  EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << j["time"];
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

// A server with the metrics observer and one file-backed DB (so writes are committed and synced).
class metrics_server {
 public:
  explicit metrics_server(const char* fault_rules = nullptr) : mem_(cfg_.areas) {
    cfg_.port = 0;
    cfg_.listen_address = "127.0.0.1";
    srv::set_log_level(srv::log_level::off);
    path_ = fs::temp_directory_path() / ("protos7-metrics-" + std::to_string(::getpid()) + ".bin");
    std::ofstream(path_, std::ios::binary) << std::string(64, '\0');
    mem_.add_db(std::make_unique<srv::data_block>(7, std::vector<std::byte>(64), path_.string()));
    m_.time_syncs(mem_);
    s_ = std::make_unique<srv::server>(cfg_, mem_);
    s_->set_observer(&m_);
    if (fault_rules != nullptr) s_->faults().set_rules(srv::parse_fault_rules(fault_rules, "test"));
    EXPECT_EQ(s_->listen(), 0);
    t_ = std::thread([this] { s_->run(); });
  }
  ~metrics_server() {
    s_->stop();
    t_.join();
    fs::remove(path_);
  }
  srv::metrics& m() { return m_; }
  srv::server& s() { return *s_; }

 private:
  srv::config cfg_;
  srv::plc_memory mem_;
  srv::metrics m_;
  std::unique_ptr<srv::server> s_;
  std::thread t_;
  fs::path path_;
};

TEST(metrics, count_requests_errors_and_latency_per_function) {
  metrics_server ms;
  {
    p7test::client c(ms.s().port());
    ASSERT_TRUE(c.open());
    const auto db7 = p7test::any(2, 2, 0x84, 7, 0);
    const auto db9 = p7test::any(2, 2, 0x84, 9, 0);  // no DB9: an item error
    const auto read =
        p7test::var_param(protos7::codec::s7::function::read_var, std::vector{db7, db9});
    ASSERT_TRUE(c.transact(p7test::client::job(1, read)));
    const auto wprm = p7test::var_param(protos7::codec::s7::function::write_var, std::vector{db7});
    const buf data =
        p7test::write_data(std::vector<p7test::wdata>{{0x04, buf(2, std::byte{5}), std::nullopt}});
    ASSERT_TRUE(c.transact(p7test::client::job(2, wprm, data)));
    buf bogus = p7test::client::job(3, buf{std::byte{0x99}});  // an unknown function
    ASSERT_TRUE(c.transact(bogus));
  }
  // The connection's close is seen on the loop thread shortly after.
  for (int i = 0; i < 100 && ms.m().requests(srv::request_kind::other_job) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  using k = srv::request_kind;
  EXPECT_EQ(ms.m().requests(k::setup_communication), 1U);
  EXPECT_EQ(ms.m().requests(k::read_var), 1U);
  EXPECT_EQ(ms.m().requests(k::write_var), 1U);
  EXPECT_EQ(ms.m().requests(k::other_job), 1U);
  EXPECT_EQ(ms.m().errors(k::other_job), 1U);
  EXPECT_EQ(ms.m().errors(k::read_var), 0U);
  // A round's latency is observed after its answers are sent (the client may read it first).
  std::string text = ms.m().render(ms.s());
  for (int i = 0;
       i < 100 && text.find("protos7_request_duration_seconds_count 4\n") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    text = ms.m().render(ms.s());
  }
  EXPECT_NE(text.find("protos7_item_errors_total{function=\"read_var\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("protos7_request_duration_seconds_count 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("protos7_commit_duration_seconds_count 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("protos7_fsync_duration_seconds_count 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("protos7_connections_accepted_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("protos7_faults_injected_total 0\n"), std::string::npos) << text;
}

TEST(metrics, count_the_faults_the_rules_inject) {
  metrics_server ms(R"({"rules": [{"when": {"function": "read_var", "db": 7},
                                    "do": {"item_return_code": "0x05"}}]})");
  {
    p7test::client c(ms.s().port());
    ASSERT_TRUE(c.open());
    const auto read = p7test::var_param(protos7::codec::s7::function::read_var,
                                        std::vector{p7test::any(2, 2, 0x84, 7, 0)});
    ASSERT_TRUE(c.transact(p7test::client::job(1, read)));
    ASSERT_TRUE(c.transact(p7test::client::job(2, read)));
  }
  std::string text = ms.m().render(ms.s());
  for (int i = 0; i < 100 && text.find("protos7_faults_injected_total 2\n") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    text = ms.m().render(ms.s());
  }
  EXPECT_NE(text.find("protos7_faults_injected_total 2\n"), std::string::npos) << text;
}

}  // namespace
