// CPU functions (Userdata group 4) other than Read SZL: the message service (subscribing to
// event classes), alarm and notify indications pushed by the CPU (ALARM_8, ALARM_S, NOTIFY, ...),
// the requests that lock, unlock, acknowledge or query alarms and their answers, and the
// diagnostic message push. Layouts as Wireshark 4.0 decodes them (packet-s7comm.c,
// s7comm_decode_message_service, s7comm_decode_ud_cpu_alarm_main / _query_response /
// _diagnostic_message); evidence: wincc_s300_setup-alarm-read*.pcapng and
// wincc_s400_production.pcapng of the field captures.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::s7::alarm {

// Subfunctions of group 4 (CPU functions).
namespace sub {
inline constexpr std::uint8_t read_szl = 0x01;
inline constexpr std::uint8_t message_service = 0x02;
inline constexpr std::uint8_t diagnostic_message = 0x03;
inline constexpr std::uint8_t alarm8_ind = 0x05;
inline constexpr std::uint8_t notify_ind = 0x06;
inline constexpr std::uint8_t alarm8_lock = 0x07;
inline constexpr std::uint8_t alarm8_unlock = 0x08;
inline constexpr std::uint8_t scan_ind = 0x09;
inline constexpr std::uint8_t alarm_ack = 0x0B;
inline constexpr std::uint8_t alarm_ack_ind = 0x0C;
inline constexpr std::uint8_t alarm8_lock_ind = 0x0D;
inline constexpr std::uint8_t alarm8_unlock_ind = 0x0E;
inline constexpr std::uint8_t alarmsq_ind = 0x11;
inline constexpr std::uint8_t alarms_ind = 0x12;
inline constexpr std::uint8_t alarm_query = 0x13;
inline constexpr std::uint8_t notify8_ind = 0x16;
}  // namespace sub
// The subfunctions whose data is an alarm message (parse_message).
[[nodiscard]] bool is_alarm_message(std::uint8_t subfunction) noexcept;
// The indications whose message starts with an 8-byte timestamp.
[[nodiscard]] bool has_timestamp(std::uint8_t subfunction) noexcept;

// --- Message service ----------------------------------------------------------------------------

// Event classes of a subscription (the events byte).
namespace events {
inline constexpr std::uint8_t mode_transition = 0x01;
inline constexpr std::uint8_t system = 0x02;
inline constexpr std::uint8_t user_defined = 0x04;
inline constexpr std::uint8_t alarms = 0x80;
}  // namespace events
// Alarm types of a subscription with the alarms bit.
namespace almtype {
inline constexpr std::uint8_t scan_abort = 0;
inline constexpr std::uint8_t scan_initiate = 1;
inline constexpr std::uint8_t alarm_abort = 4;
inline constexpr std::uint8_t alarm_initiate = 5;
inline constexpr std::uint8_t ar_send_abort = 6;
inline constexpr std::uint8_t ar_send_initiate = 7;
inline constexpr std::uint8_t alarm_s_abort = 8;
inline constexpr std::uint8_t alarm_s_initiate = 9;
}  // namespace almtype

// Request: | events | reserved | user name (8 ASCII) | [alarm type | reserved] | — the last two
// bytes only with the alarms bit (wincc_s400_production frame 5: 01 00 "S7CHN_02", 10 bytes).
struct subscription {
  std::uint8_t events = 0;
  std::uint8_t reserved1 = 0;
  bytes username;  // 8 bytes
  bool has_alarm_type = false;
  std::uint8_t alarm_type = 0;
  std::uint8_t reserved2 = 0;
};
inline constexpr std::size_t username_length = 8;
// Errors: userdata_bad_payload (not 10 bytes, or 12 with the alarms bit).
[[nodiscard]] result<subscription> parse_subscription(bytes payload,
                                                      const std::byte* origin) noexcept;
void write_subscription(writer& w, const subscription& s) noexcept;

