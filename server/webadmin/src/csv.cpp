#include "protos7/webadmin/csv.hpp"

#include <fmt/core.h>

#include <limits>

namespace protos7::webadmin {

namespace {

// ';' when the first line has a ';' outside quotes and no ','.
char separator_of(std::string_view text) {
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
  return semicolon && !comma ? ';' : ',';
}

// The reader's state: the row being read and where it is.
struct reader {
  std::string_view text;
  char sep;
  std::size_t max_rows, max_fields;
  csv_error& err;
  const std::function<bool(csv_row&, std::size_t)>& on_row;
  csv_row row;
  std::string field;
  std::size_t line = 1, rows = 0, i = 0;
  bool has_content = false;
  bool stopped = false;  // on_row returned false

  bool end_field() {
    if (row.size() >= max_fields) {
      err = {line, fmt::format("more than {} fields in a row", max_fields)};
      return false;
    }
    row.push_back(std::move(field));
    field.clear();
    return true;
  }
  bool end_row() {
    if (!end_field()) return false;
    if (has_content || row.size() > 1) {
      if (rows >= max_rows) {
        err = {line, fmt::format("more than {} rows", max_rows)};
        return false;
      }
      if (!on_row(row, rows++)) {
        stopped = true;
        return false;
      }
    }
    row.clear();
    has_content = false;
    return true;
  }
  // At a '"' that starts a field: reads it up to its closing quote.
  bool quoted_field() {
    const std::size_t start_line = line;
    ++i;
    for (;;) {
      if (i >= text.size()) {
        err = {start_line, "a quoted field is not closed (missing '\"')"};
        return false;
      }
      if (text[i] == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      if (text[i] == '\n') ++line;
      field += text[i++];
    }
    has_content = true;
    if (i < text.size() && text[i] != sep && text[i] != '\r' && text[i] != '\n') {
      err = {line,
             fmt::format("text after a closing quote (expected '{}' or the end of the line)", sep)};
      return false;
    }
    return true;
  }
  bool run() {
    while (i < text.size()) {
      const char c = text[i];
      if (c == '"' && field.empty()) {
        if (!quoted_field()) return false;
      } else if (c == sep) {
        if (!end_field()) return false;
        has_content = true;
        ++i;
      } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      } else if (c == '\n' || c == '\r') {
        if (!end_row()) return false;
        ++line;
        ++i;
      } else if (c == '"') {
        err = {line,
               "a '\"' inside an unquoted field (quote the whole field and double the quote)"};
        return false;
      } else {
        field += c;
        has_content = true;
        ++i;
      }
    }
    if (has_content || !field.empty() || !row.empty()) return end_row();
    return true;
  }
};

}  // namespace

bool for_each_csv_row(std::string_view text, std::size_t max_rows, std::size_t max_fields,
                      csv_error& err,
                      const std::function<bool(csv_row& row, std::size_t index)>& on_row) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  reader r{text, separator_of(text), max_rows, max_fields, err, on_row, {}, {}};
  if (r.run()) return true;
  if (r.stopped) err = {};
  return false;
}

std::optional<std::vector<csv_row>> parse_csv(std::string_view text, std::size_t max_rows,
                                              csv_error& err) {
  std::vector<csv_row> rows;
  const bool ok = for_each_csv_row(text, max_rows, std::numeric_limits<std::size_t>::max(), err,
                                   [&](csv_row& row, std::size_t) {
                                     rows.push_back(std::move(row));
                                     return true;
                                   });
  if (!ok) return std::nullopt;
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
