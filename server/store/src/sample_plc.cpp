// The bundled sample PLC. DB200 is goprotos7's dashboard example (docs/goprotos7-dbtools-
// dashboard.png): MachineStatus INT at 0 with its named states, TestVar 2.0, Flags_Machine In
// Critical 3.0, MachineName STRING[20] at 4, MachineConditions_maintenance/_warning 26.0/26.1.
// BOOLs are LIST variables with TRUE/FALSE buttons, as goprotos7's dbtool creates them.
#include "protos7/store/goprotos7_db.hpp"

namespace protos7::store {

namespace {

struct sample_row {
  std::int64_t id;
  std::uint16_t db;
  const char* name;
  const char* type;
  std::size_t byte;
  std::uint8_t bit;
  const char* description;
  value_columns values;
};

variable make(const sample_row& r) {
  std::string why;
  variable v;
  v.id = r.id;
  v.db = r.db;
  v.name = r.name;
  v.type = *parse_type(r.type, why);
  v.byte_offset = r.byte;
  v.bit_offset = r.bit;
  v.description = r.description;
  v.values = r.values;
  if (v.type.is_bool())
    v.states = {{"TRUE", list_kind::boolean, 1, 0}, {"FALSE", list_kind::boolean, 0, 0}};
  return v;
}

value_columns i(std::int64_t v) {
  return {v, {}, {}, {}};
}
value_columns r(double v) {
  return {{}, v, {}, {}};
}
value_columns s(const char* v) {
  return {{}, {}, std::string{v}, {}};
}
value_columns b(bool v) {
  return {{}, {}, {}, v};
}

}  // namespace

catalog sample_catalog() {
  const sample_row rows[] = {
      {1, 1, "Counter", "INT", 0, 0, "Production counter", i(0)},
      {2, 1, "Temperature", "REAL", 2, 0, "Oven temperature (C)", r(21.5)},
      {3, 1, "Running", "BOOL", 6, 0, "Line running", b(true)},
      {4, 1, "Alarm", "BOOL", 6, 1, "Alarm active", b(false)},
      {5, 1, "Setpoint", "REAL", 8, 0, "Temperature setpoint", r(180.0)},
      {6, 1, "TotalParts", "DINT", 12, 0, "Parts since reset", i(123456)},
      {7, 1, "Recipe", "STRING[32]", 16, 0, "Active recipe", s("Default")},
      {8, 2, "Speed", "INT", 0, 0, "Conveyor speed", i(1500)},
      {9, 2, "StatusWord", "WORD", 2, 0, "Status bits", i(0)},
      {10, 2, "Pressure", "REAL", 4, 0, "Line pressure (bar)", r(4.2)},
      {20, 200, "MachineStatus", "INT", 0, 0, "Machine Status (0: idle, 1: running, 2: critical)",
       i(0)},
      {21, 200, "TestVar", "BOOL", 2, 0, "TestVar", b(true)},
      {22, 200, "Flags_Machine In Critical", "BOOL", 3, 0, "Machine In Critical", b(false)},
      {23, 200, "MachineName", "STRING[20]", 4, 0, "Machine name", s("GoProtoS7Emulator")},
      {24, 200, "MachineConditions_maintenance", "BOOL", 26, 0, "maintenance", b(false)},
      {25, 200, "MachineConditions_warning", "BOOL", 26, 1, "warning", b(false)},
  };
  catalog c;
  for (const sample_row& row : rows) c.variables.push_back(make(row));
  c.variables[10].states = {{"Idle", list_kind::integer, 0, 0},
                            {"Running", list_kind::integer, 1, 0},
                            {"Critical", list_kind::integer, 2, 0}};
  c.declared_sizes = {{1, 256}, {2, 64}, {200, 64}};
  return c;
}

}  // namespace protos7::store
