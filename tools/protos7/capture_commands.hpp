// `protos7 dump`, `protos7 replay`, `protos7 learn` and `protos7 report merge`: the commands over
// capture files and replay reports.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "protos7/dump/dump.hpp"
#include "protos7/learn/inproc.hpp"
#include "protos7/learn/learn.hpp"

namespace protos7::cli {

struct dump_command {
  std::vector<std::string> files;
  dump::dump_options opt;
  std::string shard;              // --shard I/N
  std::string progress = "auto";  // --progress
  CLI::App* app = nullptr;
};

struct replay_command {
  std::vector<std::string> files;
  learn::replay_cli_options opt;
  std::string shard;
  std::string pace = "fastest";
  std::string progress = "auto";
  CLI::App* app = nullptr;
};

struct learn_command {
  std::vector<std::string> files;
  std::string output;
  learn::options opt;
  std::string progress = "auto";
  CLI::App* app = nullptr;
};

// `protos7 report merge`: the JSON reports of the shards of a replay as one report.
struct report_command {
  std::vector<std::string> inputs;
  std::string output = "-";
  std::string junit;
  CLI::App* app = nullptr;    // report
  CLI::App* merge = nullptr;  // report merge
};

void add_dump(CLI::App& app, dump_command& c);
void add_replay(CLI::App& app, replay_command& c);
void add_learn(CLI::App& app, learn_command& c);
void add_report(CLI::App& app, report_command& c);

// Each returns the exit status (exit_codes.hpp).
int run_dump(const dump_command& c);
int run_replay(const replay_command& c);
int run_learn(const learn_command& c);
int run_report(const report_command& c);

}  // namespace protos7::cli
