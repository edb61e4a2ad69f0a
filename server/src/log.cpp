#include "protos7/server/log.hpp"

#include <cstdio>
#include <ctime>
#include <string>

#include <sys/time.h>

namespace protos7::server {

namespace log_detail {
std::atomic<log_level> current{log_level::info};

void write(log_level lvl, fmt::string_view fmt_str, fmt::format_args args) noexcept {
  static constexpr std::string_view names[] = {"trace", "debug", "info", "warn", "error", "off"};
  try {
    timeval tv{};
    gettimeofday(&tv, nullptr);
    tm t{};
    localtime_r(&tv.tv_sec, &t);
    std::string line = fmt::format("{:02}:{:02}:{:02}.{:03} [{}] ", t.tm_hour, t.tm_min, t.tm_sec,
                                   tv.tv_usec / 1000, names[static_cast<std::size_t>(lvl)]);
    line += fmt::vformat(fmt_str, args);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  } catch (...) {
    // Logging never takes the server down.
  }
}
}  // namespace log_detail

std::string describe(const codec::error& e) {
  return fmt::format("{} ({}) at offset {}", codec::to_string(e.code), codec::to_string(e.where), e.offset);
}

bool parse_log_level(std::string_view s, log_level& out) noexcept {
  std::string l(s);
  for (char& c : l) c = static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  if (l == "trace") out = log_level::trace;
  else if (l == "debug") out = log_level::debug;
  else if (l == "info") out = log_level::info;
  else if (l == "warn" || l == "warning") out = log_level::warn;
  else if (l == "error") out = log_level::error;
  else if (l == "off" || l == "silence" || l == "none") out = log_level::off;
  else return false;
  return true;
}

}  // namespace protos7::server
