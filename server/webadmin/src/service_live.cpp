// The web admin's operations on what lives and misbehaves on purpose (docs/API.md "Faults",
// "Living process", "Trends"): the fault rules and their counters, each variable's process
// definition, and the trend history the page charts.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "protos7/server/fault_rules.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/process_sim.hpp"
#include "service.hpp"

namespace protos7::webadmin {

namespace {

using server::log;
using server::log_level;

reply loop_down() {
  return reply::error(
      503,
      "the PLC core did not run the request (the server is stopping or overloaded); try again");
}

// The trend of a variable: numbers, BOOL as 0/1; text and date types are not charted.
bool trendable(const var_def& v) {
  return !v.type.is_text() && v.type.kind != store::s7_kind::date_and_time;
}
constexpr std::size_t max_trended_variables = 512;

json event_json(const server::fault_event& e) {
  json kinds = json::array();
  for (std::string_view k : e.kinds) kinds.push_back(std::string(k));
  return {
      {"sequence", e.sequence},
      {"time",
       fmt::format(
           "{:%Y-%m-%dT%H:%M:%S}.{:03}Z", std::chrono::floor<std::chrono::seconds>(e.at),
           std::chrono::duration_cast<std::chrono::milliseconds>(e.at.time_since_epoch()).count() %
               1000)},
      {"peer", e.peer},
      {"rule", e.rule + 1},
      {"rule_name", e.rule_name},
      {"action", e.action},
      {"kinds", std::move(kinds)},
      {"request", e.request},
      {"delay_ms", e.delay_ms},
      {"reply_suppressed", e.reply_suppressed},
      {"connection_ended", e.connection_ended}};
}

// The engine's state for GET /api/faults (loop thread).
json faults_json(server::fault_engine& f) {
  json rules = json::array();
  const auto& c = f.counters();
  for (std::size_t i = 0; i < f.rules().rules.size(); ++i) {
    const server::fault_rule& r = f.rules().rules[i];
    rules.push_back({{"rule", i + 1},
                     {"name", server::fault_rule_label(f.rules(), i)},
                     {"enabled", r.enabled},
                     {"action", r.act.describe()},
                     {"matched", i < c.size() ? c[i].matched : 0},
                     {"injected", i < c.size() ? c[i].injected : 0}});
  }
  json kinds = json::object();
  for (const auto& [k, n] : f.by_kind()) kinds[k] = n;
  return {{"active", f.active()},
          {"injected_total", f.injected_total()},
          {"by_kind", std::move(kinds)},
          {"rules", std::move(rules)},
          {"document", json::parse(server::fault_rules_json(f.rules()))}};
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Faults

reply service::faults() {
  auto r = on_loop([this] { return faults_json(srv_.faults()); });
  if (!r.ran) return loop_down();
  return reply::ok(std::move(r.value));
}

reply service::set_faults(const std::string& body) {
  server::fault_rules rules;
  try {
    rules = server::parse_fault_rules(body, "rules");
  } catch (const server::fault_error& e) {
    return reply::error(400, e.what());
  }
  auto r = on_loop([this, rules] {
    srv_.faults().set_rules(rules);
    return faults_json(srv_.faults());
  });
  if (!r.ran) return loop_down();
  log(log_level::info, "webadmin: fault rules replaced ({} rule(s))", rules.rules.size());
  return reply::ok(std::move(r.value));
}

reply service::set_fault_enabled(std::size_t rule, const json& body) {
  if (!body.is_object() || body.size() != 1 || !body.contains("enabled") ||
      !body.at("enabled").is_boolean())
    return reply::error(400, "send {\"enabled\": true} or {\"enabled\": false}", "enabled");
  const bool on = body.at("enabled").get<bool>();
  auto r = on_loop([this, rule, on]() -> std::optional<json> {
    server::fault_engine& f = srv_.faults();
    if (rule == 0 || rule > f.rules().rules.size()) return std::nullopt;
    (void)f.set_enabled(server::fault_rule_label(f.rules(), rule - 1), on);
    return faults_json(f);
  });
  if (!r.ran) return loop_down();
  if (!r.value) return reply::error(404, fmt::format("there is no fault rule {}", rule));
  return reply::ok(std::move(*r.value));
}

reply service::fault_events(std::size_t limit) {
  auto r = on_loop([this, limit] {
    json out = json::array();
    const auto& recent = srv_.faults().recent();
    for (auto it = recent.rbegin(); it != recent.rend() && out.size() < limit; ++it)
      out.push_back(event_json(*it));
    return out;
  });
  if (!r.ran) return loop_down();
  return reply::ok({{"events", std::move(r.value)}, {"kept", server::fault_engine::recent_limit}});
}

reply service::reset_fault_counters() {
  auto r = on_loop([this] {
    srv_.faults().reset_counters();
    return faults_json(srv_.faults());
  });
  if (!r.ran) return loop_down();
  return reply::ok(std::move(r.value));
}

// ------------------------------------------------------------------------------------------
// The living process

json service::process_json_of(std::int64_t id) const {
  const auto it = processes_.find(id);
  if (it == processes_.end()) return nullptr;
  json d = json::parse(it->second, nullptr, false);
  return d.is_discarded() ? json(nullptr) : d;
}

void service::catalog_changed() {
  ++catalog_gen_;
  std::erase_if(processes_, [this](const auto& p) {
    return std::none_of(vars_.begin(), vars_.end(),
                        [&](const var_def& v) { return v.id == p.first; });
  });
  update_process();
}

void service::update_process() {
  if (opt_.process == nullptr) return;
  const server::variable_lookup lookup = server::definitions_lookup({vars_.begin(), vars_.end()});
  std::vector<server::driven_variable> driven;
  for (const var_def& v : vars_) {
    const auto it = processes_.find(v.id);
    if (it == processes_.end()) continue;
    std::string why;
    const auto target =
        server::parse_plc_variable(fmt::format("DB{}.{}", v.db, v.name), "", lookup, why);
    const auto def = target ? server::parse_process(it->second, v.type, lookup, why) : std::nullopt;
    if (!def) {
      log(log_level::warn, "webadmin: DB{}.{}: its process is not run: {}", v.db, v.name, why);
      continue;
    }
    driven.push_back({v.id, *target, *def});
  }
  opt_.process->set(std::move(driven));
}

reply service::get_process(std::uint16_t n, std::int64_t id) {
  const std::lock_guard lock{mu_};
  if (find_var(n, id) == nullptr)
    return reply::error(404, fmt::format("DB{} has no variable with id {}", n, id));
  return reply::ok({{"id", id}, {"process", process_json_of(id)}});
}

reply service::set_process(std::uint16_t n, std::int64_t id, const json& body) {
  const std::lock_guard lock{mu_};
  const var_def* v = find_var(n, id);
  if (v == nullptr) return reply::error(404, fmt::format("DB{} has no variable with id {}", n, id));
  std::string why;
  const server::variable_lookup lookup = server::definitions_lookup({vars_.begin(), vars_.end()});
  const auto target =
      server::parse_plc_variable(fmt::format("DB{}.{}", v->db, v->name), "", lookup, why);
  const auto def = target ? server::parse_process(body.dump(), v->type, lookup, why) : std::nullopt;
  if (!def) return reply::error(400, fmt::format("{}: {}", v->name, why), "process");
  const std::string text = server::process_json(*def);
  try {
    store_.set_process(id, text);
  } catch (const std::exception& e) {
    return reply::error(500,
                        fmt::format("the process of '{}' was not stored: {}", v->name, e.what()));
  }
  processes_[id] = text;
  update_process();
  ++catalog_gen_;
  log(log_level::info, "webadmin: DB{}.{} is driven by {}", n, v->name, text);
  return reply::ok({{"id", id}, {"process", process_json_of(id)}});
}

reply service::delete_process(std::uint16_t n, std::int64_t id) {
  const std::lock_guard lock{mu_};
  const var_def* v = find_var(n, id);
  if (v == nullptr) return reply::error(404, fmt::format("DB{} has no variable with id {}", n, id));
  try {
    store_.set_process(id, std::nullopt);
  } catch (const std::exception& e) {
    return reply::error(500,
                        fmt::format("the process of '{}' was not removed: {}", v->name, e.what()));
  }
  processes_.erase(id);
  update_process();
  ++catalog_gen_;
  return reply::ok({{"id", id}, {"process", nullptr}});
}

// ------------------------------------------------------------------------------------------
// Trends

void service::sample_trends() {
  std::vector<var_def> vars;
  {
    const std::lock_guard lock{mu_};
    for (const var_def& v : vars_)
      if (trendable(v) && vars.size() < max_trended_variables) vars.push_back(v);
  }
  std::set<std::uint16_t> dbs;
  for (const var_def& v : vars) dbs.insert(v.db);
  struct sample {
    std::uint64_t requests = 0, faults = 0;
    std::map<std::uint16_t, std::vector<std::byte>> bytes;
  };
  auto r = on_loop([this, dbs] {
    sample s;
    s.requests = monitor_.total_requests();
    s.faults = srv_.faults().injected_total();
    for (std::uint16_t n : dbs)
      if (const server::data_block* d = mem_.find_db(n); d != nullptr && !srv_.plc().db_hidden(n))
        s.bytes[n].assign(d->bytes().begin(), d->bytes().end());
    return s;
  });
  if (!r.ran) return;
  const auto now = std::chrono::steady_clock::now();
  const std::lock_guard lock{trend_mu_};
  trend_history& h = trend_;
  const double secs = h.primed ? std::chrono::duration<double>(now - h.last).count() : 0;
  const auto rate = [&](std::uint64_t cur, std::uint64_t last) {
    return secs > 0 && cur >= last ? static_cast<double>(cur - last) / secs : 0.0;
  };
  h.t.push_back(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  h.rps.push_back(rate(r.value.requests, h.last_requests));
  h.fps.push_back(rate(r.value.faults, h.last_faults));
  h.last_requests = r.value.requests;
  h.last_faults = r.value.faults;
  h.last = now;
  h.primed = true;
  for (auto& [id, vals] : h.vars) vals.push_back(std::nullopt);  // filled below when still there
  for (const var_def& v : vars) {
    auto& vals = h.vars[v.id];
    vals.resize(h.t.size());
    const auto b = r.value.bytes.find(v.db);
    if (b == r.value.bytes.end() || v.end_byte() > b->second.size()) continue;
    const decoded_value d = decode_value(
        v.type, std::span<const std::byte>(b->second).subspan(v.byte_offset, v.type.size()),
        v.bit_offset);
    if (d.value.is_number()) vals.back() = d.value.get<double>();
    if (d.value.is_boolean()) vals.back() = d.value.get<bool>() ? 1.0 : 0.0;
  }
  while (h.t.size() > opt_.trend_points) {
    h.t.pop_front();
    h.rps.pop_front();
    h.fps.pop_front();
    for (auto& [id, vals] : h.vars)
      if (!vals.empty()) vals.pop_front();
  }
  std::erase_if(h.vars, [](const auto& p) {
    return std::all_of(p.second.begin(), p.second.end(), [](const auto& x) { return !x; });
  });
}

reply service::trends(std::optional<std::uint16_t> db) {
  std::set<std::int64_t> ids;
  if (db) {
    const std::lock_guard lock{mu_};
    for (const var_def& v : vars_)
      if (v.db == *db) ids.insert(v.id);
  }
  const std::lock_guard lock{trend_mu_};
  const trend_history& h = trend_;
  json vars = json::object();
  for (const auto& [id, vals] : h.vars) {
    if (!db || !ids.contains(id)) continue;
    json a = json::array();
    for (const auto& x : vals) a.push_back(x ? json(*x) : json(nullptr));
    vars[std::to_string(id)] = std::move(a);
  }
  return reply::ok({{"interval_ms", opt_.trend_interval.count()},
                    {"t", json(std::vector<double>(h.t.begin(), h.t.end()))},
                    {"requests_per_s", json(std::vector<double>(h.rps.begin(), h.rps.end()))},
                    {"faults_per_s", json(std::vector<double>(h.fps.begin(), h.fps.end()))},
                    {"variables", std::move(vars)}});
}

void service::start_sampler() {
  sampler_ = std::thread([this] {
    for (;;) {
      {
        std::unique_lock lock{sampler_mu_};
        if (sampler_cv_.wait_for(lock, opt_.trend_interval, [this] { return sampler_stop_; }))
          return;
      }
      sample_trends();
    }
  });
}

void service::stop_sampler() {
  {
    const std::lock_guard lock{sampler_mu_};
    sampler_stop_ = true;
  }
  sampler_cv_.notify_all();
  if (sampler_.joinable()) sampler_.join();
}

}  // namespace protos7::webadmin
