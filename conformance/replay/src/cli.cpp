// `protos7 replay`: captures replayed one after the other, the reports written as they go, a
// progress line on stderr.
#include <fmt/format.h>

#include <filesystem>

#include "protos7/replay/report.hpp"
#include "protos7/stream/progress.hpp"
#include "writers.hpp"

namespace protos7::replay {

namespace {

// Notes that mean the target could not be reached go to stderr too.
class reach_errors final : public detail::report_writer {
 public:
  explicit reach_errors(std::FILE* err) : err_(err) {}
  void begin_run(const detail::run_info&) override {}
  void begin_capture(const std::string& path) override { path_ = path; }
  void capture_error(const std::string& error) override {
    fmt::print(err_, "protos7 replay: {}: {}\n", path_, error);
  }
  void capture_note(const std::string&) override {}
  void answer(std::size_t, const replay::answer&) override {}
  void connection_done(const connection_summary& c, const detail::connection_totals&) override {
    for (const std::string& n : c.notes)
      if (n.starts_with("cannot connect") || n.starts_with("cannot resolve"))
        fmt::print(err_, "protos7 replay: {}: {}\n", path_, n);
  }
  void end_capture() override {}
  bool end_run() override { return true; }

 private:
  std::FILE* err_;
  std::string path_;
};

std::string progress_text(const run_counters& c) {
  std::uint64_t answers = 0;
  for (std::uint64_t n : c.verdicts) answers += n;
  std::string s = fmt::format("{} frames, {} answers", stream::progress::grouped(c.frames),
                              stream::progress::grouped(answers));
  std::string v;
  for (std::size_t k = 0; k < verdict_count; ++k) {
    if (c.verdicts[k] == 0) continue;
    v += fmt::format("{}{} {}", v.empty() ? "" : ", ", stream::progress::grouped(c.verdicts[k]),
                     to_string(static_cast<verdict>(k)));
  }
  return v.empty() ? s : s + " (" + v + ")";
}

options options_of(const cli_options& o) {
  options opt;
  opt.timeout = std::chrono::milliseconds(o.timeout_ms);
  opt.linger = std::chrono::milliseconds(o.linger_ms);
  opt.capture_port = o.port;
  opt.label = o.label;
  opt.pace = o.pace;
  opt.describe_exact = o.verbose;
  return opt;
}

std::uint64_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

}  // namespace

int run_cli(const std::vector<std::string>& captures, const cli_options& o, std::FILE* out,
            std::FILE* err) {
  options opt = options_of(o);
  std::string perr;
  if (!o.before_capture && !parse_target(o.target, opt.tgt, perr)) {
    fmt::print(err, "protos7 replay: {}\n", perr);
    return 2;
  }
  const auto main =
      o.json ? detail::json_writer(out, o.verbose) : detail::text_writer(out, o.verbose);
  const auto junit = o.junit.empty() ? nullptr : detail::junit_writer(o.junit);
  reach_errors reach{err};
  std::vector<detail::report_writer*> writers{main.get(), &reach};
  if (junit) writers.push_back(junit.get());
  detail::run_info info;
  info.timeout_ms = static_cast<long long>(opt.timeout.count());
  info.shard = o.shard.all() ? std::string() : o.shard.to_string();
  detail::counting_sink sink{writers};
  stream::progress bar{err, "protos7 replay", o.progress};
  std::uint64_t total = 0;
  for (const std::string& p : captures) total += progress_units * file_bytes(p);
  bar.set_total_bytes(total);
  std::uint64_t done = 0;
  std::size_t base = 0;  // connections of the captures before (--shard counts over all)
  int status = 0;
  bool begun = false;
  const auto begin = [&] {
    if (begun) return;
    begun = true;
    info.target = opt.label.empty() ? opt.tgt.to_string() : opt.label;
    for (detail::report_writer* w : writers) w->begin_run(info);
  };
  for (const std::string& path : captures) {
    if (o.before_capture) {
      if (std::string why = o.before_capture(path, opt.tgt); !why.empty()) {
        begin();
        sink.begin_capture(path);
        sink.capture_error(why);
        sink.end_capture();
        status = 2;
        continue;
      }
    }
    begin();
    opt.select = [&o, base](std::size_t i) { return o.shard.takes(base + i); };
    base += replay_stream(path, opt, sink, [&](const run_counters& c) {
      if (!bar.due()) return;
      bar.set_done_bytes(done + c.bytes_read);
      std::uint64_t answers = 0;
      for (std::uint64_t n : sink.all().by_verdict) answers += n;
      bar.print(progress_text(c), answers, "answers");
    });
    done += progress_units * file_bytes(path);
    if (!sink.loaded()) status = 2;
  }
  bar.finish();
  begin();
  bool written = true;
  for (detail::report_writer* w : writers) written = w->end_run() && written;
  if (junit && !written) {
    fmt::print(err, "protos7 replay: cannot write {}\n", o.junit);
    status = 2;
  }
  const tally& all = sink.all();
  if (all.failures() != 0) return status != 0 ? status : 1;
  if (all.total() == 0) {
    if (!o.shard.all()) {
      fmt::print(err, "protos7 replay: shard {}: no answer in this shard's connections\n",
                 o.shard.to_string());
      return status;
    }
    fmt::print(err, "protos7 replay: nothing was compared (no replayable S7 connection)\n");
    return 2;
  }
  return status;
}

}  // namespace protos7::replay
