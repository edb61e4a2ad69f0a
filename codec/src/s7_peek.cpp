#include "protos7/codec/s7_peek.hpp"

#include <algorithm>

#include "protos7/codec/s7_header.hpp"
#include "protos7/codec/userdata.hpp"

namespace protos7::codec::s7 {

namespace {

constexpr bool is_rosctr(std::uint8_t r) noexcept {
  return r == 1 || r == 2 || r == 3 || r == 7;
}

// The Userdata parameter head, read without its checks (see the header's leniencies).
void peek_userdata_head(reader r, peek_result& out) noexcept {
  r.skip(ud::param_at::length);  // 00 01 12, unchecked
  const std::uint8_t rest = r.u8();
  (void)r.u8();  // method, unchecked
  const std::uint8_t type_group = r.u8();
  const std::uint8_t sub = r.u8();
  const std::uint8_t seq = r.u8();
  if (!r.ok()) return;
  out.ud = true;
  out.ud_type = static_cast<std::uint8_t>(type_group >> 4U);
  out.ud_group = static_cast<std::uint8_t>(type_group & 0x0FU);
  out.ud_subfunction = sub;
  out.ud_seq = seq;
  if (rest != ud::long_param_length - 4) return;
  const std::uint8_t unit_ref = r.u8();
  const std::uint8_t last = r.u8();
  const std::uint16_t err = r.u16be();
  if (!r.ok()) return;
  out.ud_extended = true;
  out.ud_data_unit_ref = unit_ref;
  out.ud_last_data_unit = last;
  out.ud_error_code = err;
}

}  // namespace

peek_result peek(bytes in, const std::byte* origin) noexcept {
  if (origin == nullptr) origin = in.data();
  reader r{in, origin, layer::s7_header};
  const std::uint32_t start = r.offset();
  peek_result out;
  const std::uint8_t id = r.u8();
  const std::uint8_t type = r.u8();
  const std::uint16_t redundancy = r.u16be();
  const std::uint16_t ref = r.u16be();
  const std::uint16_t plen = r.u16be();
  const std::uint16_t dlen = r.u16be();
  if (!r.ok()) {
    out.err = r.err();
    return out;
  }
  out.header = true;
  out.protocol_id = id;
  out.rosctr = type;
  out.redundancy_id = redundancy;
  out.pdu_ref = ref;
  out.param_length = plen;
  out.data_length = dlen;
  if (type == 2 || type == 3) {
    reader e = r;
    const std::uint8_t cls = e.u8();
    const std::uint8_t code = e.u8();
    if (e.ok()) {
      out.has_error_fields = true;
      out.error_class = cls;
      out.error_code = code;
    }
  }
  if (id != protocol_id) {
    out.err = error{errc::s7_bad_protocol_id, layer::s7_header, start, 0};
    return out;
  }
  if (!is_rosctr(type)) {
    out.err = error{errc::s7_bad_rosctr, layer::s7_header, start + 1, 0};
    return out;
  }
  out.s7 = true;
  const auto kind = static_cast<rosctr>(type);
  // Leniency: the header may be cut after its 10 bytes; the parameter then is empty.
  r.skip(std::min(header_size(kind) - short_header_size, r.remaining()));
  out.param_offset = start + static_cast<std::uint32_t>(header_size(kind));
  // Leniency: the parameter block is cut at the end of the PDU.
  reader prm = r.sub(std::min<std::size_t>(plen, r.remaining()), layer::s7_param);
  out.param = prm.rest();
  if (kind == rosctr::job || kind == rosctr::ack_data) {
    const std::uint8_t fn = prm.u8();
    if (prm.ok()) {
      out.has_function = true;
      out.function = fn;
    }
  } else if (kind == rosctr::userdata) {
    prm.set_layer(layer::userdata);
    peek_userdata_head(prm, out);
  }
  return out;
}

}  // namespace protos7::codec::s7
