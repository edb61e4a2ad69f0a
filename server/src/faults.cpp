// Fault injection (faults.hpp): the rules engine, the session's hook and the output gates.
#include "protos7/server/faults.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/codec/writer.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/session.hpp"

namespace protos7::server {

namespace {

namespace cotp = codec::cotp;
namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
using codec::bytes;
using codec::writer;

// The request bytes a fault event keeps (the validator compares a retry with them).
constexpr std::size_t kept_request_bytes = 512;
// A reply rebuilt by a fault: at most the largest S7 PDU (16-bit lengths) ...
constexpr std::size_t max_rebuilt_pdu = 65535 + s7::long_header_size;

std::string_view function_name(std::uint8_t fn) {
  switch (static_cast<s7::function>(fn)) {
    case s7::function::setup_communication:
      return "Setup Communication";
    case s7::function::read_var:
      return "Read Var";
    case s7::function::write_var:
      return "Write Var";
    case s7::function::request_download:
      return "Request Download";
    case s7::function::download_block:
      return "Download Block";
    case s7::function::download_ended:
      return "Download Ended";
    case s7::function::start_upload:
      return "Start Upload";
    case s7::function::upload:
      return "Upload";
    case s7::function::end_upload:
      return "End Upload";
    case s7::function::pi_service:
      return "PI Service";
    case s7::function::plc_stop:
      return "PLC Stop";
    default:
      return "Job";
  }
}

bool is_db_area(std::uint8_t area) {
  return area == static_cast<std::uint8_t>(s7::area::db) ||
         area == static_cast<std::uint8_t>(s7::area::di);
}

// Whether an item of Read/Write Var is one the selector's area / db pick.
bool item_selected(const fault_selector& sel, const s7::var_spec& v) {
  if (!sel.area && !sel.db) return true;
  if (v.syntax != static_cast<std::uint8_t>(s7::syntax_id::s7any)) return false;
  if (sel.area && v.any.area != *sel.area) return false;
  return !sel.db || (is_db_area(v.any.area) && v.any.db == *sel.db);
}

void append(std::vector<std::byte>& out, bytes b) {
  out.insert(out.end(), b.begin(), b.end());
}

}  // namespace

// What the selectors look at in a request, decoded once.
struct fault_connection::request_info {
  bool decoded = false;  // the whole PDU decoded (else only `type` and `pdu_ref` may be known)
  bool is_request = false;
  s7::rosctr type = s7::rosctr::job;
  std::uint16_t pdu_ref = 0;
  std::optional<std::uint8_t> function;  // a Job
  bool userdata = false;                 // a Userdata request
  std::uint8_t group = 0, subfunction = 0, seq = 0;
  std::optional<std::uint16_t> szl_id, szl_index;
  bytes pdu;
  std::string text;
};

// --- fault_engine --------------------------------------------------------------------------

fault_engine::fault_engine(std::string plc_name) : plc_(std::move(plc_name)) {}
fault_engine::~fault_engine() = default;

void fault_engine::set_rules(fault_rules r) {
  rules_ = std::move(r);
  counters_.assign(rules_.rules.size(), {});
  rng_.clear();
  for (std::size_t i = 0; i < rules_.rules.size(); ++i)
    rng_.emplace_back(rules_.seed + 0x9E3779B97F4A7C15ULL * (i + 1));
  enabled_at_.assign(rules_.rules.size(), clock::now());
  update_hooks();
  log(log_level::info, "fault injection: {} rule(s), {} enabled", rules_.rules.size(),
      std::count_if(rules_.rules.begin(), rules_.rules.end(),
                    [](const fault_rule& x) { return x.enabled; }));
}

bool fault_engine::set_enabled(std::string_view name, bool enabled) {
  for (std::size_t i = 0; i < rules_.rules.size(); ++i) {
    if (fault_rule_label(rules_, i) != name) continue;
    if (enabled && !rules_.rules[i].enabled) enabled_at_[i] = clock::now();
    rules_.rules[i].enabled = enabled;
    update_hooks();
    log(log_level::info, "fault rule \"{}\" {}", name, enabled ? "enabled" : "disabled");
    return true;
  }
  return false;
}

void fault_engine::update_hooks() {
  active_ = std::any_of(rules_.rules.begin(), rules_.rules.end(),
                        [](const fault_rule& r) { return r.enabled; });
  for (fault_connection* c : connections_) c->s_.set_faults(active_ ? c : nullptr);
}

void fault_engine::reset_counters() {
  counters_.assign(rules_.rules.size(), {});
  by_kind_.clear();
  recent_.clear();
  total_.store(0);
}

void fault_engine::remove_listener(fault_listener* l) {
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), l), listeners_.end());
}

