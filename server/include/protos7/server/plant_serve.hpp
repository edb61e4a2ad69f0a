// `protos7 serve --plant plant.json`: a plant (plant.hpp) with its web admin, until SIGINT/SIGTERM.
#pragma once

#include <string>

#include "protos7/server/app.hpp"

namespace protos7::server {

// `opt` holds what is process-wide (log levels, the web admin's flags, --no-reply-check in
// opt.cfg); everything per PLC comes from the plant file. `threads` 0: one loop per core.
// Returns the process exit code: 0, 1 (an error, logged with the PLC and the JSON path) or 77
// (a PLC's port needs privileges, as for `serve`).
int serve_plant(const serve_options& opt, const std::string& plant_path, unsigned threads);

}  // namespace protos7::server
