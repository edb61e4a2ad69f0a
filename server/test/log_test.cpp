// Log lines carry client bytes: they are escaped where they are formatted, and a flood from one
// call site is rate limited (log.hpp).
#include "protos7/server/log.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

using protos7::server::escape_log_text;
using protos7::server::log;
using protos7::server::log_level;

// Captures the log in memory for the scope.
class captured_log {
 public:
  captured_log() : f_(::open_memstream(&data_, &size_)) {
    protos7::server::set_log_level(log_level::info);
    protos7::server::set_log_file(f_);
  }
  ~captured_log() {
    protos7::server::set_log_file(nullptr);
    protos7::server::set_log_level(log_level::off);
    std::fclose(f_);
    std::free(data_);
  }
  captured_log(const captured_log&) = delete;
  captured_log& operator=(const captured_log&) = delete;
  std::string text() {
    std::fflush(f_);
    return {data_, size_};
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* f_;
};

std::size_t count(const std::string& s, std::string_view what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

TEST(log_escape, control_bytes_and_invalid_utf8_are_escaped) {
  EXPECT_EQ(escape_log_text("P_PROGRAM"), "P_PROGRAM");
  // ESC [ 2 J (clear screen), CR LF and a forged level: one line, nothing a terminal acts on.
  EXPECT_EQ(escape_log_text("_\x1b[2J\r\n12:00:00.000 [error] x"),
            "_\\x1B[2J\\x0D\\x0A12:00:00.000 [error] x");
  EXPECT_EQ(escape_log_text(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escape_log_text("\x7f"), "\\x7F");
  EXPECT_EQ(escape_log_text("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escape_log_text("S7-300 \xc3\xa4\xe2\x82\xac"),
            "S7-300 \xc3\xa4\xe2\x82\xac");              // valid UTF-8 kept
  EXPECT_EQ(escape_log_text("\xc2\x9b"), "\\xC2\\x9B");  // U+009B CSI, a C1 control
  EXPECT_EQ(escape_log_text("\xff\xc3"), "\\xFF\\xC3");  // invalid, truncated
  EXPECT_EQ(escape_log_text("\xc0\xaf"), "\\xC0\\xAF");  // overlong '/'
}

TEST(log_escape, a_client_string_cannot_forge_a_line) {
  captured_log cap;
  log(log_level::info, "PI service {}", "_INSE\x1b[31m\n12:00:00.000 [error] forged");
  const std::string t = cap.text();
  EXPECT_EQ(count(t, "\n"), 1U) << t;
  EXPECT_EQ(t.find('\x1b'), std::string::npos) << t;
  EXPECT_NE(t.find("[info] PI service _INSE\\x1B[31m\\x0A12:00:00.000 [error] forged"),
            std::string::npos)
      << t;
}

TEST(log_rate, repeated_lines_are_summarized) {
  captured_log cap;
  for (int i = 0; i < 1000; ++i) log(log_level::warn, "{}: bad TPKT", i);
  log(log_level::info, "another call site");
  std::string t = cap.text();
  EXPECT_EQ(count(t, ": bad TPKT"), protos7::server::log_burst)
      << "lines of the flooding call site";
  EXPECT_EQ(count(t, "another call site"), 1U) << "other call sites are not affected";
  std::this_thread::sleep_for(protos7::server::log_window + std::chrono::milliseconds(50));
  protos7::server::flush_suppressed_logs();
  t = cap.text();
  const std::string summary =
      std::to_string(1000 - protos7::server::log_burst) + " more line(s) like \"{}: bad TPKT\"";
  EXPECT_NE(t.find(summary), std::string::npos) << t;
  log(log_level::warn, "{}: bad TPKT", 1001);
  EXPECT_EQ(count(cap.text(), ": bad TPKT\n"), protos7::server::log_burst + 1)
      << "a new window logs again";
}

}  // namespace
