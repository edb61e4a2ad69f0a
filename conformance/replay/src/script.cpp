// Turning the PDU records of one captured connection into a replay script, as they come.
#include "protos7/replay/script.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <variant>

#include "facts.hpp"
#include "protos7/codec/cotp.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/ud_alarm.hpp"
#include "protos7/codec/ud_cyclic.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::replay {

namespace {

namespace cotp = codec::cotp;
using detail::facts_of_s7;
using detail::s7_facts;
using bvec = std::vector<std::byte>;

bool is_dt(const stream::record_view& r) {
  return r.cotp_ok && r.cotp.type == cotp::tpdu_type::dt;
}
bool is_cr(const stream::record_view& r) {
  return r.cotp_ok && r.cotp.type == cotp::tpdu_type::cr;
}

bool is_setup_job(const stream::record_view& r) {
  if (!r.has_s7) return false;
  const s7_facts f = facts_of_s7(r.s7);
  return f.s7 && f.rosctr == 1 && f.fn == 0xF0;
}

// CR: TPKT | LI | E0 | dst-ref 0 | src-ref | class 0 | C1 02 calling | C2 02 called | C0 01 size
bvec synthesized_cr(std::uint16_t calling_tsap, std::uint16_t called_tsap) {
  std::array<std::byte, 64> buf{};
  std::array<std::byte, 2> calling{};
  std::array<std::byte, 2> called{};
  codec::writer{calling}.u16be(calling_tsap);
  codec::writer{called}.u16be(called_tsap);
  std::array<std::byte, 16> params{};
  codec::writer pw{params};
  cotp::write_param(pw, static_cast<std::uint8_t>(cotp::param_code::calling_tsap), calling);
  cotp::write_param(pw, static_cast<std::uint8_t>(cotp::param_code::called_tsap), called);
  cotp::write_param_u8(pw, static_cast<std::uint8_t>(cotp::param_code::tpdu_size),
                       synth_tpdu_size_code);
  std::array<std::byte, 48> tpdu{};
  codec::writer tw{tpdu};
  cotp::connect_fields f;
  f.type = cotp::tpdu_type::cr;
  f.src_ref = synth_src_ref;
  f.variable_part = std::span<const std::byte>(params.data(), pw.size());
  cotp::write_connect(tw, f);
  const auto n = codec::tpkt::encode(std::span<const std::byte>(tpdu.data(), tw.size()), buf);
  return {buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n ? *n : 0)};
}

// TPKT | DT (EOT) | pdu.
bvec in_one_dt(std::span<const std::byte> pdu) {
  bvec out(codec::tpkt::header_size + cotp::dt_header_size + pdu.size());
  codec::writer w{out};
  codec::tpkt::write_header(w, cotp::dt_header_size + pdu.size());
  cotp::write_dt_header(w, true);
  w.raw(pdu);
  return w.finish() ? out : bvec{};
}

// A Setup communication Job in one DT: TPKT | DT (EOT) | S7 header | F0 00 AmQ AmQ PDU size.
bvec synthesized_setup(std::uint16_t pdu_size, std::uint16_t amq) {
  std::array<std::byte, codec::s7::setup_communication_length> prm{};
  codec::writer pw{prm};
  codec::s7::write_setup_communication(pw, {0, amq, amq, pdu_size});
  codec::s7::header h;
  h.type = codec::s7::rosctr::job;
  h.pdu_ref = synth_setup_ref;
  std::array<std::byte, 32> pdu{};
  const auto n = codec::s7::encode(h, prm, {}, pdu);
  return n ? in_one_dt(std::span<const std::byte>(pdu.data(), *n)) : bvec{};
}

// A message service subscription (Userdata, CPU functions / message service) in one DT, as
// STEP 7 makes one: | events | 00 | user name (8) |.
bvec synthesized_subscription(std::uint8_t events) {
  namespace ud = codec::s7::ud;
  namespace alarm = codec::s7::alarm;
  ud::param prm;
  prm.method = ud::method_request;
  prm.length = 4;
  prm.type = static_cast<std::uint8_t>(ud::type::request);
  prm.group = static_cast<std::uint8_t>(ud::group::cpu);
  prm.subfunction = alarm::sub::message_service;
  std::array<std::byte, 8> param{};
  codec::writer pw{param};
  ud::write_param(pw, prm);
  alarm::subscription sub;
  sub.events = events;
  sub.username = std::as_bytes(std::span{synth_subscriber});
  std::array<std::byte, 16> body{};
  codec::writer bw{body};
  alarm::write_subscription(bw, sub);
  std::array<std::byte, 32> data{};
  codec::writer dw{data};
  ud::write_data_unit(dw, codec::s7::return_code::success, ud::ts_octet,
                      std::span<const std::byte>(body.data(), bw.size()));
  codec::s7::header h;
  h.type = codec::s7::rosctr::userdata;
  h.pdu_ref = synth_subscription_ref;
  std::array<std::byte, 64> pdu{};
  const auto n = codec::s7::encode(h, std::span<const std::byte>(param.data(), pw.size()),
                                   std::span<const std::byte>(data.data(), dw.size()), pdu);
  return n ? in_one_dt(std::span<const std::byte>(pdu.data(), *n)) : bvec{};
}

