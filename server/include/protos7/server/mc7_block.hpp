// MC7 block files of the PLC's blocks: block_meta (profile.hpp) <-> the codec's MC7 layout
// (codec/mc7.hpp). Part of protos7::profile: a profile's blocks and the server's uploads and
// downloads share it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protos7/codec/mc7.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/server/profile.hpp"

namespace protos7::server {

// --- MC7 blocks (the file format of block upload/download; layout in codec/mc7.hpp) ---
namespace mc7 {
inline constexpr std::size_t header_length = codec::mc7::header_length;
inline constexpr std::size_t footer_length = codec::mc7::footer_length;
// The block file of `b` with `code` (mc7_length bytes) and `sbb` (sbb_length bytes); ADD bytes
// are zeros. A block whose meta carries the complete file (b.mc7) is returned as it is.
[[nodiscard]] std::vector<std::byte> build(const block_meta& b, std::span<const std::byte> code,
                                           std::span<const std::byte> sbb);
// The interface of a DB without a declared one: STRUCT { ARRAY[lo..hi] OF BYTE } covering
// `size` bytes, the encoding Step 7 used for DB1 (ARRAY[0..199] OF INT) in
// s7comm_downloading_block_db1.pcap.
[[nodiscard]] std::vector<std::byte> db_interface(std::uint16_t number, std::size_t size);
// The DB contents (code part) of a DB block file; empty span if `file` is not a valid DB block.
[[nodiscard]] std::span<const std::byte> code_of(std::span<const std::byte> file);
// The interface (SBB) part of a block file.
[[nodiscard]] std::span<const std::byte> sbb_of(std::span<const std::byte> file);
}  // namespace mc7

// Reads the header and footer of a complete MC7 file into `b` (sets b.mc7 to nothing new).
// False (with the reason) when the file is not a consistent MC7 block.
bool mc7_header_to_meta(std::span<const std::byte> mc7, block_meta& b, std::string& why);

// Get Block Info (Userdata block function 0x03) carries the fields of a block's MC7 header and
// footer: the answer the server gives for `b`, its views into `b` and into `times` (the two
// 6-byte time stamps are written there), and the block_meta a captured answer describes.
using block_info_times = std::array<std::byte, 2 * codec::mc7::block_time_length>;
[[nodiscard]] codec::s7::ud::block_info block_info_of(const block_meta& b, block_info_times& times);
[[nodiscard]] block_meta meta_of(const codec::s7::ud::block_info& bi, std::uint8_t type,
                                 std::uint16_t number);

}  // namespace protos7::server
