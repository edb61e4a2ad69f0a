// The replay of a capture: its S7 connections turned into scripts as the capture is read, their
// steps in one sequence in capture order, executed in one event loop (replay.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <unordered_map>

#include "protos7/replay/replay.hpp"
#include "protos7/replay/script.hpp"
#include "protos7/stream/reader.hpp"
#include "session.hpp"
#include "variation.hpp"

namespace protos7::replay {

namespace {

using detail::clock_type;
using detail::expect_rt;
using detail::session;

std::string endpoint_text(const capture::endpoint& e) {
  return e.address.find(':') != std::string::npos ? fmt::format("[{}]:{}", e.address, e.port)
                                                  : fmt::format("{}:{}", e.address, e.port);
}

class runner;

// One S7 connection of the capture: its script as it is built, its replay once it has steps.
struct conn_ctx final : script_sink {
  runner& r;
  connection_summary summary;
  std::unique_ptr<script_builder> builder;
  std::unique_ptr<session> sess;
  conn_ctx(runner& owner, std::size_t index) : r(owner) { summary.index = index; }
  void send(send_step&& s) override;
  void expect(expectation&& e) override;
  void absorb(expectation&& e) override;
  void note(std::string n) override;
  void skip(std::string reason) override;
  session& ensure_session();
};

struct step_rt {
  enum class kind : std::uint8_t { send, expect, close };
  kind k = kind::send;
  conn_ctx* conn = nullptr;
  std::unique_ptr<send_step> send;
  std::unique_ptr<expect_rt> exp;
};

class runner final : public stream::sink {
 public:
  runner(const options& opt, report_sink& out, const tolerance_source* tol,
         const std::function<void(const run_counters&)>& tick)
      : ctx_(opt, out), tol_(tol), tick_(tick) {}

  void run(stream::reader& rd);

  // stream::sink
  void on_connection(std::size_t index, const capture::connection& meta) override;
  void on_record(std::size_t index, const stream::record_view& rec) override;
  void on_note(std::size_t index, const std::string& n) override;
  void on_end(std::size_t index, const stream::connection_end& e) override;
  void on_warning(const std::string& w) override { ctx_.sink.capture_note(w); }

  // From the scripts.
  void push(step_rt&& s) { queue_.push_back(std::move(s)); }
  detail::runner_ctx& ctx() { return ctx_; }
  void started(double capture_time) {
    if (!t0_ && capture_time > 0) t0_ = capture_time;
  }

 private:
  std::optional<clock_type::time_point> advance(clock_type::time_point now);
  void expire(clock_type::time_point now);
  void end_lingering(clock_type::time_point now, bool all);
  void finish(conn_ctx& c);
  std::chrono::milliseconds wait_time(clock_type::time_point now,
                                      std::optional<clock_type::time_point> wake) const;

