// Scenarios (scenario.hpp): the timeline format and its runner.
#include "protos7/server/scenario.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "json_walk.hpp"
#include "protos7/server/app.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/server.hpp"

namespace protos7::server {

namespace {

using json = nlohmann::ordered_json;

[[noreturn]] void raise_scenario_error(const std::string& message) {
  throw std::runtime_error(message);
}

// The document walk (json_walk.hpp); paths as "file: steps[2].at".
using at = json_walk::place;

std::chrono::milliseconds get_time(const json& j, const at& where) {
  if (j.is_number()) {
    const double s = j.get<double>();
    if (!(s >= 0) || s > 100'000'000) where.fail("expected 0 to 100000000 seconds");
    return std::chrono::milliseconds(std::llround(s * 1000));
  }
  if (j.is_string())
    if (const auto d = parse_duration(j.get<std::string>())) return *d;
  where.fail("expected a time like \"10s\", \"500ms\", \"2m\" or a number of seconds");
}

std::string get_text(const json& j, const at& where) {
  return json_walk::get_string(
      j, where, {.max_length = 128, .chars = json_walk::text::no_control, .allow_empty = false});
}

plc_variable get_variable(const json& step, const char* key, const at& where,
                          const variable_lookup& lookup) {
  const std::string type =
      step.contains("type") ? get_text(step.at("type"), where.key("type")) : "";
  std::string why;
  const auto v = parse_plc_variable(get_text(step.at(key), where.key(key)), type, lookup, why);
  if (!v) where.key(key).fail(why);
  return *v;
}

scenario_step parse_step(const json& j, const at& where, const variable_lookup& lookup) {
  json_walk::expect_object(
      j, where,
      {"at", "mode", "set", "type", "value", "raise", "clear", "fault", "enabled", "comment"});
  if (!j.contains("at")) where.fail("missing key \"at\" (when, e.g. \"10s\")");
  scenario_step s;
  s.at = get_time(j.at("at"), where.key("at"));
  int kinds = 0;
  for (const char* k : {"mode", "set", "raise", "clear", "fault"}) kinds += j.contains(k) ? 1 : 0;
  if (kinds != 1)
    where.fail("give exactly one of \"mode\", \"set\", \"raise\", \"clear\", \"fault\"");
  if (j.contains("mode")) {
    const std::string m = get_text(j.at("mode"), where.key("mode"));
    if (m != "run" && m != "stop" && m != "RUN" && m != "STOP")
      where.key("mode").fail("expected \"run\" or \"stop\"");
    s.mode = m == "run" || m == "RUN" ? operating_mode::run : operating_mode::stop;
  } else if (j.contains("fault")) {
    s.what = scenario_step::kind::fault;
    s.fault = get_text(j.at("fault"), where.key("fault"));
    s.enabled =
        !j.contains("enabled") || json_walk::get_bool(j.at("enabled"), where.key("enabled"));
  } else {
    s.what = scenario_step::kind::set;
    const char* key = j.contains("set") ? "set" : j.contains("raise") ? "raise" : "clear";
    s.variable = get_variable(j, key, where, lookup);
    if (key == std::string_view("set")) {
      if (!j.contains("value")) where.fail("\"set\" needs a \"value\"");
      const json& v = j.at("value");
      if (!v.is_number() && !v.is_boolean())
        where.key("value").fail("expected a number or true/false");
      s.value = v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>();
    } else {
      if (!s.variable.type.is_bool())
        where.key(key).fail("raise and clear take a BOOL (e.g. DB1.DBX8.1)");
      s.value = key == std::string_view("raise") ? 1.0 : 0.0;
    }
  }
  return s;
}

}  // namespace

std::string scenario_step::describe() const {
  switch (what) {
    case kind::mode:
      return mode == operating_mode::run ? "RUN" : "STOP";
    case kind::fault:
      return fmt::format("fault rule \"{}\" {}", fault, enabled ? "on" : "off");
    case kind::set:
      break;
  }
  return fmt::format("{} = {}", variable.label, value);
}

scenario parse_scenario(std::string_view text, const std::string& source,
                        const variable_lookup& lookup) {
  const at root{source, "", raise_scenario_error};
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    root.fail(fmt::format("not valid JSON: {}", e.what()));
  }
  json_walk::expect_object(doc, root, {"repeat", "period", "steps", "comment"});
  if (!doc.contains("steps") || !doc.at("steps").is_array() || doc.at("steps").empty())
    root.fail("missing \"steps\" (a list of {\"at\": ..., and what to do})");
  scenario sc;
  for (std::size_t i = 0; i < doc.at("steps").size(); ++i)
    sc.steps.push_back(parse_step(doc.at("steps")[i], root.key("steps").item(i), lookup));
  std::stable_sort(sc.steps.begin(), sc.steps.end(),
                   [](const scenario_step& a, const scenario_step& b) { return a.at < b.at; });
  sc.period = sc.steps.back().at;
  if (doc.contains("period")) sc.period = get_time(doc.at("period"), root.key("period"));
  if (sc.period < sc.steps.back().at) root.key("period").fail("shorter than the last step's time");
  if (doc.contains("repeat")) {
    const json& r = doc.at("repeat");
    if (r.is_boolean())
      sc.passes = r.get<bool>() ? 0 : 1;
    else if (r.is_number_unsigned() && r.get<std::uint64_t>() >= 1)
      sc.passes = r.get<std::uint64_t>();
    else
      root.key("repeat").fail("expected true (for ever) or a number of passes (1 or more)");
  }
  if (sc.passes != 1 && sc.period.count() == 0)
    root.key("period").fail("a repeated scenario needs a period over 0");
  return sc;
}

scenario load_scenario(const std::string& path, const variable_lookup& lookup) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(fmt::format("{}: cannot open the scenario", path));
  std::ostringstream ss;
  ss << f.rdbuf();
  return parse_scenario(ss.str(), path, lookup);
}

scenario_runner::scenario_runner(scenario sc, server& srv, plc_memory& mem)
    : sc_(std::move(sc)), srv_(srv), mem_(mem) {}

scenario_runner::~scenario_runner() {
  stop();
}

void scenario_runner::start() {
  thread_ = std::thread([this] { loop(); });
}

void scenario_runner::stop() {
  {
    const std::lock_guard lock{mu_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void scenario_runner::loop() {
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t pass = 0; sc_.passes == 0 || pass < sc_.passes; ++pass) {
    for (const scenario_step& step : sc_.steps) {
      const auto due = t0 + sc_.period * static_cast<std::int64_t>(pass) + step.at;
      {
        std::unique_lock lock{mu_};
        if (cv_.wait_until(lock, due, [this] { return stopping_; })) return;
      }
      server* srv = &srv_;
      plc_memory* mem = &mem_;
      std::atomic<std::uint64_t>* run = &run_;
      const std::string when =
          fmt::format("scenario at {} ms (pass {})", step.at.count(), pass + 1);
      const bool posted = srv_.post([srv, mem, run, step, when] {
        bool ok = true;
        if (step.what == scenario_step::kind::mode)
          srv->plc().set_mode(step.mode, when);
        else if (step.what == scenario_step::kind::fault)
          ok = srv->faults().set_enabled(step.fault, step.enabled);
        else
          ok = write_plc_variable(*mem, step.variable, step.value);
        log(ok ? log_level::info : log_level::warn, "{}: {}{}", when, step.describe(),
            ok                                        ? ""
            : step.what == scenario_step::kind::fault ? " (no such rule)"
                                                      : " (not in memory)");
        run->fetch_add(1);
      });
      if (!posted) return;  // the server stopped
    }
  }
}

}  // namespace protos7::server
