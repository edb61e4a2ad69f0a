// `protos7 serve --validate`: per-connection checks of everything a client sends (validate.hpp).
#include "protos7/server/validate.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/hex.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/s7_peek.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/transport.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/session.hpp"
#include "protos7/store/atomic_file.hpp"

namespace protos7::server {

namespace {

namespace cotp = codec::cotp;
namespace s7 = codec::s7;
using codec::bytes;

// Before Setup Communication a client may have one request outstanding: the Setup itself.
constexpr std::uint16_t amq_before_setup = 1;
// A PDU collected from DT segments is never longer than this (the 16-bit S7 lengths).
constexpr std::size_t max_collect = 65535 + s7::long_header_size;

}  // namespace

struct connection_validator::impl {
  validate_options opt;
  std::string peer;
  std::vector<deviation> devs;

  // Each direction read by the codec's transport reader (frames up to the class-0 maximum, as
  // the session accepts them; PDUs up to the 16-bit S7 lengths).
  std::vector<std::byte> c_frame_buf = std::vector<std::byte>(max_frame_size);
  std::vector<std::byte> c_pdu_buf = std::vector<std::byte>(max_collect);
  codec::transport::stream_reader client{c_frame_buf, c_pdu_buf};
  std::vector<std::byte> s_frame_buf = std::vector<std::byte>(max_frame_size);
  std::vector<std::byte> s_pdu_buf = std::vector<std::byte>(max_collect);
  codec::transport::stream_reader server{s_frame_buf, s_pdu_buf};
  std::uint64_t client_frames = 0;
  std::uint64_t requests = 0;
  // The client PDU being reassembled from DT segments: where it began, its segments.
  std::uint64_t c_pdu_frame = 0, c_pdu_offset = 0;
  std::size_t c_pdu_segments = 0;
  bool c_pdu_over = false;

  bool cr_seen = false;
  bool cc_seen = false;
  std::size_t tpdu_size = 128;  // ISO 8073 default until the CC says otherwise
  bool setup_acked = false;
  std::uint16_t pdu_size = 0;
  std::uint16_t amq_calling = 0;
  std::uint16_t amq_called = 0;
  std::set<std::uint16_t> in_flight;    // the client's requests the server has not answered
  std::set<std::uint16_t> server_jobs;  // the server's jobs the client has not acknowledged

  // Injected faults and the client's reactions (validate.hpp). A fault is reported before the
  // bytes of the request it hit reach the validator: it is "armed" when they do, and the client's
  // next step after that is its reaction.
  using clock = std::chrono::steady_clock;
  struct fault_rec {
    fault_reaction r;
    clock::time_point reply_at;  // when the reply left (or would have)
    fault_event_kind kind = fault_event_kind::request;
    std::vector<std::byte> request_pdu;
    bool armed = false;
  };
  clock::time_point opened = clock::now();
  std::vector<fault_rec> faults;
  bytes seen_request;  // the request of the client event being checked (valid during it)
  bool has_request = false;
  bool seen_cr = false;

  void add(std::string code, std::string message, bytes where, std::uint32_t offset,
           std::uint64_t frame, std::uint64_t stream_offset) {
    deviation d;
    d.code = std::move(code);
    d.message = std::move(message);
    d.frame = frame;
    d.stream_offset = stream_offset;
    d.offset = offset;
    d.bytes.assign(where.begin(), where.begin() + static_cast<std::ptrdiff_t>(
                                                      std::min(where.size(), opt.max_bytes)));
    devs.push_back(std::move(d));
  }

  [[nodiscard]] std::uint16_t limit() const noexcept {
    return setup_acked ? pdu_size : opt.pdu_size;
  }

  // --- client side ---

  void client_event(const codec::transport::event& e, bytes chunk, std::uint64_t chunk_at) {
    const std::size_t devs_before = devs.size();
    has_request = seen_cr = false;
    check_client_event(e, chunk, chunk_at);
    if (!faults.empty()) after_client_event(devs_before);
  }

