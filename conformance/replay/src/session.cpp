// One connection of a capture replayed against the target (session.hpp): the frames it is given
// go out, what comes back is paired with the expectations and compared.
#include "session.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "facts.hpp"
#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7.hpp"

namespace protos7::replay::detail {

namespace {

namespace cotp = codec::cotp;

// A target that lets this many answers in a row run into the full timeout, receiving nothing in
// between, is taken as hung: the rest of the connection is reported missing without waiting
// (the 5 000-request bench capture would otherwise take hours against a silent target). A
// target that only ignores some requests and answers the others never gets here.
constexpr std::size_t max_silent_timeouts = 5;
// PDUs of the target kept while the capture may still show what they answer.
constexpr std::size_t max_held = 256;
// Answers kept behind a missing one (so that an answer arriving late can be noted on it).
constexpr std::size_t max_out = 1024;

std::size_t kind_index(match_kind k) {
  return static_cast<std::size_t>(k);
}

// How a PDU of the target is paired: `f` gets its facts (DT only).
match_kind kind_of(const pdu_frames& p, detail::s7_facts& f) {
  if (!p.dt) return match_kind::tpdu;
  f = facts_of_s7(p.s7);
  if (!f.s7) return match_kind::other_data;
  if (f.is_response()) return match_kind::by_ref;
  return f.rosctr == 7 ? match_kind::push : match_kind::initiated;
}

// Medians of a window of gaps (ms).
double median(const std::deque<double>& gaps) {
  if (gaps.empty()) return 0.0;
  std::vector<double> v(gaps.begin(), gaps.end());
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

void add_gap(std::deque<double>& gaps, double ms) {
  gaps.push_back(ms);
  if (gaps.size() > push_kind::max_gaps) gaps.pop_front();
}

// What drives the pushes of a kind whose timing is not compared, and why.
std::string driven_text(const push_kind& k) {
  switch (k.driven_by()) {
    case push_kind::clock::change:
      return "change driven";
    case push_kind::clock::client:
      return fmt::format(
          "driven by the client: {} of the {} captured gaps between pushes of this kind have a "
          "client request in them",
          k.gaps_after_request, k.gaps);
    case push_kind::clock::unknown:
      return fmt::format(
          "no regular period in the capture: {} gap(s), median {:.0f} ms, jitter {:.0f} ms", k.gaps,
          k.period(), k.jitter());
    case push_kind::clock::interval:
      return "driven by a period";
    case push_kind::clock::event:
      break;
  }
  return "event driven";
}

clock_type::duration ms_duration(double ms) {
  return std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double, std::milli>(ms));
}

// A change-driven push (cyclic services 0x05 / 0x07) reports a change of the captured process.
bool change_driven(const detail::s7_facts& f) {
  return (f.group & 0x0FU) == cyclic_group && (f.sub == 0x05 || f.sub == 0x07);
}

std::string push_kind_text(const detail::s7_facts& f) {
  if ((f.group & 0x0FU) == cyclic_group)
    return fmt::format("Userdata function group {}, subfunction 0x{:02x}, job {}", f.group & 0x0FU,
                       f.sub, f.seq);
  return fmt::format("Userdata function group {}, subfunction 0x{:02x}", f.group & 0x0FU, f.sub);
}

// Copies the captured bytes into `p` over the expectation's tolerated ranges where they differ
// (only when both PDUs have the same length: another layout is compared as it is). Returns one
// tolerated field_diff per differing range.
void patch_pdu(pdu_frames& p, std::size_t at, std::span<const std::byte> b) {
  std::copy(b.begin(), b.end(), p.s7.begin() + static_cast<std::ptrdiff_t>(at));
  std::size_t pos = 0;  // S7 offset of the current frame's first payload byte
  for (auto& f : p.frames) {
    constexpr std::size_t hdr = 4 + 3;  // TPKT + DT header
    if (f.size() < hdr) continue;
    const std::size_t n = f.size() - hdr;
    for (std::size_t k = 0; k < b.size(); ++k) {
      const std::size_t o = at + k;
      if (o >= pos && o < pos + n) f[hdr + (o - pos)] = b[k];
    }
    pos += n;
  }
}

std::vector<field_diff> apply_tolerance(const expectation& e, pdu_frames& p) {
  std::vector<field_diff> out;
  if (e.tolerated.empty() || !p.dt || p.s7.size() != e.pdu.s7.size()) return out;
  std::vector<bool> done(p.s7.size(), false);
  for (const expectation::tolerated_range& r : e.tolerated) {
    std::size_t first = r.offset;
    const std::size_t end = std::min(r.offset + r.length, p.s7.size());
    while (first < end) {
      // One diff per run of differing bytes inside the range.
      while (first < end && (done[first] || p.s7[first] == e.pdu.s7[first])) ++first;
      std::size_t last = first;
      while (last < end && !done[last] && p.s7[last] != e.pdu.s7[last]) ++last;
      if (first == last) break;
      std::string exp, act;
      for (std::size_t k = first; k < last; ++k) {
        exp += fmt::format("{:02x}", std::to_integer<unsigned>(e.pdu.s7[k]));
        act += fmt::format("{:02x}", std::to_integer<unsigned>(p.s7[k]));
        done[k] = true;
      }
      out.push_back({fmt::format("S7 PDU bytes {}-{} ({})", first, last - 1, r.what),
                     field_value{true, exp}, field_value{true, act}, r.rule});
      patch_pdu(p, first, std::span<const std::byte>(e.pdu.s7).subspan(first, last - first));
      first = last;
    }
  }
  return out;
}

}  // namespace

// --- Push timing -------------------------------------------------------------------------------

void push_kind::captured(const expectation& e) {
  if (last_captured) {
    add_gap(captured_gaps, std::max(0.0, (e.time - *last_captured) * 1000.0));
    ++gaps;
    if (e.after_client_request) ++gaps_after_request;
  }
  last_captured = e.time;
  if (e.asked_interval_ms != 0) asked_ms = e.asked_interval_ms;
}

void push_kind::received(clock_type::time_point now) {
  if (last_received)
    add_gap(received_gaps, std::chrono::duration<double, std::milli>(now - *last_received).count());
  last_received = now;
}

push_kind::clock push_kind::driven_by() const {
  if (change) return clock::change;
  if (cyclic_transfer) return clock::interval;
  if (!programmer) return clock::event;
  if (gaps < min_gaps) return clock::unknown;
  if (2 * gaps_after_request >= gaps) return clock::client;
  return jitter() <= 0.25 * period() ? clock::interval : clock::unknown;
}

double push_kind::period() const {
  return captured_gaps.empty() ? static_cast<double>(asked_ms) : median(captured_gaps);
}

double push_kind::jitter() const {
  const double p = period();
  std::deque<double> dev;
  for (const double g : captured_gaps) dev.push_back(std::abs(g - p));
  return median(dev);
}

double push_kind::tolerance() const {
  return std::max({0.5 * period(), 2.0 * jitter(), 20.0});
}

double push_kind::observed() const {
  return median(received_gaps);
}

session::session(runner_ctx& ctx, std::size_t index, connection_summary& summary)
    : ctx_(ctx), index_(index), summary_(summary) {}

session::~session() {
  for (auto& [ref, x] : by_ref_) ctx_.deadlines.erase({x->deadline, x});
  for (auto& q : in_order_)
    for (expect_rt* x : q) ctx_.deadlines.erase({x->deadline, x});
  if (link_.fd() >= 0) ctx_.poll.remove(link_.fd());
}

void session::note(std::string n) {
  constexpr std::size_t max_notes = 1000;
  if (notes_ < max_notes) {
    summary_.notes.push_back(std::move(n));
  } else if (notes_ == max_notes) {
    summary_.notes.push_back(fmt::format("further notes suppressed (limit of {})", max_notes));
  }
  ++notes_;
}

std::string session::after_frame() const {
  return last_sent_frame_ != 0 ? fmt::format(" (after frame {} was sent)", last_sent_frame_)
                               : std::string{};
}

answer session::base_answer(const expectation& e, verdict v) const {
  answer a;
  a.v = v;
  a.service = e.service;
  a.request_frame = e.request_frame;
  a.expected_frame = e.frame;
  if (v != verdict::exact || ctx_.opt.describe_exact) a.expected = summarize(e.pdu);
  return a;
}

// --- The script ---------------------------------------------------------------------------------

void session::index(expect_rt& x) {
  if (x.e.kind == match_kind::by_ref) {
    by_ref_.emplace(x.e.pdu_ref, &x);
  } else {
    in_order_[kind_index(x.e.kind)].push_back(&x);
  }
}

void session::unindex(expect_rt& x) {
  if (x.e.kind == match_kind::by_ref) {
    const auto [first, last] = by_ref_.equal_range(x.e.pdu_ref);
    for (auto it = first; it != last; ++it) {
      if (it->second != &x) continue;
      by_ref_.erase(it);
      break;
    }
  } else {
    auto& q = in_order_[kind_index(x.e.kind)];
    q.erase(std::remove(q.begin(), q.end(), &x), q.end());
  }
  if (x.ph == expect_rt::phase::future)
    future_.erase(std::remove(future_.begin(), future_.end(), &x), future_.end());
  ctx_.deadlines.erase({x.deadline, &x});
}

void session::make_pending(expect_rt& x, clock_type::time_point from) {
  x.ph = expect_rt::phase::pending;
  x.deadline = from + ctx_.opt.timeout;
  ctx_.deadlines.insert({x.deadline, &x});
}

void session::add_expect(expect_rt& x) {
  x.owner = this;
  if (closed_) {
    const bool sent = x.e.request_frame == 0 || x.e.request_frame <= last_sent_frame_;
    x.ph = expect_rt::phase::pending;
    declare_missing(x, sent ? closed_why_ : "not replayed: " + closed_why_);
    return;
  }
  if (x.e.subscribes) {
    push_kind& k = kinds_[push_key(facts_of_s7(x.e.pdu.s7))];
    k.last_captured = x.e.time;
    if (x.e.asked_interval_ms != 0) k.asked_ms = x.e.asked_interval_ms;
  }
  index(x);
  if (sends_done_ >= x.e.sends_before) {
    make_pending(x, last_send_);
  } else {
    future_.push_back(&x);
  }
  match_held(x);
}

void session::add_absorb(expectation&& e) {
  auto x = std::make_unique<expect_rt>();
  x->e = std::move(e);
  x->owner = this;
  x->ph = expect_rt::phase::pending;  // never waited for: open from the start
  expect_rt& r = *x;
  absorbing_.push_back(std::move(x));
  index(r);
  match_held(r);
}

void session::add_push(expectation&& e) {
  auto x = std::make_unique<expect_rt>();
  x->e = std::move(e);
  x->owner = this;
  x->ph = expect_rt::phase::pending;  // no deadline: matched by kind whenever it comes
  expect_rt& r = *x;
  pushes_.push_back(std::move(x));
  const detail::s7_facts f = facts_of_s7(r.e.pdu.s7);
  r.push_key = push_key(f);
  ++pushes_captured_[r.push_key];
  push_kind& k = kinds_[r.push_key];
  k.change = change_driven(f);
  k.cyclic_transfer = (f.group & 0x0FU) == cyclic_group && f.sub == 0x01;
  k.programmer = (f.group & 0x0FU) == 0x01;
  k.captured(r.e);
  index(r);
  match_held(r);
}

// A PDU of the target that arrived before the capture showed what it answers.
void session::match_held(expect_rt& x) {
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    detail::s7_facts f;
    const match_kind kind = kind_of(it->p, f);
    if (kind != x.e.kind || (kind == match_kind::by_ref && f.pdu_ref != x.e.pdu_ref)) continue;
    if (find(kind, f.pdu_ref, push_key(f)) != &x) continue;
    held_pdu h = std::move(*it);
    held_.erase(it);
    resolve(x, h.p, h.frag);
    return;
  }
}

