// The pushes a CPU sends a PG when its operating mode changes, as the captured S7-300 sent them
// after STEP 7's PLC Stop (step7_s300_stop.pcapng: frame 2 the Ack_Data of the stop, then):
//  - frame 3, a diagnostic message (CPU functions, subfunction 0x03, 8-byte parameter
//    00 01 12 04 11 04 03 00): the diagnostic buffer entry of the transition, event 0x4304
//    ("STOP caused by PG stop operation"), priority class 0xFF, OB 0x84, the PLC's clock;
//  - frame 4, the mode-transition push: parameter 01 00 10 10 00 00 | mode | 00, no data
//    (mode 0 = STOP; Wireshark 4.0 names 2 RUN).
// Both are PLC-initiated: PDU reference 0.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "protos7/codec/s7_header.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/server/profile.hpp"

namespace protos7::server {

// A push as the session sends it: header, parameter and data (pdu_sink::send).
struct push_pdu {
  codec::s7::header header;
  std::array<std::byte, codec::s7::ud::long_param_length> param{};
  std::size_t param_length = 0;
  std::array<std::byte, 32> data{};
  std::size_t data_length = 0;
  [[nodiscard]] codec::bytes param_bytes() const noexcept { return {param.data(), param_length}; }
  [[nodiscard]] codec::bytes data_bytes() const noexcept { return {data.data(), data_length}; }
};

// Diagnostic events of mode transitions (the diagnostic buffer's event ids).
namespace diag_event {
inline constexpr std::uint16_t stop_by_pg = 0x4304;  // step7_s300_stop.pcapng frame 3
}

// The diagnostic message push of event `event_id` at PLC time `clock` (priority class 0xFF and
// OB 0x84 as captured for 0x4304; DatID and infos 0).
[[nodiscard]] push_pdu diagnostic_message_push(std::uint16_t event_id,
                                               const codec::s7::ud::timestamp& clock);
// The mode-transition push announcing mode `to`.
[[nodiscard]] push_pdu mode_transition_push(operating_mode to);

}  // namespace protos7::server
