// Minimal leveled logging to stderr (fmt). One line per call; safe from any thread.
//
// Log lines carry client data (peer names, PI service names, HTTP paths, identity strings), so
// every line is escaped where it is formatted (escape_log_text()): a client cannot forge a line,
// colour a terminal or hide text. Lines from one call site (one format string) beyond
// log_burst per log_window are suppressed and counted; the count is logged as "N more lines like
// ... suppressed" when the window has passed (flush_suppressed_logs(), also called by the server's
// loop, so the summary comes even when the flood stops).
#pragma once

#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include "protos7/codec/error.hpp"

namespace protos7::server {

enum class log_level : std::uint8_t {
  trace = 0,
  debug = 1,
  info = 2,
  warn = 3,
  error = 4,
  off = 5
};

// Parses "trace", "debug", "info", "warn", "error", "off" (also SILENCE = off, as goprotos7
// spells it). Returns false for anything else.
[[nodiscard]] bool parse_log_level(std::string_view s, log_level& out) noexcept;

// Lines one call site may log per window before the rest are counted instead.
inline constexpr std::size_t log_burst = 20;
inline constexpr std::chrono::seconds log_window{1};

// `text` with every byte that could act on a terminal or a log reader escaped: C0 controls (incl.
// CR, LF, ESC), DEL, bytes that are not valid UTF-8 and the C1 controls U+0080..U+009F become
// \xNN; a backslash becomes \\ so escaped text cannot be mistaken for an escape. Valid printable
// UTF-8 is kept (file paths, profile names).
[[nodiscard]] std::string escape_log_text(std::string_view text);

// Logs the "N more lines like ... suppressed" summaries whose window has passed.
void flush_suppressed_logs() noexcept;

// Where lines go; nullptr = stderr (tests capture the log with open_memstream).
void set_log_file(std::FILE* f) noexcept;

// The PLC a thread works for while a log_scope is open (a plant serves many PLCs from one
// thread, plant.hpp): every line logged meanwhile starts with "<name>: ", and the last warning or
// error is kept here (the plant page's "last error" of a PLC), whatever the log level.
struct log_context {
  std::string name;
  struct problem {
    std::string text;  // the line, escaped, without the name
    std::chrono::system_clock::time_point at{};
    std::uint64_t count = 0;  // warnings and errors since start
  };
  [[nodiscard]] problem last_problem() const {
    const std::lock_guard lock{mu};
    return last;
  }

  mutable std::mutex mu;  // guards `last` (written on the loop thread, read by the web admin)
  problem last;
};

// Makes `ctx` the calling thread's log context until destroyed (then the previous one again).
// nullptr: none (lines as `protos7 serve` writes them).
class log_scope {
 public:
  explicit log_scope(log_context* ctx) noexcept;
  ~log_scope();
  log_scope(const log_scope&) = delete;
  log_scope& operator=(const log_scope&) = delete;

 private:
  log_context* previous_;
};

// text: "HH:MM:SS.mmm [level] message" (local time); json: one object a line,
// {"time":"2026-12-07T06:29:13.123Z","level":"info","msg":"..."} (RFC 3339, UTC), for log
// collectors (journald, Loki, Elasticsearch). The message is the same escaped text either way.
enum class log_format : std::uint8_t { text, json };
void set_log_format(log_format f) noexcept;

namespace log_detail {
extern std::atomic<log_level> current;
extern thread_local log_context* scope;
void write(log_level lvl, fmt::string_view fmt_str, fmt::format_args args) noexcept;
}  // namespace log_detail

inline void set_log_level(log_level l) noexcept {
  log_detail::current.store(l);
}
[[nodiscard]] inline bool log_enabled(log_level l) noexcept {
  return l >= log_detail::current.load();
}

template <class... Args>
void log(log_level lvl, fmt::format_string<Args...> f, Args&&... args) noexcept {
  // Warnings and errors of a PLC are kept in its log_context even when not logged.
  if (!log_enabled(lvl) && (lvl < log_level::warn || log_detail::scope == nullptr)) return;
  log_detail::write(lvl, f, fmt::make_format_args(args...));
}

// "tpkt_length_too_small (tpkt) at offset 2": how codec errors appear in the log. (A plain
// function rather than a fmt::formatter: fmt 9's formatter templates do not link the same way
// with gcc and clang against the shared libfmt.)
[[nodiscard]] std::string describe(const codec::error& e);

}  // namespace protos7::server
