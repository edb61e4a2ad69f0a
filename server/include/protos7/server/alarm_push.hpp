// The alarm indications a CPU pushes to a connection subscribed to them (alarms.hpp: the
// subscription, the indication builder and the edge detection), as a push source (push.hpp).
#pragma once

#include <chrono>
#include <cstdint>

#include "protos7/server/alarms.hpp"
#include "protos7/server/plc_state.hpp"
#include "protos7/server/push.hpp"

namespace protos7::server {

// The alarm indications of one connection (a push source, push.hpp): while the connection is
// subscribed to alarms, the signals are compared every alarm_poll_interval, and only when
// process memory was written since (any client's Write Var, the web admin, a process
// simulation); each change of an alarm of a subscribed kind is pushed as its indication. A CPU
// evaluates its alarm blocks once per cycle; 100 ms stands for a cycle here. A push the
// connection's output bound drops is sent at a later poll with the state then (coalesced).
inline constexpr std::chrono::milliseconds alarm_poll_interval{100};
class alarm_pusher final : public push_source {
 public:
  alarm_pusher(const alarm_subscription& sub, plc_state& st);
  // The subscription changed: a new one starts from the signals' current states.
  void subscription_changed() noexcept;
  [[nodiscard]] push_clock::time_point next_due() const noexcept override;
  void push(const push_context& ctx, push_sink& out) override;

 private:
  bool send(const profile_alarm& a, std::uint8_t state, push_sink& out);

  const alarm_subscription& sub_;
  plc_state& st_;
  alarm_watch watch_;
  bool was_subscribed_ = false;
  std::uint64_t writes_seen_ = 0;
  push_clock::time_point due_ = push_never;
};

}  // namespace protos7::server
