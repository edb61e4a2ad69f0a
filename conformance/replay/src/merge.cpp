// `protos7 report merge`: the JSON reports of the shards of one replay, as one report and one
// JUnit file. Connections are put in the order of their index in each capture, so the result is
// the same however the connections were sharded (and for an unsharded report).
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "protos7/replay/report.hpp"
#include "protos7/stream/shard.hpp"
#include "writers.hpp"

namespace protos7::replay {

namespace {

using json = nlohmann::json;

struct bad_input {
  std::string why;
};

const json& at(const json& o, const char* key, const std::string& where) {
  if (!o.is_object() || !o.contains(key))
    throw bad_input{
        fmt::format("{}: no \"{}\" (not a report of protos7 replay --json)", where, key)};
  return o.at(key);
}

// o[key] when it is there, else an empty array or object.
const json& member(const json& o, const char* key, bool object = false) {
  static const json empty_array = json::array();
  static const json empty_object = json::object();
  if (o.is_object()) {
    const auto it = o.find(key);
    if (it != o.end()) return *it;
  }
  return object ? empty_object : empty_array;
}

verdict verdict_of(const std::string& s, const std::string& where) {
  for (std::size_t v = 0; v < verdict_count; ++v)
    if (to_string(static_cast<verdict>(v)) == s) return static_cast<verdict>(v);
  throw bad_input{fmt::format("{}: unknown verdict \"{}\"", where, s)};
}

// The names of the equivalence rules, kept as views (field_diff::rule is a string_view).
std::string_view rule_of(const json& j) {
  if (!j.is_string()) return {};
  const std::string s = j.get<std::string>();
  for (const equivalence_rule& r : equivalence_rules())
    if (r.id == s) return r.id;
  return {};
}

field_value value_of(const json& j) {
  if (j.is_null()) return {};
  if (j.is_number_integer()) return {true, j.get<std::int64_t>()};
  return {true, j.is_string() ? j.get<std::string>() : j.dump()};
}

answer answer_of(const json& j, const std::string& where) {
  answer a;
  a.v = verdict_of(at(j, "verdict", where).get<std::string>(), where);
  a.service = at(j, "service", where).get<std::string>();
  a.request_frame = at(j, "request_frame", where).get<std::uint64_t>();
  a.expected_frame = at(j, "expected_frame", where).get<std::uint64_t>();
  a.expected = j.value("expected", "");
  a.actual = j.value("actual", "");
  for (const json& f : member(j, "fields"))
    a.fields.push_back({at(f, "name", where).get<std::string>(), value_of(f.at("expected")),
                        value_of(f.at("actual")), rule_of(member(f, "tolerated_by", true))});
  a.bytes_diff = j.value("bytes_diff", "");
  a.detail = j.value("detail", "");
  return a;
}

tally tally_of(const json& j) {
  tally t;
  for (std::size_t v = 0; v < verdict_count; ++v)
    t.by_verdict[v] = j.value(std::string(to_string(static_cast<verdict>(v))), std::size_t{0});
  return t;
}

detail::connection_totals totals_of(const json& c, const std::string& where) {
  detail::connection_totals t;
  t.t = tally_of(at(c, "totals", where));
  for (const json& s : at(c, "services", where)) {
    detail::service_tally st{at(s, "service", where).get<std::string>(), tally_of(s), {}};
    for (const auto& [rule, n] : member(s, "tolerated", true).items())
      st.tolerated.emplace_back(rule, n.get<std::size_t>());
    t.services.push_back(std::move(st));
  }
  return t;
}

connection_summary summary_of(const json& c, const std::string& where) {
  connection_summary s;
  s.index = at(c, "index", where).get<std::size_t>();
  s.client = c.value("client", "");
  s.server = c.value("server", "");
  s.first_frame = c.value("first_frame", std::uint64_t{0});
  s.last_frame = c.value("last_frame", std::uint64_t{0});
  s.replayed = c.value("replayed", false);
  s.skip_reason = c.value("skip_reason", "");
  s.notes = c.value("notes", std::vector<std::string>{});
  s.synthesized_start = c.value("synthesized_start", "");
  return s;
}

struct shard_report {
  std::string file;
  json doc;
  stream::shard shard;
};

shard_report load(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw bad_input{fmt::format("cannot read {}", file)};
  shard_report r{file, json::parse(in, nullptr, false), {}};
  if (r.doc.is_discarded()) throw bad_input{fmt::format("{}: not JSON", file)};
  (void)at(r.doc, "captures", file);
  std::string why;
  if (r.doc.contains("shard") &&
      !stream::shard::parse(r.doc["shard"].get<std::string>(), r.shard, why))
    throw bad_input{fmt::format("{}: {}", file, why)};
  return r;
}

// Every shard of one N once, every one with the same target and captures.
void check_fit(const std::vector<shard_report>& shards) {
  const std::size_t n = shards.front().shard.count;
  std::set<std::size_t> seen;
  for (const shard_report& s : shards) {
    if (s.shard.count != n)
      throw bad_input{fmt::format("{} is shard {}, {} is shard {}: not the same sharding",
                                  shards.front().file, shards.front().shard.to_string(), s.file,
                                  s.shard.to_string())};
    if (!seen.insert(s.shard.index).second)
      throw bad_input{fmt::format("shard {} given twice ({})", s.shard.to_string(), s.file)};
    const json& caps = s.doc["captures"];
    const json& first = shards.front().doc["captures"];
    bool same = caps.size() == first.size() &&
                s.doc.value("target", "") == shards.front().doc.value("target", "");
    for (std::size_t k = 0; same && k < caps.size(); ++k)
      same = caps[k].value("path", "") == first[k].value("path", "");
    if (!same)
      throw bad_input{
          fmt::format("{} and {} are not shards of one replay (target or captures differ)",
                      shards.front().file, s.file)};
  }
  std::string missing;
  for (std::size_t i = 0; i < n; ++i)
    if (!seen.contains(i)) missing += fmt::format("{}{}/{}", missing.empty() ? "" : ", ", i, n);
  if (!missing.empty()) throw bad_input{"missing shard(s): " + missing};
}

// Capture k of every shard, its connections in index order, into the writers.
void merge_capture(const std::vector<shard_report>& shards, std::size_t k,
                   const std::vector<detail::report_writer*>& writers) {
  const json& head = shards.front().doc["captures"][k];
  const std::string path = head.value("path", "");
  for (auto* w : writers) w->begin_capture(path);
  if (!head.value("loaded", true))
    for (auto* w : writers) w->capture_error(head.value("error", ""));
  for (const json& n : member(head, "notes"))
    for (auto* w : writers) w->capture_note(n.get<std::string>());
  std::map<std::size_t, std::pair<const json*, std::string>> conns;
  for (const shard_report& s : shards) {
    for (const json& c : member(s.doc["captures"][k], "connections")) {
      const std::string where = fmt::format("{}: capture {} connection", s.file, path);
      const std::size_t index = at(c, "index", where).get<std::size_t>();
      if (!conns.try_emplace(index, &c, s.file).second)
        throw bad_input{
            fmt::format("{}: connection {} of {} is in two shards", s.file, index, path)};
    }
  }
  for (const auto& [index, c] : conns) {
    const std::string where = fmt::format("{}: {} connection {}", c.second, path, index);
    for (const json& a : member(*c.first, "answers")) {
      const answer ans = answer_of(a, where);
      for (auto* w : writers) w->answer(index, ans);
    }
    const connection_summary s = summary_of(*c.first, where);
    const detail::connection_totals t = totals_of(*c.first, where);
    for (auto* w : writers) w->connection_done(s, t);
  }
  for (auto* w : writers) w->end_capture();
}

}  // namespace

int run_merge(const std::vector<std::string>& inputs, const std::string& json_out,
              const std::string& junit_out, std::FILE* out, std::FILE* err) {
  std::vector<shard_report> shards;
  std::FILE* dest = out;
  try {
    for (const std::string& f : inputs) shards.push_back(load(f));
    if (shards.empty()) throw bad_input{"no report given"};
    std::sort(shards.begin(), shards.end(),
              [](const auto& a, const auto& b) { return a.shard.index < b.shard.index; });
    check_fit(shards);
    if (!json_out.empty() && json_out != "-") {
      dest = std::fopen(json_out.c_str(), "wb");
      if (dest == nullptr) throw bad_input{fmt::format("cannot write {}", json_out)};
    }
    const auto main = detail::json_writer(dest, true);
    const auto junit = junit_out.empty() ? nullptr : detail::junit_writer(junit_out);
    std::vector<detail::report_writer*> writers{main.get()};
    if (junit) writers.push_back(junit.get());
    detail::run_info info;
    info.target = shards.front().doc.value("target", "");
    info.timeout_ms = shards.front().doc.value("timeout_ms", 0LL);
    for (auto* w : writers) w->begin_run(info);
    tally all;
    for (std::size_t k = 0; k < shards.front().doc["captures"].size(); ++k)
      merge_capture(shards, k, writers);
    bool ok = true;
    for (auto* w : writers) ok = w->end_run() && ok;
    for (const shard_report& s : shards) {
      const tally t = tally_of(member(s.doc, "totals", true));
      for (std::size_t v = 0; v < verdict_count; ++v) all.by_verdict[v] += t.by_verdict[v];
    }
    if (dest != out) std::fclose(dest);
    if (!ok)
      throw bad_input{fmt::format("cannot write {}", junit_out.empty() ? json_out : junit_out)};
    fmt::print(err, "protos7 report merge: {} shard(s): {}\n", shards.size(),
               detail::tally_text(all));
    return all.failures() != 0 ? 1 : 0;
  } catch (const bad_input& e) {
    if (dest != out && dest != nullptr) std::fclose(dest);
    fmt::print(err, "protos7 report merge: {}\n", e.why);
    return 2;
  } catch (const json::exception& e) {
    if (dest != out && dest != nullptr) std::fclose(dest);
    fmt::print(err, "protos7 report merge: not a report of protos7 replay --json: {}\n", e.what());
    return 2;
  }
}

}  // namespace protos7::replay
