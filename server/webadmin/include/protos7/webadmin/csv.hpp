// CSV as RFC 4180 writes it: fields separated by ',', quoted with '"' when they hold a
// separator, a quote or a line break, quotes doubled inside. The reader also accepts ';' as the
// separator (spreadsheets in many locales write it; detected from the header line), LF line
// ends, and a UTF-8 byte order mark.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace protos7::webadmin {

using csv_row = std::vector<std::string>;

struct csv_error {
  std::size_t line = 0;  // 1-based
  std::string message;
};

// Reads the text row by row: on_row(row, index) gets each row (index 0 = the first) as soon as
// it is complete and may move from it; only that row is held, so memory stays bounded by the
// longest row whatever the text (issue #16). Returns false with `err` set on an error (below) or
// when on_row returns false (err.message then empty). Empty lines are skipped. Errors: a quote
// inside an unquoted field, text after a closing quote, an unterminated quoted field, more than
// `max_rows` rows, more than `max_fields` fields in a row.
bool for_each_csv_row(std::string_view text, std::size_t max_rows, std::size_t max_fields,
                      csv_error& err,
                      const std::function<bool(csv_row& row, std::size_t index)>& on_row);

// Parses the whole text (for_each_csv_row without a field limit, every row kept).
[[nodiscard]] std::optional<std::vector<csv_row>> parse_csv(std::string_view text,
                                                            std::size_t max_rows, csv_error& err);

// One field, quoted if needed.
[[nodiscard]] std::string csv_field(std::string_view s);
// A row terminated by CRLF.
[[nodiscard]] std::string csv_line(const csv_row& fields);

}  // namespace protos7::webadmin