void session::capture_ended() {
  capture_ended_ = true;
  std::deque<held_pdu> rest = std::move(held_);
  held_.clear();
  for (held_pdu& h : rest) unmatched(std::move(h.p), h.service);
}

void session::promote() {
  while (!future_.empty() && future_.front()->e.sends_before <= sends_done_) {
    expect_rt* x = future_.front();
    future_.pop_front();
    make_pending(*x, last_send_);
  }
}

// --- Sending ------------------------------------------------------------------------------------

void session::connect_now() {
  connect_started_ = true;
  if (const protos7::status st = link_.start_connect(ctx_.opt.tgt); !st) {
    on_connected(st);
    return;
  }
  ctx_.poll.add(link_.fd(), this, link_.status() == tcp_link::state::connecting);
  if (link_.status() == tcp_link::state::connecting)
    connect_deadline_ = clock_type::now() + ctx_.opt.timeout;
}

void session::on_connected(const protos7::status& st) {
  connect_deadline_.reset();
  if (st) {
    ctx_.poll.modify(link_.fd(), this, link_.has_output());
    return;
  }
  if (link_.fd() >= 0) ctx_.poll.remove(link_.fd());
  link_.close();
  note(st.why());
  closed_ = true;
  closed_why_ = st.why();
  fail_all();
}

