// The text report of `protos7 replay` (writers.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "spool.hpp"
#include "writers.hpp"

namespace protos7::replay::detail {

namespace {

constexpr std::size_t max_lines = 40;  // answers listed per connection without --verbose
constexpr std::size_t max_fields = 12;
constexpr std::size_t max_shown = 8;  // differences per service; --json lists them all

std::string where(const answer& a) {
  if (a.expected_frame != 0) return fmt::format("frame {}", a.expected_frame);
  if (a.request_frame != 0) return fmt::format("re {}", a.request_frame);
  return "-";
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

std::string answer_lines(const answer& a) {
  std::string s = fmt::format("   {:<12} {:<44} {:<10}", where(a), a.service, to_string(a.v));
  if (a.v == verdict::equivalent) return s + " " + tolerated_summary(a) + "\n";
  if (a.v == verdict::exact) return s + "\n";
  s += fmt::format(" {}\n", a.v == verdict::unexpected ? a.actual : a.expected);
  std::size_t shown = 0;
  for (const field_diff& d : a.fields) {
    if (shown++ == max_fields) {
      s += fmt::format("{:>16}... {} more field(s) (see --json)\n", "",
                       a.fields.size() - max_fields);
      break;
    }
    s += fmt::format("{:>16}{}\n", "", field_line(d));
  }
  if (!a.bytes_diff.empty()) s += fmt::format("{:>16}{}\n", "", a.bytes_diff);
  if (a.v == verdict::mismatch && !a.actual.empty())
    s += fmt::format("{:>16}actual: {}\n", "", a.actual);
  if (!a.detail.empty()) s += fmt::format("{:>16}{}\n", "", a.detail);
  return s;
}

void write_service_table(const std::vector<service_tally>& rows, const char* indent,
                         std::FILE* out) {
  if (rows.empty()) return;
  std::size_t w = 7;
  for (const auto& r : rows) w = std::max(w, r.service.size());
  fmt::print(out, "{}{:<{}}  {:>6} {:>10} {:>8} {:>7} {:>10}\n", indent, "service", w, "exact",
             "equivalent", "mismatch", "missing", "unexpected");
  for (const service_tally& r : rows) {
    const auto& v = r.t.by_verdict;
    fmt::print(out, "{}{:<{}}  {:>6} {:>10} {:>8} {:>7} {:>10}\n", indent, r.service, w, v[0], v[1],
               v[2], v[3], v[4]);
  }
}

class text final : public report_writer {
 public:
  text(std::FILE* out, bool verbose) : out_(out), verbose_(verbose) {}

  void begin_run(const run_info& info) override {
    fmt::print(out_, "protos7 replay: target {}, timeout {} ms{}\n", info.target, info.timeout_ms,
               info.shard.empty() ? "" : ", shard " + info.shard);
  }
  void begin_capture(const std::string& path) override {
    fmt::print(out_, "\n== {}\n", path);
    capture_ = service_table{};
    capture_tally_ = tally{};
    loaded_ = true;
    connections_ = 0;
    replayed_ = 0;
  }
  void capture_error(const std::string& error) override {
    loaded_ = false;
    fmt::print(out_, "   ERROR: {}\n", error);
  }
  void capture_note(const std::string& note) override { fmt::print(out_, "   note: {}\n", note); }
  void answer(std::size_t connection, const replay::answer& a) override {
    diffs_.add(a);
    if (a.v == verdict::exact && !verbose_) return;
    open_conn& c = open_[connection];
    if (!verbose_ && c.listed == max_lines) {
      ++c.hidden;
      return;
    }
    ++c.listed;
    c.lines.append(answer_lines(a));
  }
  void connection_done(const connection_summary& c, const connection_totals& t) override;
  void end_capture() override;
  bool end_run() override;

 private:
  struct open_conn {
    spool lines;
    std::size_t listed = 0;
    std::size_t hidden = 0;
  };
  std::FILE* out_;
  bool verbose_;
  std::map<std::size_t, open_conn> open_;
  service_table capture_;
  service_table all_;
  tally capture_tally_;
  tally all_tally_;
  difference_table diffs_;
  bool loaded_ = true;
  std::size_t connections_ = 0;
  std::size_t replayed_ = 0;
};

void text::connection_done(const connection_summary& c, const connection_totals& t) {
  ++connections_;
  fmt::print(out_, "-- connection {}: {} -> {} (frames {}-{})", c.index, c.client, c.server,
             c.first_frame, c.last_frame);
  if (!c.replayed) {
    fmt::print(out_, ": not replayed: {}\n", c.skip_reason);
  } else {
    ++replayed_;
    fmt::print(out_, ": {}\n", tally_text(t.t));
  }
  if (!c.synthesized_start.empty())
    fmt::print(out_, "   synthesized start: {}\n", c.synthesized_start);
  for (const std::string& n : c.notes) fmt::print(out_, "   note: {}\n", n);
  const auto it = open_.find(c.index);
  if (it != open_.end()) {
    it->second.lines.drain_to(out_);
    if (it->second.hidden != 0)
      fmt::print(out_, "   ... {} more answer(s) not listed (use --verbose or --json)\n",
                 it->second.hidden);
    open_.erase(it);
  }
  for (const service_tally& s : t.services) {
    capture_.add(s);
    all_.add(s);
  }
  for (std::size_t v = 0; v < verdict_count; ++v) {
    capture_tally_.by_verdict[v] += t.t.by_verdict[v];
    all_tally_.by_verdict[v] += t.t.by_verdict[v];
  }
}

void text::end_capture() {
  if (!loaded_) return;
  if (connections_ != 0 && replayed_ == 0)
    fmt::print(out_,
               "   note: no S7 connection could be replayed (see each connection's reason)\n");
  fmt::print(out_, "   per service ({}):\n", tally_text(capture_tally_));
  write_service_table(capture_.rows(), "     ", out_);
}

bool text::end_run() {
  fmt::print(out_, "\n== all captures: {}\n", tally_text(all_tally_));
  write_service_table(all_.rows(), "   ", out_);
  if (!diffs_.rows().empty()) {
    fmt::print(out_, "\n== what differs, per service (answers that are not exact or equivalent)\n");
    for (const auto& [service, what] : diffs_.rows()) {
      fmt::print(out_, "   {}\n", service);
      for (std::size_t i = 0; i < what.size() && i < max_shown; ++i)
        fmt::print(out_, "     {:>5} x {}\n", what[i].second, what[i].first);
      if (what.size() > max_shown)
        fmt::print(out_, "           ... {} more (see --json)\n", what.size() - max_shown);
    }
  }
  std::fflush(out_);
  return std::ferror(out_) == 0;
}

}  // namespace

std::unique_ptr<report_writer> text_writer(std::FILE* out, bool verbose) {
  return std::make_unique<text>(out, verbose);
}

}  // namespace protos7::replay::detail
