#include "protos7/server/duration.hpp"

#include <cstdint>

namespace protos7::server {

std::optional<std::chrono::milliseconds> parse_duration(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    n = n * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (n > 100'000'000) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  const std::string unit = s.substr(i);
  std::uint64_t ms = 0;
  if (unit.empty() || unit == "s")
    ms = n * 1000;
  else if (unit == "ms")
    ms = n;
  else if (unit == "m" || unit == "min")
    ms = n * 60'000;
  else if (unit == "h")
    ms = n * 3'600'000;
  else
    return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms));
}

}  // namespace protos7::server
