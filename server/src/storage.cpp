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
constexpr std::size_t max_db_size = 65536;

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>((c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c);
  return s;
}

std::string sys_error(const std::string& what, const std::string& path) {
  return fmt::format("{} {}: {}", what, path, std::strerror(errno));
}

struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close(db); }
};
using db_handle = std::unique_ptr<sqlite3, db_closer>;
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_handle = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

db_handle open_db(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  db_handle db{raw};
  if (rc != SQLITE_OK)
    throw std::runtime_error(fmt::format("cannot open SQLite database {}: {}", path,
                                         raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  return db;
}

stmt_handle prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    throw std::runtime_error(fmt::format("SQLite: {}: {}", sql, sqlite3_errmsg(db)));
  return stmt_handle{s};
}

bool has_column(sqlite3* db, const std::string& table, const std::string& column) {
  auto s = prepare(db, fmt::format("PRAGMA table_info({})", table));
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 1));
    if (name != nullptr && column == name) return true;
  }
  return false;
}

bool has_table(sqlite3* db, const std::string& table) {
  auto s = prepare(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?");
  sqlite3_bind_text(s.get(), 1, table.c_str(), -1, SQLITE_TRANSIENT);
  return sqlite3_step(s.get()) == SQLITE_ROW;
}

std::string text_col(sqlite3_stmt* s, int i) {
  const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return t == nullptr ? std::string{} : std::string{t};
}

// "STRING[20]" -> 20; 0 when there is no bracket.
std::size_t bracket_length(const std::string& type) {
  const auto open = type.find('[');
  const auto close = type.find(']');
  if (open == std::string::npos || close == std::string::npos || close <= open + 1) return 0;
  std::size_t n = 0;
  for (std::size_t i = open + 1; i < close; ++i) {
    if (type[i] < '0' || type[i] > '9') return 0;
    n = n * 10 + static_cast<std::size_t>(type[i] - '0');
    if (n > 254) return 254;
  }
  return n;
}

std::string base_type(const std::string& type) {
  const std::string t = upper(type);
  const auto open = t.find('[');
  return open == std::string::npos ? t : t.substr(0, open);
}

void put_be(std::vector<std::byte>& img, std::size_t at, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    img[at + i] = static_cast<std::byte>((v >> (8U * (n - 1 - i))) & 0xFFU);
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(sys_error("cannot open directory", dir));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw std::runtime_error(sys_error("cannot fsync directory", dir));
}

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void sqlite_log_callback(void* /*unused*/, int code, const char* msg) {
  log(log_level::warn, "sqlite ({}): {}", code, msg != nullptr ? msg : "");
}

}  // namespace

std::size_t variable_size(const variable& v) {
  const std::string t = base_type(v.data_type);
  if (t == "BOOL" || t == "BYTE" || t == "CHAR" || t == "USINT" || t == "SINT") return 1;
  if (t == "INT" || t == "WORD" || t == "UINT" || t == "S5TIME" || t == "DATE") return 2;
  if (t == "DINT" || t == "DWORD" || t == "UDINT" || t == "REAL" || t == "TIME" || t == "TOD")
    return 4;
  if (t == "STRING") {
    std::size_t n = bracket_length(v.data_type);
    if (n == 0) n = v.length;
    if (n == 0) n = 254;  // STRING without a length is STRING[254] in S7
    return std::min<std::size_t>(n, 254) + 2;
  }
  return 0;
}

std::size_t catalog::db_size(std::uint16_t db) const {
  std::size_t size = 0;
  if (const auto it = declared_sizes.find(db); it != declared_sizes.end()) size = it->second;
  for (const variable& v : variables)
    if (v.db_number == db) size = std::max(size, v.byte_offset + variable_size(v));
  return std::min(size, max_db_size);
}

void set_sqlite_log_level(log_level level) {
  if (level == log_level::off) {
    sqlite3_config(SQLITE_CONFIG_LOG, nullptr, nullptr);
  } else {
    sqlite3_config(SQLITE_CONFIG_LOG, &sqlite_log_callback, nullptr);
  }
}