std::unique_ptr<fault_connection> fault_engine::attach(session& s, int id, const std::string& peer,
                                                       std::uint32_t ipv4) {
  auto c = std::make_unique<fault_connection>(*this, s, id, peer, ipv4);
  connections_.insert(c.get());
  if (active_) s.set_faults(c.get());
  return c;
}

bool fault_engine::base_match(const fault_rule& r, fault_event_kind kind, std::uint32_t ipv4,
                              clock::time_point now, std::size_t index) const {
  if (!r.enabled || r.when.event != kind) return false;
  if (!r.when.plc.empty() && r.when.plc != plc_) return false;
  if (r.when.client && !r.when.client->contains(ipv4)) return false;
  const auto since = now - enabled_at_[index];
  if (since < r.when.after) return false;
  return !r.when.until || since < *r.when.until;
}

template <class Matches>
std::optional<std::size_t> fault_engine::decide(fault_event_kind kind, std::uint32_t ipv4,
                                                Matches&& matches) {
  const auto now = clock::now();
  for (std::size_t i = 0; i < rules_.rules.size(); ++i) {
    const fault_rule& r = rules_.rules[i];
    if (!base_match(r, kind, ipv4, now, i) || !matches(r.when)) continue;
    fault_rule_counters& c = counters_[i];
    const std::uint64_t n = ++c.matched;
    if (r.when.nth != 0 && n != r.when.nth) continue;
    if (r.when.every != 0 && n % r.when.every != 0) continue;
    if (r.when.max != 0 && c.injected >= r.when.max) continue;
    if (r.when.probability < 1.0 &&
        std::uniform_real_distribution<double>(0.0, 1.0)(rng_[i]) >= r.when.probability)
      continue;
    ++c.injected;
    return i;
  }
  return std::nullopt;
}

std::uint32_t fault_engine::draw_jitter(std::size_t rule, std::uint32_t jitter) {
  if (jitter == 0) return 0;
  return std::uniform_int_distribution<std::uint32_t>(0, jitter)(rng_[rule]);
}

void fault_engine::record(fault_event ev) {
  ev.sequence = ++sequence_;
  ev.at = std::chrono::system_clock::now();
  for (std::string_view k : ev.kinds) ++by_kind_[std::string(k)];
  total_.fetch_add(1);
  log(log_level::info, "{}: fault injected by \"{}\": {} on {}", ev.peer, ev.rule_name, ev.action,
      ev.request);
  for (fault_listener* l : listeners_) l->on_fault(ev);
  recent_.push_back(std::move(ev));
  while (recent_.size() > recent_limit) recent_.pop_front();
}

bool fault_engine::refuse(int id, const std::string& peer, std::uint32_t ipv4) {
  if (!active_) return false;
  const auto rule =
      decide(fault_event_kind::accept, ipv4, [](const fault_selector&) { return true; });
  if (!rule) return false;
  fault_event ev;
  ev.when = clock::now();
  ev.connection = id;
  ev.peer = peer;
  ev.rule = *rule;
  ev.rule_name = fault_rule_label(rules_, *rule);
  ev.action = rules_.rules[*rule].act.describe();
  ev.kinds = rules_.rules[*rule].act.kinds();
  ev.event = fault_event_kind::accept;
  ev.request = "TCP connection";
  ev.reply_suppressed = true;
  ev.connection_ended = true;
  record(std::move(ev));
  return true;
}

std::optional<fault_engine::clock::time_point> fault_engine::next_wake() const {
  std::optional<clock::time_point> w;
  for (const fault_connection* c : gated_)
    if (const auto t = c->wake(); t && (!w || *t < *w)) w = t;
  return w;
}

// --- fault_connection: output gates ----------------------------------------------------------

fault_connection::fault_connection(fault_engine& engine, session& s, int id, std::string peer,
                                   std::uint32_t ipv4)
    : engine_(engine), s_(s), id_(id), peer_(std::move(peer)), ipv4_(ipv4) {}

