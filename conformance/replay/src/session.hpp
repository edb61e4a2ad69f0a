// Internal: the replay of one connection (session) and what all sessions of a capture share
// (runner_ctx). The runner (runner.cpp) owns the sequence of steps of all connections in capture
// order and executes its head; a session sends the client frames it is given, pairs what the
// target sends with its expectations, gives each answer its verdict and hands the answers, in
// script order, to the report sink.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "facts.hpp"
#include "net.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/transport.hpp"
#include "protos7/replay/replay.hpp"
#include "protos7/replay/script.hpp"
#include "protos7/status.hpp"

namespace protos7::replay::detail {

using clock_type = std::chrono::steady_clock;

class session;

// An expectation while it is replayed.
struct expect_rt {
  enum class phase : std::uint8_t { future, pending, matched, missing, absorbed };
  expectation e;
  session* owner = nullptr;
  phase ph = phase::future;
  clock_type::time_point deadline{};
  std::optional<answer> result;  // matched or missing: the answer, emitted in script order
  clock_type::time_point missing_since{};
  std::uint32_t push_key = 0;  // a push: its kind (facts.hpp)
  [[nodiscard]] bool resolved() const noexcept {
    return ph == phase::matched || ph == phase::missing || ph == phase::absorbed;
  }
};

// Shared by the sessions of one capture.
struct runner_ctx {
  const options& opt;
  report_sink& sink;
  poller poll;
  // Pending expectations by deadline (the earliest one bounds the next wait).
  std::set<std::pair<clock_type::time_point, expect_rt*>> deadlines;
  run_counters counters;
  runner_ctx(const options& o, report_sink& s) : opt(o), sink(s) {}
};

// The timing of the pushes of one kind (push_key): what the capture shows, what the target does.
// Gaps are kept as a running window (the latest max_gaps), in ms.
struct push_kind {
  // What drives the pushes: a period (cyclic transfer; programmer-command pushes that come on
  // their own at a regular gap), the client (programmer-command pushes that each follow a client
  // request), value changes (change-driven transfer), events (alarms, notify, mode, diagnostics)
  // or nothing the capture makes clear (too few pushes, an irregular gap).
  enum class clock : std::uint8_t { interval, client, change, event, unknown };
  static constexpr std::size_t max_gaps = 32;
  static constexpr std::size_t min_gaps = 3;  // programmer commands: to show a period

  bool cyclic_transfer = false;
  bool change = false;
  bool programmer = false;
  std::uint32_t asked_ms = 0;           // the interval the job's request asked (0: none known)
  std::optional<double> last_captured;  // capture time of its latest push or subscription
  std::deque<double> captured_gaps;
  std::size_t gaps = 0;                // captured gaps in all
  std::size_t gaps_after_request = 0;  // those with a client request in them
  // The replay: capture and replay time of the subscription's answer or the latest matched push.
  std::optional<std::pair<double, clock_type::time_point>> anchor;
  std::optional<clock_type::time_point> last_received;  // the target's latest push (or answer)
  std::deque<double> received_gaps;

  void captured(const expectation& e);
  void received(clock_type::time_point now);
  [[nodiscard]] clock driven_by() const;
  [[nodiscard]] double period() const;     // the median captured gap (the asked interval before)
  [[nodiscard]] double jitter() const;     // the median deviation of the captured gaps from it
  [[nodiscard]] double tolerance() const;  // max(50 % of the period, 2 x jitter, 20 ms)
  [[nodiscard]] double observed() const;   // the median gap of the target's pushes
};

class session {
 public:
  session(runner_ctx& ctx, std::size_t index, connection_summary& summary);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // --- The script, as the builder produces it.
  // Registers an expectation (the runner keeps it in its step sequence).
  void add_expect(expect_rt& x);
  void add_absorb(expectation&& e);
  // A push of the PLC: compared when the target sends one of its kind (resolve), missing at the
  // end of the connection if it does not; never waited for.
  void add_push(expectation&& e);
  void note(std::string n);
  // The capture has no more records of this connection (answers held back as early are now
  // answers to nothing the capture shows).
  void capture_ended();

