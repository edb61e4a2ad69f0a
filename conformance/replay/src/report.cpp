// Text, JSON and JUnit output of the replay runner, and `protos7 replay` itself.
#include "protos7/replay/report.hpp"

#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

namespace protos7::replay {

namespace {

using json = nlohmann::ordered_json;

constexpr std::array<verdict, verdict_count> all_verdicts{
    verdict::exact, verdict::equivalent, verdict::mismatch, verdict::missing, verdict::unexpected};

std::string value_text(const field_value& v) {
  if (!v.present) return "(absent)";
  if (std::holds_alternative<std::int64_t>(v.value)) {
    const std::int64_t n = std::get<std::int64_t>(v.value);
    return n > 9 || n < 0 ? fmt::format("{} (0x{:x})", n, n) : std::to_string(n);
  }
  return "\"" + std::get<std::string>(v.value) + "\"";
}

json value_json(const field_value& v) {
  if (!v.present) return nullptr;
  if (std::holds_alternative<std::int64_t>(v.value)) return std::get<std::int64_t>(v.value);
  return std::get<std::string>(v.value);
}

std::string field_line(const field_diff& d) {
  std::string s = fmt::format("{}: expected {}, actual {}", d.name, value_text(d.expected),
                              value_text(d.actual));
  if (!d.rule.empty()) s += fmt::format(" (tolerated: {})", d.rule);
  return s;
}

// One line for an answer; the full story for failures goes into the following lines.
std::string where(const answer& a) {
  if (a.expected_frame != 0) return fmt::format("frame {}", a.expected_frame);
  if (a.request_frame != 0) return fmt::format("re {}", a.request_frame);
  return "-";
}

std::string tally_text(const tally& t) {
  std::string s;
  for (verdict v : all_verdicts) {
    const std::size_t n = t.by_verdict[static_cast<std::size_t>(v)];
    if (n == 0) continue;
    s += fmt::format("{}{} {}", s.empty() ? "" : ", ", n, to_string(v));
  }
  return s.empty() ? "no answers" : s;
}

json tally_json(const tally& t) {
  json o = json::object();
  for (verdict v : all_verdicts)
    o[std::string(to_string(v))] = t.by_verdict[static_cast<std::size_t>(v)];
  o["answers"] = t.total();
  return o;
}

tally count_connection(const connection_report& c) {
  tally t;
  for (const answer& a : c.answers) t.add(a.v);
  return t;
}

void write_service_table(const std::vector<std::pair<std::string, tally>>& rows, const char* indent,
                         std::FILE* out) {
  if (rows.empty()) return;
  std::size_t w = 7;
  for (const auto& r : rows) w = std::max(w, r.first.size());
  fmt::print(out, "{}{:<{}}  {:>6} {:>10} {:>8} {:>7} {:>10}\n", indent, "service", w, "exact",
             "equivalent", "mismatch", "missing", "unexpected");
  for (const auto& [name, t] : rows) {
    fmt::print(out, "{}{:<{}}  {:>6} {:>10} {:>8} {:>7} {:>10}\n", indent, name, w, t.by_verdict[0],
               t.by_verdict[1], t.by_verdict[2], t.by_verdict[3], t.by_verdict[4]);
  }
}

std::string xml_escape(std::string_view s) {
  std::string o;
  for (char ch : s) {
    switch (ch) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&apos;";
        break;
      default:
        // XML 1.0 forbids most control characters; captured strings may contain them.
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t') {
          o += '?';
        } else {
          o += ch;
        }
    }
  }
  return o;
}

std::string failure_text(const answer& a) {
  std::string s;
  if (!a.expected.empty()) s += "expected: " + a.expected + "\n";
  if (!a.actual.empty()) s += "actual:   " + a.actual + "\n";
  for (const field_diff& d : a.fields) s += field_line(d) + "\n";
  if (!a.bytes_diff.empty()) s += a.bytes_diff + "\n";
  if (!a.detail.empty()) s += a.detail + "\n";
  return s;
}

std::string short_message(const answer& a) {
  switch (a.v) {
    case verdict::mismatch: {
      std::string m;
      std::size_t n = 0;
      for (const field_diff& d : a.fields) {
        if (!d.rule.empty()) continue;
        if (n++ == 3) {
          m += ", ...";
          break;
        }
        m += fmt::format("{}{} {} != {}", m.empty() ? "" : ", ", d.name, value_text(d.expected),
                         value_text(d.actual));
      }
      return m.empty() ? a.bytes_diff : m;
    }
    case verdict::missing:
      return "no answer: " + a.detail;
    case verdict::unexpected:
      return "unexpected " + a.actual;
    default:
      return std::string(to_string(a.v));
  }
}