fault_connection::~fault_connection() {
  s_.set_faults(nullptr);
  engine_.connections_.erase(this);
  engine_.gated_.erase(this);
}

std::size_t fault_connection::sendable(std::size_t out_sent, std::size_t avail,
                                       clock::time_point now) const noexcept {
  if (gates_.empty()) return avail;
  const gate& g = gates_.front();
  if (out_sent < g.begin) return std::min(avail, g.begin - out_sent);
  if (now < g.next) return 0;
  std::size_t n = std::min(avail, g.end - out_sent);
  if (g.chunk != 0) n = std::min(n, g.chunk);
  return n;
}

void fault_connection::sent(std::size_t out_sent, clock::time_point now) noexcept {
  while (!gates_.empty() && gates_.front().end <= out_sent) gates_.pop_front();
  if (gates_.empty()) {
    gated_ = false;
    engine_.gated_.erase(this);
    return;
  }
  gate& g = gates_.front();
  if (out_sent > g.begin && g.interval.count() > 0) g.next = now + g.interval;
}

bool fault_connection::waiting(std::size_t out_sent, clock::time_point now) const noexcept {
  return !gates_.empty() && out_sent >= gates_.front().begin && now < gates_.front().next;
}

std::optional<fault_connection::clock::time_point> fault_connection::wake() const noexcept {
  if (gates_.empty()) return std::nullopt;
  return gates_.front().next;
}

void fault_connection::hold(std::size_t begin, std::size_t end, const fault_action& a,
                            std::uint32_t delay_ms) {
  if (begin >= end || (delay_ms == 0 && a.tcp_segment == 0 && a.trickle_bytes == 0)) return;
  gate g;
  g.begin = begin;
  g.end = end;
  g.chunk = a.tcp_segment != 0 ? a.tcp_segment : a.trickle_bytes;
  g.interval = std::chrono::milliseconds(a.trickle_interval_ms);
  g.next = clock::now() + std::chrono::milliseconds(delay_ms);
  gates_.push_back(g);
  gated_ = true;
  engine_.gated_.insert(this);
}

// --- fault_connection: the session's hook ----------------------------------------------------

void fault_connection::on_tpdu(const codec::transport::event& e, std::vector<std::byte>& out) {
  if (e.tpdu.type == cotp::tpdu_type::cr && s_.current_state() == session::state::wait_cr) {
    on_connect(e, out);
  } else if (e.tpdu.type == cotp::tpdu_type::dt && e.completes_pdu && !e.pdu.empty() &&
             s_.current_state() != session::state::wait_cr) {
    on_request(e, out);
  } else {
    s_.process_tpdu(e, out);
  }
}

bool fault_connection::connection_matches(const fault_selector& s) const {
  return (!s.connection_type || *s.connection_type == connection_type_) &&
         (!s.tsap || *s.tsap == called_tsap_);
}

fault_event fault_connection::event_for(std::size_t rule, fault_event_kind kind) const {
  const fault_rules& rules = engine_.rules_;
  fault_event ev;
  ev.when = clock::now();
  ev.connection = id_;
  ev.peer = peer_;
  ev.rule = rule;
  ev.rule_name = fault_rule_label(rules, rule);
  ev.action = rules.rules[rule].act.describe();
  ev.kinds = rules.rules[rule].act.kinds();
  ev.event = kind;
  return ev;
}

void fault_connection::on_connect(const codec::transport::event& e, std::vector<std::byte>& out) {
  cotp::s7_tsap called{};
  if (cotp::decode_s7_tsap(e.tpdu.params.called_tsap, called)) {
    connection_type_ = called.connection_type;
    called_tsap_ = cotp::make_s7_tsap(called.connection_type, called.rack, called.slot);
  }
  const auto rule = engine_.decide(fault_event_kind::connect, ipv4_,
                                   [&](const fault_selector& s) { return connection_matches(s); });
  if (!rule) {
    s_.process_tpdu(e, out);
    return;
  }
  fault_event ev = event_for(*rule, fault_event_kind::connect);
  ev.request = "COTP CR";
  apply(*rule, ev, request_info{}, e, out);
}