// Answer: | result | reserved | [alarm type | reserved | reserved] | (frame 6: 02 00).
struct subscription_answer {
  std::uint8_t result = 0;
  std::uint8_t reserved1 = 0;
  bool has_alarm_type = false;
  std::uint8_t alarm_type = 0;
  std::uint8_t reserved2 = 0;
  std::uint8_t reserved3 = 0;
};
// Errors: userdata_bad_payload (not 2 or 5 bytes).
[[nodiscard]] result<subscription_answer> parse_subscription_answer(
    bytes payload, const std::byte* origin) noexcept;
void write_subscription_answer(writer& w, const subscription_answer& a) noexcept;

// --- Alarm messages -----------------------------------------------------------------------------

// An 8-byte BCD timestamp (a DATE_AND_TIME, s7_value.hpp) in indications; kept as bytes so that
// a message with an odd clock value still decodes (Wireshark shows nothing for such a stamp).
inline constexpr std::size_t timestamp_length = 8;

// | [timestamp (8)] | function | object count | objects |; a SCAN indication has
// | unknown (u16) | timestamp | unknown (u16) | in front. In a request or an indication each
// object is a variable specification (below); in an answer (type response) each is one return
// code. (wincc_s400_production frame 19: timestamp, function 0x40, one ALARM_IND object.)
struct message {
  bool has_timestamp = false;
  bytes timestamp;
  bool scan = false;
  std::uint16_t scan_unknown1 = 0;
  std::uint16_t scan_unknown2 = 0;
  std::uint8_t function = 0;
  std::uint8_t object_count = 0;
  bytes objects;  // walk with object_iterator, or the return codes of an answer
  bool answer = false;
};

// One object of a request or indication: | 0x12 | length | syntax id | fields |, then for
// ALARM_IND and NOTIFY_IND the associated values (Read Var data items, s7_data.hpp) after the
// length's end.
//   ALARM_LOCKFREE 0x15 (length 6):  | value count | event id (u32) |
//   ALARM_IND 0x16 (length 10):      | value count | event id | event state | state |
//                                     ack state going | ack state coming |
//   ALARM_ACK 0x19 (length 8):       | value count | event id | ack going | ack coming |
//   NOTIFY_IND 0x1C (length 14):     | value count | event id | event state | state | ack going |
//                                     ack coming | event going | event coming |
//                                     event last changed | reserved |
//   ALARM_QUERYREQ 0x1A (length 8):  | unknown | query type | unknown | alarm type (query type
//                                     1) or event id (query type 3) or other (u32) |
// Each state byte holds SIG_1 (bit 0) .. SIG_8 (bit 7).
struct object {
  std::uint8_t spec_type = 0;
  std::uint8_t length = 0;
  std::uint8_t syntax = 0;
  std::uint8_t value_count = 0;
  std::uint32_t event_id = 0;
  std::uint8_t event_state = 0, state = 0, ack_going = 0, ack_coming = 0;
  std::uint8_t event_going = 0, event_coming = 0, event_last_changed = 0, event_reserved = 0;
  std::uint8_t query_unknown1 = 0, query_type = 0, query_unknown2 = 0;
  std::uint32_t query_value = 0;
  bytes body;    // the bytes after the syntax id (length - 1)
  bytes values;  // the associated values' data items (ALARM_IND, NOTIFY_IND)
  std::uint32_t offset = 0;
};
namespace query_type {
inline constexpr std::uint8_t by_alarm_type = 1;
inline constexpr std::uint8_t by_event_id = 3;
}  // namespace query_type
namespace alarm_type {
inline constexpr std::uint32_t scan = 1;
inline constexpr std::uint32_t alarm_8 = 2;
inline constexpr std::uint32_t alarm_s = 4;
}  // namespace alarm_type
// The fixed length of an object of `syntax`, 0 when the syntax id is no alarm dataset.
[[nodiscard]] std::uint8_t object_length(std::uint8_t syntax) noexcept;

// Decodes the data of an alarm message of `subfunction` (is_alarm_message) and user data type
// `type` (ud::type: 0 push, 4 request, 8 response). The objects are all validated.
// Errors: truncated, item_bad_spec_type, item_bad_length, item_unknown_syntax (unless
// `opt.allow_unknown_syntax`: the object is then skipped by its length), userdata_bad_item_count
// (objects that do not fill the data exactly), the data item errors of associated values.
[[nodiscard]] result<message> parse_message(std::uint8_t subfunction, std::uint8_t type,
                                            bytes payload, const std::byte* origin,
                                            const item_options& opt = {}) noexcept;

