// MC7 block files of the PLC's blocks: block_meta <-> the codec's MC7 layout (codec/mc7.hpp
// holds the layout, from s7comm_downloading_block_db1.pcap frames 48, 51 and 54).
#include "protos7/codec/mc7.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "protos7/server/mc7_block.hpp"

namespace protos7::server {

namespace cm = codec::mc7;

namespace {

cm::header header_of(const block_meta& b) {
  cm::header h;
  h.block_version = b.block_version;
  h.attributes = b.attributes;
  h.language = b.language;
  h.block_type = b.type;
  h.number = b.number;
  h.security = b.security;
  h.code_time = b.code_time;
  h.interface_time = b.interface_time;
  h.sbb_length = b.sbb_length;
  h.add_length = b.add_length;
  h.local_data_length = b.local_data_length;
  h.mc7_length = b.mc7_length;
  return h;
}

void meta_of(const cm::block& f, block_meta& b) {
  b.block_version = f.hdr.block_version;
  b.attributes = f.hdr.attributes;
  b.language = f.hdr.language;
  b.type = f.hdr.block_type;
  b.number = f.hdr.number;
  b.load_memory_length = f.hdr.load_memory_length;
  b.security = f.hdr.security;
  b.code_time = f.hdr.code_time;
  b.interface_time = f.hdr.interface_time;
  b.sbb_length = f.hdr.sbb_length;
  b.add_length = f.hdr.add_length;
  b.local_data_length = f.hdr.local_data_length;
  b.mc7_length = f.hdr.mc7_length;
  b.author = f.foot.author;
  b.family = f.foot.family;
  b.name = f.foot.name;
  b.version = f.foot.version;
  b.info_unknown = f.foot.unknown;
  b.checksum = f.foot.checksum;
}

std::string reason(const codec::error& e, std::size_t size) {
  switch (e.code) {
    case codec::errc::truncated:
      return fmt::format("an MC7 block has at least {} bytes (header and footer), this one {}",
                         cm::header_length + cm::footer_length, size);
    case codec::errc::mc7_bad_magic:
      return "an MC7 block starts with \"pp\" (70 70)";
    case codec::errc::mc7_load_length_mismatch:
      return fmt::format("the header's load memory length does not match the block's {} bytes",
                         size);
    case codec::errc::mc7_parts_mismatch:
      return fmt::format(
          "header, code, interface, ADD and footer do not add up to the block's {} bytes", size);
    default:
      return std::string{codec::to_string(e.code)};
  }
}

}  // namespace

bool mc7_header_to_meta(std::span<const std::byte> f, block_meta& b, std::string& why) {
  const auto r = cm::decode(f);
  if (!r) {
    why = reason(r.err(), f.size());
    return false;
  }
  meta_of(*r, b);
  return true;
}

namespace mc7 {

std::vector<std::byte> build(const block_meta& b, std::span<const std::byte> code,
                             std::span<const std::byte> sbb) {
  if (!b.mc7.empty()) return b.mc7;
  const cm::header h = header_of(b);
  cm::footer f;
  f.author = b.author;
  f.family = b.family;
  f.name = b.name;
  f.version = b.version;
  f.unknown = b.info_unknown;
  f.checksum = b.checksum;
  std::vector<std::byte> out(cm::file_size(h));
  codec::writer w{out};
  cm::encode(w, h, code, sbb, {}, f);
  return out;
}

std::vector<std::byte> db_interface(std::uint16_t number, std::size_t size) {
  std::vector<std::byte> v(cm::db_interface_length);
  codec::writer w{v};
  cm::write_db_interface(w, number, size);
  return v;
}

std::span<const std::byte> code_of(std::span<const std::byte> file) {
  const auto r = cm::decode(file);
  return r ? r->code : std::span<const std::byte>{};
}

std::span<const std::byte> sbb_of(std::span<const std::byte> file) {
  const auto r = cm::decode(file);
  return r ? r->sbb : std::span<const std::byte>{};
}

}  // namespace mc7

namespace {

codec::bytes bytes_of(const std::array<char, 8>& a) {
  return {reinterpret_cast<const std::byte*>(a.data()), a.size()};
}

void copy_text(codec::bytes from, std::array<char, 8>& to) {
  for (std::size_t i = 0; i < to.size(); ++i)
    to[i] = i < from.size() ? static_cast<char>(std::to_integer<unsigned char>(from[i])) : '\0';
}

block_time time_of(codec::bytes six) {
  codec::reader r{six, codec::layer::userdata};
  return cm::read_block_time(r);
}

}  // namespace

codec::s7::ud::block_info block_info_of(const block_meta& b, block_info_times& times) {
  codec::writer tw{times};
  cm::write_block_time(tw, b.code_time);
  cm::write_block_time(tw, b.interface_time);
  codec::s7::ud::block_info bi;
  bi.unknown2 = b.info_word;
  bi.unknown1 = b.block_version;
  bi.flags = b.attributes;
  bi.language = b.language;
  bi.subblock_type = b.type;
  bi.number = b.number;
  bi.load_memory_length = b.load_memory_length;
  bi.security = b.security;
  bi.code_timestamp = codec::bytes{times}.first(cm::block_time_length);
  bi.interface_timestamp = codec::bytes{times}.subspan(cm::block_time_length);
  bi.ssb_length = b.sbb_length;
  bi.add_length = b.add_length;
  bi.local_data_length = b.local_data_length;
  bi.mc7_length = b.mc7_length;
  bi.author = bytes_of(b.author);
  bi.family = bytes_of(b.family);
  bi.name = bytes_of(b.name);
  bi.version = b.version;
  bi.unknown3 = b.info_unknown;
  bi.checksum = b.checksum;
  bi.reserved1 = b.info_reserved;
  return bi;
}

block_meta meta_of(const codec::s7::ud::block_info& bi, std::uint8_t type, std::uint16_t number) {
  block_meta b;
  b.type = type;
  b.number = number;
  b.info_word = bi.unknown2;
  b.block_version = bi.unknown1;
  b.attributes = bi.flags;
  b.language = bi.language;
  b.load_memory_length = bi.load_memory_length;
  b.security = bi.security;
  b.code_time = time_of(bi.code_timestamp);
  b.interface_time = time_of(bi.interface_timestamp);
  b.sbb_length = bi.ssb_length;
  b.add_length = bi.add_length;
  b.local_data_length = bi.local_data_length;
  b.mc7_length = bi.mc7_length;
  copy_text(bi.author, b.author);
  copy_text(bi.family, b.family);
  copy_text(bi.name, b.name);
  b.version = bi.version;
  b.info_unknown = bi.unknown3;
  b.checksum = bi.checksum;
  b.info_reserved = bi.reserved1;
  return b;
}

}  // namespace protos7::server
