// The plant file: many PLCs for one process (`protos7 serve --plant plant.json`), and the
// generator behind `protos7 plant` (docs/PLANT.md describes the format key by key).
//
//   {
//     "format": "protos7-plant", "version": 1, "name": "line 3",
//     "data_dir": "plant-data",                       // default: plant-data
//     "defaults": {"profile": "s7-315.json", "max_connections": 8},
//     "plcs": [
//       {"name": "plc-0001", "listen": "127.0.1.1:102",
//        "identity": {"as_name": "plc-0001", "serial_number": "S P7-PLT00000001"}},
//       {"name": "press", "listen": "10.0.0.7", "rack": 0, "slot": 3, "data_dir": "/srv/press"}
//     ]
//   }
//
// Every PLC is an independent CPU with the per-PLC flags of `serve` (listen address, profile,
// rack/slot, limits, timeouts, area sizes, identity, storage); "defaults" gives any of them to
// every PLC that does not set it. Relative paths are relative to the plant file's folder. A
// PLC's storage is data_dir/<name> unless it sets data_dir, sqlite_path or db_bin_path.
//
// The loader is strict, like the profile loader: an unknown key, a value of the wrong type or
// range, a duplicate name, address or storage folder, a profile that does not load, an explicit
// SQLite file that does not exist: each is an error naming the file, the JSON path and the PLC
// (`plant.json: $.plcs[7].listen (PLC "plc-0008"): 127.0.1.3:102 is also the address of
// $.plcs[2] (PLC "plc-0003")`), thrown before anything is started or written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "protos7/server/app.hpp"
#include "protos7/server/profile.hpp"

namespace protos7::server {

class plant_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The plant file format version this build reads and writes.
inline constexpr int plant_format_version = 1;
// PLCs in one plant file: each needs a listening socket (a file descriptor) and, measured,
// about 20 KiB of memory besides its DBs (docs/BENCHMARKS.md, "Plant density").
inline constexpr std::size_t max_plant_plcs = 100'000;
// PLC names: they become folder names and URL path parts (docs/API.md).
inline constexpr std::size_t max_plc_name_length = 64;

// One PLC of a plant file.
struct plant_plc {
  std::string name;
  std::string json_path;  // "$.plcs[3]", for messages
  // Everything `protos7 serve` would get from its flags: cfg (listen address and port, rack,
  // slot, limits, timeouts, area sizes), data_dir / sqlite_path / db_bin_path (resolved),
  // profile_path (resolved; empty: the bundled profile), identity overrides and the *_given
  // switches (a profile's limits apply where the plant file sets none).
  serve_options opt;
};

struct plant_file {
  std::string source;  // the file name, for messages
  std::string name;    // "name", or the file name without its extension
  std::vector<plant_plc> plcs;
  // Each distinct profile file, loaded once and shared by every PLC that uses it (identity
  // overrides are applied per PLC, plant.cpp); "" is the bundled profile.
  std::map<std::string, std::shared_ptr<const plc_profile>> profiles;
};

// Reads and checks a plant file (everything above, the profiles loaded). Throws plant_error.
[[nodiscard]] plant_file load_plant(const std::string& path);
// The same from JSON text; `base_dir` is where relative paths start.
[[nodiscard]] plant_file parse_plant(std::string_view json, const std::string& source,
                                     const std::string& base_dir);
// "PLC \"plc-0003\" ($.plcs[2])": how messages name a PLC.
[[nodiscard]] std::string describe_plc(const plant_plc& p);

// `protos7 plant`: `count` PLCs named <prefix>-0001 ... at consecutive addresses from
// `listen_base` (the IPv4 address counts up, skipping the addresses ending in .0 and .255; or
// the port when vary_port), each with its own AS name and serial number (SZL 0x001C).
struct plant_generate_options {
  std::size_t count = 0;
  std::string listen_base = "127.0.1.1:102";
  bool vary_port = false;
  std::string profile;  // a profile file (checked: it must load); empty: the bundled one
  std::string output;   // where the file will be written: the profile path is made relative to it
  std::string name = "plant";
  std::string prefix = "plc";
};
// The plant file's text. Throws plant_error (a count out of range, addresses running out of
// 127.0.0.0/8 or past 255.255.255.254, a bad base, a profile that does not load).
[[nodiscard]] std::string generate_plant(const plant_generate_options& o);

}  // namespace protos7::server
