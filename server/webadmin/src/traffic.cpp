#include "protos7/webadmin/traffic.hpp"

#include <fmt/core.h>

#include <array>
#include <cmath>
#include <cstring>
#include <ctime>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/names.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/s7_peek.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/transport.hpp"
#include "protos7/server/config.hpp"
#include "protos7/server/session.hpp"

namespace protos7::webadmin {

namespace cotp = codec::cotp;
namespace s7 = codec::s7;
using json = nlohmann::json;
using bytes = codec::bytes;

namespace {

constexpr std::uint8_t u8(std::byte b) noexcept {
  return std::to_integer<std::uint8_t>(b);
}

// Wireshark's names (codec names.hpp), but for three the web admin has always spelled its own
// way (its API returns them; api_test checks "Setup Communication").
std::string function_name(std::uint8_t fn) {
  switch (static_cast<s7::function>(fn)) {
    case s7::function::setup_communication:
      return "Setup Communication";
    case s7::function::pi_service:
      return "PI service";
    case s7::function::plc_stop:
      return "PLC stop";
    default:
      break;
  }
  const std::string_view n = codec::names::function(fn);
  return n.empty() ? fmt::format("function 0x{:02X}", fn) : std::string(n);
}

// The subfunctions the web admin names, with Wireshark's names (codec names.hpp); the others by
// number within their group.
std::string userdata_name(std::uint8_t group, std::uint8_t sub) {
  namespace ud = s7::ud;
  const auto named = [&](std::string_view what) {
    return std::string(codec::names::userdata_subfunction(group, sub, what));
  };
  switch (static_cast<ud::group>(group)) {
    case ud::group::cpu:
      if (sub == ud::sub::read_szl || sub == ud::sub::message_service) return named({});
      return fmt::format("CPU function 0x{:02X}", sub);
    case ud::group::time:
      if (sub == ud::sub::read_clock || sub == ud::sub::set_clock || sub == ud::sub::set_clock_2 ||
          sub == ud::sub::read_clock_following)
        return named({});
      return fmt::format("Time function 0x{:02X}", sub);
    case ud::group::block:
      if (sub == ud::sub::list_blocks || sub == ud::sub::list_blocks_of_type ||
          sub == ud::sub::block_info)
        return named({});
      return fmt::format("Block function 0x{:02X}", sub);
    case ud::group::security:
      if (sub == ud::sub::password) return named({});
      return fmt::format("Security function 0x{:02X}", sub);
    case ud::group::cyclic:
      return fmt::format("Cyclic data 0x{:02X}", sub);
    case ud::group::programmer:
      return fmt::format("Programmer command 0x{:02X}", sub);
    case ud::group::mode_transition:
      return "Mode transition";
    default:
      return fmt::format("Userdata group {} function 0x{:02X}", group, sub);
  }
}

std::string return_code_name(std::uint8_t rc) {
  namespace rcn = s7::return_code;
  switch (rc) {
    case rcn::success:
      return "success";
    case rcn::hardware_error:
      return "hardware error";
    case rcn::access_denied:
      return "access denied";
    case rcn::invalid_address:
      return "address out of range";
    case rcn::type_not_supported:
      return "data type not supported";
    case rcn::type_inconsistent:
      return "data type inconsistent";
    case rcn::object_does_not_exist:
      return "object does not exist";
    default:
      return "unknown return code";
  }
}

std::string header_error_name(std::uint16_t e) {
  namespace ec = s7::error_code;
  switch (e) {
    case ec::wrong_frames:
      return "PDU too large or malformed";
    case ec::not_implemented:
      return "service not implemented / not allowed now";
    case ec::service_unknown:
      return "unknown service";
    case ec::not_permitted_in_mode:
      return "not permitted in the current mode";
    case ec::mode_already_set:
      return "mode already set";
    case ec::protection_level:
      return "protection level too low";
    case ec::wrong_password:
      return "wrong password";
    case ec::info_unavailable:
    case ec::info_unavailable_2:
      return "information not available";
    case ec::illegal_szl_id:
      return "illegal SZL id";
    case ec::block_not_found:
      return "block not found";
    case ec::object_state:
      return "object state conflict";
    default:
      return "error";
  }
}

// STEP 7 notation of an S7ANY item: DB1.DBW0, M10.2, MB4, P#DB1.DBX0.0 BYTE 4, C5, T3.
std::string format_any(const s7::any_address& a) {
  const auto ts = static_cast<s7::transport_size>(a.tsize);
  const auto area = static_cast<s7::area>(a.area);
  if (area == s7::area::counters || area == s7::area::timers) {
    const std::string_view n = codec::names::area_mnemonic(a.area);  // C or T
    return a.count == 1 ? fmt::format("{}{}", n, a.address)
                        : fmt::format("{}{}..{}{}", n, a.address, n, a.address + a.count - 1U);
  }
  std::string prefix;
  std::string space;  // "DB1.DB" or "M" ...
  switch (area) {
    case s7::area::db:
      prefix = fmt::format("DB{}.DB", a.db);
      break;
    case s7::area::di:
      prefix = fmt::format("DI{}.DI", a.db);
      break;
    default: {  // I, Q, M, P, L, V (names.hpp)
      const std::string_view m = codec::names::area_mnemonic(a.area);
      prefix = m.empty() ? fmt::format("area 0x{:02X} ", a.area) : std::string(m);
      break;
    }
  }
  const std::uint32_t byte = a.byte_offset();
  if (ts == s7::transport_size::bit && a.count == 1)
    return fmt::format("{}X{}.{}", prefix, byte, a.bit());
  if (a.count == 1) {
    switch (s7::element_size(a.tsize)) {
      case 1:
        return fmt::format("{}B{}", prefix, byte);
      case 2:
        return fmt::format("{}W{}", prefix, byte);
      case 4:
        return fmt::format("{}D{}", prefix, byte);
      default:
        break;
    }
  }
  const std::string_view known = codec::names::transport_size_mnemonic(a.tsize);
  const std::string tname = known.empty() ? fmt::format("0x{:02X}", a.tsize) : std::string(known);
  // P#DB1.DBX0.0 BYTE 4: the ANY pointer; "DB1.DB" becomes "DB1.DBX".
  return fmt::format("P#{}X{}.{} {} {}", prefix, byte, a.bit(), tname, a.count);
}

// | SZL-ID | index | of a Read SZL request (at least 4 bytes, checked by the caller).
std::string szl_text(bytes payload) {
  codec::reader r{payload, codec::layer::szl};
  const std::uint16_t id = r.u16be();
  const std::uint16_t index = r.u16be();
  return fmt::format("SZL 0x{:04X} index 0x{:04X}", id, index);
}

std::string hex_preview(bytes b) {
  std::string s;
  const std::size_t n = std::min<std::size_t>(b.size(), 8);
  for (std::size_t i = 0; i < n; ++i) s += fmt::format("{}{:02X}", i == 0 ? "" : " ", u8(b[i]));
  if (b.size() > n) s += fmt::format(" … ({} bytes)", b.size());
  return s;
}

std::string tsap_text(bytes t) {
  if (t.empty()) return "";
  std::string s;
  for (std::size_t i = 0; i < t.size(); ++i)
    s += fmt::format("{}{:02X}", i == 0 ? "" : ".", u8(t[i]));
  return s;
}

// The items of a Job as the log shows them (decoded leniently: unknown syntax ids are named).
void describe_job(const s7::message& m, std::uint8_t fn, std::vector<std::string>& items) {
  if (fn == static_cast<std::uint8_t>(s7::function::setup_communication)) {
    items.push_back(fmt::format("PDU {}, AmQ {}/{}", m.prm.setup.pdu_length,
                                m.prm.setup.max_amq_calling, m.prm.setup.max_amq_called));
  } else if (fn == static_cast<std::uint8_t>(s7::function::read_var) ||
             fn == static_cast<std::uint8_t>(s7::function::write_var)) {
    const bool write = fn == static_cast<std::uint8_t>(s7::function::write_var);
    auto it = m.prm.var_specs(m.p.origin);
    s7::data_item_iterator data{m.p.data, m.prm.item_count, m.p.origin};
    s7::var_spec v;
    while (it.next(v)) {
      std::string item = v.syntax == static_cast<std::uint8_t>(s7::syntax_id::s7any)
                             ? format_any(v.any)
                             : fmt::format("syntax id 0x{:02X}", v.syntax);
      s7::data_item d;
      if (write && data.next(d)) item += " ← " + hex_preview(d.data);
      items.push_back(std::move(item));
    }
  } else if (fn == static_cast<std::uint8_t>(s7::function::pi_service)) {
    items.emplace_back(reinterpret_cast<const char*>(m.prm.pi.service_name.data()),
                       m.prm.pi.service_name.size());
  }
}

// Kind, function and items of a request PDU.
void describe_request(bytes pdu, request_record& r) {
  const auto head = s7::parse(pdu);
  if (!head) {
    r.kind = "?";
    r.function = "not an S7 PDU";
    return;
  }
  s7::decode_options opt;
  opt.params.items.allow_unknown_syntax = true;
  const auto m = s7::decode(pdu, nullptr, opt);
  if (head->hdr.type == s7::rosctr::job) {
    r.kind = "Job";
    const std::uint8_t fn = s7::peek(pdu).function;  // 0 when the parameter is empty
    r.function = function_name(fn);
    if (!m)
      r.items.push_back("malformed: " + std::string(codec::to_string(m.err().code)));
    else
      describe_job(*m, fn, r.items);
    return;
  }
  r.kind = "Userdata";
  if (!m) {
    r.function = "Userdata";
    r.items.push_back("malformed: " + std::string(codec::to_string(m.err().code)));
    return;
  }
  r.function = userdata_name(m->ud.prm.group, m->ud.prm.subfunction);
  const auto& pl = m->ud.data.payload;
  if (m->ud.prm.group == static_cast<std::uint8_t>(s7::ud::group::cpu) &&
      m->ud.prm.subfunction == s7::ud::sub::read_szl && pl.size() >= 4)
    r.items.push_back(szl_text(pl));
}

// The item return codes of a Read / Write Var answer, as text ("" when all succeeded).
std::string item_results(const s7::message& m, bool& ok) {
  std::string result;
  std::size_t bad = 0;
  std::size_t i = 0;
  const auto note = [&](std::uint8_t code) {
    ++i;
    if (code == s7::return_code::success) return;
    if (++bad <= 4)
      result += fmt::format("{}item {}: {} (0x{:02X})", result.empty() ? "" : "; ", i,
                            return_code_name(code), code);
  };
  if (m.prm.fn == static_cast<std::uint8_t>(s7::function::read_var)) {
    s7::data_item_iterator it{m.p.data, m.prm.item_count, m.p.origin};
    s7::data_item d;
    while (it.next(d)) note(d.return_code);
  } else if (m.prm.fn == static_cast<std::uint8_t>(s7::function::write_var)) {
    codec::reader r{m.p.data, codec::layer::s7_data};
    while (!r.empty()) note(r.u8());
  }
  if (bad > 4) result += fmt::format("; {} more", bad - 4);
  ok = bad == 0;
  return result;
}

// The result text of a reply and whether the request succeeded.
std::string describe_reply(bytes pdu, bool& ok) {
  ok = false;
  const auto head = s7::parse(pdu);
  if (!head) return "reply does not decode";
  if (head->hdr.type == s7::rosctr::ack || head->hdr.type == s7::rosctr::ack_data) {
    if (const std::uint16_t e = head->hdr.error(); e != 0)
      return fmt::format("error 0x{:04X}: {}", e, header_error_name(e));
    s7::decode_options opt;
    opt.params.items.allow_unknown_syntax = true;
    const auto m = s7::decode(pdu, nullptr, opt);
    if (!m) return "reply does not decode";
    if (m->prm.fn == static_cast<std::uint8_t>(s7::function::setup_communication)) {
      ok = true;
      return fmt::format("OK: PDU {}, AmQ {}/{}", m->prm.setup.pdu_length,
                         m->prm.setup.max_amq_calling, m->prm.setup.max_amq_called);
    }
    const std::string items = item_results(*m, ok);
    return ok ? "OK" : items;
  }
  const auto m = s7::decode(pdu);
  if (!m) return "reply does not decode";
  if (m->ud.prm.error_code != 0)
    return fmt::format("error 0x{:04X}: {}", m->ud.prm.error_code,
                       header_error_name(m->ud.prm.error_code));
  if (m->ud.has_data && m->ud.data.return_code != s7::return_code::success)
    return fmt::format("{} (0x{:02X})", return_code_name(m->ud.data.return_code),
                       m->ud.data.return_code);
  ok = true;
  return "OK";
}

}  // namespace

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

// A request as the tap keeps it on the event loop: its PDU's bytes and those of the reply, in
// buffers allocated once. Nothing is decoded beyond the header or formatted here: the
// request_record the API shows is made from these bytes when it is asked for (requests_json).
struct traffic_monitor::captured {
  std::uint64_t seq = 0;
  std::chrono::steady_clock::time_point started;  // the wall-clock time: traffic_monitor::wall()
  int connection = 0;
  std::array<char, 64> peer{};  // "address:port", cut to fit (IPv6 with port fits)
  std::size_t peer_len = 0;
  std::uint16_t pdu_ref = 0;
  std::array<std::byte, server::max_pdu_size> request{};
  std::size_t request_len = 0;
  std::array<std::byte, server::max_pdu_size> reply{};
  std::size_t reply_len = 0;
  outcome how = outcome::pending;
  double duration_ms = 0;

