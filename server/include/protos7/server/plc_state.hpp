// The state of the simulated CPU that is not process memory: operating mode, clock, protection,
// identity, the block directory and the connections. One per server, shared by every session
// (and by the web admin).
//
// Threading: plc_state has no locks. Everything runs on the server's single event-loop thread;
// the web admin posts its work onto that thread (it never calls plc_state from its own thread).
//
// The block directory is the profile's OB/FC/FB/SDB/SFC/SFB (plus blocks downloaded and made
// live with _INSE) and the DBs of plc_memory (storage). A DB downloaded by a client is written
// to <db_bin_dir>/DB<n>.bin like every other DB.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protos7/codec/userdata.hpp"
#include "protos7/server/config.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/memory_limits.hpp"
#include "protos7/server/profile.hpp"

namespace protos7::server {

// A change of the operating mode, as observers (web admin) see it.
struct mode_change {
  operating_mode from = operating_mode::run;
  operating_mode to = operating_mode::run;
  std::string reason;          // "PLC stop (job 0x29)", "P_PROGRAM cold start", "web admin" ...
  std::uint64_t sequence = 0;  // 1 for the first change, counts every change since start
  std::chrono::system_clock::time_point at{};
};

// One entry of "List blocks of type".
struct block_list_entry {
  std::uint16_t number = 0;
  std::uint8_t flags = 0;
  std::uint8_t language = 0;
};

// A job of the test and installation functions (programmer commands, Userdata group 1: variable
// status, block status, modify variable; programmer.hpp). The CPU keeps one job list for every
// connection (Read job list shows them all); a job belongs to the connection that set it up.
struct test_job {
  std::uint8_t number = 0;       // the sequence number of its set-up answer; enable/delete name it
  std::uint8_t function = 0;     // the subfunction that set it up
  std::uint32_t owner = 0;       // plc_state::new_connection_id() of its connection
  std::uint8_t pushes_owed = 0;  // Enable jobs whose push has not been sent yet
  std::vector<std::byte> param;  // its set-up request: the frame's parameter and data
  std::vector<std::byte> data;
};

// Why a block cannot be made live / deleted (the S7 error code to answer, 0 = done).
using s7_error = std::uint16_t;

class plc_state {
 public:
  // The profile is cfg.profile, or the bundled S7-300 profile when that is null.
  plc_state(const config& cfg, plc_memory& mem);
  plc_state(const plc_state&) = delete;
  plc_state& operator=(const plc_state&) = delete;

  [[nodiscard]] const plc_profile& profile() const noexcept { return *profile_; }
  [[nodiscard]] plc_memory& memory() noexcept { return mem_; }
  [[nodiscard]] const config& cfg() const noexcept { return cfg_; }

  // Cyclic jobs set up on all connections (cyclic.hpp), against profile().max_cyclic_jobs.
  [[nodiscard]] std::size_t cyclic_jobs() const noexcept { return cyclic_jobs_; }
  void cyclic_job_added() noexcept { ++cyclic_jobs_; }
  void cyclic_job_removed() noexcept { --cyclic_jobs_; }

  // --- identity (SZL 0x0011 / 0x001C are built from it on every read) ---
  [[nodiscard]] const identity& id() const noexcept { return identity_; }
  void set_identity(const identity& id) { identity_ = id; }

  // --- operating mode ---
  [[nodiscard]] operating_mode mode() const noexcept { return mode_; }
  // Returns false (and changes nothing) when the CPU is already in `m`.
  bool set_mode(operating_mode m, std::string_view reason);
  [[nodiscard]] std::uint64_t mode_changes() const noexcept { return last_change_.sequence; }
  [[nodiscard]] const mode_change& last_mode_change() const noexcept { return last_change_; }
  // Observers are called on the event-loop thread after each change. Returns an id for remove.
  std::size_t on_mode_change(std::function<void(const mode_change&)> f);
  void remove_mode_observer(std::size_t id);

  // --- clock: the PLC time is the host's time (local or UTC, per profile) plus an offset ---
  [[nodiscard]] codec::s7::ud::timestamp clock_now() const;
  // Sets the PLC clock to `t` (the offset becomes t - host time). False if `t` is not a date.
  bool set_clock(const codec::s7::ud::timestamp& t);
  [[nodiscard]] std::chrono::milliseconds clock_offset() const noexcept { return clock_offset_; }
  void set_clock_offset(std::chrono::milliseconds off) noexcept { clock_offset_ = off; }

  // --- protection (per-session legitimation lives in the session's services) ---
  [[nodiscard]] std::uint8_t protection_level() const noexcept { return protection_level_; }
  [[nodiscard]] bool has_password() const noexcept { return !password_.empty(); }
  // Level 1..3; a level above 1 needs a non-empty password. Returns false if refused.
  bool set_protection(std::uint8_t level, std::string password);
  // The 8 unscrambled bytes of a "PLC password" request (space padded) against the password.
  [[nodiscard]] bool password_matches(std::span<const std::uint8_t, 8> plain) const noexcept;
  [[nodiscard]] std::uint8_t mode_selector() const noexcept { return profile_->mode_selector; }