  void check_client_event(const codec::transport::event& e, bytes chunk, std::uint64_t chunk_at) {
    if (e.st == codec::transport::status::error && e.err.where == codec::layer::tpkt) {
      framing_error(e, chunk, chunk_at);
      return;
    }
    if (e.st == codec::transport::status::error &&
        e.err.code == codec::errc::cotp_reassembly_overflow)
      return;  // a PDU past the 16-bit S7 lengths: already reported as over the PDU size
    ++client_frames;
    const std::uint64_t n = client_frames;
    if (e.st == codec::transport::status::error) {
      add(std::string(codec::to_string(e.err.code)),
          fmt::format("COTP TPDU rejected by the strict codec: {} at offset {}",
                      codec::to_string(e.err.code), e.err.offset),
          e.frame, e.err.offset, n, e.offset);
      return;
    }
    switch (e.tpdu.type) {
      case cotp::tpdu_type::cr:
        connect_request(e.tpdu, e.frame, n, e.offset);
        return;
      case cotp::tpdu_type::dt:
        data(e, n);
        return;
      case cotp::tpdu_type::dr:
        return;  // the client disconnects
      default:
        add("cotp_unexpected_tpdu",
            fmt::format(
                "COTP TPDU type 0x{:02X} from a client (only CR, DT and DR are sent by one)",
                static_cast<unsigned>(e.tpdu.type)),
            e.frame, 4, n, e.offset);
        return;
    }
  }

  // The client's bytes stop being TPKT frames: nothing after them can be framed.
  void framing_error(const codec::transport::event& e, bytes chunk, std::uint64_t chunk_at) {
    const bytes rest = e.offset >= chunk_at && e.offset - chunk_at < chunk.size()
                           ? chunk.subspan(e.offset - chunk_at)
                           : chunk;
    if (e.err.code == codec::errc::tpkt_frame_too_large) {
      add("tpkt_frame_too_large",
          fmt::format("TPKT frame of {} bytes; a class-0 TPDU is at most 2048 bytes (ISO 8073 "
                      "§13.3.4 b) + 4",
                      codec::tpkt::measure(rest).frame_size),
          rest, 0, client_frames + 1, e.offset);
      return;
    }
    add(std::string(codec::to_string(e.err.code)),
        fmt::format(
            "TPKT header rejected: {} (the bytes at client stream offset {} are not a TPKT frame; "
            "nothing after them can be framed)",
            codec::to_string(e.err.code), e.offset),
        rest, e.err.offset, client_frames + 1, e.offset);
  }

  void connect_request(const cotp::tpdu& cr, bytes f, std::uint64_t n, std::uint64_t at) {
    if (cr_seen) {
      add("cotp_cr_repeated", "a second COTP CR on a connection that is already set up", f, 4, n,
          at);
      return;
    }
    cr_seen = true;
    seen_cr = true;
    if (cr.params.tpdu_size_code != 0) tpdu_size = cotp::tpdu_size_bytes(cr.params.tpdu_size_code);
    if (cr.params.calling_tsap.empty())
      add("tsap_calling_missing", "the CR carries no calling TSAP (parameter 0xC1)", f, 4, n, at);
    cotp::s7_tsap called{};
    if (!cotp::decode_s7_tsap(cr.params.called_tsap, called) || called.connection_type < 1 ||
        called.connection_type > 3 || called.rack != opt.rack || called.slot != opt.slot) {
      add("tsap_called_mismatch",
          fmt::format(
              "called TSAP {} is not a PG/OP/S7-basic connection to rack {} slot {} (expected "
              "01{:02X}, "
              "02{:02X} or 03{:02X})",
              cr.params.called_tsap.empty() ? std::string("(none)")
                                            : codec::to_hex(cr.params.called_tsap),
              opt.rack, opt.slot, opt.rack * 32 + opt.slot, opt.rack * 32 + opt.slot,
              opt.rack * 32 + opt.slot),
          f, 4, n, at);
    }
  }

  void data(const codec::transport::event& e, std::uint64_t n) {
    const cotp::tpdu& dt = e.tpdu;
    const bytes f = e.frame;
    const std::uint64_t at = e.offset;
    if (!cr_seen) {
      add("cotp_dt_before_connect", "COTP DT before any CR", f, 4, n, at);
      return;
    }
    if (f.size() - codec::tpkt::header_size > tpdu_size)
      add("cotp_dt_over_tpdu_size",
          fmt::format("DT TPDU of {} bytes; the negotiated TPDU size is {}",
                      f.size() - codec::tpkt::header_size, tpdu_size),
          f, 4, n, at);
    if (c_pdu_segments == 0) {
      c_pdu_frame = n;
      c_pdu_offset = at;
    }
    if (dt.user_data.empty() && !dt.eot) return;  // Step 7's empty DT after each answer: legal
    ++c_pdu_segments;
    const std::size_t carried = e.completes_pdu ? e.pdu.size() : client.partial_pdu();
    if (!c_pdu_over && carried > limit()) {
      c_pdu_over = true;
      add("pdu_over_negotiated_size",
          fmt::format(
              "the DT segments of this PDU already carry {} bytes; the PDU size in force is {}{}",
              carried, limit(), setup_acked ? "" : " (the server's, before Setup Communication)"),
          f, 0, n, at);
    }
    if (!dt.eot) return;
    const std::size_t segments = c_pdu_segments;
    const bool already_over = c_pdu_over;
    c_pdu_segments = 0;
    c_pdu_over = false;
    client_pdu(e.pdu, segments, already_over, f, c_pdu_frame, c_pdu_offset);
  }