bool session::can_send(const send_step& s, clock_type::time_point now,
                       std::optional<clock_type::time_point>& wake) {
  if (closed_) return true;  // send() notes that it is not sent
  if (!connect_started_) connect_now();
  if (link_.status() == tcp_link::state::connecting) {
    if (now >= *connect_deadline_) {
      on_connected(protos7::status::failure(
          fmt::format("cannot connect to {}: timed out after {} ms", ctx_.opt.tgt.to_string(),
                      ctx_.opt.timeout.count())));
      return true;
    }
    wake = connect_deadline_;
    return false;
  }
  if (s.pdu && s.pdu->unsubscribes && s.pdu_offset == 0) {
    const auto due = unsubscribe_due(s);
    if (due && now < *due) {
      if (!unsubscribe_wait_since_) unsubscribe_wait_since_ = now;
      const auto limit = *unsubscribe_wait_since_ + ctx_.opt.push_wait_max;
      if (now < limit) {
        wake = std::min(*due, limit);
        unsubscribe_wait_until_ = wake;
        return false;
      }
    }
    unsubscribe_wait_since_.reset();
    unsubscribe_wait_until_.reset();
  }
  // Max AmQ: no more requests in flight than the target granted (it may grant fewer than the
  // captured PLC). A target that never answers does not block the replay beyond the timeout.
  const bool request_start = s.pdu && s.pdu->complete && s.pdu->request && s.pdu_offset == 0;
  if (request_start && amq_ && in_flight_ >= *amq_) {
    if (!amq_wait_since_) amq_wait_since_ = now;
    if (!amq_noted_) {
      amq_noted_ = true;
      note(
          fmt::format("frame {}: held back until an answer came: the target granted Max AmQ "
                      "calling {}, the capture has more requests in flight",
                      s.frame, *amq_));
    }
    if (now < *amq_wait_since_ + ctx_.opt.timeout) {
      wake = *amq_wait_since_ + ctx_.opt.timeout;
      return false;
    }
  }
  amq_wait_since_.reset();
  return true;
}

void session::send(const send_step& s, clock_type::time_point now) {
  ++sends_done_;
  bool sent = false;
  if (s.tpkt.empty()) {
    // left out when the script was built (see its notes)
  } else if (closed_) {
    if (!unsent_noted_) {
      unsent_noted_ = true;
      note(fmt::format("frames from {} on not sent: {}", s.frame, closed_why_));
    }
  } else if (!s.pdu || !s.pdu->complete || (!s.pdu->depends_on && s.pdu->patches.empty())) {
    link_.queue(s.tpkt);
    sent = true;
  } else if (!s.pdu->depends_on || apply_dependency(s, *s.pdu)) {
    std::vector<std::byte> out = s.tpkt;
    apply_patches(s, *s.pdu, out);
    link_.queue(out);
    sent = true;
  }
  if (sent) {
    last_send_ = now;
    if (s.frame != 0) last_sent_frame_ = s.frame;
    if (s.last_of_pdu && s.pdu && s.pdu->request) {
      outstanding_request& o = outstanding_[s.pdu->pdu_ref];
      if (o.count++ == 0) o.service = s.pdu->service;
      ++in_flight_;
    }
  }
  promote();
}

