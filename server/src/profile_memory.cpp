// The `dbs` and `memory` sections of a profile put into the PLC's memory (profile.hpp,
// docs/PROFILE.md "dbs" and "memory").
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "protos7/codec/names.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/profile.hpp"
#include "protos7/store/atomic_file.hpp"

namespace protos7::server {

namespace {

std::string_view area_flag(std::uint8_t area) {
  switch (area) {
    case 0x81:
      return "--inputs-size";
    case 0x82:
      return "--outputs-size";
    case 0x83:
      return "--flags-size";
    case 0x1C:
      return "--counters";
    case 0x1D:
      return "--timers";
    default:
      return "";
  }
}

}  // namespace

std::size_t apply_profile_memory(const plc_profile& p, plc_memory& mem,
                                 const std::string& bin_dir) {
  std::size_t created = 0;
  for (const profile_db& d : p.dbs) {
    if (mem.find_db(d.number) != nullptr) {
      log(log_level::info, "profile DB{}: kept the DB of storage ({} bytes), not the profile's",
          d.number, mem.find_db(d.number)->size());
      continue;
    }
    std::vector<std::byte> bytes(d.size);
    for (const memory_range& r : p.memory) {
      if (r.area != 0x84 || r.db != d.number) continue;
      // parse_profile checked that the range lies inside the DB.
      std::memcpy(bytes.data() + r.offset, r.bytes.data(), r.bytes.size());
    }
    std::unique_ptr<data_block> db;
    if (bin_dir.empty()) {
      db = std::make_unique<data_block>(d.number, std::move(bytes), "");
    } else {
      const std::string path = fmt::format("{}/DB{}.bin", bin_dir, d.number);
      store::write_file_atomically(path, bytes);
      db = std::make_unique<data_block>(d.number, std::move(bytes), path);
    }
    mem.add_db(std::move(db));
    ++created;
  }
  for (const memory_range& r : p.memory) {
    if (r.area == 0x84) continue;
    // Counters and timers: 2 bytes each, counter n at byte 2n (as the session addresses them).
    const location loc = mem.locate(r.area, 0, r.offset, r.bytes.size());
    if (loc.return_code != codec::s7::return_code::success || loc.ram.size() != r.bytes.size())
      throw profile_error(
          fmt::format("{}: memory of area {} bytes {} to {} does not fit the area (raise {})",
                      p.source, codec::names::area_mnemonic(r.area, "?"), r.offset,
                      r.offset + r.bytes.size() - 1, area_flag(r.area)));
    std::memcpy(loc.ram.data(), r.bytes.data(), r.bytes.size());
  }
  return created;
}

}  // namespace protos7::server