  detail::runner_ctx ctx_;
  const tolerance_source* tol_;
  const std::function<void(const run_counters&)>& tick_;
  std::unordered_map<std::size_t, std::unique_ptr<conn_ctx>> conns_;
  std::deque<step_rt> queue_;
  std::vector<conn_ctx*> lingering_;
  std::vector<session*> dirty_;
  clock_type::time_point start_ = clock_type::now();
  std::optional<double> t0_;  // capture time of the first step (--pace capture)
};

session& conn_ctx::ensure_session() {
  if (!sess) {
    sess = std::make_unique<session>(r.ctx(), summary.index, summary);
    summary.replayed = true;
  }
  return *sess;
}

void conn_ctx::send(send_step&& s) {
  ensure_session();
  r.started(s.time);
  step_rt st;
  st.k = step_rt::kind::send;
  st.conn = this;
  st.send = std::make_unique<send_step>(std::move(s));
  r.push(std::move(st));
}

void conn_ctx::expect(expectation&& e) {
  session& s = ensure_session();
  step_rt st;
  st.k = step_rt::kind::expect;
  st.conn = this;
  st.exp = std::make_unique<expect_rt>();
  st.exp->e = std::move(e);
  s.add_expect(*st.exp);
  r.push(std::move(st));
}

void conn_ctx::absorb(expectation&& e) {
  ensure_session().add_absorb(std::move(e));
}

void conn_ctx::note(std::string n) {
  if (sess) {
    sess->note(std::move(n));
  } else {
    summary.notes.push_back(std::move(n));
  }
}

void conn_ctx::skip(std::string reason) {
  summary.replayed = false;
  summary.skip_reason = std::move(reason);
}

void runner::on_connection(std::size_t index, const capture::connection& meta) {
  if (ctx_.opt.select && !ctx_.opt.select(index)) return;
  auto c = std::make_unique<conn_ctx>(*this, index);
  c->summary.client = endpoint_text(meta.client);
  c->summary.server = endpoint_text(meta.server);
  c->summary.first_frame = meta.first_frame;
  c->builder = std::make_unique<script_builder>(*c, index, tol_);
  conns_[index] = std::move(c);
}

void runner::on_record(std::size_t index, const stream::record_view& rec) {
  const auto it = conns_.find(index);
  if (it != conns_.end() && it->second->builder) it->second->builder->record(rec);
}

void runner::on_note(std::size_t index, const std::string& n) {
  const auto it = conns_.find(index);
  if (it != conns_.end()) it->second->note(n);
}

void runner::on_end(std::size_t index, const stream::connection_end& e) {
  const auto it = conns_.find(index);
  if (it == conns_.end()) return;
  conn_ctx& c = *it->second;
  c.summary.last_frame = e.meta.last_frame;
  script_end se;
  se.closed =
      e.meta.sides[0].fin || e.meta.sides[0].rst || e.meta.sides[1].fin || e.meta.sides[1].rst;
  se.bytes[0] = e.bytes[0];
  se.bytes[1] = e.bytes[1];
  se.server_bytes_lost = e.meta.sides[1].bytes_lost;
  se.server_tail_cut = e.tail_cut[1];
  c.builder->finish(se);
  c.builder.reset();
  if (!c.sess || !c.summary.replayed) {
    finish(c);
    return;
  }
  c.sess->capture_ended();
  step_rt st;
  st.k = step_rt::kind::close;
  st.conn = &c;
  queue_.push_back(std::move(st));
}

// The connection is over: its answers and its summary go to the report.
void runner::finish(conn_ctx& c) {
  if (c.sess) c.sess->finalize();
  ctx_.sink.connection_done(c.summary);
  conns_.erase(c.summary.index);
}

void runner::end_lingering(clock_type::time_point now, bool all) {
  for (std::size_t i = 0; i < lingering_.size();) {
    conn_ctx* c = lingering_[i];
    if (all || *c->sess->linger_until() <= now) {
      lingering_.erase(lingering_.begin() + static_cast<std::ptrdiff_t>(i));
      finish(*c);
    } else {
      ++i;
    }
  }
}

// Executes the head of the step sequence as far as it can: complete expectations go out as
// answers, client frames are sent once everything captured before them is complete. Returns
// when to look again if the head waits for a time (pace, connect, Max AmQ).
std::optional<clock_type::time_point> runner::advance(clock_type::time_point now) {
  while (!queue_.empty()) {
    step_rt& h = queue_.front();
    session& s = *h.conn->sess;
    if (h.k == step_rt::kind::expect) {
      if (!h.exp->resolved()) return std::nullopt;
      s.pop(*h.exp);
    } else if (h.k == step_rt::kind::close) {
      s.start_linger(now);
      lingering_.push_back(h.conn);
    } else {
      const send_step& st = *h.send;
      // A connection opens: those that ended before it in the capture are closed first (a
      // target counts its connections).
      if (st.cr && !lingering_.empty()) end_lingering(now, true);
      if (ctx_.opt.pace == pace::capture && t0_ && st.time > 0) {
        const auto due = start_ + std::chrono::duration_cast<clock_type::duration>(
                                      std::chrono::duration<double>(st.time - *t0_));
        if (now < due) return due;
      }
      std::optional<clock_type::time_point> wake;
      if (!s.can_send(st, now, wake)) return wake;
      s.send(st, now);
      if (std::find(dirty_.begin(), dirty_.end(), &s) == dirty_.end()) dirty_.push_back(&s);
    }
    queue_.pop_front();
  }
  return std::nullopt;
}

void runner::expire(clock_type::time_point now) {
  std::map<session*, std::vector<expect_rt*>> due;
  while (!ctx_.deadlines.empty() && ctx_.deadlines.begin()->first <= now) {
    expect_rt* x = ctx_.deadlines.begin()->second;
    ctx_.deadlines.erase(ctx_.deadlines.begin());
    due[x->owner].push_back(x);
  }
  for (auto& [s, xs] : due) s->expire(xs, now);
}

std::chrono::milliseconds runner::wait_time(clock_type::time_point now,
                                            std::optional<clock_type::time_point> wake) const {
  clock_type::time_point until = now + std::chrono::seconds(1);
  if (wake) until = std::min(until, *wake);
  if (!ctx_.deadlines.empty()) until = std::min(until, ctx_.deadlines.begin()->first);
  for (const conn_ctx* c : lingering_) until = std::min(until, *c->sess->linger_until());
  if (until <= now) return std::chrono::milliseconds(0);
  // Rounded up: waking before a deadline would only spin.
  return std::chrono::ceil<std::chrono::milliseconds>(until - now);
}

void runner::run(stream::reader& rd) {
  bool more = true;
  for (;;) {
    while (more && queue_.size() < ctx_.opt.read_ahead) more = rd.read(*this, 256);
    ctx_.counters.frames = rd.stats().frames;
    ctx_.counters.bytes_read = rd.stats().file_offset;
    auto now = clock_type::now();
    const auto wake = advance(now);
    for (session* s : dirty_) s->flush_output();
    dirty_.clear();
    if (tick_) tick_(ctx_.counters);
    if (!more && queue_.empty() && lingering_.empty()) break;
    if (more && queue_.size() < ctx_.opt.read_ahead) continue;
    for (const detail::poller::ready& r : ctx_.poll.wait(wait_time(now, wake)))
      static_cast<session*>(r.tag)->on_ready(r);
    now = clock_type::now();
    expire(now);
    end_lingering(now, false);
  }
  // Connections that never got a step (the capture ended right after their start).
  while (!conns_.empty()) finish(*conns_.begin()->second);
}

// Builds the capture report of replay_capture() / replay_loaded().
class collector final : public report_sink {
 public:
  explicit collector(capture_report& r) : r_(r) {}
  void begin_capture(const std::string& path) override {
    r_.path = path;
    r_.loaded = true;
  }
  void capture_error(const std::string& error) override {
    r_.loaded = false;
    r_.error = error;
  }
  void capture_note(const std::string& note) override { r_.notes.push_back(note); }
  void answer(std::size_t connection, const replay::answer& a) override {
    conns_[connection].answers.push_back(a);
  }
  void connection_done(const connection_summary& c) override {
    connection_report& o = conns_[c.index];
    o.index = c.index;
    o.client = c.client;
    o.server = c.server;
    o.first_frame = c.first_frame;
    o.last_frame = c.last_frame;
    o.replayed = c.replayed;
    o.skip_reason = c.skip_reason;
    o.notes = c.notes;
  }
  void end_capture() override {
    for (auto& [index, c] : conns_) r_.connections.push_back(std::move(c));
    if (!r_.connections.empty() &&
        std::none_of(r_.connections.begin(), r_.connections.end(),
                     [](const connection_report& c) { return c.replayed; }))
      r_.notes.push_back("no S7 connection could be replayed (see each connection's reason)");
  }

