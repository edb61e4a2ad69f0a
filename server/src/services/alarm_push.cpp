// Alarm indications pushed to a subscribed connection (alarm_push.hpp).
#include "protos7/server/alarm_push.hpp"

#include <array>

#include "protos7/codec/userdata.hpp"

namespace protos7::server {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;

alarm_pusher::alarm_pusher(const alarm_subscription& sub, plc_state& st)
    : sub_(sub), st_(st), watch_(st.profile().alarms, st.memory()) {}

void alarm_pusher::subscription_changed() noexcept {
  const bool now = sub_.alarms || sub_.alarms_s;
  if (now && !was_subscribed_) {
    watch_.rebase();
    writes_seen_ = st_.memory().writes();
  }
  was_subscribed_ = now;
  due_ =
      now && !st_.profile().alarms.empty() ? push_clock::now() + alarm_poll_interval : push_never;
}

push_clock::time_point alarm_pusher::next_due() const noexcept {
  return due_;
}

// One indication through `out`, as a reply is written (in place, checked, segmented). False
// when the connection's output bound dropped it.
bool alarm_pusher::send(const profile_alarm& a, std::uint8_t state, push_sink& out) {
  std::array<std::byte, ud::short_param_length> prm{};
  codec::writer pw{prm};
  write_indication_param(pw, a.kind);
  const codec::mutable_bytes area = out.begin(s7::rosctr::userdata, prm.size());
  const auto n =
      write_indication_data(area, a, state, to_date_and_time(st_.clock_now()), st_.memory());
  if (!n) {
    // Larger than the negotiated PDU: never sendable; taken as reported, not retried.
    out.cancel();
    return true;
  }
  s7::header h;
  h.type = s7::rosctr::userdata;
  out.commit(h, prm, *n);
  return out.sent();
}

void alarm_pusher::push(const push_context& ctx, push_sink& out) {
  if (!was_subscribed_) {
    due_ = push_never;
    return;
  }
  due_ = ctx.now + alarm_poll_interval;
  if (ctx.memory_writes == writes_seen_) return;
  const bool all = watch_.poll([&](const profile_alarm& a, std::uint8_t state) {
    return !sub_.wants(a.kind) || send(a, state, out);
  });
  if (all) writes_seen_ = ctx.memory_writes;
}

}  // namespace protos7::server