fault_connection::request_info fault_connection::describe(bytes pdu) {
  request_info ri;
  ri.pdu = pdu;
  s7::decode_options opt;
  opt.params.items.allow_unknown_syntax = true;  // as the session decodes jobs
  opt.params.data.allow_nonzero_fill = true;
  if (const codec::error err = s7::decode(pdu, msg_, nullptr, opt)) {
    const auto h = s7::parse(pdu);
    if (h) {
      ri.type = h->hdr.type;
      ri.pdu_ref = h->hdr.pdu_ref;
      ri.is_request = h->hdr.type == s7::rosctr::job;
    }
    ri.text = fmt::format("a malformed S7 PDU ({})", codec::to_string(err.code));
    return ri;
  }
  ri.decoded = true;
  ri.type = msg_.p.hdr.type;
  ri.pdu_ref = msg_.p.hdr.pdu_ref;
  if (ri.type == s7::rosctr::job) {
    ri.is_request = true;
    ri.function = msg_.prm.fn;
    ri.text = fmt::format("{} (pdu_ref {}", function_name(msg_.prm.fn), ri.pdu_ref);
    if (msg_.prm.fn == 0x04 || msg_.prm.fn == 0x05)
      ri.text += fmt::format(", {} item(s)", msg_.prm.item_count);
    ri.text += ")";
  } else if (ri.type == s7::rosctr::userdata &&
             msg_.ud.prm.type == static_cast<std::uint8_t>(ud::type::request)) {
    ri.is_request = ri.userdata = true;
    ri.group = msg_.ud.prm.group;
    ri.subfunction = msg_.ud.prm.subfunction;
    ri.seq = msg_.ud.prm.seq;
    if (ri.group == static_cast<std::uint8_t>(ud::group::cpu) &&
        ri.subfunction == ud::sub::read_szl && msg_.ud.has_data)
      if (const auto r = codec::szl::parse_request(msg_.ud.data.payload, nullptr)) {
        ri.szl_id = r->id;
        ri.szl_index = r->index;
      }
    ri.text = ri.szl_id ? fmt::format("Read SZL 0x{:04X} index 0x{:04X} (pdu_ref {})", *ri.szl_id,
                                      *ri.szl_index, ri.pdu_ref)
                        : fmt::format("Userdata group {} subfunction {} (pdu_ref {})", ri.group,
                                      ri.subfunction, ri.pdu_ref);
  }
  return ri;
}

bool fault_connection::request_matches(const fault_selector& s, const request_info& ri) const {
  if (!connection_matches(s)) return false;
  if (s.function && ri.function != s.function) return false;
  if (s.userdata && !ri.userdata) return false;
  if (s.group && (!ri.userdata || ri.group != *s.group)) return false;
  if (s.subfunction && (!ri.userdata || ri.subfunction != *s.subfunction)) return false;
  if (s.szl_id && ri.szl_id != s.szl_id) return false;
  if (s.szl_index && ri.szl_index != s.szl_index) return false;
  if (!s.area && !s.db) return true;
  if (!ri.decoded || !ri.function || !s7::is_variable_function(*ri.function)) return false;
  auto it = msg_.prm.var_specs(nullptr);
  s7::var_spec v;
  while (it.next(v))
    if (item_selected(s, v)) return true;
  return false;
}

void fault_connection::on_request(const codec::transport::event& e, std::vector<std::byte>& out) {
  const request_info ri = describe(e.pdu);
  if (!ri.is_request) {
    s_.process_tpdu(e, out);
    return;
  }
  const auto rule = engine_.decide(fault_event_kind::request, ipv4_,
                                   [&](const fault_selector& s) { return request_matches(s, ri); });
  if (!rule) {
    s_.process_tpdu(e, out);
    return;
  }
  fault_event ev = event_for(*rule, fault_event_kind::request);
  ev.request = ri.text;
  ev.pdu_ref = ri.pdu_ref;
  ev.request_pdu.assign(e.pdu.begin(), e.pdu.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                           e.pdu.size(), kept_request_bytes)));
  apply(*rule, ev, ri, e, out);
}

