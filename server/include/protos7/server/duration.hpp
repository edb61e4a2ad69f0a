// Durations as users write them in flags and files: "60s", "500ms", "2m", "1h", "0" or a plain
// number of seconds. Shared by `serve`'s flags, fault rules and scenarios.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace protos7::server {

// The duration, or nullopt when `s` is not one (empty, no digits, an unknown unit, too large).
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(const std::string& s);

}  // namespace protos7::server
