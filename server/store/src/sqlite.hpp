// A thin RAII layer over SQLite for the store: a connection, prepared statements with bound
// parameters (no text from outside is ever spliced into SQL), and transactions. Errors throw
// std::runtime_error naming the file.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace protos7::store::sql {

class connection {
 public:
  connection(std::string path, int flags);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  [[nodiscard]] sqlite3* get() const noexcept { return db_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  void exec(std::string_view sql);
  [[nodiscard]] bool has_table(std::string_view table);
  // Column name -> declared type, in upper case; empty when there is no such table.
  [[nodiscard]] std::map<std::string, std::string> columns(std::string_view table);
  [[noreturn]] void fail(std::string_view what) const;

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

class statement {
 public:
  statement(connection& c, std::string_view sql);
  ~statement();
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int i, std::int64_t v);
  statement& bind(int i, double v);
  statement& bind(int i, std::string_view v);
  statement& bind_null(int i);
  template <class T>
  statement& bind(int i, const std::optional<T>& v) {
    if (!v) return bind_null(i);
    if constexpr (std::is_same_v<T, bool>)
      return bind(i, std::int64_t{*v ? 1 : 0});
    else
      return bind(i, *v);
  }
  bool step();  // true: a row
  void run();   // steps to the end
  [[nodiscard]] bool is_null(int col) const;
  [[nodiscard]] std::int64_t i64(int col) const;
  [[nodiscard]] double f64(int col) const;
  [[nodiscard]] std::string text(int col) const;
  [[nodiscard]] std::optional<std::int64_t> opt_i64(int col) const;
  [[nodiscard]] std::optional<double> opt_f64(int col) const;
  [[nodiscard]] std::optional<std::string> opt_text(int col) const;

 private:
  void check(int rc) const;
  connection& c_;
  sqlite3_stmt* s_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolled back when destroyed uncommitted.
class transaction {
 public:
  explicit transaction(connection& c);
  ~transaction();
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  void commit();

 private:
  connection& c_;
  bool done_ = false;
};

// The affinity SQLite gives a declared column type (SQLite's rules, section 3.1 of "Datatypes
// In SQLite"): "INTEGER", "TEXT", "BLOB", "REAL" or "NUMERIC".
[[nodiscard]] std::string_view affinity(std::string_view declared);

}  // namespace protos7::store::sql