  // --- Steps (runner).
  // Whether the send step at the head can go now; otherwise `wake` may get when to look again.
  [[nodiscard]] bool can_send(const send_step& s, clock_type::time_point now,
                              std::optional<clock_type::time_point>& wake);
  void send(const send_step& s, clock_type::time_point now);
  // The expectation at the head of the runner's sequence is complete: its answer goes out.
  void pop(expect_rt& x);
  // The connection's last step: listen `linger` longer for unexpected PDUs, then finalize.
  void start_linger(clock_type::time_point now);
  [[nodiscard]] bool lingering() const noexcept { return linger_start_.has_value(); }
  // Requests sent that the target has not answered yet.
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  // The end of the linger: `linger` after it started, or later while a push of a time-driven
  // kind is still due (push_due), at most options::push_wait_max after it started.
  [[nodiscard]] std::optional<clock_type::time_point> linger_until() const;
  // Outstanding pushes of time-driven kinds: when the next of each kind is due at the latest;
  // `count` (if given) gets how many of those kinds' pushes are outstanding.
  [[nodiscard]] std::optional<clock_type::time_point> pushes_due(std::size_t* count) const;
  // Progress: while the session waits for pushes due at the capture's pace (at its end, or
  // before an unsubscribe), when the last outstanding push of a time-driven kind is due (at most
  // options::push_wait_max after the wait began), with `count` those pushes.
  [[nodiscard]] std::optional<clock_type::time_point> push_wait(clock_type::time_point now,
                                                                std::size_t& count) const;

  // --- Events.
  void on_ready(const poller::ready& r);
  void flush_output();
  // Expectations past their deadline (one batch: one silent timeout at most).
  void expire(std::vector<expect_rt*>& due, clock_type::time_point now);
  // Closes the connection and hands out what is left (runner: after linger).
  void finalize();

 private:
  void connect_now();
  void on_connected(const protos7::status& st);
  void read_all();
  void on_event(const codec::transport::event& e);
  void deliver(pdu_frames&& p, const dump::fragment_info& frag);
  void resolve(expect_rt& x, pdu_frames& p, const dump::fragment_info& frag);
  expect_rt* find(match_kind kind, std::uint16_t ref, std::uint32_t push_key = 0);
  void push_verdict(expect_rt& x);
  [[nodiscard]] std::string push_timing(expect_rt& x);
  [[nodiscard]] std::optional<clock_type::time_point> push_due(const expect_rt& x) const;
  [[nodiscard]] std::optional<clock_type::time_point> unsubscribe_due(const send_step& s) const;
  [[nodiscard]] const push_kind* kind_of_push(const expect_rt& x) const;
  [[nodiscard]] std::string push_missing(const expect_rt& x) const;
  bool unchanged_push(expect_rt& x);
  void unmatched(pdu_frames&& p, const std::string& service);
  void match_held(expect_rt& x);
  void fail_all();
  void index(expect_rt& x);
  // Frees the request's slot of Max AmQ; returns its service.
  std::string answered(const s7_facts& f, std::span<const std::byte> s7);
  // The common case without copying: a one-frame answer equal to the captured one.
  bool exact_at_once(const codec::transport::event& e);
  void note_actual(expect_rt& x, const s7_facts& f);
  [[nodiscard]] static std::string unexpected_service(const pdu_frames& p, match_kind kind);
  void make_pending(expect_rt& x, clock_type::time_point from);
  void promote();
  void unindex(expect_rt& x);
  void declare_missing(expect_rt& x, const std::string& why);
  void give_up(std::string why);
  void close_link(std::string why);
  bool apply_dependency(const send_step& s, const client_pdu& p);
  void apply_patches(const send_step& s, const client_pdu& p, std::vector<std::byte>& out);
  void emit(answer&& a);
  void flush_answers(bool all);
  [[nodiscard]] std::string after_frame() const;
  [[nodiscard]] answer base_answer(const expectation& e, verdict v) const;

