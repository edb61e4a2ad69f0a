// The JUnit XML report of `protos7 replay` and `protos7 report merge` (writers.hpp): per capture a
// testsuite; per connection and service one testcase for the answers that pass, one testcase per
// failed answer. Spooled until the end, where the counts of the head are known.
#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "spool.hpp"
#include "writers.hpp"

namespace protos7::replay::detail {

namespace {

std::string xml_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
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
        o += static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t' ? '?' : ch;
    }
  }
  return o;
}

std::string where(const answer& a) {
  if (a.expected_frame != 0) return fmt::format("frame {}", a.expected_frame);
  if (a.request_frame != 0) return fmt::format("re {}", a.request_frame);
  return "-";
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

// One testcase for the answers of a service on a connection that pass.
std::string passing_case(const std::string& cls, const service_tally& s) {
  const std::size_t exact = s.t.by_verdict[0];
  const std::size_t equivalent = s.t.by_verdict[1];
  if (exact + equivalent == 0) return {};
  std::string c = fmt::format(
      "    <testcase classname=\"{}\" name=\"{} ({} answers: {} exact, {} equivalent)\">",
      xml_escape(cls), xml_escape(s.service), exact + equivalent, exact, equivalent);
  if (!s.tolerated.empty()) {
    std::string t = "equivalent by rule:\n";
    for (const auto& [rule, n] : s.tolerated) t += fmt::format("{}: {} answer(s)\n", rule, n);
    c += fmt::format("<system-out>{}</system-out>", xml_escape(t));
  }
  return c + "</testcase>\n";
}

class junit final : public report_writer {
 public:
  explicit junit(std::string path) : path_(std::move(path)) {}

  void begin_run(const run_info&) override {}
  void begin_capture(const std::string& path) override {
    suite_ = std::filesystem::path(path).filename().string();
    st_ = sf_ = se_ = 0;
  }
  void capture_error(const std::string& error) override {
    ++st_;
    ++se_;
    cases_.append(fmt::format(
        "    <testcase classname=\"{}\" name=\"load\"><error message=\"{}\"/></testcase>\n",
        xml_escape(suite_), xml_escape(error)));
  }
  void capture_note(const std::string& note) override { notes_.append(xml_escape(note) + "\n"); }
  void answer(std::size_t connection, const replay::answer& a) override {
    if (!is_failure(a.v)) return;
    ++st_;
    ++sf_;
    const std::string name = a.v == verdict::unexpected
                                 ? fmt::format("unexpected {} ({})", a.service, where(a))
                                 : fmt::format("{} {}", where(a), a.service);
    cases_.append(
        fmt::format("    <testcase classname=\"{}.connection{}\" name=\"{}\"><failure type=\"{}\" "
                    "message=\"{}\">{}</failure></testcase>\n",
                    xml_escape(suite_), connection, xml_escape(name), to_string(a.v),
                    xml_escape(short_message(a)), xml_escape(failure_text(a))));
  }
  void connection_done(const connection_summary& c, const connection_totals& t) override {
    if (!c.replayed)
      notes_.append(
          xml_escape(fmt::format("connection {} not replayed: {}\n", c.index, c.skip_reason)));
    for (const std::string& n : c.notes)
      notes_.append(xml_escape(fmt::format("connection {}: {}\n", c.index, n)));
    const std::string cls = fmt::format("{}.connection{}", suite_, c.index);
    for (const service_tally& s : t.services) {
      const std::string tc = passing_case(cls, s);
      if (tc.empty()) continue;
      ++st_;
      cases_.append(tc);
    }
  }
  void end_capture() override {
    tests_ += st_;
    failures_ += sf_;
    errors_ += se_;
    body_.append(
        fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n",
                    xml_escape(suite_), st_, sf_, se_));
    cases_.drain_to(body_);
    if (!notes_.empty()) {
      body_.append("    <system-out>");
      notes_.drain_to(body_);
      body_.append("</system-out>\n");
    }
    body_.append("  </testsuite>\n");
  }
  bool end_run() override;

 private:
  std::string path_;
  std::string suite_;
  spool cases_;
  spool notes_;
  spool body_;
  std::size_t st_ = 0, sf_ = 0, se_ = 0;
  std::size_t tests_ = 0, failures_ = 0, errors_ = 0;
};

bool junit::end_run() {
  std::FILE* f = std::fopen(path_.c_str(), "wb");
  if (f == nullptr) return false;
  fmt::print(f,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<testsuites name=\"protos7 replay\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n",
             tests_, failures_, errors_);
  bool ok = body_.drain_to(f);
  fmt::print(f, "</testsuites>\n");
  ok = ok && std::ferror(f) == 0;
  return std::fclose(f) == 0 && ok;
}

}  // namespace

std::unique_ptr<report_writer> junit_writer(std::string path) {
  return std::make_unique<junit>(std::move(path));
}

}  // namespace protos7::replay::detail