  // --- connections (for SZL 0x0132 index 1) ---
  // The connection resource for a COTP connection of `connection_type` (1 PG, 2 OP, 3 S7 basic):
  // a general one while fewer than config::max_connections are taken, else the one reserved for
  // a PG or an OP (config::reserved_pg / reserved_op). Returns the slot taken (give it back with
  // release_connection), or slot::none when the CPU has none left.
  enum class slot : std::uint8_t { none, general, reserved_pg, reserved_op };
  [[nodiscard]] slot admit_connection(std::uint8_t connection_type) noexcept;
  void release_connection(slot s) noexcept;
  void connection_opened(std::uint8_t connection_type) noexcept;  // 1 PG, 2 OP, 3 S7 basic
  void connection_closed(std::uint8_t connection_type) noexcept;
  [[nodiscard]] std::uint16_t connections(std::uint8_t connection_type) const noexcept;
  [[nodiscard]] std::uint16_t connections_total() const noexcept;

  // --- block directory ---
  [[nodiscard]] std::uint16_t block_count(std::uint8_t type) const;
  // Calls f(block_list_entry) for each block of `type`, DBs by number, other blocks in directory
  // order (no list is built: the answer of "List blocks of type" is written in place).
  template <class F>
  void for_each_block(std::uint8_t type, F&& f) const;
  // Get Block Info: the profile's entry, or a DB's info built from storage.
  [[nodiscard]] std::optional<block_meta> block_info(std::uint8_t type, std::uint16_t number) const;
  // The block as an MC7 file (header, code, interface, footer) for an upload.
  [[nodiscard]] std::optional<std::vector<std::byte>> block_mc7(std::uint8_t type,
                                                                std::uint16_t number) const;
  [[nodiscard]] bool db_exists(std::uint16_t number) const noexcept;

  // --- load and work memory (the profile's limits, memory_limits.hpp) ---
  [[nodiscard]] const memory_limits& limits() const noexcept { return profile_->mem_limits; }
  // Bytes of load memory in use: the MC7 files of every block, live and passive.
  [[nodiscard]] std::uint64_t load_memory_used() const;
  // Bytes of work memory in use: the data of the DBs and the MC7 code of the other blocks.
  [[nodiscard]] std::uint64_t work_memory_used() const;
  // Whether a download of block `type` `number` of `length` bytes (0: not announced) fits:
  // 0, memory_error::too_many_blocks or memory_error::load_memory_full.
  [[nodiscard]] s7_error check_download(std::uint8_t type, std::uint16_t number,
                                        std::size_t length) const;

  // Whether DB `number` may be created, or resized, to `size` bytes by other means than a
  // download (the web admin): the block count, the load and the work memory are held to the same
  // limits. 0 or the memory_error; `why` then says which limit, with the figures.
  [[nodiscard]] s7_error check_db_size(std::uint16_t number, std::size_t size,
                                       std::string& why) const;

  // Download: a block received from a client waits in load memory ("passive") until _INSE.
  // Returns 0, or check_download's error (the block is not kept).
  s7_error add_passive_block(std::uint8_t type, std::uint16_t number, std::vector<std::byte> mc7);
  [[nodiscard]] bool has_passive_block(std::uint8_t type, std::uint16_t number) const;
  // _INSE: makes a passive block live. A DB is written to DB<n>.bin (or kept in RAM when the
  // config has no db_bin_dir) and replaces any DB n. Returns 0 or the S7 error, among them
  // memory_error::work_memory_full when the block's data or code does not fit.
  s7_error insert_block(std::uint8_t type, std::uint16_t number);
  // _DELE: removes a block (a DB's file is deleted and the directory synced, so the deletion
  // survives a crash). Returns 0 or the S7 error (0x8301 when the directory sync failed).
  s7_error delete_block(std::uint8_t type, std::uint16_t number);
  // DBs deleted with _DELE are dropped from plc_memory and hidden: Read and Write Var answer
  // "object does not exist" for them.
  [[nodiscard]] bool db_hidden(std::uint16_t number) const noexcept {
    return hidden_dbs_.contains(number);
  }

  // Tests: the directory sync after _DELE (default store::fsync_dir).
  void set_dir_sync(void (*f)(const std::string& dir)) noexcept { dir_sync_ = f; }

