// Shared by the whole-session targets: a server session driven in-process, and the invariants
// checked on everything it sends back.
//
// Input layout: byte 0 = split seed; the rest is what the client sends. The stream is fed to the
// session in reads whose sizes come from the split seed and the stream itself, so every way TCP
// can cut or coalesce frames gets exercised.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "fuzz_common.hpp"
#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/server/config.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/plc_state.hpp"
#include "protos7/server/profile.hpp"
#include "protos7/server/session.hpp"

namespace protos7::fuzz {

// A small PLC: small areas (so out-of-range addresses are easy to reach) and three DBs, all in
// RAM. Memory outside the areas is guarded by ASan: every area is its own heap block.
struct plc_fixture {
  server::config cfg;
  std::unique_ptr<server::plc_memory> mem;
  std::unique_ptr<server::plc_state> plc;

  plc_fixture() {
    server::set_log_level(server::log_level::off);
    cfg.areas = server::area_sizes{64, 64, 128, 16, 16};
    cfg.pdu_size = 480;
    cfg.max_amq = 4;
    cfg.abort_on_bad_reply = true;  // the session's own self-check aborts: a crash here
    mem = std::make_unique<server::plc_memory>(cfg.areas);
    for (const std::uint16_t n : std::array<std::uint16_t, 3>{1, 2, 200})
      mem->add_db(
          std::make_unique<server::data_block>(n, std::vector<std::byte>(n == 2 ? 1024 : 64), ""));
    plc = std::make_unique<server::plc_state>(cfg, *mem);
  }
};

// Checks every TPKT frame in `out` (what the session sent) and tracks the negotiated PDU size.
class reply_checker {
 public:
  void check(bytes out, const server::session& s) {
    while (!out.empty()) {
      const auto m = codec::tpkt::measure(out);
      FUZZ_CHECK(m.status == codec::tpkt::frame_status::complete);  // whole frames only
      const bytes frame = out.first(m.frame_size);
      out = out.subspan(m.frame_size);
      const auto t = codec::tpkt::parse(frame);
      FUZZ_CHECK(t.ok());
      const auto tp = codec::cotp::parse(t->payload, frame.data());
      FUZZ_CHECK(tp.ok());
      if (tp->type != codec::cotp::tpdu_type::dt) continue;
      // Never more than the negotiated TPDU size per DT.
      FUZZ_CHECK(frame.size() - codec::tpkt::header_size <= s.tpdu_size());
      pdu_.insert(pdu_.end(), tp->user_data.begin(), tp->user_data.end());
      if (!tp->eot) continue;
      const auto msg = codec::s7::decode(bytes{pdu_.data(), pdu_.size()});
      FUZZ_CHECK(msg.ok());  // every reply decodes with our own strict codec
      // No reply exceeds the negotiated PDU size (before Setup: the configured maximum).
      const std::size_t limit = s.pdu_size() != 0 ? s.pdu_size() : 960;
      FUZZ_CHECK(pdu_.size() <= limit);
      pdu_.clear();
    }
  }

 private:
  std::vector<std::byte> pdu_;
};

// Next read size: 1..256, from the split seed and a running counter.
inline std::size_t next_read_size(std::uint8_t seed, std::size_t step, bytes rest) noexcept {
  const std::uint8_t salt = rest.empty() ? 0 : std::to_integer<std::uint8_t>(rest[0]);
  const unsigned mix = (seed * 131U + static_cast<unsigned>(step) * 7U + salt) & 0xFFU;
  // Most reads are whole-ish (large), some split a frame at an odd place.
  return (seed & 1U) != 0 ? 1U + (mix % 16U) : 1U + mix;
}

}  // namespace protos7::fuzz