 private:
  capture_report& r_;
  std::map<std::size_t, connection_report> conns_;
};

// Both passes over one capture: what varies in it, then the replay.
void replay_passes(stream::reader& first, stream::reader& second, const options& opt,
                   report_sink& sink, const std::function<void(const run_counters&)>& tick) {
  detail::variation_facts facts;
  run_counters c;
  c.bytes_total = 2 * first.stats().file_bytes;
  while (first.read(facts, 4096)) {
    c.frames = first.stats().frames;
    c.bytes_read = first.stats().file_offset;
    if (tick) tick(c);
  }
  const std::uint64_t file_bytes = first.stats().file_bytes;
  const std::function<void(const run_counters&)> second_tick = [&](const run_counters& rc) {
    run_counters x = rc;
    x.bytes_total = 2 * file_bytes;
    x.bytes_read = file_bytes + rc.bytes_read;
    x.frames = first.stats().frames + rc.frames;
    if (tick) tick(x);
  };
  runner r{opt, sink, &facts, second_tick};
  r.run(second);
  if (second.connections() == 0) {
    const capture::reader_stats& st = second.stats();
    sink.capture_note(
        opt.capture_port != 0
            ? fmt::format(
                  "no S7 connection: no TCP connection uses port {} ({} frames, {} of them TCP)",
                  opt.capture_port, st.frames, st.tcp_frames)
            : fmt::format("no TCP connection ({} frames)", st.frames));
  }
}

stream::reader_options reader_opts(const options& opt, bool selected) {
  stream::reader_options ro;
  ro.port = opt.capture_port;
  if (selected) ro.select = opt.select;
  return ro;
}

}  // namespace

std::size_t replay_stream(const std::string& path, const options& opt, report_sink& sink,
                          const std::function<void(const run_counters&)>& on_tick) {
  sink.begin_capture(path);
  stream::reader first{reader_opts(opt, false)};
  stream::reader second{reader_opts(opt, true)};
  capture::load_error err;
  if (!first.open(path, err) || !second.open(path, err)) {
    sink.capture_error(err.message);
    sink.end_capture();
    return 0;
  }
  replay_passes(first, second, opt, sink, on_tick);
  sink.end_capture();
  return second.connections();
}

capture_report replay_loaded(const capture::capture_file& file, const options& opt) {
  capture_report rep;
  collector c{rep};
  c.begin_capture(file.path);
  stream::reader first{reader_opts(opt, false)};
  stream::reader second{reader_opts(opt, true)};
  first.open_loaded(file);
  second.open_loaded(file);
  replay_passes(first, second, opt, c, {});
  c.end_capture();
  return rep;
}

capture_report replay_capture(const std::string& path, const options& opt) {
  capture_report rep;
  collector c{rep};
  replay_stream(path, opt, c);
  return rep;
}

}  // namespace protos7::replay
