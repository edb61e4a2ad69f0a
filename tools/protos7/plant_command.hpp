// `protos7 plant` (a plant file of N PLCs at consecutive addresses) and the plant options of
// `protos7 serve` (--plant FILE, --threads N; docs/PLANT.md).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "protos7/server/plant_config.hpp"
#include "protos7/server/status.hpp"

namespace protos7::cli {

struct plant_command {
  server::plant_generate_options opt;
  CLI::App* app = nullptr;
};

void add_plant(CLI::App& app, plant_command& c);
// Writes the plant file (or prints it with -o -). Returns the exit status (exit_codes.hpp).
int run_plant(const plant_command& c);

// serve --plant FILE [--threads N].
void add_plant_serve_options(CLI::App& serve, std::string& plant_path, unsigned& threads);
// `serve --plant` with a per-PLC flag: fails with the message naming it.
server::status plant_flag_conflict(const CLI::App& serve);

}  // namespace protos7::cli
