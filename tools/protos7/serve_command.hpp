// `protos7 serve`: its options (CLI11) and the start of the server (protos7::server::serve).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "protos7/server/app.hpp"
#include "protos7/server/status.hpp"

namespace protos7::cli {

struct serve_command {
  server::serve_options so;
  std::string token_file;      // --webadmin-token-file
  std::string token_argument;  // --webadmin-token (refused)
  std::string idle = "60s";
  std::string setup = "10s";
  std::string frame = "10s";
  std::string level = "info";
  std::string sqlite_level = "SILENCE";
  std::string log_format = "text";
  std::string config_file;  // --config FILE
  unsigned rack = 0;
  unsigned slot = 2;
  std::string plant_path;  // --plant FILE (plant_command.hpp)
  unsigned threads = 0;    // --threads N of a plant
  CLI::App* app = nullptr;
};

// Adds the `serve` subcommand to `app`; its values land in `c` (which must outlive parsing).
void add_serve(CLI::App& app, serve_command& c);
// --config FILE: parses the command line again with FILE's settings in front of the serve
// options given on it (so those win). Returns -1 to go on, or the exit status (64 a malformed
// file or a setting that is not an option of serve, 66 a file that cannot be read).
int apply_config(CLI::App& app, int argc, char** argv, serve_command& c);
// Runs the server with the parsed options. Returns the exit status (exit_codes.hpp).
int run_serve(serve_command& c);

// The web admin token from --webadmin-token-file (its first line) or PROTOS7_WEBADMIN_TOKEN;
// left empty when neither is given (the web admin generates one). Fails, saying why, on a token
// that cannot be read or is too weak.
server::status webadmin_token(const std::string& file, std::string& token);

}  // namespace protos7::cli
