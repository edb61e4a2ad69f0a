#include "protos7/server/data_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace protos7::server {

data_lock::~data_lock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays (removing it would race)
}

status data_lock::acquire(const std::string& dir, bool& busy) {
  busy = false;
  path_ = dir + "/protos7.lock";
  const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return status::failure(
        fmt::format("cannot create the lock file {}: {}", path_, std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::array<char, 32> pid{};
    const ssize_t n = ::pread(fd, pid.data(), pid.size() - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK)
      return status::failure(fmt::format("cannot lock {}: {}", path_, std::strerror(err)));
    busy = true;
    std::string holder(pid.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return status::failure(fmt::format(
        "{} is in use by another protos7{}: two servers must not share DB files; stop the "
        "other one or give this one another --data-dir (or -s / -b)",
        dir, holder.empty() ? "" : fmt::format(" (process {})", holder)));
  }
  const std::string me = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    // The lock holds without the PID; only the message of a second server is poorer.
  }
  fd_ = fd;
  return {};
}

}  // namespace protos7::server