// A subscription of the client, or a message service push of the server before any.
void note_message_service(session_shape& shape, const s7_facts& f, int side) {
  namespace alarm = codec::s7::alarm;
  namespace ud = codec::s7::ud;
  if (!f.s7 || f.rosctr != 7 || !f.ud) return;
  constexpr auto cpu = static_cast<std::uint8_t>(ud::group::cpu);
  if (side == 0 && f.is_request() && f.group == cpu && f.sub == alarm::sub::message_service)
    shape.subscription_seen = true;
  if (side != 1 || f.ud_type != static_cast<std::uint8_t>(ud::type::push) ||
      shape.subscription_seen)
    return;
  if (f.group == static_cast<std::uint8_t>(ud::group::mode_transition))
    shape.events_unsubscribed |= alarm::events::mode_transition;
  if (f.group == cpu && f.sub == alarm::sub::diagnostic_message)
    shape.events_unsubscribed |= alarm::events::system;
}

std::uint16_t tsap_value(codec::bytes tsap) {
  codec::reader r{tsap, codec::layer::cotp};
  const std::uint16_t v = r.u16be();
  return r.ok() && tsap.size() == 2 ? v : 0;
}

struct open_request {
  bool cr = false;
  std::uint16_t ref = 0;
  std::uint64_t frame = 0;
  std::string service;
  bvec s7;                  // the request (tolerated ranges of its answer)
  std::size_t ordinal = 0;  // Userdata: 0 first request, n the n-th follow-up
  std::string lost_why;     // server bytes were lost after it (its answer is unknowable)
  bool writes = false;      // client_pdu::writes
};

// Requests that cannot change what another connection reads: Setup communication (per
// connection), Read Var, the upload functions, and Userdata but Set clock.
bool may_write(const s7_facts& f) {
  if (f.rosctr == 1)
    return f.fn != 0xF0 && f.fn != 0x04 && f.fn != 0x1D && f.fn != 0x1E && f.fn != 0x1F;
  return f.rosctr == 7 && f.group == 0x07 && f.sub == 0x02;  // Time functions / Set clock
}

// The data unit of a Userdata PDU (nothing when it does not decode).
std::optional<codec::bytes> userdata_payload(std::span<const std::byte> s7) {
  const auto m = codec::s7::decode(s7);
  if (!m || m->p.hdr.type != codec::s7::rosctr::userdata || !m->ud.has_data) return std::nullopt;
  return m->ud.data.payload;
}

// The interval a cyclic services request asks (ms; 0: it does not decode).
std::uint32_t asked_interval(std::span<const std::byte> request) {
  const auto payload = userdata_payload(request);
  if (!payload) return 0;
  const auto c = codec::s7::ud::parse_cyclic_request(*payload, nullptr);
  return c ? codec::s7::cyclic::interval_ms(c->timebase, c->interval) : 0;
}

// A cyclic services unsubscribe request: the job it ends.
std::optional<std::uint8_t> unsubscribed_job(const s7_facts& f, std::span<const std::byte> s7) {
  if (f.rosctr != 7 || (f.group & 0x0FU) != detail::cyclic_group ||
      f.sub != codec::s7::cyclic::sub::unsubscribe)
    return std::nullopt;
  const auto payload = userdata_payload(s7);
  if (!payload) return std::nullopt;
  const auto u = codec::s7::cyclic::parse_unsubscribe(*payload, nullptr);
  return u ? std::optional<std::uint8_t>(u->job_id) : std::nullopt;
}

// The unit of a split Userdata answer that a follow-up request continues.
struct fragment_ref {
  std::shared_ptr<actual_facts> facts;
  std::uint8_t seq = 0;
  std::uint8_t data_unit_ref = 0;
};

// Before the connection's first data PDU says it is S7comm, steps wait here (a connection of
// another ISO-on-TCP protocol is then skipped without anything sent). A connection without any
// data is replayed as far as it goes (CR, CC).
constexpr std::size_t max_unclassified_steps = 64;
// Records kept before the replay's start while a client PDU that may be the Setup
// communication is assembled.
constexpr std::size_t max_pre_records = 256;

}  // namespace

