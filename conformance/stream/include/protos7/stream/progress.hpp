// Progress of a long run over captures (dump, learn, replay): on a terminal one line redrawn in
// place (how far through the capture files, frames, what the caller counts, the rate and the
// time left); otherwise a plain line every `interval` (CI logs), none for a run shorter than that.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace protos7::stream {

class progress {
 public:
  enum class mode : std::uint8_t { off, bar, lines };
  // `auto`: a bar when `to` is a terminal, else lines; "off": nothing. Returns false for an
  // unknown name.
  static bool parse_mode(std::string_view name, std::FILE* to, mode& out);

  progress(std::FILE* to, std::string what, mode m,
           std::chrono::milliseconds interval = std::chrono::seconds(10));
  ~progress();
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;

  // Bytes of all the capture files of the run (for the percentage and the time left).
  void set_total_bytes(std::uint64_t total) noexcept { total_ = total; }
  // Bytes of earlier files plus the offset in the current one.
  void set_done_bytes(std::uint64_t done) noexcept { done_ = done; }
  // True when a line is due (cheap: call it often, build the text only then). `rare`: the
  // caller calls seldom (while it waits): the clock is read on every call.
  [[nodiscard]] bool due(bool rare = false);
  // Prints `text` (what the caller counts: "1,234 answers: 1,230 exact, 4 mismatch") with the
  // percentage, the rate of `rate_count` per second and the time left.
  void print(std::string_view text, std::uint64_t rate_count, std::string_view rate_unit);
  // Clears the bar (the final report follows on the same terminal).
  void finish();

  // 1234567 -> "1,234,567".
  [[nodiscard]] static std::string grouped(std::uint64_t n);

 private:
  using clock_type = std::chrono::steady_clock;
  std::FILE* to_;
  std::string what_;
  mode mode_;
  std::chrono::milliseconds interval_;
  clock_type::time_point start_ = clock_type::now();
  clock_type::time_point next_;
  std::uint64_t total_ = 0;
  std::uint64_t done_ = 0;
  std::uint32_t calls_ = 0;
  bool drawn_ = false;
};

}  // namespace protos7::stream
