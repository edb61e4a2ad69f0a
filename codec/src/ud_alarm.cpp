#include "protos7/codec/ud_alarm.hpp"

#include "protos7/codec/s7_data.hpp"

namespace protos7::codec::s7::alarm {

namespace {
const std::byte* origin_of(bytes in, const std::byte* origin) noexcept {
  return origin == nullptr ? in.data() : origin;
}
error fail(errc code, std::uint32_t at) noexcept {
  return error{code, layer::userdata, at, 0};
}
constexpr std::uint8_t response_type = 0x8;
constexpr std::uint8_t lockfree = static_cast<std::uint8_t>(syntax_id::alarm_lockfree);
constexpr std::uint8_t ind = static_cast<std::uint8_t>(syntax_id::alarm_ind);
constexpr std::uint8_t ack = static_cast<std::uint8_t>(syntax_id::alarm_ack);
constexpr std::uint8_t queryreq = static_cast<std::uint8_t>(syntax_id::alarm_queryreq);
constexpr std::uint8_t notify = static_cast<std::uint8_t>(syntax_id::notify_ind);
}  // namespace

bool is_alarm_message(std::uint8_t subfunction) noexcept {
  switch (subfunction) {
    case sub::alarm8_ind:
    case sub::notify_ind:
    case sub::alarm8_lock:
    case sub::alarm8_unlock:
    case sub::scan_ind:
    case sub::alarm_ack:
    case sub::alarm_ack_ind:
    case sub::alarm8_lock_ind:
    case sub::alarm8_unlock_ind:
    case sub::alarmsq_ind:
    case sub::alarms_ind:
    case sub::alarm_query:
    case sub::notify8_ind:
      return true;
    default:
      return false;
  }
}

bool has_timestamp(std::uint8_t subfunction) noexcept {
  switch (subfunction) {
    case sub::alarm8_ind:
    case sub::alarm_ack_ind:
    case sub::alarmsq_ind:
    case sub::alarms_ind:
    case sub::notify_ind:
    case sub::notify8_ind:
      return true;
    default:
      return false;
  }
}

// --- Message service ----------------------------------------------------------------------------

result<subscription> parse_subscription(bytes payload, const std::byte* origin) noexcept {
  reader r{payload, origin_of(payload, origin), layer::userdata};
  const std::uint32_t at = r.offset();
  subscription s;
  s.events = r.u8();
  s.reserved1 = r.u8();
  s.username = r.take(username_length);
  if (!r.ok()) return fail(errc::userdata_bad_payload, at);
  s.has_alarm_type = (s.events & events::alarms) != 0 && !r.empty();
  if (s.has_alarm_type) {
    s.alarm_type = r.u8();
    s.reserved2 = r.u8();
  }
  if (!r.ok() || !r.empty()) return fail(errc::userdata_bad_payload, at);
  return s;
}

void write_subscription(writer& w, const subscription& s) noexcept {
  w.u8(s.events);
  w.u8(s.reserved1);
  if (s.username.size() > username_length) w.range_error();
  w.raw(
      s.username.first(s.username.size() < username_length ? s.username.size() : username_length));
  if (s.username.size() < username_length) w.zeros(username_length - s.username.size());
  if (s.has_alarm_type) {
    if ((s.events & events::alarms) == 0) w.range_error();
    w.u8(s.alarm_type);
    w.u8(s.reserved2);
  }
}

result<subscription_answer> parse_subscription_answer(bytes payload,
                                                      const std::byte* origin) noexcept {
  reader r{payload, origin_of(payload, origin), layer::userdata};
  const std::uint32_t at = r.offset();
  if (payload.size() != 2 && payload.size() != 5) return fail(errc::userdata_bad_payload, at);
  subscription_answer a;
  a.result = r.u8();
  a.reserved1 = r.u8();
  a.has_alarm_type = !r.empty();
  if (a.has_alarm_type) {
    a.alarm_type = r.u8();
    a.reserved2 = r.u8();
    a.reserved3 = r.u8();
  }
  return a;
}

void write_subscription_answer(writer& w, const subscription_answer& a) noexcept {
  w.u8(a.result);
  w.u8(a.reserved1);
  if (a.has_alarm_type) {
    w.u8(a.alarm_type);
    w.u8(a.reserved2);
    w.u8(a.reserved3);
  }
}

// --- Alarm messages -----------------------------------------------------------------------------

std::uint8_t object_length(std::uint8_t syntax) noexcept {
  switch (syntax) {
    case lockfree:
      return 6;
    case ind:
      return 10;
    case ack:
    case queryreq:
      return 8;
    case notify:
      return 14;
    default:
      return 0;
  }
}

namespace {

void read_alarm_fields(reader& v, object& o) noexcept {
  o.value_count = v.u8();
  o.event_id = v.u32be();
  if (o.syntax == ind || o.syntax == notify) {
    o.event_state = v.u8();
    o.state = v.u8();
  }
  if (o.syntax == ind || o.syntax == ack || o.syntax == notify) {
    o.ack_going = v.u8();
    o.ack_coming = v.u8();
  }
  if (o.syntax == notify) {
    o.event_going = v.u8();
    o.event_coming = v.u8();
    o.event_last_changed = v.u8();
    o.event_reserved = v.u8();
  }
}

// Reads one object at `r` (associated values included). `opt` lets unknown syntax ids through.
void read_object(reader& r, object& o, const item_options& opt) noexcept {
  o.offset = r.offset();
  o.spec_type = r.u8();
  o.length = r.u8();
  if (!r.ok()) return;
  if (o.spec_type != var_spec_type) return r.fail_at(errc::item_bad_spec_type, o.offset);
  if (o.length == 0) return r.fail_at(errc::item_bad_length, o.offset + 1);
  if (r.remaining() < o.length) return r.fail_at(errc::truncated, o.offset + 1);
  reader v = r.sub(o.length, layer::userdata);
  o.syntax = v.u8();
  o.body = v.rest();
  const std::uint8_t fixed = object_length(o.syntax);
  if (fixed == 0) {
    if (!opt.allow_unknown_syntax) r.fail_at(errc::item_unknown_syntax, o.offset + 2);
    o.values = {};
    return;
  }
  if (o.length != fixed) return r.fail_at(errc::item_bad_length, o.offset + 1);
  if (o.syntax == queryreq) {
    o.query_unknown1 = v.u8();
    o.query_type = v.u8();
    o.query_unknown2 = v.u8();
    o.query_value = v.u32be();
  } else {
    read_alarm_fields(v, o);
  }
  o.values = {};
  if ((o.syntax == ind || o.syntax == notify) && o.value_count > 0) {
    const bytes start = r.rest();
    r.set_layer(layer::s7_data);
    read_data_items(r, o.value_count, data_kind::push);
    r.set_layer(layer::userdata);
    if (r.ok()) o.values = start.first(start.size() - r.remaining());
  }
}

}  // namespace

result<message> parse_message(std::uint8_t subfunction, std::uint8_t type, bytes payload,
                              const std::byte* origin, const item_options& opt) noexcept {
  reader r{payload, origin_of(payload, origin), layer::userdata};
  message m;
  m.scan = subfunction == sub::scan_ind;
  m.has_timestamp = m.scan || has_timestamp(subfunction);
  if (m.scan) m.scan_unknown1 = r.u16be();
  if (m.has_timestamp) m.timestamp = r.take(timestamp_length);
  if (m.scan) m.scan_unknown2 = r.u16be();
  m.function = r.u8();
  const std::uint32_t count_at = r.offset();
  m.object_count = r.u8();
  if (!r.ok()) return r.err();
  m.objects = r.rest();
  m.answer = type == response_type;
  if (m.answer) {
    if (r.remaining() != m.object_count) return fail(errc::userdata_bad_item_count, count_at);
    return m;
  }
  object o;
  for (std::size_t i = 0; i < m.object_count && r.ok(); ++i) {
    if (r.empty()) return fail(errc::userdata_bad_item_count, count_at);
    read_object(r, o, opt);
  }
  if (!r.ok()) return r.err();
  if (!r.empty()) return fail(errc::userdata_bad_item_count, count_at);
  return m;
}

bool object_iterator::next(object& out) noexcept {
  if (rest_.empty()) return false;
  reader r{rest_, origin_, layer::userdata};
  read_object(r, out, item_options{true});
  if (!r.ok()) {
    rest_ = {};
    return false;
  }
  rest_ = r.rest();
  return true;
}

void write_message_head(writer& w, std::uint8_t subfunction, bytes timestamp, std::uint8_t function,
                        std::uint8_t object_count) noexcept {
  const bool scan = subfunction == sub::scan_ind;
  if (scan) w.u16be(0);
  if (scan || has_timestamp(subfunction)) {
    if (timestamp.size() == timestamp_length)
      w.raw(timestamp);
    else if (timestamp.empty())
      w.zeros(timestamp_length);
    else
      w.range_error();
  }
  if (scan) w.u16be(0);
  w.u8(function);
  w.u8(object_count);
}

void write_object(writer& w, const object& o) noexcept {
  const std::uint8_t length = object_length(o.syntax);
  if (length == 0) w.range_error();
  w.u8(var_spec_type);
  w.u8(length);
  w.u8(o.syntax);
  if (o.syntax == queryreq) {
    w.u8(o.query_unknown1);
    w.u8(o.query_type);
    w.u8(o.query_unknown2);
    w.u32be(o.query_value);
    return;
  }
  w.u8(o.value_count);
  w.u32be(o.event_id);
  if (o.syntax == ind || o.syntax == notify) {
    w.u8(o.event_state);
    w.u8(o.state);
  }
  if (o.syntax == ind || o.syntax == ack || o.syntax == notify) {
    w.u8(o.ack_going);
    w.u8(o.ack_coming);
  }
  if (o.syntax == notify) {
    w.u8(o.event_going);
    w.u8(o.event_coming);
    w.u8(o.event_last_changed);
    w.u8(o.event_reserved);
  }
}

// --- Alarm query answer -------------------------------------------------------------------------

namespace {
constexpr std::uint32_t complete_length_open = 0xFFFF;  // datasets until a 0x00 byte

// One data item at `r` (an associated value), as bytes.
bytes read_value(reader& r) noexcept {
  const bytes start = r.rest();
  r.set_layer(layer::s7_data);
  read_data_items(r, 1, data_kind::push);
  r.set_layer(layer::userdata);
  return r.ok() ? start.first(start.size() - r.remaining()) : bytes{};
}

void read_dataset(reader& r, query_dataset& d) noexcept {
  d.length = r.u8();
  d.unknown1 = r.u16be();
  d.alarm_type = r.u8();
  d.event_id = r.u32be();
  d.unknown2 = r.u8();
  d.event_state = r.u8();
  d.ack_going = r.u8();
  d.ack_coming = r.u8();
  d.timestamp_coming = d.value_coming = d.timestamp_going = d.value_going = {};
  if (!r.ok() || d.alarm_type != alarm_type::alarm_s) return;
  d.timestamp_coming = r.take(timestamp_length);
  d.value_coming = read_value(r);
  d.timestamp_going = r.take(timestamp_length);
  d.value_going = read_value(r);
}
}  // namespace

result<query_answer> parse_query_answer(bytes payload, const std::byte* origin) noexcept {
  reader r{payload, origin_of(payload, origin), layer::userdata};
  query_answer a;
  a.function = r.u8();
  a.object_count = r.u8();
  a.return_code = r.u8();
  a.tsize = r.u8();
  const std::uint32_t length_at = r.offset();
  a.complete_length = r.u16be();
  if (!r.ok()) return r.err();
  a.datasets = r.rest();
  if (a.return_code != return_code::success) {
    if (!r.empty()) return fail(errc::userdata_bad_item_count, length_at);
    return a;
  }
  const bool open = a.complete_length == complete_length_open;
  if (!open && a.complete_length != r.remaining())
    return fail(errc::userdata_bad_item_count, length_at);
  query_dataset d;
  do {
    read_dataset(r, d);
  } while (r.ok() && (open ? r.peek_u8() != 0 : !r.empty()));
  if (!r.ok()) return r.err();
  if (open) {
    // The terminating 0x00 ends the datasets and the data.
    a.datasets = a.datasets.first(a.datasets.size() - r.remaining());
    if (r.u8() != 0 || !r.empty()) return fail(errc::userdata_bad_item_count, length_at);
  }
  return a;
}

bool dataset_iterator::next(query_dataset& out) noexcept {
  if (rest_.empty()) return false;
  reader r{rest_, origin_, layer::userdata};
  read_dataset(r, out);
  if (!r.ok()) {
    rest_ = {};
    return false;
  }
  rest_ = r.rest();
  return true;
}

void write_query_answer_head(writer& w, const query_answer& a) noexcept {
  w.u8(a.function);
  w.u8(a.object_count);
  w.u8(a.return_code);
  w.u8(a.tsize);
  w.u16be(a.complete_length);
}

void write_query_dataset(writer& w, const query_dataset& d) noexcept {
  w.u8(d.length);
  w.u16be(d.unknown1);
  w.u8(d.alarm_type);
  w.u32be(d.event_id);
  w.u8(d.unknown2);
  w.u8(d.event_state);
  w.u8(d.ack_going);
  w.u8(d.ack_coming);
  if (d.alarm_type != alarm_type::alarm_s) return;
  if (d.timestamp_coming.size() != timestamp_length || d.timestamp_going.size() != timestamp_length)
    w.range_error();
  w.raw(d.timestamp_coming);
  w.raw(d.value_coming);
  w.raw(d.timestamp_going);
  w.raw(d.value_going);
}

// --- Diagnostic message -------------------------------------------------------------------------

result<diagnostic_message> parse_diagnostic_message(bytes payload,
                                                    const std::byte* origin) noexcept {
  reader r{payload, origin_of(payload, origin), layer::userdata};
  if (payload.size() != diagnostic_message_length)
    return fail(errc::userdata_bad_payload, r.offset());
  diagnostic_message d;
  d.event_id = r.u16be();
  d.priority_class = r.u8();
  d.ob_number = r.u8();
  d.dat_id = r.u16be();
  d.info1 = r.u16be();
  d.info2 = r.u32be();
  d.timestamp = r.take(timestamp_length);
  return d;
}

void write_diagnostic_message(writer& w, const diagnostic_message& d) noexcept {
  w.u16be(d.event_id);
  w.u8(d.priority_class);
  w.u8(d.ob_number);
  w.u16be(d.dat_id);
  w.u16be(d.info1);
  w.u32be(d.info2);
  if (d.timestamp.size() != timestamp_length) w.range_error();
  w.raw(d.timestamp.first(d.timestamp.size() < timestamp_length ? d.timestamp.size()
                                                                : timestamp_length));
  if (d.timestamp.size() < timestamp_length) w.zeros(timestamp_length - d.timestamp.size());
}

}  // namespace protos7::codec::s7::alarm