struct script_builder::impl {
  script_sink& out;
  std::size_t conn;
  const tolerance_source* tol;

  enum class stage : std::uint8_t { before_start, started, skipped };
  stage st = stage::before_start;
  bool classified = false;
  std::vector<std::variant<send_step, expectation>> held;

  // Before the start: records skipped, and those of the client PDU being assembled.
  std::size_t seen = 0;
  std::uint64_t first_frame = 0;
  std::uint64_t prev_frame = 0;
  std::uint64_t frame_before_pre = 0;
  std::vector<stream::record> pre;

  // The client PDU being assembled: its non-empty DT segments wait here until its last segment
  // shows that it is whole; empty ones (Step 7's empty DT after each answer) go out at once.
  std::shared_ptr<client_pdu> group_pdu;
  std::vector<send_step> group;
  std::size_t group_bytes = 0;
  std::size_t sends = 0;     // send steps emitted
  std::vector<bvec> sgroup;  // DT segments of the server PDU being assembled
  std::uint16_t last_szl = 0;
  std::vector<open_request> open;
  std::size_t window = 1;  // the most requests in flight so far (send_step::window)
  std::map<std::uint16_t, std::size_t> ordinals;  // Userdata group << 8 | sub -> follow-ups
  std::size_t next_ordinal = 0;                   // of the latest client request
  std::map<std::uint16_t, std::shared_ptr<actual_facts>> initiated_by_ref;
  std::array<std::optional<fragment_ref>, 16> last_fragment;  // per Userdata group
  std::unique_ptr<dump::fragment_tracker> frags;              // the captured answers
  // Push timing: client requests so far, and their count at the last push of each kind; the
  // interval each cyclic job's request asked (by job id).
  std::size_t requests = 0;
  std::map<std::uint32_t, std::size_t> requests_at_push;
  std::map<std::uint8_t, std::uint32_t> asked_by_job;

  session_shape shape;  // of the whole connection (first pass), for a synthesized start
  std::uint16_t default_called_tsap = synth_called_tsap;  // when no CR was captured

  impl(script_sink& o, std::size_t c, const tolerance_source* t) : out(o), conn(c), tol(t) {
    if (tol != nullptr) shape = tol->shape(conn);
  }

  void emit(send_step&& s) {
    ++sends;
    if (!classified) {
      held.emplace_back(std::move(s));
      if (held.size() > max_unclassified_steps) classify_as_s7();
      return;
    }
    out.send(std::move(s));
  }
  void emit(expectation&& e) {
    if (!classified) {
      held.emplace_back(std::move(e));
      if (held.size() > max_unclassified_steps) classify_as_s7();
      return;
    }
    out.expect(std::move(e));
  }
  void classify_as_s7() {
    classified = true;
    for (auto& h : held) {
      if (auto* s = std::get_if<send_step>(&h)) {
        out.send(std::move(*s));
      } else {
        out.expect(std::move(std::get<expectation>(h)));
      }
    }
    held.clear();
  }
  void skip(std::string why) {
    st = stage::skipped;
    held.clear();
    pre.clear();
    out.skip(std::move(why));
  }

  void count_ordinal(const stream::record_view& r);
  void classify(const stream::record_view& r);
  void before_start(const stream::record_view& r);
  void start_synthesized(bool setup);
  std::string synthesize_setup();
  std::string synthesize_subscription();
  void send_synthesized(bvec tpkt, std::uint16_t ref, const char* service, const char* note);
  void client(const stream::record_view& r);
  void client_pdu_done(const stream::record_view& r);
  void drop_group();
  void server(const stream::record_view& r);
  bool server_pdu(const stream::record_view& r, expectation& e);
  void push_timing(const s7_facts& f, expectation& e);
  void finish(const script_end& e);
  void finish_open(const script_end& e);
};

// Userdata follow-up numbering, as variation.cpp numbers them (every client request counts,
// also before the replay's start).
void script_builder::impl::count_ordinal(const stream::record_view& r) {
  if (r.side != 0 || !r.has_s7) return;
  const s7_facts f = facts_of_s7(r.s7);
  if (!f.s7 || !f.is_request() || f.rosctr != 7) {
    next_ordinal = 0;
    return;
  }
  const auto key = static_cast<std::uint16_t>((f.group << 8U) | f.sub);
  // A follow-up ("next unit") request has the 12-byte parameter with method 0x12.
  next_ordinal = f.extended ? ordinals[key] + 1 : 0;
  ordinals[key] = next_ordinal;
}

