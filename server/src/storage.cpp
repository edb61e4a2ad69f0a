#include "protos7/server/storage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace protos7::server {

namespace {

// S7-300/400 data blocks are at most 64 KiB.
constexpr std::size_t max_db_size = store::max_db_size;

std::string sys_error(const std::string& what, const std::string& path) {
  return fmt::format("{} {}: {}", what, path, std::strerror(errno));
}

void sqlite_log_callback(void* /*unused*/, int code, const char* msg) {
  log(log_level::warn, "sqlite ({}): {}", code, msg != nullptr ? msg : "");
}

// Reads a DB<n>.bin whole and closes it (no descriptor is kept per DB: issue #16). False, logged,
// for a file that is not a regular file of 1..64 KiB; throws when it cannot be opened or read.
bool read_bin(const std::string& path, std::vector<std::byte>& bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(sys_error("cannot open", path));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } const guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0 || size > max_db_size) {
    log(log_level::warn, "{}: size {} outside 1..{}: ignored", path, size, max_db_size);
    return false;
  }
  bytes.resize(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t r = ::pread(fd, bytes.data() + done, size - done, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw std::runtime_error(sys_error("cannot read", path));
    done += static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

void set_sqlite_log_level(log_level level) {
  if (level == log_level::off) {
    sqlite3_config(SQLITE_CONFIG_LOG, nullptr, nullptr);
  } else {
    sqlite3_config(SQLITE_CONFIG_LOG, &sqlite_log_callback, nullptr);
  }
}

catalog load_catalog(const std::string& sqlite_path) {
  const store::prepared_file p = store::prepare_file(sqlite_path);
  if (p.migrated)
    log(log_level::warn,
        "{}: migrated from protos7's first schema to goprotos7's; the original is kept as {}",
        sqlite_path, p.backup_path);
  return store::read_catalog(sqlite_path);
}

std::size_t generate_missing_bins(const catalog& c, const std::string& dir) {
  std::map<std::uint16_t, bool> dbs;
  for (const variable& v : c.variables) dbs[v.db] = true;
  for (const auto& [n, size] : c.declared_sizes) dbs[n] = true;
  std::size_t made = 0;
  for (const auto& [n, unused] : dbs) {
    const std::string path = fmt::format("{}/DB{}.bin", dir, n);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) continue;
    const std::vector<std::byte> img = render_db(c, n);
    if (img.empty()) continue;
    write_file_atomically(path, img);
    log(log_level::info, "generated {} ({} bytes) from the variable definitions", path, img.size());
    ++made;
  }
  return made;
}

std::size_t load_bins(const std::string& dir, plc_memory& mem) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) throw std::runtime_error(sys_error("cannot open BIN directory", dir));
  std::unique_ptr<DIR, int (*)(DIR*)> guard{d, &::closedir};
  std::size_t count = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    // DB<n>.bin, n = 1..65535 in decimal without leading zeros.
    if (name.size() < 7 || name.compare(0, 2, "DB") != 0 ||
        name.compare(name.size() - 4, 4, ".bin") != 0)
      continue;
    const std::string digits = name.substr(2, name.size() - 6);
    if (digits.empty() || digits.size() > 5 || digits[0] == '0' ||
        !std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      continue;
    const unsigned long n = std::stoul(digits);
    if (n < 1 || n > 65535) continue;
    const std::string path = fmt::format("{}/{}", dir, name);
    std::vector<std::byte> bytes;
    if (!read_bin(path, bytes)) continue;
    const std::size_t size = bytes.size();
    mem.add_db(std::make_unique<data_block>(static_cast<std::uint16_t>(n), std::move(bytes), path));
    log(log_level::debug, "loaded DB{} ({} bytes) from {}", n, size, path);
    ++count;
  }
  return count;
}

}  // namespace protos7::server
