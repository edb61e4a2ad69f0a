#include "protos7/codec/szl.hpp"

namespace protos7::codec::szl {

namespace {
// A reader over one record; it has failed with szl_bad_record_length at the record's first byte
// unless the record is `length` bytes long.
reader record_reader(bytes record, const std::byte* origin, std::size_t length) noexcept {
  reader r{record, origin == nullptr ? record.data() : origin, layer::szl};
  if (record.size() != length) r.fail(errc::szl_bad_record_length);
  return r;
}
// A part not modelled: `b` cut or zero-padded to n bytes.
void fixed(writer& w, bytes b, std::size_t n) noexcept {
  w.raw(b.first(b.size() < n ? b.size() : n));
  if (b.size() < n) w.zeros(n - b.size());
}
template <std::size_t N>
void read_text(reader& r, std::array<char, N>& out) noexcept {
  for (char& c : out) c = static_cast<char>(r.u8());
}
template <std::size_t N>
void write_text(writer& w, const std::array<char, N>& text) noexcept {
  for (const char c : text) w.u8(static_cast<std::uint8_t>(c));
}
}  // namespace

result<request> parse_request(bytes payload, const std::byte* origin) noexcept {
  reader r{payload, origin == nullptr ? payload.data() : origin, layer::szl};
  if (payload.size() != 4) return error{errc::szl_bad_request, layer::szl, r.offset(), 0};
  request q;
  q.id = r.u16be();
  q.index = r.u16be();
  return q;
}

result<response_head> parse_response(bytes payload, const std::byte* origin,
                                     bool complete) noexcept {
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
  const std::size_t want = is_header_only(h.id) ? 0 : std::size_t{h.record_length} * h.record_count;
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

result<std::uint16_t> parse_record_index(bytes record, const std::byte* origin) noexcept {
  reader r{record, origin == nullptr ? record.data() : origin, layer::szl};
  const std::uint16_t index = r.u16be();
  if (!r.ok()) return r.err();
  return index;
}

void write_id_record(writer& w, std::uint16_t id) noexcept {
  w.u16be(id);
}

result<module_identification> parse_module_identification(bytes record,
                                                          const std::byte* origin) noexcept {
  reader r = record_reader(record, origin, module_identification_length);
  if (!r.ok()) return r.err();
  module_identification m;
  m.index = r.u16be();
  read_text(r, m.mlfb);
  m.bg_type = r.u16be();
  m.ausbg1 = r.u16be();
  m.ausbg2 = r.u16be();
  return m;
}

void write_module_identification(writer& w, const module_identification& m) noexcept {
  w.u16be(m.index);
  write_text(w, m.mlfb);
  w.u16be(m.bg_type);
  w.u16be(m.ausbg1);
  w.u16be(m.ausbg2);
}

result<component_identification> parse_component_identification(bytes record,
                                                                const std::byte* origin) noexcept {
  reader r = record_reader(record, origin, component_identification_length);
  if (!r.ok()) return r.err();
  component_identification c;
  c.index = r.u16be();
  read_text(r, c.name);
  return c;
}

void write_component_identification(writer& w, const component_identification& c) noexcept {
  w.u16be(c.index);
  write_text(w, c.name);
}

result<communication_capabilities> parse_communication_capabilities(
    bytes record, const std::byte* origin) noexcept {
  reader r = record_reader(record, origin, communication_capabilities_length);
  if (!r.ok()) return r.err();
  communication_capabilities c;
  c.index = r.u16be();
  c.pdu = r.u16be();
  c.anz = r.u16be();
  c.mpi_bps = r.u32be();
  c.mkbus_bps = r.u32be();
  c.rest = r.rest();
  return c;
}

void write_communication_capabilities(writer& w, const communication_capabilities& c) noexcept {
  w.u16be(c.index);
  w.u16be(c.pdu);
  w.u16be(c.anz);
  w.u32be(c.mpi_bps);
  w.u32be(c.mkbus_bps);
  fixed(w, c.rest, communication_capabilities_length - 14);
}

result<oi_capabilities> parse_oi_capabilities(bytes record, const std::byte* origin) noexcept {
  reader r = record_reader(record, origin, oi_capabilities_length);
  if (!r.ok()) return r.err();
  oi_capabilities c;
  c.index = r.u16be();
  c.funkt = r.u32be();
  c.data = r.u16be();
  c.anz = r.u16be();
  c.per_min = r.u16be();
  c.per_max = r.u16be();
  c.rest = r.rest();
  return c;
}

void write_oi_capabilities(writer& w, const oi_capabilities& c) noexcept {
  w.u16be(c.index);
  w.u32be(c.funkt);
  w.u16be(c.data);
  w.u16be(c.anz);
  w.u16be(c.per_min);
  w.u16be(c.per_max);
  fixed(w, c.rest, oi_capabilities_length - 14);
}

result<communication_status> parse_communication_status(bytes record,
                                                        const std::byte* origin) noexcept {
  reader r = record_reader(record, origin, communication_status_length);
  if (!r.ok()) return r.err();
  communication_status c;
  c.index = r.u16be();
  c.res_pg = r.u16be();
  c.res_os = r.u16be();
  c.u_pg = r.u16be();
  c.u_os = r.u16be();
  c.proj = r.u16be();
  c.auf = r.u16be();
  c.free = r.u16be();
  c.used = r.u16be();
  c.last = r.u16be();
  c.rest = r.rest();
  return c;
}

void write_communication_status(writer& w, const communication_status& c) noexcept {
  for (const std::uint16_t v :
       {c.index, c.res_pg, c.res_os, c.u_pg, c.u_os, c.proj, c.auf, c.free, c.used, c.last})
    w.u16be(v);
  fixed(w, c.rest, communication_status_length - 20);
}

result<protection> parse_protection(bytes record, const std::byte* origin) noexcept {
  reader r = record_reader(record, origin, protection_length);
  if (!r.ok()) return r.err();
  protection p;
  p.index = r.u16be();
  p.sch_schal = r.u16be();
  p.sch_par = r.u16be();
  p.sch_rel = r.u16be();
  p.bart_sch = r.u16be();
  p.anl_sch = r.u16be();
  p.rest = r.rest();
  return p;
}

void write_protection(writer& w, const protection& p) noexcept {
  for (const std::uint16_t v : {p.index, p.sch_schal, p.sch_par, p.sch_rel, p.bart_sch, p.anl_sch})
    w.u16be(v);
  fixed(w, p.rest, protection_length - 12);
}

result<time_status> parse_time_status(bytes record, const std::byte* origin) noexcept {
  reader r = record_reader(record, origin, time_status_length);
  if (!r.ok()) return r.err();
  time_status t;
  t.index = r.u16be();
  t.zykl = r.u16be();
  t.korr = r.u16be();
  t.run_time_meters = r.take(16);
  t.time = r.take(8);
  t.rest = r.rest();
  return t;
}

void write_time_status(writer& w, const time_status& t) noexcept {
  w.u16be(t.index);
  w.u16be(t.zykl);
  w.u16be(t.korr);
  fixed(w, t.run_time_meters, 16);
  fixed(w, t.time, 8);
  fixed(w, t.rest, time_status_length - 30);
}

result<operating_mode> parse_operating_mode(bytes record, const std::byte* origin) noexcept {
  reader r = record_reader(record, origin, operating_mode_length);
  if (!r.ok()) return r.err();
  operating_mode m;
  m.ereig = r.u16be();
  m.ae = r.u8();
  m.bzu_id = r.u8();
  m.info = r.take(8);
  m.time = r.take(8);
  return m;
}

void write_operating_mode(writer& w, const operating_mode& m) noexcept {
  w.u16be(m.ereig);
  w.u8(m.ae);
  w.u8(m.bzu_id);
  fixed(w, m.info, 8);
  fixed(w, m.time, 8);
}

}  // namespace protos7::codec::szl