class object_iterator {
 public:
  object_iterator(const message& m, const std::byte* origin) noexcept
      : rest_(m.answer ? bytes{} : m.objects),
        origin_(origin == nullptr ? m.objects.data() : origin) {}
  [[nodiscard]] bool next(object& out) noexcept;

 private:
  bytes rest_;
  const std::byte* origin_;
};

// Writers. write_message_head writes the timestamp (when the subfunction has one; 8 bytes or
// zeros), function and count; the caller then writes the objects.
void write_message_head(writer& w, std::uint8_t subfunction, bytes timestamp, std::uint8_t function,
                        std::uint8_t object_count) noexcept;
// Writes an object's variable specification (its length from object_length; value_out_of_range
// for another syntax). Associated values follow with write_data_item.
void write_object(writer& w, const object& o) noexcept;

// --- Alarm query answer -------------------------------------------------------------------------

// | function | object count | return code | transport size | complete length (u16) | datasets |
// (wincc_s400_production frame 18). The datasets (only with return code 0xFF) fill the complete
// length; each is | length | unknown (u16) | alarm type | event id (u32) | unknown | event state |
// ack going | ack coming | and, for alarm type ALARM_S (4), | timestamp coming (8) | associated
// value (one data item) | timestamp going (8) | associated value |. The dataset's own length
// byte (10 for 12-byte datasets in the capture) is not understood and not checked.
struct query_answer {
  std::uint8_t function = 0;
  std::uint8_t object_count = 0;
  std::uint8_t return_code = 0;
  std::uint8_t tsize = 0;
  std::uint16_t complete_length = 0;
  bytes datasets;
};
struct query_dataset {
  std::uint8_t length = 0;
  std::uint16_t unknown1 = 0;
  std::uint8_t alarm_type = 0;
  std::uint32_t event_id = 0;
  std::uint8_t unknown2 = 0;
  std::uint8_t event_state = 0, ack_going = 0, ack_coming = 0;
  bytes timestamp_coming, value_coming, timestamp_going, value_going;  // ALARM_S only
};
// Errors: truncated, userdata_bad_item_count (datasets that do not fill the complete length,
// a complete length other than the bytes after it), the data item errors of associated values.
[[nodiscard]] result<query_answer> parse_query_answer(bytes payload,
                                                      const std::byte* origin) noexcept;
class dataset_iterator {
 public:
  dataset_iterator(const query_answer& a, const std::byte* origin) noexcept
      : rest_(a.datasets), origin_(origin == nullptr ? a.datasets.data() : origin) {}
  [[nodiscard]] bool next(query_dataset& out) noexcept;

 private:
  bytes rest_;
  const std::byte* origin_;
};
void write_query_answer_head(writer& w, const query_answer& a) noexcept;
// Writes a dataset; for ALARM_S the timestamps and the two associated values (whole data items,
// as bytes) are written as given.
void write_query_dataset(writer& w, const query_dataset& d) noexcept;

// --- Diagnostic message -------------------------------------------------------------------------

// A diagnostic buffer entry pushed by the CPU (subfunction 0x03; the records of SZL 0x00A0 have
// the same 20 bytes): | event id (u16) | priority class | OB number | DatID (u16) | info 1 (u16) |
// info 2 (u32) | timestamp (8) | (step7_s300_stop.pcapng frame 3: event 0x4304, STOP).
struct diagnostic_message {
  std::uint16_t event_id = 0;
  std::uint8_t priority_class = 0;
  std::uint8_t ob_number = 0;
  std::uint16_t dat_id = 0;
  std::uint16_t info1 = 0;
  std::uint32_t info2 = 0;
  bytes timestamp;
};
inline constexpr std::size_t diagnostic_message_length = 20;
// Errors: userdata_bad_payload (not 20 bytes).
[[nodiscard]] result<diagnostic_message> parse_diagnostic_message(bytes payload,
                                                                  const std::byte* origin) noexcept;
void write_diagnostic_message(writer& w, const diagnostic_message& d) noexcept;

}  // namespace protos7::codec::s7::alarm
