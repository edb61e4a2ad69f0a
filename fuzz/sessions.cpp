// Several interleaved connections on one PLC: cross-connection state (memory, mode, clock,
// protection, downloads in progress) is exercised. Input: chunks of | header | bytes |, where the
// header's low 2 bits pick the connection (0..3) and the high 6 bits + 1 give the chunk size.
#include <array>

#include "session_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace protos7;
  fuzz::bytes in = fuzz::as_bytes(data, size);
  fuzz::plc_fixture plc;
  constexpr std::size_t n_conns = 4;
  std::array<std::unique_ptr<server::session>, n_conns> conns;
  std::array<fuzz::reply_checker, n_conns> checkers;
  std::array<bool, n_conns> open{};
  for (std::size_t i = 0; i < n_conns; ++i) {
    conns[i] = std::make_unique<server::session>(plc.cfg, *plc.mem, *plc.plc,
                                                 static_cast<std::uint16_t>(i + 1), "fuzz");
    open[i] = true;
  }
  std::vector<std::byte> out;
  while (!in.empty()) {
    const auto h = std::to_integer<unsigned>(in[0]);
    in = in.subspan(1);
    const std::size_t c = h & 3U;
    const std::size_t n = std::min(in.size(), std::size_t{(h >> 2U) + 1U});
    if (open[c]) {
      out.clear();
      open[c] = conns[c]->receive(in.first(n), out);
      checkers[c].check(out, *conns[c]);
    }
    in = in.subspan(n);
  }
  return 0;
}