void fault_connection::apply(std::size_t rule, fault_event& ev, const request_info& ri,
                             const codec::transport::event& e, std::vector<std::byte>& out) {
  const fault_rule& r = engine_.rules_.rules[rule];
  const fault_action& a = r.act;
  if (a.stop)
    s_.plc_.set_mode(operating_mode::stop, fmt::format("fault rule \"{}\"", ev.rule_name));
  ev.delay_ms = a.delay_ms + engine_.draw_jitter(rule, a.jitter_ms);
  const std::size_t begin = out.size();
  if (!end_reply(a, ev, ri, e, out)) {
    std::vector<std::byte>& reply = scratch_;
    reply.clear();
    if (a.header_error)
      answer_with_error(*a.header_error, ri, reply);
    else if (a.item_return_code)
      answer_with_item_codes(r, ri, e, reply);
    else
      s_.process_tpdu(e, reply);
    if (a.clamp_pdu != 0) clamp_pdu(a.clamp_pdu);
    reshape(a, ri, reply, out);
  }
  hold(begin, out.size(), a, ev.delay_ms);
  if (out.size() == begin) ev.reply_suppressed = true;
  engine_.record(std::move(ev));
}

// no_reply, close, reset and cotp_dr: nothing (or a DR) is sent instead of the reply. True when
// the action was one of them.
bool fault_connection::end_reply(const fault_action& a, fault_event& ev, const request_info& ri,
                                 const codec::transport::event& e, std::vector<std::byte>& out) {
  (void)ri;
  if (a.no_reply) {
    scratch_.clear();
    s_.process_tpdu(e, scratch_);  // executed; the reply is lost
    ev.reply_suppressed = true;
    return true;
  }
  if (!a.close && !a.reset && !a.cotp_dr) return false;
  ev.reply_suppressed = ev.connection_ended = true;
  if (a.cotp_dr) {
    // A DR answering a CR carries the CR's src-ref and src-ref 0 (ISO 8073 §13.5.3 d); later the
    // connection's references.
    const bool at_cr = e.tpdu.type == cotp::tpdu_type::cr;
    std::array<std::byte, 16> dr{};
    writer dw{dr};
    cotp::write_disconnect(dw, {cotp::tpdu_type::dr,
                                at_cr ? e.tpdu.src_ref : s_.peer_ref_,
                                at_cr ? std::uint16_t{0} : s_.local_ref_,
                                *a.cotp_dr,
                                {}});
    std::array<std::byte, 32> frame{};
    writer fw{frame};
    codec::transport::write_tpdu(fw, bytes{dr.data(), dw.size()});
    if (const auto n = fw.finish(); n && dw.finish()) append(out, bytes{frame.data(), *n});
  }
  reset_ = a.reset;
  s_.close(a.cotp_dr ? fmt::format("fault: sent COTP DR (reason 0x{:02X})", *a.cotp_dr)
                     : std::string(a.reset ? "fault: reset" : "fault: close"));
  return true;
}

// The request answered as a whole with an S7 error: an Ack_Data / Ack for a Job (as the session
// answers refused jobs), a Userdata response with the error in its parameter for Userdata.
void fault_connection::answer_with_error(std::uint16_t error, const request_info& ri,
                                         std::vector<std::byte>& out) {
  s7::header req;
  req.pdu_ref = ri.pdu_ref;
  if (!ri.userdata) {
    s_.reply_error(req, ri.function.value_or(0), error, out);
    return;
  }
  ud::param prm;
  prm.length = 8;
  prm.method = ud::method_response;
  prm.type = static_cast<std::uint8_t>(ud::type::response);
  prm.group = ri.group;
  prm.subfunction = ri.subfunction;
  prm.seq = ri.seq;
  prm.extended = true;
  prm.last_data_unit = ud::last_unit_yes;
  prm.error_code = error;
  std::array<std::byte, ud::long_param_length> pb{};
  writer pw{pb};
  ud::write_param(pw, prm);
  // "object does not exist" with no payload, the data unit of the CPU's Userdata errors.
  std::array<std::byte, 4> db{};
  writer dw{db};
  ud::write_data_unit(dw, s7::return_code::object_does_not_exist, 0, {});
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = ri.pdu_ref;
  s_.send_pdu(h, bytes{pb.data(), pw.size()}, bytes{db.data(), dw.size()}, out);
}

// The first S7 PDU in TPKT frames the session wrote (a view valid until the next call).
std::optional<bytes> fault_connection::first_pdu(bytes frames) {
  frame_buf_.resize(max_frame_size);
  pdu_buf_.resize(max_rebuilt_pdu);
  codec::transport::stream_reader r{frame_buf_, pdu_buf_};
  for (;;) {
    const codec::transport::event e = r.next(frames);
    if (e.st != codec::transport::status::tpdu) return std::nullopt;
    if (e.completes_pdu) return e.pdu;
  }
}

