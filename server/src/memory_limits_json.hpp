// Reading the memory limits of a profile's "limits" object (profile.cpp calls these;
// the keys are load_memory, work_memory and max_blocks, docs/PROFILE.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "json_walk.hpp"
#include "protos7/server/memory_limits.hpp"

namespace protos7::server {

// Reads load_memory, work_memory and max_blocks from the "limits" object `l` into `m` (absent
// keys keep m's values). `where` is the object's place ("file: $.limits"); a value of the wrong
// type or range or an unknown block type fails there (profile_error).
void read_memory_limits(const nlohmann::ordered_json& l, const json_walk::place& where,
                        memory_limits& m);

}  // namespace protos7::server
