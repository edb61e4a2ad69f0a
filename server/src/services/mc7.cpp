// MC7 block files (services.hpp has the layout, derived from s7comm_downloading_block_db1.pcap
// frames 48, 51 and 54, which carry the whole 500-byte DB1 that Step 7 downloads).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "protos7/codec/writer.hpp"
#include "protos7/server/services.hpp"

namespace protos7::server {

namespace {

std::uint16_t be16(std::span<const std::byte> b, std::size_t at) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(b[at]) << 8U) | std::to_integer<unsigned>(b[at + 1]));
}
std::uint32_t be32(std::span<const std::byte> b, std::size_t at) {
  return (std::uint32_t{be16(b, at)} << 16U) | be16(b, at + 2);
}
void put16(std::vector<std::byte>& v, std::uint16_t x) {
  v.push_back(static_cast<std::byte>(x >> 8U));
  v.push_back(static_cast<std::byte>(x & 0xFFU));
}
void put32(std::vector<std::byte>& v, std::uint32_t x) {
  put16(v, static_cast<std::uint16_t>(x >> 16U));
  put16(v, static_cast<std::uint16_t>(x & 0xFFFFU));
}
void put_time(std::vector<std::byte>& v, const block_time& t) {
  put32(v, t.ms);
  put16(v, t.days);
}
block_time get_time(std::span<const std::byte> b, std::size_t at) { return {be32(b, at), be16(b, at + 4)}; }
void put_chars(std::vector<std::byte>& v, const std::array<char, 8>& a) {
  for (char c : a) v.push_back(static_cast<std::byte>(c));
}
void put16le(std::vector<std::byte>& v, std::uint16_t x) {
  v.push_back(static_cast<std::byte>(x & 0xFFU));
  v.push_back(static_cast<std::byte>(x >> 8U));
}

}  // namespace

bool mc7_header_to_meta(std::span<const std::byte> f, block_meta& b, std::string& why) {
  if (f.size() < mc7::header_length + mc7::footer_length) {
    why = fmt::format("an MC7 block has at least {} bytes (header and footer), this one {}",
                      mc7::header_length + mc7::footer_length, f.size());
    return false;
  }
  if (be16(f, 0) != 0x7070) {
    why = "an MC7 block starts with \"pp\" (70 70)";
    return false;
  }
  const std::uint32_t load = be32(f, 8);
  if (load != f.size()) {
    why = fmt::format("the header's load memory length is {}, the block has {} bytes", load, f.size());
    return false;
  }
  b.block_version = std::to_integer<std::uint8_t>(f[2]);
  b.attributes = std::to_integer<std::uint8_t>(f[3]);
  b.language = std::to_integer<std::uint8_t>(f[4]);
  b.type = std::to_integer<std::uint8_t>(f[5]);
  b.number = be16(f, 6);
  b.load_memory_length = load;
  b.security = be32(f, 12);
  b.code_time = get_time(f, 16);
  b.interface_time = get_time(f, 22);
  b.sbb_length = be16(f, 28);
  b.add_length = be16(f, 30);
  b.local_data_length = be16(f, 32);
  b.mc7_length = be16(f, 34);
  const std::size_t parts =
      mc7::header_length + b.mc7_length + std::size_t{b.sbb_length} + b.add_length + mc7::footer_length;
  if (parts != f.size()) {
    why = fmt::format("header {} + code {} + interface {} + ADD {} + footer {} = {}, but the block has {} bytes",
                      mc7::header_length, b.mc7_length, b.sbb_length, b.add_length, mc7::footer_length, parts,
                      f.size());
    return false;
  }
  const std::size_t foot = f.size() - mc7::footer_length;
  for (std::size_t i = 0; i < 8; ++i) {
    b.author[i] = static_cast<char>(f[foot + i]);
    b.family[i] = static_cast<char>(f[foot + 8 + i]);
    b.name[i] = static_cast<char>(f[foot + 16 + i]);
  }
  b.version = std::to_integer<std::uint8_t>(f[foot + 24]);
  b.info_unknown = std::to_integer<std::uint8_t>(f[foot + 25]);
  b.checksum = be16(f, foot + 26);
  return true;
}

