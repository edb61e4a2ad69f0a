#include "protos7/server/plant_serve.hpp"

#include <cerrno>
#include <csignal>
#include <memory>

#include "protos7/server/exit_codes.hpp"
#include "protos7/server/operations.hpp"
#include "protos7/server/plant.hpp"
#include "protos7/webadmin/webadmin.hpp"

namespace protos7::server {

namespace {

plant* g_plant = nullptr;

extern "C" void on_plant_signal(int /*sig*/) {
  if (g_plant != nullptr) g_plant->stop();
}

// The web admin of the plant, or null (disabled, or the default address taken). Throws
// std::runtime_error when an address asked for cannot be used.
std::unique_ptr<webadmin::webadmin> start_webadmin(const serve_options& opt, plant& p) {
  if (opt.disable_webadmin) {
    log(log_level::info, "web admin disabled (--flags.disable-webadmin)");
    return nullptr;
  }
  webadmin::options wo;
  wo.listen = opt.cfg.webadmin_listen;
  wo.token = opt.cfg.webadmin_token;
  wo.no_auth = opt.cfg.webadmin_no_auth;
  auto web = std::make_unique<webadmin::webadmin>(std::move(wo), p);
  // As for `serve`: an address that cannot be bound is an error (--flags.disable-webadmin runs
  // the plant without it).
  if (const status s = web->start(); !s) throw std::runtime_error(s.why());
  return web;
}

std::string address_range(const plant& p) {
  const auto text = [&](std::size_t i) {
    return fmt::format("{}:{}", p.at(i).cfg.listen_address, p.at(i).srv.port());
  };
  return p.size() == 1 ? text(0) : fmt::format("{} ... {}", text(0), text(p.size() - 1));
}

}  // namespace

int serve_plant(const serve_options& opt, const std::string& plant_path, unsigned threads) {
  set_log_level(opt.level);
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<plant> p;
  try {
    const plant_file f = load_plant(plant_path);
    p = std::make_unique<plant>(f, threads, opt.cfg);
    p->listen();
    p->prepare_storage(opt.sqlite_level);
  } catch (const std::exception& e) {
    log(log_level::error, "{}", e.what());
    // A plant file or storage that cannot be used: 65; an address that cannot be bound: as serve.
    if (p && p->listen_errno() != 0) return listen_exit_code(p->listen_errno());
    return exit_code::data_error;
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  log(log_level::info,
      "plant \"{}\": {} PLC(s) from {} listening on {}, {} event loop(s); ready in {} ms",
      p->name(), p->size(), p->source(), address_range(*p), p->threads(), ms.count());
  std::unique_ptr<webadmin::webadmin> web;
  try {
    web = start_webadmin(opt, *p);
  } catch (const std::exception& e) {
    log(log_level::error, "web admin: {}", e.what());
    return exit_code::unavailable;
  }
  g_plant = p.get();
  struct sigaction sa {};
  sa.sa_handler = &on_plant_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  (void)::signal(SIGPIPE, SIG_IGN);  // cannot fail for a valid signal number
  log_stop_hint();
  p->run();
  g_plant = nullptr;
  web.reset();  // after run(): posted work is refused from now on, waiting requests get 503
  return p->commit_all() ? exit_code::ok : exit_code::io_error;
}

}  // namespace protos7::server