// "[rule] first field: expected -> actual (+n more)" per tolerating rule, in order.
std::string tolerated_summary(const answer& a) {
  std::string out;
  for (std::size_t i = 0; i < a.fields.size();) {
    const field_diff& d = a.fields[i];
    std::size_t same = 1;
    while (i + same < a.fields.size() && a.fields[i + same].rule == d.rule) ++same;
    out += fmt::format("{}[{}] {} {} -> {}", out.empty() ? "" : "; ", d.rule, d.name,
                       value_text(d.expected), value_text(d.actual));
    if (same > 1) out += fmt::format(" (+{} more)", same - 1);
    i += same;
  }
  return out;
}

std::string base_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

}  // namespace

std::string target::to_string() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

bool parse_target(std::string_view text, target& out, std::string& err) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      err = fmt::format("target \"{}\": expected [IPV6]:PORT", text);
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      err = fmt::format("target \"{}\": expected HOST:PORT", text);
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      err = fmt::format("target \"{}\": write an IPv6 address as [ADDRESS]:PORT", text);
      return false;
    }
  }
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc{} || ptr != port.data() + port.size() ||
      value == 0 || value > 65535) {
    err = fmt::format("target \"{}\": expected HOST:PORT with a port 1..65535", text);
    return false;
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return true;
}

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

std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::size_t>>>> differences_by_service(
    std::span<const capture_report> reports) {
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::size_t>>>> rows;
  std::map<std::string, std::size_t> at;
  for (const capture_report& r : reports) {
    for (const connection_report& c : r.connections) {
      for (const answer& a : c.answers) {
        if (!is_failure(a.v)) continue;
        auto [it, inserted] = at.try_emplace(a.service, rows.size());
        if (inserted) rows.emplace_back(a.service, std::vector<std::pair<std::string, std::size_t>>{});
        auto& what = rows[it->second].second;
        std::set<std::string> seen;  // each difference counts once per answer
        const auto add = [&](std::string w) {
          if (!seen.insert(w).second) return;
          const auto f = std::find_if(what.begin(), what.end(), [&](const auto& x) { return x.first == w; });
          if (f == what.end()) what.emplace_back(std::move(w), 1);
          else ++f->second;
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
          add(open != std::string::npos && close != std::string::npos && a.bytes_diff.starts_with("S7 PDU bytes")
                  ? "bytes no decoded field covers, first at " + a.bytes_diff.substr(open + 1, close - open - 1)
                  : "bytes: " + a.bytes_diff.substr(0, 60));
        }
      }
    }
  }
  return rows;
}

std::vector<std::pair<std::string, tally>> count_by_service(
    std::span<const capture_report> reports) {
  std::vector<std::pair<std::string, tally>> rows;
  std::map<std::string, std::size_t> at;
  for (const capture_report& r : reports) {
    for (const connection_report& c : r.connections) {
      for (const answer& a : c.answers) {
        auto [it, inserted] = at.try_emplace(a.service, rows.size());
        if (inserted) rows.emplace_back(a.service, tally{});
        rows[it->second].second.add(a.v);
      }
    }
  }
  return rows;
}

