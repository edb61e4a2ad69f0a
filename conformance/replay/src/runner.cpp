// The replay of a capture: its S7 connections turned into scripts as the capture is read (a
// window of it ahead), each connection's steps executed in capture order in one event loop, the
// connections kept in the captured order of their effects (replay.hpp, may_send()).
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>
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

struct step_rt {
  enum class kind : std::uint8_t { send, expect, close };
  kind k = kind::send;
  std::uint64_t frame = 0;  // where it stands in the capture
  bool done = false;        // send: it went out (or was left out)
  bool write_send = false;  // counted in runner::write_sends_ / write_answers_
  bool write_answer = false;
  std::unique_ptr<send_step> send;
  std::unique_ptr<expect_rt> exp;
};

// One S7 connection of the capture: its script as it is built, its replay once it has steps.
struct conn_ctx final : script_sink {
  runner& r;
  connection_summary summary;
  std::unique_ptr<script_builder> builder;
  std::unique_ptr<session> sess;
  std::deque<step_rt> steps;  // in capture order; the first ones complete are removed
  std::uint64_t close_frame = 0;
  conn_ctx(runner& owner, std::size_t index) : r(owner) { summary.index = index; }
  void send(send_step&& s) override;
  void expect(expectation&& e) override;
  void absorb(expectation&& e) override;
  void expect_push(expectation&& e) override { ensure_session().add_push(std::move(e)); }
  void note(std::string n) override;
  void synthesized(std::string what) override { summary.synthesized_start = std::move(what); }
  void skip(std::string reason) override;
  session& ensure_session();
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
  void push(conn_ctx& c, step_rt&& s);
  detail::runner_ctx& ctx() { return ctx_; }
  void started(double capture_time) {
    if (!t0_ && capture_time > 0) t0_ = capture_time;
  }

 private:
  std::optional<clock_type::time_point> advance(clock_type::time_point now);
  bool advance(conn_ctx& c, clock_type::time_point now,
               std::optional<clock_type::time_point>& wake);
  void pop(conn_ctx& c);
  bool send_now(conn_ctx& c, step_rt& h, clock_type::time_point now,
                std::optional<clock_type::time_point>& wake);
  [[nodiscard]] bool may_send(const conn_ctx& c, const send_step& st, std::uint64_t frame) const;
  [[nodiscard]] std::uint64_t head_frame(const conn_ctx& c) const;
  void expire(clock_type::time_point now);
  // Finalizes the lingering connections whose linger is over, or (before) that the capture
  // closed before `before`.
  void end_lingering(clock_type::time_point now, std::uint64_t before = 0);
  void finish(conn_ctx& c);
  void count_push_waits(clock_type::time_point now);
  std::chrono::milliseconds wait_time(clock_type::time_point now,
                                      std::optional<clock_type::time_point> wake) const;

  detail::runner_ctx ctx_;
  const tolerance_source* tol_;
  const std::function<void(const run_counters&)>& tick_;
  std::map<std::size_t, std::unique_ptr<conn_ctx>> conns_;
  std::size_t queued_ = 0;  // steps of all connections
  // Frames of the queued client PDUs that may change the PLC's state, and of the queued answers
  // to them: a read on another connection captured after one of them waits for it.
  std::multiset<std::uint64_t> write_sends_;
  std::multiset<std::uint64_t> write_answers_;
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
  st.frame = s.order_frame != 0 ? s.order_frame : s.frame;
  st.send = std::make_unique<send_step>(std::move(s));
  r.push(*this, std::move(st));
}

void conn_ctx::expect(expectation&& e) {
  session& s = ensure_session();
  step_rt st;
  st.k = step_rt::kind::expect;
  st.frame = e.frame;
  st.exp = std::make_unique<expect_rt>();
  st.exp->e = std::move(e);
  s.add_expect(*st.exp);
  r.push(*this, std::move(st));
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
  c->builder = std::make_unique<script_builder>(*c, index, tol_, ctx_.opt.synth_called_tsap);
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
  st.frame = e.meta.last_frame;
  c.close_frame = e.meta.last_frame;
  push(c, std::move(st));
}

