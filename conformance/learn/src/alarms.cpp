// Learning the alarm list (alarms.hpp).
#include "alarms.hpp"

#include <optional>

#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/ud_alarm.hpp"
#include "protos7/codec/userdata.hpp"

namespace protos7::learn {

namespace alarm = codec::s7::alarm;
using server::alarm_kind;

namespace {

// The kind of the alarms an indication of `subfunction` reports (nullopt: no alarm of ours).
std::optional<alarm_kind> kind_of(std::uint8_t subfunction) {
  switch (subfunction) {
    case alarm::sub::alarm8_ind:
      return alarm_kind::alarm_8;
    case alarm::sub::notify_ind:
      return alarm_kind::notify;
    case alarm::sub::notify8_ind:
      return alarm_kind::notify_8p;
    case alarm::sub::alarms_ind:
      return alarm_kind::alarm_s;
    case alarm::sub::alarmsq_ind:
      return alarm_kind::alarm_sq;
    default:
      return std::nullopt;
  }
}

}  // namespace

server::profile_alarm* alarm_learner::find(std::uint32_t event_id) {
  for (server::profile_alarm& a : alarms_)
    if (a.event_id == event_id) return &a;
  return nullptr;
}

server::profile_alarm* alarm_learner::add(std::uint32_t event_id, alarm_kind k,
                                          const std::string& where) {
  if (alarms_.size() >= server::max_alarms) return nullptr;
  server::profile_alarm a;
  a.event_id = event_id;
  a.kind = k;
  alarms_.push_back(std::move(a));
  sources_.push_back(where);
  has_values_.push_back(false);
  return &alarms_.back();
}

void alarm_learner::query_answer(codec::bytes payload, const std::string& where) {
  const auto q = alarm::parse_query_answer(payload, payload.data());
  if (!q || q->return_code != 0xFF) return;
  alarm::dataset_iterator it{*q, payload.data()};
  alarm::query_dataset d;
  while (it.next(d)) {
    if (find(d.event_id) != nullptr) continue;  // the state when first queried
    const alarm_kind k =
        d.alarm_type == alarm::alarm_type::alarm_s ? alarm_kind::alarm_s : alarm_kind::alarm_8;
    server::profile_alarm* a = add(d.event_id, k, where);
    if (a == nullptr) return;
    a->event_state = d.event_state;
    a->ack_going = d.ack_going;
    a->ack_coming = d.ack_coming;
  }
}

void alarm_learner::indication(std::uint8_t subfunction, codec::bytes payload,
                               const std::string& where) {
  const auto kind = kind_of(subfunction);
  if (!kind) return;
  const auto m = alarm::parse_message(
      subfunction, static_cast<std::uint8_t>(codec::s7::ud::type::push), payload, payload.data());
  if (!m) return;
  alarm::object_iterator it{*m, payload.data()};
  alarm::object o;
  while (it.next(o)) {
    server::profile_alarm* a = find(o.event_id);
    if (a == nullptr) {
      a = add(o.event_id, *kind, where);
      if (a == nullptr) return;
      // Known from this indication only: the signal and acknowledgement states it reports.
      a->event_state = o.event_state;
      a->ack_going = o.ack_going;
      a->ack_coming = o.ack_coming;
    }
    a->kind = *kind;  // an indication tells the block (ALARM_8 or ALARM_8P alike)
    const auto i = static_cast<std::size_t>(a - alarms_.data());
    if (has_values_[i]) continue;
    has_values_[i] = true;
    codec::s7::data_item_iterator values{o.values, o.value_count, payload.data()};
    codec::s7::data_item v;
    while (values.next(v) && a->values.size() < server::max_alarm_values) {
      if (v.return_code != 0xFF || v.data.empty() || v.data.size() > server::max_alarm_value_length)
        continue;
      server::alarm_value x;
      x.transport_size = v.tsize;
      x.bytes.assign(v.data.begin(), v.data.end());
      x.length = static_cast<std::uint16_t>(x.bytes.size());
      a->values.push_back(std::move(x));
    }
  }
}

}  // namespace protos7::learn