// The first data PDU decides: S7comm (replayed) or another protocol on the port (skipped).
void script_builder::impl::classify(const stream::record_view& r) {
  if (classified || !r.has_s7) return;
  if (facts_of_s7(r.s7).s7) {
    classify_as_s7();
    return;
  }
  codec::reader head{r.s7, codec::layer::s7_header};  // the would-be protocol id
  const std::uint8_t id = head.u8();
  skip(fmt::format(
      "not S7comm: the COTP data carries no S7 PDU (first payload byte 0x{:02x}, S7comm starts "
      "with 0x32; other ISO-on-TCP protocols such as MMS also use port 102)",
      head.ok() ? id : 0));
}

void script_builder::impl::before_start(const stream::record_view& r) {
  if (r.side == 0 && is_cr(r)) {
    if (seen > 0)
      out.note(fmt::format(
          "replay starts at frame {}: the {} PDU record(s) before it (frames {}-{}) are skipped",
          r.frame, seen, first_frame, prev_frame));
    pre.clear();
    st = stage::started;
    client(r);
    return;
  }
  if (r.side == 0) {
    if (!is_dt(r) || r.resync) pre.clear();
    if (is_dt(r)) {
      if (pre.empty()) frame_before_pre = prev_frame;
      pre.emplace_back(r);
    }
    if (r.has_s7) {
      // A request before the Setup communication waits for it, if the capture has one.
      if (is_setup_job(r) || (!shape.setup_seen && facts_of_s7(r.s7).is_request())) {
        start_synthesized(!is_setup_job(r));
        return;
      }
      pre.clear();
    }
  } else if (!pre.empty()) {
    pre.emplace_back(r);
  }
  if (pre.size() > max_pre_records) pre.clear();
  if (seen++ == 0) first_frame = r.frame;
  prev_frame = r.frame;
}

// No CR was captured: the replay starts with a synthesized one, then the Setup communication
// (the records in `pre`, its last segment the record at hand) or, when none was captured before
// the first request, a synthesized one too.
void script_builder::impl::start_synthesized(bool setup) {
  const std::size_t skipped = seen + 1 - pre.size();
  if (skipped > 0)
    out.note(fmt::format(
        "replay starts at frame {}: the {} PDU record(s) before it (frames {}-{}) are skipped",
        pre.front().frame, skipped, first_frame, frame_before_pre));
  st = stage::started;
  const bool tsaps_seen = shape.cr_seen && shape.called_tsap != 0;
  const std::uint16_t calling = tsaps_seen ? shape.calling_tsap : synth_calling_tsap;
  const std::uint16_t called = tsaps_seen ? shape.called_tsap : default_called_tsap;
  codec::cotp::s7_tsap t;
  std::array<std::byte, 2> called_bytes{};
  codec::writer{called_bytes}.u16be(called);
  (void)codec::cotp::decode_s7_tsap(called_bytes, t);
  std::string what = fmt::format(
      "no COTP CR captured: a CR was synthesized (src-ref 0x{:04x}, calling TSAP 0x{:04x}, "
      "called TSAP 0x{:04x} = rack {} slot {}{}, TPDU size 1024)",
      synth_src_ref, calling, called, t.rack, t.slot,
      tsaps_seen ? " as in the CR of another connection of the capture"
                 : " (no CR in the capture: a PG connection, rack/slot 0/2 unless --rack-slot)");
  send_step s;
  s.tpkt = synthesized_cr(calling, called);
  s.cr = true;
  s.time = pre.front().time;
  s.order_frame = pre.front().frame;
  emit(std::move(s));
  expectation e;
  e.kind = match_kind::tpdu;
  e.service = "COTP Connect";
  e.compare = false;
  e.absorb_note = "answer to the synthesized CR (no CC captured, not compared)";
  out.absorb(std::move(e));
  if (setup) {
    what += synthesize_setup();
    if (shape.events_unsubscribed != 0) what += synthesize_subscription();
  } else {
    what += fmt::format("; the replay continues with the Setup communication in frame {}",
                        pre.back().frame);
  }
  out.synthesized(std::move(what));
  std::vector<stream::record> recs = std::move(pre);
  pre.clear();
  for (const stream::record& rec : recs) {
    const stream::record_view v = rec.view();
    if (v.side == 0) {
      client(v);
    } else {
      server(v);
    }
  }
}

