#include "protos7/codec/cotp.hpp"

#include <cstring>

namespace protos7::codec::cotp {

namespace {

constexpr std::uint8_t u8_of(std::byte b) noexcept {
  return std::to_integer<std::uint8_t>(b);
}

bool known_type(std::uint8_t t) noexcept {
  switch (t) {
    case 0x1:
    case 0x2:
    case 0x5:
    case 0x6:
    case 0x7:
    case 0x8:
    case 0xC:
    case 0xD:
    case 0xE:
    case 0xF:
      return true;
    default:
      return false;
  }
}

// Validates the variable part and decodes the parameters S7 uses into `out`; `tpdu_size_at` gets
// the offset of the TPDU size value. `r` covers exactly the variable part.
void parse_params(reader& r, tpdu_type type, connection_params& out,
                  std::uint32_t& tpdu_size_at) noexcept {
  std::uint32_t seen = 0;  // bit per known parameter, for duplicate detection
  while (r.ok() && !r.empty()) {
    const std::uint32_t at = r.offset();
    const std::uint8_t code = r.u8();
    if (r.remaining() < 1) {
      r.fail_at(errc::cotp_param_truncated, at);
      return;
    }
    const std::uint8_t len = r.u8();
    if (r.remaining() < len) {
      r.fail_at(errc::cotp_param_truncated, at);
      return;
    }
    reader v = r.sub(len);
    int bit = -1;
    switch (static_cast<param_code>(code)) {
      case param_code::tpdu_size: {
        bit = 0;
        if (len != 1) break;
        const std::uint8_t c = v.u8();
        if (c < min_tpdu_size_code || c > max_tpdu_size_code) {
          r.fail_at(errc::cotp_bad_tpdu_size, at + 2);
          return;
        }
        out.tpdu_size_code = c;
        tpdu_size_at = at + 2;
        break;
      }
      case param_code::calling_tsap:  // also ER's "invalid TPDU" parameter
        bit = 1;
        if (type == tpdu_type::er) {
          bit = -1;
          break;
        }
        if (len == 0 || len > max_tsap_length) {
          bit = -2;
          break;
        }
        out.calling_tsap = v.take(len);
        break;
      case param_code::called_tsap:
        bit = 2;
        if (len == 0 || len > max_tsap_length) {
          bit = -2;
          break;
        }
        out.called_tsap = v.take(len);
        break;
      case param_code::checksum:
        bit = 3;
        if (len != 2) {
          bit = -2;
          break;
        }
        out.has_checksum = true;
        out.checksum = v.u16be();
        break;
      case param_code::version:
        bit = 4;
        if (len != 1) {
          bit = -2;
          break;
        }
        out.has_version = true;
        out.version = v.u8();
        break;
      case param_code::additional_options:
        bit = 5;
        if (len != 1) {
          bit = -2;
          break;
        }
        out.has_additional_options = true;
        out.additional_options = v.u8();
        break;
      case param_code::preferred_max_tpdu_size: {
        bit = 6;
        // Wireshark: 1 to 4 octets, value in units of 128 octets.
        if (len < 1 || len > 4) {
          bit = -2;
          break;
        }
        std::uint32_t value = 0;
        for (std::uint8_t i = 0; i < len; ++i) value = (value << 8U) | v.u8();
        if (value > (0xFFFFFFFFU >> 7U)) {
          bit = -2;
          break;
        }
        out.preferred_max_tpdu_size = value * 128U;
        break;
      }
      case param_code::inactivity_timer:
        bit = 7;
        if (len != 4) bit = -2;
        break;
      default:
        // ISO 8073 §13.3.4: parameters not defined for the TPDU are ignored (kept for the dump).
        bit = -1;
        break;
    }
    if (bit == 0 && len != 1) bit = -2;
    if (bit == -2) {
      r.fail_at(errc::cotp_param_bad_length, at + 1);
      return;
    }
    if (bit >= 0) {
      if ((seen & (1U << static_cast<unsigned>(bit))) != 0) {
        r.fail_at(errc::cotp_param_duplicate, at);
        return;
      }
      seen |= 1U << static_cast<unsigned>(bit);
    }
  }
}

}  // namespace

bool is_known_dr_reason(std::uint8_t reason) noexcept {
  switch (reason) {
    case 0x00:
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
    case 0x84:
    case 0x85:
    case 0x87:
    case 0x88:
    case 0x8A:
      return true;
    default:
      return false;
  }
}

bool param_iterator::next(parameter& p) noexcept {
  if (rest_.size() < 2) return false;
  const std::uint8_t len = u8_of(rest_[1]);
  if (rest_.size() < 2U + len) return false;
  p.code = u8_of(rest_[0]);
  p.value = rest_.subspan(2, len);
  p.offset = offset_of(origin_, rest_.data());
  rest_ = rest_.subspan(2U + len);
  return true;
}

namespace {

// The hot path: a class-0 DT header (02 F0 nr), the first 3 bytes of every data TPKT.
bool parse_plain_dt(bytes in, const std::byte* origin, tpdu& t) noexcept {
  if (in.size() < 3 || std::to_integer<std::uint8_t>(in[0]) != dt_li ||
      std::to_integer<std::uint8_t>(in[1]) != 0xF0)
    return false;
  t.li = dt_li;
  t.type = tpdu_type::dt;
  const auto nr = std::to_integer<std::uint8_t>(in[2]);
  t.eot = (nr & eot_bit) != 0;
  t.tpdu_nr = nr & 0x7FU;
  t.user_data = in.subspan(3);
  t.user_data_offset = offset_of(origin, in.data() + 3);
  return true;
}

bool is_class0_type(tpdu_type type) noexcept {
  return type != tpdu_type::ed && type != tpdu_type::ea && type != tpdu_type::rj &&
         type != tpdu_type::ak;
}

// The fixed part of a class-0 TPDU after its code, into `t`; `start` is the offset of its LI.
error parse_fixed_part(reader& h, tpdu& t, std::uint32_t start, const options& opt) noexcept {
  const auto bad_li = error{errc::cotp_bad_li_for_tpdu, layer::cotp, start, 0};
  switch (t.type) {
    case tpdu_type::cr:
    case tpdu_type::cc:
      if (t.li < 6) return bad_li;
      t.dst_ref = h.u16be();
      t.src_ref = h.u16be();
      t.class_option = h.u8();
      if (t.tpdu_class() > 4) return error{errc::cotp_bad_class, layer::cotp, start + 6, 0};
      // ISO 8073 §13.3.3: the destination reference of a CR is zero.
      if (t.type == tpdu_type::cr && t.dst_ref != 0)
        return error{errc::cotp_bad_dst_ref, layer::cotp, start + 2, 0};
      break;
    case tpdu_type::dr:
      if (t.li < 6) return bad_li;
      t.dst_ref = h.u16be();
      t.src_ref = h.u16be();
      t.reason = h.u8();
      if (!is_known_dr_reason(t.reason))
        return error{errc::cotp_bad_dr_reason, layer::cotp, start + 6, 0};
      break;
    case tpdu_type::dc:
      if (t.li < 5) return bad_li;
      t.dst_ref = h.u16be();
      t.src_ref = h.u16be();
      break;
    case tpdu_type::dt: {
      if (t.li != dt_li && !(opt.allow_dt_parameters && t.li > dt_li)) return bad_li;
      const std::uint8_t nr = h.u8();
      t.eot = (nr & eot_bit) != 0;
      t.tpdu_nr = nr & 0x7FU;
      break;
    }
    case tpdu_type::er:
      if (t.li < 4) return bad_li;
      t.dst_ref = h.u16be();
      t.reject_cause = h.u8();
      if (t.reject_cause > 3) return error{errc::cotp_bad_er_cause, layer::cotp, start + 4, 0};
      break;
    case tpdu_type::ed:
    case tpdu_type::ea:
    case tpdu_type::rj:
    case tpdu_type::ak:
      break;  // not class 0: parse() keeps their header whole
  }
  return h.err();
}

}  // namespace

result<tpdu> parse(bytes in, const std::byte* origin, const options& opt) noexcept {
  if (origin == nullptr) origin = in.data();
  tpdu t;
  if (parse_plain_dt(in, origin, t)) return t;
  reader r{in, origin, layer::cotp};
  const std::uint32_t start = r.offset();
  t.li = r.u8();
  if (!r.ok()) return r.err();
  if (t.li == 0) return error{errc::cotp_li_zero, layer::cotp, start, 0};
  if (t.li == 0xFF) return error{errc::cotp_bad_li_for_tpdu, layer::cotp, start, 0};  // reserved
  if (r.remaining() < t.li) return error{errc::cotp_li_past_end, layer::cotp, start, 0};
  reader h = r.sub(t.li);  // the header after LI; nothing inside can read past it
  const std::uint8_t code = h.u8();
  const std::uint8_t type = code >> 4U;
  t.cdt = code & 0x0FU;
  if (!known_type(type)) return error{errc::cotp_unknown_tpdu, layer::cotp, start + 1, 0};
  t.type = static_cast<tpdu_type>(type);
  if (!is_class0_type(t.type)) {
    if (!opt.allow_non_class0_tpdus)
      return error{errc::cotp_tpdu_not_class0, layer::cotp, start + 1, 0};
    t.variable_part = h.take(h.remaining());
    t.user_data = r.rest();
    t.user_data_offset = r.offset();
    return t;
  }
  if (const error e = parse_fixed_part(h, t, start, opt)) return e;

  t.variable_part = h.rest();
  h.set_layer(layer::cotp);
  std::uint32_t tpdu_size_at = start;
  parse_params(h, t.type, t.params, tpdu_size_at);
  if (!h.ok()) return h.err();
  // A class-0 CC never proposes more than 2048 octets.
  if (t.type == tpdu_type::cc && t.tpdu_class() == 0 &&
      t.params.tpdu_size_code > max_tpdu_size_code_class0)
    return error{errc::cotp_bad_tpdu_size, layer::cotp, tpdu_size_at, 0};

  t.user_data_offset = r.offset();
  t.user_data = r.rest();
  if (t.type != tpdu_type::dt && !t.user_data.empty() && !opt.allow_connect_user_data)
    return error{errc::cotp_user_data_not_allowed, layer::cotp, r.offset(), 0};
  return t;
}

void write_param(writer& w, std::uint8_t code, bytes value) noexcept {
  w.u8(code);
  if (value.size() > 0xFF) w.range_error();
  w.u8(static_cast<std::uint8_t>(value.size() & 0xFFU));
  w.raw(value);
}

void write_param_u8(writer& w, std::uint8_t code, std::uint8_t value) noexcept {
  w.u8(code);
  w.u8(1);
  w.u8(value);
}

namespace {
std::uint8_t li_of(std::size_t fixed, std::size_t var, writer& w) noexcept {
  const std::size_t li = fixed + var;
  if (li >= 0xFF) {
    w.range_error();
    return 0;
  }
  return static_cast<std::uint8_t>(li);
}
}  // namespace

void write_connect(writer& w, const connect_fields& f) noexcept {
  w.u8(li_of(6, f.variable_part.size(), w));
  w.u8(static_cast<std::uint8_t>(static_cast<std::uint8_t>(f.type) << 4U));
  w.u16be(f.dst_ref);
  w.u16be(f.src_ref);
  w.u8(f.class_option);
  w.raw(f.variable_part);
}

void write_disconnect(writer& w, const disconnect_fields& f) noexcept {
  const bool dr = f.type == tpdu_type::dr;
  w.u8(li_of(dr ? 6 : 5, f.variable_part.size(), w));
  w.u8(static_cast<std::uint8_t>(static_cast<std::uint8_t>(f.type) << 4U));
  w.u16be(f.dst_ref);
  w.u16be(f.src_ref);
  if (dr) w.u8(f.reason);
  w.raw(f.variable_part);
}

void write_error(writer& w, const error_fields& f) noexcept {
  w.u8(li_of(4, f.variable_part.size(), w));
  w.u8(static_cast<std::uint8_t>(static_cast<std::uint8_t>(tpdu_type::er) << 4U));
  w.u16be(f.dst_ref);
  w.u8(f.reject_cause);
  w.raw(f.variable_part);
}

void write_dt_header(writer& w, bool eot, std::uint8_t tpdu_nr) noexcept {
  w.u8(dt_li);
  w.u8(0xF0);
  w.u8(static_cast<std::uint8_t>((eot ? eot_bit : 0U) | (tpdu_nr & 0x7FU)));
}

result<std::size_t> encode(const tpdu& t, mutable_bytes out) noexcept {
  writer w{out};
  switch (t.type) {
    case tpdu_type::cr:
    case tpdu_type::cc:
      write_connect(w, {t.type, t.dst_ref, t.src_ref, t.class_option, t.variable_part});
      break;
    case tpdu_type::dr:
    case tpdu_type::dc:
      write_disconnect(w, {t.type, t.dst_ref, t.src_ref, t.reason, t.variable_part});
      break;
    case tpdu_type::er:
      write_error(w, {t.dst_ref, t.reject_cause, t.variable_part});
      break;
    case tpdu_type::dt:
      if (t.li != dt_li) {
        // LI > 2 only with allow_dt_parameters: keep the extra header bytes verbatim.
        w.u8(t.li);
        w.u8(0xF0);
        w.u8(static_cast<std::uint8_t>((t.eot ? eot_bit : 0U) | t.tpdu_nr));
        w.raw(t.variable_part);
      } else {
        write_dt_header(w, t.eot, t.tpdu_nr);
      }
      break;
    case tpdu_type::ed:
    case tpdu_type::ea:
    case tpdu_type::rj:
    case tpdu_type::ak:
      w.u8(t.li);
      w.u8(static_cast<std::uint8_t>((static_cast<std::uint8_t>(t.type) << 4U) | t.cdt));
      w.raw(t.variable_part);
      break;
  }
  // The code byte (offset 1, after LI) keeps the low nibble parse() decoded into cdt: the
  // write_* helpers above write it as 0, which dropped a peer's non-zero nibble (found by
  // fuzz_roundtrip_cotp: DT "02 F8 00 ..." re-encoded as "02 F0 00 ...").
  w.patch_u8(1, static_cast<std::uint8_t>((static_cast<unsigned>(t.type) << 4U) | (t.cdt & 0x0FU)));
  w.raw(t.user_data);
  return w.finish();
}

reassembler::feed_result reassembler::feed(const tpdu& dt) noexcept {
  feed_result out;
  if (used_ == 0 && dt.eot) {
    out.st = status::complete;
    out.pdu = dt.user_data;
    segments_ = 0;
    return out;
  }
  if (dt.user_data.size() > buf_.size() - used_) {
    out.st = status::overflow;
    used_ = 0;
    segments_ = 0;
    return out;
  }
  if (!dt.user_data.empty())
    std::memcpy(buf_.data() + used_, dt.user_data.data(), dt.user_data.size());
  used_ += dt.user_data.size();
  ++segments_;
  if (!dt.eot) return out;
  out.st = status::complete;
  out.pdu = bytes{buf_.data(), used_};
  used_ = 0;
  segments_ = 0;
  return out;
}

}  // namespace protos7::codec::cotp
