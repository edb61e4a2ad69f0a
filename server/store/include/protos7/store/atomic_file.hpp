// Files replaced whole or not at all: write a temporary file beside the target (a unique name,
// created exclusively, never following a link), fsync it, rename it over the target, fsync
// the directory. A crash leaves the old file or the whole new one; an error leaves no
// temporary file behind. Errors throw std::runtime_error naming the file and the cause.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace protos7::store {

void write_file_atomically(const std::string& path, std::span<const std::byte> data);
// The whole content of a regular file.
[[nodiscard]] std::vector<std::byte> read_file(const std::string& path);
// fsync of a directory (after a rename or unlink in it).
void fsync_dir(const std::string& dir);
// The directory part of a path ("." when there is none).
[[nodiscard]] std::string dir_of(const std::string& path);

// A temporary file beside `target`, created exclusively (mkstemp); removed by the destructor
// unless release()d (after it was renamed into place).
class temp_file {
 public:
  explicit temp_file(const std::string& target);
  ~temp_file();
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  void close_fd();                            // fsyncs, then closes (throws on failure)
  void rename_to(const std::string& target);  // close_fd, rename, fsync the directory

 private:
  std::string path_;
  int fd_ = -1;
  bool released_ = false;
};

}  // namespace protos7::store