// The connection is over: its answers and its summary go to the report.
void runner::finish(conn_ctx& c) {
  // A session with frames not yet flushed this turn (a CR of another connection can end a
  // lingering one within the same advance()): its output goes first, then it leaves dirty_.
  const auto d = std::find(dirty_.begin(), dirty_.end(), c.sess.get());
  if (d != dirty_.end()) {
    c.sess->flush_output();
    dirty_.erase(d);
  }
  if (c.sess) c.sess->finalize();
  ctx_.sink.connection_done(c.summary);
  conns_.erase(c.summary.index);
}

void runner::end_lingering(clock_type::time_point now, std::uint64_t before) {
  for (std::size_t i = 0; i < lingering_.size();) {
    conn_ctx* c = lingering_[i];
    if (c->close_frame < before || *c->sess->linger_until() <= now) {
      lingering_.erase(lingering_.begin() + static_cast<std::ptrdiff_t>(i));
      finish(*c);
    } else {
      ++i;
    }
  }
}

void runner::push(conn_ctx& c, step_rt&& s) {
  s.write_send = s.k == step_rt::kind::send && s.send->pdu && s.send->pdu->writes;
  s.write_answer = s.k == step_rt::kind::expect && s.exp->e.after_write;
  if (s.write_send) write_sends_.insert(s.frame);
  if (s.write_answer) write_answers_.insert(s.frame);
  ++queued_;
  c.steps.push_back(std::move(s));
}

// Removes the connection's first steps that are complete; expectations hand out their answers.
void runner::pop(conn_ctx& c) {
  while (!c.steps.empty()) {
    step_rt& h = c.steps.front();
    if (h.k == step_rt::kind::send && !h.done) return;
    if (h.k == step_rt::kind::close) return;
    if (h.k == step_rt::kind::expect) {
      if (!h.exp->resolved()) return;
      c.sess->pop(*h.exp);
    }
    if (h.write_send) write_sends_.erase(write_sends_.find(h.frame));
    if (h.write_answer) write_answers_.erase(write_answers_.find(h.frame));
    c.steps.pop_front();
    --queued_;
  }
}

// The capture frame of the connection's first step that is not complete.
std::uint64_t runner::head_frame(const conn_ctx& c) const {
  for (const step_rt& h : c.steps) {
    if (h.k == step_rt::kind::expect && h.exp->resolved()) continue;
    if (h.k == step_rt::kind::send && h.done) continue;
    return h.frame;
  }
  return UINT64_MAX;
}

// Whether the client frame at `frame` may go now as far as the other connections go. A PDU
// that may change the PLC's state (and a CR, a DR) waits until everything captured before it on
// every connection is complete; any other frame until the state-changing PDUs captured before
// it went out and were answered. So a client that writes on one connection what it reads on
// another sees the captured order of effects, and reads on different connections overlap as
// much as the target allows.
bool runner::may_send(const conn_ctx& c, const send_step& st, std::uint64_t frame) const {
  const bool barrier = st.cr || !st.pdu || (st.pdu->complete && st.pdu->writes);
  if (!barrier) {
    return (write_sends_.empty() || *write_sends_.begin() >= frame) &&
           (write_answers_.empty() || *write_answers_.begin() >= frame);
  }
  for (const auto& [index, other] : conns_)
    if (other.get() != &c && head_frame(*other) < frame) return false;
  return true;
}

// Executes a connection's steps in order as far as it can: complete expectations go out as
// answers; a client frame is sent once every step captured before it on the connection is
// complete, except answers to requests that cannot change the PLC's state: as many of those may
// be outstanding as the capture shows in flight (send_step::window); and once the other
// connections allow it (may_send). True when anything moved.
bool runner::advance(conn_ctx& c, clock_type::time_point now,
                     std::optional<clock_type::time_point>& wake) {
  bool moved = false;
  pop(c);
  for (step_rt& h : c.steps) {
    session& s = *c.sess;
    if (h.k == step_rt::kind::expect) {
      if (h.exp->resolved()) continue;
      if (h.exp->e.kind == match_kind::by_ref && !h.exp->e.after_write) continue;  // in flight
      break;
    }
    if (h.k == step_rt::kind::close) {
      if (&h != &c.steps.front()) break;
      s.start_linger(now);
      lingering_.push_back(&c);
      c.steps.pop_front();
      --queued_;
      return true;
    }
    if (h.done) continue;
    const send_step& st = *h.send;
    // A request whose bytes do not depend on an earlier answer (no patch), or an empty DT.
    const bool free_request =
        st.pdu && st.pdu->complete && st.pdu->request && !st.pdu->writes && st.pdu->patches.empty();
    const bool empty_dt = st.pdu && st.tpkt.size() <= st.payload_offset;
    if (&h != &c.steps.front() && !((free_request && s.in_flight() < st.window) || empty_dt)) break;
    if (!send_now(c, h, now, wake)) break;
    moved = true;
  }
  pop(c);
  return moved;
}

