// PLC profiles: what a CPU says about itself (identity, SZL records, block directory, limits,
// protection, clock), loaded from a versioned JSON file (docs/PROFILE.md) or the bundled
// S7-300-like default (server/profiles/s7-300.json, embedded in the binary).
//
// The loader is strict: an unknown key, a value of the wrong type or range, a hex string of the
// wrong length, a duplicate SZL (id, index) or block is an error naming the file, the JSON path
// (`$.szl[3].records[1]`) and what is wrong. `protos7 learn` writes this format, so a mistake in
// a learned profile must surface at load time, not as a wrong answer to a client.
//
// This is start-up code: errors are thrown as profile_error (std::runtime_error).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "protos7/codec/mc7.hpp"
#include "protos7/server/fault_rules.hpp"
#include "protos7/server/memory_limits.hpp"

namespace protos7::server {

class profile_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The profile format version this build reads and writes.
inline constexpr int profile_format_version = 1;

// Block types as in block file names and Userdata block functions (ASCII "08" = OB ...).
namespace block_type {
inline constexpr std::uint8_t ob = 0x08;
inline constexpr std::uint8_t db = 0x0A;
inline constexpr std::uint8_t sdb = 0x0B;
inline constexpr std::uint8_t fc = 0x0C;
inline constexpr std::uint8_t sfc = 0x0D;
inline constexpr std::uint8_t fb = 0x0E;
inline constexpr std::uint8_t sfb = 0x0F;
}  // namespace block_type
// "OB", "DB", ... for a type code; empty for an unknown one.
[[nodiscard]] std::string_view block_type_name(std::uint8_t type) noexcept;
// The type code of "OB", "db", ...; nullopt for an unknown name.
[[nodiscard]] std::optional<std::uint8_t> block_type_from_name(std::string_view name) noexcept;
// The order of "List blocks" answers (s7comm_downloading_block_db1.pcap frame 23):
// OB, FB, FC, DB, SDB, SFC, SFB.
inline constexpr std::array<std::uint8_t, 7> block_list_order{
    block_type::ob,  block_type::fb,  block_type::fc, block_type::db,
    block_type::sdb, block_type::sfc, block_type::sfb};

// An S7 block time stamp as MC7 headers and Get Block Info carry it:
// milliseconds since midnight (u32) + days since 1984-01-01 (u16); the codec's layout.
using block_time = codec::mc7::block_time;

// What the CPU tells about one block: the fields of Get Block Info, which are also the fields of
// the block's MC7 header (36 bytes) and footer (36 bytes), see mc7.hpp.
struct block_meta {
  std::uint8_t type = 0;  // block_type::*
  std::uint16_t number = 0;
  std::uint8_t list_flags = 0x22;        // flags byte of "List blocks of type" entries
  std::uint16_t info_word = 0x2200;      // Get Block Info bytes 4-5 (DB1: 0x2200, SFC0: 0x4230)
  std::uint8_t block_version = 0x01;     // MC7 header byte 2
  std::uint8_t attributes = 0x01;        // MC7 header byte 3 (Get Block Info "flags")
  std::uint8_t language = 0;             // 1 AWL, 2 KOP, 3 FUP, 4 SCL, 5 DB, 6 GRAPH, 7 SDB ...
  std::uint32_t load_memory_length = 0;  // the whole MC7 block in bytes
  std::uint32_t security = 0;
  block_time code_time;
  block_time interface_time;
  std::uint16_t sbb_length = 0;  // interface / segment bytes after the MC7 code
  std::uint16_t add_length = 0;
  std::uint16_t local_data_length = 0;
  std::uint16_t mc7_length = 0;  // MC7 code bytes (a DB: its contents)
  std::array<char, 8> author{};
  std::array<char, 8> family{};
  std::array<char, 8> name{};
  std::uint8_t version = 0x01;    // high nibble major, low nibble minor
  std::uint8_t info_unknown = 0;  // Get Block Info byte after the version
  std::uint16_t checksum = 0;
  std::uint32_t info_reserved = 0;  // Get Block Info's first reserved word (OB1 of a TIA download)
  std::vector<std::byte> mc7;       // the complete MC7 block if known (header .. footer)
};

// One SZL partial list as the profile stores it.
struct szl_entry {
  std::uint16_t id = 0;
  std::optional<std::uint16_t> index;  // nullopt: the CPU ignores the index ("any")
  std::uint16_t record_length = 0;     // LENTHDR
  std::uint16_t count = 0;             // N_DR
  std::vector<std::byte> records;      // count * record_length bytes; none for a 0x0Fxx list
};

// Identity strings. They are written into SZL 0x0011 (order number, firmware) and 0x001C
// (names, serial, copyright) over the profile's record templates.
struct identity {
  std::string order_number;        // 0x0011 index 1 and 6: MlfB, 20 characters
  std::string firmware_version;    // 0x0011 index 7: "V3.2.6"
  std::string as_name;             // 0x001C index 1 (automation system name), 24 characters
  std::string module_name;         // 0x001C index 2
  std::string plant_id;            // 0x001C index 3, 32 characters
  std::string copyright;           // 0x001C index 4, 26 characters
  std::string serial_number;       // 0x001C index 5, 24 characters
  std::string module_type;         // 0x001C index 7 (module type name), 32 characters
  std::string memory_card_serial;  // 0x001C index 8, 32 characters
};

// Command line overrides of the identity (`protos7 serve --module-name ...`).
struct identity_overrides {
  std::optional<std::string> order_number, firmware_version, as_name, module_name, plant_id,
      copyright, serial_number, module_type, memory_card_serial;
};

enum class operating_mode : std::uint8_t { stop, run };

// A data block the profile declares ("dbs", docs/PROFILE.md): it exists at start with `size`
// bytes (zeros, then the profile's `memory` ranges). A learned profile lists the DBs the captured
// CPU had. `info` (with list_flags and language) is what List blocks of type, Get Block Info and
// an upload report for it, as long as the DB keeps `size` bytes (info->mc7_length == size).
struct profile_db {
  std::uint16_t number = 0;
  std::uint32_t size = 0;  // 1 .. 65536 bytes (the sizes DB<n>.bin storage allows)
  std::optional<block_meta> info;
  std::vector<std::byte> interface;  // with info: its interface (SBB, sbb_length bytes) for uploads
};

// Process memory the profile starts with ("memory", docs/PROFILE.md): what a learned CPU's
// clients read (Read Var answers) and wrote (Write Var requests it acknowledged).
struct memory_range {
  std::uint8_t area = 0;     // codec::s7::area: 0x81 I, 0x82 Q, 0x83 M, 0x84 DB, 0x1C C, 0x1D T
  std::uint16_t db = 0;      // area DB: the DB number (declared in "dbs")
  std::uint32_t offset = 0;  // byte offset; counters and timers take 2 bytes each (C n at 2n)
  std::vector<std::byte> bytes;
};

// An alarm of the CPU's program ("alarms", docs/PROFILE.md): what the message and alarm services
// report about it (ALARM query, ALARM_8 / ALARM_S / NOTIFY indications; alarms.hpp).
enum class alarm_kind : std::uint8_t { alarm_8, alarm_8p, notify, notify_8p, alarm_s, alarm_sq };
// "ALARM_8", ... for a kind; the kind of a name (nullopt: unknown).
[[nodiscard]] std::string_view alarm_kind_name(alarm_kind k) noexcept;
[[nodiscard]] std::optional<alarm_kind> alarm_kind_from_name(std::string_view name) noexcept;
// The signals an alarm of `k` has: 8 for the ALARM_8 / NOTIFY_8P blocks, 1 for the others.
[[nodiscard]] std::size_t alarm_signal_count(alarm_kind k) noexcept;

// A bit of process memory (a signal of an alarm).
struct bit_address {
  std::uint8_t area = 0;  // 0x81 I, 0x82 Q, 0x83 M, 0x84 DB
  std::uint16_t db = 0;
  std::uint32_t byte = 0;
  std::uint8_t bit = 0;  // 0..7
};
// An associated value of an alarm: `length` bytes of memory (area != 0) or constant bytes, sent
// as one data item of `transport_size` (Read Var data transport sizes: 0x03 bit, 0x04 bytes,
// 0x05 integer, 0x07 real, 0x09 octets).
struct alarm_value {
  std::uint8_t transport_size = 0x04;
  std::uint8_t area = 0;  // 0: the constant `bytes`
  std::uint16_t db = 0;
  std::uint32_t offset = 0;
  std::uint16_t length = 0;
  std::vector<std::byte> bytes;  // area 0: the value
};
inline constexpr std::size_t max_alarms = 4096;
inline constexpr std::size_t max_alarm_values = 10;         // SD_1 .. SD_10 of the alarm blocks
inline constexpr std::size_t max_alarm_value_length = 200;  // bytes of one associated value
struct profile_alarm {
  std::uint32_t event_id = 0;  // EV_ID, unique in the profile
  alarm_kind kind = alarm_kind::alarm_8;
  std::vector<bit_address> signals;  // SIG_1 ..; none: the state is `event_state`
  std::vector<alarm_value> values;
  std::uint8_t event_state = 0;  // the signals' state when they have no memory bit
  std::uint8_t ack_going = 0xFF, ack_coming = 0xFF;  // bit n 0: SIG_n+1 not acknowledged
  std::string name;
};

struct plc_profile {
  std::string source;  // file name, or "bundled:s7-300"
  std::string name;
  std::string description;
  identity id;
  std::uint16_t pdu_size = 480;        // limits.pdu_size (240, 480 or 960)
  std::uint16_t max_amq = 8;           // limits.max_amq
  std::uint16_t max_connections = 12;  // limits.max_connections, what SZL 0x0131 index 1 reports
  memory_limits mem_limits;            // limits.load_memory, work_memory, max_blocks
  // limits.max_cyclic_jobs: cyclic / change-driven jobs of the whole CPU (SZL 0x0131 index 3
  // anz: 32 on the captured S7-400, wincc_s400_production.pcapng frame 10), and per connection.
  std::uint16_t max_cyclic_jobs = 32;
  std::uint16_t max_cyclic_jobs_per_connection = 32;
  std::uint8_t protection_level = 1;  // 1 none, 2 write protection, 3 read/write protection
  std::string password;               // up to 8 characters; required for levels 2 and 3
  std::uint8_t mode_selector = 2;     // SZL 0x0132 index 4 bart_sch: 1 RUN, 2 RUN-P, 3 STOP, 4 MRES
  bool clock_local = true;            // the PLC clock follows the host's local time (else UTC)
  std::int64_t clock_offset_ms = 0;   // start offset from that time
  operating_mode start_mode = operating_mode::run;
  // Programmer commands (programmer.hpp): the CPU's job list holds at most max_test_jobs jobs
  // (test_jobs.max_jobs); jobs are numbered from first_job_number (test_jobs.first_number), the
  // numbers below it being held by connections a learned capture does not show.
  std::uint8_t max_test_jobs = 8;
  std::uint8_t first_job_number = 1;
  std::vector<szl_entry> szl;
  std::vector<block_meta> blocks;     // every type but DB (DBs come from storage and `dbs`)
  std::vector<profile_db> dbs;        // DBs the PLC has at start (besides those of storage)
  bool declares_dbs = false;          // "dbs" given (even empty): the sample PLC's DBs are not made
  std::vector<memory_range> memory;   // initial contents of I/Q/M/C/T and of the `dbs`
  std::vector<profile_alarm> alarms;  // the program's alarms (message and alarm services)
  std::optional<fault_rules> faults;  // "faults": rules injected from the start (docs/FAULTS.md)
};

// Parses a profile from JSON text. `source` names it in errors. Throws profile_error.
[[nodiscard]] plc_profile parse_profile(std::string_view json, const std::string& source);
// Reads and parses a file. Throws profile_error.
[[nodiscard]] plc_profile load_profile(const std::string& path);
// The bundled S7-300-like profile (server/profiles/s7-300.json, embedded at build time).
[[nodiscard]] std::string_view bundled_profile_json() noexcept;
[[nodiscard]] const plc_profile& bundled_profile();
// The profile as JSON (the format parse_profile reads; what `protos7 learn` writes).
[[nodiscard]] std::string profile_to_json(const plc_profile& p);

void apply_overrides(plc_profile& p, const identity_overrides& o);
void apply_overrides(identity& id, const identity_overrides& o);

class plc_memory;
// Puts the profile's `dbs` and `memory` into `mem` (profile_memory.cpp): every DB of `dbs` that
// `mem` does not have yet is created with its `memory` ranges (zeros elsewhere): as
// `<bin_dir>/DB<n>.bin` (written atomically, then served from the file like every DB of storage),
// or in RAM only when `bin_dir` is empty. A DB `mem` already has (a DB<n>.bin of storage) is
// authoritative and keeps its bytes. I/Q/M/C/T ranges are always written (those areas start at
// zero). Returns the number of DBs created. Throws profile_error when a range does not fit its
// area (the message names the --inputs-size / --outputs-size / --flags-size / --counters /
// --timers flag to raise) and std::runtime_error when a file cannot be written.
std::size_t apply_profile_memory(const plc_profile& p, plc_memory& mem, const std::string& bin_dir);

// Hex text of the profile format ("0a 1b", "0A1B" and "0a:1b" all read the same); written as
// "0a 1b" by the codec's one hex encoder (codec/hex.hpp).
[[nodiscard]] std::optional<std::vector<std::byte>> parse_hex(std::string_view s);
[[nodiscard]] std::string to_hex(std::span<const std::byte> b);

// Block time <-> "YYYY-MM-DDTHH:MM:SS.mmm" (no time zone: S7 block times are local wall time).
[[nodiscard]] std::optional<block_time> parse_block_time(std::string_view s);
[[nodiscard]] std::string format_block_time(const block_time& t);

}  // namespace protos7::server
