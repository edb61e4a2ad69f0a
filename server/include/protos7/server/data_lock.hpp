// One server per data directory: `protos7 serve` holds an exclusive lock on
// <directory>/protos7.lock while it runs (flock, released by the kernel when the process ends,
// however it ends), so a second server on the same DB<n>.bin files is refused at start instead of
// overwriting the first one's acknowledged writes. The file holds the holder's PID, for the
// message.
#pragma once

#include <string>

#include "protos7/server/status.hpp"

namespace protos7::server {

class data_lock {
 public:
  data_lock() = default;
  ~data_lock();
  data_lock(const data_lock&) = delete;
  data_lock& operator=(const data_lock&) = delete;

  // Locks `dir` (which must exist). Fails, saying why, when another process holds it (with its
  // PID when the file names one), or the lock file cannot be created. `busy` tells the two apart.
  status acquire(const std::string& dir, bool& busy);
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace protos7::server