// A client answer to a PLC-initiated PDU goes out only when the target sent that PDU.
bool session::apply_dependency(const send_step& s, const client_pdu& p) {
  const actual_facts& x = *p.depends_on;
  const bool carries_bytes = s.tpkt.size() > s.payload_offset;
  if (x.st == actual_facts::state::answered) return true;
  if (x.st == actual_facts::state::missing || carries_bytes) {
    if (skipped_pdus_.insert(p.frame).second) {
      note(
          fmt::format("frame {}: the client's {} answer not sent: the target did not send the "
                      "{} it answers (captured in frame {})",
                      p.frame, p.service, x.service, x.frame));
    }
    return false;
  }
  return true;  // an empty segment sent before the PLC's PDU was due: harmless
}

void session::apply_patches(const send_step& s, const client_pdu& p, std::vector<std::byte>& out) {
  const std::size_t len = out.size() > s.payload_offset ? out.size() - s.payload_offset : 0;
  for (const pdu_patch& pt : p.patches) {
    const actual_facts& x = *pt.from;
    if (x.st != actual_facts::state::answered) continue;
    std::uint16_t value = 0;
    std::size_t width = 1;
    const char* what = "";
    switch (pt.field) {
      case pdu_patch::what::pdu_ref:
        value = x.ref;
        width = 2;
        what = "PDU reference";
        break;
      case pdu_patch::what::ud_seq:
        value = x.seq;
        what = "Userdata sequence number";
        break;
      case pdu_patch::what::ud_data_unit_ref:
        value = x.data_unit_ref;
        what = "data unit reference";
        break;
    }
    bool touched = false;
    for (std::size_t k = 0; k < width; ++k) {
      const std::size_t at = pt.pdu_offset + k;
      if (at < s.pdu_offset || at >= s.pdu_offset + len) continue;
      const unsigned shift = width == 2 && k == 0 ? 8U : 0U;
      out[s.payload_offset + at - s.pdu_offset] = static_cast<std::byte>((value >> shift) & 0xFFU);
      touched = true;
    }
    if (touched && value != pt.captured) {
      note(pt.field == pdu_patch::what::pdu_ref
               ? fmt::format("frame {}: {} {} -> {} (the target's {})", s.frame, what, pt.captured,
                             value, x.service)
               : fmt::format("frame {}: {} {} -> {} (the target's, from its answer to frame {})",
                             s.frame, what, pt.captured, value, x.request_frame));
    }
    if (touched && pt.field == pdu_patch::what::ud_seq && !x.fragmented) {
      note(
          fmt::format("frame {}: follow-up request sent although the target's answer to frame {} "
                      "was complete (no more data units)",
                      s.frame, x.request_frame));
    }
  }
}

void session::flush_output() {
  if (closed_ || link_.status() != tcp_link::state::open || !link_.has_output()) return;
  if (const protos7::status st = link_.flush(); !st) {
    close_link(fmt::format("sending frame {} failed: {}", last_sent_frame_, st.why()));
    return;
  }
  if (link_.has_output()) ctx_.poll.modify(link_.fd(), this, true);
}

// --- Receiving ----------------------------------------------------------------------------------

void session::on_ready(const poller::ready& r) {
  if (link_.status() == tcp_link::state::connecting) {
    if (!r.writable && !r.error && !r.readable) return;
    on_connected(link_.finish_connect());
    if (closed_) return;
  }
  if (r.readable || r.error) read_all();
  if (r.writable && !closed_) {
    flush_output();
    if (!closed_ && !link_.has_output()) ctx_.poll.modify(link_.fd(), this, false);
  }
}

void session::read_all() {
  for (;;) {
    if (link_.fd() < 0) return;
    std::size_t n = 0;
    std::string err;
    const auto rs = link_.read(in_buf_, n, err);
    if (rs == tcp_link::read_status::again) return;
    if (rs != tcp_link::read_status::data) {
      close_link(fmt::format("the target closed the connection{}{}", err.empty() ? "" : ": ", err) +
                 after_frame());
      return;
    }
    codec::bytes in{in_buf_.data(), n};
    for (;;) {
      const codec::transport::event e = reader_.next(in);
      if (e.st == codec::transport::status::need_more) break;
      if (e.st == codec::transport::status::error && e.frame.empty() &&
          e.err.code != codec::errc::cotp_reassembly_overflow) {
        // The target's bytes stop being TPKT frames: the next boundary cannot be found.
        answer a;
        a.v = verdict::unexpected;
        a.service = "not TPKT";
        a.actual =
            fmt::format("{} bytes that are not a TPKT frame ({})",
                        in.size() + (reader_.offset() - e.offset), codec::to_string(e.err.code));
        a.detail = "the runner cannot find the next frame boundary and closes the connection";
        emit(std::move(a));
        close_link("the target sent bytes that are not TPKT" + after_frame());
        return;
      }
      on_event(e);
      if (link_.fd() < 0) return;
    }
  }
}