// Sends the client frame if the other connections, the pace and the session allow it.
bool runner::send_now(conn_ctx& c, step_rt& h, clock_type::time_point now,
                      std::optional<clock_type::time_point>& wake) {
  const send_step& st = *h.send;
  session& s = *c.sess;
  if (!may_send(c, st, h.frame)) return false;
  // A connection opens: those that ended before it in the capture are closed first (a target
  // counts its connections).
  if (st.cr) end_lingering(now, h.frame);
  if (ctx_.opt.pace == pace::capture && t0_ && st.time > 0) {
    const auto due = start_ + std::chrono::duration_cast<clock_type::duration>(
                                  std::chrono::duration<double>(st.time - *t0_));
    if (now < due) {
      wake = wake ? std::min(*wake, due) : due;
      return false;
    }
  }
  std::optional<clock_type::time_point> w;
  if (!s.can_send(st, now, w)) {
    if (w) wake = wake ? std::min(*wake, *w) : *w;
    return false;
  }
  s.send(st, now);
  h.done = true;
  if (std::find(dirty_.begin(), dirty_.end(), &s) == dirty_.end()) dirty_.push_back(&s);
  return true;
}

std::optional<clock_type::time_point> runner::advance(clock_type::time_point now) {
  std::optional<clock_type::time_point> wake;
  for (bool moved = true; moved;) {
    moved = false;
    for (auto& [index, c] : conns_) moved = advance(*c, now, wake) || moved;
  }
  return wake;
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

// Progress: the pushes the connections wait for at the capture's pace.
void runner::count_push_waits(clock_type::time_point now) {
  ctx_.counters.pushes_awaited = 0;
  ctx_.counters.push_wait = std::chrono::milliseconds(0);
  for (const auto& [index, c] : conns_) {
    if (!c->sess) continue;
    std::size_t n = 0;
    const auto until = c->sess->push_wait(now, n);
    if (!until) continue;
    ctx_.counters.pushes_awaited += n;
    ctx_.counters.push_wait = std::max(ctx_.counters.push_wait,
                                       std::chrono::ceil<std::chrono::milliseconds>(*until - now));
  }
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
    while (more && queued_ < ctx_.opt.read_ahead) more = rd.read(*this, 256);
    ctx_.counters.frames = rd.stats().frames;
    ctx_.counters.bytes_read = rd.stats().file_offset;
    auto now = clock_type::now();
    const auto wake = advance(now);
    for (session* s : dirty_) s->flush_output();
    dirty_.clear();
    if (tick_) {
      count_push_waits(now);
      tick_(ctx_.counters);
    }
    if (!more && queued_ == 0 && lingering_.empty()) break;
    if (more && queued_ < ctx_.opt.read_ahead) continue;
    for (const detail::poller::ready& r : ctx_.poll.wait(wait_time(now, wake)))
      static_cast<session*>(r.tag)->on_ready(r);
    now = clock_type::now();
    expire(now);
    end_lingering(now);
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
    o.synthesized_start = c.synthesized_start;
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

// Both passes over one capture: what varies in it, then the replay. For the progress line a
// byte of the capture counts 1 in the first pass and progress_units - 1 in the replay, which
// takes about that much longer.
void replay_passes(stream::reader& first, stream::reader& second, const options& opt,
                   report_sink& sink, const std::function<void(const run_counters&)>& tick) {
  detail::variation_facts facts;
  run_counters c;
  c.bytes_total = progress_units * first.stats().file_bytes;
  while (first.read(facts, 4096)) {
    c.frames = 0;  // frames count in the replay pass; this one shows in the percentage
    c.bytes_read = first.stats().file_offset;
    if (tick) tick(c);
  }
  const std::uint64_t file_bytes = first.stats().file_bytes;
  const std::function<void(const run_counters&)> second_tick = [&](const run_counters& rc) {
    run_counters x = rc;
    x.bytes_total = progress_units * file_bytes;
    x.bytes_read = file_bytes + (progress_units - 1) * rc.bytes_read;
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
