#include "protos7/server/log.hpp"

#include <sys/time.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace protos7::server {

namespace {

constexpr std::string_view level_names[] = {"trace", "debug", "info", "warn", "error", "off"};

// One call site's rate limit. A call site is its format string (a literal: its address is stable).
struct site {
  const char* key = nullptr;
  std::string_view format;
  log_level level = log_level::info;
  std::chrono::steady_clock::time_point window_start{};
  std::size_t lines = 0;       // logged in the current window
  std::size_t suppressed = 0;  // counted instead of logged in the current window
};

// A few call sites flood at once at most; a site that finds no slot is logged without a limit.
constexpr std::size_t site_slots = 64;

std::mutex g_mu;  // guards g_sites and g_file, and keeps lines whole
std::array<site, site_slots> g_sites{};
std::FILE* g_file = nullptr;

// One whole line to the log file (or stderr). A log that cannot be written has nowhere to say
// so: the results are ignored on purpose.
void write_line(const std::string& line) {
  (void)std::fwrite(line.data(), 1, line.size(), g_file != nullptr ? g_file : stderr);
  if (g_file != nullptr) (void)std::fflush(g_file);
}

log_format g_format = log_format::text;  // guarded by g_mu

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2, cp = c & 0x1FU;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3, cp = c & 0x0FU;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4, cp = c & 0x07U;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0U) != 0x80U) return 0;
    cp = (cp << 6U) | (b(i + k) & 0x3FU);
  }
  const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  const bool c1 = cp >= 0x80 && cp <= 0x9F;
  if (overlong || surrogate || c1 || cp > 0x10FFFF) return 0;
  return n;
}

// The escaped message as a JSON string body: escape_log_text() leaves only printable ASCII,
// valid UTF-8 and backslash escapes, so '"' and '\\' are all JSON needs escaped besides.
std::string json_line(const timeval& tv, log_level lvl, std::string_view message) {
  tm t{};
  gmtime_r(&tv.tv_sec, &t);
  std::string line = fmt::format(
      "{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"level\":\"{}\",\"msg\":\"",
      t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, tv.tv_usec / 1000,
      level_names[static_cast<std::size_t>(lvl)]);
  for (const char c : escape_log_text(message)) {
    if (c == '"' || c == '\\') line += '\\';
    line += c;
  }
  line += "\"}\n";
  return line;
}

void emit(log_level lvl, std::string_view message, const log_context* ctx) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  if (g_format == log_format::json) {
    const std::string line = json_line(
        tv, lvl, ctx != nullptr ? fmt::format("{}: {}", ctx->name, message) : std::string(message));
    write_line(line);
    return;
  }
  tm t{};
  localtime_r(&tv.tv_sec, &t);
  std::string line = fmt::format("{:02}:{:02}:{:02}.{:03} [{}] ", t.tm_hour, t.tm_min, t.tm_sec,
                                 tv.tv_usec / 1000, level_names[static_cast<std::size_t>(lvl)]);
  if (ctx != nullptr) {
    line += escape_log_text(ctx->name);
    line += ": ";
  }
  line += escape_log_text(message);
  line += '\n';
  write_line(line);
}

void emit_summary(site& s) {
  if (s.suppressed == 0) return;
  emit(s.level,
       fmt::format("{} more line(s) like \"{}\" suppressed in {} s", s.suppressed, s.format,
                   std::max<std::int64_t>(1, log_window.count())),
       nullptr);
  s.suppressed = 0;
}

// Whether a line of this call site may be logged now (g_mu held).
bool admit(log_level lvl, fmt::string_view fmt_str) {
  const auto now = std::chrono::steady_clock::now();
  const char* key = fmt_str.data();
  const std::size_t h = (reinterpret_cast<std::uintptr_t>(key) >> 3U) % site_slots;
  site* slot = nullptr;
  for (std::size_t probe = 0; probe < site_slots && slot == nullptr; ++probe) {
    site& s = g_sites[(h + probe) % site_slots];
    if (s.key == key || s.key == nullptr ||
        (s.suppressed == 0 && now - s.window_start > 4 * log_window))
      slot = &s;
  }
  if (slot == nullptr) return true;
  if (slot->key != key)
    *slot = site{key, std::string_view(fmt_str.data(), fmt_str.size()), lvl, now, 0, 0};
  if (now - slot->window_start >= log_window) {
    emit_summary(*slot);
    slot->window_start = now;
    slot->lines = 0;
  }
  if (slot->lines < log_burst) {
    ++slot->lines;
    return true;
  }
  ++slot->suppressed;
  return false;
}

}  // namespace

std::string escape_log_text(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      if (c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (const std::size_t n = c >= 0x80 ? utf8_sequence_length(text, i) : 0; n > 0) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    out += "\\x";
    out += digits[c >> 4U];
    out += digits[c & 15U];
    ++i;
  }
  return out;
}

void flush_suppressed_logs() noexcept {
  try {
    const std::lock_guard lock{g_mu};
    const auto now = std::chrono::steady_clock::now();
    for (site& s : g_sites)
      if (s.key != nullptr && s.suppressed > 0 && now - s.window_start >= log_window) {
        emit_summary(s);
        s.window_start = now;
        s.lines = 0;
      }
  } catch (...) {
    // Logging never takes the server down.
  }
}

void set_log_file(std::FILE* f) noexcept {
  const std::lock_guard lock{g_mu};
  g_file = f;
}

log_scope::log_scope(log_context* ctx) noexcept : previous_(log_detail::scope) {
  log_detail::scope = ctx;
}

log_scope::~log_scope() {
  log_detail::scope = previous_;
}

void set_log_format(log_format f) noexcept {
  const std::lock_guard lock{g_mu};
  g_format = f;
}

namespace log_detail {
std::atomic<log_level> current{log_level::info};
thread_local log_context* scope = nullptr;

void write(log_level lvl, fmt::string_view fmt_str, fmt::format_args args) noexcept {
  try {
    const std::string message = fmt::vformat(fmt_str, args);
    log_context* ctx = scope;
    if (ctx != nullptr && lvl >= log_level::warn && lvl < log_level::off) {
      const std::lock_guard lock{ctx->mu};
      ctx->last.text = escape_log_text(message);
      ctx->last.at = std::chrono::system_clock::now();
      ++ctx->last.count;
    }
    if (!log_enabled(lvl)) return;
    const std::lock_guard lock{g_mu};
    if (!admit(lvl, fmt_str)) return;
    emit(lvl, message, ctx);
  } catch (...) {
    // Logging never takes the server down.
  }
}
}  // namespace log_detail

std::string describe(const codec::error& e) {
  return fmt::format("{} ({}) at offset {}", codec::to_string(e.code), codec::to_string(e.where),
                     e.offset);
}

bool parse_log_level(std::string_view s, log_level& out) noexcept {
  std::string l(s);
  for (char& c : l) c = static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  if (l == "trace")
    out = log_level::trace;
  else if (l == "debug")
    out = log_level::debug;
  else if (l == "info")
    out = log_level::info;
  else if (l == "warn" || l == "warning")
    out = log_level::warn;
  else if (l == "error")
    out = log_level::error;
  else if (l == "off" || l == "silence" || l == "none")
    out = log_level::off;
  else
    return false;
  return true;
}

}  // namespace protos7::server