  // --- test and installation jobs (programmer.hpp) ---
  // An id for each connection, naming the owner of its jobs (never 0).
  [[nodiscard]] std::uint32_t new_connection_id() noexcept { return ++connection_ids_; }
  // The number a new job gets: the lowest one not in use from the profile's first_job_number
  // (0 when every number up to 255 is in use). A request that sets up no job is answered with it
  // too, as the captured CPU did (step7_s300_readVarTab.pcapng: job 2, Enable job answered 3).
  [[nodiscard]] std::uint8_t free_job_number() const noexcept;
  // Adds a job numbered free_job_number(); nullptr when the list holds the profile's
  // max_test_jobs jobs (the CPU's 0xD062 "job list full").
  test_job* add_test_job(std::uint8_t function, std::uint32_t owner);
  [[nodiscard]] test_job* find_test_job(std::uint8_t number) noexcept;
  void remove_test_job(std::uint8_t number) noexcept;
  void remove_test_jobs_of(std::uint32_t owner) noexcept;
  // Every job, by number.
  [[nodiscard]] const std::vector<test_job>& test_jobs() const noexcept { return test_jobs_; }
  [[nodiscard]] std::vector<test_job>& test_jobs() noexcept { return test_jobs_; }
  // Flash LED requests served (the web admin and tests see the LED "flash").
  void note_flash_led() noexcept { ++flash_led_count_; }
  [[nodiscard]] std::uint64_t flash_led_count() const noexcept { return flash_led_count_; }

  // --- misc ---
  // Data unit reference of a fragmented Userdata answer (the captured CPU used 2..6; 1..255 here).
  std::uint8_t next_data_unit_ref() noexcept;
  // Events of "copy RAM to ROM" (_MODU) and "compress" (_GARB), for observers and tests.
  void note_copy_ram_to_rom() noexcept { ++ram_to_rom_count_; }
  void note_compress() noexcept { ++compress_count_; }
  [[nodiscard]] std::uint64_t ram_to_rom_count() const noexcept { return ram_to_rom_count_; }
  [[nodiscard]] std::uint64_t compress_count() const noexcept { return compress_count_; }

 private:
  [[nodiscard]] const block_meta* find_profile_block(std::uint8_t type, std::uint16_t number) const;
  [[nodiscard]] std::chrono::milliseconds host_now() const;
  [[nodiscard]] std::optional<std::pair<block_meta, std::vector<std::byte>>> db_block(
      std::uint16_t number) const;
  // Live or passive.
  [[nodiscard]] bool present(std::uint8_t type, std::uint16_t number) const;
  // Blocks of `type`, live or passive, each number counted once.
  [[nodiscard]] std::size_t count_of(std::uint8_t type) const;
  // Work memory of the live block `type` `number` (0 if there is none).
  [[nodiscard]] std::uint64_t work_of(std::uint8_t type, std::uint16_t number) const;
  s7_error insert_db(std::uint16_t number, block_meta meta, std::span<const std::byte> file);

  const config& cfg_;
  plc_memory& mem_;
  std::shared_ptr<const plc_profile> profile_;
  identity identity_;
  operating_mode mode_;
  mode_change last_change_;
  std::map<std::size_t, std::function<void(const mode_change&)>> observers_;
  std::size_t next_observer_ = 1;
  std::chrono::milliseconds clock_offset_{0};
  std::uint8_t protection_level_ = 1;
  std::string password_;
  std::array<std::uint16_t, 4> connections_{};
  std::size_t cyclic_jobs_ = 0;
  std::array<std::size_t, 4> slots_used_{};  // by plc_state::slot
  std::vector<block_meta> blocks_;           // profile + inserted non-DB blocks
  struct db_extra {
    block_meta meta;             // header and footer fields of the downloaded block (no file)
    std::vector<std::byte> sbb;  // its interface
  };
  std::map<std::uint16_t, db_extra> db_meta_;  // DBs made live by _INSE
  std::map<std::pair<std::uint8_t, std::uint16_t>, std::vector<std::byte>> passive_;
  std::set<std::uint16_t> hidden_dbs_;
  std::uint8_t data_unit_ref_ = 0;
  std::uint64_t ram_to_rom_count_ = 0;
  std::uint64_t compress_count_ = 0;
  std::vector<test_job> test_jobs_;  // sorted by number
  std::uint32_t connection_ids_ = 0;
  std::uint64_t flash_led_count_ = 0;
  void (*dir_sync_)(const std::string& dir);
};

template <class F>
void plc_state::for_each_block(std::uint8_t type, F&& f) const {
  if (type != block_type::db) {
    for (const block_meta& b : blocks_)
      if (b.type == type) f(block_list_entry{b.number, b.list_flags, b.language});
    return;
  }
  for (const auto& entry : mem_.dbs()) {
    const std::uint16_t num = entry.first;
    if (hidden_dbs_.contains(num)) continue;
    const auto it = db_meta_.find(num);
    // DB entries as the captured CPU lists them: flags 0x22, language 5
    // (s7comm_downloading_block_db1.pcap frame 78: 00 01 22 05).
    f(block_list_entry{num, it != db_meta_.end() ? it->second.meta.list_flags : std::uint8_t{0x22},
                       it != db_meta_.end() ? it->second.meta.language : std::uint8_t{5}});
  }
}

}  // namespace protos7::server