  [[nodiscard]] bytes request_pdu() const noexcept { return {request.data(), request_len}; }
  [[nodiscard]] bytes reply_pdu() const noexcept { return {reply.data(), reply_len}; }
};

struct traffic_monitor::conn {
  int id = 0;
  std::string peer;
  std::chrono::system_clock::time_point connected_at;
  std::chrono::steady_clock::time_point last_request_at;
  std::string state = "TCP";
  std::string calling_tsap;
  std::string called_tsap;
  std::string connection_type;
  int rack = -1;
  int slot = -1;
  std::uint16_t pdu_size = 0;
  std::uint64_t requests = 0;
  std::uint64_t reads = 0;
  std::uint64_t writes = 0;
  std::uint64_t userdata = 0;
  std::uint64_t errors = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  // Requests awaiting their reply; slots are reused (grown once up to max_pending_per_connection).
  std::vector<std::unique_ptr<captured>> pending;
  std::size_t pending_used = 0;
};

traffic_monitor::traffic_monitor()
    : wall_origin_(std::chrono::system_clock::now()),
      steady_origin_(std::chrono::steady_clock::now()) {
  log_.reserve(request_log_size);
  for (std::size_t i = 0; i < request_log_size; ++i) log_.push_back(std::make_unique<captured>());
}
traffic_monitor::~traffic_monitor() = default;

void traffic_monitor::on_open(int id, const std::string& peer) {
  auto c = std::make_unique<conn>();
  c->id = id;
  c->peer = peer;
  c->connected_at = std::chrono::system_clock::now();
  conns_[id] = std::move(c);
  ++total_connections_;
  ++generation_;
}

void traffic_monitor::on_close(int id) {
  const auto it = conns_.find(id);
  if (it == conns_.end()) return;
  conn& c = *it->second;
  while (c.pending_used > 0) retire(c, 0, outcome::closed, {});
  conns_.erase(it);
  ++generation_;
}

std::chrono::system_clock::time_point traffic_monitor::wall(
    std::chrono::steady_clock::time_point t) const {
  return wall_origin_ +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(t - steady_origin_);
}

traffic_monitor::conn* traffic_monitor::find(int id) noexcept {
  const auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

void traffic_monitor::on_traffic(int id, std::span<const std::byte> in,
                                 std::span<const std::byte> out) {
  conn* c = find(id);
  if (c == nullptr) return;
  c->bytes_in += in.size();
  c->bytes_out += out.size();
}

void traffic_monitor::on_event(int id, const server::session_event& e) {
  conn* found = find(id);
  if (found == nullptr) return;
  conn& c = *found;
  using kind = server::session_event::kind;
  switch (e.what) {
    case kind::connect_request:
      on_connect_request(c, *e.cr);
      break;
    case kind::connected:
      c.state = "COTP";
      ++generation_;
      break;
    case kind::request:
      on_client_pdu(c, e);
      break;
    case kind::reply:
      on_server_pdu(c, e);
      break;
    case kind::transport_error:
      break;
  }
}

void traffic_monitor::on_connect_request(conn& c, const cotp::tpdu& t) {
  c.calling_tsap = tsap_text(t.params.calling_tsap);
  c.called_tsap = tsap_text(t.params.called_tsap);
  cotp::s7_tsap called{};
  if (!cotp::decode_s7_tsap(t.params.called_tsap, called)) return;
  c.rack = called.rack;
  c.slot = called.slot;
  c.connection_type = called.connection_type == 1   ? "PG"
                      : called.connection_type == 2 ? "OP"
                      : called.connection_type == 3
                          ? "S7 basic"
                          : fmt::format("0x{:02X}", called.connection_type);
}

// The next slot for a request of `c` (the oldest pending one retired when all are in use).
traffic_monitor::captured& traffic_monitor::take_slot(conn& c) {
  if (c.pending_used == max_pending_per_connection) {
    std::size_t oldest = 0;
    for (std::size_t i = 1; i < c.pending_used; ++i)
      if (c.pending[i]->seq < c.pending[oldest]->seq) oldest = i;
    retire(c, oldest, outcome::no_reply, {});
  }
  if (c.pending_used == c.pending.size()) c.pending.push_back(std::make_unique<captured>());
  return *c.pending[c.pending_used++];
}

// Moves pending request `i` of `c` into the log, with its reply (if any).
void traffic_monitor::retire(conn& c, std::size_t i, outcome how, bytes reply,
                             std::chrono::steady_clock::time_point at) {
  captured& r = *c.pending[i];
  r.how = how;
  r.reply_len = std::min(reply.size(), r.reply.size());
  if (r.reply_len != 0) std::memcpy(r.reply.data(), reply.data(), r.reply_len);
  if (how == outcome::answered)
    r.duration_ms = std::chrono::duration<double, std::milli>(at - r.started).count();
  std::swap(c.pending[i], log_[log_next_]);  // the log's oldest slot becomes a free pending slot
  log_next_ = (log_next_ + 1) % log_.size();
  log_count_ = std::min(log_count_ + 1, log_.size());
  std::swap(c.pending[i], c.pending[c.pending_used - 1]);
  --c.pending_used;
  ++generation_;
}

std::chrono::steady_clock::time_point traffic_monitor::time_of(const server::session_event& e) {
  return e.at != std::chrono::steady_clock::time_point{} ? e.at : std::chrono::steady_clock::now();
}

void traffic_monitor::on_client_pdu(conn& c, const server::session_event& e) {
  const bytes pdu = e.pdu;
  const s7::peek_result pk = s7::peek(pdu);
  const bool request =
      pk.s7 && (pk.rosctr == static_cast<std::uint8_t>(s7::rosctr::job) ||
                (pk.rosctr == static_cast<std::uint8_t>(s7::rosctr::userdata) &&
                 (!pk.ud || pk.ud_type == static_cast<std::uint8_t>(s7::ud::type::request))));
  if (pk.s7 && !request) return;  // an Ack / Ack_Data or a Userdata response from a client
  ++c.requests;
  ++total_requests_;
  c.last_request_at = time_of(e);
  if (pk.s7 && pk.rosctr == static_cast<std::uint8_t>(s7::rosctr::job)) {
    if (pk.function == static_cast<std::uint8_t>(s7::function::read_var)) ++c.reads;
    if (pk.function == static_cast<std::uint8_t>(s7::function::write_var)) ++c.writes;
  } else if (pk.s7) {
    ++c.userdata;
  }
  if (pk.s7)
    for (std::size_t i = 0; i < c.pending_used; ++i)
      if (c.pending[i]->pdu_ref == pk.pdu_ref) {  // a reused reference: that one got no reply
        retire(c, i, outcome::no_reply, {});
        break;
      }
  captured& r = take_slot(c);
  r.seq = next_seq_++;
  r.started = c.last_request_at;
  r.connection = c.id;
  r.peer_len = std::min(c.peer.size(), r.peer.size());
  std::memcpy(r.peer.data(), c.peer.data(), r.peer_len);
  r.pdu_ref = pk.s7 ? pk.pdu_ref : 0;
  r.request_len = std::min(pdu.size(), r.request.size());
  std::memcpy(r.request.data(), pdu.data(), r.request_len);
  r.reply_len = 0;
  r.duration_ms = 0;
  r.how = outcome::pending;
  if (!pk.s7) {  // not an S7 PDU: the session closes the connection
    ++c.errors;
    retire(c, c.pending_used - 1, outcome::not_s7, {});
  }
}

void traffic_monitor::on_server_pdu(conn& c, const server::session_event& e) {
  const bytes pdu = e.pdu;
  const s7::peek_result pk = s7::peek(pdu);
  if (!pk.s7) return;
  const bool answer = pk.rosctr == static_cast<std::uint8_t>(s7::rosctr::ack) ||
                      pk.rosctr == static_cast<std::uint8_t>(s7::rosctr::ack_data) ||
                      (pk.rosctr == static_cast<std::uint8_t>(s7::rosctr::userdata) && pk.ud &&
                       pk.ud_type == static_cast<std::uint8_t>(s7::ud::type::response));
  if (!answer) return;
  for (std::size_t i = 0; i < c.pending_used; ++i) {
    if (c.pending[i]->pdu_ref != pk.pdu_ref) continue;
    const reply_facts f = e.decoded != nullptr ? reply_facts_of(*e.decoded, e.failed_items)
                                               : reply_facts_of(pk, e.failed_items, pdu);
    if (f.setup_pdu != 0) {
      c.pdu_size = f.setup_pdu;
      c.state = "S7";
    }
    if (!f.ok) ++c.errors;
    retire(c, i, outcome::answered, pdu, time_of(e));
    return;
  }
}

// A reply the session did not decode (its self check is off). A Read Var or Write Var answer
// whose failed items the session counted needs only its header; anything else is decoded here,
// into a scratch message (no allocation).
traffic_monitor::reply_facts traffic_monitor::reply_facts_of(const s7::peek_result& pk,
                                                             int failed_items, bytes pdu) {
  const bool var =
      pk.has_function && (pk.function == static_cast<std::uint8_t>(s7::function::read_var) ||
                          pk.function == static_cast<std::uint8_t>(s7::function::write_var));
  if (var && failed_items >= 0) return {.ok = pk.header_error() == 0 && failed_items == 0};
  s7::decode_options opt;
  opt.params.items.allow_unknown_syntax = true;
  if (s7::decode(pdu, scratch_, nullptr, opt)) return {};  // does not decode: an error
  return reply_facts_of(scratch_, -1);
}

// What the connection's statistics need of a decoded reply; `failed_items`: the session's count
// of a Read/Write Var reply's items answered with an error (-1: not known, counted here).
traffic_monitor::reply_facts traffic_monitor::reply_facts_of(const s7::message& m,
                                                             int failed_items) {
  reply_facts f;
  if (m.p.hdr.type == s7::rosctr::userdata) {
    f.ok = m.ud.prm.error_code == 0 &&
           (!m.ud.has_data || m.ud.data.return_code == s7::return_code::success);
    return f;
  }
  if (m.p.hdr.error() != 0) return f;
  if (m.p.hdr.type == s7::rosctr::ack_data &&
      m.prm.fn == static_cast<std::uint8_t>(s7::function::setup_communication))
    f.setup_pdu = m.prm.setup.pdu_length;
  f.ok = true;
  const bool var = m.prm.fn == static_cast<std::uint8_t>(s7::function::read_var) ||
                   m.prm.fn == static_cast<std::uint8_t>(s7::function::write_var);
  if (var && failed_items >= 0) {
    f.ok = failed_items == 0;
  } else if (m.prm.fn == static_cast<std::uint8_t>(s7::function::read_var)) {
    s7::data_item_iterator it{m.p.data, m.prm.item_count, m.p.origin};
    s7::data_item d;
    while (it.next(d))
      if (d.return_code != s7::return_code::success) f.ok = false;
  } else if (m.prm.fn == static_cast<std::uint8_t>(s7::function::write_var)) {
    codec::reader r{m.p.data, codec::layer::s7_data};
    while (!r.empty()) {
      const std::uint8_t code = r.u8();  // read first: && must not skip the read
      f.ok = f.ok && code == s7::return_code::success;
    }
  }
  return f;
}

// The request_record the API shows, made from the kept bytes.
request_record traffic_monitor::describe(const captured& c) {
  request_record r;
  describe_request(c.request_pdu(), r);
  switch (c.how) {
    case outcome::answered:
      r.result = describe_reply(c.reply_pdu(), r.ok);
      break;
    case outcome::closed:
      r.result = "no reply (connection closed)";
      break;
    case outcome::no_reply:
      r.result = "no reply seen";
      break;
    case outcome::not_s7:
      r.result = "connection closed by the server";
      break;
    case outcome::pending:
      break;
  }
  return r;
}

json traffic_monitor::clients_json() const {
  json a = json::array();
  for (const auto& [id, c] : conns_) {
    a.push_back({{"id", id},
                 {"peer", c->peer},
                 {"connected_at", iso_time(c->connected_at)},
                 {"state", c->state},
                 {"connection_type", c->connection_type},
                 {"calling_tsap", c->calling_tsap},
                 {"called_tsap", c->called_tsap},
                 {"rack", c->rack < 0 ? json() : json(c->rack)},
                 {"slot", c->slot < 0 ? json() : json(c->slot)},
                 {"pdu_size", c->pdu_size == 0 ? json() : json(c->pdu_size)},
                 {"requests", c->requests},
                 {"reads", c->reads},
                 {"writes", c->writes},
                 {"userdata", c->userdata},
                 {"errors", c->errors},
                 {"bytes_in", c->bytes_in},
                 {"bytes_out", c->bytes_out},
                 {"last_request_at",
                  c->requests == 0 ? json() : json(iso_time(wall(c->last_request_at)))}});
  }
  return a;
}

json traffic_monitor::requests_json(std::size_t limit) const {
  json a = json::array();
  const std::size_t n = std::min(limit, log_count_);
  // Newest first.
  for (std::size_t i = 0; i < n; ++i) {
    const captured& c = *log_[(log_next_ + log_.size() - 1 - i) % log_.size()];
    const request_record r = describe(c);
    a.push_back({{"seq", c.seq},
                 {"time", iso_time(wall(c.started))},
                 {"connection", c.connection},
                 {"peer", std::string(c.peer.data(), c.peer_len)},
                 {"pdu_ref", c.pdu_ref},
                 {"kind", r.kind},
                 {"function", r.function},
                 {"items", r.items},
                 {"result", r.result},
                 {"ok", r.ok},
                 {"duration_ms", c.how == outcome::answered || c.how == outcome::not_s7
                                     ? json(std::round(c.duration_ms * 1000) / 1000)
                                     : json()}});
  }
  return a;
}

}  // namespace protos7::webadmin
