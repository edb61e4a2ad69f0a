#include "protos7/server/plc_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "protos7/server/log.hpp"
#include "protos7/server/services.hpp"
#include "protos7/store/atomic_file.hpp"

namespace protos7::server {

namespace {

using std::chrono::milliseconds;
constexpr std::chrono::sys_days s7_epoch = std::chrono::sys_days{std::chrono::year{1984} / 1 / 1};

std::shared_ptr<const plc_profile> profile_of(const config& cfg) {
  if (cfg.profile) return cfg.profile;
  // The bundled profile is a process-wide constant: share it without owning it.
  return {std::shared_ptr<const plc_profile>{}, &bundled_profile()};
}

// An MC7 block file is its code and interface between a 36-byte header and a 36-byte footer
// (docs/PROFILE.md, "The MC7 block format").
constexpr std::uint64_t mc7_overhead = 72;

// The CPU's "number of blocks (total)" counts DBs, FCs and FBs.
bool counts_in_total(std::uint8_t type) {
  return type == block_type::db || type == block_type::fc || type == block_type::fb;
}

block_time block_time_of(std::chrono::system_clock::time_point tp) {
  const auto ms = std::chrono::duration_cast<milliseconds>(tp.time_since_epoch());
  const auto day = std::chrono::floor<std::chrono::days>(std::chrono::sys_time<milliseconds>{ms});
  const auto days = (day - s7_epoch).count();
  if (days < 0 || days > 0xFFFF) return {};
  return {static_cast<std::uint32_t>((ms - day.time_since_epoch()).count()),
          static_cast<std::uint16_t>(days)};
}

}  // namespace

plc_state::plc_state(const config& cfg, plc_memory& mem)
    : cfg_(cfg),
      mem_(mem),
      profile_(profile_of(cfg)),
      identity_(profile_->id),
      mode_(profile_->start_mode),
      clock_offset_(profile_->clock_offset_ms),
      protection_level_(profile_->protection_level),
      password_(profile_->password),
      blocks_(profile_->blocks),
      dir_sync_(&store::fsync_dir) {
  last_change_.from = last_change_.to = mode_;
  // The profile's DBs with block info (a learned CPU's, "dbs" in docs/PROFILE.md) describe
  // themselves like a downloaded DB; an interface the profile does not give is zeros.
  for (const profile_db& d : profile_->dbs)
    if (d.info)
      db_meta_[d.number] = {
          *d.info, d.interface.empty() ? std::vector<std::byte>(d.info->sbb_length) : d.interface};
}

bool plc_state::set_mode(operating_mode m, std::string_view reason) {
  if (m == mode_) return false;
  last_change_.from = mode_;
  last_change_.to = m;
  last_change_.reason = std::string(reason);
  last_change_.at = std::chrono::system_clock::now();
  ++last_change_.sequence;
  mode_ = m;
  log(log_level::info, "operating mode {} ({})", m == operating_mode::run ? "RUN" : "STOP", reason);
  // Copy: an observer may remove itself.
  const auto obs = observers_;
  for (const auto& [id, f] : obs) f(last_change_);
  return true;
}

std::size_t plc_state::on_mode_change(std::function<void(const mode_change&)> f) {
  const std::size_t id = next_observer_++;
  observers_.emplace(id, std::move(f));
  return id;
}

void plc_state::remove_mode_observer(std::size_t id) {
  observers_.erase(id);
}

milliseconds plc_state::host_now() const {
  const auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<milliseconds>(now.time_since_epoch());
  if (profile_->clock_local) {
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    if (::localtime_r(&t, &tm) != nullptr) ms += std::chrono::seconds{tm.tm_gmtoff};
  }
  return ms;
}

codec::s7::ud::timestamp plc_state::clock_now() const {
  const milliseconds plc = host_now() + clock_offset_;
  const auto day = std::chrono::floor<std::chrono::days>(std::chrono::sys_time<milliseconds>{plc});
  const std::chrono::year_month_day ymd{day};
  const std::chrono::weekday wd{day};
  const auto tod = (plc - day.time_since_epoch()).count();
  codec::s7::ud::timestamp t;
  // The captured CPU sends 0x19 as the "year high" byte even in 2014
  // (s7comm_reading_setting_plc_time.pcap frame 26: 00 19 14 08 20 11 59 43 91 24).
  t.year_high = 0x19;
  t.year = static_cast<std::uint16_t>(static_cast<int>(ymd.year()));
  t.month = static_cast<std::uint8_t>(static_cast<unsigned>(ymd.month()));
  t.day = static_cast<std::uint8_t>(static_cast<unsigned>(ymd.day()));
  t.hour = static_cast<std::uint8_t>(tod / 3'600'000);
  t.minute = static_cast<std::uint8_t>(tod / 60'000 % 60);
  t.second = static_cast<std::uint8_t>(tod / 1000 % 60);
  t.millisecond = static_cast<std::uint16_t>(tod % 1000);
  t.weekday = static_cast<std::uint8_t>(wd.c_encoding() + 1);  // 1 = Sunday
  return t;
}

bool plc_state::set_clock(const codec::s7::ud::timestamp& t) {
  const std::chrono::year_month_day ymd{std::chrono::year{t.year}, std::chrono::month{t.month},
                                        std::chrono::day{t.day}};
  if (!ymd.ok() || t.year < 1990 || t.year > 2089 || t.hour > 23 || t.minute > 59 ||
      t.second > 59 || t.millisecond > 999)
    return false;
  const milliseconds target =
      std::chrono::sys_days{ymd}.time_since_epoch() +
      milliseconds{((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.millisecond};
  clock_offset_ = target - host_now();
  return true;
}

bool plc_state::set_protection(std::uint8_t level, std::string password) {
  if (level < 1 || level > 3 || password.size() > 8 || (level > 1 && password.empty()))
    return false;
  protection_level_ = level;
  password_ = std::move(password);
  return true;
}

bool plc_state::password_matches(std::span<const std::uint8_t, 8> plain) const noexcept {
  if (password_.empty()) return false;
  // Passwords are 8 characters, space padded (snap7's client pads with spaces).
  for (std::size_t i = 0; i < 8; ++i) {
    const auto want = static_cast<std::uint8_t>(i < password_.size() ? password_[i] : ' ');
    if (plain[i] != want) return false;
  }
  return true;
}

plc_state::slot plc_state::admit_connection(std::uint8_t t) noexcept {
  auto& used = slots_used_;
  slot s = slot::none;
  if (used[static_cast<std::size_t>(slot::general)] < cfg_.max_connections)
    s = slot::general;
  else if (t == 1 && used[static_cast<std::size_t>(slot::reserved_pg)] < cfg_.reserved_pg)
    s = slot::reserved_pg;
  else if (t == 2 && used[static_cast<std::size_t>(slot::reserved_op)] < cfg_.reserved_op)
    s = slot::reserved_op;
  if (s != slot::none) ++used[static_cast<std::size_t>(s)];
  return s;
}

void plc_state::release_connection(slot s) noexcept {
  auto& n = slots_used_[static_cast<std::size_t>(s)];
  if (s != slot::none && n > 0) --n;
}

void plc_state::connection_opened(std::uint8_t t) noexcept {
  ++connections_[t & 3U];
}
void plc_state::connection_closed(std::uint8_t t) noexcept {
  if (connections_[t & 3U] > 0) --connections_[t & 3U];
}
std::uint16_t plc_state::connections(std::uint8_t t) const noexcept {
  return connections_[t & 3U];
}
std::uint16_t plc_state::connections_total() const noexcept {
  return static_cast<std::uint16_t>(connections_[0] + connections_[1] + connections_[2] +
                                    connections_[3]);
}

bool plc_state::db_exists(std::uint16_t number) const noexcept {
  return !hidden_dbs_.contains(number) && mem_.dbs().contains(number);
}

const block_meta* plc_state::find_profile_block(std::uint8_t type, std::uint16_t number) const {
  for (const block_meta& b : blocks_)
    if (b.type == type && b.number == number) return &b;
  return nullptr;
}

std::uint16_t plc_state::block_count(std::uint8_t type) const {
  std::size_t n = 0;
  if (type == block_type::db) {
    for (const auto& [num, db] : mem_.dbs())
      if (!hidden_dbs_.contains(num)) ++n;
  } else {
    n = static_cast<std::size_t>(std::count_if(
        blocks_.begin(), blocks_.end(), [&](const block_meta& b) { return b.type == type; }));
  }
  return static_cast<std::uint16_t>(std::min<std::size_t>(n, 0xFFFF));
}

std::optional<std::pair<block_meta, std::vector<std::byte>>> plc_state::db_block(
    std::uint16_t number) const {
  if (hidden_dbs_.contains(number)) return std::nullopt;
  const auto dit = mem_.dbs().find(number);
  if (dit == mem_.dbs().end()) return std::nullopt;
  const data_block& db = *dit->second;
  const std::uint16_t size = static_cast<std::uint16_t>(std::min<std::size_t>(db.size(), 0xFFFF));
  const auto it = db_meta_.find(number);
  if (it != db_meta_.end() && it->second.meta.mc7_length == size)
    return std::make_pair(it->second.meta, it->second.sbb);
  // A DB from storage: an MC7 header of our own. Times: the file's modification time.
  block_meta b;
  b.type = block_type::db;
  b.number = number;
  b.language = 5;
  b.list_flags = 0x22;
  b.info_word = 0x2200;
  b.block_version = 0x01;
  b.attributes = 0x01;
  struct stat st {};
  if (!db.path().empty() && ::stat(db.path().c_str(), &st) == 0)
    b.code_time = b.interface_time =
        block_time_of(std::chrono::system_clock::from_time_t(st.st_mtime));
  std::vector<std::byte> sbb = mc7::db_interface(number, db.size());
  b.mc7_length = size;
  b.sbb_length = static_cast<std::uint16_t>(sbb.size());
  b.load_memory_length = 72U + b.mc7_length + b.sbb_length;
  static constexpr char author[] = "protos7";
  std::copy(author, author + 7, b.author.begin());
  const std::string name = fmt::format("DB{}", number);
  std::copy(name.begin(),
            name.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(name.size(), 8)),
            b.name.begin());
  b.version = 0x01;
  return std::make_pair(std::move(b), std::move(sbb));
}

std::optional<block_meta> plc_state::block_info(std::uint8_t type, std::uint16_t number) const {
  if (type == block_type::db) {
    auto d = db_block(number);
    if (!d) return std::nullopt;
    return std::move(d->first);
  }
  const block_meta* b = find_profile_block(type, number);
  if (b == nullptr) return std::nullopt;
  return *b;
}

std::optional<std::vector<std::byte>> plc_state::block_mc7(std::uint8_t type,
                                                           std::uint16_t number) const {
  if (type == block_type::db) {
    const auto d = db_block(number);
    if (!d) return std::nullopt;
    const data_block& db = *mem_.dbs().at(number);
    return mc7::build(d->first, db.bytes().first(d->first.mc7_length), d->second);
  }
  const block_meta* b = find_profile_block(type, number);
  if (b == nullptr) return std::nullopt;
  return mc7::build(*b, {}, {});
}

bool plc_state::present(std::uint8_t type, std::uint16_t number) const {
  if (passive_.contains({type, number})) return true;
  return type == block_type::db ? db_exists(number) : find_profile_block(type, number) != nullptr;
}

std::size_t plc_state::count_of(std::uint8_t type) const {
  std::size_t n = block_count(type);
  for (const auto& [key, file] : passive_) {
    if (key.first != type) continue;
    const bool live = type == block_type::db ? db_exists(key.second)
                                             : find_profile_block(type, key.second) != nullptr;
    if (!live) ++n;
  }
  return n;
}

std::uint64_t plc_state::load_memory_used() const {
  std::uint64_t total = 0;
  for (const auto& [num, db] : mem_.dbs()) {
    if (hidden_dbs_.contains(num)) continue;
    const auto it = db_meta_.find(num);
    total += it != db_meta_.end() ? std::max<std::uint64_t>(it->second.meta.load_memory_length,
                                                            mc7_overhead + db->size())
                                  : mc7_overhead + db->size();
  }
  for (const block_meta& b : blocks_)
    total += std::max<std::uint64_t>(b.load_memory_length, b.mc7.size());
  for (const auto& [key, file] : passive_) total += file.size();
  return total;
}

std::uint64_t plc_state::work_memory_used() const {
  std::uint64_t total = 0;
  for (const auto& [num, db] : mem_.dbs())
    if (!hidden_dbs_.contains(num)) total += db->size();
  for (const block_meta& b : blocks_) total += b.mc7_length;
  return total;
}

std::uint64_t plc_state::work_of(std::uint8_t type, std::uint16_t number) const {
  if (type == block_type::db) {
    const data_block* db = db_exists(number) ? mem_.dbs().at(number).get() : nullptr;
    return db != nullptr ? db->size() : 0;
  }
  const block_meta* b = find_profile_block(type, number);
  return b != nullptr ? b->mc7_length : 0;
}

s7_error plc_state::check_download(std::uint8_t type, std::uint16_t number,
                                   std::size_t length) const {
  const memory_limits& lim = limits();
  if (!present(type, number)) {
    if (count_of(type) + 1 > lim.max_of(type)) return memory_error::too_many_blocks;
    if (counts_in_total(type) &&
        count_of(block_type::db) + count_of(block_type::fc) + count_of(block_type::fb) + 1 >
            lim.max_blocks_total)
      return memory_error::too_many_blocks;
  }
  std::uint64_t used = load_memory_used();
  const auto it = passive_.find({type, number});
  if (it != passive_.end()) used -= it->second.size();  // a new download replaces it
  if (used + length > lim.load_memory) return memory_error::load_memory_full;
  return 0;
}

s7_error plc_state::check_db_size(std::uint16_t number, std::size_t size, std::string& why) const {
  const memory_limits& lim = limits();
  const bool exists = db_exists(number);
  if (!exists && check_download(block_type::db, number, 0) == memory_error::too_many_blocks) {
    why = fmt::format("the CPU holds at most {} DBs and {} DBs, FCs and FBs together",
                      lim.max_of(block_type::db), lim.max_blocks_total);
    return memory_error::too_many_blocks;
  }
  const std::uint64_t old_size = exists ? mem_.dbs().at(number)->size() : 0;
  const std::uint64_t work = work_memory_used() - old_size + size;
  if (size > old_size && work > lim.work_memory) {
    why = fmt::format("the CPU's work memory is full: {} of {} bytes in use, {} more needed",
                      work_memory_used(), lim.work_memory, size - old_size);
    return memory_error::work_memory_full;
  }
  const std::uint64_t load =
      load_memory_used() - (exists ? mc7_overhead + old_size : 0) + mc7_overhead + size;
  if (size > old_size && load > lim.load_memory) {
    why = fmt::format("the CPU's load memory is full: {} of {} bytes in use, {} more needed",
                      load_memory_used(), lim.load_memory, load - load_memory_used());
    return memory_error::load_memory_full;
  }
  return 0;
}

s7_error plc_state::add_passive_block(std::uint8_t type, std::uint16_t number,
                                      std::vector<std::byte> file) {
  if (const s7_error e = check_download(type, number, file.size()); e != 0) {
    log(log_level::warn, "download of {} {} refused: {} (load memory {} of {} bytes in use)",
        block_type_name(type), number,
        e == memory_error::too_many_blocks ? "too many blocks" : "load memory full",
        load_memory_used(), limits().load_memory);
    return e;
  }
  passive_[{type, number}] = std::move(file);
  return 0;
}

bool plc_state::has_passive_block(std::uint8_t type, std::uint16_t number) const {
  return passive_.contains({type, number});
}

s7_error plc_state::insert_block(std::uint8_t type, std::uint16_t number) {
  const auto it = passive_.find({type, number});
  if (it == passive_.end()) return codec::s7::error_code::blocks_not_found;
  const std::vector<std::byte> file = it->second;
  block_meta meta;
  std::string why;
  if (!mc7_header_to_meta(file, meta, why) || meta.type != type || meta.number != number) {
    log(log_level::warn, "_INSE {} {}: not a valid MC7 block: {}", block_type_name(type), number,
        why);
    return codec::s7::error_code::incorrect_block_lengths;
  }
  const std::uint64_t need = type == block_type::db ? mc7::code_of(file).size() : meta.mc7_length;
  if (work_memory_used() - work_of(type, number) + need > limits().work_memory) {
    log(log_level::warn,
        "_INSE {} {} refused: work memory full ({} of {} bytes in use, {} more needed)",
        block_type_name(type), number, work_memory_used(), limits().work_memory, need);
    return memory_error::work_memory_full;
  }
  if (type == block_type::db) {
    const s7_error e = insert_db(number, std::move(meta), file);
    if (e == 0) passive_.erase({type, number});
    return e;
  }
  meta.mc7 = file;
  meta.list_flags = 0x22;
  meta.info_word = 0x2200;
  const auto b = std::find_if(blocks_.begin(), blocks_.end(), [&](const block_meta& x) {
    return x.type == type && x.number == number;
  });
  if (b != blocks_.end())
    *b = std::move(meta);
  else
    blocks_.push_back(std::move(meta));
  passive_.erase(it);
  log(log_level::info, "{} {} inserted ({} bytes)", block_type_name(type), number, file.size());
  return 0;
}

s7_error plc_state::insert_db(std::uint16_t number, block_meta meta,
                              std::span<const std::byte> file) {
  const auto code = mc7::code_of(file);
  if (code.empty()) return codec::s7::error_code::incorrect_block_lengths;
  std::vector<std::byte> contents(code.begin(), code.end());
  // Replacing a DB destroys the old data_block: commit its writes first.
  if (mem_.has_uncommitted() && !mem_.commit()) return memory_error::load_memory_full;
  std::string path;
  if (!cfg_.db_bin_dir.empty()) {
    path = fmt::format("{}/DB{}.bin", cfg_.db_bin_dir, number);
    try {
      store::write_file_atomically(path, contents);
    } catch (const std::exception& e) {
      log(log_level::error, "_INSE DB{}: {}", number, e.what());
      return memory_error::load_memory_full;  // insufficient memory / storage medium not accessible
    }
  }
  mem_.add_db(std::make_unique<data_block>(number, std::move(contents), std::move(path)));
  hidden_dbs_.erase(number);
  meta.mc7.clear();
  meta.list_flags = 0x22;
  meta.info_word = 0x2200;
  const auto sbb = mc7::sbb_of(file);
  log(log_level::info, "DB{} inserted ({} bytes of data)", number, meta.mc7_length);
  db_meta_[number] = {std::move(meta), std::vector<std::byte>(sbb.begin(), sbb.end())};
  return 0;
}

s7_error plc_state::delete_block(std::uint8_t type, std::uint16_t number) {
  passive_.erase({type, number});
  if (type == block_type::db) {
    if (!db_exists(number)) return codec::s7::error_code::blocks_not_found;
    const data_block* db = mem_.find_db(number);
    s7_error result = 0;
    if (db != nullptr && !db->path().empty()) {
      if (::unlink(db->path().c_str()) != 0 && errno != ENOENT)
        log(log_level::error, "_DELE DB{}: cannot delete {}: {}", number, db->path(),
            std::strerror(errno));
      // The unlink is durable only once the directory is synced (else a crash brings DB n back).
      try {
        dir_sync_(store::dir_of(db->path()));
      } catch (const std::exception& e) {
        log(log_level::error, "_DELE DB{}: {}", number, e.what());
        result = memory_error::load_memory_full;  // storage medium not accessible
      }
    }
    mem_.remove_db(number);
    hidden_dbs_.insert(number);
    db_meta_.erase(number);
    log(log_level::info, "DB{} deleted", number);
    return result;
  }
  const auto b = std::find_if(blocks_.begin(), blocks_.end(), [&](const block_meta& x) {
    return x.type == type && x.number == number;
  });
  if (b == blocks_.end()) return codec::s7::error_code::blocks_not_found;
  blocks_.erase(b);
  log(log_level::info, "{} {} deleted", block_type_name(type), number);
  return 0;
}

std::uint8_t plc_state::next_data_unit_ref() noexcept {
  if (++data_unit_ref_ == 0) data_unit_ref_ = 1;
  return data_unit_ref_;
}

// --- test and installation jobs ---

std::uint8_t plc_state::free_job_number() const noexcept {
  unsigned n = std::max<unsigned>(profile_->first_job_number, 1U);
  for (const test_job& j : test_jobs_) {  // sorted: the first gap at or after n
    if (j.number < n) continue;
    if (j.number > n) break;
    ++n;
  }
  return n > 255U ? std::uint8_t{0} : static_cast<std::uint8_t>(n);
}

test_job* plc_state::add_test_job(std::uint8_t function, std::uint32_t owner) {
  const std::uint8_t n = free_job_number();
  if (n == 0 || test_jobs_.size() >= profile_->max_test_jobs) return nullptr;
  const auto at = std::find_if(test_jobs_.begin(), test_jobs_.end(),
                               [&](const test_job& j) { return j.number > n; });
  test_job j;
  j.number = n;
  j.function = function;
  j.owner = owner;
  return &*test_jobs_.insert(at, std::move(j));
}

test_job* plc_state::find_test_job(std::uint8_t number) noexcept {
  const auto it = std::find_if(test_jobs_.begin(), test_jobs_.end(),
                               [&](const test_job& j) { return j.number == number; });
  return it == test_jobs_.end() ? nullptr : &*it;
}

void plc_state::remove_test_job(std::uint8_t number) noexcept {
  std::erase_if(test_jobs_, [&](const test_job& j) { return j.number == number; });
}

void plc_state::remove_test_jobs_of(std::uint32_t owner) noexcept {
  std::erase_if(test_jobs_, [&](const test_job& j) { return j.owner == owner; });
}

}  // namespace protos7::server
