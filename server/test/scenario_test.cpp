// Scenarios (scenario.hpp) and the living process (process_sim.hpp): the formats, the values
// each kind produces, and an S7 client that sees the programmed changes at the programmed times.
//
// Tolerance of the timing test: a change is seen no earlier than programmed (minus 20 ms for the
// client's clock read) and at most 250 ms later: the client polls every 10 ms, and the rest is
// the scheduling of a shared, loaded machine (CI runs this under ASan too).
#include "protos7/server/scenario.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "protos7/codec/szl.hpp"
#include "protos7/server/plc_variable.hpp"
#include "protos7/server/process_sim.hpp"
#include "test_client.hpp"

using namespace p7test;
namespace srv = protos7::server;
using clk = std::chrono::steady_clock;

namespace {

constexpr int early_ms = 20;
constexpr int late_ms = 250;

srv::variable_lookup table_lookup() {
  protos7::store::variable_definition temp;
  temp.db = 1;
  temp.name = "Temperature";
  temp.byte_offset = 4;
  temp.type.kind = protos7::store::s7_kind::real;
  protos7::store::variable_definition level = temp;
  level.name = "Level";
  level.byte_offset = 8;
  level.type.kind = protos7::store::s7_kind::integer;
  return srv::definitions_lookup({temp, level});
}

std::string error_of(const char* scenario_json) {
  try {
    (void)srv::parse_scenario(scenario_json, "s.json", table_lookup());
  } catch (const std::exception& e) {
    return e.what();
  }
  return "accepted";
}

TEST(plc_variable, parses_step7_addresses_and_table_names) {
  std::string why;
  auto v = srv::parse_plc_variable("DB1.DBX2.3", "", nullptr, why);
  ASSERT_TRUE(v) << why;
  EXPECT_EQ(v->db, 1);
  EXPECT_EQ(v->byte, 2U);
  EXPECT_EQ(v->bit, 3);
  EXPECT_TRUE(v->type.is_bool());
  v = srv::parse_plc_variable("db7.dbd10", "REAL", nullptr, why);
  ASSERT_TRUE(v) << why;
  EXPECT_EQ(v->type.name(), "REAL");
  v = srv::parse_plc_variable("MW10", "", nullptr, why);
  ASSERT_TRUE(v) << why;
  EXPECT_EQ(v->area, 0x83);
  EXPECT_EQ(v->type.name(), "INT");
  v = srv::parse_plc_variable("Q0.3", "", nullptr, why);
  ASSERT_TRUE(v) << why;
  EXPECT_EQ(v->area, 0x82);
  v = srv::parse_plc_variable("DB1.Temperature", "", table_lookup(), why);
  ASSERT_TRUE(v) << why;
  EXPECT_EQ(v->byte, 4U);
  EXPECT_FALSE(srv::parse_plc_variable("DB1.DBW2", "REAL", nullptr, why));
  EXPECT_EQ(why, "type REAL does not fit the address width (2 byte(s))");
  EXPECT_FALSE(srv::parse_plc_variable("DB1.Nothing", "", table_lookup(), why));
  EXPECT_NE(why.find("neither a STEP 7 address"), std::string::npos);
}

TEST(scenario_format, reads_every_step_kind_and_orders_them_by_time) {
  const srv::scenario sc = srv::parse_scenario(R"({ "repeat": 2, "period": "3s", "steps": [
      { "at": "2s", "mode": "run" },
      { "at": 1, "mode": "stop" },
      { "at": "1500ms", "set": "DB1.Temperature", "value": 21.5 },
      { "at": "1500ms", "raise": "DB1.DBX0.1" },
      { "at": "2500ms", "fault": "slow", "enabled": false } ] })",
                                               "s.json", table_lookup());
  ASSERT_EQ(sc.steps.size(), 5U);
  EXPECT_EQ(sc.passes, 2U);
  EXPECT_EQ(sc.period, std::chrono::milliseconds(3000));
  EXPECT_EQ(sc.steps[0].describe(), "STOP");
  EXPECT_EQ(sc.steps[1].describe(), "DB1.Temperature = 21.5");
  EXPECT_EQ(sc.steps[2].describe(), "DB1.DBX0.1 = 1");
  EXPECT_EQ(sc.steps[3].describe(), "RUN");
  EXPECT_EQ(sc.steps[4].describe(), "fault rule \"slow\" off");
}

TEST(scenario_format, refuses_what_cannot_run_and_says_where) {
  EXPECT_EQ(error_of(R"({"steps": [{"at": "1s", "mode": "halt"}]})"),
            "s.json: steps[0].mode: expected \"run\" or \"stop\"");
  EXPECT_EQ(error_of(R"({"steps": [{"at": "1s", "raise": "DB1.DBW0"}]})"),
            "s.json: steps[0].raise: raise and clear take a BOOL (e.g. DB1.DBX8.1)");
  EXPECT_EQ(error_of(R"({"steps": [{"at": "1s", "set": "DB1.DBW0"}]})"),
            "s.json: steps[0]: \"set\" needs a \"value\"");
  EXPECT_EQ(
      error_of(R"({"steps": [{"at": "1s", "mode": "run", "raise": "M0.0"}]})"),
      "s.json: steps[0]: give exactly one of \"mode\", \"set\", \"raise\", \"clear\", \"fault\"");
  EXPECT_EQ(error_of(R"({"period": "1s", "steps": [{"at": "2s", "mode": "run"}]})"),
            "s.json: period: shorter than the last step's time");
  EXPECT_EQ(error_of(R"({"steps": [{"at": "soon", "mode": "run"}]})"),
            "s.json: steps[0].at: expected a time like \"10s\", \"500ms\", \"2m\" or a number of "
            "seconds");
}

