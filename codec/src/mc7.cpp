#include "protos7/codec/mc7.hpp"

namespace protos7::codec::mc7 {

namespace {

void read_chars(reader& r, std::array<char, 8>& out) noexcept {
  const bytes b = r.take(out.size());
  for (std::size_t i = 0; i < b.size(); ++i)
    out[i] = static_cast<char>(std::to_integer<unsigned char>(b[i]));
}

void write_chars(writer& w, const std::array<char, 8>& a) noexcept {
  for (const char c : a) w.u8(static_cast<std::uint8_t>(c));
}

// A part cut or zero-padded to n bytes.
void write_part(writer& w, bytes part, std::size_t n) noexcept {
  const std::size_t k = part.size() < n ? part.size() : n;
  w.raw(part.first(k));
  w.zeros(n - k);
}

void write_u16le(writer& w, std::uint16_t v) noexcept {
  w.u8(static_cast<std::uint8_t>(v & 0xFFU));
  w.u8(static_cast<std::uint8_t>(v >> 8U));
}

header read_header(reader& r) noexcept {
  header h;
  h.block_version = r.u8();
  h.attributes = r.u8();
  h.language = r.u8();
  h.block_type = r.u8();
  h.number = r.u16be();
  h.load_memory_length = r.u32be();
  h.security = r.u32be();
  h.code_time = read_block_time(r);
  h.interface_time = read_block_time(r);
  h.sbb_length = r.u16be();
  h.add_length = r.u16be();
  h.local_data_length = r.u16be();
  h.mc7_length = r.u16be();
  return h;
}

}  // namespace

block_time read_block_time(reader& r) noexcept {
  block_time t;
  t.ms = r.u32be();
  t.days = r.u16be();
  return t;
}

void write_block_time(writer& w, const block_time& t) noexcept {
  w.u32be(t.ms);
  w.u16be(t.days);
}

result<block> decode(bytes file) noexcept {
  reader r{file, layer::mc7};
  if (file.size() < header_length + footer_length) return error{errc::truncated, layer::mc7, 0, 0};
  if (r.u16be() != magic) return error{errc::mc7_bad_magic, layer::mc7, 0, 0};
  block b;
  b.hdr = read_header(r);
  if (b.hdr.load_memory_length != file.size())
    return error{errc::mc7_load_length_mismatch, layer::mc7, 8, 0};
  if (file_size(b.hdr) != file.size()) return error{errc::mc7_parts_mismatch, layer::mc7, 28, 0};
  b.code = r.take(b.hdr.mc7_length);
  b.sbb = r.take(b.hdr.sbb_length);
  b.add = r.take(b.hdr.add_length);
  read_chars(r, b.foot.author);
  read_chars(r, b.foot.family);
  read_chars(r, b.foot.name);
  b.foot.version = r.u8();
  b.foot.unknown = r.u8();
  b.foot.checksum = r.u16be();
  (void)r.take(8);  // not checked: see the leniency in mc7.hpp
  if (!r.ok()) return r.err();
  return b;
}

void encode(writer& w, const header& h, bytes code, bytes sbb, bytes add,
            const footer& f) noexcept {
  const std::size_t total = file_size(h);
  w.u16be(magic);
  w.u8(h.block_version);
  w.u8(h.attributes);
  w.u8(h.language);
  w.u8(h.block_type);
  w.u16be(h.number);
  w.u32be(static_cast<std::uint32_t>(total));
  w.u32be(h.security);
  write_block_time(w, h.code_time);
  write_block_time(w, h.interface_time);
  w.u16be(h.sbb_length);
  w.u16be(h.add_length);
  w.u16be(h.local_data_length);
  w.u16be(h.mc7_length);
  write_part(w, code, h.mc7_length);
  write_part(w, sbb, h.sbb_length);
  write_part(w, add, h.add_length);
  write_chars(w, f.author);
  write_chars(w, f.family);
  write_chars(w, f.name);
  w.u8(f.version);
  w.u8(f.unknown);
  w.u16be(f.checksum);
  w.zeros(8);
}

void write_db_interface(writer& w, std::uint16_t number, std::size_t size) noexcept {
  w.u8(0x05);
  write_u16le(w, number);
  write_u16le(w, 12);  // the rows below: 3 + 7 + 2 bytes
  write_u16le(w, 0);   // no start values
  static constexpr std::uint8_t struct_row[] = {0x11, 0x04, 0x01, 0x10, 0x04, 0x01};
  for (const std::uint8_t b : struct_row) w.u8(b);
  const std::size_t n = size == 0 ? 1 : size;
  const int lo = n > 32768 ? -32768 : 0;
  const int hi = lo + static_cast<int>(n) - 1;
  write_u16le(w, static_cast<std::uint16_t>(lo & 0xFFFF));
  write_u16le(w, static_cast<std::uint16_t>(hi & 0xFFFF));
  w.u8(0x02);  // BYTE
  w.u8(0x04);  // static
  w.u8(0x00);  // even length
}

}  // namespace protos7::codec::mc7
