// `protos7 dump`, `protos7 replay` and `protos7 learn`: the commands over capture files.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "../dump/dump.hpp"
#include "protos7/learn/inproc.hpp"
#include "protos7/learn/learn.hpp"

namespace protos7::cli {

struct dump_command {
  std::vector<std::string> files;
  dump::dump_options opt;
  CLI::App* app = nullptr;
};

struct replay_command {
  std::vector<std::string> files;
  learn::replay_cli_options opt;
  CLI::App* app = nullptr;
};

struct learn_command {
  std::vector<std::string> files;
  std::string output;
  learn::options opt;
  CLI::App* app = nullptr;
};

void add_dump(CLI::App& app, dump_command& c);
void add_replay(CLI::App& app, replay_command& c);
void add_learn(CLI::App& app, learn_command& c);

// Each returns the exit status (exit_codes.hpp).
int run_dump(const dump_command& c);
int run_replay(const replay_command& c);
int run_learn(const learn_command& c);

}  // namespace protos7::cli
