// The web admin's API for fault injection, the living process and trends (docs/API.md), over
// real HTTP against an in-process server + web admin with the sample PLC; effects checked with an
// S7 client and in the SQLite file.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "protos7/server/app.hpp"
#include "protos7/server/process_sim.hpp"
#include "protos7/webadmin/webadmin.hpp"
#include "test_client.hpp"

using namespace p7test;
using json = nlohmann::json;
namespace web = protos7::webadmin;
namespace srv = protos7::server;

namespace {

class webadmin_live : public ::testing::Test {
 protected:
  std::string dir;
  srv::config cfg;
  std::unique_ptr<srv::plc_memory> mem;
  std::unique_ptr<srv::server> server;
  srv::process_sim sim{std::chrono::milliseconds(20)};
  std::unique_ptr<web::webadmin> admin;
  std::thread loop;

  void SetUp() override {
    srv::set_log_level(std::getenv("PROTOS7_TEST_LOG") != nullptr ? srv::log_level::trace
                                                                  : srv::log_level::off);
    std::string t = "/tmp/protos7-webapi-XXXXXX";
    dir = ::mkdtemp(t.data());
    srv::serve_options so;
    so.data_dir = dir;
    cfg.port = 0;
    cfg.listen_address = "127.0.0.1";
    cfg.abort_on_bad_reply = true;
    cfg.db_bin_dir = dir;
    mem = std::make_unique<srv::plc_memory>(cfg.areas);
    srv::prepare_storage(so, *mem);
    server = std::make_unique<srv::server>(cfg, *mem);
    ASSERT_EQ(server->listen(), 0);
    web::options opt;
    opt.listen = "127.0.0.1:0";
    opt.no_auth = true;
    opt.sqlite_path = dir + "/protos7.db";
    opt.bin_dir = dir;
    opt.process = &sim;
    opt.trend_interval = std::chrono::milliseconds(100);
    admin = std::make_unique<web::webadmin>(opt, *server, *mem, cfg);
    const auto started = admin->start();
    ASSERT_TRUE(started.ok()) << started.why();
    sim.start(*server, *mem);
    loop = std::thread([this] { server->run(); });
  }
  void TearDown() override {
    sim.stop();
    if (server) server->stop();
    if (loop.joinable()) loop.join();
    admin.reset();
    server.reset();
    [[maybe_unused]] const int rc = std::system(("rm -rf '" + dir + "'").c_str());
  }

  [[nodiscard]] httplib::Client http() const {
    httplib::Client c("127.0.0.1", admin->port());
    c.set_read_timeout(15, 0);
    return c;
  }
  [[nodiscard]] httplib::Headers csrf() const { return {{"X-Protos7-CSRF", admin->csrf_token()}}; }
  static std::pair<int, json> wrap(const httplib::Result& r) {
    if (!r) return {0, nullptr};
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  std::pair<int, json> get(const std::string& p) { return wrap(http().Get(p)); }
  std::pair<int, json> put(const std::string& p, const std::string& body) {
    return wrap(http().Put(p, csrf(), body, "application/json"));
  }
  std::pair<int, json> patch(const std::string& p, const std::string& body) {
    return wrap(http().Patch(p, csrf(), body, "application/json"));
  }
  std::pair<int, json> del(const std::string& p) { return wrap(http().Delete(p, csrf())); }

  std::int64_t var_id(int db, const std::string& name) {
    const auto [st, body] = get("/api/dbs/" + std::to_string(db));
    for (const json& v : body["variables"])
      if (v["name"] == name) return v["id"].get<std::int64_t>();
    ADD_FAILURE() << "no variable " << name;
    return 0;
  }
  // DB1.DBW0 (the sample's Counter) as an S7 client reads it.
  int s7_counter() {
    client c{server->port()};
    EXPECT_TRUE(c.open());
    const std::array items{any(0x04, 1, 0x84, 1, 0)};
    const auto it =
        read_items(*c.transact(client::job(1, var_param(s7::function::read_var, items))));
    return static_cast<std::int16_t>((u8(it.at(0).data[0]) << 8U) | u8(it.at(0).data[1]));
  }
};

TEST_F(webadmin_live, fault_rules_are_replaced_toggled_counted_and_listed) {
  auto [st, body] = get("/api/faults");
  ASSERT_EQ(st, 200);
  EXPECT_EQ(body["active"], false);
  EXPECT_TRUE(body["rules"].empty());
  std::tie(st, body) = put("/api/faults", R"({ "rules": [
  { "when": { "function": "read_var", "db": 1 },   "do": { "delay_ms": 400 } },
  { "when": { "function": "write_var", "db": 2 },  "do": { "item_return_code": "0x05" } },
  { "name": "lost identity", "when": { "szl_id": "0x001C" }, "do": { "no_reply": true } }
] })");
  ASSERT_EQ(st, 200) << body.dump();
  EXPECT_EQ(body["rules"].size(), 3U);
  EXPECT_EQ(body["rules"][2]["name"], "lost identity");
  EXPECT_EQ(body["document"]["rules"][1]["do"]["item_return_code"], "0x05");
  client c{server->port()};
  ASSERT_TRUE(c.open());
  c.send_pdu(read_szl_request(7, 0x001C, 0));
  EXPECT_FALSE(c.read_pdu(300));
  std::tie(st, body) = get("/api/faults");
  EXPECT_EQ(body["injected_total"], 1);
  EXPECT_EQ(body["by_kind"]["no_reply"], 1);
  EXPECT_EQ(body["rules"][2]["injected"], 1);
  std::tie(st, body) = get("/api/faults/events?limit=5");
  ASSERT_EQ(body["events"].size(), 1U);
  EXPECT_EQ(body["events"][0]["request"], "Read SZL 0x001C index 0x0000 (pdu_ref 7)");
  EXPECT_EQ(body["events"][0]["rule_name"], "lost identity");
  // Rule 3 off: the identity is answered again.
  std::tie(st, body) = patch("/api/faults/rules/3", R"({"enabled": false})");
  ASSERT_EQ(st, 200);
  EXPECT_EQ(body["rules"][2]["enabled"], false);
  EXPECT_TRUE(c.transact(read_szl_request(8, 0x001C, 0)));
  EXPECT_EQ(patch("/api/faults/rules/9", R"({"enabled": true})").first, 404);
  // Counters back to zero.
  std::tie(st, body) = del("/api/faults/counters");
  EXPECT_EQ(body["injected_total"], 0);
}

