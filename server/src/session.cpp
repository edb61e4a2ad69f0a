#include "protos7/server/session.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/writer.hpp"
#include "protos7/server/faults.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/var_items.hpp"

namespace protos7::server {

namespace cotp = codec::cotp;
namespace s7 = codec::s7;
namespace rc = codec::s7::return_code;
using codec::bytes;
using codec::writer;

namespace {

constexpr std::uint8_t u8(std::byte b) noexcept {
  return std::to_integer<std::uint8_t>(b);
}

void append(std::vector<std::byte>& out, bytes b) {
  out.insert(out.end(), b.begin(), b.end());
}

constexpr bool counter_or_timer(std::uint8_t area) noexcept {
  return area == static_cast<std::uint8_t>(codec::s7::area::counters) ||
         area == static_cast<std::uint8_t>(codec::s7::area::timers);
}

// Header error of a job answered as a whole. 0x8500 "wrong frames" is what S7-300/400 CPUs
// answer for a Read Var whose response exceeds the PDU (PLC4X and libnodave report it as
// "error on supplies"/0x8500); used for every job that cannot be processed as sent.
constexpr std::uint16_t err_wrong_frames = s7::error_code::wrong_frames;
// Jobs the server does not implement (and jobs before Setup Communication).
constexpr std::uint16_t err_not_implemented = s7::error_code::not_implemented;

// Write Var data: the fill byte after an odd-sized item may hold any value. snap7's client
// (WriteMultiVars) skips it without writing it, so it carries stale bytes of its buffer, and
// CPUs accept those writes (interop test "WriteMultiVars with odd sizes and a bit item").
constexpr s7::data_options write_data_options{.allow_nonzero_fill = true};

// Each segment of a reply: TPKT header + COTP DT header (ISO 8073 §13.7: LI, code, EOT/number).
constexpr std::size_t dt_header_size = cotp::dt_li + 1U;
constexpr std::size_t segment_header_size = codec::tpkt::header_size + dt_header_size;

}  // namespace

// Lends the session's in-place replies to the CPU services (services.hpp).
struct session_sink final : pdu_sink {
  session& s;
  std::vector<std::byte>& out;
  session_sink(session& ss, std::vector<std::byte>& o) : s(ss), out(o) {}
  codec::mutable_bytes begin(s7::rosctr type, std::size_t param_length) override {
    return s.begin_reply(out, type, param_length);
  }
  void commit(const s7::header& h, bytes param, std::size_t data_length) override {
    s.commit_reply(h, param, data_length);
  }
  void cancel() override { s.cancel_reply(); }
};

// Lends the in-place reply path to push sources (push.hpp): a push that would grow the output
// beyond `room` bytes is taken back out and counted as skipped.
struct session_push_sink final : push_sink {
  session& s;
  std::vector<std::byte>& out;
  std::size_t room;
  session::push_result& res;
  std::size_t base = 0;
  bool was_sent = false;
  session_push_sink(session& ss, std::vector<std::byte>& o, std::size_t r, session::push_result& p)
      : s(ss), out(o), room(r), res(p) {}
  codec::mutable_bytes begin(s7::rosctr type, std::size_t param_length) override {
    was_sent = false;
    base = out.size();
    return s.begin_reply(out, type, param_length);
  }
  void commit(const s7::header& h, bytes param, std::size_t data_length) override {
    s.commit_reply(h, param, data_length);
    const std::size_t n = out.size() - base;
    if (n == 0) return;  // the self check refused it (the session closes)
    if (n > room) {
      out.resize(base);
      ++res.skipped;
      return;
    }
    room -= n;
    ++res.sent;
    was_sent = true;
  }
  void cancel() override {
    s.cancel_reply();
    was_sent = false;
  }
  [[nodiscard]] bool sent() const noexcept override { return was_sent; }
};

session::push_result session::push(push_clock::time_point now, std::uint64_t memory_writes,
                                   std::vector<std::byte>& out, std::size_t room) {
  push_result res;
  if (state_ != state::ready || reply_out_ != nullptr) return res;
  session_push_sink sink{*this, out, room, res};
  svc_.push(push_context{now, pdu_size_, memory_writes}, sink);
  return res;
}

session::session(const config& cfg, plc_memory& mem, plc_state& plc, std::uint16_t local_ref,
                 std::string peer)
    : cfg_(cfg),
      mem_(mem),
      plc_(plc),
      svc_(cfg, plc),
      local_ref_(local_ref),
      peer_(std::move(peer)),
      frame_buf_(max_frame_size),
      reassembly_buf_(max_pdu_size),
      // Until Setup Communication the reassembly is capped at the configured PDU size.
      reader_(frame_buf_, std::span<std::byte>(reassembly_buf_).first(cfg.pdu_size)) {}

session::~session() {
  if (conn_type_ != 0) plc_.connection_closed(conn_type_);
  plc_.release_connection(slot_);
}

void session::close(std::string_view why) {
  if (state_ != state::closing) log(log_level::info, "{}: closing: {}", peer_, why);
  state_ = state::closing;
}

bool session::receive(std::span<const std::byte> in, std::vector<std::byte>& out) {
  return receive_some(in, out, static_cast<std::size_t>(-1)).open;
}

session::receive_result session::receive_some(std::span<const std::byte> in,
                                              std::vector<std::byte>& out,
                                              std::size_t max_replies) {
  receive_result res;
  bytes rest = in;
  while (state_ != state::closing && res.replies < max_replies) {
    const codec::transport::event e = reader_.next(rest);
    if (e.st == codec::transport::status::need_more) break;
    const std::size_t before = out.size();
    if (e.st == codec::transport::status::error)
      on_transport_error(e, out);
    else
      on_tpdu(e, out);
    if (out.size() != before) ++res.replies;
  }
  res.consumed = in.size() - rest.size();
  res.open = state_ != state::closing;
  return res;
}

void session::on_transport_error(const codec::transport::event& e, std::vector<std::byte>& out) {
  report({.what = session_event::kind::transport_error,
          .cr = nullptr,
          .pdu = {},
          .parsed = nullptr,
          .decoded = nullptr});
  if (e.err.where == codec::layer::tpkt) {
    log(log_level::warn, "{}: bad TPKT: {}", peer_, describe(e.err));
    close("invalid TPKT framing");
  } else if (e.err.code == codec::errc::cotp_reassembly_overflow) {
    log(log_level::warn, "{}: COTP segments exceed {} bytes (the PDU size): {}", peer_,
        state_ == state::ready ? pdu_size_ : cfg_.pdu_size, describe(e.err));
    disconnect(protocol_error_reason, out);
  } else {
    log(log_level::warn, "{}: bad COTP TPDU: {}", peer_, describe(e.err));
    close("invalid COTP TPDU");
  }
}

void session::on_tpdu(const codec::transport::event& e, std::vector<std::byte>& out) {
  if (faults_ != nullptr) [[unlikely]] {
    faults_->on_tpdu(e, out);  // a fault rule may change what is answered (faults.hpp)
    return;
  }
  process_tpdu(e, out);
}

void session::process_tpdu(const codec::transport::event& e, std::vector<std::byte>& out) {
  const cotp::tpdu& t = e.tpdu;
  log(log_level::trace, "{}: COTP type 0x{:X}, {} bytes", peer_, static_cast<unsigned>(t.type),
      e.frame.size());
  switch (t.type) {
    case cotp::tpdu_type::cr:
      if (state_ != state::wait_cr) {
        log(log_level::warn, "{}: second COTP CR on a connected transport", peer_);
        disconnect(protocol_error_reason, out);
        return;
      }
      report({.what = session_event::kind::connect_request,
              .cr = &t,
              .pdu = {},
              .parsed = nullptr,
              .decoded = nullptr});
      on_connect_request(t, out);
      return;
    case cotp::tpdu_type::dr: {
      // The peer disconnects: confirm and close (the issue asks for a DC; ISO 8073 class 0 itself
      // just releases the network connection).
      std::array<std::byte, 16> buf{};
      writer w{buf};
      cotp::write_disconnect(w, {cotp::tpdu_type::dc, t.src_ref, local_ref_, 0, {}});
      if (const auto n = w.finish()) send_tpdu(bytes{buf.data(), *n}, out);
      close(fmt::format("COTP DR from peer (reason 0x{:02X})", t.reason));
      return;
    }
    case cotp::tpdu_type::dt:
      if (state_ == state::wait_cr) {
        close("COTP DT before connection");
        return;
      }
      if (e.completes_pdu) on_pdu(e.pdu, out);  // not yet: a segment, or an empty EOT=0 DT
      return;
    default:
      log(log_level::warn, "{}: unexpected COTP TPDU type 0x{:X}", peer_,
          static_cast<unsigned>(t.type));
      close("unexpected COTP TPDU");
      return;
  }
}

void session::on_connect_request(const cotp::tpdu& cr, std::vector<std::byte>& out) {
  peer_ref_ = cr.src_ref;
  cotp::s7_tsap called{};
  const bool s7 = cotp::decode_s7_tsap(cr.params.called_tsap, called);
  const bool type_ok =
      called.connection_type >= static_cast<std::uint8_t>(cotp::connection_type::pg) &&
      called.connection_type <= static_cast<std::uint8_t>(cotp::connection_type::s7_basic);
  if (!s7 || !type_ok || called.rack != cfg_.rack || called.slot != cfg_.slot) {
    log(log_level::warn,
        "{}: COTP CR refused: called TSAP {} is not rack {} slot {} (PG/OP/S7-basic)", peer_,
        cr.params.called_tsap.size() == 2
            ? fmt::format("{:02X}{:02X}", u8(cr.params.called_tsap[0]),
                          u8(cr.params.called_tsap[1]))
            : fmt::format("of {} bytes", cr.params.called_tsap.size()),
        cfg_.rack, cfg_.slot);
    refuse_connect(cr, refuse_reason, "connection refused (TSAP)", out);
    return;
  }
  slot_ = plc_.admit_connection(called.connection_type);
  if (slot_ == plc_state::slot::none) {
    // Every connection resource of the CPU is taken (the reserved PG/OP ones only take a PG or
    // an OP): refused with ISO 8073's "remote transport entity congestion at connect request".
    log(log_level::warn, "{}: COTP CR refused: no free connection resource for type 0x{:02X}",
        peer_, called.connection_type);
    refuse_connect(cr, congestion_reason, "connection refused (no connection resource)", out);
    return;
  }
  tpdu_code_ = cr.params.tpdu_size_code == 0
                   ? default_tpdu_size_code
                   : std::min(cr.params.tpdu_size_code, max_tpdu_size_code);
  if (!send_connect_confirm(cr, out)) return;
  report({.what = session_event::kind::connected,
          .cr = nullptr,
          .pdu = {},
          .parsed = nullptr,
          .decoded = nullptr});
  state_ = state::connected;
  conn_type_ = called.connection_type;
  plc_.connection_opened(conn_type_);
  svc_.set_connection_type(conn_type_);
  log(log_level::info, "{}: COTP connected (type 0x{:02X}, rack {} slot {}, TPDU {} bytes)", peer_,
      called.connection_type, called.rack, called.slot, tpdu_size());
}

void session::refuse_connect(const cotp::tpdu& cr, std::uint8_t reason, const char* why,
                             std::vector<std::byte>& out) {
  // A DR answering a CR carries src-ref 0 (ISO 8073 §13.5.3 d).
  std::array<std::byte, 16> buf{};
  writer w{buf};
  cotp::write_disconnect(w, {cotp::tpdu_type::dr, cr.src_ref, 0, reason, {}});
  if (const auto n = w.finish()) send_tpdu(bytes{buf.data(), *n}, out);
  close(why);
}

// CC as a CPU sends it: C0 (TPDU size), C1 (calling TSAP), C2 (called TSAP), both TSAPs echoed;
// dst-ref = the CR's src-ref. Capture: CR 0300001611e00000000f00c1020100c2020102c0010a answered
// by 0300001611d0000f000300c0010ac1020100c2020102.
bool session::send_connect_confirm(const cotp::tpdu& cr, std::vector<std::byte>& out) {
  std::array<std::byte, 80> params{};
  writer pw{params};
  cotp::write_param_u8(pw, static_cast<std::uint8_t>(cotp::param_code::tpdu_size), tpdu_code_);
  if (!cr.params.calling_tsap.empty())
    cotp::write_param(pw, static_cast<std::uint8_t>(cotp::param_code::calling_tsap),
                      cr.params.calling_tsap);
  cotp::write_param(pw, static_cast<std::uint8_t>(cotp::param_code::called_tsap),
                    cr.params.called_tsap);
  const auto pn = pw.finish();
  std::array<std::byte, 96> buf{};
  writer w{buf};
  cotp::write_connect(
      w, {cotp::tpdu_type::cc, cr.src_ref, local_ref_, 0x00, bytes{params.data(), pn ? *pn : 0}});
  const auto n = w.finish();
  if (!pn || !n) {
    close("CC does not fit");
    return false;
  }
  send_tpdu(bytes{buf.data(), *n}, out);
  return true;
}

void session::disconnect(std::uint8_t reason, std::vector<std::byte>& out) {
  std::array<std::byte, 16> buf{};
  writer w{buf};
  cotp::write_disconnect(w, {cotp::tpdu_type::dr, peer_ref_, local_ref_, reason, {}});
  if (const auto n = w.finish()) send_tpdu(bytes{buf.data(), *n}, out);
  close(fmt::format("sent COTP DR (reason 0x{:02X})", reason));
}

void session::send_tpdu(bytes tpdu, std::vector<std::byte>& out) {
  std::array<std::byte, codec::tpkt::header_size> hdr{};
  writer w{hdr};
  codec::tpkt::write_header(w, tpdu.size());
  append(out, hdr);
  append(out, tpdu);
}

// --- Replies ------------------------------------------------------------------------------------
// A reply is written where it is sent from: in the connection's output buffer, after room for the
// headers of its first segment.
//
//   out: ... | TPKT 4 | DT 3 | S7 header 10/12 | parameter | data ..................... |
//            ^ reply_base_                                  ^ begin_reply() returns this
//
// The buffer grows by the largest PDU for the time of the reply (its capacity stays: no
// allocation once it has held one reply) and is cut to the reply's size by commit_reply().
codec::mutable_bytes session::begin_reply(std::vector<std::byte>& out, s7::rosctr type,
                                          std::size_t param_length) {
  if (reply_out_ != nullptr) cancel_reply();  // one reply at a time
  reply_out_ = &out;
  reply_base_ = out.size();
  reply_type_ = type;
  reply_param_length_ = param_length;
  const std::size_t limit = state_ == state::ready ? pdu_size_ : max_pdu_size;
  const std::size_t head = s7::header_size(type) + param_length;
  // Grown by the PDU size in force, not the largest one: the new bytes are zeroed, a cost
  // paid per reply.
  out.resize(reply_base_ + segment_header_size + std::max(limit, head));
  if (head >= limit) return {};
  return codec::mutable_bytes{out}.subspan(reply_base_ + segment_header_size + head, limit - head);
}

void session::cancel_reply() {
  reply_failed_items_ = -1;
  if (reply_out_ == nullptr) return;
  reply_out_->resize(reply_base_);
  reply_out_ = nullptr;
}

void session::commit_reply(const s7::header& h, bytes param, std::size_t data_length) {
  if (reply_out_ == nullptr) return;
  std::vector<std::byte>& out = *reply_out_;
  const std::size_t limit = state_ == state::ready ? pdu_size_ : max_pdu_size;
  const std::size_t n = s7::header_size(h.type) + param.size() + data_length;
  bool ok = h.type == reply_type_ && param.size() == reply_param_length_ && n <= limit;
  if (ok) {
    s7::header hh = h;
    hh.param_length = static_cast<std::uint16_t>(param.size());
    hh.data_length = static_cast<std::uint16_t>(data_length);
    const codec::mutable_bytes pdu =
        codec::mutable_bytes{out}.subspan(reply_base_ + segment_header_size, n);
    writer w{pdu};
    s7::write_header(w, hh);
    w.raw(param);
    // Self check: every reply must decode with the strict codec.
    if (const codec::error e = cfg_.check_replies ? s7::decode(pdu, check_msg_) : codec::error{}) {
      log(log_level::error, "{}: BUG: reply does not decode: {}", peer_, describe(e));
      ok = false;
    }
  } else {
    log(log_level::error, "{}: BUG: reply of {} bytes does not fit the PDU size {}", peer_, n,
        limit);
  }
  if (!ok) {
    cancel_reply();
    if (cfg_.abort_on_bad_reply) std::abort();
    close("internal error building a reply");
    return;
  }
  report({.what = session_event::kind::reply,
          .cr = nullptr,
          .pdu = codec::bytes{out}.subspan(reply_base_ + segment_header_size, n),
          .parsed = nullptr,
          .decoded = cfg_.check_replies ? &check_msg_ : nullptr,
          .failed_items = reply_failed_items_});
  frame_in_place(n);
  reply_out_ = nullptr;
  reply_failed_items_ = -1;
}

// Puts the TPKT and DT headers in front of each segment of at most the negotiated TPDU size. A
// PDU that fits one TPDU (every reply at the usual TPDU size 1024) stays where it was written;
// otherwise the later segments move back, last first, to make room for their headers.
void session::frame_in_place(std::size_t pdu_length) {
  std::vector<std::byte>& out = *reply_out_;
  const std::size_t chunk = tpdu_size() - dt_header_size;
  const std::size_t segments = pdu_length == 0 ? 1 : (pdu_length + chunk - 1) / chunk;
  out.resize(reply_base_ + segments * segment_header_size + pdu_length);
  for (std::size_t i = segments; i-- > 0;) {
    const std::size_t len = std::min(chunk, pdu_length - i * chunk);
    const std::size_t at = reply_base_ + i * (segment_header_size + chunk);
    if (i > 0) {
      const std::size_t from = reply_base_ + segment_header_size + i * chunk;
      std::memmove(out.data() + at + segment_header_size, out.data() + from, len);
    }
    writer w{codec::mutable_bytes{out}.subspan(at, segment_header_size)};
    codec::tpkt::write_header(w, dt_header_size + len);
    cotp::write_dt_header(w, i + 1 == segments, 0);
  }
}

void session::send_pdu(const s7::header& h, bytes param, bytes data, std::vector<std::byte>& out) {
  const codec::mutable_bytes area = begin_reply(out, h.type, param.size());
  std::copy_n(data.begin(), std::min(data.size(), area.size()), area.begin());
  commit_reply(h, param, data.size());
}

void session::reply_error(const s7::header& req, std::uint8_t fn, std::uint16_t error,
                          std::vector<std::byte>& out) {
  s7::header h;
  h.pdu_ref = req.pdu_ref;
  h.error_class = static_cast<std::uint8_t>(error >> 8U);
  h.error_code = static_cast<std::uint8_t>(error & 0xFFU);
  if (fn == static_cast<std::uint8_t>(s7::function::read_var) ||
      fn == static_cast<std::uint8_t>(s7::function::write_var)) {
    h.type = s7::rosctr::ack_data;
    const std::array<std::byte, 2> prm{std::byte{fn}, std::byte{0}};
    send_pdu(h, prm, {}, out);
  } else {
    h.type = s7::rosctr::ack;
    send_pdu(h, {}, {}, out);
  }
}

void session::on_pdu(bytes pdu, std::vector<std::byte>& out) {
  const auto p = s7::parse(pdu);
  report({.what = session_event::kind::request,
          .cr = nullptr,
          .pdu = pdu,
          .parsed = p ? &*p : nullptr,
          .decoded = nullptr});
  if (!p) {
    // Not an S7 PDU (or one whose lengths disagree): nothing trustworthy to answer to.
    log(log_level::warn, "{}: bad S7 PDU: {}", peer_, describe(p.err()));
    disconnect(protocol_error_reason, out);
    return;
  }
  const std::size_t limit = state_ == state::ready ? pdu_size_ : cfg_.pdu_size;
  switch (p->hdr.type) {
    case s7::rosctr::job:
      if (pdu.size() > limit) {
        log(log_level::warn, "{}: job of {} bytes exceeds the PDU size {}", peer_, pdu.size(),
            limit);
        reply_error(p->hdr, p->param.empty() ? 0 : u8(p->param[0]), err_wrong_frames, out);
        return;
      }
      on_job(*p, pdu, out);
      return;
    case s7::rosctr::userdata:
      if (state_ != state::ready || pdu.size() > limit) {
        log(log_level::warn, "{}: Userdata before Setup Communication or over the PDU size", peer_);
        reply_error(p->hdr, 0, err_not_implemented, out);
        return;
      }
      on_userdata(*p, out);
      return;
    case s7::rosctr::ack:
    case s7::rosctr::ack_data: {
      // Acknowledgements answer the jobs the server sends itself (Download Block / Download
      // Ended of a download, services.cpp); any other is ignored.
      session_sink sink{*this, out};
      if (state_ == state::ready && svc_.on_ack(*p, pdu, pdu_size_, sink)) return;
      log(log_level::warn, "{}: ignoring an S7 {} from the client", peer_,
          p->hdr.type == s7::rosctr::ack ? "Ack" : "Ack_Data");
      return;
    }
  }
}

void session::on_job(const s7::pdu& p, bytes raw, std::vector<std::byte>& out) {
  const std::uint8_t fn = p.param.empty() ? 0 : u8(p.param[0]);
  s7::param_options opt;
  // Items with syntax ids other than S7ANY are answered one by one (rc 0x05), as long as their
  // length bytes are consistent; the rest of the job stays strict.
  opt.items.allow_unknown_syntax = true;
  opt.data = write_data_options;
  // The header was parsed once (on_pdu); the parameter and data blocks are decoded here, once.
  if (const codec::error e = s7::parse_job(p, job_, opt)) {
    log(log_level::warn, "{}: malformed job (pdu_ref {}): {}", peer_, p.hdr.pdu_ref, describe(e));
    reply_error(p.hdr, fn, err_wrong_frames, out);
    return;
  }
  const s7::param& prm = job_;
  if (prm.fn == static_cast<std::uint8_t>(s7::function::setup_communication)) {
    setup_communication(p.hdr, prm.setup, out);
    return;
  }
  if (state_ != state::ready) {
    // No evidence in the captures (every client starts with Setup Communication); answered
    // like an unsupported service so the client sees an S7 error rather than a dead socket.
    log(log_level::warn, "{}: job 0x{:02X} before Setup Communication", peer_, prm.fn);
    reply_error(p.hdr, fn, err_not_implemented, out);
    return;
  }
  switch (static_cast<s7::function>(prm.fn)) {
    case s7::function::read_var:
      read_var(p.hdr, prm, raw.data(), out);
      return;
    case s7::function::write_var:
      // Protection level 2/3 without the password: the whole job is refused (services.hpp).
      if (const std::uint16_t refusal = svc_.write_refusal(); refusal != 0) {
        log(log_level::info, "{}: Write Var refused at protection level {}", peer_,
            svc_.effective_protection());
        reply_error(p.hdr, fn, refusal, out);
        return;
      }
      write_var(p.hdr, prm, p, out);
      return;
    default: {
      // Block up/download, PI services, PLC stop (and the error for anything else).
      session_sink sink{*this, out};
      svc_.on_job(p, prm, pdu_size_, sink);
      return;
    }
  }
}

void session::setup_communication(const s7::header& req, const s7::setup_communication& s,
                                  std::vector<std::byte>& out) {
  if (state_ != state::ready) {
    // PDU size: what the client asks, at most the configured size, never under 240 (the
    // smallest S7-300 PDU; snap7's server has the same floor).
    pdu_size_ = std::max(min_pdu_size, std::min(s.pdu_length, cfg_.pdu_size));
    const auto amq = [&](std::uint16_t asked) {
      return std::max<std::uint16_t>(1, std::min(asked, cfg_.max_amq));
    };
    amq_calling_ = amq(s.max_amq_calling);
    amq_called_ = amq(s.max_amq_called);
    reader_.limit_pdu(pdu_size_);
    state_ = state::ready;
    log(log_level::info, "{}: Setup Communication: PDU {} (asked {}), AmQ {}/{} (asked {}/{})",
        peer_, pdu_size_, s.pdu_length, amq_calling_, amq_called_, s.max_amq_calling,
        s.max_amq_called);
  } else {
    // A second Setup Communication does not renegotiate: the values in force are confirmed.
    log(log_level::info, "{}: repeated Setup Communication, keeping PDU {}", peer_, pdu_size_);
  }
  std::array<std::byte, s7::setup_communication_length> prm{};
  writer w{prm};
  s7::write_setup_communication(w, {0, amq_calling_, amq_called_, pdu_size_});
  s7::header h;
  h.type = s7::rosctr::ack_data;
  h.pdu_ref = req.pdu_ref;
  send_pdu(h, prm, {}, out);
}

void session::read_var(const s7::header& req, const s7::param& prm, const std::byte* origin,
                       std::vector<std::byte>& out) {
  // One pass: each item is resolved once and written straight into its place in the output
  // buffer; the writer keeps counting past the data block, so an answer that would not fit the
  // PDU size is known at the end and none is sent.
  std::array<std::byte, 2> ap{};
  writer pw{ap};
  s7::write_var_ack(pw, s7::function::read_var, prm.item_count);
  writer w{begin_reply(out, s7::rosctr::ack_data, ap.size())};
  auto it = prm.var_specs(origin);
  s7::var_spec v;
  std::size_t i = 0;
  int failed = 0;
  while (it.next(v)) {
    if (var_items::write_read_item(w, v, mem_, plc_, ++i == prm.item_count) != rc::success)
      ++failed;
  }
  const auto n = w.finish();
  if (!n) {
    const std::size_t size = s7::long_header_size + ap.size() + w.size();
    log(log_level::info, "{}: Read Var answer of {} bytes exceeds the PDU size {}: error 0x8500",
        peer_, size, pdu_size_);
    cancel_reply();
    reply_error(req, prm.fn, err_wrong_frames, out);
    return;
  }
  s7::header h;
  h.type = s7::rosctr::ack_data;
  h.pdu_ref = req.pdu_ref;
  reply_failed_items_ = failed;
  commit_reply(h, ap, *n);
}

void session::write_var(const s7::header& req, const s7::param& prm, const s7::pdu& p,
                        std::vector<std::byte>& out) {
  std::array<std::byte, 255> codes{};
  auto specs = prm.var_specs(p.origin);
  s7::data_item_iterator items{p.data, prm.item_count, p.origin, write_data_options};
  s7::var_spec v;
  s7::data_item d;
  std::size_t i = 0;
  while (specs.next(v) && items.next(d)) {
    const var_items::resolved r = var_items::resolve(v, mem_, plc_);
    std::uint8_t code = r.rc;
    if (code == rc::success) {
      const bool bits = s7::length_in_bits(d.tsize);
      if (r.bit) {
        // BIT: data transport size BIT, length 1 (bit), one byte 0x00/0x01.
        if (d.tsize != static_cast<std::uint8_t>(s7::data_tsize::bit) || d.length != 1 ||
            d.data.size() != 1 || u8(d.data[0]) > 1) {
          code = rc::type_inconsistent;
        } else {
          const auto mask = static_cast<std::uint8_t>(1U << r.bit_no);
          const std::uint8_t old = u8(r.loc.ram[0]);
          const std::array<std::byte, 1> nb{std::byte{
              static_cast<std::uint8_t>(u8(d.data[0]) != 0 ? (old | mask) : (old & ~mask))}};
          if (!mem_.write(r.loc, nb)) code = rc::hardware_error;
        }
      } else if (d.tsize == static_cast<std::uint8_t>(s7::data_tsize::bit) ||
                 d.tsize == static_cast<std::uint8_t>(s7::data_tsize::null) ||
                 d.data.size() != r.loc.ram.size() ||
                 (bits ? std::size_t{d.length} != d.data.size() * 8U
                       : std::size_t{d.length} != d.data.size())) {
        code = rc::type_inconsistent;
      } else if (counter_or_timer(v.any.area) &&
                 var_items::check_counter_timer_write(d.data) != rc::success) {
        // A word no counter or timer holds: refused as the captured CPU did.
        code = var_items::check_counter_timer_write(d.data);
      } else if (!mem_.write(r.loc, d.data)) {
        code = rc::hardware_error;
      }
      if (code == rc::success && r.loc.db != nullptr) wrote_ = true;
    }
    codes[i++] = std::byte{code};
  }
  std::array<std::byte, 2> ap{};
  writer pw{ap};
  s7::write_var_ack(pw, s7::function::write_var, prm.item_count);
  s7::header h;
  h.type = s7::rosctr::ack_data;
  h.pdu_ref = req.pdu_ref;
  reply_failed_items_ =
      static_cast<int>(std::count_if(codes.begin(), codes.begin() + static_cast<std::ptrdiff_t>(i),
                                     [](std::byte c) { return u8(c) != rc::success; }));
  send_pdu(h, ap, bytes{codes.data(), i}, out);
}

void session::on_userdata(const s7::pdu& p, std::vector<std::byte>& out) {
  const auto u = s7::ud::parse(p);
  if (!u) {
    log(log_level::warn, "{}: malformed Userdata: {}", peer_, describe(u.err()));
    reply_error(p.hdr, 0, err_wrong_frames, out);
    return;
  }
  // SZL, clock, block functions, security; the CPU's error for everything else (services.cpp).
  session_sink sink{*this, out};
  svc_.on_userdata(p, *u, pdu_size_, sink);
}

}  // namespace protos7::server