// The Read/Write Var job without the items the rule picked, for the session to answer.
bool fault_connection::build_sub_job(const item_hits& hit, std::size_t kept,
                                     std::uint16_t pdu_ref) {
  const s7::param& prm = msg_.prm;
  std::vector<std::byte> param(2 + prm.items.size());
  writer pw{param};
  s7::write_var_job_head(pw, static_cast<s7::function>(prm.fn), static_cast<std::uint8_t>(kept));
  auto specs = prm.var_specs(nullptr);
  s7::var_spec v;
  for (std::size_t i = 0; specs.next(v); ++i)
    if (!hit[i]) s7::write_var_spec(pw, v);
  std::vector<std::byte> data(msg_.p.data.size() + kept);
  writer dw{data};
  if (prm.fn == static_cast<std::uint8_t>(s7::function::write_var)) {
    s7::data_item_iterator items{
        msg_.p.data, prm.item_count, nullptr, {.allow_nonzero_fill = true}};
    s7::data_item d;
    std::size_t written = 0;
    for (std::size_t i = 0; items.next(d); ++i)
      if (!hit[i]) s7::write_data_item(dw, d, ++written == kept);
  }
  s7::header h;
  h.type = s7::rosctr::job;
  h.pdu_ref = pdu_ref;
  pdu_.resize(max_rebuilt_pdu);
  const auto pn = pw.finish();
  const auto dn = dw.finish();
  if (!pn || !dn) return false;
  const auto n = s7::encode(h, bytes{param.data(), *pn}, bytes{data.data(), *dn}, pdu_);
  if (!n) return false;
  pdu_.resize(*n);
  return true;
}

// Read/Write Var with the picked items answered `item_return_code` (and not executed); the other
// items go to the session as a job of their own and keep its answers, in the original order.
void fault_connection::answer_with_item_codes(const fault_rule& r, const request_info& ri,
                                              const codec::transport::event& e,
                                              std::vector<std::byte>& out) {
  if (!ri.decoded || s_.current_state() != session::state::ready) {
    s_.process_tpdu(e, out);  // answered as the session answers it (an error)
    return;
  }
  const std::uint8_t fn = msg_.prm.fn;
  const std::size_t count = msg_.prm.item_count;
  item_hits hit{};
  std::size_t kept = 0;
  auto specs = msg_.prm.var_specs(nullptr);
  s7::var_spec v;
  for (std::size_t i = 0; specs.next(v); ++i) {
    hit[i] = item_selected(r.when, v);
    if (!hit[i]) ++kept;
  }
  s7::message ans;
  std::vector<std::byte> sub;
  if (kept > 0) {
    if (!build_sub_job(hit, kept, ri.pdu_ref)) {
      s_.process_tpdu(e, out);
      return;
    }
    s_.on_pdu(pdu_, sub);
    const auto pdu = first_pdu(sub);
    if (!pdu || s7::decode(*pdu, ans) || ans.p.hdr.type != s7::rosctr::ack_data ||
        ans.p.hdr.error() != 0) {
      append(out, sub);  // refused as a whole (protection, size): that answer stands
      return;
    }
  }
  merge_item_answers(fn, count, hit, *r.act.item_return_code, ans, ri, out);
}

void fault_connection::merge_item_answers(std::uint8_t fn, std::size_t count, const item_hits& hit,
                                          std::uint8_t code, const s7::message& ans,
                                          const request_info& ri, std::vector<std::byte>& out) {
  const bool write = fn == static_cast<std::uint8_t>(s7::function::write_var);
  std::vector<std::byte> data(max_rebuilt_pdu);
  writer w{data};
  s7::data_item_iterator items{ans.p.data, ans.prm.item_count, nullptr};
  codec::reader codes{ans.p.data, codec::layer::s7_data};  // Write Var: a return code per item
  s7::data_item d;
  for (std::size_t i = 0; i < count; ++i) {
    const bool last = i + 1 == count;
    if (write)
      w.u8(hit[i] ? code : codes.u8());
    else if (hit[i])
      s7::write_data_item(w, code, 0, {}, last);
    else if (items.next(d))
      s7::write_data_item(w, d, last);
  }
  s7::header req;
  req.pdu_ref = ri.pdu_ref;
  const auto n = w.finish();
  if (!n || s7::long_header_size + 2 + *n > s_.pdu_size()) {
    s_.reply_error(req, fn, s7::error_code::wrong_frames, out);  // as the session does
    return;
  }
  std::array<std::byte, 2> prm{};
  writer pw{prm};
  s7::write_var_ack(pw, static_cast<s7::function>(fn), static_cast<std::uint8_t>(count));
  s7::header h;
  h.type = s7::rosctr::ack_data;
  h.pdu_ref = ri.pdu_ref;
  s_.send_pdu(h, prm, bytes{data.data(), *n}, out);
}