// Sends a request the capture does not have (in one DT, before the records in `pre`) and
// waits for its answer (matched by reference, not compared) before anything else goes out.
void script_builder::impl::send_synthesized(bvec tpkt, std::uint16_t ref, const char* service,
                                            const char* note) {
  auto p = std::make_shared<client_pdu>();
  p->complete = true;
  p->service = service;
  p->request = true;
  p->pdu_ref = ref;
  send_step s;
  s.tpkt = std::move(tpkt);
  s.payload_offset = codec::tpkt::header_size + cotp::dt_header_size;
  s.pdu = p;
  s.last_of_pdu = true;
  s.time = pre.front().time;
  s.order_frame = pre.front().frame;
  emit(std::move(s));
  expectation e;
  e.kind = match_kind::by_ref;
  e.pdu_ref = ref;
  e.service = service;
  e.compare = false;
  e.after_write = true;         // nothing else goes out before it is answered
  e.frame = pre.front().frame;  // where it stands in the capture (the request it comes before)
  e.absorb_note = note;
  e.sends_before = sends;
  emit(std::move(e));
}

// A Setup communication before the first captured request (none was captured): its answer is
// waited for (not compared, none was captured) before anything else goes out.
std::string script_builder::impl::synthesize_setup() {
  const std::uint16_t pdu = synth_pdu_size(shape);
  const std::uint16_t amq = synth_amq(shape);
  send_synthesized(synthesized_setup(pdu, amq), synth_setup_ref, "Setup communication",
                   "answer to the synthesized Setup communication (none captured, not compared)");
  return fmt::format(
      ", and a Setup communication (PDU size {}: the largest PDU of the connection has {} "
      "bytes; Max AmQ calling/called {}: at most {} request(s) in flight in the capture) before "
      "the first captured request (frame {}), none having been captured",
      pdu, shape.largest_pdu, amq, shape.most_in_flight, pre.back().frame);
}

// The capture has message service pushes but not the subscription that asked for them (it was
// made before the capture began): one is made after the synthesized Setup communication, for
// the event classes of those pushes, and its answer waited for (not compared).
std::string script_builder::impl::synthesize_subscription() {
  send_synthesized(synthesized_subscription(shape.events_unsubscribed), synth_subscription_ref,
                   "Message service",
                   "answer to the synthesized message service subscription (not compared)");
  return fmt::format(
      "; then a message service subscription (events 0x{:02x}): the capture has the CPU's "
      "pushes of those events but not the subscription, made before it began",
      shape.events_unsubscribed);
}

void script_builder::impl::client(const stream::record_view& r) {
  send_step s;
  s.frame = r.frame;
  s.order_frame = r.frame;
  s.time = r.time;
  s.tpkt.assign(r.tpkt.begin(), r.tpkt.end());
  if (r.resync) drop_group();
  if (is_dt(r)) {
    s.payload_offset = r.tpkt.size() - r.cotp.user_data.size();
    s.pdu_offset = group_bytes;
    group_bytes += r.cotp.user_data.size();
    if (!group_pdu) group_pdu = std::make_shared<client_pdu>();
    s.pdu = group_pdu;
    if (r.cotp.user_data.empty() && !r.has_s7) {
      emit(std::move(s));
    } else {
      group.push_back(std::move(s));
    }
  } else {
    drop_group();
    s.cr = is_cr(r);
    if (s.cr) open.push_back({true, 0, r.frame, "COTP Connect", {}, 0, {}, false});
    emit(std::move(s));
  }
  if (r.has_s7) client_pdu_done(r);
}

// A client PDU is complete: its segments go out together, with what may have to change in them.
void script_builder::impl::client_pdu_done(const stream::record_view& r) {
  std::shared_ptr<client_pdu> p = std::move(group_pdu);
  group_pdu.reset();
  if (!p) p = std::make_shared<client_pdu>();
  p->complete = true;
  p->frame = r.frame;
  const s7_facts f = facts_of_s7(r.s7);
  p->service = f.s7 ? service_of(r.s7, last_szl) : "not S7";
  if (f.is_request()) {
    p->request = true;
    p->pdu_ref = f.pdu_ref;
    p->writes = may_write(f);
    ++requests;
    if (const auto job = unsubscribed_job(f, r.s7)) {
      p->unsubscribes = true;
      p->unsubscribe_job = *job;
    }
    open.push_back({false,
                    f.pdu_ref,
                    r.frame,
                    p->service,
                    bvec(r.s7.begin(), r.s7.end()),
                    next_ordinal,
                    {},
                    p->writes});
    window = std::max(window, static_cast<std::size_t>(std::count_if(
                                  open.begin(), open.end(), [](const auto& o) { return !o.cr; })));
    // A follow-up request for the next unit of a split Userdata answer echoes the sequence
    // number (and, if it does, the data unit reference) the PLC gave that answer.
    const auto& lf = last_fragment[f.group & 0x0FU];
    if (f.rosctr == 7 && f.extended && lf) {
      if (lf->seq == f.seq)
        p->patches.push_back({pdu_patch::what::ud_seq, f.param_offset + 7, lf->facts, f.seq});
      if (lf->data_unit_ref != 0 && lf->data_unit_ref == f.data_unit_ref)
        p->patches.push_back(
            {pdu_patch::what::ud_data_unit_ref, f.param_offset + 8, lf->facts, f.data_unit_ref});
    }
  } else if (f.is_response()) {
    // The client answers a PDU the PLC initiated (Ack_Data to a Download block Job).
    const auto it = initiated_by_ref.find(f.pdu_ref);
    if (it != initiated_by_ref.end()) {
      p->depends_on = it->second;
      p->writes = true;  // part of the PLC's own job (a download)
      p->patches.push_back({pdu_patch::what::pdu_ref, 4, it->second, f.pdu_ref});
      p->service = it->second->service;
    }
  }
  for (std::size_t k = 0; k < group.size(); ++k) {
    group[k].last_of_pdu = k + 1 == group.size();
    group[k].window = window;
    emit(std::move(group[k]));
  }
  group.clear();
  group_bytes = 0;
}

