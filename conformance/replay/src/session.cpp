// Running a script against the target over TCP: send the client frames, pair what comes back
// with the expectations, give each answer its verdict.
//
// Single-threaded: blocking sends, poll() before every receive. The socket is only read while
// the runner waits (for answers due before the next client frame, and for `linger` at the end),
// so a PDU the target sends unasked is seen at the next wait, in order.
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "facts.hpp"
#include "protos7/codec/transport.hpp"
#include "protos7/codec/cotp.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/replay/script.hpp"
#include "protos7/stream/stream.hpp"

namespace protos7::replay {

namespace {

using clock_type = std::chrono::steady_clock;

// A target that lets this many answers in a row run into the full timeout, receiving nothing in
// between, is taken as hung: the rest of the connection is reported missing without waiting
// (the 5 000-request bench capture would otherwise take hours against a silent target). A
// target that only ignores some requests and answers the others never gets here.
constexpr std::size_t max_silent_timeouts = 5;
namespace cotp = codec::cotp;

std::string errno_text(int e) {
  return std::strerror(e);
}

// --- The TCP connection ------------------------------------------------------------------------

class tcp_link {
 public:
  tcp_link() = default;
  tcp_link(const tcp_link&) = delete;
  tcp_link& operator=(const tcp_link&) = delete;
  ~tcp_link() { close(); }