// The connection is over (the target closed it, sent a DR, bytes that are not TPKT, or a send
// failed): what is still expected is missing.
void session::close_link(std::string why) {
  if (closed_) return;
  closed_ = true;
  closed_why_ = std::move(why);
  note(closed_why_);
  if (link_.fd() >= 0) ctx_.poll.remove(link_.fd());
  link_.close();
  fail_all();
}

void session::give_up(std::string why) {
  close_link(std::move(why) + after_frame());
}

void session::fail_all() {
  std::vector<expect_rt*> all;
  for (auto& [ref, x] : by_ref_) all.push_back(x);
  for (auto& q : in_order_) all.insert(all.end(), q.begin(), q.end());
  for (expect_rt* x : all) {
    if (x->resolved() || !x->e.compare) continue;
    const bool sent = x->e.request_frame == 0 || x->e.request_frame <= last_sent_frame_;
    declare_missing(*x, sent ? closed_why_ : "not replayed: " + closed_why_);
  }
}

// A frame of the target (every DT segment is kept: answers are compared frame for frame).
void session::on_event(const codec::transport::event& e) {
  silent_timeouts_ = 0;
  if (e.st == codec::transport::status::tpdu && e.tpdu.type == cotp::tpdu_type::dt &&
      e.completes_pdu && segments_.empty() && exact_at_once(e))
    return;
  std::vector<std::byte> frame(e.frame.begin(), e.frame.end());
  const bool dt = e.st == codec::transport::status::tpdu && e.tpdu.type == cotp::tpdu_type::dt;
  pdu_frames p;
  if (dt) {
    segments_.push_back(std::move(frame));
    if (!e.completes_pdu) return;
    p.dt = true;
    p.frames = std::move(segments_);
    p.s7.assign(e.pdu.begin(), e.pdu.end());
    segments_.clear();
  } else {
    if (!frame.empty()) {
      p.frames.push_back(std::move(frame));
    } else {
      p.frames = std::move(segments_);  // a PDU too large to reassemble: its frames as they came
    }
    segments_.clear();
  }
  dump::fragment_info frag;
  if (p.dt && facts_of_s7(p.s7).rosctr == 7) {
    if (!actual_frags_) actual_frags_ = std::make_unique<dump::fragment_tracker>();
    frag = actual_frags_->classify(p.s7);
  }
  const bool disconnect =
      !dt && e.st == codec::transport::status::tpdu &&
      (e.tpdu.type == cotp::tpdu_type::dr || e.tpdu.type == cotp::tpdu_type::dc);
  if (!p.frames.empty()) deliver(std::move(p), frag);
  if (disconnect) close_link("the target sent a COTP disconnect request" + after_frame());
}

expect_rt* session::find(match_kind kind, std::uint16_t ref, std::uint32_t key) {
  if (kind == match_kind::push) {
    for (expect_rt* x : in_order_[kind_index(kind)])
      if (x->push_key == key) return x;
    return nullptr;
  }
  if (kind != match_kind::by_ref) {
    const auto& q = in_order_[kind_index(kind)];
    return q.empty() ? nullptr : q.front();
  }
  const auto [first, last] = by_ref_.equal_range(ref);
  for (auto it = first; it != last; ++it)
    if (it->second->ph == expect_rt::phase::pending) return it->second;
  // An answer to a request already sent whose captured answer comes later in the script.
  for (auto it = first; it != last; ++it)
    if (it->second->e.request_frame != 0 && it->second->e.request_frame <= last_sent_frame_)
      return it->second;
  return nullptr;
}

void session::deliver(pdu_frames&& p, const dump::fragment_info& frag) {
  detail::s7_facts f;
  const match_kind kind = kind_of(p, f);
  std::string service = kind == match_kind::by_ref ? answered(f, p.s7) : std::string();
  if (kind == match_kind::push) {
    ++pushes_received_[push_key(f)];
    // Timed for the kinds the capture has (a target's other kinds are unexpected anyway).
    const auto it = kinds_.find(push_key(f));
    if (it != kinds_.end()) it->second.received(clock_type::now());
  }
  expect_rt* x = find(kind, f.pdu_ref, push_key(f));
  if (x != nullptr) {
    resolve(*x, p, frag);
    return;
  }
  if (!capture_ended_ && held_.size() < max_held) {
    held_.push_back({std::move(p), frag, std::move(service)});
    return;
  }
  unmatched(std::move(p), service);
}

// An answer of the target frees its slot of Max AmQ; a Setup communication answer sets it.
std::string session::answered(const s7_facts& f, std::span<const std::byte> s7) {
  std::string service;
  const auto it = outstanding_.find(f.pdu_ref);
  if (it != outstanding_.end()) {
    service = it->second.service;
    if (--it->second.count == 0) outstanding_.erase(it);
    --in_flight_;
  }
  if (f.rosctr == 3 && f.fn == 0xF0) {
    const auto m = codec::s7::decode(s7);
    if (m && m->p.hdr.error() == 0) amq_ = std::max<std::uint16_t>(m->prm.setup.max_amq_calling, 1);
  }
  return service;
}

void session::note_actual(expect_rt& x, const s7_facts& f) {
  if (x.e.facts) {
    x.e.facts->st = actual_facts::state::answered;
    x.e.facts->ref = f.pdu_ref;
    x.e.facts->seq = f.seq;
    x.e.facts->data_unit_ref = f.data_unit_ref;
    x.e.facts->fragmented = f.extended && f.last_data_unit == 0x01;
  }
  unindex(x);
}

