// The S7 data types protos7 stores, serves and edits: one table for the server, the web admin
// and goprotos7's SQLite files.
//
//   type           bytes  goprotos7 data_type (db_variables)     value column
//   BOOL           bit    BOOL                                   bool_val
//   BYTE CHAR      1      BYTE, CHAR                             int_val, str_val
//   SINT USINT     1      SINT, USINT                            int_val
//   WORD INT UINT  2      WORD, INT, UINT                        int_val
//   DWORD DINT     4      DWORD, DINT, UDINT                     int_val
//   UDINT
//   LWORD LINT     8      LWORD, LINT, ULINT                     int_val (ULINT/LWORD above
//   ULINT                                                          2^63-1 as the same 64 bits)
//   REAL LREAL     4, 8   REAL, LREAL (IEEE 754, big-endian)     real_val
//   STRING[n]      n+2    'STRING[n]' with n in `length`         str_val
//   TIME           4      DINT  (+ protos7_variable_types row)   int_val: milliseconds
//   DATE           2      UINT  (+ row)                          int_val: days since 1990-01-01
//   TIME_OF_DAY    4      UDINT (+ row)                          int_val: ms since midnight
//   S5TIME         2      WORD  (+ row)                          int_val: the raw word
//   DATE_AND_TIME  8      LWORD (+ row)                          int_val: the 8 BCD bytes
//
// The last five are not goprotos7 types: protos7 stores each as the goprotos7 type with the
// same bytes, so goprotos7 reads the file and builds the same DB<n>.bin, and keeps the S7 type
// in a table of its own (goprotos7_db.hpp). Facts: goprotos7's data_types.go and build-datab.go
// (BSD-3-Clause), STEP 7's elementary types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace protos7::store {

enum class s7_kind : std::uint8_t {
  boolean,
  byte,
  character,
  word,
  integer,
  dword,
  dinteger,
  real,
  string,
  time,
  date,
  time_of_day,
  date_and_time,
  s5time,
  sint,
  usint,
  uint,
  udint,
  lword,
  lint,
  ulint,
  lreal,
};

// Longest S7 STRING (STRING[254]: 256 bytes with the two length bytes).
inline constexpr std::size_t max_string_length = 254;

struct type_spec {
  s7_kind kind = s7_kind::byte;
  std::size_t string_length = 0;  // STRING[n]: n, 1..254

  // Bytes occupied (BOOL: 1, the byte holding the bit).
  [[nodiscard]] std::size_t size() const noexcept;
  // Canonical name: "INT", "STRING[20]", "TIME_OF_DAY".
  [[nodiscard]] std::string name() const;
  [[nodiscard]] bool is_bool() const noexcept { return kind == s7_kind::boolean; }
  // A whole number held in int_val (BYTE, WORD, DWORD, LWORD and the signed/unsigned INTs).
  [[nodiscard]] bool is_integer() const noexcept;
  [[nodiscard]] bool is_signed() const noexcept;
  [[nodiscard]] bool is_float() const noexcept {
    return kind == s7_kind::real || kind == s7_kind::lreal;
  }
  [[nodiscard]] bool is_text() const noexcept {
    return kind == s7_kind::string || kind == s7_kind::character;
  }
  // Named values (goprotos7's LIST variables and their static_var_definitions buttons).
  [[nodiscard]] bool has_states() const noexcept {
    return is_bool() || is_integer() || is_float() || is_text();
  }
  // One of goprotos7's seventeen data types (the rest are stored as goprotos7_type()).
  [[nodiscard]] bool is_goprotos7() const noexcept;
  // The goprotos7 type with the same bytes: itself for the seventeen, DINT for TIME, ...
  [[nodiscard]] type_spec goprotos7_type() const noexcept;
  // db_variables.data_type as goprotos7 writes it ("STRING[n]" for every STRING).
  [[nodiscard]] std::string goprotos7_name() const;
  friend bool operator==(const type_spec&, const type_spec&) = default;
};

// Parses a type name, case-insensitively: the names above, "STRING" (= STRING[254]) and the
// STEP 7 short forms TOD and DT. On failure returns nullopt and puts a sentence into `why`.
[[nodiscard]] std::optional<type_spec> parse_type(std::string_view text, std::string& why);

// Every type name protos7 accepts, in display order (STRING shown as "STRING[n]").
[[nodiscard]] const std::vector<std::string>& type_names();

}  // namespace protos7::store
