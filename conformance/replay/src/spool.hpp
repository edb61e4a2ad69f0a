// Internal: text that is written out later (a report's part whose header needs counts known only
// at its end, a connection's listed answers until the connection is done), kept in memory up to a
// limit and in an unnamed temporary file beyond it, so that a report of any size streams in
// bounded memory.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace protos7::replay::detail {

class spool {
 public:
  explicit spool(std::size_t memory_limit = 1U << 20) : limit_(memory_limit) {}
  ~spool();
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;
  spool(spool&& o) noexcept;
  spool& operator=(spool&& o) noexcept;

  void append(std::string_view s);
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  // Writes everything appended so far to `out`, then forgets it. False if the temporary file
  // could not be read back.
  bool drain_to(std::FILE* out);
  // The same into another spool.
  bool drain_to(spool& out);

 private:
  std::size_t limit_;
  std::string mem_;
  std::FILE* file_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace protos7::replay::detail
