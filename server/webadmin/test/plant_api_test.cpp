// The web admin of a plant (`protos7 serve --plant`): GET /api/plcs, each PLC's API under
// /api/plcs/NAME/..., its page at /plcs/NAME/. An in-process plant of three PLCs (ephemeral
// ports, the sample PLC's storage in a temporary folder) and cpp-httplib as the client.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "protos7/server/plant.hpp"
#include "protos7/webadmin/webadmin.hpp"
#include "test_client.hpp"

using namespace p7test;
using json = nlohmann::json;
namespace srv = protos7::server;
namespace web = protos7::webadmin;

namespace {

class webadmin_plant : public ::testing::Test {
 protected:
  void SetUp() override {
    srv::set_log_level(std::getenv("PROTOS7_TEST_LOG") != nullptr ? srv::log_level::trace
                                                                  : srv::log_level::off);
    std::string t = "/tmp/protos7-webplant-XXXXXX";
    dir = ::mkdtemp(t.data());
    json plcs = json::array();
    for (const char* n : {"press", "oven", "robot"})
      plcs.push_back({{"name", n},
                      {"listen", "127.0.0.1:0"},
                      {"identity", {{"serial_number", std::string("SN-") + n}}}});
    const json doc = {
        {"format", "protos7-plant"}, {"version", 1}, {"name", "line 3"}, {"plcs", plcs}};
    const srv::plant_file f = srv::parse_plant(doc.dump(), dir + "/line.json", dir);
    srv::config common;
    common.abort_on_bad_reply = true;
    plant = std::make_unique<srv::plant>(f, 2, common);
    plant->listen();
    plant->prepare_storage(srv::log_level::off);
    plant->at(2).mem.set_fdatasync([](int) {
      errno = EIO;
      return -1;
    });
    web::options o;
    o.listen = "127.0.0.1:0";
    admin = std::make_unique<web::webadmin>(o, *plant);
    const auto started = admin->start();
    ASSERT_TRUE(started.ok()) << started.why();
    loop = std::thread([this] { plant->run(); });
  }
  void TearDown() override {
    plant->stop();
    if (loop.joinable()) loop.join();
    admin.reset();
    plant.reset();
    std::filesystem::remove_all(dir);
  }

  [[nodiscard]] httplib::Client http() const {
    httplib::Client c("127.0.0.1", admin->port());
    c.set_read_timeout(15, 0);
    c.set_bearer_token_auth(admin->token().c_str());
    return c;
  }
  json get(const std::string& path, int expect = 200) {
    const auto r = http().Get(path);
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, expect) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  json put(const std::string& path, const json& body) {
    const auto r = http().Put(path, {{"X-Protos7-CSRF", admin->csrf_token()}}, body.dump(),
                              "application/json");
    EXPECT_TRUE(r && r->status == 200) << path;
    return r ? json::parse(r->body, nullptr, false) : json();
  }
  static const json* entry(const json& overview, const std::string& name) {
    for (const json& p : overview["plcs"])
      if (p["name"] == name) return &p;
    return nullptr;
  }

