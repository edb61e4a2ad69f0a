// Fault rules: what `serve --faults FILE`, a profile's "faults" and the web admin's
// PUT /api/faults say the PLC should do wrong, on purpose, and when (docs/FAULTS.md).
//
//   { "seed": 7,
//     "rules": [
//       { "name": "slow DB1 reads",
//         "when": { "function": "read_var", "db": 1, "every": 2 },
//         "do":   { "delay_ms": 400, "jitter_ms": 100 } },
//       { "when": { "szl_id": "0x001C" }, "do": { "no_reply": true } } ] }
//
// A rule's "when" selects requests (the default event) or connections ("event": "connect": the
// COTP CR; a rule with "refuse_connections" looks at TCP connections as they are accepted).
// Every selector given must match; then the counters decide (nth, every, probability, max, the
// time window). Rules are tried in order and the first that injects is applied to the request
// (as in a firewall): later rules do not see it.
//
// This file is the format only (parse, check, write back); fault_engine (faults.hpp) applies it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace protos7::server {

// A rules file or text that cannot be used; the message names the place ("rules[1].do.delay_ms:
// ...") and what to write instead. Nothing is applied when it is thrown.
class fault_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An IPv4 address or network, host byte order ("10.0.0.0/8", "127.0.0.1" = /32).
struct ipv4_prefix {
  std::uint32_t address = 0;
  std::uint8_t bits = 32;
  [[nodiscard]] bool contains(std::uint32_t a) const noexcept {
    const std::uint32_t mask = bits == 0 ? 0U : ~std::uint32_t{0} << (32U - bits);
    return (a & mask) == (address & mask);
  }
  friend bool operator==(const ipv4_prefix&, const ipv4_prefix&) = default;
};

enum class fault_event_kind : std::uint8_t {
  request,  // an S7 request (Job or Userdata request): the default
  connect,  // the COTP CR of a connection
  accept,   // the TCP connection itself (rules with refuse_connections only)
};

struct fault_selector {
  fault_event_kind event = fault_event_kind::request;
  std::string plc;                              // the PLC's name (a plant member); "" = any
  std::optional<ipv4_prefix> client;            // the client's address
  std::optional<std::uint8_t> connection_type;  // 1 PG, 2 OP, 3 S7 basic (the CR's called TSAP)
  std::optional<std::uint16_t> tsap;            // the CR's called TSAP, both bytes
  std::optional<std::uint8_t> function;         // a Job's function code (0x04 Read Var ...)
  bool userdata = false;                        // "function": "userdata": any Userdata request
  std::optional<std::uint8_t> group;            // Userdata function group (4 = CPU functions)
  std::optional<std::uint8_t> subfunction;      // Userdata subfunction
  std::optional<std::uint8_t> area;             // an item of Read/Write Var in this area
  std::optional<std::uint16_t> db;              // an item of Read/Write Var in this DB (DB or DI)
  std::optional<std::uint16_t> szl_id;          // a Read SZL request of this SZL-ID
  std::optional<std::uint16_t> szl_index;       // ... and index
  // Counting (over the selected events since the rule was enabled):
  std::uint64_t nth = 0;     // only the nth (1-based); 0 = every one
  std::uint64_t every = 0;   // every nth: the every-th, 2*every-th, ...; 0 = every one
  double probability = 1.0;  // of the rest, this share (the rule's seeded generator decides)
  std::uint64_t max = 0;     // at most this many injections; 0 = no limit
  std::chrono::milliseconds after{0};              // not before this long after enabling
  std::optional<std::chrono::milliseconds> until;  // not after this long after enabling
  friend bool operator==(const fault_selector&, const fault_selector&) = default;
};

// What to do; several actions may be combined (a delayed, split, duplicated reply), within the
// limits parse_fault_rules() checks.
struct fault_action {
  std::uint32_t delay_ms = 0;                    // hold the reply back this long ...
  std::uint32_t jitter_ms = 0;                   // ... plus 0..jitter_ms (seeded)
  bool no_reply = false;                         // the job is executed, its reply is never sent
  bool close = false;                            // no reply: the connection is closed (TCP FIN)
  bool reset = false;                            // no reply: the connection is reset (TCP RST)
  std::optional<std::uint8_t> cotp_dr;           // no reply: COTP DR with this reason, close
  std::optional<std::uint16_t> header_error;     // answered with this S7 error (class, code)
  std::optional<std::uint8_t> item_return_code;  // Read/Write Var: the selected items get it
  std::optional<std::uint16_t> pdu_ref;          // the reply carries this PDU reference
  bool wrong_pdu_ref = false;             // the reply carries the request's PDU reference + 1
  bool duplicate = false;                 // the reply is sent twice
  std::uint16_t cotp_segment = 0;         // the reply in COTP DT segments of this many PDU bytes
  std::uint16_t tcp_segment = 0;          // the reply sent in TCP segments of this many bytes
  std::uint16_t trickle_bytes = 0;        // the reply sent this many bytes ...
  std::uint32_t trickle_interval_ms = 0;  // ... every this many milliseconds
  bool refuse_connections = false;        // matching TCP connections are reset when accepted
  bool stop = false;                      // the CPU goes to STOP (the request is then served)
  std::uint16_t clamp_pdu = 0;            // Setup Communication: the PDU size is at most this
  friend bool operator==(const fault_action&, const fault_action&) = default;

  // Whether the request gets no reply at all (no_reply, close, reset, cotp_dr).
  [[nodiscard]] bool ends_reply() const noexcept {
    return no_reply || close || reset || cotp_dr.has_value();
  }
  // The kinds this action injects, by their stable names (counted one by one).
  [[nodiscard]] std::vector<std::string_view> kinds() const;
  // "delay 400 ms, duplicate" (logs, reports, the web admin).
  [[nodiscard]] std::string describe() const;
};

struct fault_rule {
  std::string name;  // "" = "rule <n>" (1-based)
  bool enabled = true;
  fault_selector when;
  fault_action act;
  friend bool operator==(const fault_rule&, const fault_rule&) = default;
};

struct fault_rules {
  std::uint64_t seed = 1;  // the probability and jitter generators (runs are reproducible)
  std::vector<fault_rule> rules;
  friend bool operator==(const fault_rules&, const fault_rules&) = default;
};

// Every action kind, in a fixed order (counters, docs/FAULTS.md).
[[nodiscard]] const std::vector<std::string_view>& fault_kind_names();

// Parses the rules from JSON text (the object above; `source` names it in errors). Unknown keys,
// values of the wrong type or range, selectors that cannot apply to the event, and actions that
// cannot be combined are refused with fault_error.
[[nodiscard]] fault_rules parse_fault_rules(std::string_view json_text, const std::string& source);
// Reads and parses a file. Throws fault_error.
[[nodiscard]] fault_rules load_fault_rules(const std::string& path);
// The rules as JSON text (parse_fault_rules(fault_rules_json(r)) == r).
[[nodiscard]] std::string fault_rules_json(const fault_rules& r);
// The display name of rule `index` (0-based): its name, or "rule <index + 1>".
[[nodiscard]] std::string fault_rule_label(const fault_rules& r, std::size_t index);

}  // namespace protos7::server