  // Connects within `timeout`. Returns "" or the reason it failed.
  std::string connect(const target& t, std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(t.port);
    const int gai = ::getaddrinfo(t.host.c_str(), port.c_str(), &hints, &res);
    if (gai != 0) return fmt::format("cannot resolve {}: {}", t.host, ::gai_strerror(gai));
    std::string last = "no address";
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      const int fd =
          ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) {
        last = errno_text(errno);
        continue;
      }
      const int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
      int e = rc == 0 ? 0 : errno;
      if (e == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        const int pr = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (pr == 1) {
          socklen_t len = sizeof e;
          if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0) e = errno;
        } else {
          e = pr == 0 ? ETIMEDOUT : errno;
        }
      }
      if (e != 0) {
        last = errno_text(e);
        ::close(fd);
        continue;
      }
      // Blocking from here on (reads are preceded by poll); sends time out like answers do.
      const int fl = ::fcntl(fd, F_GETFL);
      if (fl >= 0) ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      timeval tv{};
      tv.tv_sec = timeout.count() / 1000;
      tv.tv_usec = (timeout.count() % 1000) * 1000;
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      fd_ = fd;
      break;
    }
    ::freeaddrinfo(res);
    if (fd_ < 0) return fmt::format("cannot connect to {}: {}", t.to_string(), last);
    return {};
  }

  // Sends all bytes. Returns "" or why it failed.
  std::string send_all(std::span<const std::byte> b) {
    std::size_t done = 0;
    while (done < b.size()) {
      const ssize_t n = ::send(fd_, b.data() + done, b.size() - done, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_text(errno);
      }
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

  enum class read_status : std::uint8_t { data, timeout, closed, error };
  // Waits until `deadline` for bytes and appends them to `buf`.
  read_status read_some(std::vector<std::byte>& buf, clock_type::time_point deadline,
                        std::string& err) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      const int ms =
          left.count() <= 0 ? 0 : static_cast<int>(std::min<std::int64_t>(left.count(), 60'000));
      pollfd p{fd_, POLLIN, 0};
      const int rc = ::poll(&p, 1, ms);
      if (rc < 0) {
        if (errno == EINTR) continue;
        err = errno_text(errno);
        return read_status::error;
      }
      if (rc == 0) {
        if (clock_type::now() >= deadline) return read_status::timeout;
        continue;
      }
      std::array<std::byte, 65536> tmp{};
      const ssize_t n = ::recv(fd_, tmp.data(), tmp.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        err = errno_text(errno);
        return errno == ECONNRESET ? read_status::closed : read_status::error;
      }
      if (n == 0) return read_status::closed;
      buf.insert(buf.end(), tmp.begin(), tmp.begin() + n);
      return read_status::data;
    }
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// --- Connections that overlapped in the capture ---------------------------------------------------

// Connections whose captured lifetimes overlap are replayed at the same time, each on its own
// thread, and the gate keeps their requests in capture order across connections: before a
// connection sends the client frame captured as frame F, every other connection has completed
// all its steps captured before F (frames sent, answers received or declared missing). A client
// that reads on one connection what it wrote on another (the interop suite's "two clients at
// once" tests) is then replayed with the same order of effects as captured.
class order_gate {
 public:
  static constexpr std::uint64_t done = std::numeric_limits<std::uint64_t>::max();
  explicit order_gate(std::vector<std::uint64_t> first) : progress_(std::move(first)) {}
  // Connection k's first step that is not complete is the one captured at `frame` (done: none).
  void publish(std::size_t k, std::uint64_t frame) {
    {
      const std::lock_guard lock{mu_};
      progress_[k] = frame;
    }
    cv_.notify_all();
  }
  // Blocks connection k until no other connection has an incomplete step captured before `frame`.
  void wait_turn(std::size_t k, std::uint64_t frame) {
    std::unique_lock lock{mu_};
    cv_.wait(lock, [&] {
      for (std::size_t j = 0; j < progress_.size(); ++j)
        if (j != k && progress_[j] < frame) return false;
      return true;
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::uint64_t> progress_;
};

// --- The session -------------------------------------------------------------------------------

class session {
 public:
  session(const script& s, const options& opt, connection_report& rep, order_gate* gate = nullptr,
          std::size_t gate_index = 0)
      : s_(s), opt_(opt), rep_(rep), gate_(gate), gate_index_(gate_index) {
    order_frames_ = order_frames(s);
    states_.resize(s.expects.size());
    slots_.resize(s.expects.size());
    unexpected_after_.resize(s.steps.size() + 1);
    dump::fragment_tracker frags;
    expected_fields_.reserve(s.expects.size());
    for (const expectation& e : s.expects) {
      expected_fields_.push_back(describe(e.pdu, frags));
    }
  }

  // The captured frame that orders each step among the connections of the capture (a step
  // without a frame of its own, e.g. a synthesized CR, takes the next known frame).
  static std::vector<std::uint64_t> order_frames(const script& s) {
    std::vector<std::uint64_t> f(s.steps.size(), 0);
    std::uint64_t next = order_gate::done;
    for (std::size_t i = s.steps.size(); i-- > 0;) {
      const step& sp = s.steps[i];
      const std::uint64_t own = sp.send ? s.sends[sp.index].frame : s.expects[sp.index].frame;
      if (own != 0) next = own;
      f[i] = next;
    }
    return f;
  }
  void attach(order_gate* g) noexcept { gate_ = g; }
  // Where this connection stands for the gate: the frame of its first incomplete step.
  [[nodiscard]] std::uint64_t first_frame() const {
    return order_frames_.empty() ? order_gate::done : order_frames_.front();
  }

  void connect() {
    connected_ = true;
    const std::string err = link_.connect(opt_.tgt, opt_.timeout);
    if (!err.empty()) {
      rep_.notes.push_back(err);
      closed_ = true;
      closed_why_ = err;
    }
  }

  void publish() {
    if (gate_ == nullptr) return;
    while (progress_ < s_.steps.size()) {
      const step& sp = s_.steps[progress_];
      const bool complete =
          sp.send ? progress_ < sent_steps_
                  : (!s_.expects[sp.index].compare || states_[sp.index].ph == phase::matched ||
                     states_[sp.index].ph == phase::missing || states_[sp.index].ph == phase::absorbed);
      if (!complete) break;
      ++progress_;
    }
    gate_->publish(gate_index_, progress_ < s_.steps.size() ? order_frames_[progress_] : order_gate::done);
  }

  void run() {
    // With a gate the TCP connection is opened when its first frame is due, as captured.
    if (gate_ == nullptr) connect();
    // Absorbing expectations (answers the capture lost) never block; they are open from the start.
    for (std::size_t i = 0; i < s_.expects.size(); ++i) {
      if (!s_.expects[i].compare) states_[i].ph = phase::pending;
    }
    last_send_ = clock_type::now();
    for (step_ = 0; step_ < s_.steps.size(); ++step_) {
      const step& sp = s_.steps[step_];
      if (!sp.send) {
        exp_state& x = states_[sp.index];
        if (x.ph == phase::future) {
          x.ph = phase::pending;
          x.deadline = last_send_ + opt_.timeout;
        }
        continue;
      }
      wait_for_due();
      if (gate_ != nullptr) {
        publish();
        gate_->wait_turn(gate_index_, order_frames_[step_]);
        if (!connected_) connect();
      }
      send(sp.index);
      sent_steps_ = step_ + 1;
      publish();
    }
    wait_for_due();
    publish();
    if (!closed_) {
      const auto until = clock_type::now() + opt_.linger;
      while (!closed_ && clock_type::now() < until) pump(until);
    }
    for (std::size_t i = 0; i < s_.expects.size(); ++i) {
      if (states_[i].ph == phase::future || states_[i].ph == phase::pending) {
        declare_missing(
            i, closed_ ? fmt::format("not replayed: {}", closed_why_) : "never sent by the target");
      }
    }
    link_.close();
    if (gate_ != nullptr) gate_->publish(gate_index_, order_gate::done);
    assemble();
  }

 private:
  enum class phase : std::uint8_t { future, pending, matched, missing, absorbed };
  struct exp_state {
    phase ph = phase::future;
    clock_type::time_point deadline{};
    bool has_actual = false;
    std::uint16_t actual_ref = 0;
    std::uint8_t actual_seq = 0;
    std::uint8_t actual_data_unit_ref = 0;
    bool actual_fragmented = false;
    clock_type::time_point missing_since{};
    bool late_noted = false;
  };

  // Waits for every compared expectation that is due (reached in the script) to be answered, or
  // declares it missing at its deadline.
  void wait_for_due() {
    wait_began_ = clock_type::now();
    for (;;) {
      std::optional<clock_type::time_point> earliest;
      for (std::size_t i = 0; i < states_.size(); ++i) {
        if (states_[i].ph != phase::pending || !s_.expects[i].compare) continue;
        if (!earliest || states_[i].deadline < *earliest) earliest = states_[i].deadline;
      }
      if (!earliest) return;
      if (closed_) {
        for (std::size_t i = 0; i < states_.size(); ++i) {
          if (states_[i].ph != phase::pending || !s_.expects[i].compare) continue;
          const bool sent =
              s_.expects[i].request_frame == 0 || s_.expects[i].request_frame <= last_sent_frame_;
          declare_missing(i, sent ? closed_why_ : "not replayed: " + closed_why_);
        }
        return;
      }
      const auto now = clock_type::now();
      if (now >= *earliest) {
        bool waited = false;  // a full timeout ran out (not one that had expired before the wait)
        bool no_cc = false;
        for (std::size_t i = 0; i < states_.size(); ++i) {
          if (states_[i].ph == phase::pending && s_.expects[i].compare &&
              states_[i].deadline <= now) {
            waited = waited || states_[i].deadline > wait_began_;
            no_cc = no_cc ||
                    (s_.expects[i].kind == match_kind::tpdu && s_.expects[i].request_frame != 0);
            declare_missing(i, fmt::format("no answer within {} ms", opt_.timeout.count()));
          }
        }
        if (waited) ++silent_timeouts_;
        if (no_cc) {
          give_up(
              "the target did not answer the CR (no CC): nothing can follow on this connection");
        } else if (silent_timeouts_ >= max_silent_timeouts) {
          give_up(fmt::format(
              "the target stopped answering ({} timeouts of {} ms in a row with nothing received)",
              silent_timeouts_, opt_.timeout.count()));
        }
        continue;
      }
      pump(*earliest);
    }
  }

  // Reads once (until `deadline` at most) and handles every whole frame received.
  void pump(clock_type::time_point deadline) {
    std::string err;
    const auto rs = link_.read_some(in_, deadline, err);
    if (rs == tcp_link::read_status::closed || rs == tcp_link::read_status::error) {
      closed_ = true;
      closed_why_ =
          fmt::format("the target closed the connection{}{}", err.empty() ? "" : ": ", err);
      closed_why_ += after_frame();
      rep_.notes.push_back(closed_why_);
    }
    codec::bytes in = in_;
    for (;;) {
      const codec::transport::event e = reader_.next(in);
      if (e.st == codec::transport::status::need_more) break;
      if (e.st == codec::transport::status::error && e.frame.empty() &&
          e.err.code != codec::errc::cotp_reassembly_overflow) {
        not_tpkt(e, in.size() + (reader_.offset() - e.offset));
        return;
      }
      on_event(e);
    }
    in_.clear();
    publish();
  }

  // The target's bytes stop being TPKT frames: the runner cannot find the next boundary.
  void not_tpkt(const codec::transport::event& e, std::size_t bytes_left) {
    answer a;
    a.v = verdict::unexpected;
    a.service = "not TPKT";
    a.actual = fmt::format("{} bytes that are not a TPKT frame ({})", bytes_left, codec::to_string(e.err.code));
    a.detail = "the runner cannot find the next frame boundary and closes the connection";
    unexpected_after_[step_].push_back(std::move(a));
    in_.clear();
    closed_ = true;
    closed_why_ = "the target sent bytes that are not TPKT" + after_frame();
    link_.close();
  }

  std::string after_frame() const {
    return last_sent_frame_ != 0 ? fmt::format(" (after frame {} was sent)", last_sent_frame_)
                                 : std::string{};
  }

  // Stops the connection: what is still expected is reported missing with `why`.
  void give_up(std::string why) {
    closed_ = true;
    closed_why_ = std::move(why) + after_frame();
    rep_.notes.push_back(closed_why_);
    link_.close();
  }

  // A frame of the target (every DT segment is kept: answers are compared frame for frame).
  void on_event(const codec::transport::event& e) {
    silent_timeouts_ = 0;
    std::vector<std::byte> frame(e.frame.begin(), e.frame.end());
    const bool dt = e.st == codec::transport::status::tpdu && e.tpdu.type == cotp::tpdu_type::dt;
    if (dt) {
      segments_.push_back(std::move(frame));
      if (!e.completes_pdu) return;
      pdu_frames p;
      p.dt = true;
      p.frames = std::move(segments_);
      p.s7.assign(e.pdu.begin(), e.pdu.end());
      segments_.clear();
      deliver(std::move(p));
      return;
    }
    pdu_frames p;
    if (!frame.empty()) p.frames.push_back(std::move(frame));
    else p.frames = std::move(segments_);  // a PDU too large to reassemble: its frames as they came
    segments_.clear();
    const bool disconnect = e.st == codec::transport::status::tpdu &&
                            (e.tpdu.type == cotp::tpdu_type::dr || e.tpdu.type == cotp::tpdu_type::dc);
    if (!p.frames.empty()) deliver(std::move(p));
    if (disconnect && !closed_) {
      closed_ = true;
      closed_why_ = "the target sent a COTP disconnect request" + after_frame();
      rep_.notes.push_back(closed_why_);
    }
  }

  std::optional<std::size_t> find(match_kind kind, std::uint16_t ref) const {
    for (std::size_t i = 0; i < states_.size(); ++i) {
      const expectation& e = s_.expects[i];
      if (e.kind != kind) continue;
      const phase x = states_[i].ph;
      if (kind == match_kind::by_ref) {
        if (x == phase::pending && e.pdu_ref == ref) return i;
      } else if (x == phase::future || x == phase::pending) {
        return i;  // in order
      }
    }
    if (kind != match_kind::by_ref) return std::nullopt;
    // An answer to a request already sent whose captured answer comes later in the script (the
    // runner was waiting for something else when it arrived).
    for (std::size_t i = 0; i < states_.size(); ++i) {
      const expectation& e = s_.expects[i];
      if (e.kind == kind && states_[i].ph == phase::future && e.pdu_ref == ref &&
          e.request_frame != 0 && e.request_frame <= last_sent_frame_) {
        return i;
      }
    }
    return std::nullopt;
  }

  void deliver(pdu_frames p) {
    match_kind kind = match_kind::tpdu;
    std::uint16_t ref = 0;
    detail::s7_facts f;
    if (p.dt) {
      f = detail::facts_of_s7(p.s7);
      ref = f.pdu_ref;
      kind = !f.s7             ? match_kind::other_data
             : f.is_response() ? match_kind::by_ref
                               : match_kind::initiated;
    }
    std::optional<std::size_t> idx = find(kind, ref);
    // Where the captured answer is not a fixed property of the PLC, the target's bytes are taken
    // as the captured ones (and listed as tolerated) before the comparison.
    std::vector<field_diff> tolerated;
    if (idx && s_.expects[*idx].compare) tolerated = apply_tolerance(s_.expects[*idx], p);
    dump::field_list af = describe(p, actual_frags_);
    if (!idx) {
      if (kind == match_kind::by_ref) {
        // An answer after its request was declared missing: say so there.
        for (std::size_t i = 0; i < states_.size(); ++i) {
          const expectation& e = s_.expects[i];
          exp_state& x = states_[i];
          if (e.kind == match_kind::by_ref && x.ph == phase::missing && e.pdu_ref == ref &&
              !x.late_noted) {
            x.late_noted = true;
            const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(
                clock_type::now() - x.missing_since);
            slots_[i]->detail +=
                fmt::format("; an answer with this pduref arrived {} ms after the timeout: {}",
                            late.count(), summarize(p));
            return;
          }
        }
      }
      answer a;
      a.v = verdict::unexpected;
      a.actual = summarize(p);
      a.service = unexpected_service(p, kind, ref);
      if (kind == match_kind::by_ref) {
        std::string outstanding;
        for (std::size_t i = 0; i < states_.size(); ++i) {
          if (s_.expects[i].kind == match_kind::by_ref && states_[i].ph == phase::pending &&
              s_.expects[i].compare) {
            outstanding +=
                fmt::format("{}{}", outstanding.empty() ? "" : ", ", s_.expects[i].pdu_ref);
          }
        }
        a.detail = fmt::format("pduref {} answers no outstanding request (outstanding: {})", ref,
                               outstanding.empty() ? "none" : outstanding);
      } else {
        a.detail = "the captured PLC sent no such PDU here";
      }
      a.detail += after_frame();
      unexpected_after_[step_].push_back(std::move(a));
      return;
    }
    const std::size_t i = *idx;
    const expectation& e = s_.expects[i];
    exp_state& x = states_[i];
    x.has_actual = true;
    x.actual_ref = f.pdu_ref;
    x.actual_seq = f.seq;
    x.actual_data_unit_ref = f.data_unit_ref;
    x.actual_fragmented = f.extended && f.last_data_unit == 0x01;
    if (!e.compare) {
      x.ph = phase::absorbed;
      rep_.notes.push_back(fmt::format("{}: received {}", e.absorb_note, summarize(p)));
      return;
    }
    x.ph = phase::matched;
    comparison c = compare(e.pdu, expected_fields_[i], p, af);
    if (!tolerated.empty()) {
      if (c.v == verdict::exact) c.v = verdict::equivalent;
      c.fields.insert(c.fields.end(), tolerated.begin(), tolerated.end());
    }
    answer a = base_answer(e);
    a.v = c.v;
    a.actual = summarize(p);
    a.fields = c.fields;
    a.bytes_diff = c.bytes_diff;
    slots_[i] = std::move(a);
  }

  // Copies the captured bytes into `p` over the expectation's tolerated ranges where they differ
  // (only when both PDUs have the same length: another layout is compared as it is). Returns one
  // tolerated field_diff per differing range.
  static std::vector<field_diff> apply_tolerance(const expectation& e, pdu_frames& p) {
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
        out.push_back({fmt::format("S7 PDU bytes {}-{} ({})", first, last - 1, r.what), field_value{true, exp},
                       field_value{true, act}, r.rule});
        patch(p, first, std::span<const std::byte>(e.pdu.s7).subspan(first, last - first));
        first = last;
      }
    }
    return out;
  }

  // Writes `b` at S7 offset `at` of a DT PDU, in its reassembled bytes and in its frames.
  static void patch(pdu_frames& p, std::size_t at, std::span<const std::byte> b) {
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

  std::string unexpected_service(const pdu_frames& p, match_kind kind, std::uint16_t ref) const {
    if (kind == match_kind::by_ref) {
      for (std::size_t i = s_.expects.size(); i-- > 0;) {
        if (s_.expects[i].kind == match_kind::by_ref && s_.expects[i].pdu_ref == ref)
          return s_.expects[i].service;
      }
    }
    if (kind == match_kind::other_data) return "COTP data (not S7)";
    if (p.dt) {
      std::uint16_t szl = 0;
      return service_of(p.s7, szl);
    }
    return service_of_tpdu(p.frames.front());
  }

  static answer base_answer(const expectation& e) {
    answer a;
    a.service = e.service;
    a.request_frame = e.request_frame;
    a.expected_frame = e.frame;
    a.expected = summarize(e.pdu);
    return a;
  }

  void declare_missing(std::size_t i, const std::string& why) {
    exp_state& x = states_[i];
    const expectation& e = s_.expects[i];
    if (!e.compare) {
      x.ph = phase::absorbed;
      rep_.notes.push_back(fmt::format("{}: nothing received", e.absorb_note));
      return;
    }
    x.ph = phase::missing;
    x.missing_since = clock_type::now();
    answer a = base_answer(e);
    a.v = verdict::missing;
    a.detail = why;
    slots_[i] = std::move(a);
  }

  void send(std::size_t si) {
    const send_step& st = s_.sends[si];
    if (st.tpkt.empty()) return;  // left out when the script was built (see its notes)
    if (closed_) {
      if (!unsent_noted_) {
        unsent_noted_ = true;
        rep_.notes.push_back(fmt::format("frames from {} on not sent: {}", st.frame, closed_why_));
      }
      return;
    }
    std::vector<std::byte> out = st.tpkt;
    if (st.pdu >= 0) {
      const client_pdu& p = s_.pdus[static_cast<std::size_t>(st.pdu)];
      if (p.has_dependency && !apply_dependency(p, st, out)) return;
      apply_patches(p, st, out);
    }
    const std::string err = link_.send_all(out);
    if (!err.empty()) {
      closed_ = true;
      closed_why_ = fmt::format("sending frame {} failed: {}", st.frame, err);
      rep_.notes.push_back(closed_why_);
      return;
    }
    last_send_ = clock_type::now();
    if (st.frame != 0) last_sent_frame_ = st.frame;
  }

  // A client answer to a PLC-initiated PDU goes out only when the target sent that PDU.
  bool apply_dependency(const client_pdu& p, const send_step& st,
                        const std::vector<std::byte>& out) {
    const exp_state& x = states_[p.depends_on];
    const bool carries_bytes = out.size() > st.payload_offset;
    if (x.ph == phase::matched || x.ph == phase::absorbed) return true;
    if (x.ph == phase::missing || carries_bytes) {
      if (skipped_pdus_.insert(p.frame).second) {
        rep_.notes.push_back(fmt::format(
            "frame {}: the client's {} answer not sent: the target did not send the "
            "{} it answers (captured in frame {})",
            p.frame, p.service, s_.expects[p.depends_on].service, s_.expects[p.depends_on].frame));
      }
      return false;
    }
    return true;  // an empty segment sent before the PLC's PDU was due: harmless
  }

  void apply_patches(const client_pdu& p, const send_step& st, std::vector<std::byte>& out) {
    const std::size_t len = out.size() > st.payload_offset ? out.size() - st.payload_offset : 0;
    for (const pdu_patch& pt : p.patches) {
      const exp_state& x = states_[pt.from_expect];
      if (!x.has_actual) continue;
      std::uint16_t value = 0;
      std::size_t width = 1;
      const char* what = "";
      switch (pt.field) {
        case pdu_patch::what::pdu_ref:
          value = x.actual_ref;
          width = 2;
          what = "PDU reference";
          break;
        case pdu_patch::what::ud_seq:
          value = x.actual_seq;
          what = "Userdata sequence number";
          break;
        case pdu_patch::what::ud_data_unit_ref:
          value = x.actual_data_unit_ref;
          what = "data unit reference";
          break;
      }
      bool touched = false;
      for (std::size_t k = 0; k < width; ++k) {
        const std::size_t at = pt.pdu_offset + k;
        if (at < st.pdu_offset || at >= st.pdu_offset + len) continue;
        const unsigned shift = width == 2 && k == 0 ? 8U : 0U;
        out[st.payload_offset + at - st.pdu_offset] =
            static_cast<std::byte>((value >> shift) & 0xFFU);
        touched = true;
      }
      if (touched && value != pt.captured) {
        std::string note = fmt::format(
            "frame {}: {} {} -> {} (the target's, from its answer to frame {})", st.frame, what,
            pt.captured, value, s_.expects[pt.from_expect].request_frame);
        if (pt.field == pdu_patch::what::pdu_ref) {
          note = fmt::format("frame {}: {} {} -> {} (the target's {})", st.frame, what, pt.captured,
                             value, s_.expects[pt.from_expect].service);
        }
        rep_.notes.push_back(std::move(note));
      }
      if (touched && pt.field == pdu_patch::what::ud_seq && !x.actual_fragmented) {
        rep_.notes.push_back(
            fmt::format("frame {}: follow-up request sent although the target's answer to frame {} "
                        "was complete (no more data units)",
                        st.frame, s_.expects[pt.from_expect].request_frame));
      }
    }
  }

  // Answers in script order; unexpected ones after the step during which they arrived.
  void assemble() {
    for (std::size_t k = 0; k <= s_.steps.size(); ++k) {
      if (k < s_.steps.size() && !s_.steps[k].send && slots_[s_.steps[k].index]) {
        rep_.answers.push_back(std::move(*slots_[s_.steps[k].index]));
        slots_[s_.steps[k].index].reset();
      }
      for (answer& a : unexpected_after_[k]) rep_.answers.push_back(std::move(a));
    }
    // Expectations outside the step list (absorbing ones) never produce answers, but be safe.
    for (auto& sl : slots_) {
      if (sl) rep_.answers.push_back(std::move(*sl));
    }
  }

  const script& s_;
  const options& opt_;
  connection_report& rep_;
  order_gate* gate_ = nullptr;
  std::size_t gate_index_ = 0;
  std::vector<std::uint64_t> order_frames_;
  std::size_t progress_ = 0;    // first step not complete (gate)
  std::size_t sent_steps_ = 0;  // send steps up to this index are done
  bool connected_ = false;
  tcp_link link_;
  std::vector<exp_state> states_;
  std::vector<std::optional<answer>> slots_;
  std::vector<std::vector<answer>> unexpected_after_;
  std::vector<dump::field_list> expected_fields_;
  dump::fragment_tracker actual_frags_;
  std::vector<std::byte> in_;
  // The target's side, read by the codec's transport reader (frames up to the TPKT maximum).
  std::vector<std::byte> frame_buf_ = std::vector<std::byte>(codec::tpkt::max_length);
  std::vector<std::byte> pdu_buf_ = std::vector<std::byte>(4 * codec::tpkt::max_length);
  codec::transport::stream_reader reader_{frame_buf_, pdu_buf_};
  std::vector<std::vector<std::byte>> segments_;
  std::set<std::uint64_t> skipped_pdus_;
  std::size_t step_ = 0;
  clock_type::time_point last_send_{};
  std::uint64_t last_sent_frame_ = 0;
  clock_type::time_point wait_began_{};
  std::size_t silent_timeouts_ = 0;
  bool closed_ = false;
  bool unsent_noted_ = false;
  std::string closed_why_;
};

std::string endpoint_text(const capture::endpoint& e) {
  return e.address.find(':') != std::string::npos ? fmt::format("[{}]:{}", e.address, e.port)
                                                  : fmt::format("{}:{}", e.address, e.port);
}

}  // namespace

capture_report replay_loaded(const capture::capture_file& file, const options& opt) {
  capture_report rep;
  rep.path = file.path;
  rep.loaded = true;
  for (const std::string& w : file.warnings) rep.notes.push_back(w);
  stream::options so;
  so.port = opt.capture_port;
  const std::vector<stream::connection_records> conns = stream::extract(file, so);
  if (conns.empty()) {
    rep.notes.push_back(
        opt.capture_port != 0
            ? fmt::format(
                  "no S7 connection: no TCP connection uses port {} ({} frames, {} of them TCP)",
                  opt.capture_port, file.frames, file.tcp_frames)
            : fmt::format("no TCP connection ({} frames)", file.frames));
    return rep;
  }
  const tolerance_map tolerance = tolerated_ranges(conns);
  // Numbered as `protos7 dump` numbers them (protos7.connection): S7 connections in capture order.
  std::size_t index = 0;
  std::vector<script> scripts;
  scripts.reserve(conns.size());
  for (const stream::connection_records& records : conns) {
    const capture::connection& c = *records.conn;
    connection_report cr;
    cr.index = index++;
    cr.client = endpoint_text(c.client);
    cr.server = endpoint_text(c.server);
    cr.first_frame = c.first_frame;
    cr.last_frame = c.last_frame;
    script s = build_script(records);
    // Bytes of the captured answers that are not a fixed property of the PLC (variation.cpp).
    for (expectation& e : s.expects) {
      const auto t = tolerance.find({cr.index, e.frame});
      if (t != tolerance.end() && e.pdu.dt) e.tolerated = t->second;
    }
    cr.notes = s.notes;
    cr.replayed = s.replayable;
    cr.skip_reason = s.skip_reason;
    rep.connections.push_back(std::move(cr));
    scripts.push_back(std::move(s));
  }
  // Replayable connections whose captured lifetimes overlap run at the same time (order_gate);
  // the others one after the other.
  std::size_t i = 0;
  while (i < scripts.size()) {
    if (!scripts[i].replayable) {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    std::uint64_t last = rep.connections[i].last_frame;
    std::vector<std::size_t> group{i};
    for (; j < scripts.size(); ++j) {
      if (rep.connections[j].first_frame > last) break;
      if (!scripts[j].replayable) continue;
      group.push_back(j);
      last = std::max(last, rep.connections[j].last_frame);
    }
    if (group.size() == 1) {
      session run{scripts[i], opt, rep.connections[i]};
      run.run();
    } else {
      std::vector<std::unique_ptr<session>> runs;
      std::vector<std::uint64_t> first;
      for (std::size_t k = 0; k < group.size(); ++k) {
        runs.push_back(std::make_unique<session>(scripts[group[k]], opt, rep.connections[group[k]], nullptr, k));
        first.push_back(runs.back()->first_frame());
      }
      order_gate gate{std::move(first)};
      std::vector<std::thread> threads;
      for (std::size_t k = 0; k < group.size(); ++k) {
        runs[k]->attach(&gate);
        rep.connections[group[k]].notes.push_back(fmt::format(
            "replayed at the same time as the connection(s) it overlapped in the capture, in capture order"));
        threads.emplace_back([&runs, k] { runs[k]->run(); });
      }
      for (std::thread& t : threads) t.join();
    }
    i = j;
  }
  if (std::none_of(rep.connections.begin(), rep.connections.end(),
                   [](const auto& c) { return c.replayed; })) {
    rep.notes.push_back("no S7 connection could be replayed (see each connection's reason)");
  }
  return rep;
}

capture_report replay_capture(const std::string& path, const options& opt) {
  capture::capture_file file;
  capture::load_error err;
  if (!capture::load(path, file, err)) {
    capture_report rep;
    rep.path = path;
    rep.error = err.message;
    return rep;
  }
  return replay_loaded(file, opt);
}

}  // namespace protos7::replay
