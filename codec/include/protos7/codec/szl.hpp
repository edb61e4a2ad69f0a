// SZL (system status list) payloads of the Userdata CPU function "Read SZL" (group 4, sub 1).
//
// Request data unit payload:  | SZL-ID (u16) | SZL index (u16) |
// Response, first data unit:  | SZL-ID | index | LENTHDR (record length) | N_DR (count) | records |
// Follow-up units of a long answer carry raw record bytes only (see userdata.hpp for the
// data-unit-reference / last-data-unit fields that chain them).
//
// Records: the layouts of the lists the server computes or patches and `protos7 learn` reads
// (0x0000, 0x0011, 0x001C, 0x0131 index 1, 0x0132 index 1 / 4 / 8, 0x0424), each a struct with
// a parse_* (exactly its length, else szl_bad_record_length) and a write_* (views cut or
// zero-padded to their fixed length, so a default record writes a whole zero record). Parts not
// modelled are views (`rest`), so encode(parse(b)) == b for every record. Field names are the
// ones of Siemens' SZL description (System Software for S7-300/400, System and Standard
// Functions), with a comment on what they mean.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::szl {

struct request {
  std::uint16_t id = 0;
  std::uint16_t index = 0;
};

struct response_head {
  std::uint16_t id = 0;
  std::uint16_t index = 0;
  std::uint16_t record_length = 0;  // LENTHDR
  std::uint16_t record_count = 0;   // N_DR
  bytes records;                    // the records present in this data unit
};
inline constexpr std::size_t response_head_size = 8;

// Errors: szl_bad_request (payload not exactly 4 bytes).
[[nodiscard]] result<request> parse_request(bytes payload, const std::byte* origin) noexcept;

// `complete` says the payload holds the whole answer (a single, last data unit): then the records
// must be exactly LENTHDR * N_DR bytes (none for a header-only SZL-ID 0x0Fxx, whose LENTHDR and
// N_DR describe the list without sending it). The first unit of a fragmented answer may hold fewer.
// Errors: truncated, szl_bad_length.
[[nodiscard]] result<response_head> parse_response(bytes payload, const std::byte* origin,
                                                   bool complete) noexcept;

void write_request(writer& w, const request& r) noexcept;
void write_response_head(writer& w, const response_head& h) noexcept;

// SZL-ID fields: bits 15-12 module class, 11-8 partial list extract number, 7-0 list number.
[[nodiscard]] constexpr std::uint8_t list_number(std::uint16_t id) noexcept {
  return static_cast<std::uint8_t>(id & 0xFFU);
}
// Extract number 0xF: "partial list header information only" (no records in the answer).
[[nodiscard]] constexpr bool is_header_only(std::uint16_t id) noexcept {
  return (id & 0x0F00U) == 0x0F00U;
}

// --- Records ------------------------------------------------------------------------------------

// Every record of these lists starts with its index: the word a 0x01nn request selects by (0x0111
// index 1, 0x011C index 2, 0x0174 index 6 in s7comm_reading_plc_status.pcap all do).
inline constexpr std::size_t record_index_length = 2;

// The i-th record of `records` (record_length bytes each, LENTHDR); empty past the end.
[[nodiscard]] constexpr bytes record_at(bytes records, std::size_t record_length,
                                        std::size_t i) noexcept {
  if (record_length == 0 || i >= records.size() / record_length) return {};
  return records.subspan(i * record_length, record_length);
}

// Errors (layer szl): truncated (a record shorter than its index word).
[[nodiscard]] result<std::uint16_t> parse_record_index(bytes record,
                                                       const std::byte* origin) noexcept;

// Text fields (order numbers, names) are fixed-size character arrays: `s` cut to the field or
// padded with `pad` (space for the MlfB, NUL for component names).
template <std::size_t N>
constexpr void set_text(std::array<char, N>& field, std::string_view s, char pad) noexcept {
  for (std::size_t i = 0; i < N; ++i) field[i] = i < s.size() ? s[i] : pad;
}
template <std::size_t N>
[[nodiscard]] constexpr std::string_view text_of(const std::array<char, N>& field) noexcept {
  return {field.data(), N};
}

// 0x0000 / 0x0F00: the SZL-IDs the CPU has, one 2-byte record each (frames 17 + 20 of
// s7comm_reading_plc_status.pcap: 0000 0F00 0002 0011 0111 0F11 ...). Read them with
// parse_record_index: the record is its id.
inline constexpr std::size_t id_record_length = 2;
void write_id_record(writer& w, std::uint16_t id) noexcept;

