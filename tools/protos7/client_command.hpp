// `protos7 client HOST[:PORT] read|write|szl|blocks|upload ...` and `protos7 health`: a PLC (or
// any S7 server) poked from a terminal in STEP 7 notation, without writing code.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "protos7/client/connection.hpp"

namespace protos7::cli {

// Options every command that connects takes (--rack, --slot, --timeout, --pdu-size).
struct connect_options {
  std::string target;
  unsigned rack = 0;
  unsigned slot = 2;
  std::string timeout = "5s";
  std::uint16_t pdu_size = 480;
};
void add_connect_options(CLI::App& app, connect_options& o);
// The endpoint and client options, or an error sentence in `why`.
bool resolve_connect(const connect_options& o, std::uint16_t default_port, client::endpoint& ep,
                     client::options& opt, std::string& why);
// The exit status for a client_error (exit_codes.hpp): 69 unreachable or no answer in time,
// 1 the PLC refused, 76 a broken answer.
[[nodiscard]] int exit_status(const client::client_error& e) noexcept;

struct client_command {
  connect_options conn;
  std::vector<std::string> operands;  // read: OPERAND..., write: OPERAND=VALUE...
  std::string szl_id;
  std::string szl_index = "0";
  std::string block;   // blocks [TYPE], upload BLOCK
  std::string output;  // upload -o FILE
  CLI::App* app = nullptr;
  CLI::App* read = nullptr;
  CLI::App* write = nullptr;
  CLI::App* szl = nullptr;
  CLI::App* blocks = nullptr;
  CLI::App* upload = nullptr;
};

void add_client(CLI::App& app, client_command& c);
int run_client(const client_command& c);

struct health_command {
  connect_options conn;
  bool require_run = false;
  CLI::App* app = nullptr;
};

void add_health(CLI::App& app, health_command& c);
int run_health(const health_command& c);

}  // namespace protos7::cli
