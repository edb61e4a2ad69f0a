// The CPU's memory and block limits (profile "limits": load_memory, work_memory, max_blocks;
// docs/PROFILE.md). A real CPU refuses a download when its load memory is full or it has the
// most blocks of a type it can hold, and _INSE when its work memory is full; plc_state does the
// same, so a client cannot create DBs or blocks without bound (issue #16).
//
// Defaults: the bundled profile's CPU, the IM151-8 PN/DP CPU 6ES7 151-8AB01-0AB0 (Siemens,
// "ET 200S Interface module IM151-8 PN/DP CPU" manual, technical specifications): work memory
// 192 KB, load memory a Micro Memory Card of at most 8 MB, at most 1024 blocks of DBs, FCs and
// FBs together (1024 of each kind).
#pragma once

#include <array>
#include <cstdint>

#include "protos7/codec/s7_header.hpp"

namespace protos7::server {

// The CPU's answers when a limit is reached (the codec's table of S7 error codes; texts from
// Wireshark's table, docs: s7comm_reference.md):
namespace memory_error {
// Request Download / Download Ended: "Insufficient memory space or work memory on the module,
// or specified storage medium not accessible" (class 0x83 "no resources available").
inline constexpr std::uint16_t load_memory_full = codec::s7::error_code::insufficient_memory;
// Request Download: "Maximum number of copied (not linked) blocks on module exceeded" (a
// downloaded block is copied into load memory, linked by _INSE).
inline constexpr std::uint16_t too_many_blocks = codec::s7::error_code::too_many_copied_blocks;
// _INSE: "Insufficient work memory (for copying, linking, loading AWP)".
inline constexpr std::uint16_t work_memory_full = codec::s7::error_code::insufficient_work_memory;
}  // namespace memory_error

struct memory_limits {
  std::uint32_t load_memory = 8U * 1024U * 1024U;  // bytes of MC7 block files (MMC)
  std::uint32_t work_memory = 192U * 1024U;        // bytes of DB data and MC7 code
  // Most blocks per type, indexed by type code - 0x08 (OB 08, DB 0A, SDB 0B, FC 0C, FB 0E).
  std::array<std::uint16_t, 8> max_blocks{64, 0, 1024, 512, 1024, 0, 1024, 0};
  std::uint16_t max_blocks_total = 1024;  // DBs, FCs and FBs together

  [[nodiscard]] constexpr std::uint16_t max_of(std::uint8_t type) const noexcept {
    return type >= 0x08 && type <= 0x0F ? max_blocks[type - 0x08U] : 0;
  }
};

}  // namespace protos7::server