TEST_F(webadmin_live, refused_rules_say_where_and_change_nothing) {
  ASSERT_EQ(put("/api/faults", R"({"rules": [{"do": {"stop": true}}]})").first, 200);
  const auto [st, body] =
      put("/api/faults", R"({"rules": [{"when": {"db": 70000}, "do": {"no_reply": true}}]})");
  EXPECT_EQ(st, 400);
  EXPECT_EQ(body["error"], "rules: rules[0].when.db: 70000 is outside 1..65535");
  EXPECT_EQ(get("/api/faults").second["rules"].size(), 1U);
  EXPECT_EQ(wrap(http().Put("/api/faults", csrf(), "{}", "text/plain")).first, 415);
}

TEST_F(webadmin_live, a_process_set_in_the_page_drives_the_variable_and_lives_in_the_side_table) {
  const std::int64_t id = var_id(1, "Counter");
  auto [st, body] =
      put(fmt::format("/api/dbs/1/variables/{}/process", id),
          R"({"kind": "counter", "step": 1, "every_ms": 20, "min": 0, "max": 30000})");
  ASSERT_EQ(st, 200) << body.dump();
  EXPECT_EQ(body["process"]["kind"], "counter");
  const int first = s7_counter();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(s7_counter(), first);
  EXPECT_EQ(
      get(fmt::format("/api/dbs/1/variables/{}", id)).second["variable"]["process"]["every_ms"],
      20);
  // Stored beside goprotos7's tables.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir + "/protos7.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
            SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT definition FROM protos7_process_variables WHERE db_variable_id = ?",
                     -1, &s, nullptr);
  sqlite3_bind_int64(s, 1, id);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(json::parse(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)))["kind"],
            "counter");
  sqlite3_finalize(s);
  sqlite3_close(db);
  // Removed: the value stays where it is.
  ASSERT_EQ(del(fmt::format("/api/dbs/1/variables/{}/process", id)).first, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int stopped = s7_counter();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(s7_counter(), stopped);
  EXPECT_TRUE(sim.driven().empty());
}

TEST_F(webadmin_live, a_process_that_cannot_work_is_refused_with_the_reason) {
  const std::int64_t id = var_id(1, "Counter");
  auto [st, body] =
      put(fmt::format("/api/dbs/1/variables/{}/process", id), R"({"kind": "sine", "max": -5})");
  EXPECT_EQ(st, 400);
  EXPECT_EQ(body["error"], "Counter: \"max\" must not be below \"min\"");
  const std::int64_t name = var_id(200, "MachineName");
  std::tie(st, body) =
      put(fmt::format("/api/dbs/200/variables/{}/process", name), R"({"kind": "ramp"})");
  EXPECT_EQ(st, 400);
  EXPECT_NE(body["error"].get<std::string>().find("only numbers and BOOL"), std::string::npos)
      << body.dump();
  EXPECT_EQ(put("/api/dbs/1/variables/99999/process", R"({"kind": "ramp"})").first, 404);
}

TEST_F(webadmin_live, trends_hold_requests_faults_and_values_per_second) {
  for (int i = 0; i < 3; ++i) (void)s7_counter();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const auto [st, body] = get("/api/trends?db=1");
  ASSERT_EQ(st, 200);
  EXPECT_EQ(body["interval_ms"], 100);
  EXPECT_GE(body["t"].size(), 3U);
  EXPECT_EQ(body["requests_per_s"].size(), body["t"].size());
  EXPECT_EQ(body["faults_per_s"].size(), body["t"].size());
  const std::string counter = std::to_string(var_id(1, "Counter"));
  ASSERT_TRUE(body["variables"].contains(counter)) << body.dump();
  EXPECT_EQ(body["variables"][counter].size(), body["t"].size());
  EXPECT_EQ(get("/api/trends?db=0").first, 400);
}

}  // namespace
