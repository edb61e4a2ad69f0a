// Message service, ALARM query and alarm indications (alarms.hpp). Frames cited are those of the
// field captures (../shared/pcaps/field).
#include "protos7/server/alarms.hpp"

#include <array>

#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_header.hpp"
#include "protos7/codec/ud_alarm.hpp"
#include "protos7/codec/userdata.hpp"

namespace protos7::server {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
namespace alarm = codec::s7::alarm;
using codec::bytes;
using codec::writer;

namespace {

constexpr std::uint8_t subscribed = 0x02;            // result byte of every captured answer
constexpr std::uint8_t answer_reserved2 = 0x01;      // | alarm type | 01 | 00 | (frames 9, 16)
constexpr std::uint8_t indication_function = 0x40;   // frame 19 and every captured indication
constexpr std::uint8_t query_dataset_length = 0x0A;  // ALARM_8 datasets (frame 18)

bool is_alarm_8(alarm_kind k) noexcept {
  return k == alarm_kind::alarm_8 || k == alarm_kind::alarm_8p;
}
bool is_alarm_s(alarm_kind k) noexcept {
  return k == alarm_kind::alarm_s || k == alarm_kind::alarm_sq;
}

// The alarm type an ALARM query names for the alarms of kind `k` (0: not queried).
std::uint32_t query_alarm_type(alarm_kind k) noexcept {
  if (is_alarm_8(k)) return alarm::alarm_type::alarm_8;
  if (is_alarm_s(k)) return alarm::alarm_type::alarm_s;
  return 0;
}

void set_alarm_type(alarm_subscription& sub, std::uint8_t type) noexcept {
  switch (type) {
    case alarm::almtype::alarm_initiate:
    case alarm::almtype::alarm_abort:
      sub.alarms = type == alarm::almtype::alarm_initiate;
      return;
    case alarm::almtype::alarm_s_initiate:
    case alarm::almtype::alarm_s_abort:
      sub.alarms_s = type == alarm::almtype::alarm_s_initiate;
      return;
    case alarm::almtype::scan_initiate:
    case alarm::almtype::scan_abort:
      sub.scan = type == alarm::almtype::scan_initiate;
      return;
    default:
      return;  // AR_SEND: nothing protos7 pushes
  }
}

bool bit_of(plc_memory& mem, const bit_address& b) noexcept {
  const location loc = mem.locate(b.area, b.db, b.byte, 1);
  if (loc.return_code != ud::rc_ok || loc.ram.empty()) return false;
  return ((std::to_integer<unsigned>(loc.ram[0]) >> b.bit) & 1U) != 0;
}

// An associated value as one data item (0x0A "object does not exist" when its memory is not).
void write_value(writer& w, plc_memory& mem, const alarm_value& v, bool last) noexcept {
  if (v.area == 0) {
    s7::write_data_item(w, ud::rc_ok, v.transport_size, v.bytes, last);
    return;
  }
  const location loc = mem.locate(v.area, v.db, v.offset, v.length);
  if (loc.return_code != ud::rc_ok) {
    s7::write_data_item(w, loc.return_code, v.transport_size, {}, last);
    return;
  }
  s7::write_data_item(w, ud::rc_ok, v.transport_size, loc.ram, last);
}

void write_dataset(writer& w, plc_memory& mem, const profile_alarm& a, bytes timestamp) noexcept {
  alarm::query_dataset d;
  d.length = query_dataset_length;
  d.alarm_type = static_cast<std::uint8_t>(query_alarm_type(a.kind));
  d.event_id = a.event_id;
  d.event_state = alarm_state(mem, a);
  d.ack_going = a.ack_going;
  d.ack_coming = a.ack_coming;
  if (!is_alarm_s(a.kind)) {
    alarm::write_query_dataset(w, d);
    return;
  }
  // ALARM_S: Wireshark's layout, no capture shows one: the PLC clock as both time stamps and
  // the first associated value (or an empty octet string) after each.
  std::array<std::byte, 64 + max_alarm_value_length> value{};
  writer vw{value};
  if (a.values.empty())
    s7::write_data_item(vw, ud::rc_ok, ud::ts_octet, {}, true);
  else
    write_value(vw, mem, a.values.front(), true);
  const bytes v{value.data(), std::min(vw.size(), value.size())};
  d.timestamp_coming = d.timestamp_going = timestamp;
  d.value_coming = d.value_going = v;
  d.length = static_cast<std::uint8_t>(std::min<std::size_t>(0xFF, 10 + 2 * (8 + v.size())));
  alarm::write_query_dataset(w, d);
}

bool matches(const profile_alarm& a, const alarm::object& q) noexcept {
  if (q.query_type == alarm::query_type::by_event_id) return a.event_id == q.query_value;
  // By alarm type (query type 1; WinCC on the S7-400 asks with 8 and 9 and the alarm type too,
  // frames 17 and 20).
  return query_alarm_type(a.kind) != 0 && query_alarm_type(a.kind) == q.query_value;
}

}  // namespace

bool alarm_subscription::wants(alarm_kind k) const noexcept {
  return is_alarm_s(k) ? alarms_s : alarms;
}

bool message_service(alarm_subscription& sub, bytes payload, writer& w) noexcept {
  const auto s = alarm::parse_subscription(payload, payload.data());
  if (!s) return false;
  sub.events = s->events;
  if ((s->events & alarm::events::alarms) == 0) {
    sub.alarms = sub.alarms_s = sub.scan = false;
  } else if (s->has_alarm_type) {
    set_alarm_type(sub, s->alarm_type);
  }
  alarm::subscription_answer a;
  a.result = subscribed;
  a.has_alarm_type = s->has_alarm_type;
  a.alarm_type = s->alarm_type;
  a.reserved2 = answer_reserved2;
  alarm::write_subscription_answer(w, a);
  return true;
}

std::uint8_t alarm_state(plc_memory& mem, const profile_alarm& a) noexcept {
  std::uint8_t state = a.event_state;
  for (std::size_t i = 0; i < a.signals.size() && i < 8; ++i) {
    const auto bit = static_cast<std::uint8_t>(1U << i);
    state = static_cast<std::uint8_t>(bit_of(mem, a.signals[i]) ? state | bit : state & ~bit);
  }
  return state;
}

bool alarm_query(const std::vector<profile_alarm>& alarms, plc_memory& mem, bytes payload,
                 writer& w, const codec::s7::value::date_and_time& now) noexcept {
  const auto m =
      alarm::parse_message(alarm::sub::alarm_query, static_cast<std::uint8_t>(ud::type::request),
                           payload, payload.data());
  if (!m || m->object_count != 1) return false;
  alarm::object q;
  alarm::object_iterator it{*m, payload.data()};
  if (!it.next(q) || q.syntax != static_cast<std::uint8_t>(s7::syntax_id::alarm_queryreq))
    return false;
  std::array<std::byte, s7::value::date_and_time_length> stamp{};
  writer sw{stamp};
  s7::value::write_date_and_time(sw, now);
  // The datasets' length first (counted, not written), then the head and the datasets.
  writer probe{codec::mutable_bytes{}};  // counts only
  for (const profile_alarm& a : alarms)
    if (matches(a, q)) write_dataset(probe, mem, a, stamp);
  const std::size_t length = probe.size();
  alarm::query_answer ans;
  ans.function = m->function;
  ans.object_count = 1;
  ans.return_code = length == 0 ? ud::rc_none : ud::rc_ok;
  ans.tsize = length == 0 ? std::uint8_t{0} : ud::ts_octet;
  ans.complete_length = static_cast<std::uint16_t>(std::min<std::size_t>(length, 0xFFFF));
  alarm::write_query_answer_head(w, ans);
  for (const profile_alarm& a : alarms)
    if (matches(a, q)) write_dataset(w, mem, a, stamp);
  return true;
}

s7::value::date_and_time to_date_and_time(const ud::timestamp& t) noexcept {
  s7::value::date_and_time d;
  d.year = t.year;
  d.month = t.month;
  d.day = t.day;
  d.hour = t.hour;
  d.minute = t.minute;
  d.second = t.second;
  d.millisecond = t.millisecond;
  d.weekday = t.weekday;
  return d;
}

std::uint8_t indication_subfunction(alarm_kind k) noexcept {
  switch (k) {
    case alarm_kind::alarm_8:
    case alarm_kind::alarm_8p:
      return alarm::sub::alarm8_ind;
    case alarm_kind::notify:
      return alarm::sub::notify_ind;
    case alarm_kind::notify_8p:
      return alarm::sub::notify8_ind;
    case alarm_kind::alarm_s:
      return alarm::sub::alarms_ind;
    case alarm_kind::alarm_sq:
      return alarm::sub::alarmsq_ind;
  }
  return alarm::sub::alarm8_ind;
}

void write_indication_param(writer& w, alarm_kind k) noexcept {
  ud::param p;
  p.method = ud::method_request;
  p.type = static_cast<std::uint8_t>(ud::type::push);
  p.group = static_cast<std::uint8_t>(ud::group::cpu);
  p.subfunction = indication_subfunction(k);
  ud::write_param(w, p);
}

codec::result<std::size_t> write_indication_data(codec::mutable_bytes out, const profile_alarm& a,
                                                 std::uint8_t state,
                                                 const s7::value::date_and_time& ts,
                                                 plc_memory& mem) noexcept {
  std::array<std::byte, s7::value::date_and_time_length> stamp{};
  writer sw{stamp};
  s7::value::write_date_and_time(sw, ts);
  // The message after the room of the data unit head, which then gets its length.
  writer dw{out};
  dw.zeros(ud::data_unit_head_length);
  alarm::write_message_head(dw, indication_subfunction(a.kind), stamp, indication_function, 1);
  alarm::object o;
  o.syntax = static_cast<std::uint8_t>(s7::syntax_id::alarm_ind);
  o.value_count = static_cast<std::uint8_t>(a.values.size());
  o.event_id = a.event_id;
  o.event_state = state;
  o.ack_going = a.ack_going;
  o.ack_coming = a.ack_coming;
  alarm::write_object(dw, o);
  for (std::size_t i = 0; i < a.values.size(); ++i)
    write_value(dw, mem, a.values[i], i + 1 == a.values.size());
  const auto r = dw.finish();
  if (!r) return r;
  writer uw{out.first(ud::data_unit_head_length)};
  ud::write_data_unit_head(uw, ud::rc_ok, ud::ts_octet, *r - ud::data_unit_head_length);
  return r;
}

codec::result<std::size_t> write_indication(codec::mutable_bytes out, const profile_alarm& a,
                                            std::uint8_t state, const s7::value::date_and_time& ts,
                                            plc_memory& mem) noexcept {
  constexpr std::size_t head = s7::short_header_size + ud::short_param_length;
  const auto data = write_indication_data(
      out.size() < head ? codec::mutable_bytes{} : out.subspan(head), a, state, ts, mem);
  if (!data) return data;
  writer hw{out.first(head)};
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.param_length = ud::short_param_length;
  h.data_length = static_cast<std::uint16_t>(*data);
  s7::write_header(hw, h);
  write_indication_param(hw, a.kind);
  if (const auto r = hw.finish(); !r) return r;
  return head + *data;
}

alarm_watch::alarm_watch(const std::vector<profile_alarm>& alarms, plc_memory& mem)
    : alarms_(alarms), mem_(mem), last_(alarms.size()) {
  rebase();
}

void alarm_watch::rebase() noexcept {
  for (std::size_t i = 0; i < alarms_.size(); ++i) last_[i] = alarm_state(mem_, alarms_[i]);
}

}  // namespace protos7::server