catalog load_catalog(const std::string& sqlite_path) {
  auto db = open_db(sqlite_path, SQLITE_OPEN_READONLY);
  if (!has_table(db.get(), "db_variables"))
    throw std::runtime_error(fmt::format("{}: no table db_variables (not a goprotos7 database)", sqlite_path));
  catalog c;
  // Optional columns are read only when present (older goprotos7 databases).
  const auto col = [&](const char* name, const char* fallback) {
    return has_column(db.get(), "db_variables", name) ? std::string{name} : std::string{fallback};
  };
  auto s = prepare(db.get(),
                   fmt::format("SELECT id, db_number, name, data_type, byte_offset, {}, {}, {}, {}, "
                               "{}, {}, {}, {} FROM db_variables ORDER BY db_number, byte_offset",
                               col("bit_offset", "0"), col("length", "0"), col("description", "''"),
                               col("real_val", "0"), col("int_val", "0"), col("str_val", "''"),
                               col("bool_val", "0"), col("var_type", "''")));
  int rc = 0;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    variable v;
    v.id = sqlite3_column_int64(s.get(), 0);
    const std::int64_t dbn = sqlite3_column_int64(s.get(), 1);
    const std::int64_t off = sqlite3_column_int64(s.get(), 4);
    const std::int64_t bit = sqlite3_column_int64(s.get(), 5);
    const std::int64_t len = sqlite3_column_int64(s.get(), 6);
    v.name = text_col(s.get(), 2);
    v.data_type = text_col(s.get(), 3);
    if (dbn < 1 || dbn > 65535 || off < 0 || off >= static_cast<std::int64_t>(max_db_size) ||
        bit < 0 || bit > 7 || len < 0 || len > 65535) {
      log(log_level::warn, "{}: variable {} '{}' has an invalid address (DB{} {}.{}): ignored",
          sqlite_path, v.id, v.name, dbn, off, bit);
      continue;
    }
    v.db_number = static_cast<std::uint16_t>(dbn);
    v.byte_offset = static_cast<std::size_t>(off);
    v.bit_offset = static_cast<std::uint8_t>(bit);
    v.length = static_cast<std::size_t>(len);
    v.description = text_col(s.get(), 7);
    v.real_val = sqlite3_column_double(s.get(), 8);
    v.int_val = sqlite3_column_int64(s.get(), 9);
    v.str_val = text_col(s.get(), 10);
    v.bool_val = sqlite3_column_int64(s.get(), 11) != 0;
    v.var_type = text_col(s.get(), 12);
    if (variable_size(v) == 0) {
      log(log_level::warn, "{}: variable {} '{}' has unknown data type '{}': ignored", sqlite_path,
          v.id, v.name, v.data_type);
      continue;
    }
    c.variables.push_back(std::move(v));
  }
  if (rc != SQLITE_DONE) throw std::runtime_error(fmt::format("{}: {}", sqlite_path, sqlite3_errmsg(db.get())));

  if (has_table(db.get(), "static_var_definitions")) {
    const std::string ref = has_column(db.get(), "static_var_definitions", "db_variable_id")
                                ? "db_variable_id"
                                : "var_id";
    auto n = prepare(db.get(), fmt::format("SELECT {}, name, value FROM static_var_definitions ORDER BY id", ref));
    while (sqlite3_step(n.get()) == SQLITE_ROW)
      c.named_values.push_back({sqlite3_column_int64(n.get(), 0), text_col(n.get(), 1), text_col(n.get(), 2)});
  }
  if (has_table(db.get(), "protos7_db_sizes")) {
    auto z = prepare(db.get(), "SELECT db_number, size FROM protos7_db_sizes");
    while (sqlite3_step(z.get()) == SQLITE_ROW) {
      const std::int64_t dbn = sqlite3_column_int64(z.get(), 0);
      const std::int64_t size = sqlite3_column_int64(z.get(), 1);
      if (dbn >= 1 && dbn <= 65535 && size > 0 && size <= static_cast<std::int64_t>(max_db_size))
        c.declared_sizes[static_cast<std::uint16_t>(dbn)] = static_cast<std::size_t>(size);
    }
  }
  return c;
}

