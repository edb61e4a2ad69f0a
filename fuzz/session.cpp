// Whole-session target: one server session (COTP, Setup Communication, every job and userdata
// service) driven in-process by a client byte stream split into reads chosen by the input.
// Invariants after every read: every reply decodes with the strict codec, no DT exceeds the
// negotiated TPDU size and no S7 PDU the negotiated PDU size, memory outside the areas is never
// touched (ASan), and the session either goes on or closes cleanly (it never throws or hangs).
#include "session_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace protos7;
  if (size < 1) return 0;
  const std::uint8_t seed = data[0];
  fuzz::bytes in = fuzz::as_bytes(data + 1, size - 1);

  fuzz::plc_fixture plc;
  server::session s{plc.cfg, *plc.mem, *plc.plc, 1, "fuzz"};
  fuzz::reply_checker checker;
  std::vector<std::byte> out;
  for (std::size_t step = 0; !in.empty(); ++step) {
    const std::size_t n = std::min(in.size(), fuzz::next_read_size(seed, step, in));
    out.clear();
    const bool open = s.receive(in.first(n), out);
    checker.check(out, s);
    in = in.subspan(n);
    if (!open) break;  // closed cleanly: a DR/DC or a protocol error was answered
  }
  return 0;
}
