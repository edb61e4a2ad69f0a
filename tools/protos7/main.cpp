// protos7: the command line front end. Each command lives in its own file pair (serve_command,
// plant_command, capture_commands: dump, replay, learn, report merge; client_command: client,
// health); this file wires them and turns parse errors into exit status 64 (exit_codes.hpp)
// instead of CLI11's own numbers.
#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <string>
#include <system_error>

#include "capture_commands.hpp"
#include "client_command.hpp"
#include "man_page.hpp"
#include "plant_command.hpp"
#include "protos7/server/exit_codes.hpp"
#include "protos7/version.hpp"
#include "serve_command.hpp"

namespace {

// The soft RLIMIT_NOFILE (often 1024) raised to the hard limit: --max-connections up to 4096 then
// fits (server::listen() refuses a configuration that still does not).
void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &lim);
}

// Parses; returns -1 to go on, or the exit status (help and --version: 0, mistakes: 64).
int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);  // prints the error and the hint to --help
    return protos7::exit_code::usage;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // First thing: a peer that closes while an answer is written must not kill the process (the S7
  // side sends with MSG_NOSIGNAL, but SQLite, cpp-httplib and stdio do not).
  ::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  namespace cli = protos7::cli;
  CLI::App app{"protos7: an S7comm-compatible PLC server and conformance test kit"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version",
                       fmt::format("protos7 {} (git {})", protos7::version(), protos7::revision()));
  std::string man_dir;
  app.add_option("--write-man-pages", man_dir, "Write the man pages into DIR")->group("");
  app.footer(
      "Exit statuses: protos7(1) or README.md. Stop a running server with Ctrl+C or "
      "SIGTERM.");

  cli::serve_command serve;
  cli::dump_command dump;
  cli::replay_command replay;
  cli::learn_command learn;
  cli::client_command client;
  cli::health_command health;
  cli::plant_command plant;
  cli::report_command report;
  cli::add_serve(app, serve);
  cli::add_plant(app, plant);
  cli::add_dump(app, dump);
  cli::add_replay(app, replay);
  cli::add_learn(app, learn);
  cli::add_report(app, report);
  cli::add_client(app, client);
  cli::add_health(app, health);

  if (const int rc = parse(app, argc, argv); rc >= 0) return rc;
  if (*serve.app && !serve.config_file.empty())
    if (const int rc = cli::apply_config(app, argc, argv, serve); rc >= 0) return rc;
  if (!man_dir.empty()) {
    const protos7::server::status s = cli::write_man_pages(app, man_dir);
    if (!s) fmt::print(stderr, "protos7: {}\n", s.why());
    return s ? protos7::exit_code::ok : protos7::exit_code::cant_create;
  }
  try {
    if (*serve.app) return cli::run_serve(serve);
    if (*plant.app) return cli::run_plant(plant);
    if (*dump.app) return cli::run_dump(dump);
    if (*replay.app) return cli::run_replay(replay);
    if (*learn.app) return cli::run_learn(learn);
    if (*report.merge) return cli::run_report(report);
    if (*client.app) return cli::run_client(client);
    if (*health.app) return cli::run_health(health);
  } catch (const std::system_error& e) {
    // Output that cannot be written (`protos7 dump ... | head` closed the pipe): stop quietly.
    return protos7::exit_code::io_error;
  }
  fmt::print(
      stderr,
      "{}\nprotos7: give a command (serve, plant, dump, replay, learn, report, client, health)\n",
      app.help());
  return protos7::exit_code::usage;
}
