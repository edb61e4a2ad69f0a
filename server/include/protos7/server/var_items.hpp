// Read Var / Write Var items answered beyond plain S7ANY memory access, as the captured CPUs do
// (docs/TRANSPORT_SIZES.md has the evidence of every rule):
//  - DBREAD items (syntax id 0xB0, sent by WinCC to an S7-400): one answer item holding every
//    area (wincc_s400_production.pcapng, 84 Read Var pairs such as frames 24 / 25);
//  - counter and timer words written with bits 15-14 set, which no counter (0..999) or timer
//    (S5TIME) holds: item return code 0x03 (snap7_s300_everything.pcapng frames 53 / 54).
#pragma once

#include <cstdint>
#include <span>

#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/writer.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/plc_state.hpp"

namespace protos7::server::var_items {

// Where a Read/Write Var item points (S7ANY; any other syntax id: 0x05): its return code and,
// when 0xFF, the location, whether it is one BIT (answered as a byte 0x00/0x01) and the data
// transport size of its Read Var answer.
struct resolved {
  std::uint8_t rc = codec::s7::return_code::success;
  location loc;
  bool bit = false;
  std::uint8_t bit_no = 0;
  std::uint8_t data_tsize = 0;
};
[[nodiscard]] resolved resolve(const codec::s7::var_spec& v, plc_memory& mem,
                               const plc_state& plc) noexcept;

// Writes the Read Var answer item of `v` (S7ANY, DBREAD; another syntax id: 0x05) as Read Var
// and the cyclic services answer it, with its fill byte unless it is the `last` item. Returns the
// item's return code (a DBREAD item's is 0xFF: its areas carry their own).
std::uint8_t write_read_item(codec::writer& w, const codec::s7::var_spec& v, plc_memory& mem,
                             const plc_state& plc, bool last) noexcept;

// Writes the Read Var answer item of DBREAD item `v` (already validated by the codec): for each
// area its return code and bytes; 0x0A for a DB that does not exist (or was deleted), 0x05 for a
// range outside the DB (the same codes as S7ANY items; no capture shows a failing area). The
// item is followed by a fill byte when its data is odd and it is not the `last` item.
void write_dbread(codec::writer& w, const codec::s7::var_spec& v, plc_memory& mem,
                  const plc_state& plc, bool last) noexcept;

// The return code of a Write Var of `data` to the counter (0x1C) or timer (0x1D) area: 0xFF, or
// 0x03 (access denied) when a word cannot be a counter or timer value.
[[nodiscard]] std::uint8_t check_counter_timer_write(std::span<const std::byte> data) noexcept;

}  // namespace protos7::server::var_items