// 0x0011 / 0x0111: module identification (frame 59 of s7comm_reading_plc_status.pcap):
//   | index (u16) | MlfB: order number (20 chars, space padded) | BGTyp (u16) | Ausbg1 (u16) |
//   | Ausbg2 (u16) |
// Index 1 module, 6 basic hardware, 7 basic firmware, 0x81 boot loader. In the firmware and boot
// loader records Ausbg1 / Ausbg2 hold the version: 'V' major / minor patch (index 7 of frame 59:
// 5603 0206 = V3.2.6).
inline constexpr std::size_t module_identification_length = 28;
namespace module_index {
inline constexpr std::uint16_t module = 0x0001;
inline constexpr std::uint16_t basic_hardware = 0x0006;
inline constexpr std::uint16_t basic_firmware = 0x0007;
inline constexpr std::uint16_t boot_loader = 0x0081;
}  // namespace module_index
struct module_identification {
  std::uint16_t index = 0;
  std::array<char, 20> mlfb{};
  std::uint16_t bg_type = 0;  // module type
  std::uint16_t ausbg1 = 0;   // version, first word
  std::uint16_t ausbg2 = 0;   // version, second word
  friend constexpr bool operator==(const module_identification&,
                                   const module_identification&) = default;
};
// Errors: szl_bad_record_length (not 28 bytes) at the record's first byte.
[[nodiscard]] result<module_identification> parse_module_identification(
    bytes record, const std::byte* origin) noexcept;
void write_module_identification(writer& w, const module_identification& m) noexcept;

// The version of a firmware / boot loader record: a letter ('V' firmware) and three numbers.
struct version {
  char letter = 'V';
  std::uint8_t major = 0, minor = 0, patch = 0;
  friend constexpr bool operator==(const version&, const version&) = default;
};
[[nodiscard]] constexpr version version_of(const module_identification& m) noexcept {
  return {static_cast<char>(m.ausbg1 >> 8U), static_cast<std::uint8_t>(m.ausbg1 & 0xFFU),
          static_cast<std::uint8_t>(m.ausbg2 >> 8U), static_cast<std::uint8_t>(m.ausbg2 & 0xFFU)};
}
constexpr void set_version(module_identification& m, const version& v) noexcept {
  m.ausbg1 = static_cast<std::uint16_t>((static_cast<unsigned char>(v.letter) << 8U) | v.major);
  m.ausbg2 = static_cast<std::uint16_t>((v.minor << 8U) | v.patch);
}

// 0x001C / 0x011C: component identification (frames 69 + 72 of s7comm_reading_plc_status.pcap):
//   | index (u16) | 32 bytes: a NUL-padded name, or binary (index 9) |
// Index 1 automation system name, 2 module name, 3 plant designation, 4 copyright, 5 serial
// number, 7 module type name, 8 memory card serial number, 9 manufacturer and profile, 0xA OEM,
// 0xB location.
inline constexpr std::size_t component_identification_length = 34;
namespace component_index {
inline constexpr std::uint16_t as_name = 1;
inline constexpr std::uint16_t module_name = 2;
inline constexpr std::uint16_t plant_id = 3;
inline constexpr std::uint16_t copyright = 4;
inline constexpr std::uint16_t serial_number = 5;
inline constexpr std::uint16_t module_type = 7;
inline constexpr std::uint16_t memory_card_serial = 8;
}  // namespace component_index
struct component_identification {
  std::uint16_t index = 0;
  std::array<char, 32> name{};
  friend constexpr bool operator==(const component_identification&,
                                   const component_identification&) = default;
};
// Errors: szl_bad_record_length (not 34 bytes) at the record's first byte.
[[nodiscard]] result<component_identification> parse_component_identification(
    bytes record, const std::byte* origin) noexcept;
void write_component_identification(writer& w, const component_identification& c) noexcept;

// 0x0131 index 1: communication capabilities (frame 24 of s7comm_reading_plc_status.pcap:
// 0001 00F0 000C 0002DC6C 00000000 05F5E100 00...):
//   | index (0001) | pdu: max PDU size (u16) | anz: max connections (u16) |
//   | mpi_bps: MPI rate (u32) | mkbus_bps: communication bus rate (u32) | res (26 bytes) |
inline constexpr std::size_t communication_capabilities_length = 40;
struct communication_capabilities {
  std::uint16_t index = 1;
  std::uint16_t pdu = 0;
  std::uint16_t anz = 0;
  std::uint32_t mpi_bps = 0;
  std::uint32_t mkbus_bps = 0;
  bytes rest;  // 26 bytes, not modelled
};
// Errors: szl_bad_record_length (not 40 bytes) at the record's first byte.
[[nodiscard]] result<communication_capabilities> parse_communication_capabilities(
    bytes record, const std::byte* origin) noexcept;
void write_communication_capabilities(writer& w, const communication_capabilities& c) noexcept;

// 0x0131 index 3: operator interface (O/I) capabilities (wincc_s400_production.pcapng frame 10,
// an S7-400: 0003 FFFF8301 01E0 0020 0001 0384 0001 00...):
//   | index (0003) | funkt: 4 bytes of function bits | data: max consistent data (u16) |
//   | anz: max cyclic read jobs (u16) | per_min, per_max: their period, n x 100 ms (u16 each) |
//   | res (26 bytes) |
inline constexpr std::size_t oi_capabilities_length = 40;
struct oi_capabilities {
  std::uint16_t index = 3;
  std::uint32_t funkt = 0;
  std::uint16_t data = 0;
  std::uint16_t anz = 0;
  std::uint16_t per_min = 0;
  std::uint16_t per_max = 0;
  bytes rest;  // 26 bytes, not modelled
};
// Errors: szl_bad_record_length (not 40 bytes) at the record's first byte.
[[nodiscard]] result<oi_capabilities> parse_oi_capabilities(bytes record,
                                                            const std::byte* origin) noexcept;
