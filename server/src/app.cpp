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
#include "protos7/server/simulation.hpp"
#include "protos7/server/storage.hpp"
#include "protos7/server/validate.hpp"
#include "protos7/webadmin/webadmin.hpp"

namespace protos7::server {

namespace {

server* g_server = nullptr;

extern "C" void on_signal(int /*sig*/) {
  if (g_server != nullptr) g_server->stop();
}

// The web admin: HTTP on its own threads, every PLC operation posted to srv's loop. Returns 0
// or the exit status.
int start_webadmin(const serve_options& opt, const config& cfg, server& srv, plc_memory& mem,
                   simulation& sim, std::unique_ptr<webadmin::webadmin>& web) {
  try {
    webadmin::options wo;
    wo.listen = cfg.webadmin_listen;
    wo.token = cfg.webadmin_token;
    wo.no_auth = cfg.webadmin_no_auth;
    wo.sqlite_path = opt.sqlite_path.empty() ? opt.data_dir + "/protos7.db" : opt.sqlite_path;
    wo.bin_dir = opt.db_bin_path.empty() ? opt.data_dir : opt.db_bin_path;
    wo.process = &sim.process();
    web = std::make_unique<webadmin::webadmin>(std::move(wo), srv, mem, cfg);
    // An address that cannot be bound (the default one too) is an error: a PLC that came up
    // without the web admin asked for would be found out only later (issue #17).
    if (const status s = web->start(); !s) {
      log(log_level::error, "{}", s.why());
      return exit_code::unavailable;
    }
  } catch (const std::exception& e) {
    log(log_level::error, "web admin: {}", e.what());
    return exit_code::config;
  }
  return exit_code::ok;
}

// --validate / --capture / --metrics-listen: observers next to the web admin's (validate.hpp,
// pcap_writer.hpp, metrics.hpp).
struct observers {
  std::unique_ptr<validator> val;
  std::unique_ptr<capture_recorder> rec;
  std::unique_ptr<observer_fanout> fan;
};

int attach_observers(const serve_options& opt, const config& cfg, server& srv,
                     serve_metrics& metrics, observers& o) {
  if (!opt.validate && opt.capture_path.empty() && metrics.observer() == nullptr)
    return exit_code::ok;
  try {
    if (opt.validate) {
      validate_options vo;
      vo.report_dir = opt.validate_dir.empty() ? opt.data_dir + "/validate" : opt.validate_dir;
      vo.rack = cfg.rack;
      vo.slot = cfg.slot;
      vo.pdu_size = cfg.pdu_size;
      log(log_level::info, "validating clients: a report per connection in {}", vo.report_dir);
      o.val = std::make_unique<validator>(std::move(vo));
    }
    if (!opt.capture_path.empty()) {
      o.rec = std::make_unique<capture_recorder>(opt.capture_path, opt.capture_port);
      log(log_level::info, "recording every connection to {}", opt.capture_path);
    }
  } catch (const std::exception& e) {
    log(log_level::error, "{}", e.what());
    return exit_code::cant_create;
  }
  o.fan = std::make_unique<observer_fanout>(std::vector<connection_observer*>{
      srv.observer(), o.val.get(), o.rec.get(), metrics.observer()});
  srv.set_observer(o.fan.get());
  if (o.val) srv.faults().add_listener(o.val.get());  // each fault and the client's reaction
  return exit_code::ok;
}

void install_signal_handlers(server& srv) {
  g_server = &srv;
  struct sigaction sa {};
  sa.sa_handler = &on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  (void)::signal(SIGPIPE, SIG_IGN);  // cannot fail for a valid signal number
}

// The configuration and the storage (goprotos7's file, DB<n>.bin), under the data directory's
// lock. Returns 0 or the exit status.
int prepare(const serve_options& opt, config& cfg, plc_memory& mem, data_lock& lock) {
  try {
    cfg = resolve_config(opt);
  } catch (const std::exception& e) {
    log(log_level::error, "{}", e.what());
    return exit_code::data_error;
  }
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
  return exit_code::ok;
}

}  // namespace

int serve(const serve_options& opt) {
  set_log_level(opt.level);
  if (opt.disable_webadmin) log(log_level::info, "web admin disabled (--flags.disable-webadmin)");
  plc_memory mem(opt.cfg.areas);
  config cfg;
  data_lock lock;  // one server per data directory, from before the first write to the end
  if (const int rc = prepare(opt, cfg, mem, lock); rc != 0) return rc;
  server srv(cfg, mem);
  // Fault rules, scenario and living process (docs/FAULTS.md).
  simulation sim;
  if (const status s = sim.prepare(opt, cfg, srv, mem); !s) {
    log(log_level::error, "{}", s.why());
    return exit_code::data_error;
  }
  if (const int err = srv.listen(); err != 0) {
    log(log_level::error, "{}", listen_error_text(err, opt.cfg));
    return listen_exit_code(err);
  }
  std::unique_ptr<webadmin::webadmin> web;
  if (!opt.disable_webadmin)
    if (const int rc = start_webadmin(opt, cfg, srv, mem, sim, web); rc != 0) return rc;
  observers obs;
  serve_metrics metrics(opt, srv, mem);  // --metrics-listen
  if (const int rc = metrics.start(); rc != 0) return rc;
  if (const int rc = attach_observers(opt, cfg, srv, metrics, obs); rc != 0) return rc;
  install_signal_handlers(srv);
  sim.start();
  log_stop_hint();
  srv.run();
  sim.stop();
  if (obs.val) srv.faults().remove_listener(obs.val.get());
  g_server = nullptr;
  web.reset();  // after run(): posted work is refused from now on, waiting requests get 503
  if (!mem.commit()) return exit_code::io_error;
  return exit_code::ok;
}

}  // namespace protos7::server
