#include "protos7/stream/progress.hpp"

#include <unistd.h>

namespace protos7::stream {

namespace {

std::string clock_text(std::chrono::seconds s) {
  const long long n = s.count();
  char buf[32];
  if (n >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", n / 3600, n / 60 % 60, n % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", n / 60, n % 60);
  }
  return buf;
}

}  // namespace

bool progress::parse_mode(std::string_view name, std::FILE* to, mode& out) {
  if (name == "off") {
    out = mode::off;
  } else if (name == "auto") {
    out = ::isatty(::fileno(to)) != 0 ? mode::bar : mode::lines;
  } else if (name == "lines") {
    out = mode::lines;
  } else {
    return false;
  }
  return true;
}

progress::progress(std::FILE* to, std::string what, mode m, std::chrono::milliseconds interval)
    : to_(to), what_(std::move(what)), mode_(m), interval_(interval) {
  next_ = start_ + (mode_ == mode::bar ? std::chrono::milliseconds(200) : interval_);
}

progress::~progress() {
  finish();
}

bool progress::due(bool rare) {
  if (mode_ == mode::off) return false;
  // Reading the clock costs more than the work between most calls: look every 256th time.
  if ((++calls_ & 0xFFU) != 0 && !rare) return false;
  const auto now = clock_type::now();
  if (now < next_) return false;
  next_ = now + (mode_ == mode::bar ? std::chrono::milliseconds(200) : interval_);
  return true;
}

std::string progress::grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void progress::print(std::string_view text, std::uint64_t rate_count, std::string_view rate_unit) {
  if (mode_ == mode::off) return;
  const auto elapsed = std::chrono::duration<double>(clock_type::now() - start_).count();
  std::string line = what_ + ": ";
  if (total_ != 0) {
    const double frac = static_cast<double>(done_) / static_cast<double>(total_);
    char pct[16];
    std::snprintf(pct, sizeof pct, "%3.0f%% ", frac * 100.0);
    line += pct;
    if (frac > 0.001 && frac < 1.0) {
      const auto left =
          std::chrono::seconds(static_cast<std::int64_t>(elapsed * (1.0 - frac) / frac));
      line += "ETA " + clock_text(left) + "  ";
    }
  }
  line += std::string(text);
  if (elapsed > 0.0)
    line += "  " + grouped(static_cast<std::uint64_t>(static_cast<double>(rate_count) / elapsed)) +
            " " + std::string(rate_unit) + "/s";
  line += "  " + clock_text(std::chrono::seconds(static_cast<std::int64_t>(elapsed)));
  if (mode_ == mode::bar) {
    std::fprintf(to_, "\r\x1b[2K%s", line.c_str());
    drawn_ = true;
  } else {
    std::fprintf(to_, "%s\n", line.c_str());
  }
  std::fflush(to_);
}

void progress::finish() {
  if (drawn_) {
    std::fputs("\r\x1b[2K", to_);
    std::fflush(to_);
    drawn_ = false;
  }
}

}  // namespace protos7::stream
