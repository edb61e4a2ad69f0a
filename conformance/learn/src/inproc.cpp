// The in-process protos7 server of `protos7 replay` and the replay CLI modes (inproc.hpp).
#include "protos7/learn/inproc.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>

#include "protos7/learn/learn.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/server.hpp"
#include "protos7/server/storage.hpp"

namespace protos7::learn {

namespace {

// The sample PLC's DBs, as `protos7 serve` renders them from its SQLite seed, in RAM.
void add_sample_dbs(server::plc_memory& mem) {
  const store::catalog c = store::sample_catalog();
  std::set<std::uint16_t> dbs;
  for (const store::variable& v : c.variables) dbs.insert(v.db);
  for (const auto& [db, size] : c.declared_sizes) dbs.insert(db);
  for (std::uint16_t db : dbs) mem.add_db(std::make_unique<server::data_block>(db, store::render_db(c, db), -1, ""));
}

}  // namespace

inproc_server::inproc_server(std::shared_ptr<const server::plc_profile> profile,
                             const inproc_options& opt) {
  cfg_.listen_address = "127.0.0.1";
  cfg_.port = 0;
  cfg_.pdu_size = profile->pdu_size;
  cfg_.max_amq = profile->max_amq;
  cfg_.max_connections = profile->max_connections;
  cfg_.idle_timeout = std::chrono::milliseconds{0};
  cfg_.setup_timeout = std::chrono::milliseconds{0};
  cfg_.areas = opt.areas;
  cfg_.abort_on_bad_reply = false;
  cfg_.profile = std::move(profile);
  // db_bin_dir empty: DBs (the profile's and downloaded ones) live in RAM only.
  mem_ = std::make_unique<server::plc_memory>(cfg_.areas);
  if (opt.sample_dbs && !cfg_.profile->declares_dbs && cfg_.profile->dbs.empty())
    add_sample_dbs(*mem_);
  (void)server::apply_profile_memory(*cfg_.profile, *mem_, "");
  server::set_log_level(opt.level);
  srv_ = std::make_unique<server::server>(cfg_, *mem_);
  if (const int e = srv_->listen(); e != 0)
    throw std::runtime_error(server::listen_error_text(e, cfg_));
  port_ = srv_->port();
  thread_ = std::thread([this] { srv_->run(); });
}

inproc_server::~inproc_server() {
  srv_->stop();
  if (thread_.joinable()) thread_.join();
}

int run_replay_cli(const std::vector<std::string>& captures, const replay_cli_options& o,
                   std::FILE* out, std::FILE* err) {
  if (!o.replay.target.empty()) {
    if (!o.profile.empty() || o.learn) {
      fmt::print(err,
                 "protos7 replay: --target replays against a running server; --profile and --learn "
                 "serve a "
                 "profile in-process: give one of them\n");
      return 2;
    }
    return replay::run_cli(captures, o.replay, out, err);
  }
  if (!o.profile.empty() && o.learn) {
    fmt::print(err, "protos7 replay: give --profile or --learn, not both\n");
    return 2;
  }
  server::log_level level{};
  if (!server::parse_log_level(o.server_log, level)) {
    fmt::print(err,
               "protos7 replay: --server-log {}: expected trace, debug, info, warn, error or off\n",
               o.server_log);
    return 2;
  }
  std::shared_ptr<const server::plc_profile> profile;
  std::string label;
  try {
    if (o.learn) {
      const learned l = learn_files(captures, options{o.replay.port, {}});
      for (const std::string& e : l.errors) fmt::print(err, "protos7 replay: learn: {}\n", e);
      if (l.answers == 0) {
        fmt::print(
            err,
            "protos7 replay: --learn: no answer of an S7 CPU in the captures: nothing to learn\n");
        return 2;
      }
      const std::string text = to_json(l);
      if (!o.save_profile.empty()) {
        if (std::FILE* f = std::fopen(o.save_profile.c_str(), "wb")) {
          std::fputs(text.c_str(), f);
          std::fclose(f);
        } else {
          fmt::print(err, "protos7 replay: cannot write {}\n", o.save_profile);
          return 2;
        }
      }
      // What the server serves is what `protos7 serve --profile` would read from the file.
      profile = std::make_shared<server::plc_profile>(server::parse_profile(text, "learned"));
      label = fmt::format(
          "in-process protos7, profile learned from {} capture(s) ({} answers, {} notes)",
          l.captures, l.answers, l.notes.size());
    } else if (!o.profile.empty()) {
      profile = std::make_shared<server::plc_profile>(server::load_profile(o.profile));
      label = fmt::format("in-process protos7, profile {}", o.profile);
    } else {
      profile = std::make_shared<server::plc_profile>(server::bundled_profile());
      label = "in-process protos7, bundled profile (server/profiles/s7-300.json)";
    }
  } catch (const std::exception& e) {
    fmt::print(err, "protos7 replay: {}\n", e.what());
    return 2;
  }
  replay::cli_options ro = o.replay;
  ro.label = label;
  // An unasked PDU of a server in the same process arrives within microseconds: 50 ms of
  // listening after each connection's last step is plenty (captures of many short connections,
  // like the interop suite's, replay 5x faster).
  ro.linger_ms = std::min<std::uint32_t>(ro.linger_ms, 50);
  std::unique_ptr<inproc_server> srv;
  inproc_options io;
  io.level = level;
  ro.before_capture = [&](const std::string&, replay::target& t) -> std::string {
    srv.reset();  // the previous capture's server
    try {
      srv = std::make_unique<inproc_server>(profile, io);
    } catch (const std::exception& e) {
      return fmt::format("in-process server: {}", e.what());
    }
    t.host = "127.0.0.1";
    t.port = srv->port();
    return {};
  };
  const int rc = replay::run_cli(captures, ro, out, err);
  srv.reset();
  return rc;
}

}  // namespace protos7::learn
