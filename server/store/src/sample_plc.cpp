// The bundled sample PLC. DB200 is goprotos7's dashboard example (docs/goprotos7-dbtools-
// dashboard.png): MachineStatus INT at 0 with its named states, TestVar 2.0, Flags_Machine In
// Critical 3.0, MachineName STRING[20] at 4, MachineConditions_maintenance/_warning 26.0/26.1.
// BOOLs are LIST variables with TRUE/FALSE buttons, as goprotos7's dbtool creates them.
// DB10 and DB11 are the instance DBs of FB1 MOTOR, DB20 that of FB2 TEMPCTRL (the bundled
// profile's program blocks, docs/PROFILE.md), DB100 a watch table's variables of every everyday
// type.
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
      // DB10, DB11: instance DBs of FB1 MOTOR (IN, OUT, then STAT, as Step 7 lays them out).
      {30, 10, "Start", "BOOL", 0, 0, "Conveyor motor: start command", b(false)},
      {31, 10, "Stop", "BOOL", 0, 1, "Conveyor motor: stop command", b(false)},
      {32, 10, "SpeedSetpoint", "INT", 2, 0, "Conveyor motor: speed setpoint (rpm)", i(1450)},
      {33, 10, "Running", "BOOL", 4, 0, "Conveyor motor: running", b(true)},
      {34, 10, "Fault", "BOOL", 4, 1, "Conveyor motor: fault", b(false)},
      {35, 10, "SpeedActual", "INT", 6, 0, "Conveyor motor: actual speed (rpm)", i(1447)},
      {36, 10, "RunHours", "DINT", 8, 0, "Conveyor motor: operating hours", i(1834)},
      {37, 10, "Starts", "DINT", 12, 0, "Conveyor motor: number of starts", i(412)},
      {40, 11, "Start", "BOOL", 0, 0, "Pump motor: start command", b(false)},
      {41, 11, "Stop", "BOOL", 0, 1, "Pump motor: stop command", b(false)},
      {42, 11, "SpeedSetpoint", "INT", 2, 0, "Pump motor: speed setpoint (rpm)", i(2900)},
      {43, 11, "Running", "BOOL", 4, 0, "Pump motor: running", b(false)},
      {44, 11, "Fault", "BOOL", 4, 1, "Pump motor: fault", b(false)},
      {45, 11, "SpeedActual", "INT", 6, 0, "Pump motor: actual speed (rpm)", i(0)},
      {46, 11, "RunHours", "DINT", 8, 0, "Pump motor: operating hours", i(977)},
      {47, 11, "Starts", "DINT", 12, 0, "Pump motor: number of starts", i(128)},
      // DB20: instance DB of FB2 TEMPCTRL (called by OB35).
      {50, 20, "Setpoint", "REAL", 0, 0, "Oven temperature setpoint (C)", r(180.0)},
      {51, 20, "Actual", "REAL", 4, 0, "Oven temperature (C)", r(178.5)},
      {52, 20, "Auto", "BOOL", 8, 0, "Automatic mode", b(true)},
      {53, 20, "Output", "REAL", 10, 0, "Heater output (%)", r(42.0)},
      {54, 20, "Gain", "REAL", 14, 0, "Proportional gain", r(2.5)},
      {55, 20, "ResetTime", "TIME", 18, 0, "Integral time", i(20000)},
      // DB100: a watch table's worth of variables, one of each everyday type.
      {60, 100, "Lamp", "BOOL", 0, 0, "Signal lamp", b(true)},
      {61, 100, "Horn", "BOOL", 0, 1, "Horn", b(false)},
      {62, 100, "Mode", "BYTE", 1, 0, "Operating mode (1 manual, 2 auto)", i(2)},
      {63, 100, "Status", "WORD", 2, 0, "Status word", i(0x0011)},
      {64, 100, "Level", "INT", 4, 0, "Tank level (mm)", i(512)},
      {65, 100, "Mask", "DWORD", 6, 0, "Enable mask", i(0x0000FFFF)},
      {66, 100, "Cycles", "DINT", 10, 0, "Machine cycles", i(98765)},
      {67, 100, "Flow", "REAL", 14, 0, "Flow (m3/h)", r(12.5)},
      {68, 100, "Uptime", "TIME", 18, 0, "Time since start", i(3600000)},
      {69, 100, "Operator", "STRING[16]", 22, 0, "Operator on shift", s("protos7")},
  };
  catalog c;
  for (const sample_row& row : rows) c.variables.push_back(make(row));
  c.variables[10].states = {{"Idle", list_kind::integer, 0, 0},
                            {"Running", list_kind::integer, 1, 0},
                            {"Critical", list_kind::integer, 2, 0}};
  c.declared_sizes = {{1, 256}, {2, 64}, {10, 16}, {11, 16}, {20, 22}, {100, 40}, {200, 64}};
  return c;
}

}  // namespace protos7::store
