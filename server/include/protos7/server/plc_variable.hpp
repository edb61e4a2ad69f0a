// A typed place in the PLC's memory, named by its STEP 7 address ("DB1.DBW2", "M10.3", "QD4")
// or by a variable of the goprotos7 table ("DB1.Temperature"): what scenarios set and the living
// process drives (scenario.hpp, process_sim.hpp). Values are numbers (BOOL 0/1); the bytes are
// goprotos7's layout (store/goprotos7_db.hpp: big-endian, REAL IEEE 754).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "protos7/store/s7_type.hpp"

namespace protos7::server {

class plc_memory;

struct plc_variable {
  std::uint8_t area = 0x84;  // S7 area code: 0x81 I, 0x82 Q, 0x83 M, 0x84 DB
  std::uint16_t db = 0;
  std::size_t byte = 0;
  std::uint8_t bit = 0;  // BOOL only
  store::type_spec type;
  std::string label;  // as written by the user ("DB1.DBW2", "DB1.Temperature")
  friend bool operator==(const plc_variable&, const plc_variable&) = default;
};

// Finds a variable by name ("DB1.Temperature"): the goprotos7 table's, when the caller has one.
using variable_lookup = std::function<std::optional<plc_variable>(std::string_view name)>;

// Parses a STEP 7 address: DB<n>.DBX<b>.<bit> (BOOL), DB<n>.DBB<b> (BYTE), DB<n>.DBW<b> (INT),
// DB<n>.DBD<b> (DINT), and I/E, Q/A, M with X (or none: "M10.3"), B, W, D. `type` ("REAL",
// "WORD", ... store::parse_type) replaces the default type when its size fits the width (B 1,
// W 2, D 4 bytes; X only BOOL). Not an address: `lookup` is asked. Failure: nullopt and a
// sentence in `why`. Only numbers and BOOL are accepted (no STRING, no DATE_AND_TIME).
[[nodiscard]] std::optional<plc_variable> parse_plc_variable(std::string_view text,
                                                             std::string_view type,
                                                             const variable_lookup& lookup,
                                                             std::string& why);

// The variable's value from memory (nullopt: not in memory, e.g. a DB that does not exist).
[[nodiscard]] std::optional<double> read_plc_variable(plc_memory& mem, const plc_variable& v);
// Writes `value`, rounded for whole-number types and clamped to the type's range (BOOL: non-zero
// is 1). A DB write is committed with the loop round, as every write. False: not in memory.
bool write_plc_variable(plc_memory& mem, const plc_variable& v, double value);

}  // namespace protos7::server
