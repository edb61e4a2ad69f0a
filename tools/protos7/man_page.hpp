// Man pages generated from the command line definition itself (CLI11's options, descriptions
// and defaults), so they never drift from `protos7 --help`: protos7(1) and one page per command,
// protos7-serve(1) and so on. The build writes them (`protos7 --write-man-pages DIR`) and
// `cmake --install` installs them.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "protos7/server/status.hpp"

namespace protos7::cli {

// Writes protos7.1 and protos7-<command>.1 for each command of `app` into `dir` (which must
// exist). Fails, saying which file could not be written.
server::status write_man_pages(const CLI::App& app, const std::string& dir);

// The roff source of one page (tests).
[[nodiscard]] std::string man_page(const CLI::App& app, const CLI::App* command);

}  // namespace protos7::cli