// The client's view of the operating mode: SZL 0x0424's BZU-ID (8 RUN, 4 STOP).
std::optional<std::uint8_t> mode_of(client& c, std::uint16_t ref) {
  const auto r = c.transact(read_szl_request(ref, 0x0424, 0));
  if (!r) return std::nullopt;
  const auto m = s7::decode(*r);
  if (!m || !m->ud.has_data) return std::nullopt;
  const auto head = protos7::codec::szl::parse_response(m->ud.data.payload, nullptr, true);
  if (!head) return std::nullopt;
  const auto rec = protos7::codec::szl::parse_operating_mode(head->records.first(20), nullptr);
  if (!rec) return std::nullopt;
  return rec->mode();
}

TEST(scenario_runner, an_s7_client_sees_the_programmed_changes_at_the_programmed_times) {
  running_server rs;
  rs.start();
  client c(rs.port());
  ASSERT_TRUE(c.open());
  const srv::scenario sc = srv::parse_scenario(R"({ "steps": [
      { "at": "300ms", "mode": "stop" },
      { "at": "500ms", "set": "DB2.DBW4", "value": 1234 },
      { "at": "700ms", "raise": "DB2.DBX8.2" },
      { "at": "900ms", "mode": "run" } ] })",
                                               "timeline", nullptr);
  srv::scenario_runner runner(sc, rs.srv(), rs.mem());
  const auto t0 = clk::now();
  runner.start();
  std::map<std::string, int> seen;  // what changed, ms after the start
  std::uint16_t ref = 1;
  const std::array<s7::any_address, 1> item{any(0x02, 10, 0x84, 2, 0)};
  while (seen.size() < 4 && clk::now() - t0 < std::chrono::seconds(5)) {
    const int ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(clk::now() - t0).count());
    const auto mode = mode_of(c, ref++);
    const auto r = c.transact(client::job(ref++, var_param(s7::function::read_var, item)));
    ASSERT_TRUE(mode && r);
    const auto items = read_items(*r);
    ASSERT_EQ(items.size(), 1U);
    if (*mode == protos7::codec::szl::bzu_stop) seen.emplace("stop", ms);
    if (*mode == protos7::codec::szl::bzu_run && seen.contains("stop")) seen.emplace("run", ms);
    if (to_hex(items[0].data).substr(8, 4) == "04d2") seen.emplace("set", ms);
    if ((u8(items[0].data[8]) & 0x04U) != 0) seen.emplace("raise", ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::map<std::string, int> programmed{
      {"stop", 300}, {"set", 500}, {"raise", 700}, {"run", 900}};
  for (const auto& [what, at] : programmed) {
    ASSERT_TRUE(seen.contains(what)) << what;
    EXPECT_GE(seen[what], at - early_ms) << what;
    EXPECT_LE(seen[what], at + late_ms) << what;
  }
  EXPECT_EQ(runner.steps_run(), 4U);
}

// --- the living process ------------------------------------------------------------------

srv::process_def def(const char* json,
                     protos7::store::s7_kind kind = protos7::store::s7_kind::real) {
  protos7::store::type_spec t;
  t.kind = kind;
  std::string why;
  const auto d = srv::parse_process(json, t, table_lookup(), why);
  EXPECT_TRUE(d) << why;
  return d.value_or(srv::process_def{});
}

srv::driven_variable driven(const char* address, const char* type, const char* json) {
  std::string why;
  const auto v = srv::parse_plc_variable(address, type, table_lookup(), why);
  EXPECT_TRUE(v) << why;
  return {0, *v, def(json, v->type.kind)};
}

