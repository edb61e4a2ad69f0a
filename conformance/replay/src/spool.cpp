#include "spool.hpp"

#include <array>
#include <utility>

namespace protos7::replay::detail {

spool::~spool() {
  if (file_ != nullptr) std::fclose(file_);
}

spool::spool(spool&& o) noexcept
    : limit_(o.limit_),
      mem_(std::move(o.mem_)),
      file_(std::exchange(o.file_, nullptr)),
      size_(std::exchange(o.size_, 0)) {}

spool& spool::operator=(spool&& o) noexcept {
  if (this != &o) {
    if (file_ != nullptr) std::fclose(file_);
    limit_ = o.limit_;
    mem_ = std::move(o.mem_);
    file_ = std::exchange(o.file_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

void spool::append(std::string_view s) {
  size_ += s.size();
  if (file_ == nullptr && mem_.size() + s.size() > limit_) file_ = std::tmpfile();
  if (file_ == nullptr) {
    mem_.append(s);
    return;
  }
  if (!mem_.empty()) {
    std::fwrite(mem_.data(), 1, mem_.size(), file_);
    mem_.clear();
    mem_.shrink_to_fit();
  }
  std::fwrite(s.data(), 1, s.size(), file_);
}

bool spool::drain_to(std::FILE* out) {
  bool ok = true;
  if (file_ != nullptr) {
    std::rewind(file_);
    std::array<char, 65536> buf{};
    for (;;) {
      const std::size_t n = std::fread(buf.data(), 1, buf.size(), file_);
      if (n == 0) break;
      std::fwrite(buf.data(), 1, n, out);
    }
    ok = std::ferror(file_) == 0;
    std::fclose(file_);
    file_ = nullptr;
  }
  std::fwrite(mem_.data(), 1, mem_.size(), out);
  mem_.clear();
  size_ = 0;
  return ok;
}

bool spool::drain_to(spool& out) {
  bool ok = true;
  if (file_ != nullptr) {
    std::rewind(file_);
    std::array<char, 65536> buf{};
    for (;;) {
      const std::size_t n = std::fread(buf.data(), 1, buf.size(), file_);
      if (n == 0) break;
      out.append(std::string_view(buf.data(), n));
    }
    ok = std::ferror(file_) == 0;
    std::fclose(file_);
    file_ = nullptr;
  }
  out.append(mem_);
  mem_.clear();
  size_ = 0;
  return ok;
}

}  // namespace protos7::replay::detail
