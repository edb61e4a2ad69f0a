#include "protos7/codec/s7_header.hpp"

namespace protos7::codec::s7 {

result<pdu> parse(bytes in, const std::byte* origin, const options& opt) noexcept {
  if (origin == nullptr) origin = in.data();
  reader r{in, origin, layer::s7_header};
  const std::uint32_t start = r.offset();
  pdu p;
  p.origin = origin;
  const std::uint8_t id = r.u8();
  const std::uint8_t type = r.u8();
  if (!r.ok()) return r.err();
  if (id != protocol_id) return error{errc::s7_bad_protocol_id, layer::s7_header, start, 0};
  if (type != 1 && type != 2 && type != 3 && type != 7)
    return error{errc::s7_bad_rosctr, layer::s7_header, start + 1, 0};
  p.hdr.type = static_cast<rosctr>(type);
  const std::size_t hsize = header_size(p.hdr.type);
  if (in.size() < hsize) {
    // Read field by field so the error names the first field that does not fit.
    (void)r.u16be(), (void)r.u16be(), (void)r.u16be(), (void)r.u16be(), (void)r.u8(), (void)r.u8();
    return r.err();
  }
  const auto b = [&](std::size_t i) { return std::to_integer<unsigned>(in[i]); };
  p.hdr.redundancy_id = static_cast<std::uint16_t>((b(2) << 8U) | b(3));
  p.hdr.pdu_ref = static_cast<std::uint16_t>((b(4) << 8U) | b(5));
  p.hdr.param_length = static_cast<std::uint16_t>((b(6) << 8U) | b(7));
  p.hdr.data_length = static_cast<std::uint16_t>((b(8) << 8U) | b(9));
  if (hsize == long_header_size) {
    p.hdr.error_class = static_cast<std::uint8_t>(b(10));
    p.hdr.error_code = static_cast<std::uint8_t>(b(11));
  }
  r.skip(hsize - 2);
  if (p.hdr.redundancy_id != 0 && !opt.allow_nonzero_redundancy_id)
    return error{errc::s7_redundancy_nonzero, layer::s7_header, start + 2, 0};
  // The one redundant length of this layer: header + param + data must fill the PDU exactly.
  if (std::size_t{p.hdr.param_length} + p.hdr.data_length != r.remaining())
    return error{errc::s7_length_mismatch, layer::s7_header, start + 6, 0};
  if (p.hdr.type == rosctr::ack && (p.hdr.param_length != 0 || p.hdr.data_length != 0))
    return error{errc::s7_ack_has_payload, layer::s7_header, start + 6, 0};
  p.param_offset = r.offset();
  p.param = r.take(p.hdr.param_length);
  p.data_offset = r.offset();
  p.data = r.take(p.hdr.data_length);
  return p;
}

void write_header(writer& w, const header& h) noexcept {
  w.u8(protocol_id);
  w.u8(static_cast<std::uint8_t>(h.type));
  w.u16be(h.redundancy_id);
  w.u16be(h.pdu_ref);
  w.u16be(h.param_length);
  w.u16be(h.data_length);
  if (h.type == rosctr::ack || h.type == rosctr::ack_data) {
    w.u8(h.error_class);
    w.u8(h.error_code);
  }
}

result<std::size_t> encode(const header& h, bytes param, bytes data, mutable_bytes out) noexcept {
  writer w{out};
  header hh = h;
  if (param.size() > 0xFFFF || data.size() > 0xFFFF) w.range_error();
  hh.param_length = static_cast<std::uint16_t>(param.size() & 0xFFFFU);
  hh.data_length = static_cast<std::uint16_t>(data.size() & 0xFFFFU);
  write_header(w, hh);
  w.raw(param);
  w.raw(data);
  return w.finish();
}

}  // namespace protos7::codec::s7