TEST(process_sim, each_kind_gives_its_values) {
  protos7::server::plc_memory mem{protos7::server::area_sizes{}};
  mem.add_db(ram_db(1, 64, true));
  srv::process_sim sim;
  sim.set(
      {driven("DB1.Temperature", "", R"({"kind": "ramp", "min": 0, "max": 100, "period_s": 10})"),
       driven("DB1.DBD24", "REAL", R"({"kind": "sine", "min": -1, "max": 1, "period_s": 4})"),
       driven("DB1.DBW28", "INT",
              R"({"kind": "square", "min": 5, "max": 9, "period_s": 2, "duty": 0.25})"),
       driven("DB1.DBX30.0", "", R"({"kind": "toggle", "period_s": 2})"),
       driven("DB1.DBW32", "",
              R"({"kind": "counter", "step": 2, "every_ms": 400, "min": 0, "max": 6})"),
       driven("DB1.DBD34", "REAL", R"({"kind": "copy", "source": "DB1.Temperature"})"),
       driven("DB1.DBD38", "REAL",
              R"j({"kind": "expression", "expression": "DB1.Temperature * 2 + max(t, 1)"})j")});
  const auto at = [&](const char* address, const char* type) {
    std::string why;
    return srv::read_plc_variable(mem, *srv::parse_plc_variable(address, type, nullptr, why))
        .value();
  };
  sim.tick(mem, 2.3);
  EXPECT_NEAR(at("DB1.DBD4", "REAL"), 23.0, 1e-4);  // 2.3 s of a 10 s ramp from 0 to 100
  EXPECT_NEAR(at("DB1.DBD24", "REAL"), std::sin(2 * 3.14159265358979 * 0.575), 1e-6);
  EXPECT_EQ(at("DB1.DBW28", ""), 9);    // 0.3 s into a 2 s period: within the first quarter
  EXPECT_EQ(at("DB1.DBX30.0", ""), 1);  // first half of the period
  EXPECT_EQ(at("DB1.DBW32", ""), 2);    // 5 steps of 2 from 0, wrapping after 6: 10 mod 8
  EXPECT_NEAR(at("DB1.DBD34", "REAL"), 23.0, 1e-4);
  EXPECT_NEAR(at("DB1.DBD38", "REAL"), 48.3, 1e-4);
  sim.tick(mem, 3.2);
  EXPECT_EQ(at("DB1.DBW28", ""), 5);
  EXPECT_EQ(at("DB1.DBX30.0", ""), 0);
}

TEST(process_sim, a_random_walk_is_the_same_for_the_same_seed_and_stays_in_range) {
  const auto run = [] {
    protos7::server::plc_memory mem{protos7::server::area_sizes{}};
    mem.add_db(ram_db(1, 16, true));
    srv::process_sim sim;
    sim.set({driven("DB1.DBD0", "REAL",
                    R"({"kind": "random_walk", "min": 0, "max": 10, "step": 3, "seed": 11})")});
    std::vector<double> v;
    std::string why;
    const auto var = *srv::parse_plc_variable("DB1.DBD0", "REAL", nullptr, why);
    for (int i = 0; i < 50; ++i) {
      sim.tick(mem, i * 0.1);
      v.push_back(*srv::read_plc_variable(mem, var));
    }
    return v;
  };
  const auto a = run();
  EXPECT_EQ(a, run());
  EXPECT_DOUBLE_EQ(a[0], 5.0);  // starts in the middle
  for (double x : a) {
    EXPECT_GE(x, 0.0);
    EXPECT_LE(x, 10.0);
  }
  EXPECT_NE(a[1], a[0]);
}

TEST(process_sim, definitions_that_cannot_work_are_refused_with_the_reason) {
  protos7::store::type_spec real;
  real.kind = protos7::store::s7_kind::real;
  const auto why_of = [&](const char* json) {
    std::string why;
    (void)srv::parse_process(json, real, table_lookup(), why);
    return why;
  };
  EXPECT_EQ(why_of(R"({"kind": "wave"})"),
            "unknown kind \"wave\" (one of ramp, sine, square, random_walk, counter, toggle, copy, "
            "expression)");
  EXPECT_EQ(why_of(R"({"kind": "ramp", "min": 5, "max": 1})"), "\"max\" must not be below \"min\"");
  EXPECT_EQ(why_of(R"({"kind": "sine", "step": 1})"),
            "\"step\" does not apply to sine (it takes min, max, period_s, phase_deg)");
  EXPECT_EQ(why_of(R"({"kind": "toggle"})"), "toggle drives a BOOL");
  EXPECT_EQ(why_of(R"({"kind": "expression", "expression": "2 * (DB1.Temperature"})"),
            "expression: at character 21: missing )");
  EXPECT_EQ(why_of(R"j({"kind": "expression", "expression": "foo(1)"})j"),
            "expression: at character 5: unknown function foo");
  EXPECT_NE(
      why_of(R"({"kind": "copy", "source": "DB1.Pressure"})").find("neither a STEP 7 address"),
      std::string::npos);
}

TEST(process_sim, a_running_process_changes_what_an_s7_client_reads) {
  running_server rs;
  rs.start();
  srv::process_sim sim(std::chrono::milliseconds(20));
  sim.set({driven("DB2.DBW0", "",
                  R"({"kind": "counter", "step": 1, "every_ms": 50, "min": 0, "max": 30000})")});
  sim.start(rs.srv(), rs.mem());
  client c(rs.port());
  ASSERT_TRUE(c.open());
  const std::array<s7::any_address, 1> item{any(0x04, 1, 0x84, 2, 0)};
  const auto value = [&](std::uint16_t ref) {
    const auto items =
        read_items(*c.transact(client::job(ref, var_param(s7::function::read_var, item))));
    return static_cast<unsigned>((u8(items.at(0).data[0]) << 8U) | u8(items.at(0).data[1]));
  };
  const unsigned first = value(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const unsigned later = value(2);
  EXPECT_GT(later, first);
  sim.stop();
  EXPECT_GT(sim.ticks(), 5U);
}

}  // namespace
