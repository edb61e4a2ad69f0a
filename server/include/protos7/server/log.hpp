// Minimal leveled logging to stderr (fmt). One line per call; safe from any thread.
#pragma once

#include <fmt/core.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "protos7/codec/error.hpp"

namespace protos7::server {

enum class log_level : std::uint8_t { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

// Parses "trace", "debug", "info", "warn", "error", "off" (also SILENCE = off, as goprotos7
// spells it). Returns false for anything else.
[[nodiscard]] bool parse_log_level(std::string_view s, log_level& out) noexcept;

namespace log_detail {
extern std::atomic<log_level> current;
void write(log_level lvl, fmt::string_view fmt_str, fmt::format_args args) noexcept;
}  // namespace log_detail

inline void set_log_level(log_level l) noexcept { log_detail::current.store(l); }
[[nodiscard]] inline bool log_enabled(log_level l) noexcept { return l >= log_detail::current.load(); }

template <class... Args>
void log(log_level lvl, fmt::format_string<Args...> f, Args&&... args) noexcept {
  if (!log_enabled(lvl)) return;
  log_detail::write(lvl, f, fmt::make_format_args(args...));
}

// "tpkt_length_too_small (tpkt) at offset 2": how codec errors appear in the log. (A plain
// function rather than a fmt::formatter: fmt 9's formatter templates do not link the same way
// with gcc and clang against the shared libfmt.)
[[nodiscard]] std::string describe(const codec::error& e);

}  // namespace protos7::server