  void request(const s7::header& h, bytes pdu, std::uint64_t n, std::uint64_t at) {
    ++requests;
    seen_request = pdu;
    has_request = true;
    const std::uint16_t amq = setup_acked ? amq_calling : amq_before_setup;
    if (in_flight.contains(h.pdu_ref))
      add("pdu_ref_reused",
          fmt::format("PDU reference {} (0x{:04X}) is still in flight: the server has not answered "
                      "the request "
                      "that used it ({} request(s) outstanding)",
                      h.pdu_ref, h.pdu_ref, in_flight.size()),
          pdu, 4, n, at);
    else if (in_flight.size() >= amq)
      add("too_many_jobs_in_flight",
          fmt::format("{} request(s) already unanswered; the negotiated Max AmQ calling is {}",
                      in_flight.size(), amq),
          pdu, 4, n, at);
    in_flight.insert(h.pdu_ref);
  }

  void client_pdu(bytes pdu, std::size_t segments, bool already_over, bytes last_frame,
                  std::uint64_t n, std::uint64_t at) {
    if (!already_over && pdu.size() > limit())
      add("pdu_over_negotiated_size",
          fmt::format("S7 PDU of {} bytes; the PDU size in force is {}{}", pdu.size(), limit(),
                      setup_acked ? "" : " (the server's, before Setup Communication)"),
          pdu, 0, n, at);
    // The header first, leniently, so the request is tracked even when its body is rejected.
    const auto hp = s7::parse(pdu);
    if (!hp) {
      // A length mismatch means the header itself was readable: peek at its lengths.
      const s7::peek_result pk = s7::peek(pdu);
      if (hp.err().code == codec::errc::s7_length_mismatch && segments == 1 && pk.s7) {
        const std::size_t hdr = s7::header_size(static_cast<s7::rosctr>(pk.rosctr));
        const std::size_t declared = hdr + pk.param_length + pk.data_length;
        // The frame came out of the framer whole: its TPKT length is the frame size.
        const auto tpkt_length = codec::tpkt::measure(last_frame).frame_size;
        add("tpkt_length_disagrees",
            fmt::format("TPKT length {} gives the S7 PDU {} bytes, but its header declares {} ({} "
                        "+ parameter {} + "
                        "data {}): the TPKT length field does not match the PDU it carries",
                        tpkt_length, pdu.size(), declared, hdr, pk.param_length, pk.data_length),
            last_frame, 2, n, at);
      } else {
        add(std::string(codec::to_string(hp.err().code)),
            fmt::format("S7 header rejected by the strict codec: {} at offset {} of the PDU",
                        codec::to_string(hp.err().code), hp.err().offset),
            pdu, hp.err().offset, n, at);
      }
      return;
    }
    const s7::header& h = hp->hdr;
    // The Userdata type nibble, read leniently (it is the 6th parameter byte; the rest of the
    // head need not be there): a request is tracked even when its head is bad.
    codec::reader ud_head{hp->param, codec::layer::userdata};
    ud_head.skip(s7::ud::param_at::type_group);
    const unsigned ud_type = ud_head.u8() >> 4U;
    const bool is_request =
        h.type == s7::rosctr::job || (h.type == s7::rosctr::userdata && ud_head.ok() &&
                                      ud_type == static_cast<unsigned>(s7::ud::type::request));
    if (is_request) request(h, pdu, n, at);
    if (h.type == s7::rosctr::ack || h.type == s7::rosctr::ack_data) {
      if (server_jobs.erase(h.pdu_ref) == 0)
        add("unsolicited_ack",
            fmt::format("{} with PDU reference {}: the server sent no job with that reference",
                        h.type == s7::rosctr::ack ? "Ack" : "Ack_Data", h.pdu_ref),
            pdu, 4, n, at);
    }
    const auto m = s7::decode(pdu);
    if (!m) {
      add(std::string(codec::to_string(m.err().code)),
          fmt::format("{} rejected by the strict codec: {} ({}) at offset {} of the PDU",
                      h.type == s7::rosctr::userdata ? "Userdata" : "S7 PDU",
                      codec::to_string(m.err().code), codec::to_string(m.err().where),
                      m.err().offset),
          pdu, m.err().offset, n, at);
      return;
    }
    if (h.type != s7::rosctr::job) return;
    const s7::param& prm = m->prm;
    if (prm.fn == static_cast<std::uint8_t>(s7::function::setup_communication)) {
      if (prm.setup.max_amq_calling == 0 || prm.setup.max_amq_called == 0 ||
          prm.setup.pdu_length == 0)
        add("setup_zero_value",
            fmt::format(
                "Setup Communication proposes Max AmQ {}/{} and PDU {}: each must be at least 1",
                prm.setup.max_amq_calling, prm.setup.max_amq_called, prm.setup.pdu_length),
            pdu, 12, n, at);
      return;
    }
    if (!setup_acked) {
      add("job_before_setup",
          fmt::format("job 0x{:02X} before Setup Communication was confirmed", prm.fn), pdu, 10, n,
          at);
      return;
    }
    if (prm.fn == static_cast<std::uint8_t>(s7::function::read_var))
      read_var(prm, m->p, pdu, n, at);
    if (prm.fn == static_cast<std::uint8_t>(s7::function::write_var))
      write_var(prm, m->p, pdu, n, at);
  }