void fault_connection::clamp_pdu(std::uint16_t clamp) {
  if (s_.state_ != session::state::ready || s_.pdu_size_ <= clamp) return;
  log(log_level::info, "{}: fault: PDU size clamped from {} to {}", peer_, s_.pdu_size_, clamp);
  s_.pdu_size_ = clamp;
  s_.reader_.limit_pdu(clamp);
}

// The reply with its PDU reference changed, the PDU size clamped, re-segmented and/or sent twice.
void fault_connection::reshape(const fault_action& a, const request_info& ri,
                               const std::vector<std::byte>& reply, std::vector<std::byte>& out) {
  const std::size_t begin = out.size();
  if (!a.wrong_pdu_ref && !a.pdu_ref && a.cotp_segment == 0 && a.clamp_pdu == 0) {
    append(out, reply);
  } else {
    frame_buf_.resize(max_frame_size);
    pdu_buf_.resize(max_rebuilt_pdu);
    codec::transport::stream_reader r{frame_buf_, pdu_buf_};
    bytes in = reply;
    for (;;) {
      const codec::transport::event e = r.next(in);
      if (e.st != codec::transport::status::tpdu) break;
      if (e.completes_pdu)
        rewrite_pdu(a, ri, e.pdu, out);
      else if (e.tpdu.type != cotp::tpdu_type::dt)
        append(out, e.frame);  // a DR the session wrote
    }
  }
  if (a.duplicate) {
    const std::vector<std::byte> once(out.begin() + static_cast<std::ptrdiff_t>(begin), out.end());
    append(out, once);
  }
}

void fault_connection::rewrite_pdu(const fault_action& a, const request_info& ri, bytes pdu,
                                   std::vector<std::byte>& out) {
  const auto p = s7::parse(pdu);
  if (!p) return;  // the session's own reply always parses
  s7::header h = p->hdr;
  bytes param = p->param;
  std::array<std::byte, s7::setup_communication_length> setup{};
  s7::message m;
  if (a.clamp_pdu != 0 && h.type == s7::rosctr::ack_data && !s7::decode(pdu, m) &&
      m.prm.fn == static_cast<std::uint8_t>(s7::function::setup_communication)) {
    writer sw{setup};
    s7::write_setup_communication(
        sw, {m.prm.setup.reserved, s_.amq_calling(), s_.amq_called(), s_.pdu_size()});
    param = setup;
  }
  if (h.type != s7::rosctr::job) {  // a reply, not a job the server sends itself
    if (a.wrong_pdu_ref) h.pdu_ref = static_cast<std::uint16_t>(ri.pdu_ref + 1U);
    if (a.pdu_ref) h.pdu_ref = *a.pdu_ref;
  }
  pdu_.resize(max_rebuilt_pdu);
  const auto n = s7::encode(h, param, p->data, pdu_);
  if (!n || !s7::decode(bytes{pdu_.data(), *n})) {
    log(log_level::error, "{}: BUG: a reply rebuilt by a fault does not decode", peer_);
    return;
  }
  const std::size_t seg =
      a.cotp_segment != 0 ? a.cotp_segment : s_.tpdu_size() - cotp::dt_header_size;
  writer count{codec::mutable_bytes{}};
  codec::transport::write_dt_segments(count, bytes{pdu_.data(), *n}, seg);
  const std::size_t at = out.size();
  out.resize(at + count.size());
  writer w{std::span<std::byte>(out).subspan(at)};
  codec::transport::write_dt_segments(w, bytes{pdu_.data(), *n}, seg);
  if (!w.finish()) out.resize(at);
}

}  // namespace protos7::server