namespace mc7 {

std::vector<std::byte> build(const block_meta& b, std::span<const std::byte> code, std::span<const std::byte> sbb) {
  if (!b.mc7.empty()) return b.mc7;
  std::vector<std::byte> f;
  const std::size_t total = header_length + b.mc7_length + std::size_t{b.sbb_length} + b.add_length + footer_length;
  f.reserve(total);
  f.push_back(std::byte{0x70});
  f.push_back(std::byte{0x70});
  f.push_back(std::byte{b.block_version});
  f.push_back(std::byte{b.attributes});
  f.push_back(std::byte{b.language});
  f.push_back(std::byte{b.type});
  put16(f, b.number);
  put32(f, static_cast<std::uint32_t>(total));
  put32(f, b.security);
  put_time(f, b.code_time);
  put_time(f, b.interface_time);
  put16(f, b.sbb_length);
  put16(f, b.add_length);
  put16(f, b.local_data_length);
  put16(f, b.mc7_length);
  const auto put_part = [&](std::span<const std::byte> part, std::size_t n) {
    const std::size_t k = std::min(part.size(), n);
    f.insert(f.end(), part.begin(), part.begin() + static_cast<std::ptrdiff_t>(k));
    f.insert(f.end(), n - k, std::byte{0});
  };
  put_part(code, b.mc7_length);
  put_part(sbb, b.sbb_length);
  put_part({}, b.add_length);
  put_chars(f, b.author);
  put_chars(f, b.family);
  put_chars(f, b.name);
  f.push_back(std::byte{b.version});
  f.push_back(std::byte{b.info_unknown});
  put16(f, b.checksum);
  f.insert(f.end(), 8, std::byte{0});
  return f;
}

// Interface layout (DotNetSiemensPLCToolBoxLibrary's MC7 notes agree with the captured DB1):
//   | 05 (DB) | number (u16 LE) | interface length - 7 (u16 LE) | start value length (u16 LE) |
//   | rows ... | start values ... | pad to an even length |
// Rows: data type, parameter type (0x04 static, 0x0C static with start value), then per type:
//   STRUCT 0x11: child count (1 byte); ARRAY 0x10: dimensions, (lo, hi) as i16 LE, element row.
// Captured DB1: 11 04 01 | 10 0C 01 0000 C700 | 05 04  = STRUCT { ARRAY[0..199] OF INT }.
std::vector<std::byte> db_interface(std::uint16_t number, std::size_t size) {
  std::vector<std::byte> v;
  v.push_back(std::byte{0x05});
  put16le(v, number);
  put16le(v, 12);  // rows below: 3 + 7 + 2 bytes
  put16le(v, 0);   // no start values
  // STRUCT (static, 1 child) { ARRAY[lo..hi] (static) OF BYTE (static) }
  v.push_back(std::byte{0x11});
  v.push_back(std::byte{0x04});
  v.push_back(std::byte{0x01});
  v.push_back(std::byte{0x10});
  v.push_back(std::byte{0x04});
  v.push_back(std::byte{0x01});
  const std::size_t n = std::max<std::size_t>(size, 1);
  // Bounds are INT: a DB of more than 32768 bytes starts at -32768.
  const int lo = n > 32768 ? -32768 : 0;
  const int hi = lo + static_cast<int>(n) - 1;
  put16le(v, static_cast<std::uint16_t>(lo & 0xFFFF));
  put16le(v, static_cast<std::uint16_t>(hi & 0xFFFF));
  v.push_back(std::byte{0x02});  // BYTE
  v.push_back(std::byte{0x04});
  // The captured interface (27 meaningful bytes) is padded to 28: keep lengths even.
  if (v.size() % 2 != 0) v.push_back(std::byte{0});
  return v;
}

std::span<const std::byte> code_of(std::span<const std::byte> file) {
  block_meta b;
  std::string why;
  if (!mc7_header_to_meta(file, b, why)) return {};
  return file.subspan(header_length, b.mc7_length);
}

std::span<const std::byte> sbb_of(std::span<const std::byte> file) {
  block_meta b;
  std::string why;
  if (!mc7_header_to_meta(file, b, why)) return {};
  return file.subspan(header_length + b.mc7_length, b.sbb_length);
}

}  // namespace mc7

}  // namespace protos7::server
