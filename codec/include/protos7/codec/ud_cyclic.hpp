// Cyclic services (Userdata group 2): cyclic transfer (0x01), change driven transfer (0x05) and
// its modify (0x07) set up a job whose data the CPU pushes; unsubscribe (0x04) ends it. As
// Wireshark 4.0 decodes them (s7comm_decode_ud_cyclic_subfunc); evidence in
// wincc_s400_production.pcapng of the field captures.
//
//   request (0x01, 0x05, 0x07): | reserved | item count | time base | interval | items |
//       (the items are variable specifications, S7ANY or DBREAD; userdata.hpp's
//       parse_cyclic_request decodes it; frame 22: 00 01 01 02 and one DBREAD item)
//   answer and pushes:          | reserved | item count | data items (Read Var data) |
//       (frame 23: 00 01 and one item of 328 bytes)
//   unsubscribe request:        | function | job id |   (frame 26: 05 01)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::s7::cyclic {

namespace sub {
inline constexpr std::uint8_t cyclic_transfer = 0x01;
inline constexpr std::uint8_t unsubscribe = 0x04;
inline constexpr std::uint8_t change_driven = 0x05;
inline constexpr std::uint8_t change_driven_modify = 0x07;
inline constexpr std::uint8_t rdrec = 0x08;
}  // namespace sub
// Time bases: 100 ms, 1 s, 10 s.
namespace timebase {
inline constexpr std::uint8_t ms100 = 0;
inline constexpr std::uint8_t s1 = 1;
inline constexpr std::uint8_t s10 = 2;
}  // namespace timebase

// The interval a request asks, in ms: its time base times its factor (interval byte); 0 for a
// time base other than these three or a factor of 0 (no valid interval).
[[nodiscard]] constexpr std::uint32_t interval_ms(std::uint8_t time_base,
                                                  std::uint8_t factor) noexcept {
  switch (time_base) {
    case timebase::ms100:
      return 100U * factor;
    case timebase::s1:
      return 1000U * factor;
    case timebase::s10:
      return 10000U * factor;
    default:
      return 0;
  }
}

// The subfunctions whose request carries items and whose answers carry data.
[[nodiscard]] constexpr bool carries_items(std::uint8_t subfunction) noexcept {
  return subfunction == sub::cyclic_transfer || subfunction == sub::change_driven ||
         subfunction == sub::change_driven_modify;
}

// Writes the request head; the caller then writes the items (write_any, write_dbread), with a
// fill byte after an odd-sized item that is not the last.
void write_request_head(writer& w, std::uint8_t item_count, std::uint8_t time_base,
                        std::uint8_t interval) noexcept;

// The data of an answer or a push.
struct data {
  std::uint8_t reserved = 0;
  std::uint8_t item_count = 0;
  bytes items;  // walk with data_item_iterator (s7_data.hpp)
};
// Errors: truncated, and those of parse_data_items (data_kind::push).
[[nodiscard]] result<data> parse_data(bytes payload, const std::byte* origin,
                                      const data_options& opt = {}) noexcept;
// Writes | reserved | item count |; the caller then writes the items (write_data_item).
void write_data_head(writer& w, std::uint8_t item_count) noexcept;

// Unsubscribe request.
struct unsubscribe {
  std::uint8_t function = 0;  // 0x05 in the capture
  std::uint8_t job_id = 0;    // the sequence number of the job's answer
};
inline constexpr std::size_t unsubscribe_length = 2;
// Errors: userdata_bad_payload (not 2 bytes).
[[nodiscard]] result<unsubscribe> parse_unsubscribe(bytes payload,
                                                    const std::byte* origin) noexcept;
void write_unsubscribe(writer& w, const unsubscribe& u) noexcept;

}  // namespace protos7::codec::s7::cyclic