  void read_var(const s7::param& prm, const s7::pdu& p, bytes pdu, std::uint64_t n,
                std::uint64_t at) {
    // The answer a CPU builds: header, | fn | count |, one data item per item (fill bytes between).
    std::size_t answer = s7::long_header_size + 2;
    auto it = prm.var_specs(p.origin);
    s7::var_spec v;
    std::size_t i = 0;
    while (it.next(v)) {
      const bool last = ++i == prm.item_count;
      if (v.syntax != static_cast<std::uint8_t>(s7::syntax_id::s7any)) {
        answer += 4;
        continue;
      }
      if (const std::uint8_t rc = s7::check_any(v.any); rc != s7::return_code::success) {
        add("item_address_invalid",
            fmt::format("item {}: a CPU answers return code 0x{:02X} (count {}, transport size {}, "
                        "address {}.{})",
                        i, rc, v.any.count, v.any.tsize, v.any.byte_offset(), v.any.bit()),
            pdu, v.offset, n, at);
        answer += 4;
        continue;
      }
      const bool bit = v.any.tsize == static_cast<std::uint8_t>(s7::transport_size::bit);
      answer += s7::data_item_size(s7::return_code::success, bit ? 1 : v.any.byte_length(), last);
    }
    if (answer > pdu_size)
      add("read_answer_over_pdu",
          fmt::format("Read Var of {} item(s) needs an answer of {} bytes; the negotiated PDU size "
                      "is {} (split the "
                      "request)",
                      prm.item_count, answer, pdu_size),
          pdu, 10, n, at);
  }

  void write_var(const s7::param& prm, const s7::pdu& p, bytes pdu, std::uint64_t n,
                 std::uint64_t at) {
    auto specs = prm.var_specs(p.origin);
    s7::data_item_iterator items{p.data, prm.item_count, p.origin};
    s7::var_spec v;
    s7::data_item d;
    std::size_t i = 0;
    while (specs.next(v) && items.next(d)) {
      ++i;
      if (v.syntax != static_cast<std::uint8_t>(s7::syntax_id::s7any)) continue;
      if (const std::uint8_t rc = s7::check_any(v.any); rc != s7::return_code::success) {
        add("item_address_invalid",
            fmt::format("item {}: a CPU answers return code 0x{:02X} (count {}, transport size {})",
                        i, rc, v.any.count, v.any.tsize),
            pdu, v.offset, n, at);
        continue;
      }
      const bool bit = v.any.tsize == static_cast<std::uint8_t>(s7::transport_size::bit);
      const std::size_t want = bit ? 1 : v.any.byte_length();
      const std::size_t got = s7::data_bytes(d.tsize, d.length);
      if (got != want || d.data.size() != want)
        add("write_length_mismatch",
            fmt::format("item {} addresses {} byte(s) but its data length field says {} ({} "
                        "byte(s), data transport "
                        "size 0x{:02X})",
                        i, want, d.length, got, d.tsize),
            pdu, d.offset, n, at);
    }
  }

  // --- faults and reactions ---