  runner_ctx& ctx_;
  std::size_t index_;
  connection_summary& summary_;
  tcp_link link_;
  bool connect_started_ = false;
  std::optional<clock_type::time_point> connect_deadline_;
  bool closed_ = false;
  std::string closed_why_;
  bool unsent_noted_ = false;
  bool capture_ended_ = false;
  std::size_t notes_ = 0;

  // Expectations not yet resolved: by PDU reference (answers), in order (the other kinds), and
  // those whose preceding send has not gone out yet.
  std::multimap<std::uint16_t, expect_rt*> by_ref_;  // equal references in order of creation
  std::deque<expect_rt*> in_order_[5];
  std::deque<expect_rt*> future_;
  std::deque<std::unique_ptr<expect_rt>> absorbing_;
  std::deque<std::unique_ptr<expect_rt>> pushes_;
  // Pushes per kind (push_key): captured (add_push) and received from the target (matched).
  std::map<std::uint32_t, std::size_t> pushes_captured_;
  std::map<std::uint32_t, std::size_t> pushes_received_;
  std::set<std::uint32_t> unchanged_noted_;   // subscriptions whose unsent pushes were noted
  std::map<std::uint32_t, push_kind> kinds_;  // push timing per kind
  std::optional<clock_type::time_point> unsubscribe_wait_since_;
  std::optional<clock_type::time_point> unsubscribe_wait_until_;
  std::size_t sends_done_ = 0;
  clock_type::time_point last_send_ = clock_type::now();
  std::uint64_t last_sent_frame_ = 0;
  // Max AmQ: the target's grant (Setup communication) and the requests it has not answered.
  std::optional<std::uint16_t> amq_;
  struct outstanding_request {
    std::size_t count = 0;
    std::string service;
  };
  std::unordered_map<std::uint16_t, outstanding_request> outstanding_;
  std::size_t in_flight_ = 0;
  std::optional<clock_type::time_point> amq_wait_since_;
  bool amq_noted_ = false;
  std::set<std::uint64_t> skipped_pdus_;

  // The target's side.
  std::vector<std::byte> in_buf_ = std::vector<std::byte>(65536);
  std::unique_ptr<std::byte[]> frame_buf_{new std::byte[codec::tpkt::max_length]};
  std::unique_ptr<std::byte[]> pdu_buf_{new std::byte[4 * codec::tpkt::max_length]};
  codec::transport::stream_reader reader_{
      std::span<std::byte>(frame_buf_.get(), codec::tpkt::max_length),
      std::span<std::byte>(pdu_buf_.get(), 4 * codec::tpkt::max_length)};
  std::vector<std::vector<std::byte>> segments_;
  std::unique_ptr<dump::fragment_tracker> actual_frags_;
  std::size_t silent_timeouts_ = 0;
  bool received_since_timeout_ = false;

  // The target's PDUs no expectation is known for yet (the capture is read ahead a window at a
  // time: the captured answer may not have been read).
  struct held_pdu {
    pdu_frames p;
    dump::fragment_info frag;
    std::string service;  // of the request it answers, if one was outstanding
  };
  std::deque<held_pdu> held_;

  // Answers in script order; a missing one is kept back (an answer that comes late is noted on
  // it) until the connection ends or too many answers wait behind it.
  struct out_answer {
    answer a;
    std::uint16_t ref = 0;
    bool by_ref = false;
    clock_type::time_point missing_since{};
    bool late_noted = false;
  };
  std::deque<out_answer> out_;
  std::optional<clock_type::time_point> linger_start_;
};

}  // namespace protos7::replay::detail
