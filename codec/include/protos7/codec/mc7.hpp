// MC7 block files: the file format of S7-300/400 blocks in block upload and download, and the
// interface (SBB) of a data block.
//
//   offset size  field (all big-endian)        captured DB1 (s7comm_downloading_block_db1.pcap
//                                               frame 48)
//   0      2     "pp" 0x70 0x70                  70 70
//   2      1     block version                   01
//   3      1     attributes                      01
//   4      1     language                        05 (DB)
//   5      1     block type                      0A (DB)
//   6      2     number                          00 01
//   8      4     load memory length (whole file) 00 00 01 F4 = 500
//   12     4     security                        00 00 00 00
//   16     6     code time (ms u32, days u16)    02 91 47 60 2B B5 = 2014-08-20 11:57:55.424
//   22     6     interface time                  02 91 47 60 2B B5
//   28     2     SBB (interface) length          00 1C = 28
//   30     2     ADD (segment table) length      00 00
//   32     2     local data length               00 00
//   34     2     MC7 code length                 01 90 = 400 (a DB: its 400 data bytes)
//   36     n     MC7 code                        400 x 00
//   36+n   m     interface (SBB)                 05 01 00 0C 00 08 00 11 04 01 10 0C 01 00 00
//                                                C7 00 05 04 01 00 00 01 01 00 00 00 52
//   ...    a     ADD
//   end-36 36    footer: author(8) family(8) name(8) version(1) unknown(1) checksum(2) 8 x 0
//                "TWI" "TestHMI" "DATADB" 01 00 C0DF
//
// Redundant lengths cross-checked: the load memory length against the file, and header +
// code + SBB + ADD + footer against the file. Leniency (named): the footer's last 8 bytes are
// not checked (zeros in every captured block; their meaning is unknown, a CPU may set them).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "protos7/codec/reader.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::mc7 {

inline constexpr std::size_t header_length = 36;
inline constexpr std::size_t footer_length = 36;
inline constexpr std::uint16_t magic = 0x7070;  // "pp"

// A block time stamp: milliseconds since midnight and days since 1984-01-01 (6 bytes).
struct block_time {
  std::uint32_t ms = 0;
  std::uint16_t days = 0;
  friend constexpr bool operator==(const block_time&, const block_time&) = default;
};
inline constexpr std::size_t block_time_length = 6;

struct header {
  std::uint8_t block_version = 0x01;
  std::uint8_t attributes = 0x01;
  std::uint8_t language = 0;  // 1 AWL, 2 KOP, 3 FUP, 4 SCL, 5 DB, 6 GRAPH, 7 SDB ...
  std::uint8_t block_type = 0;
  std::uint16_t number = 0;
  std::uint32_t load_memory_length = 0;  // the whole file; the encoder computes it
  std::uint32_t security = 0;
  block_time code_time;
  block_time interface_time;
  std::uint16_t sbb_length = 0;
  std::uint16_t add_length = 0;
  std::uint16_t local_data_length = 0;
  std::uint16_t mc7_length = 0;
  friend constexpr bool operator==(const header&, const header&) = default;
};

struct footer {
  std::array<char, 8> author{};
  std::array<char, 8> family{};
  std::array<char, 8> name{};
  std::uint8_t version = 0x01;  // high nibble major, low nibble minor
  std::uint8_t unknown = 0;
  std::uint16_t checksum = 0;
  friend constexpr bool operator==(const footer&, const footer&) = default;
};

// A decoded block file; the parts are views into the caller's bytes.
struct block {
  header hdr;
  bytes code;  // mc7_length bytes (a DB: its contents)
  bytes sbb;   // sbb_length bytes (the interface)
  bytes add;   // add_length bytes
  footer foot;
};

// Errors (layer mc7): truncated (shorter than header + footer), mc7_bad_magic,
// mc7_load_length_mismatch, mc7_parts_mismatch.
[[nodiscard]] result<block> decode(bytes file) noexcept;

// Writes a block file: the header (load memory length computed), `code`, `sbb` and `add` each
// cut or zero-padded to the header's lengths, the footer. Size = encode into an empty span.
void encode(writer& w, const header& h, bytes code, bytes sbb, bytes add, const footer& f) noexcept;
[[nodiscard]] constexpr std::size_t file_size(const header& h) noexcept {
  return header_length + h.mc7_length + std::size_t{h.sbb_length} + h.add_length + footer_length;
}

// A block time stamp (6 bytes, as in the header, Get Block Info and SZL records).
[[nodiscard]] block_time read_block_time(reader& r) noexcept;
void write_block_time(writer& w, const block_time& t) noexcept;

// The interface (SBB) of a data block declared as STRUCT { ARRAY[lo..hi] OF BYTE } covering
// `size` bytes (lo = 0, or -32768 above 32768 bytes: the bounds are INTs), the encoding Step 7
// used for the captured DB1 (ARRAY[0..199] OF INT):
//   | 05 (DB) | number (u16 LE) | rows length (u16 LE, 12) | start values length (u16 LE, 0) |
//   | 11 04 01 (STRUCT, static, 1 child) | 10 04 01 lo(i16 LE) hi(i16 LE) (ARRAY, static,
//   1 dimension) | 02 04 (BYTE, static) | 00 (pad to an even length, as the captured 27-byte
//   interface is padded to 28) |
inline constexpr std::size_t db_interface_length = 20;
void write_db_interface(writer& w, std::uint16_t number, std::size_t size) noexcept;

}  // namespace protos7::codec::mc7
