// The CPU's message and alarm services (Userdata group 4) as WinCC uses them: the message
// service subscription (event classes and alarm types), the ALARM query answered from the
// profile's alarm list ("alarms", docs/PROFILE.md), and the ALARM_8 / ALARM_S / NOTIFY
// indications a CPU pushes to subscribers when an alarm's signal changes. Layouts are the codec's
// (codec/ud_alarm.hpp); evidence: wincc_s300_setup-alarm-read*.pcapng and
// wincc_s400_production.pcapng of the field captures.
//
// One alarm_subscription and one alarm_pusher (alarm_push.hpp) per connection (owned by its
// services object); the signal states are read from process memory when asked (ALARM query) and
// compared with the last pushed ones by alarm_watch (edge detection, one byte per profile alarm).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "protos7/codec/s7_value.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/codec/writer.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/profile.hpp"

namespace protos7::server {

// What a connection subscribed to with the message service. Bounded: a few flags.
struct alarm_subscription {
  std::uint8_t events = 0;  // codec alarm::events bits of the last subscription
  bool alarms = false;      // ALARM_8, ALARM_8P, NOTIFY, NOTIFY_8P (alarm type 5 "initiate")
  bool alarms_s = false;    // ALARM_S, ALARM_SQ (alarm type 9)
  bool scan = false;        // SCAN (alarm type 1; protos7 has no SCAN alarms)
  [[nodiscard]] bool wants(alarm_kind k) const noexcept;
};

// Answers a message service request (its payload) into `w`: | result 0x02 | 00 | and, when the
// request carried an alarm type, | alarm type | 01 | 00 | (wincc_s400_production frames 5/6,
// 15/16; the setup-alarm-read captures frames 3/5, 6/9). A request with event classes 0 ends
// every subscription of the connection, an alarm type "abort" (even types) ends that type's.
// False (nothing written, subscription unchanged) when the payload is not a subscription.
[[nodiscard]] bool message_service(alarm_subscription& sub, codec::bytes payload,
                                   codec::writer& w) noexcept;

// The current signal states of `a` (bit n: SIG_n+1): its memory bits, `event_state` for the
// signals without one; a missing DB or a bit outside its area reads 0.
[[nodiscard]] std::uint8_t alarm_state(plc_memory& mem, const profile_alarm& a) noexcept;

// Answers an ALARM query (its payload) into `w` from the profile's alarms in their current state:
// the alarms of the queried alarm type (ALARM_8 2: ALARM_8, ALARM_8P; ALARM_S 4: ALARM_S,
// ALARM_SQ) or of the queried event id, each one dataset (wincc_s400_production frame 18); none:
// return code 0x0A and no data (setup-alarm-read frame 14). `now` (the PLC clock) stamps ALARM_S
// datasets. False when the payload is no query.
[[nodiscard]] bool alarm_query(const std::vector<profile_alarm>& alarms, plc_memory& mem,
                               codec::bytes payload, codec::writer& w,
                               const codec::s7::value::date_and_time& now) noexcept;

// The PLC clock (a Userdata time stamp) as the DATE_AND_TIME of indications.
[[nodiscard]] codec::s7::value::date_and_time to_date_and_time(
    const codec::s7::ud::timestamp& t) noexcept;

// The indication subfunction of an alarm of `k` (ALARM_8 0x05, NOTIFY 0x06, ALARM_S 0x12, ...).
[[nodiscard]] std::uint8_t indication_subfunction(alarm_kind k) noexcept;

// The indication of `a` whose signals are now `state`, stamped `ts` (the PLC clock), its
// associated values read from `mem` (wincc_s400_production frames 19 and 476 (ALARM_8), 351
// (NOTIFY)): write_indication_param writes the parameter (8 bytes: push, CPU functions, the
// kind's subfunction, sequence 0), write_indication_data the data block (data unit head,
// time stamp, function 0x40, one ALARM_IND object, the values) and returns its size or the
// encode error; write_indication the whole S7 PDU (header with PDU reference 0 as captured).
void write_indication_param(codec::writer& w, alarm_kind k) noexcept;
[[nodiscard]] codec::result<std::size_t> write_indication_data(
    codec::mutable_bytes out, const profile_alarm& a, std::uint8_t state,
    const codec::s7::value::date_and_time& ts, plc_memory& mem) noexcept;
[[nodiscard]] codec::result<std::size_t> write_indication(codec::mutable_bytes out,
                                                          const profile_alarm& a,
                                                          std::uint8_t state,
                                                          const codec::s7::value::date_and_time& ts,
                                                          plc_memory& mem) noexcept;

// Edge detection on the alarms' signals: remembers each alarm's state as last reported; poll()
// calls f(alarm, new state) for every alarm whose state differs, in profile order, and takes the
// new state as reported when f returns true (false: compared again at the next poll).
class alarm_watch {
 public:
  alarm_watch(const std::vector<profile_alarm>& alarms, plc_memory& mem);
  // Takes the current states as reported (a new subscription starts from them).
  void rebase() noexcept;
  // True when every change was reported.
  template <class F>
  bool poll(F&& f) {
    bool all = true;
    for (std::size_t i = 0; i < alarms_.size(); ++i) {
      const std::uint8_t now = alarm_state(mem_, alarms_[i]);
      if (now == last_[i]) continue;
      if (f(alarms_[i], now))
        last_[i] = now;
      else
        all = false;
    }
    return all;
  }

 private:
  const std::vector<profile_alarm>& alarms_;
  plc_memory& mem_;
  std::vector<std::uint8_t> last_;  // one byte per profile alarm: bounded by max_alarms
};

}  // namespace protos7::server
