// Fault injection: the PLC misbehaves on purpose, as fault rules say (fault_rules.hpp,
// docs/FAULTS.md), so a client can be seen to cope with a CPU that answers late, not at all,
// wrongly, in pieces, or drops the connection.
//
// One fault_engine per server (per PLC): its rules, counters, generators and the log of injected
// faults. Every connection gets a fault_connection when it is accepted; while the engine has an
// enabled rule it is the session's hook (session::set_faults), and the session hands it each TPDU
// that completes a request or is a COTP CR. Without enabled rules the session's pointer is null:
// the request path then costs one pointer check (bench/run_vs_snap7.sh, docs/BENCHMARKS.md).
//
// Every reply a fault changes is built with the codec's writers (s7::encode, the data item and
// variable specification writers, cotp::write_disconnect, transport::write_dt_segments) and
// decoded again before it leaves, like every other reply. What happens to the bytes on the way
// out (a delay, TCP segments, a trickle, a reset) is an output gate the server's send path asks.
//
// Threading: the event loop's thread only (the web admin posts to it). injected_total() may be
// read from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protos7/codec/s7.hpp"
#include "protos7/codec/transport.hpp"
#include "protos7/server/fault_rules.hpp"

namespace protos7::server {

class session;
class fault_engine;

// One injected fault, as the log, the web admin and the validator see it.
struct fault_event {
  std::uint64_t sequence = 0;  // 1 for the first since start
  std::chrono::system_clock::time_point at{};
  std::chrono::steady_clock::time_point when{};  // the same instant, for intervals
  int connection = -1;                           // the server's id of the connection (its socket)
  std::string peer;                              // "address:port"
  std::size_t rule = 0;                          // index in the rules (0-based)
  std::string rule_name;                         // fault_rule_label()
  std::string action;                            // fault_action::describe()
  std::vector<std::string_view> kinds;
  fault_event_kind event = fault_event_kind::request;
  std::string request;        // "Read Var (pdu_ref 5, 1 item)", "COTP CR", "TCP connection"
  std::uint16_t pdu_ref = 0;  // of the request
  std::vector<std::byte> request_pdu;  // the request's S7 PDU (at most 512 bytes)
  std::uint32_t delay_ms = 0;          // the reply left this much later (with the jitter drawn)
  bool reply_suppressed = false;       // no reply was sent for the request
  bool connection_ended = false;       // close, reset, DR or a refused connection
};

// Sees every injected fault (validate.cpp records them per connection). Loop thread.
class fault_listener {
 public:
  virtual void on_fault(const fault_event& e) = 0;

 protected:
  ~fault_listener() = default;
};

struct fault_rule_counters {
  std::uint64_t matched = 0;   // events its selectors matched (the counters saw)
  std::uint64_t injected = 0;  // faults it injected
};

// One connection's side of fault injection: the session's hook and the output gates.
class fault_connection {
 public:
  using clock = std::chrono::steady_clock;
  fault_connection(fault_engine& engine, session& s, int id, std::string peer, std::uint32_t ipv4);
  ~fault_connection();
  fault_connection(const fault_connection&) = delete;
  fault_connection& operator=(const fault_connection&) = delete;

  [[nodiscard]] int id() const noexcept { return id_; }
  [[nodiscard]] session& owner() noexcept { return s_; }

  // --- the session's hook: a COTP CR, or a DT that completed a request PDU (anything else is
  // passed on untouched). Appends what is sent to `out`, as the session does.
  void on_tpdu(const codec::transport::event& e, std::vector<std::byte>& out);

  // --- the server's send path. Positions are indexes into the connection's output queue
  // (`out` of on_tpdu); the server only clears that queue once it is sent whole.
  [[nodiscard]] bool gated() const noexcept { return gated_; }
  // How many of the `avail` bytes from `out_sent` on may be sent now (0: wait).
  [[nodiscard]] std::size_t sendable(std::size_t out_sent, std::size_t avail,
                                     clock::time_point now) const noexcept;
  // `out_sent` bytes of the queue have now been sent.
  void sent(std::size_t out_sent, clock::time_point now) noexcept;
  // The next byte to send (at `out_sent`) is held by a gate until a later time: the server does
  // not ask for EPOLLOUT meanwhile.
  [[nodiscard]] bool waiting(std::size_t out_sent, clock::time_point now) const noexcept;
  // When the first held byte may leave (nullopt: nothing held).
  [[nodiscard]] std::optional<clock::time_point> wake() const noexcept;
  // The connection is to be reset (SO_LINGER 0) rather than closed.
  [[nodiscard]] bool reset_on_close() const noexcept { return reset_; }

