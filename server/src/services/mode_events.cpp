// The pushes of a mode change (mode_events.hpp).
#include "protos7/server/mode_events.hpp"

#include "protos7/codec/s7_value.hpp"
#include "protos7/codec/ud_alarm.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::server {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
using codec::writer;

namespace {

constexpr std::uint8_t rc_ok = 0xFF;
constexpr std::uint8_t ts_octet = 0x09;
// The diagnostic entry's priority class and OB as captured for event 0x4304 (frame 3).
constexpr std::uint8_t diag_priority = 0xFF;
constexpr std::uint8_t diag_ob = 0x84;
// Mode-transition parameter bytes 2 and 3 (frame 4: 01 00 10 10 ...), and the modes.
constexpr std::uint8_t transition_head2 = 0x10;
constexpr std::uint8_t transition_length = 0x10;
constexpr std::uint8_t transition_stop = 0x00;
constexpr std::uint8_t transition_run = 0x02;

std::size_t size_or_zero(const codec::result<std::size_t>& r) {
  return r ? *r : 0;
}

push_pdu empty_push() {
  push_pdu p;
  p.header.type = s7::rosctr::userdata;
  p.header.pdu_ref = 0;
  return p;
}

}  // namespace

push_pdu diagnostic_message_push(std::uint16_t event_id, const ud::timestamp& clock) {
  push_pdu p = empty_push();
  ud::param prm;
  prm.method = ud::method_request;  // 0x11 in the captured push (frame 3)
  prm.type = static_cast<std::uint8_t>(ud::type::push);
  prm.group = static_cast<std::uint8_t>(ud::group::cpu);
  prm.subfunction = s7::alarm::sub::diagnostic_message;
  writer pw{p.param};
  ud::write_param(pw, prm);
  p.param_length = size_or_zero(pw.finish());

  std::array<std::byte, s7::value::date_and_time_length> ts{};
  writer tw{ts};
  s7::value::write_date_and_time(tw, ud::date_and_time_of(clock));
  s7::alarm::diagnostic_message d;
  d.event_id = event_id;
  d.priority_class = diag_priority;
  d.ob_number = diag_ob;
  d.timestamp = ts;
  std::array<std::byte, s7::alarm::diagnostic_message_length> payload{};
  writer mw{payload};
  s7::alarm::write_diagnostic_message(mw, d);
  writer dw{p.data};
  ud::write_data_unit(dw, rc_ok, ts_octet, payload);
  p.data_length = size_or_zero(dw.finish());
  return p;
}

push_pdu mode_transition_push(operating_mode to) {
  push_pdu p = empty_push();
  ud::param prm;
  prm.mode_transition = true;
  prm.head2 = transition_head2;
  prm.length = transition_length;
  prm.subfunction = to == operating_mode::stop ? transition_stop : transition_run;
  writer pw{p.param};
  ud::write_param(pw, prm);
  p.param_length = size_or_zero(pw.finish());
  return p;
}

}  // namespace protos7::server
