#include "protos7/codec/szl.hpp"

namespace protos7::codec::szl {

result<request> parse_request(bytes payload, const std::byte* origin) noexcept {
  reader r{payload, origin == nullptr ? payload.data() : origin, layer::szl};
  if (payload.size() != 4) return error{errc::szl_bad_request, layer::szl, r.offset(), 0};
  request q;
  q.id = r.u16be();
  q.index = r.u16be();
  return q;
}

result<response_head> parse_response(bytes payload, const std::byte* origin, bool complete) noexcept {
  reader r{payload, origin == nullptr ? payload.data() : origin, layer::szl};
  response_head h;
  h.id = r.u16be();
  h.index = r.u16be();
  const std::uint32_t at = r.offset();
  h.record_length = r.u16be();
  h.record_count = r.u16be();
  if (!r.ok()) return r.err();
  h.records = r.rest();
  // Extract number 0xF (SZL-ID 0x0Fxx) asks for the partial list header only: LENTHDR and N_DR
  // describe the whole list and no record follows (every 0x0Fxx answer in the sample captures,
  // e.g. s7comm_reading_plc_status.pcap frame 56: 0f11 0000 001c 0004, nothing after it).
  const std::size_t want =
      is_header_only(h.id) ? 0 : std::size_t{h.record_length} * h.record_count;
  if (complete ? h.records.size() != want : h.records.size() > want)
    return error{errc::szl_bad_length, layer::szl, at, 0};
  return h;
}

void write_request(writer& w, const request& q) noexcept {
  w.u16be(q.id);
  w.u16be(q.index);
}

void write_response_head(writer& w, const response_head& h) noexcept {
  w.u16be(h.id);
  w.u16be(h.index);
  w.u16be(h.record_length);
  w.u16be(h.record_count);
}

}  // namespace protos7::codec::szl
