// `protos7 replay`: captures replayed one after the other, the reports written as they go, a
// progress line on stderr.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "protos7/codec/cotp.hpp"
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
  if (!v.empty()) s += " (" + v + ")";
  if (c.pushes_awaited != 0)
    s += fmt::format("; waiting for {} push(es) at the capture's pace, the last due in {:.1f} s",
                     c.pushes_awaited, static_cast<double>(c.push_wait.count()) / 1000.0);
  return s;
}

options options_of(const cli_options& o) {
  options opt;
  opt.timeout = std::chrono::milliseconds(o.timeout_ms);
  opt.linger = std::chrono::milliseconds(o.linger_ms);
  opt.push_wait_max = std::chrono::milliseconds(o.push_wait_max_ms);
  opt.capture_port = o.port;
  opt.label = o.label;
  opt.pace = o.pace;
  opt.describe_exact = o.verbose;
  opt.synth_called_tsap = o.synth_called_tsap;
  return opt;
}

std::uint64_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

}  // namespace

namespace {

// One `protos7 replay` run: the captures one after the other into the writers.
class cli_run {
 public:
  cli_run(const cli_options& o, options& opt, std::FILE* out, std::FILE* err)
      : o_(o), opt_(opt), err_(err), reach_(err), bar_(err, "protos7 replay", o.progress) {
    main_ = o.json ? detail::json_writer(out, o.verbose) : detail::text_writer(out, o.verbose);
    writers_ = {main_.get(), &reach_};
    if (!o.junit.empty()) {
      junit_ = detail::junit_writer(o.junit);
      writers_.push_back(junit_.get());
    }
    info_.timeout_ms = static_cast<long long>(opt.timeout.count());
    info_.shard = o.shard.all() ? std::string() : o.shard.to_string();
    sink_.emplace(writers_);
  }

  void run(const std::vector<std::string>& captures) {
    std::uint64_t total = 0;
    for (const std::string& p : captures) total += progress_units * file_bytes(p);
    bar_.set_total_bytes(total);
    for (const std::string& path : captures) capture(path);
    bar_.finish();
    begin();
    bool written = true;
    for (detail::report_writer* w : writers_) written = w->end_run() && written;
    if (junit_ && !written) {
      fmt::print(err_, "protos7 replay: cannot write {}\n", o_.junit);
      status_ = 2;
    }
  }

  // 0 every answer exact or equivalent, 1 some not, 2 the run failed or compared nothing.
  [[nodiscard]] int exit_status() const {
    const tally& all = sink_->all();
    if (all.failures() != 0) return status_ != 0 ? status_ : 1;
    if (all.total() != 0) return status_;
    if (!o_.shard.all()) {
      fmt::print(err_, "protos7 replay: shard {}: no answer in this shard's connections\n",
                 o_.shard.to_string());
      return status_;
    }
    fmt::print(err_, "protos7 replay: nothing was compared (no replayable S7 connection)\n");
    return 2;
  }

 private:
  void begin() {
    if (begun_) return;
    begun_ = true;
    info_.target = opt_.label.empty() ? opt_.tgt.to_string() : opt_.label;
    for (detail::report_writer* w : writers_) w->begin_run(info_);
  }

  void capture(const std::string& path) {
    if (o_.before_capture) {
      if (const std::optional<std::string> why = o_.before_capture(path, opt_.tgt)) {
        begin();
        sink_->begin_capture(path);
        sink_->capture_error(*why);
        sink_->end_capture();
        status_ = 2;
        return;
      }
    }
    begin();
    const std::size_t base = base_;
    opt_.select = [this, base](std::size_t i) { return o_.shard.takes(base + i); };
    base_ += replay_stream(path, opt_, *sink_, [this](const run_counters& c) {
      // Waiting for pushes at the capture's pace, the runner ticks about once a second.
      if (!bar_.due(c.pushes_awaited != 0)) return;
      bar_.set_done_bytes(done_ + c.bytes_read);
      bar_.print(progress_text(c), sink_->all().total(), "answers");
    });
    done_ += progress_units * file_bytes(path);
    if (!sink_->loaded()) status_ = 2;
  }

  const cli_options& o_;
  options& opt_;
  std::FILE* err_;
  std::unique_ptr<detail::report_writer> main_;
  std::unique_ptr<detail::report_writer> junit_;
  reach_errors reach_;
  std::vector<detail::report_writer*> writers_;
  std::optional<detail::counting_sink> sink_;  // after writers_ are known
  stream::progress bar_;
  detail::run_info info_;
  std::uint64_t done_ = 0;
  std::size_t base_ = 0;  // connections of the captures before (--shard counts over all)
  int status_ = 0;
  bool begun_ = false;
};

}  // namespace

int run_cli(const std::vector<std::string>& captures, const cli_options& o, std::FILE* out,
            std::FILE* err) {
  options opt = options_of(o);
  std::string perr;
  if (!o.before_capture && !parse_target(o.target, opt.tgt, perr)) {
    fmt::print(err, "protos7 replay: {}\n", perr);
    return 2;
  }
  cli_run r{o, opt, out, err};
  r.run(captures);
  return r.exit_status();
}

std::string parse_rack_slot(const std::string& s, std::uint16_t& tsap) {
  unsigned rack = 0;
  unsigned slot = 0;
  char slash = 0;
  char extra = 0;
  if (std::sscanf(s.c_str(), "%u%c%u%c", &rack, &slash, &slot, &extra) != 3 || slash != '/')
    return fmt::format("'{}' is not RACK/SLOT (e.g. 0/2)", s);
  if (rack > 7 || slot > 31)
    return fmt::format("'{}': rack must be 0-7 and slot 0-31 (an S7 TSAP's low byte)", s);
  tsap =
      codec::cotp::make_s7_tsap(static_cast<std::uint8_t>(codec::cotp::connection_type::pg),
                                static_cast<std::uint8_t>(rack), static_cast<std::uint8_t>(slot));
  return {};
}

}  // namespace protos7::replay
