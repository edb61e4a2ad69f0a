#include "protos7/store/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace protos7::store {

namespace {

[[noreturn]] void fail(std::string_view what, const std::string& path) {
  throw std::runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

}  // namespace

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open directory", dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  errno = err;
  if (rc != 0) fail("cannot fsync directory", dir);
}

temp_file::temp_file(const std::string& target) {
  std::string name = target + ".tmp-XXXXXX";
  fd_ = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd_ < 0) fail("cannot create a temporary file beside", target);
  path_ = std::move(name);
}

temp_file::~temp_file() {
  if (fd_ >= 0) ::close(fd_);
  if (!released_) ::unlink(path_.c_str());
}

void temp_file::close_fd() {
  if (fd_ < 0) return;
  if (::fsync(fd_) != 0) fail("cannot fsync", path_);
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) fail("cannot close", path_);
}

void temp_file::rename_to(const std::string& target) {
  close_fd();
  if (::rename(path_.c_str(), target.c_str()) != 0)
    fail("cannot rename a temporary file to", target);
  released_ = true;
  fsync_dir(dir_of(target));
}

void write_file_atomically(const std::string& path, std::span<const std::byte> data) {
  temp_file tmp(path);
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(tmp.fd(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write", tmp.path());
    done += static_cast<std::size_t>(n);
  }
  ::fchmod(tmp.fd(), 0644);
  tmp.rename_to(path);
}

std::vector<std::byte> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open", path);
  std::vector<std::byte> out;
  std::byte buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      errno = err;
      fail("cannot read", path);
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return out;
}

}  // namespace protos7::store