const char* sample_seed_sql() noexcept {
  // The bundled sample PLC. DB200 is goprotos7's dashboard example (see
  // docs/goprotos7-dbtools-dashboard.png): MachineStatus INT at 0 with named states,
  // TestVar 2.0, Flags_Machine In Critical 3.0, MachineName STRING[20] at 4,
  // MachineConditions_maintenance/_warning at 26.0/26.1.
  return R"sql(
CREATE TABLE IF NOT EXISTS db_variables (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  db_number INTEGER NOT NULL,
  name TEXT NOT NULL,
  data_type TEXT NOT NULL,
  byte_offset INTEGER NOT NULL,
  bit_offset INTEGER NOT NULL DEFAULT 0,
  length INTEGER NOT NULL DEFAULT 0,
  description TEXT NOT NULL DEFAULT '',
  real_val REAL,
  int_val INTEGER,
  str_val TEXT,
  bool_val BOOLEAN,
  var_type TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS static_var_definitions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  db_variable_id INTEGER NOT NULL REFERENCES db_variables(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS protos7_db_sizes (
  db_number INTEGER PRIMARY KEY,
  size INTEGER NOT NULL
);
INSERT INTO protos7_db_sizes (db_number, size) VALUES (1, 256), (2, 64), (200, 64);

INSERT INTO db_variables (id, db_number, name, data_type, byte_offset, bit_offset, length, description, real_val, int_val, str_val, bool_val, var_type) VALUES
 (1, 1, 'Counter',      'INT',        0, 0,  0, 'Production counter',   NULL, 0,     NULL, NULL, 'DB'),
 (2, 1, 'Temperature',  'REAL',       2, 0,  0, 'Oven temperature (C)', 21.5, NULL,  NULL, NULL, 'DB'),
 (3, 1, 'Running',      'BOOL',       6, 0,  0, 'Line running',         NULL, NULL,  NULL, 1,    'DB'),
 (4, 1, 'Alarm',        'BOOL',       6, 1,  0, 'Alarm active',         NULL, NULL,  NULL, 0,    'DB'),
 (5, 1, 'Setpoint',     'REAL',       8, 0,  0, 'Temperature setpoint', 180.0, NULL, NULL, NULL, 'DB'),
 (6, 1, 'TotalParts',   'DINT',      12, 0,  0, 'Parts since reset',    NULL, 123456, NULL, NULL, 'DB'),
 (7, 1, 'Recipe',       'STRING[32]',16, 0, 32, 'Active recipe',        NULL, NULL,  'Default', NULL, 'DB'),
 (8, 2, 'Speed',        'INT',        0, 0,  0, 'Conveyor speed',       NULL, 1500,  NULL, NULL, 'DB'),
 (9, 2, 'StatusWord',   'WORD',       2, 0,  0, 'Status bits',          NULL, 0,     NULL, NULL, 'DB'),
 (10, 2, 'Pressure',    'REAL',       4, 0,  0, 'Line pressure (bar)',  4.2,  NULL,  NULL, NULL, 'DB'),
 (20, 200, 'MachineStatus', 'INT',    0, 0,  0, 'Machine Status (0: idle, 1: running, 2: critical)', NULL, 0, NULL, NULL, 'DB'),
 (21, 200, 'TestVar',   'BOOL',       2, 0,  0, 'TestVar',              NULL, NULL,  NULL, 1,    'DB'),
 (22, 200, 'Flags_Machine In Critical', 'BOOL', 3, 0, 0, 'Machine In Critical', NULL, NULL, NULL, 0, 'DB'),
 (23, 200, 'MachineName', 'STRING[20]', 4, 0, 20, 'Machine name',       NULL, NULL,  'GoProtoS7Emulator', NULL, 'DB'),
 (24, 200, 'MachineConditions_maintenance', 'BOOL', 26, 0, 0, 'maintenance', NULL, NULL, NULL, 0, 'DB'),
 (25, 200, 'MachineConditions_warning', 'BOOL', 26, 1, 0, 'warning',    NULL, NULL,  NULL, 0,    'DB');

INSERT INTO static_var_definitions (db_variable_id, name, value) VALUES
 (20, 'Idle', '0'), (20, 'Running', '1'), (20, 'Critical', '2');
)sql";
}

void create_sample_database(const std::string& sqlite_path) {
  struct stat st{};
  if (::stat(sqlite_path.c_str(), &st) == 0)
    throw std::runtime_error(fmt::format("{} already exists", sqlite_path));
  // Built under a temporary name and renamed, so a crash never leaves a half-seeded file.
  const std::string tmp = sqlite_path + ".tmp";
  ::unlink(tmp.c_str());
  {
    auto db = open_db(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    char* err = nullptr;
    const std::string sql = std::string{"BEGIN;"} + sample_seed_sql() + "COMMIT;";
    if (sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err != nullptr ? err : "unknown error";
      sqlite3_free(err);
      throw std::runtime_error(fmt::format("seeding {}: {}", tmp, msg));
    }
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error(sys_error("cannot fsync", tmp));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), sqlite_path.c_str()) != 0)
    throw std::runtime_error(sys_error("cannot rename to", sqlite_path));
  fsync_dir(dir_of(sqlite_path));
}

