// The pushes of a mode change (mode_events.hpp).
#include "protos7/server/mode_events.hpp"

#include <chrono>

#include "protos7/codec/s7_value.hpp"
#include "protos7/codec/ud_alarm.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::server {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
using codec::writer;

namespace {

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
  ud::write_data_unit(dw, ud::rc_ok, ud::ts_octet, payload);
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

// --- The push source ---------------------------------------------------------------------------

namespace {
constexpr std::uint8_t event_mode = 0x01;  // subscribed events: mode transitions
constexpr std::uint8_t event_diag = 0x02;  // system diagnostics
}  // namespace

mode_events::~mode_events() {
  if (observer_ != 0) st_.remove_mode_observer(observer_);
}

void mode_events::subscribe(std::uint8_t events) {
  events_ = events;
  if (observer_ == 0 && (events & (event_mode | event_diag)) != 0)
    observer_ = st_.on_mode_change([this](const mode_change& c) { changed(c); });
}

void mode_events::changed(const mode_change& c) {
  if ((events_ & event_diag) != 0 && c.to == operating_mode::stop &&
      c.reason.starts_with("PLC stop")) {
    diag_due_ = true;
    clock_ = st_.clock_now();
  }
  if ((events_ & event_mode) != 0) {
    transition_due_ = true;
    to_ = c.to;
  }
  retry_ = push_clock::time_point{};
}

push_clock::time_point mode_events::next_due() const noexcept {
  return diag_due_ || transition_due_ ? retry_ : push_never;
}

// The diagnostic message first, then the mode transition (step7_s300_stop.pcapng frames 3, 4).
void mode_events::push(const push_context& ctx, push_sink& out) {
  const auto send = [&](const push_pdu& p) {
    out.send(p.header, p.param_bytes(), p.data_bytes());
    return out.sent();
  };
  retry_ = ctx.now + std::chrono::milliseconds{10};  // when the output bound drops one
  if (diag_due_ && !send(diagnostic_message_push(diag_event::stop_by_pg, clock_))) return;
  diag_due_ = false;
  if (transition_due_ && !send(mode_transition_push(to_))) return;
  transition_due_ = false;
}

}  // namespace protos7::server
