// The one table of S7comm value names the project prints: Wireshark's wording (the value_string
// tables of its s7comm dissector as TShark 4.0 shows them), so a tool's output reads like a
// Wireshark column, and the STEP 7 mnemonics of areas and transport sizes.
//
// Each lookup returns a view of a string literal, or `fallback` when the value has no name:
// the consumers print unknown values differently ("Function 0x1f", "Unknown function") and
// keep doing so. Everything is constexpr; nothing allocates.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace protos7::codec::names {

struct value_name {
  std::uint8_t value;
  std::string_view name;
};

[[nodiscard]] constexpr std::string_view lookup(std::span<const value_name> table, std::uint8_t v,
                                                std::string_view fallback) noexcept {
  for (const value_name& e : table)
    if (e.value == v) return e.name;
  return fallback;
}

// s7comm.header.rosctr
inline constexpr value_name rosctr_names[] = {
    {0x01, "Job"},
    {0x02, "Ack"},
    {0x03, "Ack_Data"},
    {0x07, "Userdata"},
};

// s7comm.param.func
inline constexpr value_name function_names[] = {
    {0x00, "CPU services"},   {0xF0, "Setup communication"}, {0x04, "Read Var"},
    {0x05, "Write Var"},      {0x1A, "Request download"},    {0x1B, "Download block"},
    {0x1C, "Download ended"}, {0x1D, "Start upload"},        {0x1E, "Upload"},
    {0x1F, "End upload"},     {0x28, "PI-Service"},          {0x29, "PLC Stop"},
};

// s7comm.param.userdata.type (the high nibble of the type/group byte)
inline constexpr value_name userdata_type_names[] = {
    {0x0, "Push"},
    {0x4, "Request"},
    {0x8, "Response"},
};

// s7comm.param.userdata.funcgroup
inline constexpr value_name userdata_group_names[] = {
    {0x0, "Mode-transition"}, {0x1, "Programmer commands"}, {0x2, "Cyclic services"},
    {0x3, "Block functions"}, {0x4, "CPU functions"},       {0x5, "Security"},
    {0x6, "PBC BSEND/BRECV"}, {0x7, "Time functions"},      {0xF, "NC programming"},
};

// s7comm.param.userdata.subfunc, one table per group.
inline constexpr value_name programmer_subfunction_names[] = {
    {0x01, "Block status"},    {0x02, "Variable status"}, {0x03, "Output ISTACK"},
    {0x04, "Output BSTACK"},   {0x05, "Output LSTACK"},   {0x06, "Time measurement from to"},
    {0x07, "Force selection"}, {0x08, "Modify variable"}, {0x09, "Force"},
    {0x0A, "Breakpoint"},      {0x0B, "Exit HOLD"},       {0x0C, "Memory reset"},
    {0x0D, "Disable job"},     {0x0E, "Enable job"},      {0x0F, "Delete job"},
    {0x10, "Read job list"},   {0x11, "Read job"},        {0x12, "Replace job"},
    {0x13, "Block status v2"}, {0x16, "Flash LED"},
};
inline constexpr value_name cyclic_subfunction_names[] = {
    {0x01, "Cyclic transfer"},
    {0x04, "Unsubscribe"},
    {0x05, "Change driven transfer"},
    {0x07, "Change driven transfer modify"},
    {0x08, "RDREC"},
};
inline constexpr value_name block_subfunction_names[] = {
    {0x01, "List blocks"},
    {0x02, "List blocks of type"},
    {0x03, "Get block info"},
};
inline constexpr value_name cpu_subfunction_names[] = {
    {0x01, "Read SZL"},
    {0x02, "Message service"},
    {0x03, "Diagnostic message"},
    {0x05, "ALARM_8 indication"},
    {0x06, "NOTIFY indication"},
    {0x07, "ALARM_8 lock"},
    {0x08, "ALARM_8 unlock"},
    {0x09, "SCAN indication"},
    {0x0B, "ALARM ack"},
    {0x0C, "ALARM ack indication"},
    {0x0D, "ALARM lock indication"},
    {0x0E, "ALARM unlock indication"},
    {0x11, "ALARM_SQ indication"},
    {0x12, "ALARM_S indication"},
    {0x13, "ALARM query"},
    {0x16, "NOTIFY_8 indication"},
};
inline constexpr value_name security_subfunction_names[] = {
    {0x01, "PLC password"},
};
inline constexpr value_name time_subfunction_names[] = {
    {0x01, "Read clock"},
    {0x02, "Set clock"},
    {0x03, "Read clock (following)"},
    {0x04, "Set clock"},
};
inline constexpr value_name nc_subfunction_names[] = {
    {0x01, "Request download"}, {0x02, "Download block"}, {0x03, "Continue download"},
    {0x04, "Download ended"},   {0x06, "Start upload"},   {0x07, "Upload"},
    {0x08, "Continue upload"},
};