// Client DT segments that never became a whole PDU (a gap, or the capture ends): sending them
// would glue their bytes onto the next PDU at the target. (Empty ones already went out.)
void script_builder::impl::drop_group() {
  for (const send_step& s : group)
    out.note(fmt::format(
        "frame {}: {} bytes of a client S7 PDU whose last DT segment was not captured; not sent",
        s.frame, s.tpkt.size() - s.payload_offset));
  group.clear();
  group_pdu.reset();
  group_bytes = 0;
}

void script_builder::impl::server(const stream::record_view& r) {
  if (r.resync) {
    sgroup.clear();
    for (open_request& o : open)
      if (o.lost_why.empty())
        o.lost_why = fmt::format("server bytes were lost or skipped before frame {}", r.frame);
  }
  if (is_dt(r)) {
    sgroup.emplace_back(r.tpkt.begin(), r.tpkt.end());
    if (!r.has_s7) return;
  }
  expectation e;
  e.frame = r.frame;
  e.time = r.time;
  if (is_dt(r)) {
    e.pdu.dt = true;
    e.pdu.frames = std::move(sgroup);
    sgroup.clear();
    e.pdu.s7.assign(r.s7.begin(), r.s7.end());
    if (facts_of_s7(r.s7).rosctr == 7) {
      if (!frags) frags = std::make_unique<dump::fragment_tracker>();
      e.frag = frags->classify(r.s7);
    }
    if (!server_pdu(r, e)) return;  // an answer to no replayed request (noted)
  } else {
    e.kind = match_kind::tpdu;
    e.pdu.frames.emplace_back(r.tpkt.begin(), r.tpkt.end());
    e.service = service_of_tpdu(r.tpkt);
    const auto it =
        std::find_if(open.begin(), open.end(), [](const open_request& o) { return o.cr; });
    if (it != open.end()) {
      e.request_frame = it->frame;
      open.erase(it);
    }
  }
  e.sends_before = sends;
  if (e.kind == match_kind::push) {
    out.expect_push(std::move(e));
  } else {
    emit(std::move(e));
  }
}

// A server S7 PDU: an answer (by PDU reference), a PDU the PLC sends on its own, or other data.
// False for an answer to a request the replay does not send.
bool script_builder::impl::server_pdu(const stream::record_view& r, expectation& e) {
  const s7_facts f = facts_of_s7(r.s7);
  if (f.is_response()) {
    e.kind = match_kind::by_ref;
    e.pdu_ref = f.pdu_ref;
    const auto it = std::find_if(open.begin(), open.end(), [&](const open_request& o) {
      return !o.cr && o.ref == f.pdu_ref;
    });
    if (it == open.end()) {
      out.note(
          fmt::format("frame {}: answer (pduref {}) to no replayed request (its request was not "
                      "captured or was lost in a capture gap): not compared",
                      r.frame, f.pdu_ref));
      return false;
    }
    e.request_frame = it->frame;
    e.service = it->service;
    e.after_write = it->writes;
    // Bytes of the captured answer that are not a fixed property of the PLC (variation.cpp).
    if (tol != nullptr) e.tolerated = tol->tolerated(conn, r.frame, it->s7, r.s7, it->ordinal);
    if (f.rosctr == 7 && (f.group & 0x0FU) == detail::cyclic_group &&
        codec::s7::cyclic::carries_items(f.sub)) {
      e.subscribes = true;
      e.asked_interval_ms = asked_interval(it->s7);
      asked_by_job[f.seq] = e.asked_interval_ms;
    }
    open.erase(it);
    if (f.rosctr == 7 && f.extended) {
      e.fragmented = f.last_data_unit == 0x01;
      auto& lf = last_fragment[f.group & 0x0FU];
      lf.reset();
      if (e.fragmented) {
        e.facts = std::make_shared<actual_facts>();
        lf = fragment_ref{e.facts, f.seq, f.data_unit_ref};
      }
    }
  } else if (f.is_initiated() && f.rosctr == 7) {
    e.kind = match_kind::push;
    std::uint16_t unused = 0;
    e.service = service_of(r.s7, unused) + " (PLC push)";
    push_timing(f, e);
  } else if (f.is_initiated()) {
    e.kind = match_kind::initiated;
    e.pdu_ref = f.pdu_ref;
    e.after_write = true;
    std::uint16_t unused = 0;
    e.service = service_of(r.s7, unused) + " (PLC job)";
    e.facts = std::make_shared<actual_facts>();
    initiated_by_ref[f.pdu_ref] = e.facts;
  } else {
    e.kind = match_kind::other_data;
    e.service = "COTP data (not S7)";
  }
  if (e.facts) {
    e.facts->frame = e.frame;
    e.facts->request_frame = e.request_frame;
    e.facts->service = e.service;
  }
  return true;
}

