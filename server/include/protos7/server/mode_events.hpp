// The pushes a CPU sends a PG when its operating mode changes, as the captured S7-300 sent them
// after STEP 7's PLC Stop (step7_s300_stop.pcapng: frame 2 the Ack_Data of the stop, then):
//  - frame 3, a diagnostic message (CPU functions, subfunction 0x03, 8-byte parameter
//    00 01 12 04 11 04 03 00): the diagnostic buffer entry of the transition, event 0x4304
//    ("STOP caused by PG stop operation"), priority class 0xFF, OB 0x84, the PLC's clock;
//  - frame 4, the mode-transition push: parameter 01 00 10 10 00 00 | mode | 00, no data
//    (mode 0 = STOP; Wireshark 4.0 names 2 RUN).
// Both are PLC-initiated: PDU reference 0. A CPU sends them only to a connection that subscribed
// to those events with the message service (snap7's PlcStop, used against real CPUs, reads no
// push after the stop): mode transitions with bit 0x01 of the subscribed events (readDiagData
// frame 1: 01), the diagnostic message with bit 0x02 (system diagnostics, Wireshark 4.0's
// event names).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "protos7/codec/s7_header.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/server/plc_state.hpp"
#include "protos7/server/profile.hpp"
#include "protos7/server/push.hpp"

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

// The mode-change pushes of one connection (a push source, push.hpp): every mode change of the
// CPU (a client's PLC Stop or start, the web admin, a fault rule) after the connection
// subscribed. The diagnostic message is sent for the captured case only, a PG's PLC Stop
// (event 0x4304); the mode transition for every change.
class mode_events final : public push_source {
 public:
  explicit mode_events(plc_state& st) noexcept : st_(st) {}
  ~mode_events();
  mode_events(const mode_events&) = delete;
  mode_events& operator=(const mode_events&) = delete;

  // The subscribed events of a message service request (its first byte).
  void subscribe(std::uint8_t events);
  [[nodiscard]] push_clock::time_point next_due() const noexcept override;
  void push(const push_context& ctx, push_sink& out) override;

 private:
  void changed(const mode_change& c);

  plc_state& st_;
  std::size_t observer_ = 0;  // plc_state::on_mode_change id (0: none)
  std::uint8_t events_ = 0;
  bool diag_due_ = false, transition_due_ = false;
  operating_mode to_ = operating_mode::run;
  codec::s7::ud::timestamp clock_{};
  push_clock::time_point retry_ = push_never;
};

}  // namespace protos7::server