 private:
  friend class fault_engine;
  struct gate {
    std::size_t begin = 0, end = 0;  // [begin, end) of the output queue
    std::size_t chunk = 0;           // bytes per send (0: all)
    std::chrono::milliseconds interval{0};
    clock::time_point next{};  // the next chunk may leave at
  };
  struct request_info;
  using item_hits = std::array<bool, 256>;
  [[nodiscard]] request_info describe(codec::bytes pdu);
  [[nodiscard]] bool connection_matches(const fault_selector& s) const;
  [[nodiscard]] bool request_matches(const fault_selector& s, const request_info& ri) const;
  [[nodiscard]] fault_event event_for(std::size_t rule, fault_event_kind kind) const;
  void on_connect(const codec::transport::event& e, std::vector<std::byte>& out);
  void on_request(const codec::transport::event& e, std::vector<std::byte>& out);
  void apply(std::size_t rule, fault_event& ev, const request_info& ri,
             const codec::transport::event& e, std::vector<std::byte>& out);
  bool end_reply(const fault_action& a, fault_event& ev, const request_info& ri,
                 const codec::transport::event& e, std::vector<std::byte>& out);
  void answer_with_error(std::uint16_t error, const request_info& ri, std::vector<std::byte>& out);
  void answer_with_item_codes(const fault_rule& r, const request_info& ri,
                              const codec::transport::event& e, std::vector<std::byte>& out);
  bool build_sub_job(const item_hits& hit, std::size_t kept, std::uint16_t pdu_ref);
  void merge_item_answers(std::uint8_t fn, std::size_t count, const item_hits& hit,
                          std::uint8_t code, const codec::s7::message& ans, const request_info& ri,
                          std::vector<std::byte>& out);
  [[nodiscard]] std::optional<codec::bytes> first_pdu(codec::bytes frames);
  void clamp_pdu(std::uint16_t clamp);
  void reshape(const fault_action& a, const request_info& ri, const std::vector<std::byte>& reply,
               std::vector<std::byte>& out);
  void rewrite_pdu(const fault_action& a, const request_info& ri, codec::bytes pdu,
                   std::vector<std::byte>& out);
  void hold(std::size_t begin, std::size_t end, const fault_action& a, std::uint32_t delay_ms);

  fault_engine& engine_;
  session& s_;
  int id_;
  std::string peer_;
  std::uint32_t ipv4_;
  std::uint8_t connection_type_ = 0;  // from the COTP CR
  std::uint16_t called_tsap_ = 0;
  bool reset_ = false;
  bool gated_ = false;  // !gates_.empty()
  std::deque<gate> gates_;
  // Scratch for rebuilt requests and replies (allocated only when a fault is injected).
  std::vector<std::byte> scratch_, pdu_, frame_buf_, pdu_buf_;
  codec::s7::message msg_;  // the request being looked at
};

class fault_engine {
 public:
  using clock = std::chrono::steady_clock;
  explicit fault_engine(std::string plc_name = {});
  ~fault_engine();
  fault_engine(const fault_engine&) = delete;
  fault_engine& operator=(const fault_engine&) = delete;

  // Replaces the rules (counters start again; every enabled rule's window starts now). Sessions
  // get their hook set or cleared.
  void set_rules(fault_rules r);
  [[nodiscard]] const fault_rules& rules() const noexcept { return rules_; }
  // Enables or disables the rule named `name` (or "rule <n>"). False: no such rule.
  bool set_enabled(std::string_view name, bool enabled);
  // Some enabled rule exists: sessions carry the hook.
  [[nodiscard]] bool active() const noexcept { return active_; }
  [[nodiscard]] const std::string& plc_name() const noexcept { return plc_; }
  void set_plc_name(std::string name) { plc_ = std::move(name); }

  [[nodiscard]] const std::vector<fault_rule_counters>& counters() const noexcept {
    return counters_;
  }
  [[nodiscard]] const std::map<std::string, std::uint64_t, std::less<>>& by_kind() const noexcept {
    return by_kind_;
  }
  [[nodiscard]] std::uint64_t injected_total() const noexcept { return total_.load(); }
  // The most recent injected faults (at most recent_limit), oldest first.
  [[nodiscard]] const std::deque<fault_event>& recent() const noexcept { return recent_; }
  static constexpr std::size_t recent_limit = 200;
  void reset_counters();

  void add_listener(fault_listener* l) { listeners_.push_back(l); }
  void remove_listener(fault_listener* l);

  // --- the server ---
  // A fault_connection for a connection just accepted (registered until it is destroyed).
  [[nodiscard]] std::unique_ptr<fault_connection> attach(session& s, int id,
                                                         const std::string& peer,
                                                         std::uint32_t ipv4);
  // Whether a TCP connection just accepted from `ipv4` must be refused (a rule with
  // refuse_connections injected; counted and logged).
  [[nodiscard]] bool refuse(int id, const std::string& peer, std::uint32_t ipv4);
  // Connections whose output is held by a gate, and when the first of them may send.
  [[nodiscard]] bool any_gated() const noexcept { return !gated_.empty(); }
  [[nodiscard]] std::optional<clock::time_point> next_wake() const;
  [[nodiscard]] const std::set<fault_connection*>& gated() const noexcept { return gated_; }

 private:
  friend class fault_connection;
  // The first rule that injects for this event, or nullopt. `matches` tells the selectors apart.
  template <class Matches>
  std::optional<std::size_t> decide(fault_event_kind kind, std::uint32_t ipv4, Matches&& matches);
  [[nodiscard]] bool base_match(const fault_rule& r, fault_event_kind kind, std::uint32_t ipv4,
                                clock::time_point now, std::size_t index) const;
  std::uint32_t draw_jitter(std::size_t rule, std::uint32_t jitter);
  void record(fault_event ev);
  void update_hooks();

  std::string plc_;
  fault_rules rules_;
  std::vector<fault_rule_counters> counters_;
  std::vector<std::mt19937_64> rng_;
  std::vector<clock::time_point> enabled_at_;
  bool active_ = false;
  std::set<fault_connection*> connections_;
  std::set<fault_connection*> gated_;
  std::vector<fault_listener*> listeners_;
  std::map<std::string, std::uint64_t, std::less<>> by_kind_;
  std::atomic<std::uint64_t> total_{0};
  std::uint64_t sequence_ = 0;
  std::deque<fault_event> recent_;
};

}  // namespace protos7::server