// STEP 7 mnemonics of the S7ANY areas (s7comm.param.item.area), as STEP 7 addresses name them:
// I (inputs), Q (outputs), M (flags), DB, DI (instance DB), P (peripheral), L (local), V (S7-200),
// C (counters), T (timers).
inline constexpr value_name area_mnemonics[] = {
    {0x80, "P"},  {0x81, "I"}, {0x82, "Q"}, {0x83, "M"}, {0x84, "DB"},
    {0x85, "DI"}, {0x86, "L"}, {0x87, "V"}, {0x1C, "C"}, {0x1D, "T"},
};

// STEP 7 data type names of the S7ANY transport sizes, as an ANY pointer shows them
// (P#DB1.DBX0.0 BYTE 4): BIT is BOOL there, DATE_AND_TIME is DT.
inline constexpr value_name transport_size_mnemonics[] = {
    {1, "BOOL"}, {2, "BYTE"}, {3, "CHAR"}, {4, "WORD"},  {5, "INT"},     {6, "DWORD"}, {7, "DINT"},
    {8, "REAL"}, {9, "DATE"}, {10, "TOD"}, {11, "TIME"}, {12, "S5TIME"}, {15, "DT"},
};

[[nodiscard]] constexpr std::string_view rosctr(std::uint8_t r,
                                                std::string_view fallback = {}) noexcept {
  return lookup(rosctr_names, r, fallback);
}
[[nodiscard]] constexpr std::string_view function(std::uint8_t fn,
                                                  std::string_view fallback = {}) noexcept {
  return lookup(function_names, fn, fallback);
}
[[nodiscard]] constexpr std::string_view userdata_type(std::uint8_t type,
                                                       std::string_view fallback = {}) noexcept {
  return lookup(userdata_type_names, type, fallback);
}
[[nodiscard]] constexpr std::string_view userdata_group(std::uint8_t group,
                                                        std::string_view fallback = {}) noexcept {
  return lookup(userdata_group_names, group, fallback);
}
[[nodiscard]] constexpr std::span<const value_name> userdata_subfunction_names(
    std::uint8_t group) noexcept {
  switch (group) {
    case 0x1:
      return programmer_subfunction_names;
    case 0x2:
      return cyclic_subfunction_names;
    case 0x3:
      return block_subfunction_names;
    case 0x4:
      return cpu_subfunction_names;
    case 0x5:
      return security_subfunction_names;
    case 0x7:
      return time_subfunction_names;
    case 0xF:
      return nc_subfunction_names;
    default:
      return {};
  }
}
[[nodiscard]] constexpr std::string_view userdata_subfunction(
    std::uint8_t group, std::uint8_t sub, std::string_view fallback = {}) noexcept {
  return lookup(userdata_subfunction_names(group), sub, fallback);
}
[[nodiscard]] constexpr std::string_view area_mnemonic(std::uint8_t area,
                                                       std::string_view fallback = {}) noexcept {
  return lookup(area_mnemonics, area, fallback);
}

[[nodiscard]] constexpr std::string_view transport_size_mnemonic(
    std::uint8_t tsize, std::string_view fallback = {}) noexcept {
  return lookup(transport_size_mnemonics, tsize, fallback);
}

}  // namespace protos7::codec::names
