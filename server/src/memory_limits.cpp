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

using json_walk::get_uint;
using json_walk::number_text;

}  // namespace

void read_memory_limits(const json& l, const json_walk::place& where, memory_limits& m) {
  // 32 KiB: less than one largest DB (64 KiB) would refuse every DB download; 4 GiB - 1: u32.
  constexpr std::uint64_t min_memory = std::uint64_t{32} * 1024, max_memory = 0xFFFFFFFF;
  for (const auto& [key, field] : {std::pair{"load_memory", &memory_limits::load_memory},
                                   std::pair{"work_memory", &memory_limits::work_memory}})
    if (l.contains(key))
      m.*field = static_cast<std::uint32_t>(
          get_uint(l.at(key), where.key(key), min_memory, max_memory, number_text::refused));
  if (!l.contains("max_blocks")) return;
  const json& b = l.at("max_blocks");
  const json_walk::place w = where.key("max_blocks");
  if (!b.is_object()) w.fail(fmt::format("expected an object, got {}", json_walk::type_of(b)));
  for (const auto& [key, value] : b.items()) {
    if (key == "comment") continue;
    if (key == "total") {
      m.max_blocks_total = static_cast<std::uint16_t>(
          get_uint(value, w.key("total"), 0, 0xFFFF, number_text::refused));
      continue;
    }
    const auto type = block_type_from_name(key);
    if (!type ||
        std::find(limited_types.begin(), limited_types.end(), *type) == limited_types.end())
      w.key(key).fail("unknown key (allowed here: OB, FB, FC, DB, SDB, total, comment)");
    m.max_blocks[*type - 0x08U] =
        static_cast<std::uint16_t>(get_uint(value, w.key(key), 0, 0xFFFF, number_text::refused));
  }
}

}  // namespace protos7::server