  void after_client_event(std::size_t devs_before) {
    const auto now = clock::now();
    if (devs.size() > devs_before) {
      const deviation& d = devs[devs_before];
      resolve(now, [&](const fault_rec&) {
        return std::pair<std::string, std::string>{"violated_rule", d.code + ": " + d.message};
      });
    } else if (has_request) {
      resolve(now, [&](const fault_rec& f) { return classify(f, seen_request); });
    }
    arm();
  }

  // The faulted request again, or another one.
  std::pair<std::string, std::string> classify(const fault_rec& f, bytes pdu) const {
    const auto a = s7::parse(pdu);
    const auto b = s7::parse(f.request_pdu);
    const auto same = [](bytes x, bytes y) {
      return std::equal(x.begin(), x.end(), y.begin(), y.end());
    };
    if (!a) return {"new_request", "a request that does not parse"};
    const std::uint16_t ref = a->hdr.pdu_ref;
    if (b && a->hdr.type == b->hdr.type && same(a->param, b->param) && same(a->data, b->data)) {
      std::string d = ref == f.r.pdu_ref
                          ? fmt::format("with the same PDU reference {}", ref)
                          : fmt::format("with a new PDU reference {} (was {})", ref, f.r.pdu_ref);
      if (f.r.delay_ms != 0 && clock::now() < f.reply_at)
        d += ", before the delayed reply was sent";
      return {"retried_same_request", d};
    }
    return {"new_request", ref == f.r.pdu_ref && f.kind == fault_event_kind::request
                               ? fmt::format("reusing the faulted PDU reference {}", ref)
                               : fmt::format("PDU reference {}", ref)};
  }

  // Every armed fault still waiting gets its reaction.
  template <class Decide>
  void resolve(clock::time_point now, Decide&& decide) {
    for (fault_rec& f : faults) {
      if (!f.armed || f.r.reaction != "pending") continue;
      auto [reaction, detail] = decide(f);
      const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(now - f.reply_at);
      f.r.after_ms = after.count();
      if (after > opt.idle_after_fault && reaction != "reconnected" && reaction != "gave_up") {
        f.r.reaction = "idle";
        f.r.detail = fmt::format("nothing for {} ms, then {}: {}", after.count(), reaction, detail);
      } else {
        f.r.reaction = std::move(reaction);
        f.r.detail = std::move(detail);
      }
    }
  }

  // The faulted request (or CR) has now been seen: what follows is the client's reaction.
  void arm() {
    for (fault_rec& f : faults) {
      if (f.armed) continue;
      const bool match =
          f.kind == fault_event_kind::connect
              ? seen_cr
              : has_request && seen_request.size() >= f.request_pdu.size() &&
                    std::equal(f.request_pdu.begin(), f.request_pdu.end(), seen_request.begin());
      if (match) {
        f.armed = true;
        // The server will never answer it (or answered it under another reference): as for the
        // server's own Max AmQ count, it is no longer in flight (a retry with the same reference
        // is no reuse, the next request no excess).
        const bool re_referenced =
            std::find(f.r.kinds.begin(), f.r.kinds.end(), "wrong_pdu_ref") != f.r.kinds.end();
        if ((f.r.reply_suppressed || re_referenced) && f.kind == fault_event_kind::request)
          in_flight.erase(f.r.pdu_ref);
        return;
      }
    }
  }

  // --- server side: what was negotiated, which requests are answered ---

  void server_event(const codec::transport::event& e) {
    if (e.st != codec::transport::status::tpdu) return;  // the server checks its own replies
    if (e.tpdu.type == cotp::tpdu_type::cc) {
      cc_seen = true;
      tpdu_size = e.tpdu.params.tpdu_size_code != 0
                      ? cotp::tpdu_size_bytes(e.tpdu.params.tpdu_size_code)
                      : 128;
      return;
    }
    if (e.completes_pdu) server_pdu(e.pdu);
  }