// What the capture shows of a push's timing: the interval its cyclic job asked, and whether a
// client request came since the previous push of its kind.
void script_builder::impl::push_timing(const s7_facts& f, expectation& e) {
  if ((f.group & 0x0FU) == detail::cyclic_group) {
    const auto it = asked_by_job.find(f.seq);
    if (it != asked_by_job.end()) e.asked_interval_ms = it->second;
  }
  std::size_t& at = requests_at_push[detail::push_key(f)];
  e.after_client_request = requests != at;
  at = requests;
}

void script_builder::impl::finish(const script_end& end) {
  if (st == stage::skipped) return;
  if (st == stage::before_start) {
    if (seen == 0 && end.bytes[0] == 0 && end.bytes[1] == 0) {
      skip("no payload: the TCP connection carried no data (e.g. an unanswered SYN)");
    } else if (seen == 0) {
      skip(
          fmt::format("not ISO-on-TCP: no TPKT frame in the payload (client {} bytes, server {} "
                      "bytes)",
                      end.bytes[0], end.bytes[1]));
    } else {
      skip(
          "neither a COTP CR nor a client S7 request was captured: there is no point from which "
          "the session can be rebuilt");
    }
    return;
  }
  drop_group();
  if (!classified) classify_as_s7();
  finish_open(end);
  if (sends == 0) out.skip("no client frame to send");
}

// Requests without a captured answer: unknowable (capture gap, capture ends) or really none.
void script_builder::impl::finish_open(const script_end& end) {
  const bool server_tail_lost = end.server_tail_cut || !sgroup.empty();
  for (const open_request& o : open) {
    std::string why = o.lost_why;
    if (why.empty() && server_tail_lost) why = "the capture ends in the middle of a server PDU";
    if (why.empty() && end.server_bytes_lost > 0)
      why = "server bytes were lost at the end of the capture";
    if (why.empty() && !end.closed) why = "the capture ends before the answer";
    if (why.empty()) {
      out.note(fmt::format(
          "frame {}: the captured PLC did not answer this {} before the connection closed; an "
          "answer from the target is reported as unexpected",
          o.frame, o.service));
      continue;
    }
    expectation e;
    e.kind = o.cr ? match_kind::tpdu : match_kind::by_ref;
    e.pdu_ref = o.ref;
    e.request_frame = o.frame;
    e.service = o.service;
    e.compare = false;
    e.absorb_note = fmt::format("answer to frame {} not compared: {}", o.frame, why);
    out.absorb(std::move(e));
  }
  open.clear();
}

script_builder::script_builder(script_sink& out, std::size_t conn, const tolerance_source* tol,
                               std::uint16_t called_tsap)
    : impl_(std::make_unique<impl>(out, conn, tol)) {
  impl_->default_called_tsap = called_tsap;
}
script_builder::~script_builder() = default;

void script_builder::record(const stream::record_view& r) {
  impl& m = *impl_;
  if (m.st == impl::stage::skipped) return;
  m.count_ordinal(r);
  m.classify(r);
  if (m.st == impl::stage::skipped) return;
  if (m.st == impl::stage::before_start) {
    m.before_start(r);
  } else if (r.side == 0) {
    m.client(r);
  } else {
    m.server(r);
  }
}

void script_builder::finish(const script_end& e) {
  impl_->finish(e);
}

// --- The shape of a connection (for a synthesized session start) -----------------------------

