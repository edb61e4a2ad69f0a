#include <fmt/format.h>

#include <algorithm>

#include "memory_limits_json.hpp"
#include "protos7/server/profile.hpp"

namespace protos7::server {

namespace {

using json = nlohmann::ordered_json;

// The block types a CPU keeps in its directory and can be given a limit (SFC/SFB are built in).
constexpr std::array<std::uint8_t, 5> limited_types{block_type::ob, block_type::fb, block_type::fc,
                                                    block_type::db, block_type::sdb};

std::uint64_t read_number(const json& j, const std::string& where, std::uint64_t min,
                          std::uint64_t max) {
  if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0))
    throw profile_error(fmt::format("{}: expected a number from {} to {}", where, min, max));
  const auto v = j.get<std::uint64_t>();
  if (v < min || v > max)
    throw profile_error(fmt::format("{}: {} is out of range ({} to {})", where, v, min, max));
  return v;
}

}  // namespace

void read_memory_limits(const json& l, const std::string& where, memory_limits& m) {
  // 32 KiB: less than one largest DB (64 KiB) would refuse every DB download; 4 GiB - 1: u32.
  constexpr std::uint64_t min_memory = std::uint64_t{32} * 1024, max_memory = 0xFFFFFFFF;
  if (l.contains("load_memory"))
    m.load_memory = static_cast<std::uint32_t>(
        read_number(l.at("load_memory"), where + ".load_memory", min_memory, max_memory));
  if (l.contains("work_memory"))
    m.work_memory = static_cast<std::uint32_t>(
        read_number(l.at("work_memory"), where + ".work_memory", min_memory, max_memory));
  if (!l.contains("max_blocks")) return;
  const json& b = l.at("max_blocks");
  const std::string w = where + ".max_blocks";
  if (!b.is_object()) throw profile_error(fmt::format("{}: expected an object", w));
  for (const auto& [key, value] : b.items()) {
    if (key == "comment") continue;
    if (key == "total") {
      m.max_blocks_total = static_cast<std::uint16_t>(read_number(value, w + ".total", 0, 0xFFFF));
      continue;
    }
    const auto type = block_type_from_name(key);
    if (!type ||
        std::find(limited_types.begin(), limited_types.end(), *type) == limited_types.end())
      throw profile_error(fmt::format(
          "{}.{}: unknown key (allowed here: OB, FB, FC, DB, SDB, total, comment)", w, key));
    m.max_blocks[*type - 0x08U] =
        static_cast<std::uint16_t>(read_number(value, fmt::format("{}.{}", w, key), 0, 0xFFFF));
  }
}

}  // namespace protos7::server