  void server_pdu(bytes pdu) {
    const auto m = s7::decode(pdu);
    if (!m) {
      const auto hp = s7::parse(pdu);
      if (hp && (hp->hdr.type == s7::rosctr::ack || hp->hdr.type == s7::rosctr::ack_data))
        in_flight.erase(hp->hdr.pdu_ref);
      return;
    }
    const s7::header& h = m->p.hdr;
    switch (h.type) {
      case s7::rosctr::ack:
      case s7::rosctr::ack_data:
        in_flight.erase(h.pdu_ref);
        if (h.type == s7::rosctr::ack_data && h.error() == 0 &&
            m->prm.fn == static_cast<std::uint8_t>(s7::function::setup_communication)) {
          setup_acked = true;
          pdu_size = m->prm.setup.pdu_length;
          amq_calling = m->prm.setup.max_amq_calling;
          amq_called = m->prm.setup.max_amq_called;
        }
        return;
      case s7::rosctr::job:
        server_jobs.insert(h.pdu_ref);
        return;
      case s7::rosctr::userdata:
        if (m->ud.prm.type == static_cast<std::uint8_t>(s7::ud::type::response))
          in_flight.erase(h.pdu_ref);
        return;
    }
  }
};

connection_validator::connection_validator(validate_options opt, std::string peer)
    : p_(std::make_unique<impl>()) {
  p_->opt = std::move(opt);
  p_->peer = std::move(peer);
}
connection_validator::~connection_validator() = default;

void connection_validator::client_bytes(std::span<const std::byte> b) {
  impl& s = *p_;
  const std::uint64_t chunk_at = s.client.offset();
  bytes in = b;
  for (;;) {
    const codec::transport::event e = s.client.next(in);
    if (e.st == codec::transport::status::need_more) return;
    s.client_event(e, b, chunk_at);
  }
}

void connection_validator::server_bytes(std::span<const std::byte> b) {
  impl& s = *p_;
  bytes in = b;
  for (;;) {
    const codec::transport::event e = s.server.next(in);
    if (e.st == codec::transport::status::need_more) return;
    s.server_event(e);
  }
}

void connection_validator::end() {
  impl& s = *p_;
  const std::size_t partial = s.client.partial_frame();
  if (s.client.broken() || partial == 0) return;
  // The reader assembles a split frame at the start of its storage.
  const bytes b = bytes(s.c_frame_buf).first(partial);
  const std::string claimed =
      b.size() >= codec::tpkt::header_size
          ? fmt::format("{}", codec::tpkt::measure(b).frame_size)  // the length field
          : std::string("(header incomplete)");
  s.add("tpkt_truncated",
        fmt::format("the client closed the connection {} byte(s) into a TPKT frame whose length "
                    "field says {}",
                    b.size(), claimed),
        b, 0, s.client_frames + 1, s.client.offset() - partial);
  s.client.reset();
}

void connection_validator::fault(const fault_event& e) {
  impl& s = *p_;
  impl::fault_rec f;
  f.r.sequence = e.sequence;
  f.r.rule = e.rule_name;
  f.r.action = e.action;
  for (std::string_view k : e.kinds) f.r.kinds.emplace_back(k);
  f.r.request = e.request;
  f.r.pdu_ref = e.pdu_ref;
  f.r.at_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(e.when - s.opened).count());
  f.r.delay_ms = e.delay_ms;
  f.r.reply_suppressed = e.reply_suppressed;
  f.r.connection_ended = e.connection_ended;
  f.reply_at = e.when + std::chrono::milliseconds(e.delay_ms);
  f.kind = e.event;
  f.request_pdu = e.request_pdu;
  f.armed = e.event == fault_event_kind::accept;  // no bytes of the client to wait for
  s.faults.push_back(std::move(f));
}

bool connection_validator::awaiting_reconnect() const noexcept {
  return std::any_of(p_->faults.begin(), p_->faults.end(),
                     [](const impl::fault_rec& f) { return f.r.reaction == "pending"; });
}

void connection_validator::came_back(bool reconnected, const std::string& detail) {
  impl& s = *p_;
  for (impl::fault_rec& f : s.faults) f.armed = true;  // the connection is over
  s.resolve(impl::clock::now(), [&](const impl::fault_rec&) {
    return std::pair<std::string, std::string>{reconnected ? "reconnected" : "gave_up", detail};
  });
}

std::chrono::steady_clock::time_point connection_validator::opened_at() const noexcept {
  return p_->opened;
}

std::optional<std::chrono::steady_clock::time_point> connection_validator::last_fault_at() const {
  if (p_->faults.empty()) return std::nullopt;
  return p_->faults.back().reply_at - std::chrono::milliseconds(p_->faults.back().r.delay_ms);
}

void connection_validator::server_stopped() {
  impl& s = *p_;
  for (impl::fault_rec& f : s.faults) f.armed = true;
  s.resolve(impl::clock::now(), [](const impl::fault_rec&) {
    return std::pair<std::string, std::string>{"none", "the server stopped first"};
  });
}

std::vector<fault_reaction> connection_validator::faults() const {
  std::vector<fault_reaction> out;
  for (const impl::fault_rec& f : p_->faults) out.push_back(f.r);
  return out;
}