void write_oi_capabilities(writer& w, const oi_capabilities& c) noexcept;

// 0x0132 index 1: communication status (frame 212 of s7comm_reading_plc_status.pcap:
// 0001 0001 0001 0001 0000 0001 0000 000A 0000 0014 ...):
//   | index (0001) | res_pg: reserved PG connections | res_os: reserved OS connections |
//   | u_pg: PG connections in use | u_os: OS connections in use | proj: configured connections |
//   | auf: connections in use by the CPU's own jobs | free: free connections | used: used for
//   communication functions | last: maximum communication load (%) | res (20 bytes) |
inline constexpr std::size_t communication_status_length = 40;
struct communication_status {
  std::uint16_t index = 1;
  std::uint16_t res_pg = 0, res_os = 0, u_pg = 0, u_os = 0, proj = 0, auf = 0, free = 0, used = 0,
                last = 0;
  bytes rest;  // 20 bytes, not modelled
};
// Errors: szl_bad_record_length (not 40 bytes) at the record's first byte.
[[nodiscard]] result<communication_status> parse_communication_status(
    bytes record, const std::byte* origin) noexcept;
void write_communication_status(writer& w, const communication_status& c) noexcept;

// 0x0132 / 0x0232 index 4: protection (frame 11 of s7comm_program_blocklist_onlineview.pcap:
// 0004 0001 0000 0001 0002 0000 0000 5656 ...):
//   | index (0004) | sch_schal: level set by the mode selector | sch_par: configured level
//   (0 none) | sch_rel: level in force | bart_sch: mode selector (1 RUN, 2 RUN-P, 3 STOP,
//   4 MRES) | anl_sch: startup switch | res: identifiers and checksums (28 bytes) |
inline constexpr std::size_t protection_length = 40;
struct protection {
  std::uint16_t index = 4;
  std::uint16_t sch_schal = 0, sch_par = 0, sch_rel = 0, bart_sch = 0, anl_sch = 0;
  bytes rest;  // 28 bytes, not modelled
};
// Errors: szl_bad_record_length (not 40 bytes) at the record's first byte.
[[nodiscard]] result<protection> parse_protection(bytes record, const std::byte* origin) noexcept;
void write_protection(writer& w, const protection& p) noexcept;

// 0x0132 index 8: time system status (frame 29 of s7comm_reading_setting_plc_time.pcap:
// 0008, 20 x 00, 14 08 20 11 59 43 96 74 = 2014-08-20 11:59:43.967, 10 x 00):
//   | index (0008) | zykl: cycle of the synchronisation frames | korr: correction factor |
//   | clock 0..7: run-time meters (16 bytes) | time: DATE_AND_TIME (8, s7_value.hpp) |
//   | bszl and status (10 bytes) |
// `time` stays a view: a template may hold any 8 bytes there (the server writes the clock).
inline constexpr std::size_t time_status_length = 40;
struct time_status {
  std::uint16_t index = 8;
  std::uint16_t zykl = 0;
  std::uint16_t korr = 0;
  bytes run_time_meters;  // 16 bytes, not modelled
  bytes time;             // 8 bytes
  bytes rest;             // 10 bytes, not modelled
};
// Errors: szl_bad_record_length (not 40 bytes) at the record's first byte.
[[nodiscard]] result<time_status> parse_time_status(bytes record, const std::byte* origin) noexcept;
void write_time_status(writer& w, const time_status& t) noexcept;

// 0x0424: operating mode, the last mode transition (frame 87 of s7comm_reading_plc_status.pcap:
// 5144 FF 08 00000000 00000000 1408201205283494):
//   | ereig: event id (u16) | ae (u8) | bzu_id (u8): lo nibble the mode (8 RUN, 4 or 3 STOP),
//   hi nibble the previous one | res, anlinfo1..4 (8 bytes) | time: DATE_AND_TIME (8) |
inline constexpr std::size_t operating_mode_length = 20;
struct operating_mode {
  std::uint16_t ereig = 0;
  std::uint8_t ae = 0;
  std::uint8_t bzu_id = 0;
  bytes info;  // 8 bytes, not modelled
  bytes time;  // 8 bytes, a view as in time_status
  [[nodiscard]] constexpr std::uint8_t mode() const noexcept { return bzu_id & 0x0FU; }
};
inline constexpr std::uint8_t bzu_run = 0x08;
inline constexpr std::uint8_t bzu_stop = 0x04;
// Errors: szl_bad_record_length (not 20 bytes) at the record's first byte.
[[nodiscard]] result<operating_mode> parse_operating_mode(bytes record,
                                                          const std::byte* origin) noexcept;
void write_operating_mode(writer& w, const operating_mode& m) noexcept;

}  // namespace protos7::codec::szl