bool session::exact_at_once(const codec::transport::event& e) {
  const s7_facts f = facts_of_s7(e.pdu);
  // Userdata goes the long way (split answers are tracked), Setup communication too (Max AmQ).
  if (!f.is_response() || f.rosctr == 7 || f.fn == 0xF0) return false;
  expect_rt* x = find(match_kind::by_ref, f.pdu_ref);
  if (x == nullptr || !x->e.compare || !x->e.tolerated.empty() || x->e.pdu.frames.size() != 1 ||
      !std::equal(e.frame.begin(), e.frame.end(), x->e.pdu.frames[0].begin(),
                  x->e.pdu.frames[0].end()))
    return false;
  (void)answered(f, e.pdu);
  note_actual(*x, f);
  x->ph = expect_rt::phase::matched;
  answer a = base_answer(x->e, verdict::exact);
  if (ctx_.opt.describe_exact) a.actual = summarize(x->e.pdu);  // the same bytes
  x->result = std::move(a);
  return true;
}

void session::resolve(expect_rt& x, pdu_frames& p, const dump::fragment_info& frag) {
  note_actual(x, p.dt ? facts_of_s7(p.s7) : detail::s7_facts{});
  if (!x.e.compare) {
    x.ph = expect_rt::phase::absorbed;
    note(fmt::format("{}: received {}", x.e.absorb_note, summarize(p)));
    return;
  }
  x.ph = expect_rt::phase::matched;
  if (x.e.subscribes || x.e.kind == match_kind::push) {
    // The subscription's answer or a push: the next push of its kind is due relative to it.
    push_kind& k =
        kinds_[x.e.kind == match_kind::push ? x.push_key : push_key(facts_of_s7(x.e.pdu.s7))];
    k.anchor = {x.e.time, clock_type::now()};
    if (x.e.subscribes) k.last_received = k.anchor->second;
  }
  // Where the captured answer is not a fixed property of the PLC, the target's bytes are taken
  // as the captured ones (and listed as tolerated) before the comparison.
  const std::vector<field_diff> tolerated = apply_tolerance(x.e, p);
  comparison c;
  if (p.frames != x.e.pdu.frames)
    c = compare(x.e.pdu, describe(x.e.pdu, x.e.frag), p, describe(p, frag));
  if (!tolerated.empty()) {
    if (c.v == verdict::exact) c.v = verdict::equivalent;
    c.fields.insert(c.fields.end(), tolerated.begin(), tolerated.end());
  }
  answer a = base_answer(x.e, c.v);
  if (c.v != verdict::exact || ctx_.opt.describe_exact) a.actual = summarize(p);
  a.fields = std::move(c.fields);
  a.bytes_diff = std::move(c.bytes_diff);
  x.result = std::move(a);
  if (x.e.kind == match_kind::push) push_verdict(x);
}

// A push's verdict says how it was paired and what was compared; it goes out at once (pushes
// are no steps of the runner).
void session::push_verdict(expect_rt& x) {
  const detail::s7_facts f = facts_of_s7(x.e.pdu.s7);
  const std::uint32_t key = push_key(f);
  const std::string timing = push_timing(x);
  x.result->detail = fmt::format(
      "push matched by kind and subscription ({}; {} of this kind received from the target, {} "
      "captured so far): compared field by field and byte by byte, the PDU reference tolerated "
      "(the PLC numbers its own PDUs); not compared: its order among the answers (the PLC "
      "pushes on its own cycle and events); {}",
      push_kind_text(f), pushes_received_[key], pushes_captured_[key], timing);
  pop(x);
}

// The timing of a matched push of a time-driven kind: the target's interval (the median gap of
// its pushes of this kind) against the capture's, within the kind's tolerance; outside it the
// push's verdict is `mismatch`. Other kinds say why their timing is not compared.
std::string session::push_timing(expect_rt& x) {
  const push_kind& k = kinds_[x.push_key];
  if (k.driven_by() != push_kind::clock::interval)
    return "timing not compared (" + driven_text(k) + ")";
  const std::string asked =
      k.asked_ms != 0 ? fmt::format("; the request asked {} ms", k.asked_ms) : std::string();
  if (k.period() <= 0.0) return "timing not compared (no interval captured)" + asked;
  if (k.received_gaps.empty())
    return fmt::format("timing: the first push of its kind, no interval yet (capture {:.0f} ms{})",
                       k.period(), asked);
  const double got = k.observed();
  const double want = k.period();
  const double tol = k.tolerance();
  std::string text = fmt::format(
      "interval {:.0f} ms, capture {:.0f} ms (tolerance +/-{:.0f} ms: the largest of 50 %, twice "
      "the capture's jitter of {:.0f} ms and 20 ms{})",
      got, want, tol, k.jitter(), asked);
  if (std::abs(got - want) <= tol) return text;
  x.result->v = verdict::mismatch;
  x.result->fields.push_back({"protos7.push.interval_ms",
                              field_value{true, std::int64_t{std::lround(want)}},
                              field_value{true, std::int64_t{std::lround(got)}},
                              {}});
  if (x.result->actual.empty()) x.result->actual = summarize(x.e.pdu);
  return "timing differs: " + text;
}