void write_text(std::span<const capture_report> reports, const options& opt, bool verbose,
                std::FILE* out) {
  constexpr std::size_t max_lines = 40;  // answers listed per connection without --verbose
  constexpr std::size_t max_fields = 12;
  fmt::print(out, "protos7 replay: target {}, timeout {} ms\n", opt.label.empty() ? opt.tgt.to_string() : opt.label,
             opt.timeout.count());
  tally all;
  for (const capture_report& r : reports) {
    fmt::print(out, "\n== {}\n", r.path);
    if (!r.loaded) {
      fmt::print(out, "   ERROR: {}\n", r.error);
      continue;
    }
    for (const std::string& n : r.notes) fmt::print(out, "   note: {}\n", n);
    for (const connection_report& c : r.connections) {
      fmt::print(out, "-- connection {}: {} -> {} (frames {}-{})", c.index, c.client, c.server,
                 c.first_frame, c.last_frame);
      if (!c.replayed) {
        fmt::print(out, ": not replayed: {}\n", c.skip_reason);
        for (const std::string& n : c.notes) fmt::print(out, "   note: {}\n", n);
        continue;
      }
      fmt::print(out, ": {}\n", tally_text(count_connection(c)));
      for (const std::string& n : c.notes) fmt::print(out, "   note: {}\n", n);
      std::size_t listed = 0;
      std::size_t hidden = 0;
      for (const answer& a : c.answers) {
        if (a.v == verdict::exact && !verbose) continue;
        if (!verbose && listed == max_lines) {
          ++hidden;
          continue;
        }
        ++listed;
        fmt::print(out, "   {:<12} {:<44} {:<10}", where(a), a.service, to_string(a.v));
        if (a.v == verdict::equivalent) {
          fmt::print(out, " {}\n", tolerated_summary(a));
          continue;
        }
        if (a.v == verdict::exact) {
          fmt::print(out, "\n");
          continue;
        }
        fmt::print(out, " {}\n", a.v == verdict::unexpected ? a.actual : a.expected);
        std::size_t shown = 0;
        for (const field_diff& d : a.fields) {
          if (shown++ == max_fields) {
            fmt::print(out, "{:>16}... {} more field(s) (see --json)\n", "",
                       a.fields.size() - max_fields);
            break;
          }
          fmt::print(out, "{:>16}{}\n", "", field_line(d));
        }
        if (!a.bytes_diff.empty()) fmt::print(out, "{:>16}{}\n", "", a.bytes_diff);
        if (a.v == verdict::mismatch && !a.actual.empty())
          fmt::print(out, "{:>16}actual: {}\n", "", a.actual);
        if (!a.detail.empty()) fmt::print(out, "{:>16}{}\n", "", a.detail);
      }
      if (hidden != 0)
        fmt::print(out, "   ... {} more answer(s) not listed (use --verbose or --json)\n", hidden);
    }
    const tally t = count(r);
    for (verdict v : all_verdicts)
      all.by_verdict[static_cast<std::size_t>(v)] += t.by_verdict[static_cast<std::size_t>(v)];
    fmt::print(out, "   per service ({}):\n", tally_text(t));
    write_service_table(count_by_service(std::span<const capture_report>(&r, 1)), "     ", out);
  }
  fmt::print(out, "\n== all captures: {}\n", tally_text(all));
  write_service_table(count_by_service(reports), "   ", out);
  const auto diffs = differences_by_service(reports);
  if (!diffs.empty()) {
    fmt::print(out, "\n== what differs, per service (answers that are not exact or equivalent)\n");
    constexpr std::size_t max_shown = 8;  // per service; --json lists them all
    for (const auto& [service, what] : diffs) {
      fmt::print(out, "   {}\n", service);
      for (std::size_t i = 0; i < what.size() && i < max_shown; ++i)
        fmt::print(out, "     {:>5} x {}\n", what[i].second, what[i].first);
      if (what.size() > max_shown) fmt::print(out, "           ... {} more (see --json)\n", what.size() - max_shown);
    }
  }
}

std::string to_json(std::span<const capture_report> reports, const options& opt) {
  json doc = json::object();
  doc["target"] = opt.label.empty() ? opt.tgt.to_string() : opt.label;
  doc["timeout_ms"] = opt.timeout.count();
  tally all;
  json caps = json::array();
  for (const capture_report& r : reports) {
    json cj = json::object();
    cj["path"] = r.path;
    cj["loaded"] = r.loaded;
    if (!r.loaded) cj["error"] = r.error;
    cj["notes"] = r.notes;
    const tally t = count(r);
    for (std::size_t k = 0; k < verdict_count; ++k) all.by_verdict[k] += t.by_verdict[k];
    cj["totals"] = tally_json(t);
    json conns = json::array();
    for (const connection_report& c : r.connections) {
      json o = json::object();
      o["index"] = c.index;
      o["client"] = c.client;
      o["server"] = c.server;
      o["first_frame"] = c.first_frame;
      o["last_frame"] = c.last_frame;
      o["replayed"] = c.replayed;
      if (!c.replayed) o["skip_reason"] = c.skip_reason;
      o["notes"] = c.notes;
      o["totals"] = tally_json(count_connection(c));
      json answers = json::array();
      for (const answer& a : c.answers) {
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
        answers.push_back(std::move(aj));
      }
      o["answers"] = std::move(answers);
      conns.push_back(std::move(o));
    }
    cj["connections"] = std::move(conns);
    caps.push_back(std::move(cj));
  }
  doc["totals"] = tally_json(all);
  json services = json::array();
  for (const auto& [name, t] : count_by_service(reports)) {
    json sj = tally_json(t);
    sj["service"] = name;
    services.push_back(std::move(sj));
  }
  // What differs in each service's failed answers (differences_by_service).
  for (const auto& [name, what] : differences_by_service(reports)) {
    for (json& sj : services) {
      if (sj["service"] != name) continue;
      json d = json::array();
      for (const auto& [w, n] : what) d.push_back({{"what", w}, {"answers", n}});
      sj["differences"] = std::move(d);
    }
  }
  doc["services"] = std::move(services);
  doc["captures"] = std::move(caps);
  return doc.dump(2) + "\n";
}

