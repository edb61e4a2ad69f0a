#include "sqlite.hpp"

#include <fmt/core.h>

#include <stdexcept>

namespace protos7::store::sql {

connection::connection(std::string path, int flags) : path_(std::move(path)) {
  const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    throw std::runtime_error(fmt::format("cannot open SQLite database {}: {}", path_, msg));
  }
  sqlite3_busy_timeout(db_, 2000);
}

connection::~connection() {
  sqlite3_close(db_);
}

void connection::fail(std::string_view what) const {
  throw std::runtime_error(fmt::format("{}: {}: {}", path_, what, sqlite3_errmsg(db_)));
}

void connection::exec(std::string_view sql) {
  const std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err != nullptr ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw std::runtime_error(fmt::format("{}: {}: {}", path_, s.substr(0, 80), msg));
  }
}

bool connection::has_table(std::string_view table) {
  statement s(*this, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  s.bind(1, table);
  return s.step();
}

std::map<std::string, std::string> connection::columns(std::string_view table) {
  std::map<std::string, std::string> out;
  statement s(*this, "SELECT name, type FROM pragma_table_info(?)");
  s.bind(1, table);
  while (s.step()) {
    std::string type = s.text(1);
    for (char& c : type)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    out[s.text(0)] = std::move(type);
  }
  return out;
}

statement::statement(connection& c, std::string_view sql) : c_(c) {
  if (sqlite3_prepare_v2(c.get(), sql.data(), static_cast<int>(sql.size()), &s_, nullptr) !=
      SQLITE_OK)
    c.fail(fmt::format("SQL {}", sql.substr(0, 80)));
}

statement::~statement() {
  sqlite3_finalize(s_);
}

void statement::check(int rc) const {
  if (rc != SQLITE_OK) c_.fail("bind");
}

statement& statement::bind(int i, std::int64_t v) {
  check(sqlite3_bind_int64(s_, i, v));
  return *this;
}

statement& statement::bind(int i, double v) {
  check(sqlite3_bind_double(s_, i, v));
  return *this;
}

statement& statement::bind(int i, std::string_view v) {
  check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  return *this;
}

statement& statement::bind_null(int i) {
  check(sqlite3_bind_null(s_, i));
  return *this;
}

bool statement::step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  c_.fail("step");
}

void statement::run() {
  while (step()) {
  }
}

bool statement::is_null(int col) const {
  return sqlite3_column_type(s_, col) == SQLITE_NULL;
}
std::int64_t statement::i64(int col) const {
  return sqlite3_column_int64(s_, col);
}
double statement::f64(int col) const {
  return sqlite3_column_double(s_, col);
}

std::string statement::text(int col) const {
  const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return t == nullptr ? std::string{}
                      : std::string{t, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))};
}

std::optional<std::int64_t> statement::opt_i64(int col) const {
  if (is_null(col)) return std::nullopt;
  return i64(col);
}

std::optional<double> statement::opt_f64(int col) const {
  if (is_null(col)) return std::nullopt;
  return f64(col);
}

std::optional<std::string> statement::opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

transaction::transaction(connection& c) : c_(c) {
  c_.exec("BEGIN IMMEDIATE");
}

transaction::~transaction() {
  if (!done_) sqlite3_exec(c_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void transaction::commit() {
  c_.exec("COMMIT");
  done_ = true;
}

std::string_view affinity(std::string_view declared) {
  const auto has = [&](std::string_view s) { return declared.find(s) != std::string_view::npos; };
  if (has("INT")) return "INTEGER";
  if (has("CHAR") || has("CLOB") || has("TEXT")) return "TEXT";
  if (has("BLOB") || declared.empty()) return "BLOB";
  if (has("REAL") || has("FLOA") || has("DOUB")) return "REAL";
  return "NUMERIC";
}

}  // namespace protos7::store::sql
