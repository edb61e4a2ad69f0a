#include "protos7/server/app.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "protos7/codec/szl.hpp"
#include "protos7/server/exit_codes.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/operations.hpp"
#include "protos7/server/pcap_writer.hpp"
#include "protos7/server/server.hpp"
#include "protos7/server/storage.hpp"
#include "protos7/server/validate.hpp"
#include "protos7/webadmin/webadmin.hpp"

namespace protos7::server {

namespace {

server* g_server = nullptr;

extern "C" void on_signal(int /*sig*/) {
  if (g_server != nullptr) g_server->stop();
}

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

std::optional<std::chrono::milliseconds> parse_duration(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    n = n * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (n > 100'000'000) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  const std::string unit = s.substr(i);
  std::uint64_t ms = 0;
  if (unit.empty() || unit == "s")
    ms = n * 1000;
  else if (unit == "ms")
    ms = n;
  else if (unit == "m" || unit == "min")
    ms = n * 60'000;
  else if (unit == "h")
    ms = n * 3'600'000;
  else
    return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms));
}

void prepare_storage(const serve_options& opt, plc_memory& mem, const plc_profile* profile) {
  set_sqlite_log_level(opt.sqlite_level);
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
  config cfg = opt.cfg;
  auto prof = std::make_shared<plc_profile>(
      opt.profile_path.empty() ? bundled_profile() : load_profile(opt.profile_path));
  apply_overrides(*prof, opt.identity);
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

int serve(const serve_options& opt) {
  set_log_level(opt.level);
  if (opt.disable_webadmin) log(log_level::info, "web admin disabled (--flags.disable-webadmin)");
  plc_memory mem(opt.cfg.areas);
  config cfg;
  try {
    cfg = resolve_config(opt);
  } catch (const std::exception& e) {
    log(log_level::error, "{}", e.what());
    return exit_code::data_error;
  }
  data_lock lock;  // one server per data directory, from before the first write to the end
  if (const int rc = lock_storage(opt, lock); rc != 0) return rc;
  try {
    prepare_storage(opt, mem, cfg.profile.get());
  } catch (const startup_error& e) {
    log(log_level::error, "{}", e.what());
    return e.code;
  } catch (const std::exception& e) {
    log(log_level::error, "{}", e.what());
    return exit_code::data_error;
  }
  log(log_level::info, "PLC profile: {} ({}), module \"{}\", order number {}, serial {}",
      cfg.profile->source, cfg.profile->name, cfg.profile->id.module_name,
      cfg.profile->id.order_number, cfg.profile->id.serial_number);
  server srv(cfg, mem);
  if (const int err = srv.listen(); err != 0) {
    log(log_level::error, "{}", listen_error_text(err, opt.cfg));
    return listen_exit_code(err);
  }
  // The web admin: HTTP on its own threads, every PLC operation posted to srv's loop.
  std::unique_ptr<webadmin::webadmin> web;
  if (!opt.disable_webadmin) {
    try {
      webadmin::options wo;
      wo.listen = cfg.webadmin_listen;
      wo.token = cfg.webadmin_token;
      wo.no_auth = cfg.webadmin_no_auth;
      wo.sqlite_path = opt.sqlite_path.empty() ? opt.data_dir + "/protos7.db" : opt.sqlite_path;
      wo.bin_dir = opt.db_bin_path.empty() ? opt.data_dir : opt.db_bin_path;
      web = std::make_unique<webadmin::webadmin>(std::move(wo), srv, mem, cfg);
      // An address that cannot be bound (the default one too) is an error: a PLC that came up
      // without the web admin asked for would be found out only later (issue #17).
      if (const std::string e = web->start(); !e.empty()) {
        log(log_level::error, "{}", e);
        return exit_code::unavailable;
      }
    } catch (const std::exception& e) {
      log(log_level::error, "web admin: {}", e.what());
      return exit_code::config;
    }
  }
  // --validate / --capture: observers next to the web admin's (validate.hpp, pcap_writer.hpp).
  std::unique_ptr<validator> val;
  std::unique_ptr<capture_recorder> rec;
  std::unique_ptr<observer_fanout> fan;
  serve_metrics metrics(opt, srv, mem);  // --metrics-listen
  if (const int rc = metrics.start(); rc != 0) return rc;
  if (opt.validate || !opt.capture_path.empty() || metrics.observer() != nullptr) {
    try {
      if (opt.validate) {
        validate_options vo;
        vo.report_dir = opt.validate_dir.empty() ? opt.data_dir + "/validate" : opt.validate_dir;
        vo.rack = cfg.rack;
        vo.slot = cfg.slot;
        vo.pdu_size = cfg.pdu_size;
        log(log_level::info, "validating clients: a report per connection in {}", vo.report_dir);
        val = std::make_unique<validator>(std::move(vo));
      }
      if (!opt.capture_path.empty()) {
        rec = std::make_unique<capture_recorder>(opt.capture_path, opt.capture_port);
        log(log_level::info, "recording every connection to {}", opt.capture_path);
      }
    } catch (const std::exception& e) {
      log(log_level::error, "{}", e.what());
      return exit_code::cant_create;
    }
    fan = std::make_unique<observer_fanout>(std::vector<connection_observer*>{
        srv.observer(), val.get(), rec.get(), metrics.observer()});
    srv.set_observer(fan.get());
  }
  g_server = &srv;
  struct sigaction sa {};
  sa.sa_handler = &on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  log_stop_hint();
  srv.run();
  g_server = nullptr;
  web.reset();  // after run(): posted work is refused from now on, waiting requests get 503
  if (!mem.commit()) return exit_code::io_error;
  return exit_code::ok;
}

}  // namespace protos7::server
