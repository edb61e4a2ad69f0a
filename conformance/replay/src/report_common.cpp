// What every report shares: counting a connection's answers, the text of values and fields,
// what differs in a failed answer, and the sink that feeds the writers (writers.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "writers.hpp"

namespace protos7::replay {

std::size_t tally::total() const noexcept {
  std::size_t n = 0;
  for (std::size_t x : by_verdict) n += x;
  return n;
}

std::size_t tally::failures() const noexcept {
  return by_verdict[static_cast<std::size_t>(verdict::mismatch)] +
         by_verdict[static_cast<std::size_t>(verdict::missing)] +
         by_verdict[static_cast<std::size_t>(verdict::unexpected)];
}

tally count(const capture_report& r) {
  tally t;
  for (const connection_report& c : r.connections) {
    for (const answer& a : c.answers) t.add(a.v);
  }
  return t;
}

namespace detail {

void connection_totals::add(const answer& a) {
  t.add(a.v);
  auto it = std::find_if(services.begin(), services.end(),
                         [&](const service_tally& s) { return s.service == a.service; });
  if (it == services.end()) {
    services.push_back({a.service, {}, {}});
    it = services.end() - 1;
  }
  it->t.add(a.v);
  if (a.v != verdict::equivalent) return;
  std::set<std::string_view> rules;  // each rule counts once per answer
  for (const field_diff& d : a.fields)
    if (!d.rule.empty()) rules.insert(d.rule);
  for (std::string_view r : rules) {
    auto k = std::find_if(it->tolerated.begin(), it->tolerated.end(),
                          [&](const auto& x) { return x.first == r; });
    if (k == it->tolerated.end()) {
      it->tolerated.emplace_back(std::string(r), 1);
    } else {
      ++k->second;
    }
  }
}

std::string value_text(const field_value& v) {
  if (!v.present) return "(absent)";
  if (std::holds_alternative<std::int64_t>(v.value)) {
    const std::int64_t n = std::get<std::int64_t>(v.value);
    return n > 9 || n < 0 ? fmt::format("{} (0x{:x})", n, n) : std::to_string(n);
  }
  return "\"" + std::get<std::string>(v.value) + "\"";
}

std::string field_line(const field_diff& d) {
  std::string s = fmt::format("{}: expected {}, actual {}", d.name, value_text(d.expected),
                              value_text(d.actual));
  if (!d.rule.empty()) s += fmt::format(" (tolerated: {})", d.rule);
  return s;
}

std::string tally_text(const tally& t) {
  std::string s;
  for (std::size_t v = 0; v < verdict_count; ++v) {
    const std::size_t n = t.by_verdict[v];
    if (n == 0) continue;
    s += fmt::format("{}{} {}", s.empty() ? "" : ", ", n, to_string(static_cast<verdict>(v)));
  }
  return s.empty() ? "no answers" : s;
}

std::vector<std::string> differences_of(const answer& a) {
  std::vector<std::string> out;
  const auto add = [&](std::string w) {
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(std::move(w));
  };
  if (a.v == verdict::missing) add("missing: " + a.detail.substr(0, a.detail.find(';')));
  if (a.v == verdict::unexpected) add("unexpected: " + a.actual);
  for (const field_diff& d : a.fields) {
    if (!d.rule.empty()) continue;
    const auto b = d.name.find('[');
    add(b == std::string::npos ? d.name : d.name.substr(0, b));
  }
  if (!a.bytes_diff.empty()) {
    // "S7 PDU bytes differ, first at offset 54 (data byte 32): ..." -> where
    const auto open = a.bytes_diff.find('(');
    const auto close = a.bytes_diff.find(')');
    add(open != std::string::npos && close != std::string::npos &&
                a.bytes_diff.starts_with("S7 PDU bytes")
            ? "bytes no decoded field covers, first at " +
                  a.bytes_diff.substr(open + 1, close - open - 1)
            : "bytes: " + a.bytes_diff.substr(0, 60));
  }
  return out;
}

void service_table::add(const service_tally& s) {
  auto [it, inserted] = at_.try_emplace(s.service, rows_.size());
  if (inserted) rows_.push_back({s.service, {}, {}});
  service_tally& r = rows_[it->second];
  for (std::size_t v = 0; v < verdict_count; ++v) r.t.by_verdict[v] += s.t.by_verdict[v];
  for (const auto& t : s.tolerated) {
    auto k = std::find_if(r.tolerated.begin(), r.tolerated.end(),
                          [&](const auto& x) { return x.first == t.first; });
    if (k == r.tolerated.end()) {
      r.tolerated.push_back(t);
    } else {
      k->second += t.second;
    }
  }
}

void difference_table::add(const replay::answer& a) {
  if (!is_failure(a.v)) return;
  auto [it, inserted] = at_.try_emplace(a.service, rows_.size());
  if (inserted) rows_.emplace_back(a.service, std::vector<std::pair<std::string, std::size_t>>{});
  auto& what = rows_[it->second].second;
  bool other = false;
  for (std::string& w : differences_of(a)) {
    const auto f =
        std::find_if(what.begin(), what.end(), [&](const auto& x) { return x.first == w; });
    if (f != what.end()) {
      ++f->second;
    } else if (what.size() < max_kinds) {
      what.emplace_back(std::move(w), 1);
    } else {
      other = true;
    }
  }
  if (!other) return;
  const std::string name = "other differences";
  const auto f =
      std::find_if(what.begin(), what.end(), [&](const auto& x) { return x.first == name; });
  if (f != what.end()) {
    ++f->second;
  } else {
    what.emplace_back(name, 1);
  }
}

void counting_sink::begin_capture(const std::string& path) {
  loaded_ = true;
  for (report_writer* w : writers_) w->begin_capture(path);
}

void counting_sink::capture_error(const std::string& error) {
  loaded_ = false;
  for (report_writer* w : writers_) w->capture_error(error);
}

void counting_sink::capture_note(const std::string& note) {
  for (report_writer* w : writers_) w->capture_note(note);
}

void counting_sink::answer(std::size_t connection, const replay::answer& a) {
  auto it = std::find_if(open_.begin(), open_.end(),
                         [&](const auto& x) { return x.first == connection; });
  if (it == open_.end()) {
    open_.emplace_back(connection, connection_totals{});
    it = open_.end() - 1;
  }
  it->second.add(a);
  all_.add(a.v);
  for (report_writer* w : writers_) w->answer(connection, a);
}

void counting_sink::connection_done(const connection_summary& c) {
  const auto it =
      std::find_if(open_.begin(), open_.end(), [&](const auto& x) { return x.first == c.index; });
  const connection_totals none;
  const connection_totals& t = it == open_.end() ? none : it->second;
  for (report_writer* w : writers_) w->connection_done(c, t);
  if (it != open_.end()) open_.erase(it);
}

void counting_sink::end_capture() {
  for (report_writer* w : writers_) w->end_capture();
}

}  // namespace detail
}  // namespace protos7::replay