std::vector<std::byte> render_db(const catalog& c, std::uint16_t db) {
  std::vector<std::byte> img(c.db_size(db));
  for (const variable& v : c.variables) {
    if (v.db_number != db) continue;
    const std::size_t size = variable_size(v);
    if (v.byte_offset + size > img.size()) continue;
    const std::string t = base_type(v.data_type);
    const std::size_t at = v.byte_offset;
    if (t == "BOOL") {
      const auto mask = static_cast<std::uint8_t>(1U << v.bit_offset);
      auto b = std::to_integer<std::uint8_t>(img[at]);
      b = static_cast<std::uint8_t>(v.bool_val ? (b | mask) : (b & ~mask));
      img[at] = std::byte{b};
    } else if (t == "REAL") {
      put_be(img, at, std::bit_cast<std::uint32_t>(static_cast<float>(v.real_val)), 4);
    } else if (t == "STRING") {
      // S7 STRING[n]: max length, actual length, n characters (unused ones 0).
      const std::size_t max = size - 2;
      const std::size_t len = std::min(max, v.str_val.size());
      img[at] = static_cast<std::byte>(max);
      img[at + 1] = static_cast<std::byte>(len);
      for (std::size_t i = 0; i < len; ++i) img[at + 2 + i] = static_cast<std::byte>(v.str_val[i]);
    } else if (t == "CHAR") {
      img[at] = static_cast<std::byte>(v.str_val.empty() ? static_cast<char>(v.int_val) : v.str_val[0]);
    } else {
      put_be(img, at, static_cast<std::uint64_t>(v.int_val), size);
    }
  }
  return img;
}

void write_file_atomically(const std::string& path, std::span<const std::byte> data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(sys_error("cannot create", tmp));
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      throw std::runtime_error(sys_error("cannot write", tmp));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw std::runtime_error(sys_error("cannot fsync", tmp));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error(sys_error("cannot rename to", path));
  fsync_dir(dir_of(path));
}

std::size_t generate_missing_bins(const catalog& c, const std::string& dir) {
  std::map<std::uint16_t, bool> dbs;
  for (const variable& v : c.variables) dbs[v.db_number] = true;
  for (const auto& [n, size] : c.declared_sizes) dbs[n] = true;
  std::size_t made = 0;
  for (const auto& [n, unused] : dbs) {
    const std::string path = fmt::format("{}/DB{}.bin", dir, n);
    struct stat st{};
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
    if (name.size() < 7 || name.compare(0, 2, "DB") != 0 || name.compare(name.size() - 4, 4, ".bin") != 0)
      continue;
    const std::string digits = name.substr(2, name.size() - 6);
    if (digits.empty() || digits.size() > 5 || digits[0] == '0' ||
        !std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      continue;
    const unsigned long n = std::stoul(digits);
    if (n < 1 || n > 65535) continue;
    const std::string path = dir + "/" + name;
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(sys_error("cannot open", path));
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      continue;
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size == 0 || size > max_db_size) {
      ::close(fd);
      log(log_level::warn, "{}: size {} outside 1..{}: ignored", path, size, max_db_size);
      continue;
    }
    std::vector<std::byte> bytes(size);
    std::size_t done = 0;
    while (done < size) {
      const ssize_t r = ::pread(fd, bytes.data() + done, size - done, static_cast<off_t>(done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        ::close(fd);
        throw std::runtime_error(sys_error("cannot read", path));
      }
      done += static_cast<std::size_t>(r);
    }
    mem.add_db(std::make_unique<data_block>(static_cast<std::uint16_t>(n), std::move(bytes), fd, path));
    log(log_level::debug, "loaded DB{} ({} bytes) from {}", n, size, path);
    ++count;
  }
  return count;
}

}  // namespace protos7::server