std::string session::push_missing(const expect_rt& x) const {
  const detail::s7_facts f = facts_of_s7(x.e.pdu.s7);
  const std::uint32_t key = push_key(f);
  const auto got = pushes_received_.find(key);
  const auto cap = pushes_captured_.find(key);
  const push_kind* k = kind_of_push(x);
  const bool timed = k != nullptr && k->driven_by() == push_kind::clock::interval;
  return fmt::format(
      "the target pushed {} PDU(s) of this kind ({}) where the capture has {}; pushes are "
      "matched by kind and subscription, {}",
      got == pushes_received_.end() ? 0 : got->second, push_kind_text(f),
      cap == pushes_captured_.end() ? 0 : cap->second,
      timed ? fmt::format("this kind waited for at the capture's pace (each push its captured "
                          "time after the previous one, +/-{:.0f} ms)",
                          k->tolerance())
            : "not waited for (" + (k != nullptr ? driven_text(*k) : "event driven") + ")");
}

// Change-driven pushes the target did not send by the end of the connection: each reports a
// change of the captured process's values, which the replay does not make (it writes only what
// the capture's client wrote), so a CPU would not send it either. Not compared, and said so once
// per subscription; those the target did push were compared (resolve).
bool session::unchanged_push(expect_rt& x) {
  const detail::s7_facts f = facts_of_s7(x.e.pdu.s7);
  if (closed_ || !change_driven(f)) return false;
  unindex(x);
  x.ph = expect_rt::phase::absorbed;
  if (unchanged_noted_.insert(push_key(f)).second)
    note(fmt::format(
        "change-driven pushes of {} not received: not compared (they report value changes of "
        "the captured process, which the replay does not reproduce; the target pushed {} of {})",
        push_kind_text(f), pushes_received_[push_key(f)], pushes_captured_[push_key(f)]));
  return true;
}

std::string session::unexpected_service(const pdu_frames& p, match_kind kind) {
  if (kind == match_kind::other_data) return "COTP data (not S7)";
  if (p.dt) {
    std::uint16_t szl = 0;
    return service_of(p.s7, szl);
  }
  return service_of_tpdu(p.frames.front());
}

// A PDU of the target that answers nothing the capture shows: late (after its answer was
// declared missing) or unexpected.
void session::unmatched(pdu_frames&& p, const std::string& service) {
  detail::s7_facts f;
  const match_kind kind = kind_of(p, f);
  const std::uint16_t ref = f.pdu_ref;
  if (kind == match_kind::by_ref) {
    for (out_answer& o : out_) {
      if (!o.by_ref || o.ref != ref || o.a.v != verdict::missing || o.late_noted) continue;
      o.late_noted = true;
      const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() -
                                                                              o.missing_since);
      o.a.detail += fmt::format("; an answer with this pduref arrived {} ms after the timeout: {}",
                                late.count(), summarize(p));
      return;
    }
  }
  answer a;
  a.v = verdict::unexpected;
  a.actual = summarize(p);
  a.service = service.empty() ? unexpected_service(p, kind) : service;
  if (kind == match_kind::by_ref) {
    std::string outstanding;
    for (const auto& [r, x] : by_ref_)
      if (x->ph == expect_rt::phase::pending && x->e.compare)
        outstanding += fmt::format("{}{}", outstanding.empty() ? "" : ", ", r);
    a.detail = fmt::format("pduref {} answers no outstanding request (outstanding: {})", ref,
                           outstanding.empty() ? "none" : outstanding);
  } else {
    a.detail = "the captured PLC sent no such PDU here";
  }
  a.detail += after_frame();
  emit(std::move(a));
}

// --- Verdicts out -------------------------------------------------------------------------------

void session::declare_missing(expect_rt& x, const std::string& why) {
  unindex(x);
  if (x.e.facts) x.e.facts->st = actual_facts::state::missing;
  if (!x.e.compare) {
    x.ph = expect_rt::phase::absorbed;
    note(fmt::format("{}: nothing received", x.e.absorb_note));
    return;
  }
  x.ph = expect_rt::phase::missing;
  x.missing_since = clock_type::now();
  answer a = base_answer(x.e, verdict::missing);
  a.detail = x.e.kind == match_kind::push ? push_missing(x) + " (" + why + ")" : why;
  x.result = std::move(a);
  if (x.e.kind == match_kind::push) {
    pop(x);
    return;
  }
  if (x.e.kind == match_kind::by_ref) {
    // The target will not answer it any more: its slot of Max AmQ is free again.
    const auto it = outstanding_.find(x.e.pdu_ref);
    if (it != outstanding_.end()) {
      if (--it->second.count == 0) outstanding_.erase(it);
      --in_flight_;
    }
  }
}

void session::expire(std::vector<expect_rt*>& due, clock_type::time_point) {
  bool no_cc = false;
  bool any = false;
  for (expect_rt* x : due) {
    if (x->resolved()) continue;
    any = true;
    no_cc = no_cc || (x->e.kind == match_kind::tpdu && x->e.request_frame != 0);
    declare_missing(*x, fmt::format("no answer within {} ms", ctx_.opt.timeout.count()));
  }
  if (!any) return;
  ++silent_timeouts_;
  if (no_cc) {
    give_up("the target did not answer the CR (no CC): nothing can follow on this connection");
  } else if (silent_timeouts_ >= max_silent_timeouts) {
    give_up(fmt::format(
        "the target stopped answering ({} timeouts of {} ms in a row with nothing received)",
        silent_timeouts_, ctx_.opt.timeout.count()));
  }
}