void shape_tracker::record(const stream::record_view& r) {
  // Requests never answered (the capture ends, a gap) are forgotten beyond this many.
  constexpr std::size_t max_open = 256;
  if (r.side == 0 && is_cr(r) && !shape_.cr_seen) {
    shape_.cr_seen = true;
    shape_.calling_tsap = tsap_value(r.cotp.params.calling_tsap);
    shape_.called_tsap = tsap_value(r.cotp.params.called_tsap);
  }
  if (!r.has_s7) return;
  shape_.largest_pdu = std::max(shape_.largest_pdu, r.s7.size());
  const s7_facts f = facts_of_s7(r.s7);
  note_message_service(shape_, f, r.side);
  if (r.side == 0 && f.is_request()) {
    shape_.setup_seen = shape_.setup_seen || (f.rosctr == 1 && f.fn == 0xF0);
    if (open_.size() >= max_open) open_.erase(open_.begin());
    open_.push_back(f.pdu_ref);
    shape_.most_in_flight = std::max(shape_.most_in_flight, open_.size());
  } else if (r.side == 1 && f.is_response()) {
    const auto it = std::find(open_.begin(), open_.end(), f.pdu_ref);
    if (it != open_.end()) open_.erase(it);
  }
}

std::uint16_t synth_pdu_size(const session_shape& shape) {
  for (const std::uint16_t size : {std::uint16_t{240}, std::uint16_t{480}, std::uint16_t{960}})
    if (shape.largest_pdu <= size) return size;
  return static_cast<std::uint16_t>(std::min<std::size_t>(shape.largest_pdu, 0xFFFF));
}

std::uint16_t synth_amq(const session_shape& shape) {
  return static_cast<std::uint16_t>(std::clamp<std::size_t>(shape.most_in_flight, 1, 0xFFFF));
}

// --- build_script(): the builder's output collected --------------------------------------------

namespace {

class collector final : public script_sink {
 public:
  explicit collector(script& s) : s_(s) {}
  void send(send_step&& st) override {
    const std::size_t si = s_.sends.size();
    if (st.pdu) members_.emplace_back(st.pdu, si);
    s_.sends.push_back(std::move(st));
    s_.steps.push_back({true, si});
  }
  void expect(expectation&& e) override {
    s_.steps.push_back({false, s_.expects.size()});
    s_.expects.push_back(std::move(e));
  }
  void absorb(expectation&& e) override { s_.expects.push_back(std::move(e)); }
  void expect_push(expectation&& e) override { s_.pushes.push_back(std::move(e)); }
  void note(std::string n) override { s_.notes.push_back(std::move(n)); }
  void skip(std::string reason) override { s_.skip_reason = std::move(reason); }
  // The whole client PDUs with the send steps that carry them, in order of their first step.
  void finish() {
    std::map<const client_pdu*, std::size_t> at;
    for (const auto& [p, si] : members_) {
      if (!p->complete) continue;
      auto [it, inserted] = at.try_emplace(p.get(), s_.pdus.size());
      if (inserted) {
        s_.pdus.push_back(*p);
        s_.pdus.back().sends.clear();
      }
      s_.pdus[it->second].sends.push_back(si);
    }
  }

 private:
  script& s_;
  std::vector<std::pair<std::shared_ptr<const client_pdu>, std::size_t>> members_;
};

// The shape of the connection, nothing tolerated (build_script() sees one connection).
class shape_only final : public tolerance_source {
 public:
  shape_tracker tracker;
  [[nodiscard]] session_shape shape(std::size_t) const override { return tracker.shape(); }
  [[nodiscard]] std::vector<expectation::tolerated_range> tolerated(std::size_t, std::uint64_t,
                                                                    std::span<const std::byte>,
                                                                    std::span<const std::byte>,
                                                                    std::size_t) const override {
    return {};
  }
};

}  // namespace

script build_script(const stream::connection_records& cr) {
  script s;
  const capture::connection& c = *cr.conn;
  for (const std::string& n : c.notes) s.notes.push_back(n);
  for (const std::string& n : cr.notes) s.notes.push_back(n);
  collector out{s};
  shape_only shape;
  for (const stream::record& r : cr.records) shape.tracker.record(r.view());
  script_builder b{out, 0, &shape};
  std::size_t server_end = 0;
  for (const stream::record& r : cr.records) {
    b.record(r.view());
    if (r.side == 1) server_end = std::max(server_end, r.stream_offset + r.tpkt.size());
  }
  script_end e;
  e.closed = c.sides[0].fin || c.sides[0].rst || c.sides[1].fin || c.sides[1].rst;
  e.bytes[0] = c.sides[0].data.size();
  e.bytes[1] = c.sides[1].data.size();
  e.server_bytes_lost = c.sides[1].bytes_lost;
  e.server_tail_cut = server_end < c.sides[1].data.size();
  b.finish(e);
  out.finish();
  s.replayable = s.skip_reason.empty() && !s.sends.empty();
  return s;
}

}  // namespace protos7::replay
