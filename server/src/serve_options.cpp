// What `protos7 serve` and a plant's PLC share before they serve: the configuration resolved from
// the options and the profile, and the PLC's storage (goprotos7's file and the DB<n>.bin
// directory) prepared. Declared in app.hpp; here so that the plant (plant.cpp) and the web admin
// below `protos7 serve` can use them without the composition of app.cpp.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "protos7/codec/szl.hpp"
#include "protos7/server/app.hpp"
#include "protos7/server/exit_codes.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/storage.hpp"

namespace protos7::server {

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

void make_dir(const std::string& p) {
  if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST)
    throw startup_error(exit_code::cant_create,
                        fmt::format("cannot create directory {}: {}", p, std::strerror(errno)));
}

}  // namespace

void prepare_storage(const serve_options& opt, plc_memory& mem, const plc_profile* profile) {
  set_sqlite_log_level(opt.sqlite_level);
  prepare_plc_storage(opt, mem, profile);
}

void prepare_plc_storage(const serve_options& opt, plc_memory& mem, const plc_profile* profile) {
  const bool default_sqlite = opt.sqlite_path.empty();
  const bool default_bins = opt.db_bin_path.empty();
  if (default_sqlite || default_bins) make_dir(opt.data_dir);
  const std::string sqlite_path = default_sqlite ? opt.data_dir + "/protos7.db" : opt.sqlite_path;
  const std::string bin_dir = default_bins ? opt.data_dir : opt.db_bin_path;
  make_dir(bin_dir);
  if (!exists(sqlite_path)) {
    if (!default_sqlite)
      throw startup_error(exit_code::no_input,
                          fmt::format("SQLite database {} does not exist", sqlite_path));
    log(log_level::info, "creating the sample PLC in {} (goprotos7 schema)", sqlite_path);
    create_sample_database(sqlite_path);
  }
  const catalog c = load_catalog(sqlite_path);
  log(log_level::info, "{}: {} variables, {} named values", sqlite_path, c.variables.size(),
      c.state_count());
  // A profile that declares the PLC's DBs replaces the sample's (docs/PROFILE.md "dbs").
  const bool profile_dbs = profile != nullptr && (profile->declares_dbs || !profile->dbs.empty());
  if (!profile_dbs) generate_missing_bins(c, bin_dir);
  const std::size_t n = load_bins(bin_dir, mem);
  log(log_level::info, "{}: {} data blocks", bin_dir, n);
  if (profile != nullptr) {
    const std::size_t created = apply_profile_memory(*profile, mem, bin_dir);
    if (profile_dbs || !profile->memory.empty())
      log(log_level::info, "{}: {} DB(s) created from the profile, {} memory range(s)",
          profile->source, created, profile->memory.size());
  }
}

namespace {

// The connection resources the CPU reserves for a PG and an OP: res_pg and res_os of the
// profile's SZL 0x0132 index 1 (communication status), when it carries that record.
void reserve_from_profile(const plc_profile& p, config& cfg) {
  for (const szl_entry& e : p.szl) {
    if (e.id != 0x0132 || !e.index || *e.index != 1 || e.count < 1) continue;
    const auto r = codec::szl::parse_communication_status(
        std::span<const std::byte>(e.records).first(
            std::min<std::size_t>(e.record_length, e.records.size())),
        nullptr);
    if (!r) return;
    cfg.reserved_pg = r->res_pg;
    cfg.reserved_op = r->res_os;
    return;
  }
}

}  // namespace

config resolve_config(const serve_options& opt) {
  auto prof = std::make_shared<plc_profile>(
      opt.profile_path.empty() ? bundled_profile() : load_profile(opt.profile_path));
  apply_overrides(*prof, opt.identity);
  return resolve_config(opt, std::move(prof));
}

config resolve_config(const serve_options& opt, std::shared_ptr<const plc_profile> prof) {
  config cfg = opt.cfg;
  if (!opt.profile_path.empty()) {
    if (!opt.pdu_size_given) cfg.pdu_size = prof->pdu_size;
    if (!opt.max_amq_given) cfg.max_amq = prof->max_amq;
    if (!opt.max_connections_given) cfg.max_connections = prof->max_connections;
  }
  reserve_from_profile(*prof, cfg);
  cfg.profile = std::move(prof);
  cfg.db_bin_dir = opt.db_bin_path.empty() ? opt.data_dir : opt.db_bin_path;
  return cfg;
}

}  // namespace protos7::server
