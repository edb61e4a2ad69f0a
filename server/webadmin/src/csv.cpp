#include "protos7/webadmin/csv.hpp"

#include <fmt/core.h>

namespace protos7::webadmin {

std::optional<std::vector<csv_row>> parse_csv(std::string_view text, std::size_t max_rows, csv_error& err) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  // The separator: ';' when the first line has a ';' outside quotes and no ','.
  char sep = ',';
  {
    bool quoted = false;
    bool comma = false;
    bool semicolon = false;
    for (const char c : text) {
      if (c == '"') quoted = !quoted;
      if (quoted) continue;
      if (c == '\n') break;
      comma = comma || c == ',';
      semicolon = semicolon || c == ';';
    }
    if (semicolon && !comma) sep = ';';
  }
  std::vector<csv_row> rows;
  csv_row row;
  std::string field;
  std::size_t line = 1;
  std::size_t i = 0;
  bool row_has_content = false;
  const auto end_row = [&]() -> bool {
    row.push_back(std::move(field));
    field.clear();
    if (row_has_content || row.size() > 1) {
      if (rows.size() >= max_rows) {
        err = {line, fmt::format("more than {} rows", max_rows)};
        return false;
      }
      rows.push_back(std::move(row));
    }
    row.clear();
    row_has_content = false;
    return true;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"' && field.empty()) {
      // Quoted field.
      const std::size_t start_line = line;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      if (!closed) {
        err = {start_line, "a quoted field is not closed (missing '\"')"};
        return std::nullopt;
      }
      row_has_content = true;
      if (i < text.size() && text[i] != sep && text[i] != '\r' && text[i] != '\n') {
        err = {line, fmt::format("text after a closing quote (expected '{}' or the end of the line)", sep)};
        return std::nullopt;
      }
      continue;
    }
    if (c == sep) {
      row.push_back(std::move(field));
      field.clear();
      row_has_content = true;
      ++i;
      continue;
    }
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
      continue;
    }
    if (c == '\n' || c == '\r') {
      if (!end_row()) return std::nullopt;
      ++line;
      ++i;
      continue;
    }
    if (c == '"') {
      err = {line, "a '\"' inside an unquoted field (quote the whole field and double the quote)"};
      return std::nullopt;
    }
    field += c;
    row_has_content = true;
    ++i;
  }
  if (row_has_content || !field.empty() || !row.empty())
    if (!end_row()) return std::nullopt;
  return rows;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",;\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string csv_line(const csv_row& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i != 0) out += ',';
    out += csv_field(fields[i]);
  }
  out += "\r\n";
  return out;
}

}  // namespace protos7::webadmin