const std::vector<deviation>& connection_validator::deviations() const noexcept {
  return p_->devs;
}
const std::string& connection_validator::peer() const noexcept {
  return p_->peer;
}

std::string connection_validator::report_json() const {
  const impl& s = *p_;
  nlohmann::ordered_json j;
  j["peer"] = s.peer;
  j["negotiated"] = {{"tpdu_size", s.cc_seen ? s.tpdu_size : 0},
                     {"pdu_size", s.pdu_size},
                     {"max_amq_calling", s.amq_calling},
                     {"max_amq_called", s.amq_called}};
  j["client_frames"] = s.client_frames;
  j["requests"] = s.requests;
  auto devs = nlohmann::ordered_json::array();
  for (const deviation& d : s.devs)
    devs.push_back({{"code", d.code},
                    {"message", d.message},
                    {"frame", d.frame},
                    {"stream_offset", d.stream_offset},
                    {"offset", d.offset},
                    {"bytes", codec::to_hex(d.bytes)}});
  j["deviations"] = std::move(devs);
  auto faults = nlohmann::ordered_json::array();
  for (const fault_reaction& f : this->faults()) {
    nlohmann::ordered_json o{{"sequence", f.sequence},
                             {"rule", f.rule},
                             {"action", f.action},
                             {"kinds", f.kinds},
                             {"request", f.request},
                             {"pdu_ref", f.pdu_ref},
                             {"at_ms", f.at_ms},
                             {"delay_ms", f.delay_ms},
                             {"reply_suppressed", f.reply_suppressed},
                             {"connection_ended", f.connection_ended},
                             {"reaction", f.reaction},
                             {"detail", f.detail}};
    o["after_ms"] = f.after_ms ? nlohmann::ordered_json(*f.after_ms) : nlohmann::ordered_json();
    faults.push_back(std::move(o));
  }
  j["faults"] = std::move(faults);
  return j.dump(2) + "\n";
}

namespace {

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 has no place for control characters other than tab and newlines.
        out += static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' ? '?' : c;
    }
  }
  return out;
}

}  // namespace

std::string connection_validator::report_junit() const {
  const impl& s = *p_;
  const std::vector<fault_reaction> fs = faults();
  const auto violated = std::count_if(
      fs.begin(), fs.end(), [](const fault_reaction& f) { return f.reaction == "violated_rule"; });
  const std::string cls = xml_escape("protos7.validate." + s.peer);
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += fmt::format("<testsuites>\n<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n", cls,
                   1 + fs.size(), (s.devs.empty() ? 0 : 1) + violated);
  x += fmt::format("<testcase classname=\"{}\" name=\"conformance\">", cls);
  if (!s.devs.empty()) {
    x += fmt::format("<failure message=\"{} deviation(s)\">", s.devs.size());
    for (const deviation& d : s.devs)
      x += xml_escape(fmt::format("{} (client frame {}): {}\n", d.code, d.frame, d.message));
    x += "</failure>";
  }
  x += "</testcase>\n";
  for (const fault_reaction& f : fs) {
    x += fmt::format("<testcase classname=\"{}\" name=\"{}\">", cls,
                     xml_escape(fmt::format("fault {} ({}): {} on {}", f.sequence, f.rule, f.action,
                                            f.request)));
    const std::string what = fmt::format("{}: {}", f.reaction, f.detail);
    if (f.reaction == "violated_rule")
      x += fmt::format("<failure message=\"{}\"/>", xml_escape(what));
    x += fmt::format("<system-out>{}</system-out></testcase>\n", xml_escape("reaction " + what));
  }
  x += "</testsuite>\n</testsuites>\n";
  return x;
}

validator::validator(validate_options opt) : opt_(std::move(opt)) {
  if (!opt_.report_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(opt_.report_dir, ec);
    if (ec) log(log_level::error, "validate: cannot create {}: {}", opt_.report_dir, ec.message());
  }
}

validator::~validator() {
  // Connections still open when the server stops: report what was seen.
  const std::vector<int> ids = [&] {
    std::vector<int> v;
    for (const auto& [id, c] : open_) v.push_back(id);
    return v;
  }();
  for (int id : ids) {
    open_[id].second->server_stopped();
    on_close(id);
  }
  expire(std::chrono::steady_clock::now(), true);
}

namespace {

std::string address_of(const std::string& peer) {
  return peer.substr(0, peer.rfind(':'));
}

}  // namespace