void session::pop(expect_rt& x) {
  if (!x.result) return;
  out_answer o;
  o.by_ref = x.e.kind == match_kind::by_ref;
  o.ref = x.e.pdu_ref;
  o.missing_since = x.missing_since;
  o.a = std::move(*x.result);
  x.result.reset();
  out_.push_back(std::move(o));
  flush_answers(false);
}

void session::emit(answer&& a) {
  out_answer o;
  o.a = std::move(a);
  out_.push_back(std::move(o));
  flush_answers(false);
}

void session::flush_answers(bool all) {
  while (!out_.empty()) {
    const out_answer& o = out_.front();
    if (!all && o.by_ref && o.a.v == verdict::missing && !o.late_noted && out_.size() < max_out)
      break;
    ++ctx_.counters.verdicts[static_cast<std::size_t>(o.a.v)];
    ctx_.sink.answer(index_, o.a);
    out_.pop_front();
  }
}

void session::start_linger(clock_type::time_point now) {
  linger_start_ = now;
}

std::optional<clock_type::time_point> session::linger_until() const {
  if (!linger_start_) return std::nullopt;
  if (closed_) return linger_start_;
  clock_type::time_point until = *linger_start_ + ctx_.opt.linger;
  if (const auto due = pushes_due(nullptr))
    until = std::max(until, std::min(*due, *linger_start_ + ctx_.opt.push_wait_max));
  return until;
}

const push_kind* session::kind_of_push(const expect_rt& x) const {
  const auto it = kinds_.find(x.push_key);
  return it == kinds_.end() ? nullptr : &it->second;
}

// When an outstanding push of a time-driven kind is due at the latest: its captured time after
// the kind's anchor (the subscription's answer or the latest matched push), that long after the
// target sent the anchor, plus the kind's tolerance. None for other kinds or without an anchor.
std::optional<clock_type::time_point> session::push_due(const expect_rt& x) const {
  const push_kind* k = kind_of_push(x);
  if (k == nullptr || !k->anchor || k->driven_by() != push_kind::clock::interval)
    return std::nullopt;
  const double ms = std::max(0.0, (x.e.time - k->anchor->first) * 1000.0) + k->tolerance();
  return k->anchor->second + ms_duration(ms);
}

// The latest due time of the next outstanding push of each time-driven kind (a kind whose next
// push is overdue is waited for no longer); `count` gets the outstanding pushes of those kinds.
std::optional<clock_type::time_point> session::pushes_due(std::size_t* count) const {
  std::optional<clock_type::time_point> latest;
  std::set<std::uint32_t> seen;
  std::set<std::uint32_t> paced;
  for (const expect_rt* x : in_order_[kind_index(match_kind::push)]) {
    if (!seen.insert(x->push_key).second) {
      if (count != nullptr && paced.contains(x->push_key)) ++*count;
      continue;
    }
    const auto due = push_due(*x);
    if (!due) continue;
    paced.insert(x->push_key);
    if (count != nullptr) ++*count;
    latest = latest ? std::max(*latest, *due) : *due;
  }
  return latest;
}

std::optional<clock_type::time_point> session::push_wait(clock_type::time_point now,
                                                         std::size_t& count) const {
  count = 0;
  std::optional<clock_type::time_point> since;
  if (linger_start_) {
    const auto due = pushes_due(nullptr);
    if (due && *due > now) since = linger_start_;
  } else if (unsubscribe_wait_until_ && *unsubscribe_wait_until_ > now) {
    since = unsubscribe_wait_since_;
  }
  if (!since) return std::nullopt;
  std::optional<clock_type::time_point> last;
  for (const expect_rt* x : in_order_[kind_index(match_kind::push)]) {
    const auto due = push_due(*x);
    if (!due) continue;
    ++count;
    last = last ? std::max(*last, *due) : *due;
  }
  if (!last) return std::nullopt;
  return std::min(*last, *since + ctx_.opt.push_wait_max);
}

// An unsubscribe ends its job's pushes: it waits until the next push of the job captured
// before it is received or overdue (at most options::push_wait_max).
std::optional<clock_type::time_point> session::unsubscribe_due(const send_step& s) const {
  std::optional<clock_type::time_point> latest;
  std::set<std::uint32_t> seen;
  for (const expect_rt* x : in_order_[kind_index(match_kind::push)]) {
    const detail::s7_facts f = facts_of_s7(x->e.pdu.s7);
    if ((f.group & 0x0FU) != cyclic_group || f.seq != s.pdu->unsubscribe_job ||
        x->e.frame >= s.frame || !seen.insert(x->push_key).second)
      continue;
    if (const auto due = push_due(*x)) latest = latest ? std::max(*latest, *due) : *due;
  }
  return latest;
}

void session::finalize() {
  capture_ended();
  std::vector<expect_rt*> all;
  for (auto& [ref, x] : by_ref_) all.push_back(x);
  for (auto& q : in_order_) all.insert(all.end(), q.begin(), q.end());
  for (expect_rt* x : all) {
    if (x->resolved()) continue;
    if (x->e.kind == match_kind::push && unchanged_push(*x)) continue;
    declare_missing(*x, closed_ ? "not replayed: " + closed_why_
                                : (x->e.kind == match_kind::push ? "the connection ended"
                                                                 : "never sent by the target"));
    pop(*x);
  }
  if (link_.fd() >= 0) ctx_.poll.remove(link_.fd());
  link_.close();
  flush_answers(true);
}

}  // namespace protos7::replay::detail
