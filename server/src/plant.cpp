#include "protos7/server/plant.hpp"

#include <arpa/inet.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "protos7/server/app.hpp"
#include "protos7/server/storage.hpp"

namespace protos7::server {

namespace {

// How often each loop publishes its PLCs' request rates.
constexpr std::chrono::milliseconds rate_interval{1000};
// Descriptors a loop holds besides the listeners: epoll, eventfd, the spare one.
constexpr std::size_t fds_per_loop = 3;
// Threads preparing storage at start: creating it waits for fdatasync, and concurrent syncs of
// different files overlap (the block layer merges their cache flushes).
constexpr std::size_t storage_threads = 8;

std::string listen_failure(int err, const config& cfg) {
  if (err == EADDRNOTAVAIL)
    return fmt::format(
        "cannot listen on {}:{}: {}: it is not an address of this host (ip -4 addr; "
        "every address of 127.0.0.0/8 is)",
        cfg.listen_address, cfg.port, std::strerror(err));
  if (err == EADDRINUSE)
    return fmt::format("cannot listen on {}:{}: {} (another program, or another plant, holds it)",
                       cfg.listen_address, cfg.port, std::strerror(err));
  return listen_error_text(err, cfg);
}

}  // namespace

unsigned default_plant_threads() noexcept {
  return std::max(1U, std::thread::hardware_concurrency());
}

plant::plc::plc(const plant_plc& p, const std::shared_ptr<const plc_profile>& profile,
                const config& common, event_loop& loop, unsigned shard_index)
    : name(p.name),
      json_path(p.json_path),
      opt(p.opt),
      cfg(resolve_config(p.opt, profile)),
      mem(cfg.areas),
      srv(cfg, mem, loop),
      shard(shard_index) {
  cfg.check_replies = common.check_replies;
  cfg.abort_on_bad_reply = common.abort_on_bad_reply;
  identity id = profile->id;
  apply_overrides(id, p.opt.identity);
  srv.plc().set_identity(id);
  log.name = name;
  srv.set_log_context(&log);
  mem.set_log_context(&log);
  mode.store(srv.plc().mode());
  // Runs on the loop thread (the CPU changes mode there): the plant page reads the atomic.
  srv.plc().on_mode_change([this](const mode_change& c) { mode.store(c.to); });
}

std::string plant::plc::sqlite_path() const {
  return opt.sqlite_path.empty() ? opt.data_dir + "/protos7.db" : opt.sqlite_path;
}

std::string plant::plc::bin_dir() const {
  return opt.db_bin_path.empty() ? opt.data_dir : opt.db_bin_path;
}

plant::plant(const plant_file& f, unsigned threads, const config& common)
    : name_(f.name), source_(f.source) {
  if (threads == 0) threads = default_plant_threads();
  threads = std::min<unsigned>(threads, static_cast<unsigned>(f.plcs.size()));
  for (unsigned k = 0; k < threads; ++k) {
    loops_.push_back(std::make_unique<event_loop>());
    if (const int err = loops_.back()->open(); err != 0)
      throw plant_error(
          fmt::format("{}: cannot create event loop {}: {}", f.source, k, std::strerror(err)));
  }
  sampled_at_.assign(threads, std::chrono::steady_clock::now());
  plcs_.reserve(f.plcs.size());
  for (std::size_t i = 0; i < f.plcs.size(); ++i) {
    const plant_plc& p = f.plcs[i];
    const unsigned shard = static_cast<unsigned>(i % threads);
    try {
      plcs_.push_back(std::make_unique<plc>(p, f.profiles.at(p.opt.profile_path), common,
                                            *loops_[shard], shard));
    } catch (const std::exception& e) {
      throw plant_error(fmt::format("{}: {}: {}", f.source, describe_plc(p), e.what()));
    }
  }
  for (unsigned k = 0; k < threads; ++k)
    loops_[k]->set_tick(rate_interval, [this, k] { sample_rates(k); });
}

plant::~plant() {
  stop();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
}

plant::plc* plant::find(std::string_view n) noexcept {
  for (auto& p : plcs_)
    if (p->name == n) return p.get();
  return nullptr;
}

// The descriptors the listeners need must be there; connections beyond the limit are refused
// one by one (server.cpp, EMFILE), so their number is only reported.
void plant::listen() {
  rlimit lim{};
  std::size_t connections = 0;
  for (const auto& p : plcs_)
    connections += p->cfg.max_connections + p->cfg.reserved_pg + p->cfg.reserved_op;
  const std::size_t needed =
      plcs_.size() + loops_.size() * fds_per_loop + fd_headroom(plcs_.front()->mem);
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    if (needed > lim.rlim_cur)
      throw plant_error(fmt::format(
          "{}: {} PLCs need at least {} file descriptors (a listener each, the event loops, "
          "files), "
          "but the limit (ulimit -n, RLIMIT_NOFILE) is {}: raise it (e.g. LimitNOFILE= in the "
          "systemd unit, ulimit -n as root) or split the plant",
          source_, plcs_.size(), needed, lim.rlim_cur));
    if (needed + connections > lim.rlim_cur)
      log(log_level::warn,
          "{}: the PLCs allow {} connections in all, the file descriptor limit {} about {}: beyond "
          "it clients are refused",
          source_, connections, lim.rlim_cur, lim.rlim_cur - needed);
  }
  for (auto& p : plcs_) {
    const log_scope scope{&p->log};
    const int err = p->srv.listen();
    if (err == 0) continue;
    listen_errno_ = err;
    throw plant_error(fmt::format("{}: {}.listen (PLC \"{}\"): {}", source_, p->json_path, p->name,
                                  listen_failure(err, p->cfg)));
  }
}

