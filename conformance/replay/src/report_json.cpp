// The JSON report of `protos7 replay` and `protos7 report merge` (writers.hpp), written as the
// connections end: one document, a connection per line, a listed answer per line.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "spool.hpp"
#include "writers.hpp"

namespace protos7::replay::detail {

namespace {

using json = nlohmann::ordered_json;

json value_json(const field_value& v) {
  if (!v.present) return nullptr;
  if (std::holds_alternative<std::int64_t>(v.value)) return std::get<std::int64_t>(v.value);
  return std::get<std::string>(v.value);
}

void put_tally(json& o, const tally& t) {
  for (std::size_t v = 0; v < verdict_count; ++v)
    o[std::string(to_string(static_cast<verdict>(v)))] = t.by_verdict[v];
  o["answers"] = t.total();
}

json tally_json(const tally& t) {
  json o = json::object();
  put_tally(o, t);
  return o;
}

json answer_json(const answer& a) {
  json aj = json::object();
  aj["verdict"] = std::string(to_string(a.v));
  aj["service"] = a.service;
  aj["request_frame"] = a.request_frame;
  aj["expected_frame"] = a.expected_frame;
  aj["expected"] = a.expected;
  aj["actual"] = a.actual;
  json fields = json::array();
  for (const field_diff& d : a.fields) {
    json fj = json::object();
    fj["name"] = d.name;
    fj["expected"] = value_json(d.expected);
    fj["actual"] = value_json(d.actual);
    fj["tolerated_by"] = d.rule.empty() ? json(nullptr) : json(std::string(d.rule));
    fields.push_back(std::move(fj));
  }
  aj["fields"] = std::move(fields);
  if (!a.bytes_diff.empty()) aj["bytes_diff"] = a.bytes_diff;
  if (!a.detail.empty()) aj["detail"] = a.detail;
  return aj;
}

json services_json(const std::vector<service_tally>& rows) {
  json out = json::array();
  for (const service_tally& s : rows) {
    json sj = json::object();
    sj["service"] = s.service;
    put_tally(sj, s.t);
    if (!s.tolerated.empty()) {
      json t = json::object();
      for (const auto& [rule, n] : s.tolerated) t[rule] = n;
      sj["tolerated"] = std::move(t);
    }
    out.push_back(std::move(sj));
  }
  return out;
}

// The head of a connection object, up to its answers.
std::string connection_head(const connection_summary& c, const connection_totals& t) {
  json o = json::object();
  o["index"] = c.index;
  o["client"] = c.client;
  o["server"] = c.server;
  o["first_frame"] = c.first_frame;
  o["last_frame"] = c.last_frame;
  o["replayed"] = c.replayed;
  if (!c.replayed) o["skip_reason"] = c.skip_reason;
  o["notes"] = c.notes;
  if (!c.synthesized_start.empty()) o["synthesized_start"] = c.synthesized_start;
  o["totals"] = tally_json(t.t);
  o["services"] = services_json(t.services);
  std::string s = o.dump();
  s.pop_back();  // the closing brace: the answers follow
  return s;
}

class json_report final : public report_writer {
 public:
  json_report(std::FILE* out, bool list_all) : out_(out), list_all_(list_all) {}

  void begin_run(const run_info& info) override {
    json h = json::object();
    h["target"] = info.target;
    h["timeout_ms"] = info.timeout_ms;
    if (!info.shard.empty()) h["shard"] = info.shard;
    std::string s = h.dump();
    s.pop_back();
    fmt::print(out_, "{},\"captures\":[\n", s);
  }
  void begin_capture(const std::string& path) override {
    fmt::print(out_, "{}{{\"path\":{},\"connections\":[", captures_++ == 0 ? "" : ",\n",
               json(path).dump());
    loaded_ = true;
    error_.clear();
    notes_ = json::array();
    capture_tally_ = tally{};
    connections_ = 0;
  }
  void capture_error(const std::string& error) override {
    loaded_ = false;
    error_ = error;
  }
  void capture_note(const std::string& note) override { notes_.push_back(note); }
  void answer(std::size_t connection, const replay::answer& a) override {
    diffs_.add(a);
    if (!list_all_ && !is_failure(a.v)) return;
    spool& sp = open_[connection];
    sp.append(sp.empty() ? "\n" : ",\n");
    sp.append(answer_json(a).dump());
  }
  void connection_done(const connection_summary& c, const connection_totals& t) override {
    fmt::print(out_, "{}\n{},\"answers\":[", connections_++ == 0 ? "" : ",", connection_head(c, t));
    const auto it = open_.find(c.index);
    if (it != open_.end()) {
      it->second.drain_to(out_);
      open_.erase(it);
    }
    fmt::print(out_, "]}}");
    for (const service_tally& s : t.services) all_.add(s);
    for (std::size_t v = 0; v < verdict_count; ++v) {
      capture_tally_.by_verdict[v] += t.t.by_verdict[v];
      all_tally_.by_verdict[v] += t.t.by_verdict[v];
    }
  }
  void end_capture() override {
    json tail = json::object();
    tail["loaded"] = loaded_;
    if (!loaded_) tail["error"] = error_;
    tail["notes"] = notes_;
    tail["totals"] = tally_json(capture_tally_);
    fmt::print(out_, "\n],{}", tail.dump().substr(1));
  }
  bool end_run() override;

 private:
  std::FILE* out_;
  bool list_all_;
  std::size_t captures_ = 0;
  std::size_t connections_ = 0;
  bool loaded_ = true;
  std::string error_;
  json notes_ = json::array();
  std::map<std::size_t, spool> open_;
  tally capture_tally_;
  tally all_tally_;
  service_table all_;
  difference_table diffs_;
};

bool json_report::end_run() {
  json services = services_json(all_.rows());
  // What differs in each service's failed answers.
  for (const auto& [name, what] : diffs_.rows()) {
    for (json& sj : services) {
      if (sj["service"] != name) continue;
      json d = json::array();
      for (const auto& [w, n] : what) d.push_back({{"what", w}, {"answers", n}});
      sj["differences"] = std::move(d);
    }
  }
  json tail = json::object();
  tail["totals"] = tally_json(all_tally_);
  tail["services"] = std::move(services);
  fmt::print(out_, "\n],{}\n", tail.dump().substr(1));
  std::fflush(out_);
  return std::ferror(out_) == 0;
}

}  // namespace

std::unique_ptr<report_writer> json_writer(std::FILE* out, bool list_all) {
  return std::make_unique<json_report>(out, list_all);
}

}  // namespace protos7::replay::detail