  std::string dir;
  std::unique_ptr<srv::plant> plant;
  std::unique_ptr<web::webadmin> admin;
  std::thread loop;
};

TEST_F(webadmin_plant, lists_every_plc_with_address_thread_mode_and_connections) {
  client c(plant->at(1).srv.port());
  ASSERT_TRUE(c.open());
  const json o = get("/api/plcs");
  EXPECT_EQ(o["plant"]["name"], "line 3");
  EXPECT_EQ(o["plant"]["plcs"], 3);
  EXPECT_EQ(o["plant"]["threads"], 2);
  ASSERT_EQ(o["plcs"].size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    const json& p = o["plcs"][i];
    EXPECT_EQ(p["name"], plant->at(i).name);
    EXPECT_EQ(p["listen"], fmt::format("127.0.0.1:{}", plant->at(i).srv.port()));
    EXPECT_EQ(p["thread"], i % 2);
    EXPECT_EQ(p["mode"], "RUN");
    EXPECT_TRUE(p["last_error"].is_null());
  }
  EXPECT_EQ(o["plcs"][1]["connections"], 1);
  EXPECT_EQ(o["plcs"][0]["connections"], 0);
  EXPECT_EQ(get("/api/plcs/oven")["connections"], 1);
  EXPECT_EQ(get("/api/session")["plant"]["plcs"], 3);
}

TEST_F(webadmin_plant, addresses_each_plc_by_name) {
  EXPECT_EQ(get("/api/plcs/oven/plc")["identity"]["serial_number"], "SN-oven");
  EXPECT_EQ(get("/api/plcs/robot/plc")["identity"]["serial_number"], "SN-robot");
  EXPECT_EQ(put("/api/plcs/oven/plc/mode", {{"mode", "STOP"}})["mode"], "STOP");
  const json o = get("/api/plcs");
  EXPECT_EQ((*entry(o, "oven"))["mode"], "STOP");
  EXPECT_EQ((*entry(o, "press"))["mode"], "RUN");
  EXPECT_EQ(get("/api/plcs/press/plc")["mode"], "RUN");
  // The sample PLC's DBs, each PLC its own: a value set on press is not on oven.
  const json dbs = get("/api/plcs/press/dbs");
  EXPECT_EQ(dbs["dbs"].size(), 7U);
  const json before = get("/api/plcs/oven/dbs/1/bytes?offset=0&length=2");
  json db1 = get("/api/plcs/press/dbs/1");
  std::int64_t id = 0;
  for (const json& v : db1["variables"])
    if (v["name"] == "Counter") id = v["id"].get<std::int64_t>();
  ASSERT_NE(id, 0);
  put(fmt::format("/api/plcs/press/dbs/1/variables/{}/value", id), {{"value", 4242}});
  const json press_var = get(fmt::format("/api/plcs/press/dbs/1/variables/{}", id));
  EXPECT_EQ(press_var["variable"]["value"], 4242);
  EXPECT_EQ(get("/api/plcs/oven/dbs/1/bytes?offset=0&length=2"), before);
}

TEST_F(webadmin_plant, a_plc_that_is_not_named_or_not_there_is_a_clear_404) {
  const json e = get("/api/dbs", 404);
  EXPECT_NE(e["error"].get<std::string>().find(
                "plant of 3 PLCs: address one by its name, /api/plcs/NAME/dbs"),
            std::string::npos)
      << e;
  EXPECT_NE(get("/api/plcs/mill/plc", 404)["error"].get<std::string>().find("no PLC \"mill\""),
            std::string::npos);
  EXPECT_EQ(get("/api/plcs/mill", 404)["error"],
            "the plant has no PLC \"mill\" (GET /api/plcs lists them)");
  const auto page = http().Get("/plcs/oven/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("protos7-csrf"), std::string::npos);
  const auto redirect = http().Get("/plcs/oven");
  ASSERT_TRUE(redirect);
  EXPECT_EQ(redirect->status, 301);
  EXPECT_EQ(redirect->get_header_value("Location"), "/plcs/oven/");
  const auto missing = http().Get("/plcs/mill/");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(webadmin_plant, reports_each_plcs_request_rate_and_last_error) {
  client press(plant->at(0).srv.port());
  ASSERT_TRUE(press.open());
  const s7::any_address item = any(0x02, 4, 0x84, 1, 0);
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(press.transact(client::job(1, var_param(s7::function::read_var, {&item, 1}))));
  // robot's DB files cannot be synced (a failing fdatasync): its write fails and is logged.
  client robot(plant->at(2).srv.port());
  ASSERT_TRUE(robot.open());
  const wdata d{0x04, buf{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}}, std::nullopt};
  robot.send_pdu(
      client::job(2, var_param(s7::function::write_var, {&item, 1}), write_data({&d, 1})));
  EXPECT_TRUE(robot.closed_by_peer());
  json o;
  for (int i = 0; i < 40; ++i) {  // the rates are published once a second
    o = get("/api/plcs");
    if ((*entry(o, "press"))["requests_per_s"].get<double>() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT((*entry(o, "press"))["requests_per_s"].get<double>(), 0.0);
  EXPECT_EQ((*entry(o, "oven"))["requests_per_s"].get<double>(), 0.0);
  EXPECT_GE((*entry(o, "press"))["requests_total"].get<int>(), 52);
  const json& err = (*entry(o, "robot"))["last_error"];
  ASSERT_TRUE(err.is_object()) << o;
  // The fdatasync failure and the writer closed without its acknowledgement: both errors of robot.
  EXPECT_NE(err["text"].get<std::string>().find("sync"), std::string::npos) << err;
  EXPECT_GE(err["count"].get<int>(), 2) << err;
  EXPECT_TRUE((*entry(o, "press"))["last_error"].is_null());
}

}  // namespace
