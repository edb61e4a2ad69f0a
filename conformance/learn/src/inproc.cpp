// The in-process protos7 server of `protos7 replay` and the replay CLI modes (inproc.hpp).
#include "protos7/learn/inproc.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <stdexcept>

#include "protos7/learn/learn.hpp"
#include "protos7/server/exit_codes.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/server.hpp"
#include "protos7/server/storage.hpp"

namespace protos7::learn {

namespace {

bool write_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  return std::fclose(f) == 0 && ok;
}

// The sample PLC's DBs, as `protos7 serve` renders them from its SQLite seed, in RAM.
void add_sample_dbs(server::plc_memory& mem) {
  const store::catalog c = store::sample_catalog();
  std::set<std::uint16_t> dbs;
  for (const store::variable& v : c.variables) dbs.insert(v.db);
  for (const auto& [db, size] : c.declared_sizes) dbs.insert(db);
  for (std::uint16_t db : dbs)
    mem.add_db(std::make_unique<server::data_block>(db, store::render_db(c, db), -1, ""));
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
  if (opt.observer != nullptr) srv_->set_observer(opt.observer);
  if (const int e = srv_->listen(); e != 0)
    throw std::runtime_error(server::listen_error_text(e, cfg_));
  port_ = srv_->port();
  thread_ = std::thread([this] { srv_->run(); });
}

inproc_server::~inproc_server() {
  srv_->stop();
  if (thread_.joinable()) thread_.join();
}

namespace {

// The profile learned from one capture, as `protos7 serve --profile` would read it from the file
// `protos7 learn` writes; `text` gets that JSON. Throws std::runtime_error when nothing can be
// learned from the capture.
std::shared_ptr<const server::plc_profile> learned_profile(const std::string& capture,
                                                           std::uint16_t port, std::string& text) {
  options opt;
  opt.port = port;
  const learned l = learn_files({capture}, opt);
  if (!l.errors.empty()) throw std::runtime_error(l.errors.front());
  if (l.answers == 0)
    throw std::runtime_error(
        fmt::format("no answer of an S7 CPU in {}: nothing to learn", capture));
  text = to_json(l);
  return std::make_shared<server::plc_profile>(server::parse_profile(text, "learned"));
}

// The usage mistakes of the in-process modes ("" when there is none).
std::string misuse(const std::vector<std::string>& captures, const replay_cli_options& o) {
  if (!o.replay.target.empty() && (!o.profile.empty() || o.learn))
    return "--target replays against a running server; --profile and --learn serve a profile "
           "in-process: give one of them";
  if (!o.profile.empty() && o.learn) return "give --profile or --learn, not both";
  if (!o.save_profile.empty() && (!o.learn || captures.size() != 1))
    return "--save-profile writes the profile --learn learned from one capture: give --learn "
           "and one capture (or use protos7 learn CAPTURE -o FILE)";
  return {};
}

}  // namespace

int run_replay_cli(const std::vector<std::string>& captures, const replay_cli_options& o,
                   std::FILE* out, std::FILE* err) {
  if (const std::string m = misuse(captures, o); !m.empty()) {
    fmt::print(err, "protos7 replay: {}\n", m);
    return exit_code::usage;
  }
  const auto status = [](int rc) { return rc == 2 ? exit_code::data_error : rc; };
  if (!o.replay.target.empty()) return status(replay::run_cli(captures, o.replay, out, err));
  server::log_level level{};
  if (!server::parse_log_level(o.server_log, level)) {
    fmt::print(err,
               "protos7 replay: --server-log {}: expected trace, debug, info, warn, error or off\n",
               o.server_log);
    return exit_code::usage;
  }
  std::shared_ptr<const server::plc_profile> profile;
  replay::cli_options ro = o.replay;
  try {
    if (o.learn) {
      ro.label = "in-process protos7, each capture against the profile learned from it";
    } else if (!o.profile.empty()) {
      profile = std::make_shared<server::plc_profile>(server::load_profile(o.profile));
      ro.label = fmt::format("in-process protos7, profile {}", o.profile);
    } else {
      profile = std::make_shared<server::plc_profile>(server::bundled_profile());
      ro.label = "in-process protos7, bundled profile (server/profiles/s7-300.json)";
    }
  } catch (const std::exception& e) {
    fmt::print(err, "protos7 replay: {}\n", e.what());
    return exit_code::data_error;
  }
  // An unasked PDU of a server in the same process arrives within microseconds: 50 ms of
  // listening after each connection's last step is plenty (captures of many short connections,
  // like the interop suite's, replay 5x faster).
  ro.linger_ms = std::min<std::uint32_t>(ro.linger_ms, 50);
  std::unique_ptr<inproc_server> srv;
  inproc_options io;
  io.level = level;
  bool save_failed = false;
  ro.before_capture = [&](const std::string& capture,
                          replay::target& t) -> std::optional<std::string> {
    srv.reset();  // the previous capture's server
    try {
      std::shared_ptr<const server::plc_profile> p = profile;
      if (o.learn) {
        std::string text;
        p = learned_profile(capture, o.replay.port, text);
        if (!o.save_profile.empty() && !write_file(o.save_profile, text)) save_failed = true;
      }
      srv = std::make_unique<inproc_server>(p, io);
    } catch (const std::exception& e) {
      return fmt::format("in-process server: {}", e.what());
    }
    t.host = "127.0.0.1";
    t.port = srv->port();
    return std::nullopt;
  };
  const int rc = replay::run_cli(captures, ro, out, err);
  srv.reset();
  if (rc == 1 && o.learn == false && o.profile.empty())
    fmt::print(err,
               "protos7 replay: the bundled profile is another CPU than the captured ones: answers "
               "that carry the CPU's PDU size, identity (SZL), block directory or memory differ by "
               "design (exit status 1); --learn replays each capture against the CPU it shows\n");
  if (save_failed) {
    fmt::print(err, "protos7 replay: cannot write {}\n", o.save_profile);
    return exit_code::cant_create;
  }
  return status(rc);
}

}  // namespace protos7::learn
