// Whole-session target with fault rules injecting (faults.hpp): the session of fuzz_session, but
// its requests go through a fault_connection first, under one of a fixed list of rule sets (the
// input's first byte). Invariants as fuzz_session's: every reply, rebuilt by a fault or not,
// decodes with the strict codec (the rebuilt ones are checked again by reply_checker), no DT
// exceeds the negotiated TPDU size and no PDU the negotiated (possibly clamped) size, and the
// session goes on or closes cleanly. Timing actions (delay, trickle, TCP segments) only mark the
// output; the bytes are checked all the same.
#include <array>

#include "protos7/server/fault_rules.hpp"
#include "protos7/server/faults.hpp"
#include "session_checks.hpp"

namespace {

constexpr std::array<const char*, 6> rule_sets{
    R"({"rules": [{"when": {"function": "read_var", "db": 1}, "do": {"item_return_code": "0x0A"}},
                  {"when": {"function": "write_var", "area": "m"}, "do": {"item_return_code":
                    "0x05"}}]})",
    R"({"rules": [{"do": {"wrong_pdu_ref": true, "cotp_segment": 5, "duplicate": true}}]})",
    R"({"rules": [{"when": {"function": "userdata"}, "do": {"header_error": "0xD401"}},
                  {"do": {"header_error": "0x8500", "tcp_segment": 3}}]})",
    R"({"rules": [{"when": {"function": "setup_communication"}, "do": {"clamp_pdu": 64}},
                  {"when": {"every": 3}, "do": {"stop": true, "pdu_ref": 7}}]})",
    R"({"rules": [{"when": {"every": 2}, "do": {"no_reply": true}},
                  {"when": {"event": "connect"}, "do": {"delay_ms": 5, "trickle": {"bytes": 2,
                    "interval_ms": 1}}}]})",
    R"({"seed": 3, "rules": [{"when": {"probability": 0.3}, "do": {"cotp_dr": "0x80"}},
                             {"when": {"function": "read_var"}, "do": {"item_return_code":
                               "0x05"}}]})",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace protos7;
  if (size < 1) return 0;
  const std::uint8_t seed = data[0];
  fuzz::bytes in = fuzz::as_bytes(data + 1, size - 1);

  fuzz::plc_fixture plc;
  server::session s{plc.cfg, *plc.mem, *plc.plc, 1, "fuzz"};
  server::fault_engine engine;
  engine.set_rules(server::parse_fault_rules(rule_sets[seed % rule_sets.size()], "fuzz"));
  const auto fx = engine.attach(s, 1, "fuzz", 0x7F000001);
  fuzz::reply_checker checker;
  std::vector<std::byte> out;
  for (std::size_t step = 0; !in.empty(); ++step) {
    const std::size_t n = std::min(in.size(), fuzz::next_read_size(seed, step, in));
    out.clear();
    const bool open = s.receive(in.first(n), out);
    checker.check(out, s);
    in = in.subspan(n);
    if (!open) break;
  }
  return 0;
}
