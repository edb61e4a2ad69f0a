// A plant in one process (`protos7 serve --plant plant.json`, docs/PLANT.md): the PLCs of a
// plant file, each an independent CPU at its own address with its own memory, operating mode,
// clock, blocks, connection limits and storage, served by N event loops.
//
// Threads: loop k owns the shard of PLCs k, k + N, k + 2N, ... (event_loop.hpp). A PLC's state
// is touched by its loop only, so the request path takes no lock; each loop runs its own group
// commit over the PLCs of its shard. Other threads (the web admin) post work to a PLC's server
// (server::post) and read the figures published here (atomics, log_context).
//
// A single-PLC `protos7 serve` runs one loop: its connections are not spread over loops (the
// reasons are in docs/PLANT.md, "One PLC, one loop").
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protos7/server/config.hpp"
#include "protos7/server/event_loop.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/plant_config.hpp"
#include "protos7/server/server.hpp"

namespace protos7::server {

class plant {
 public:
  // One PLC of the plant. Everything but the atomics and `log` belongs to its loop's thread
  // once run() has started.
  struct plc {
    plc(const plant_plc& p, const std::shared_ptr<const plc_profile>& profile, const config& common,
        event_loop& loop, unsigned shard);
    plc(const plc&) = delete;
    plc& operator=(const plc&) = delete;

    std::string name;
    std::string json_path;  // "$.plcs[3]"
    serve_options opt;      // storage paths, for prepare_storage() and the web admin
    config cfg;
    plc_memory mem;
    server srv;
    log_context log;  // name prefix of its log lines, its last warning or error
    unsigned shard = 0;
    // Published by the loop for other threads (the plant page).
    std::atomic<operating_mode> mode{operating_mode::run};
    std::atomic<double> requests_per_s{0};
    std::uint64_t requests_seen = 0;  // loop thread: the total at the last rate sample

    [[nodiscard]] std::string sqlite_path() const;
    [[nodiscard]] std::string bin_dir() const;
  };

  // Builds every PLC (configuration, memory, CPU state, server) on `threads` loops (0: one per
  // core). `common` gives what is not per PLC (check_replies, abort_on_bad_reply). Nothing is
  // bound or written yet. Throws plant_error.
  plant(const plant_file& f, unsigned threads, const config& common);
  ~plant();
  plant(const plant&) = delete;
  plant& operator=(const plant&) = delete;

  // Binds every PLC's address, after checking that the file descriptor limit allows the
  // listeners. Throws plant_error naming the first PLC whose address cannot be bound (its
  // listener and the others' are closed again when the plant is destroyed); writes nothing.
  void listen();
  // Prepares every PLC's storage as `protos7 serve` does (its folder, the sample PLC's SQLite
  // file, DB<n>.bin files, the profile's DBs), on several threads. Throws plant_error naming the
  // first PLC (in file order) whose storage failed; no further PLC is started after a failure.
  void prepare_storage(log_level sqlite_level);
  // Serves until stop(): loop 0 on the calling thread, the others on threads of their own.
  void run();
  // From any thread or a signal handler.
  void stop() noexcept;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  [[nodiscard]] std::size_t size() const noexcept { return plcs_.size(); }
  [[nodiscard]] unsigned threads() const noexcept { return static_cast<unsigned>(loops_.size()); }
  [[nodiscard]] plc& at(std::size_t i) noexcept { return *plcs_[i]; }
  [[nodiscard]] const plc& at(std::size_t i) const noexcept { return *plcs_[i]; }
  // The PLC named `name` (exact), or nullptr.
  [[nodiscard]] plc* find(std::string_view name) noexcept;
  // Flushes what every DB still holds unsynced (after run()). False if a sync failed.
  [[nodiscard]] bool commit_all() noexcept;
  // The errno of the listen() that failed (0: none failed).
  [[nodiscard]] int listen_errno() const noexcept { return listen_errno_; }

 private:
  void sample_rates(unsigned shard);
  static void prepare_one(plc& p);

  std::string name_;
  std::string source_;
  std::vector<std::unique_ptr<event_loop>> loops_;
  std::vector<std::unique_ptr<plc>> plcs_;  // after loops_: destroyed first
  std::vector<std::thread> threads_;
  std::vector<std::chrono::steady_clock::time_point> sampled_at_;  // per shard
  int listen_errno_ = 0;
};

// The number of loops `--threads 0` means: one per core (std::thread::hardware_concurrency).
[[nodiscard]] unsigned default_plant_threads() noexcept;

}  // namespace protos7::server
