// Userdata services, block control, PI services, PLC stop. Layout comments cite the frames of
// the Wireshark sample captures (../shared/pcaps/wireshark) that show a CPU doing it.
#include "protos7/server/services.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "protos7/codec/szl.hpp"
#include "protos7/codec/ud_alarm.hpp"
#include "protos7/codec/writer.hpp"
#include "protos7/server/alarm_push.hpp"
#include "protos7/server/cyclic.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/mode_events.hpp"
#include "protos7/server/programmer.hpp"

namespace protos7::server {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
using codec::bytes;
using codec::writer;

namespace {

constexpr std::uint8_t u8(std::byte b) noexcept {
  return std::to_integer<std::uint8_t>(b);
}

// Userdata data unit return codes / transport size.

// Sequence numbers of the captured CPU's answers: 1 for CPU and time functions (SZL, clock;
// s7comm_reading_plc_status.pcap frame 14 "84 01 01"), 0 for "List blocks" and "Get block
// info", 1 for "List blocks of type" (s7comm_program_blocklist_onlineview.pcap frames 59, 62,
// 134). A continuation request echoes ours.
std::uint8_t answer_seq(std::uint8_t group, std::uint8_t sub) {
  if (group == static_cast<std::uint8_t>(ud::group::block))
    return sub == ud::sub::list_blocks_of_type ? 1 : 0;
  return 1;
}

// Entries of one "List blocks of type" telegram: the captured CPU sent 52 entries (208 bytes) at
// PDU 240 (blocklist capture frame 96), i.e. (PDU - 32) / 4; snap7's server uses the same rule.
std::size_t entries_per_telegram(std::uint16_t pdu) {
  return (pdu - 32U) / 4U;
}

std::string_view name_of(bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

ud::param response_param(const ud::param& req, std::uint8_t seq, std::uint16_t error,
                         std::uint8_t dur, bool more) {
  ud::param rp;
  rp.method = ud::method_response;
  rp.type = static_cast<std::uint8_t>(ud::type::response);
  rp.group = req.group;
  rp.subfunction = req.subfunction;
  rp.seq = seq;
  rp.extended = true;
  rp.data_unit_ref = dur;
  rp.last_data_unit = more ? ud::last_unit_no : ud::last_unit_yes;
  rp.error_code = error;
  return rp;
}

// The payload's place in a Userdata data block: after the data unit head.
codec::mutable_bytes payload_area(codec::mutable_bytes area) {
  return area.size() < ud::data_unit_head_length ? codec::mutable_bytes{}
                                                 : area.subspan(ud::data_unit_head_length);
}

// The OB numbers an S7-300/400 runs in a priority class (free cycle, time-of-day, time-delay,
// cyclic, hardware and DPV1 interrupts, multicomputing, clock synchronisation, redundancy,
// asynchronous errors, background, start-up, synchronous errors); any other OB number is refused
// with 0xD20C (Siemens, System Software for S7-300/400, organisation block overview).
bool ob_has_priority_class(std::uint16_t n) {
  constexpr std::array<std::pair<std::uint16_t, std::uint16_t>, 12> ranges{{{1, 1},
                                                                            {10, 17},
                                                                            {20, 23},
                                                                            {30, 38},
                                                                            {40, 47},
                                                                            {55, 57},
                                                                            {60, 61},
                                                                            {70, 73},
                                                                            {80, 88},
                                                                            {90, 90},
                                                                            {100, 102},
                                                                            {121, 122}}};
  return std::any_of(ranges.begin(), ranges.end(),
                     [n](const auto& r) { return n >= r.first && n <= r.second; });
}

}  // namespace

void pdu_sink::send(const s7::header& h, bytes param, bytes data) {
  const codec::mutable_bytes area = begin(h.type, param.size());
  std::copy_n(data.begin(), std::min(data.size(), area.size()), area.begin());
  commit(h, param, data.size());
}

services::services(const config& cfg, plc_state& state)
    : cfg_(cfg),
      st_(state),
      tis_(std::make_unique<programmer>(state)),
      mode_events_(std::make_unique<mode_events>(state)) {
  (void)add_push_source(*tis_);
  (void)add_push_source(*mode_events_);
}

services::~services() = default;

std::uint8_t services::effective_protection() const noexcept {
  return legitimated_ ? std::uint8_t{1} : st_.protection_level();
}

std::uint16_t services::write_refusal() const noexcept {
  return effective_protection() >= 2 ? s7::error_code::protection_level : std::uint16_t{0};
}

// --- Userdata ----------------------------------------------------------------------------------

void services::userdata_commit(const ud::param& req, std::uint8_t seq, std::uint16_t error,
                               std::uint8_t rc, codec::mutable_bytes area,
                               std::size_t payload_length, std::uint16_t pdu_ref, pdu_sink& out,
                               std::uint8_t dur, bool more) {
  std::array<std::byte, ud::long_param_length> prm{};
  writer pw{prm};
  ud::write_param(pw, response_param(req, seq, error, dur, more));
  writer dw{area.first(std::min(area.size(), ud::data_unit_head_length))};
  ud::write_data_unit_head(dw, rc, rc == ud::rc_ok ? ud::ts_octet : std::uint8_t{0},
                           payload_length);
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = pdu_ref;
  out.commit(h, prm, ud::data_unit_head_length + payload_length);
}

void services::userdata_reply(const ud::param& req, std::uint8_t seq, std::uint16_t error,
                              std::uint8_t rc, bytes payload, std::uint16_t pdu_ref, pdu_sink& out,
                              std::uint8_t dur, bool more) {
  const codec::mutable_bytes area = out.begin(s7::rosctr::userdata, ud::long_param_length);
  const codec::mutable_bytes room = payload_area(area);
  std::copy_n(payload.begin(), std::min(payload.size(), room.size()), room.begin());
  userdata_commit(req, seq, error, rc, area, payload.size(), pdu_ref, out, dur, more);
}

template <class Rewrite>
void services::send_answer(const ud::param& req, std::uint8_t seq, codec::mutable_bytes area,
                           std::size_t size, std::size_t room, std::uint16_t pdu_ref, pdu_sink& out,
                           Rewrite&& rewrite) {
  if (size <= room) {
    pending_.active = false;
    userdata_commit(req, seq, 0, ud::rc_ok, area, size, pdu_ref, out);
    return;
  }
  // Longer than a telegram: the first part now with "more follows" and a data unit reference;
  // the client asks for the rest (frames 16-20 of s7comm_reading_plc_status.pcap). The answer is
  // written again whole, and the first part taken from it too, so that every part comes from one
  // run (a clock in a record cannot differ between parts).
  pending_.answer.resize(size);
  rewrite(codec::mutable_bytes{pending_.answer});
  const codec::mutable_bytes payload = payload_area(area);
  std::copy_n(pending_.answer.begin(), std::min(room, payload.size()), payload.begin());
  pending_.active = true;
  pending_.group = req.group;
  pending_.subfunction = req.subfunction;
  pending_.seq = seq;
  pending_.dur = st_.next_data_unit_ref();
  pending_.sent = room;
  userdata_commit(req, seq, 0, ud::rc_ok, area, room, pdu_ref, out, pending_.dur, true);
}

// "Next" request of a fragmented answer: 12-byte parameter (method 0x12) with our sequence
// number, data 0A 00 0000 (frame 19 of s7comm_reading_plc_status.pcap; snap7 opReadSZL).
void services::next_part(const ud::param& req, std::uint16_t ref, std::uint16_t pdu_size,
                         pdu_sink& out) {
  const bool block = req.group == static_cast<std::uint8_t>(ud::group::block);
  const bool ours =
      pending_.active && pending_.group == req.group && pending_.subfunction == req.subfunction;
  if (!ours) {
    userdata_reply(req, req.seq,
                   block ? s7::error_code::no_further_block : s7::error_code::info_unavailable_2,
                   ud::rc_none, {}, ref, out);
    return;
  }
  const std::size_t room = block ? entries_per_telegram(pdu_size) * 4U : pdu_size - 26U;
  const std::size_t n = std::min(room, pending_.answer.size() - pending_.sent);
  const bytes part{pending_.answer.data() + pending_.sent, n};
  pending_.sent += n;
  const bool more = pending_.sent < pending_.answer.size();
  if (!more) pending_.active = false;
  userdata_reply(req, pending_.seq, 0, ud::rc_ok, part, ref, out, pending_.dur, more);
}

void services::on_userdata(const s7::pdu& p, const ud::message& m, std::uint16_t pdu_size,
                           pdu_sink& out) {
  const ud::param& req = m.prm;
  const std::uint16_t ref = p.hdr.pdu_ref;
  if (req.type != static_cast<std::uint8_t>(ud::type::request)) {
    // Pushes/responses from a client have no meaning for a CPU: the CPU's error.
    userdata_reply(req, req.seq, s7::error_code::not_implemented, ud::rc_none, {}, ref, out);
    return;
  }
  // STEP 7 and TIA Portal send programmer commands with the 12-byte parameter and method 0x12
  // (step7_s300_readVarTab.pcapng frame 1): a request there, not the "next part" of an answer.
  const bool programmer = req.group == static_cast<std::uint8_t>(ud::group::programmer);
  if (req.extended && req.method == ud::method_response && !programmer) {
    next_part(req, ref, pdu_size, out);
    return;
  }
  pending_.active = false;  // a new request abandons an unfinished answer
  if (m.has_data && dispatch_userdata(req, m.data, ref, pdu_size, out)) return;
  // Programmer commands, cyclic data, message and alarm services, unknown groups and
  // subfunctions: the answer of an unsupported function (0x8104, data 0A 00 0000).
  log(log_level::info, "Userdata group {} subfunction 0x{:02X}: not supported, error 0x8104",
      req.group, req.subfunction);
  userdata_reply(req, answer_seq(req.group, req.subfunction), s7::error_code::not_implemented,
                 ud::rc_none, {}, ref, out);
}

// The Userdata functions a CPU serves; false: not one of them (the caller answers 0x8104).
bool services::dispatch_userdata(const ud::param& req, const ud::data_unit& d, std::uint16_t ref,
                                 std::uint16_t pdu_size, pdu_sink& out) {
  switch (static_cast<ud::group>(req.group)) {
    case ud::group::cpu:
      if (req.subfunction == ud::sub::read_szl) {
        read_szl(req, d, ref, pdu_size, out);
        return true;
      }
      if (req.subfunction == codec::s7::alarm::sub::message_service) {
        message_service(req, d, ref, out);
        return true;
      }
      if (req.subfunction == codec::s7::alarm::sub::alarm_query) {
        alarm_query(req, d, ref, pdu_size, out);
        return true;
      }
      return false;
    case ud::group::block:
      block_function(req, d, ref, pdu_size, out);
      return true;
    case ud::group::time:
      time_function(req, d, ref, out);
      return true;
    case ud::group::security:
      security(req, d, ref, out);
      return true;
    case ud::group::cyclic:  // cyclic.cpp; the service exists from a connection's first request
      if (!cyclic_) {
        cyclic_ = std::make_unique<cyclic_service>(st_);
        (void)add_push_source(*cyclic_);
      }
      cyclic_->on_request(req, d, ref, out);
      return true;
    case ud::group::programmer:
      programmer_command(req, d, ref, pdu_size, out);
      return true;
    default:
      return false;
  }
}

void services::read_szl(const ud::param& req, const ud::data_unit& d, std::uint16_t ref,
                        std::uint16_t pdu_size, pdu_sink& out) {
  const std::uint8_t seq = answer_seq(req.group, req.subfunction);
  const auto r = codec::szl::parse_request(d.payload, d.payload.data());
  if (!r) {
    userdata_reply(req, seq, s7::error_code::info_unavailable_2, ud::rc_none, {}, ref, out);
    return;
  }
  const szl_context ctx{cfg_.pdu_size, effective_protection()};
  const codec::mutable_bytes area = out.begin(s7::rosctr::userdata, ud::long_param_length);
  const auto size = write_szl(st_, r->id, r->index, ctx, payload_area(area));
  if (!size) {
    out.cancel();
    log(log_level::debug, "SZL 0x{:04X} index 0x{:04X}: not available", r->id, r->index);
    userdata_reply(req, seq, s7::error_code::info_unavailable_2, ud::rc_none, {}, ref, out);
    return;
  }
  // A response telegram: header 10 + parameter 12 + data unit head 4 + payload.
  send_answer(req, seq, area, *size, pdu_size - 26U, ref, out,
              [&](codec::mutable_bytes all) { (void)write_szl(st_, r->id, r->index, ctx, all); });
}

// Message service (alarms.hpp): subscribe to event classes and alarm types; the captured CPUs
// answer | 02 00 | and the alarm type with | 01 00 | (s7comm_reading_plc_status.pcap frames
// 52/53; wincc_s400_production.pcapng frames 15/16). A request that is no subscription (no
// capture shows the CPU's answer to one) gets the group's "not available" error, 0xD402.
void services::message_service(const ud::param& req, const ud::data_unit& d, std::uint16_t ref,
                               pdu_sink& out) {
  const std::uint8_t seq = answer_seq(req.group, req.subfunction);
  const codec::mutable_bytes area = out.begin(s7::rosctr::userdata, ud::long_param_length);
  writer w{payload_area(area)};
  if (!server::message_service(alarms_, d.payload, w) || w.overflowed()) {
    out.cancel();
    userdata_reply(req, seq, s7::error_code::info_unavailable_2, ud::rc_none, {}, ref, out);
    return;
  }
  if (!alarm_push_ && (alarms_.alarms || alarms_.alarms_s)) {
    // The first alarm subscription of the connection makes its indications' push source (one
    // per connection, kept for its lifetime).
    alarm_push_ = std::make_unique<alarm_pusher>(alarms_, st_);
    if (!add_push_source(*alarm_push_)) {
      log(log_level::warn, "alarm indications: no push source left on this connection");
      alarm_push_.reset();
    }
  }
  if (alarm_push_) alarm_push_->subscription_changed();
  mode_events_->subscribe(alarms_.events);  // mode-change pushes (mode_events.hpp)
  userdata_commit(req, seq, 0, ud::rc_ok, area, w.size(), ref, out);
}

// ALARM query (alarms.hpp) from the profile's alarm list; a longer answer than one telegram
// continues as SZL answers do.
void services::alarm_query(const ud::param& req, const ud::data_unit& d, std::uint16_t ref,
                           std::uint16_t pdu_size, pdu_sink& out) {
  const std::uint8_t seq = answer_seq(req.group, req.subfunction);
  const auto now = to_date_and_time(st_.clock_now());
  const auto& list = st_.profile().alarms;
  const codec::mutable_bytes area = out.begin(s7::rosctr::userdata, ud::long_param_length);
  writer w{payload_area(area)};
  if (!server::alarm_query(list, st_.memory(), d.payload, w, now)) {
    out.cancel();
    userdata_reply(req, seq, s7::error_code::info_unavailable_2, ud::rc_none, {}, ref, out);
    return;
  }
  send_answer(req, seq, area, w.size(), pdu_size - 26U, ref, out, [&](codec::mutable_bytes all) {
    writer aw{all};
    (void)server::alarm_query(list, st_.memory(), d.payload, aw, now);
  });
}

void services::block_function(const ud::param& req, const ud::data_unit& d, std::uint16_t ref,
                              std::uint16_t pdu_size, pdu_sink& out) {
  const std::uint8_t seq = answer_seq(req.group, req.subfunction);
  switch (req.subfunction) {
    case ud::sub::list_blocks: {
      // 7 x ("0" type, count) in the CPU's order (s7comm_downloading_block_db1.pcap frame 23:
      // 3038 0001 3045 0000 3043 0000 3041 0000 3042 000C 3044 0047 3046 000E).
      std::array<std::byte, 28> data{};
      writer w{data};
      for (std::uint8_t t : block_list_order) ud::write_block_count(w, t, st_.block_count(t));
      userdata_reply(req, seq, 0, ud::rc_ok, data, ref, out);
      return;
    }
    case ud::sub::list_blocks_of_type:
      list_blocks_of_type(req, d, ref, pdu_size, out);
      return;
    case ud::sub::block_info:
      block_info(req, d, ref, out);
      return;
    default:
      userdata_reply(req, seq, s7::error_code::not_implemented, ud::rc_none, {}, ref, out);
      return;
  }
}

// Request: the type as two ASCII hex digits ("0A"); answer: number(2) flags(1) language(1) per
// block; longer lists continue (frames 96-99 of the blocklist capture).
void services::list_blocks_of_type(const ud::param& req, const ud::data_unit& d, std::uint16_t ref,
                                   std::uint16_t pdu_size, pdu_sink& out) {
  const std::uint8_t seq = answer_seq(req.group, req.subfunction);
  const auto type = ud::parse_block_type_request(d.payload, d.payload.data());
  const auto write_entries = [&](codec::mutable_bytes to) {
    writer w{to};
    st_.for_each_block(*type, [&](const block_list_entry& e) {
      ud::write_block_entry(w, {e.number, e.flags, e.language});
    });
    return w.size();
  };
  if (!type || st_.block_count(*type) == 0) {
    // No block of this type (or no such type): snap7's server, modelled on a real CPU, answers
    // 0xD20E "no (further) block available".
    userdata_reply(req, seq, s7::error_code::no_further_block, ud::rc_none, {}, ref, out);
    return;
  }
  const codec::mutable_bytes area = out.begin(s7::rosctr::userdata, ud::long_param_length);
  const std::size_t size = write_entries(payload_area(area));
  send_answer(req, seq, area, size, entries_per_telegram(pdu_size) * 4U, ref, out,
              [&](codec::mutable_bytes all) { (void)write_entries(all); });
}

// Request "0A00001B" (type, number, file system); answer 78 bytes (blocklist capture frame 137),
// or error 0xD209 with 0A 00 0000 for a missing block (frames 38, 44).
void services::block_info(const ud::param& req, const ud::data_unit& d, std::uint16_t ref,
                          pdu_sink& out) {
  const std::uint8_t seq = answer_seq(req.group, req.subfunction);
  const auto name = s7::decode_block_name8(d.payload);
  std::optional<block_meta> b;
  if (name.valid && name.number <= 0xFFFF)
    b = st_.block_info(name.block_type, static_cast<std::uint16_t>(name.number));
  if (!b) {
    userdata_reply(req, seq, s7::error_code::blocks_not_found, ud::rc_none, {}, ref, out);
    return;
  }
  block_info_times times{};
  const ud::block_info bi = block_info_of(*b, times);
  const codec::mutable_bytes area = out.begin(s7::rosctr::userdata, ud::long_param_length);
  writer w{payload_area(area)};
  ud::write_block_info(w, bi);
  userdata_commit(req, seq, 0, ud::rc_ok, area, w.size(), ref, out);
}

void services::time_function(const ud::param& req, const ud::data_unit& d, std::uint16_t ref,
                             pdu_sink& out) {
  const std::uint8_t seq = answer_seq(req.group, req.subfunction);
  switch (req.subfunction) {
    case ud::sub::read_clock:
    case ud::sub::read_clock_following: {
      // 10 bytes BCD (s7comm_reading_setting_plc_time.pcap frame 26).
      std::array<std::byte, ud::timestamp_length> ts{};
      writer w{ts};
      ud::write_timestamp(w, st_.clock_now());
      userdata_reply(req, seq, 0, ud::rc_ok, ts, ref, out);
      return;
    }
    case ud::sub::set_clock:
    case ud::sub::set_clock_2: {
      // Answer: no error, data 0A 00 0000 (frame 44 of the clock capture); the clock then reads
      // back as set (frame 47: 11:59:33.045 after setting 11:59:33.040).
      const auto t = ud::parse_timestamp(d.payload, d.payload.data());
      if (!t || !st_.set_clock(*t)) {
        userdata_reply(req, seq, s7::error_code::invalid_time, ud::rc_none, {}, ref, out);
        return;
      }
      log(log_level::info, "PLC clock set to {:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}", t->year,
          t->month, t->day, t->hour, t->minute, t->second, t->millisecond);
      userdata_reply(req, seq, 0, ud::rc_none, {}, ref, out);
      return;
    }
    default:
      userdata_reply(req, seq, s7::error_code::not_implemented, ud::rc_none, {}, ref, out);
      return;
  }
}

void services::security(const ud::param& req, const ud::data_unit& d, std::uint16_t ref,
                        pdu_sink& out) {
  const std::uint8_t seq = 0;
  if (req.subfunction == ud::sub::password) {
    // 8 bytes, scrambled as snap7's opSetPassword does.
    if (d.payload.size() != ud::password_length) {
      userdata_reply(req, seq, s7::error_code::wrong_password, ud::rc_none, {}, ref, out);
      return;
    }
    if (!st_.has_password()) {
      userdata_reply(req, seq, s7::error_code::no_password, ud::rc_none, {}, ref, out);
      return;
    }
    std::array<std::uint8_t, ud::password_length> plain{};
    if (!ud::read_password(d.payload, plain) || !st_.password_matches(plain)) {
      log(log_level::warn, "PLC password: wrong password");
      userdata_reply(req, seq, s7::error_code::wrong_password, ud::rc_none, {}, ref, out);
      return;
    }
    if (legitimated_) {
      userdata_reply(req, seq, s7::error_code::already_legitimized, ud::rc_none, {}, ref, out);
      return;
    }
    legitimated_ = true;
    log(log_level::info, "PLC password accepted: connection legitimated");
    userdata_reply(req, seq, 0, ud::rc_none, {}, ref, out);
    return;
  }
  if (req.subfunction == 0x02) {
    // Cancel the legitimation (snap7 ClearSessionPassword: subfunction 2, data 0A 00 0000).
    if (!legitimated_) {
      userdata_reply(req, seq, s7::error_code::connection_already_enabled, ud::rc_none, {}, ref,
                     out);
      return;
    }
    legitimated_ = false;
    userdata_reply(req, seq, 0, ud::rc_none, {}, ref, out);
    return;
  }
  userdata_reply(req, seq, s7::error_code::not_implemented, ud::rc_none, {}, ref, out);
}

// --- Programmer commands (programmer.hpp) ------------------------------------------------------

void services::programmer_command(const ud::param& req, const ud::data_unit& d, std::uint16_t ref,
                                  std::uint16_t pdu_size, pdu_sink& out) {
  const codec::mutable_bytes area = out.begin(s7::rosctr::userdata, ud::long_param_length);
  const tis_rights rights{effective_protection(), pdu_size};
  const tis_answer a = tis_->handle(req.subfunction, d.payload, rights, payload_area(area));
  userdata_commit(req, a.seq, a.error, a.rc, area, a.length, ref, out);
  // An Enable job made its job due: the push source (programmer::push) sends the push after
  // this answer.
}

// --- Jobs --------------------------------------------------------------------------------------

void services::ack(const s7::header& req, bytes param, bytes data, pdu_sink& out) {
  s7::header h;
  h.type = s7::rosctr::ack_data;
  h.pdu_ref = req.pdu_ref;
  out.send(h, param, data);
}

void services::job_error(const s7::header& req, bytes param, std::uint16_t error, pdu_sink& out,
                         s7::rosctr type) {
  s7::header h;
  h.type = type;
  h.pdu_ref = req.pdu_ref;
  h.error_class = static_cast<std::uint8_t>(error >> 8U);
  h.error_code = static_cast<std::uint8_t>(error & 0xFFU);
  out.send(h, param, {});
}

void services::on_job(const s7::pdu& p, const s7::param& prm, std::uint16_t pdu_size,
                      pdu_sink& out) {
  switch (static_cast<s7::function>(prm.fn)) {
    case s7::function::request_download:
      request_download(p, prm, out);
      return;
    case s7::function::start_upload:
      start_upload(p, prm, out);
      return;
    case s7::function::upload:
      upload_block(p, prm, pdu_size, out);
      return;
    case s7::function::end_upload:
      end_upload(p, prm, out);
      return;
    case s7::function::pi_service:
      pi_service(p, prm, out);
      return;
    case s7::function::plc_stop:
      plc_stop(p, prm, out);
      return;
    default:
      // Download Block / Download Ended are jobs a CPU sends, not receives.
      log(log_level::info, "job function 0x{:02X}: not supported, error 0x8104", prm.fn);
      job_error(p.hdr, {}, s7::error_code::not_implemented, out);
      return;
  }
}

// Request download (s7comm_downloading_block_db1.pcap frame 43):
//   1A 00 0100 00000000 09 "_0A00001P" 0D "1" "000500" "000400"
// The CPU acknowledges with Ack_Data "1A" (frame 44) and then, as the one driving the transfer,
// sends Download Block jobs "1B 00 0000 00000000 09 _0A00001P" with its own PDU references
// (frames 46, 49, 52: 0x0100, 0x0300, 0x0500); the PG answers each with Ack_Data "1B 01" (more)
// or "1B 00" (last) and data | length | 00 FB | block bytes | (frames 48, 51, 54). Then the CPU
// sends Download Ended "1C 00 0000 ..." (frame 55), the PG acknowledges "1C" (frame 57), and a
// PI-Service _INSE (frame 58) makes the block live.
void services::request_download(const s7::pdu& p, const s7::param& prm, pdu_sink& out) {
  const s7::block_control& b = prm.block;
  if (effective_protection() >= 2) {
    job_error(p.hdr, {}, s7::error_code::protection_level, out);
    return;
  }
  if (dl_.stage != dl_stage::idle) {
    job_error(p.hdr, {}, s7::error_code::invalid_sequence, out);
    return;
  }
  const auto& f = b.filename;
  const bool loadable = f.block_type == block_type::ob || f.block_type == block_type::fc ||
                        f.block_type == block_type::fb || f.block_type == block_type::db ||
                        f.block_type == block_type::sdb;
  if (!b.has_filename || f.file_id != '_' || !loadable || f.number > 0xFFFF) {
    job_error(p.hdr, {}, s7::error_code::sdb_not_interpretable, out);
    return;
  }
  dl_ = download{};
  dl_.filename.assign(f.raw.begin(), f.raw.end());
  dl_.type = f.block_type;
  dl_.number = static_cast<std::uint16_t>(f.number);
  if (b.load_memory_length.size() == 6) {
    std::uint32_t v = 0;
    bool ok = true;
    for (std::byte c : b.load_memory_length) {
      const std::uint8_t x = u8(c);
      if (x < '0' || x > '9') ok = false;
      v = v * 10U + static_cast<std::uint32_t>(x - '0');
    }
    if (ok) dl_.load_length = v;
  }
  if (const s7_error e = st_.check_download(dl_.type, dl_.number, dl_.load_length); e != 0) {
    dl_ = download{};
    job_error(p.hdr, {}, e, out);  // too many blocks / load memory full (memory_limits.hpp)
    return;
  }
  const std::array<std::byte, 1> prm_ack{std::byte{0x1A}};
  ack(p.hdr, prm_ack, {}, out);
  log(log_level::info, "download of {} {} ({} bytes announced) started", block_type_name(dl_.type),
      dl_.number, dl_.load_length);
  dl_.stage = dl_stage::wait_block;
  send_download_job(s7::function::download_block, 0, out);
}

void services::send_download_job(s7::function fn, std::uint16_t error, pdu_sink& out) {
  s7::block_control bc;
  bc.word = error;  // Download Ended carries an error code here
  bc.filename.raw = dl_.filename;
  std::array<std::byte, 32> prm{};
  writer w{prm};
  s7::write_block_control_job(w, fn, bc);
  const auto n = w.finish();
  s7::header h;
  h.type = s7::rosctr::job;
  h.pdu_ref = next_job_ref_;
  dl_.outstanding = next_job_ref_;
  // The captured CPU numbers its jobs 0x0100, 0x0300, 0x0500, 0x0700 (frames 46-55).
  next_job_ref_ = static_cast<std::uint16_t>(next_job_ref_ + 0x0200U);
  out.send(h, bytes{prm.data(), n ? *n : 0}, {});
}

bool services::on_ack(const s7::pdu& p, bytes raw, std::uint16_t /*pdu_size*/, pdu_sink& out) {
  if (dl_.stage == dl_stage::idle || p.hdr.pdu_ref != dl_.outstanding) return false;
  const auto m = s7::decode(raw);
  const std::uint8_t fn = m && !m->p.param.empty() ? u8(m->p.param[0]) : 0;
  const bool block_ack = dl_.stage == dl_stage::wait_block;
  if (!m || p.hdr.type != s7::rosctr::ack_data || p.hdr.error() != 0 ||
      fn != static_cast<std::uint8_t>(block_ack ? s7::function::download_block
                                                : s7::function::download_ended)) {
    log(log_level::warn,
        "download of {} {} abandoned: the client answered our job with {} (error 0x{:04X})",
        block_type_name(dl_.type), dl_.number,
        m ? fmt::format("function 0x{:02X}", fn) : describe(m.err()), p.hdr.error());
    dl_ = download{};
    return true;
  }
  if (!block_ack) {
    // The PG acknowledged Download Ended: the block is in load memory, passive until _INSE.
    log(log_level::info, "download of {} {} complete ({} bytes)", block_type_name(dl_.type),
        dl_.number, dl_.data.size());
    dl_ = download{};
    return true;
  }
  const auto bd = s7::parse_block_data(m->p.data, m->p.origin);
  if (bd) dl_.data.insert(dl_.data.end(), bd->payload.begin(), bd->payload.end());
  const bool more = (m->prm.block.status & 0x01U) != 0;
  const std::size_t limit = dl_.load_length != 0 ? dl_.load_length : 0x10000U + 72U;
  if (!bd || dl_.data.size() > limit) {
    dl_.stage = dl_stage::wait_ended;
    send_download_job(s7::function::download_ended, s7::error_code::incorrect_block_lengths, out);
    dl_.data.clear();
    return true;
  }
  if (more) {
    send_download_job(s7::function::download_block, 0, out);
    return true;
  }
  // Whole block received: check it is the MC7 block the request announced.
  block_meta meta;
  std::string why;
  std::uint16_t error = 0;
  if (!mc7_header_to_meta(dl_.data, meta, why)) {
    error = s7::error_code::incorrect_block_lengths;
  } else if (meta.type != dl_.type || meta.number != dl_.number) {
    why = fmt::format("the block is {} {}", block_type_name(meta.type), meta.number);
    error = s7::error_code::incorrect_block_lengths;
  } else if (dl_.load_length != 0 && dl_.load_length != dl_.data.size()) {
    why = fmt::format("{} bytes received, {} announced", dl_.data.size(), dl_.load_length);
    error = s7::error_code::incorrect_block_lengths;
  }
  if (error != 0) {
    log(log_level::warn, "download of {} {} rejected: {}", block_type_name(dl_.type), dl_.number,
        why);
  } else {
    error = st_.add_passive_block(dl_.type, dl_.number,
                                  std::move(dl_.data));  // 0 or a memory limit's error
  }
  dl_.stage = dl_stage::wait_ended;
  send_download_job(s7::function::download_ended, error, out);
  return true;
}

// Start upload: 1D 00 0000 00000000 09 "_0A00001A"; answer 1D 00 0000 <upload id> 07 "0000500"
// (the block length as ASCII digits; nodes7 checks the uploaded bytes against it, snap7 takes the
// upload id from the last byte of the id field).
// The captured S7-300 gave every upload of a connection the id 7, one after the other
// (snap7_s300_everything.pcapng, frames 18, 26, 32, 38): the smallest id from 7 that no upload in
// progress holds.
std::uint32_t services::free_upload_id() const {
  std::uint32_t id = first_upload_id;
  while (std::any_of(uploads_.begin(), uploads_.end(), [&](const upload& u) { return u.id == id; }))
    ++id;
  return id;
}

// A refused Start upload: an Ack (no parameter) with the error, as the captured S7-300 refused
// the upload of OB 0 (snap7_s300_everything.pcapng frame 44: Ack, 0xD20C).
void services::refuse_upload(const s7::header& req, std::uint16_t error, pdu_sink& out) {
  job_error(req, {}, error, out, s7::rosctr::ack);
}

void services::start_upload(const s7::pdu& p, const s7::param& prm, pdu_sink& out) {
  const auto& f = prm.block.filename;
  if (effective_protection() >= 3) {
    refuse_upload(p.hdr, s7::error_code::protection_level, out);
    return;
  }
  if (!prm.block.has_filename || !f.valid || f.number > 0xFFFF) {
    refuse_upload(p.hdr, s7::error_code::blocks_not_found, out);
    return;
  }
  const auto number = static_cast<std::uint16_t>(f.number);
  if (f.block_type == block_type::ob && !ob_has_priority_class(number)) {
    refuse_upload(p.hdr, s7::error_code::no_priority_class, out);
    return;
  }
  auto file = st_.block_mc7(f.block_type, number);
  if (!file) {
    refuse_upload(p.hdr, s7::error_code::blocks_not_found, out);
    return;
  }
  if (uploads_.size() >= max_parallel_uploads) {
    refuse_upload(p.hdr, s7::error_code::no_parallel_upload, out);
    return;
  }
  upload u;
  u.id = free_upload_id();
  u.block = std::move(*file);
  const std::string len = fmt::format("{:07}", u.block.size());
  s7::block_control bc;
  bc.word = s7::start_upload_answer_word;
  bc.upload_id = u.id;
  bc.block_length = bytes{reinterpret_cast<const std::byte*>(len.data()), len.size()};
  std::array<std::byte, 32> prmb{};
  writer w{prmb};
  s7::write_block_control_ack(w, s7::function::start_upload, bc, true);
  const auto n = w.finish();
  log(log_level::info, "upload {} of {} {} ({} bytes) started", u.id, block_type_name(f.block_type),
      f.number, u.block.size());
  uploads_.push_back(std::move(u));
  ack(p.hdr, bytes{prmb.data(), n ? *n : 0}, {}, out);
}

void services::upload_block(const s7::pdu& p, const s7::param& prm, std::uint16_t pdu_size,
                            pdu_sink& out) {
  const auto it = std::find_if(uploads_.begin(), uploads_.end(),
                               [&](const upload& u) { return u.id == prm.block.upload_id; });
  if (it == uploads_.end()) {
    job_error(p.hdr, {}, s7::error_code::invalid_sequence, out);
    return;
  }
  // Ack_Data: header 12 + parameter 2 + | length | 00 FB | + bytes <= PDU.
  const std::size_t room = pdu_size - 18U;
  const std::size_t n = std::min(room, it->block.size() - it->offset);
  const bool more = it->offset + n < it->block.size();
  std::vector<std::byte> data(4 + n);
  writer w{data};
  s7::write_block_data(w, bytes{it->block.data() + it->offset, n});
  it->offset += n;
  const std::array<std::byte, 2> prm_ack{std::byte{0x1E},
                                         std::byte{static_cast<std::uint8_t>(more ? 1 : 0)}};
  ack(p.hdr, prm_ack, data, out);
}

void services::end_upload(const s7::pdu& p, const s7::param& prm, pdu_sink& out) {
  const auto it = std::find_if(uploads_.begin(), uploads_.end(),
                               [&](const upload& u) { return u.id == prm.block.upload_id; });
  if (it == uploads_.end()) {
    job_error(p.hdr, {}, s7::error_code::invalid_sequence, out);
    return;
  }
  uploads_.erase(it);
  const std::array<std::byte, 1> prm_ack{std::byte{0x1F}};
  ack(p.hdr, prm_ack, {}, out);
}

// PI-Service: 28 + 7 bytes + param block length + param block + name length + name.
//   _INSE / _DELE: param block | count | 00 | count x "0A00001P" | (download capture frame 58)
//   P_PROGRAM: empty (snap7 PlcHotStart) or "C " (PlcColdStart) -> RUN
//   _MODU (copy RAM to ROM, param "EP"), _GARB (compress)
// Success: Ack_Data "28" (frame 59).
void services::pi_service(const s7::pdu& p, const s7::param& prm, pdu_sink& out) {
  const std::string_view name = name_of(prm.pi.service_name);
  const std::array<std::byte, 1> ok{std::byte{0x28}};
  const auto refuse = [&](std::uint16_t err, std::uint8_t para) {
    const std::array<std::byte, 2> prm_err{std::byte{0x28}, std::byte{para}};
    job_error(p.hdr, prm_err, err, out);
  };
  const bool changes_program = name == "_INSE" || name == "_INS2" || name == "_DELE" ||
                               name == "_MODU" || name == "_GARB" || name == "P_PROGRAM";
  if (changes_program && effective_protection() >= 2) {
    refuse(s7::error_code::protection_level, 0x00);
    return;
  }
  if (name == "P_PROGRAM") {
    const bool cold = s7::pi_restart_of(prm.pi.param_block) == s7::restart::cold;
    // Already in RUN: snap7's PlcHotStart/PlcColdStart read function status 0x03 as "already run".
    if (!st_.set_mode(operating_mode::run,
                      cold ? "P_PROGRAM cold start" : "P_PROGRAM warm/hot start")) {
      refuse(s7::error_code::mode_already_set, 0x03);
      return;
    }
    ack(p.hdr, ok, {}, out);
    return;
  }
  if (name == "_MODU") {
    st_.note_copy_ram_to_rom();
    log(log_level::info, "copy RAM to ROM (_MODU)");
    ack(p.hdr, ok, {}, out);
    return;
  }
  if (name == "_GARB") {
    st_.note_compress();
    log(log_level::info, "compress memory (_GARB)");
    ack(p.hdr, ok, {}, out);
    return;
  }
  if (name == "_INSE" || name == "_INS2" || name == "_DELE") {
    if (const s7_error e = pi_block_list(name == "_DELE", prm.pi.param_block); e != 0) {
      refuse(e, 0x00);
      return;
    }
    ack(p.hdr, ok, {}, out);
    return;
  }
  log(log_level::info, "PI service \"{}\": not supported, error 0x8104", name);
  job_error(p.hdr, {}, s7::error_code::not_implemented, out);
}

s7_error services::pi_block_list(bool remove, codec::bytes param_block) {
  const auto list = s7::parse_pi_block_list(param_block, param_block.data());
  // A list that is not one: syntax error in function parameters; a bad name: in block name.
  if (!list)
    return list.err().code == codec::errc::param_bad_filename ? s7::error_code::block_name_syntax
                                                              : s7::error_code::param_syntax;
  for (std::size_t i = 0; i < list->count; ++i) {
    const auto bn = list->at(i);
    if (bn.number > 0xFFFF) return s7::error_code::block_name_syntax;
    const auto num = static_cast<std::uint16_t>(bn.number);
    const s7_error e =
        remove ? st_.delete_block(bn.block_type, num) : st_.insert_block(bn.block_type, num);
    if (e != 0) return e;
  }
  return 0;
}

// PLC Stop: 29 + 5 bytes + 09 "P_PROGRAM"; Ack_Data "29". In STOP already: error with function
// status 0x07, which snap7's PlcStop reports as "already in STOP".
void services::plc_stop(const s7::pdu& p, const s7::param& prm, pdu_sink& out) {
  if (name_of(prm.stop.service_name) != "P_PROGRAM") {
    job_error(p.hdr, {}, s7::error_code::not_implemented, out);
    return;
  }
  if (effective_protection() >= 2) {
    const std::array<std::byte, 2> prm_err{std::byte{0x29}, std::byte{0x00}};
    job_error(p.hdr, prm_err, s7::error_code::protection_level, out);
    return;
  }
  if (!st_.set_mode(operating_mode::stop, "PLC stop (job 0x29)")) {
    const std::array<std::byte, 2> prm_err{std::byte{0x29}, std::byte{0x07}};
    job_error(p.hdr, prm_err, s7::error_code::mode_already_set, out);
    return;
  }
  const std::array<std::byte, 1> ok{std::byte{0x29}};
  ack(p.hdr, ok, {}, out);
}

}  // namespace protos7::server