std::string to_junit(std::span<const capture_report> reports) {
  std::size_t tests = 0;
  std::size_t failures = 0;
  std::size_t errors = 0;
  std::string body;
  for (const capture_report& r : reports) {
    const std::string suite = base_name(r.path);
    std::string cases;
    std::size_t st = 0;
    std::size_t sf = 0;
    std::size_t se = 0;
    if (!r.loaded) {
      ++st;
      ++se;
      cases += fmt::format(
          "    <testcase classname=\"{}\" name=\"load\"><error message=\"{}\"/></testcase>\n",
          xml_escape(suite), xml_escape(r.error));
    }
    std::string out_notes;
    for (const std::string& n : r.notes) out_notes += n + "\n";
    for (const connection_report& c : r.connections) {
      const std::string cls = fmt::format("{}.connection{}", suite, c.index);
      if (!c.replayed)
        out_notes += fmt::format("connection {} not replayed: {}\n", c.index, c.skip_reason);
      for (const std::string& n : c.notes)
        out_notes += fmt::format("connection {}: {}\n", c.index, n);
      for (const answer& a : c.answers) {
        ++st;
        const std::string name = a.v == verdict::unexpected
                                     ? fmt::format("unexpected {} ({})", a.service, where(a))
                                     : fmt::format("{} {}", where(a), a.service);
        cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\">", xml_escape(cls),
                             xml_escape(name));
        if (is_failure(a.v)) {
          ++sf;
          cases += fmt::format("<failure type=\"{}\" message=\"{}\">{}</failure>", to_string(a.v),
                               xml_escape(short_message(a)), xml_escape(failure_text(a)));
        } else if (a.v == verdict::equivalent) {
          std::string t;
          for (const field_diff& d : a.fields) t += field_line(d) + "\n";
          cases += fmt::format("<system-out>equivalent\n{}</system-out>", xml_escape(t));
        }
        cases += "</testcase>\n";
      }
    }
    tests += st;
    failures += sf;
    errors += se;
    body += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n",
                        xml_escape(suite), st, sf, se);
    body += cases;
    if (!out_notes.empty())
      body += fmt::format("    <system-out>{}</system-out>\n", xml_escape(out_notes));
    body += "  </testsuite>\n";
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"protos7 replay\" tests=\"{}\" failures=\"{}\" "
      "errors=\"{}\">\n{}</testsuites>\n",
      tests, failures, errors, body);
}

int run_cli(const std::vector<std::string>& captures, const cli_options& o, std::FILE* out,
            std::FILE* err) {
  options opt;
  std::string perr;
  if (!o.before_capture && !parse_target(o.target, opt.tgt, perr)) {
    fmt::print(err, "protos7 replay: {}\n", perr);
    return 2;
  }
  opt.timeout = std::chrono::milliseconds(o.timeout_ms);
  opt.linger = std::chrono::milliseconds(o.linger_ms);
  opt.capture_port = o.port;
  opt.label = o.label;
  std::vector<capture_report> reports;
  reports.reserve(captures.size());
  int status = 0;
  for (const std::string& path : captures) {
    if (o.before_capture) {
      if (std::string why = o.before_capture(path, opt.tgt); !why.empty()) {
        capture_report r;
        r.path = path;
        r.error = std::move(why);
        reports.push_back(std::move(r));
        fmt::print(err, "protos7 replay: {}: {}\n", path, reports.back().error);
        status = 2;
        continue;
      }
    }
    reports.push_back(replay_capture(path, opt));
    const capture_report& r = reports.back();
    if (!r.loaded) {
      fmt::print(err, "protos7 replay: {}: {}\n", path, r.error);
      status = 2;
    }
    for (const connection_report& c : r.connections) {
      for (const std::string& n : c.notes) {
        if (n.starts_with("cannot connect") || n.starts_with("cannot resolve")) {
          fmt::print(err, "protos7 replay: {}: {}\n", path, n);
        }
      }
    }
  }
  if (o.json) {
    fmt::print(out, "{}", to_json(reports, opt));
  } else {
    write_text(reports, opt, o.verbose, out);
  }
  if (!o.junit.empty()) {
    std::ofstream f(o.junit, std::ios::binary | std::ios::trunc);
    f << to_junit(reports);
    if (!f) {
      fmt::print(err, "protos7 replay: cannot write {}\n", o.junit);
      status = 2;
    }
  }
  tally all;
  for (const capture_report& r : reports) {
    const tally t = count(r);
    for (std::size_t k = 0; k < verdict_count; ++k) all.by_verdict[k] += t.by_verdict[k];
  }
  if (all.failures() != 0) return status != 0 ? status : 1;
  if (all.total() == 0) {
    fmt::print(err, "protos7 replay: nothing was compared (no replayable S7 connection)\n");
    return 2;
  }
  return status;
}

}  // namespace protos7::replay
