#include "protos7/codec/tpkt.hpp"

#include <algorithm>
#include <cstring>

namespace protos7::codec::tpkt {

namespace {

// Checks the 4 header bytes; returns the length field or an error.
error check_header(reader& r, const options& opt, std::uint16_t& length) noexcept {
  const std::uint8_t ver = r.u8();
  const std::uint8_t res = r.u8();
  length = r.u16be();
  if (!r.ok()) return r.err();
  if (ver != version) return error{errc::tpkt_bad_version, layer::tpkt, 0, 0};
  if (res != 0 && !opt.allow_reserved_nonzero)
    return error{errc::tpkt_reserved_nonzero, layer::tpkt, 1, 0};
  if (length < min_length) return error{errc::tpkt_length_too_small, layer::tpkt, 2, 0};
  return {};
}

}  // namespace

result<frame> parse(bytes in, const options& opt) noexcept {
  reader r{in, layer::tpkt};
  frame f;
  f.version = in.empty() ? 0 : std::to_integer<std::uint8_t>(in[0]);
  f.reserved = in.size() < 2 ? 0 : std::to_integer<std::uint8_t>(in[1]);
  if (error e = check_header(r, opt, f.length)) return e;
  if (f.length != in.size()) return error{errc::tpkt_length_mismatch, layer::tpkt, 2, 0};
  f.payload = r.rest();
  return f;
}

measure_result measure(bytes stream, const options& opt) noexcept {
  measure_result m;
  // Check whatever header bytes we have, so a wrong version is rejected after one byte.
  if (!stream.empty() && std::to_integer<std::uint8_t>(stream[0]) != version) {
    m.status = frame_status::invalid;
    m.err = error{errc::tpkt_bad_version, layer::tpkt, 0, 0};
    return m;
  }
  if (stream.size() < header_size) return m;
  reader r{stream.first(header_size), layer::tpkt};
  std::uint16_t length = 0;
  if (error e = check_header(r, opt, length)) {
    m.status = frame_status::invalid;
    m.err = e;
    return m;
  }
  m.frame_size = length;
  m.status = stream.size() >= length ? frame_status::complete : frame_status::need_more;
  return m;
}

framer::next_result framer::next(bytes& in) noexcept {
  next_result out;
  if (used_ == 0) {
    // Fast path: a whole frame at the start of the caller's bytes is returned as a view.
    const measure_result m = measure(in, opt_);
    if (m.status == frame_status::invalid) {
      out.status = frame_status::invalid;
      out.err = m.err;
      return out;
    }
    // Checked before the fast path: the limit must not depend on how TCP split the bytes.
    if (m.frame_size > buf_.size()) {
      out.status = frame_status::invalid;
      out.err = error{errc::tpkt_frame_too_large, layer::tpkt, 2, 0};
      return out;
    }
    if (m.status == frame_status::complete) {
      out.status = frame_status::complete;
      out.frame = in.first(m.frame_size);
      in = in.subspan(m.frame_size);
      return out;
    }
  }
  // Slow path: assemble in the buffer. First complete the header, then the frame.
  const auto append = [&](std::size_t want) {
    const std::size_t n = std::min(want, in.size());
    if (n > 0) std::memcpy(buf_.data() + used_, in.data(), n);
    used_ += n;
    in = in.subspan(n);
  };
  if (used_ < header_size) append(std::min(header_size - used_, buf_.size() - used_));
  const measure_result m = measure(bytes{buf_.data(), used_}, opt_);
  if (m.status == frame_status::invalid) {
    out.status = frame_status::invalid;
    out.err = m.err;
    return out;
  }
  if (used_ < header_size) return out;  // need_more
  if (m.frame_size > buf_.size()) {
    out.status = frame_status::invalid;
    out.err = error{errc::tpkt_frame_too_large, layer::tpkt, 2, 0};
    return out;
  }
  if (used_ < m.frame_size) append(m.frame_size - used_);
  if (used_ < m.frame_size) return out;  // need_more
  out.status = frame_status::complete;
  out.frame = bytes{buf_.data(), m.frame_size};
  used_ = 0;  // the view stays valid until the next call writes into the buffer
  return out;
}

void write_header(writer& w, std::size_t payload_size) noexcept {
  const std::size_t total = payload_size + header_size;
  w.u8(version);
  w.u8(0);
  if (total > max_length) {
    w.range_error();
    w.u16be(0);
    return;
  }
  w.u16be(static_cast<std::uint16_t>(total));
}

result<std::size_t> encode(bytes payload, mutable_bytes out) noexcept {
  writer w{out};
  write_header(w, payload.size());
  w.raw(payload);
  return w.finish();
}

}  // namespace protos7::codec::tpkt
