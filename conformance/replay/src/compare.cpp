// Comparing one answer of the target with the captured one, field by field (Wireshark names,
// from the dump tool's field lists), with a short list of tolerated differences.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "facts.hpp"
#include "protos7/codec/hex.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_peek.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/ud_alarm.hpp"
#include "protos7/replay/script.hpp"

namespace protos7::replay {

namespace {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
namespace cotp = codec::cotp;

// The equivalence list. Each entry is enforced in tolerating_rule() (which fields) and
// mask_bytes() (which bytes); README.md repeats it.
constexpr std::array<equivalence_rule, 8> rules{{
    {"cc_srcref", "cotp.srcref", "COTP CC (answer to the CR)",
     "ISO 8073: each transport entity chooses its own reference; the CC's source reference is "
     "the server's. Only cotp.destref (the echo of the client's reference) must match."},
    {"cotp_param_order", "order of cotp.parameter_code (with its length and value)", "COTP CR/CC",
     "ISO 8073: the parameters of the variable part may occur in any order. The set of "
     "parameters and every value (TPDU size, TSAPs) must still match."},
    {"clock",
     "s7comm.data.ts, ts_year1, ts_year2, ts_month, ts_day, ts_hour, ts_minute, ts_second, "
     "ts_millisecond, ts_weekday; the DATE_AND_TIME bytes of SZL records",
     "Userdata Time functions / Read clock and Read clock (following) responses; CPU functions "
     "/ Diagnostic message pushes; Read SZL 0x0424 / 0x0124 (record bytes 12-19) and 0x0132 "
     "index 8 (record bytes 22-29)",
     "The PLC's clock at the moment it answers (a diagnostic message: when its event happened). "
     "s7comm.data.ts_reserved, the return code and every length must still match."},
    {"ud_seq", "s7comm.param.userdata.seq_num", "Userdata responses",
     "Chosen by the PLC: the S7-300 of the Wireshark captures answers the same Read SZL with 1 "
     "in one session and 2 in another (Step 7 always sends 0), List blocks and Get block info "
     "with 0; snap7 echoes the request's. A client echoes the server's value in its follow-up "
     "request, which "
     "the runner patches to the target's value."},
    {"ud_data_unit_ref", "s7comm.param.userdata.dataunitref (both non-zero)",
     "Userdata responses split over several data units",
     "Names a multi-unit answer; the PLC picks it (2, 3, 4, 5, 6 in the Wireshark captures for "
     "the same kind of request). Zero against non-zero (split against not split) stays a "
     "mismatch, as does s7comm.param.userdata.lastdataunit."},
    {"initiated_pduref", "s7comm.header.pduref",
     "PDUs the PLC initiates (its Download block / "
     "Download ended Jobs, Userdata pushes)",
     "The PLC numbers its own jobs (0x0100, 0x0300, ... in s7comm_downloading_block_db1.pcap). "
     "The runner answers with the captured client Ack_Data patched to the target's reference. "
     "Answers to the client's requests must echo the request's reference exactly."},
    {"program_data", "s7comm.resp.data (the bytes concerned)",
     "Read Var responses, the bytes of items that address such memory",
     "Memory the PLC's program changes: the capture itself shows the byte with another value "
     "later although no client wrote it in between (a counter the program increments). Every "
     "other data byte, and every byte after a client's write, must match."},
    {"varies_in_capture", "Userdata data bytes (the bytes concerned)",
     "Userdata responses to a request the captured PLC answered more than once",
     "The captured PLC itself answered the same request (same bytes but PDU reference and "
     "sequence number) with different bytes there in the same capture: LED states, a checksum "
     "a download changed. Bytes that were the same in every captured answer must match."},
}};

struct side_facts {
  detail::tpdu_facts t;
  detail::s7_facts s;
};

side_facts facts_of(const pdu_frames& p) {
  side_facts f;
  if (!p.frames.empty()) f.t = detail::facts_of_tpdu(p.frames.back());
  if (p.dt) f.s = detail::facts_of_s7(p.s7);
  return f;
}

bool is_cc(const side_facts& f) {
  return f.t.parsed && f.t.type == cotp::tpdu_type::cc;
}
bool is_connect(const side_facts& f) {
  return f.t.parsed && (f.t.type == cotp::tpdu_type::cc || f.t.type == cotp::tpdu_type::cr);
}
bool is_ud_response(const side_facts& f) {
  return f.s.decoded && f.s.rosctr == 7 && f.s.ud && f.s.ud_type == 8;
}

std::string_view base_name(std::string_view name) {
  const auto b = name.find('[');
  return b == std::string_view::npos ? name : name.substr(0, b);
}

// The rule that tolerates a difference in field `name`, or "" when none does.
std::string_view tolerating_rule(std::string_view name, const side_facts& e, const side_facts& a) {
  const std::string_view n = base_name(name);
  if (n == "cotp.srcref" && is_cc(e) && is_cc(a)) return rules[0].id;
  if (e.s.clock && a.s.clock && n.starts_with("s7comm.data.ts") && n != "s7comm.data.ts_reserved") {
    return rules[2].id;
  }
  if (n == "s7comm.param.userdata.seq_num" && is_ud_response(e) && is_ud_response(a))
    return rules[3].id;
  if (n == "s7comm.param.userdata.dataunitref" && is_ud_response(e) && is_ud_response(a) &&
      e.s.data_unit_ref != 0 && a.s.data_unit_ref != 0) {
    return rules[4].id;
  }
  if (n == "s7comm.header.pduref" && e.s.decoded && a.s.decoded && e.s.is_initiated() &&
      a.s.is_initiated()) {
    return rules[5].id;
  }
  return {};
}

// --- COTP variable part in canonical order ------------------------------------------------------

// Sorts the variable-part parameters of a CR/CC frame by code (stable), in place. The
// parameters are located by the codec (cotp::parse, cotp::param_iterator); returns false when
// the frame does not parse (then the bytes are left as they are).
bool canonical_connect(std::vector<std::byte>& frame) {
  const codec::bytes f{frame.data(), frame.size()};
  if (f.size() <= codec::tpkt::header_size) return false;
  const auto t = cotp::parse(f.subspan(codec::tpkt::header_size), f.data());
  if (!t) return false;
  std::vector<std::vector<std::byte>> params;
  cotp::param_iterator it{t->variable_part, f.data()};
  cotp::parameter p;
  while (it.next(p)) {
    // | code | length | value |: the value view ends the parameter.
    const auto end = static_cast<std::size_t>(p.value.data() + p.value.size() - f.data());
    params.emplace_back(frame.begin() + static_cast<std::ptrdiff_t>(p.offset),
                        frame.begin() + static_cast<std::ptrdiff_t>(end));
  }
  std::stable_sort(params.begin(), params.end(),
                   [](const auto& x, const auto& y) { return x.front() < y.front(); });
  auto at = frame.begin() + (t->variable_part.data() - f.data());
  for (const auto& q : params) at = std::copy(q.begin(), q.end(), at);
  return true;
}

// Field list with the COTP parameter groups (parameter_code and the fields after it up to the
// next one) sorted by code; `order` gets the codes in their original order ("c1,c2,c0").
std::vector<dump::field> canonical_fields(const dump::field_list& fl, std::string& order) {
  const auto& in = fl.fields();
  std::vector<dump::field> out;
  std::vector<std::pair<std::int64_t, std::vector<dump::field>>> groups;
  std::size_t i = 0;
  for (; i < in.size(); ++i) {
    if (in[i].name == "cotp.parameter_code") break;
    out.push_back(in[i]);
  }
  while (i < in.size() && in[i].name == "cotp.parameter_code") {
    const std::int64_t code =
        std::holds_alternative<std::int64_t>(in[i].value) ? std::get<std::int64_t>(in[i].value) : 0;
    if (!order.empty()) order += ",";
    order += fmt::format("{:02x}", code);
    std::vector<dump::field> g{in[i]};
    for (++i;
         i < in.size() && in[i].name != "cotp.parameter_code" && in[i].name.starts_with("cotp.");
         ++i) {
      g.push_back(in[i]);
    }
    groups.emplace_back(code, std::move(g));
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  for (auto& g : groups) out.insert(out.end(), g.second.begin(), g.second.end());
  for (; i < in.size(); ++i) out.push_back(in[i]);
  return out;
}

field_value value_of(const dump::field& f) {
  return field_value{true, f.value};
}

// Differences by name and occurrence: the i-th occurrence of a name on one side is compared with
// the i-th on the other, so an extra item shows up as fields present on one side only.
std::vector<field_diff> diff_fields(const std::vector<dump::field>& e,
                                    const std::vector<dump::field>& a) {
  std::vector<std::string> names;
  std::map<std::string, std::pair<std::vector<field_value>, std::vector<field_value>>> by_name;
  for (const auto& f : e) {
    auto [it, inserted] = by_name.try_emplace(f.name);
    if (inserted) names.push_back(f.name);
    it->second.first.push_back(value_of(f));
  }
  for (const auto& f : a) {
    auto [it, inserted] = by_name.try_emplace(f.name);
    if (inserted) names.push_back(f.name);
    it->second.second.push_back(value_of(f));
  }
  std::vector<field_diff> out;
  for (const std::string& n : names) {
    const auto& [ev, av] = by_name[n];
    const std::size_t count = std::max(ev.size(), av.size());
    for (std::size_t i = 0; i < count; ++i) {
      const field_value x = i < ev.size() ? ev[i] : field_value{};
      const field_value y = i < av.size() ? av[i] : field_value{};
      if (x == y) continue;
      out.push_back({count > 1 ? fmt::format("{}[{}]", n, i) : n, x, y, {}});
    }
  }
  return out;
}

// --- Byte masks for the tolerated fields ---------------------------------------------------------

struct masked {
  std::vector<std::vector<std::byte>> headers;  // TPKT + COTP header of each frame (CR/CC: whole)
  std::vector<std::byte> s7;
};

masked mask_bytes(const pdu_frames& p, const side_facts& self, const side_facts& other) {
  masked m;
  for (const auto& f : p.frames) {
    std::vector<std::byte> h = f;
    if (p.dt) {
      // TPKT header + DT header (LI, code, EOT/NR); the user data is compared as `s7`.
      h.resize(std::min<std::size_t>(h.size(), codec::tpkt::header_size + 3));
    } else if (is_connect(self) && is_connect(other)) {
      canonical_connect(h);
      // src-ref: after LI, code and dst-ref (ISO 8073 §13.4: | LI | code | dst-ref | src-ref |).
      constexpr std::size_t src_ref_at = codec::tpkt::header_size + 4;
      if (is_cc(self) && is_cc(other) && h.size() >= src_ref_at + 2)
        std::fill_n(h.begin() + src_ref_at, 2, std::byte{0});
    }
    m.headers.push_back(std::move(h));
  }
  m.s7 = p.s7;
  auto zero = [&](std::size_t at, std::size_t n) {
    for (std::size_t i = at; i < at + n && i < m.s7.size(); ++i) m.s7[i] = std::byte{0};
  };
  if (self.s.clock && other.s.clock) zero(self.s.clock_offset, self.s.clock_length);
  if (is_ud_response(self) && is_ud_response(other)) {
    zero(self.s.param_offset + ud::param_at::seq, 1);
    if (self.s.extended && other.s.extended && self.s.data_unit_ref != 0 &&
        other.s.data_unit_ref != 0) {
      zero(self.s.param_offset + ud::param_at::data_unit_ref, 1);
    }
  }
  if (self.s.decoded && other.s.decoded && self.s.is_initiated() && other.s.is_initiated())
    zero(s7::header_at::pdu_ref, 2);
  return m;
}

std::string hex_window(std::span<const std::byte> b, std::size_t at, std::size_t n) {
  if (at >= b.size()) return "(end)";
  const std::string s = codec::to_hex(b.subspan(at, std::min(n, b.size() - at)));
  return s.empty() ? "(end)" : s;
}

std::string where_in_s7(const side_facts& f, std::size_t off) {
  if (!f.s.s7) return fmt::format("offset {}", off);
  if (off < f.s.param_offset) return fmt::format("offset {} (header)", off);
  if (off < f.s.param_offset + f.s.param_length) {
    return fmt::format("offset {} (parameter byte {})", off, off - f.s.param_offset);
  }
  return fmt::format("offset {} (data byte {})", off, off - f.s.param_offset - f.s.param_length);
}

std::string describe_byte_diff(const masked& e, const masked& a, const side_facts& ef) {
  if (e.headers.size() != a.headers.size()) {
    return fmt::format("{} TPKT frame(s) captured, {} received", e.headers.size(),
                       a.headers.size());
  }
  for (std::size_t i = 0; i < e.headers.size(); ++i) {
    const auto& x = e.headers[i];
    const auto& y = a.headers[i];
    if (x == y) continue;
    std::size_t k = 0;
    while (k < x.size() && k < y.size() && x[k] == y[k]) ++k;
    return fmt::format("TPKT/COTP bytes of frame {} differ at offset {}: expected {}, actual {}",
                       i + 1, k, hex_window(x, k, 16), hex_window(y, k, 16));
  }
  const auto& x = e.s7;
  const auto& y = a.s7;
  std::size_t k = 0;
  while (k < x.size() && k < y.size() && x[k] == y[k]) ++k;
  std::size_t differing = 0;
  for (std::size_t i = k; i < std::max(x.size(), y.size()); ++i) {
    if (i >= x.size() || i >= y.size() || x[i] != y[i]) ++differing;
  }
  return fmt::format(
      "S7 PDU bytes differ, first at {}: expected {}, actual {} "
      "({} byte(s) differ; {} vs {} bytes)",
      where_in_s7(ef, k), hex_window(x, k, 16), hex_window(y, k, 16), differing, x.size(),
      y.size());
}

}  // namespace

namespace detail {

s7_facts facts_of_s7(std::span<const std::byte> pdu) {
  s7_facts f;
  // Read leniently (s7_peek.hpp): pairing must work for answers the codec rejects.
  const s7::peek_result h = s7::peek(pdu);
  if (!h.s7) return f;
  f.s7 = true;
  f.rosctr = h.rosctr;
  f.pdu_ref = h.pdu_ref;
  f.param_length = h.param_length;
  f.param_offset = h.param_offset;
  if (h.has_function) f.fn = h.function;
  if (h.ud) {
    f.ud = true;
    f.ud_type = h.ud_type;
    f.group = h.ud_group;
    f.sub = h.ud_subfunction;
    f.seq = h.ud_seq;
    if (h.ud_extended) {
      f.extended = true;
      f.data_unit_ref = h.ud_data_unit_ref;
      f.last_data_unit = h.ud_last_data_unit;
    }
  }
  const auto m = s7::decode(pdu);
  if (m) {
    f.decoded = true;
    if (m->p.hdr.type == s7::rosctr::userdata) {
      const ud::param& u = m->ud.prm;
      const bool read_clock =
          u.subfunction == ud::sub::read_clock || u.subfunction == ud::sub::read_clock_following;
      if (u.type == static_cast<std::uint8_t>(ud::type::response) &&
          u.group == static_cast<std::uint8_t>(ud::group::time) && read_clock && m->ud.has_data &&
          m->ud.data.return_code == 0xFF && m->ud.data.payload.size() == ud::timestamp_length) {
        f.clock = true;
        f.clock_offset = m->ud.data.payload_offset + 1;  // after the reserved byte
        f.clock_length = ud::timestamp_length - 1;
      } else if (u.type == static_cast<std::uint8_t>(ud::type::push) &&
                 u.group == static_cast<std::uint8_t>(ud::group::cpu) &&
                 u.subfunction == s7::alarm::sub::diagnostic_message && m->ud.has_data) {
        // The CPU's clock when the event happened (step7_s300_stop.pcapng frame 3).
        if (const auto d = s7::alarm::parse_diagnostic_message(m->ud.data.payload, pdu.data())) {
          f.clock = true;
          f.clock_offset = static_cast<std::size_t>(d->timestamp.data() - pdu.data());
          f.clock_length = d->timestamp.size();
        }
      }
    }
  }
  return f;
}

tpdu_facts facts_of_tpdu(std::span<const std::byte> frame) {
  tpdu_facts f;
  if (frame.size() <= codec::tpkt::header_size) return f;
  const auto t = cotp::parse(frame.subspan(codec::tpkt::header_size), frame.data());
  if (!t) return f;
  f.parsed = true;
  f.type = t->type;
  return f;
}

}  // namespace detail

std::string_view to_string(verdict v) noexcept {
  switch (v) {
    case verdict::exact:
      return "exact";
    case verdict::equivalent:
      return "equivalent";
    case verdict::mismatch:
      return "mismatch";
    case verdict::missing:
      return "missing";
    case verdict::unexpected:
      return "unexpected";
  }
  return "?";
}

std::span<const equivalence_rule> equivalence_rules() noexcept {
  return rules;
}

dump::field_list describe(const pdu_frames& p, dump::fragment_tracker& frags) {
  return describe(p, p.dt ? frags.classify(p.s7) : dump::fragment_info{});
}

dump::field_list describe(const pdu_frames& p, const dump::fragment_info& frag) {
  dump::field_list fl;
  if (p.frames.empty()) return fl;
  const auto& last = p.frames.back();
  codec::error err{};
  if (last.size() > codec::tpkt::header_size) {
    const auto t = cotp::parse(std::span<const std::byte>(last).subspan(codec::tpkt::header_size),
                               last.data());
    dump::describe_tpkt_cotp(last, t ? &*t : nullptr, fl);
    if (!t) err = t.err();
  } else {
    dump::describe_tpkt_cotp(last, nullptr, fl);
  }
  if (p.dt) {
    fl.num("protos7.cotp.segments", static_cast<std::int64_t>(p.frames.size()));
    const codec::error se = dump::describe_s7(p.s7, frag, fl);
    if (se) err = se;
  }
  if (err) {
    fl.str("protos7.error", fmt::format("{} ({} at offset {})", codec::to_string(err.code),
                                        codec::to_string(err.where), err.offset));
  }
  return fl;
}

comparison compare(const pdu_frames& expected, const dump::field_list& ef, const pdu_frames& actual,
                   const dump::field_list& af) {
  comparison c;
  if (expected.frames == actual.frames) return c;  // exact: same bytes, frame for frame

  const side_facts e = facts_of(expected);
  const side_facts a = facts_of(actual);
  std::string eorder;
  std::string aorder;
  const auto ecanon = canonical_fields(ef, eorder);
  const auto acanon = canonical_fields(af, aorder);
  c.fields = diff_fields(ecanon, acanon);
  if (eorder != aorder && is_connect(e) && is_connect(a)) {
    // Same parameters, other order: shown once, tolerated. (Different parameter sets show up as
    // differing cotp.parameter_code occurrences above.)
    field_diff d{"cotp.parameter_code (order)", {true, eorder}, {true, aorder}, rules[1].id};
    c.fields.insert(c.fields.begin(), std::move(d));
  }
  bool real = false;
  for (field_diff& d : c.fields) {
    if (d.rule.empty()) d.rule = tolerating_rule(d.name, e, a);
    if (d.rule.empty()) real = true;
  }
  // Real differences first, then the tolerated ones.
  std::stable_partition(c.fields.begin(), c.fields.end(),
                        [](const field_diff& d) { return d.rule.empty(); });
  if (real) {
    c.v = verdict::mismatch;
    // A PDU the codec rejects has few fields to show: where its bytes differ says more.
    const bool undecodable = std::any_of(c.fields.begin(), c.fields.end(), [](const field_diff& d) {
      return d.name == "protos7.error";
    });
    if (undecodable)
      c.bytes_diff = describe_byte_diff(mask_bytes(expected, e, a), mask_bytes(actual, a, e), e);
    return c;
  }
  const masked me = mask_bytes(expected, e, a);
  const masked ma = mask_bytes(actual, a, e);
  if (me.headers == ma.headers && me.s7 == ma.s7) {
    c.v = verdict::equivalent;
    return c;
  }
  c.v = verdict::mismatch;
  c.bytes_diff = describe_byte_diff(me, ma, e);
  return c;
}

}  // namespace protos7::replay