void validator::on_open(int id, const std::string& peer) {
  const auto now = std::chrono::steady_clock::now();
  // A client whose connection a fault ended is back: those reports are complete now.
  for (auto it = ended_.begin(); it != ended_.end();) {
    if (address_of(it->v->peer()) != address_of(peer)) {
      ++it;
      continue;
    }
    it->v->came_back(true, fmt::format("connection {} from the same address", count_ + 1));
    finish(it->number, *it->v);
    it = ended_.erase(it);
  }
  expire(now, false);
  ++count_;
  open_[id] = {count_, std::make_unique<connection_validator>(opt_, peer)};
}

void validator::on_fault(const fault_event& e) {
  if (const auto it = open_.find(e.connection); it != open_.end()) {
    it->second.second->fault(e);
    return;
  }
  // A connection refused when it was accepted: it has a report of its own (no bytes, one fault).
  ++count_;
  auto v = std::make_unique<connection_validator>(opt_, e.peer);
  v->fault(e);
  v->end();
  ended_.push_back({count_, std::move(v), std::chrono::steady_clock::now()});
}

// Reports that waited longer than the reconnect window (or all of them, at the end): the client
// did not come back.
void validator::expire(std::chrono::steady_clock::time_point now, bool all) {
  for (auto it = ended_.begin(); it != ended_.end();) {
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - it->at);
    if (!all && waited < opt_.reconnect_window) {
      ++it;
      continue;
    }
    it->v->came_back(false, waited < opt_.reconnect_window
                                ? "no new connection before the server stopped"
                                : "no new connection from its address");
    finish(it->number, *it->v);
    it = ended_.erase(it);
  }
}

void validator::on_traffic(int id, std::span<const std::byte> in, std::span<const std::byte> out) {
  if (!ended_.empty()) expire(std::chrono::steady_clock::now(), false);
  const auto it = open_.find(id);
  if (it == open_.end()) return;
  connection_validator& v = *it->second.second;
  const std::size_t before = v.deviations().size();
  v.client_bytes(in);
  v.server_bytes(out);
  for (std::size_t i = before; i < v.deviations().size(); ++i) {
    const deviation& d = v.deviations()[i];
    log(log_level::warn, "{}: validate: {}: {} (client frame {})", v.peer(), d.code, d.message,
        d.frame);
  }
}

void validator::on_close(int id) {
  const auto it = open_.find(id);
  if (it == open_.end()) return;
  auto [n, v] = std::move(it->second);
  open_.erase(it);
  const std::size_t before = v->deviations().size();
  v->end();
  for (std::size_t i = before; i < v->deviations().size(); ++i)
    log(log_level::warn, "{}: validate: {}: {}", v->peer(), v->deviations()[i].code,
        v->deviations()[i].message);
  if (v->awaiting_reconnect()) {
    // Some clients open the new connection before they close the old one.
    for (const auto& [other, o] : open_) {
      if (address_of(o.second->peer()) != address_of(v->peer()) ||
          o.second->opened_at() < *v->last_fault_at())
        continue;
      v->came_back(true,
                   fmt::format("connection {} from the same address, opened before this one closed",
                               o.first));
      break;
    }
  }
  if (v->awaiting_reconnect()) {
    ended_.push_back({n, std::move(v), std::chrono::steady_clock::now()});
    return;
  }
  finish(n, *v);
}

// The connection's reports: counted, logged, written (each file whole or not at all).
void validator::finish(std::size_t n, connection_validator& v) {
  deviations_ += v.deviations().size();
  const std::vector<fault_reaction> fs = v.faults();
  for (const fault_reaction& f : fs)
    log(log_level::info, "{}: validate: after fault {} ({}) the client: {} ({})", v.peer(),
        f.sequence, f.action, f.reaction, f.detail);
  log(v.deviations().empty() ? log_level::info : log_level::warn,
      "{}: validate: {} deviation(s), {} fault(s)", v.peer(), v.deviations().size(), fs.size());
  if (opt_.report_dir.empty()) return;
  std::string name = v.peer();
  std::replace(name.begin(), name.end(), ':', '_');
  const std::string base = fmt::format("{}/{:04}-{}", opt_.report_dir, n, name);
  const auto write = [](const std::string& path, const std::string& text) {
    try {
      store::write_file_atomically(path, std::as_bytes(std::span<const char>(text)));
    } catch (const std::exception& e) {
      log(log_level::error, "validate: {}", e.what());
    }
  };
  write(base + ".json", v.report_json());
  if (opt_.junit) write(base + ".xml", v.report_junit());
}

}  // namespace protos7::server
