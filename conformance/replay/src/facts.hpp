// What the runner needs to know about a PDU to pair it and to apply the equivalence rules.
//
// Pairing must work for answers the codec rejects too (a malformed Ack_Data still answers its
// request), so the header facts are read with the codec's lenient peek (codec/s7_peek.hpp); the
// rules only apply when both PDUs decode (`decoded`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "protos7/codec/cotp.hpp"
#include "protos7/replay/script.hpp"

namespace protos7::replay::detail {

struct s7_facts {
  bool s7 = false;  // >= 10 bytes, protocol id 0x32, ROSCTR 1, 2, 3 or 7
  std::uint8_t rosctr = 0;
  std::uint16_t pdu_ref = 0;
  std::size_t param_offset = 0;  // 10 (Job, Userdata) or 12 (Ack, Ack_Data)
  std::uint16_t param_length = 0;
  std::uint8_t fn = 0;  // Job / Ack_Data: function (first parameter byte), when present
  // Userdata parameter head (when at least 8 parameter bytes are present).
  bool ud = false;
  std::uint8_t ud_type = 0;  // 0 push, 4 request, 8 response
  std::uint8_t group = 0;
  std::uint8_t sub = 0;
  std::uint8_t seq = 0;
  bool extended = false;  // 12-byte parameter: data unit reference, last data unit, error code
  std::uint8_t data_unit_ref = 0;
  std::uint8_t last_data_unit = 0;
  // The whole PDU decodes with the codec (s7::decode).
  bool decoded = false;
  // A Read clock answer (Time functions, subfunction 1 or 3, return code 0xFF: its 10-byte
  // timestamp but the reserved byte) or a diagnostic message push (its 8-byte timestamp): the
  // PLC's clock, `clock_length` bytes at `clock_offset`.
  bool clock = false;
  std::size_t clock_offset = 0;
  std::size_t clock_length = 0;

  [[nodiscard]] bool is_response() const noexcept {
    return s7 && (rosctr == 2 || rosctr == 3 || (rosctr == 7 && ud && ud_type == 8));
  }
  [[nodiscard]] bool is_request() const noexcept {
    return s7 && (rosctr == 1 || (rosctr == 7 && ud && ud_type == 4));
  }
  // A PDU the PLC sends on its own: a Job, a Userdata request or push.
  [[nodiscard]] bool is_initiated() const noexcept {
    return s7 && (rosctr == 1 || (rosctr == 7 && (!ud || ud_type != 8)));
  }
};

[[nodiscard]] s7_facts facts_of_s7(std::span<const std::byte> pdu);

inline constexpr std::uint8_t cyclic_group = 2;  // Userdata cyclic services

// The kind of a push: its Userdata function group and subfunction, and for cyclic data its
// subscription (the job id, which the push carries as its sequence number: a CPU numbers the
// jobs of a connection the same way each time, so the replayed requests set up the same ids).
// The answer that set up a cyclic job has the key of the job's pushes.
[[nodiscard]] constexpr std::uint32_t push_key(const s7_facts& f) noexcept {
  const std::uint32_t job = (f.group & 0x0FU) == cyclic_group ? f.seq : 0U;
  return ((f.group & 0x0FU) << 16U) | (std::uint32_t{f.sub} << 8U) | job;
}

struct tpdu_facts {
  bool parsed = false;
  codec::cotp::tpdu_type type = codec::cotp::tpdu_type::dt;
};
[[nodiscard]] tpdu_facts facts_of_tpdu(std::span<const std::byte> frame);

}  // namespace protos7::replay::detail