// One PLC's storage (on a storage thread).
void plant::prepare_one(plc& p) {
  const log_scope scope{&p.log};
  // The plant's data folder (the PLC's folder is made by prepare_plc_storage, as for serve).
  if (p.opt.sqlite_path.empty() || p.opt.db_bin_path.empty())
    std::filesystem::create_directories(std::filesystem::path(p.opt.data_dir).parent_path());
  prepare_plc_storage(p.opt, p.mem, &p.srv.plc().profile());
}

// The PLCs' storage is prepared on several threads: creating it is bound by fdatasync (the sample
// PLC's SQLite file and BIN files, written atomically), reading it by SQLite's CPU time; the
// threads overlap both. After an error no further PLC is started; the error of the first PLC (in
// file order) that failed is reported.
void plant::prepare_storage(log_level sqlite_level) {
  set_sqlite_log_level(sqlite_level);  // process-wide: before the threads use SQLite
  // Three info lines per PLC would bury the log of a large plant: warnings and errors only (with
  // the PLC's name), unless debug or trace was asked for.
  const log_level saved = log_detail::current.load();
  if (plcs_.size() > 1 && saved == log_level::info) set_log_level(log_level::warn);
  std::vector<std::string> errors(plcs_.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  const auto work = [&] {
    for (std::size_t i = next++; i < plcs_.size() && !failed.load(); i = next++) {
      try {
        prepare_one(*plcs_[i]);
      } catch (const std::exception& e) {
        errors[i] = e.what();
        failed.store(true);
      }
    }
  };
  const std::size_t n =
      std::min(plcs_.size(), std::max<std::size_t>(loops_.size(), storage_threads));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  set_log_level(saved);
  for (std::size_t i = 0; i < plcs_.size(); ++i)
    if (!errors[i].empty())
      throw plant_error(fmt::format("{}: {} (PLC \"{}\"): {}", source_, plcs_[i]->json_path,
                                    plcs_[i]->name, errors[i]));
}

void plant::run() {
  for (std::size_t k = 1; k < loops_.size(); ++k)
    threads_.emplace_back([this, k] { loops_[k]->run(); });
  loops_.front()->run();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void plant::stop() noexcept {
  for (auto& l : loops_) l->stop();
}

bool plant::commit_all() noexcept {
  bool ok = true;
  for (auto& p : plcs_) {
    const log_scope scope{&p->log};
    ok = p->mem.commit() && ok;
  }
  return ok;
}

// On loop `shard`'s thread: the request rate of each of its PLCs since the last sample.
void plant::sample_rates(unsigned shard) {
  const auto now = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(now - sampled_at_[shard]).count();
  sampled_at_[shard] = now;
  if (secs <= 0) return;
  for (std::size_t i = shard; i < plcs_.size(); i += loops_.size()) {
    plc& p = *plcs_[i];
    const std::uint64_t total = p.srv.stats().requests;
    p.requests_per_s.store(static_cast<double>(total - p.requests_seen) / secs);
    p.requests_seen = total;
  }
}

}  // namespace protos7::server
