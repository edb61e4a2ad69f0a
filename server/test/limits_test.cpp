// Issue #16, second round: the CPU's memory and block limits (memory_limits.hpp), no descriptor
// per DB, a failed fdatasync fatal for its DB, parallel syncs, and _DELE synced to disk.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>

#include "protos7/server/plc_state.hpp"
#include "protos7/server/services.hpp"
#include "protos7/server/storage.hpp"
#include "test_client.hpp"

using namespace p7test;
namespace srv = protos7::server;
namespace fs = std::filesystem;

namespace {

// A temporary directory removed at the end of the test.
struct temp_dir {
  temp_dir() {
    std::string t = "/tmp/protos7-limits-XXXXXX";
    path = ::mkdtemp(t.data());
  }
  ~temp_dir() { fs::remove_all(path); }
  std::string path;
};

// The MC7 file of block `type` `number` with `size` bytes of code (a DB: its contents).
std::vector<std::byte> block_file(std::uint8_t type, std::uint16_t number, std::size_t size) {
  srv::block_meta b;
  b.type = type;
  b.number = number;
  b.language = type == srv::block_type::db ? 5 : 1;
  b.mc7_length = static_cast<std::uint16_t>(size);
  const std::vector<std::byte> sbb =
      type == srv::block_type::db ? srv::mc7::db_interface(number, size) : std::vector<std::byte>{};
  b.sbb_length = static_cast<std::uint16_t>(sbb.size());
  b.load_memory_length = static_cast<std::uint32_t>(72 + size + sbb.size());
  const std::vector<std::byte> code(size, std::byte{0x11});
  return srv::mc7::build(b, code, sbb);
}

// The bundled profile with `f` applied to its memory limits.
template <typename F>
std::shared_ptr<const srv::plc_profile> profile_with(F f) {
  auto p = std::make_shared<srv::plc_profile>(srv::bundled_profile());
  f(p->mem_limits);
  return p;
}

void quiet() {
  srv::set_log_level(std::getenv("PROTOS7_TEST_LOG") != nullptr ? srv::log_level::trace
                                                                : srv::log_level::off);
}

// DB<n>.bin of `size` zero bytes for n in [first, last].
void make_bins(const std::string& dir, int first, int last, std::size_t size) {
  for (int i = first; i <= last; ++i)
    std::ofstream(fmt::format("{}/DB{}.bin", dir, i), std::ios::binary) << std::string(size, '\0');
}

// The return codes of a Write Var answer.
std::vector<std::uint8_t> write_rcs(const std::optional<buf>& reply) {
  std::vector<std::uint8_t> out;
  if (!reply) return out;
  const auto m = s7::decode(*reply);
  if (!m) return out;
  for (std::byte b : m->p.data) out.push_back(u8(b));
  return out;
}

// Write Var of one byte `v` at byte 0 of each DB in `dbs`.
buf write_bytes(std::uint16_t ref, std::span<const std::uint16_t> dbs, std::uint8_t v) {
  std::vector<s7::any_address> items;
  std::vector<wdata> data;
  for (const std::uint16_t n : dbs) {
    items.push_back(any(0x02, 1, 0x84, n, 0));
    data.push_back(wdata{0x04, buf{std::byte{v}}, {}});
  }
  return client::job(ref, var_param(s7::function::write_var, items), write_data(data));
}

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace

TEST(memory_limits, bundled_profile_has_the_cpu_limits) {
  const srv::memory_limits& l = srv::bundled_profile().mem_limits;
  EXPECT_EQ(l.load_memory, 8U * 1024 * 1024);  // IM151-8 PN/DP CPU: MMC up to 8 MB
  EXPECT_EQ(l.work_memory, 192U * 1024);       // 192 KB work memory
  EXPECT_EQ(l.max_of(srv::block_type::db), 1024);
  EXPECT_EQ(l.max_blocks_total, 1024);
}

TEST(memory_limits, profile_limits_are_read_and_checked) {
  std::string text{srv::bundled_profile_json()};
  const auto swap = [&](std::string_view from, std::string_view to) {
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  };
  swap(R"("load_memory": 8388608)", R"("load_memory": 65536)");
  swap(R"("work_memory": 196608)", R"("work_memory": 40000)");
  swap(R"("FC": 1024, "DB": 1024, "SDB": 512, "total": 1024)",
       R"("FC": 3, "DB": 7, "SDB": 512, "total": 9)");
  const srv::plc_profile p = srv::parse_profile(text, "t.json");
  EXPECT_EQ(p.mem_limits.load_memory, 65536U);
  EXPECT_EQ(p.mem_limits.work_memory, 40000U);
  EXPECT_EQ(p.mem_limits.max_of(srv::block_type::db), 7);
  EXPECT_EQ(p.mem_limits.max_of(srv::block_type::fc), 3);
  EXPECT_EQ(p.mem_limits.max_blocks_total, 9);
  std::string bad = text;
  bad.replace(bad.find("\"FC\""), 4, "\"XY\"");
  EXPECT_THROW((void)srv::parse_profile(bad, "t.json"), srv::profile_error);
  bad = text;
  bad.replace(bad.find("65536"), 5, "100");
  EXPECT_THROW((void)srv::parse_profile(bad, "t.json"), srv::profile_error);
}

// Item 2: DBs beyond the CPU's block count are refused with 0xD208, as a CPU does.
TEST(memory_limits, downloads_beyond_the_block_count_are_refused) {
  quiet();
  temp_dir d;
  srv::config cfg;
  cfg.db_bin_dir = d.path;
  cfg.profile =
      profile_with([](srv::memory_limits& l) { l.max_blocks[srv::block_type::db - 0x08] = 20; });
  srv::plc_memory mem(cfg.areas);
  srv::plc_state st(cfg, mem);
  std::uint16_t n = 1;
  for (; n <= 100; ++n) {
    if (st.add_passive_block(srv::block_type::db, n, block_file(srv::block_type::db, n, 16)) != 0)
      break;
    ASSERT_EQ(st.insert_block(srv::block_type::db, n), 0);
  }
  std::printf("DBs created before the refusal: %u (limit 20)\n", n - 1U);
  EXPECT_EQ(n, 21);
  EXPECT_EQ(st.check_download(srv::block_type::db, 21, 100), srv::memory_error::too_many_blocks);
  EXPECT_EQ(st.check_download(srv::block_type::db, 5, 100), 0);  // replacing DB5 is allowed
  EXPECT_EQ(st.delete_block(srv::block_type::db, 5), 0);
  EXPECT_EQ(st.check_download(srv::block_type::db, 21, 100), 0);  // a number is free again
  EXPECT_EQ(mem.dbs().size(), 19U);                               // DB5 left plc_memory
}

// Item 3: downloaded code blocks are held in RAM only up to the load memory; _INSE checks the
// work memory.
TEST(memory_limits, downloaded_blocks_are_bounded_by_load_and_work_memory) {
  quiet();
  srv::config cfg;
  cfg.profile = profile_with([](srv::memory_limits& l) {
    l.load_memory = 256 * 1024;
    l.work_memory = 64 * 1024;
  });
  srv::plc_memory mem(cfg.areas);
  srv::plc_state st(cfg, mem);
  const std::uint64_t base = st.load_memory_used();
  std::uint16_t n = 1;
  srv::s7_error e = 0;
  for (; n < 1000 && e == 0; ++n)
    e = st.add_passive_block(srv::block_type::fc, n, block_file(srv::block_type::fc, n, 60000));
  std::printf("FCs of 60 000 bytes accepted: %u, load memory in use %llu of %u bytes\n", n - 2U,
              static_cast<unsigned long long>(st.load_memory_used()),
              cfg.profile->mem_limits.load_memory);
  EXPECT_EQ(e, srv::memory_error::load_memory_full);
  EXPECT_LE(st.load_memory_used(), std::uint64_t{256 * 1024});
  EXPECT_EQ(n - 2U, static_cast<unsigned>((256 * 1024 - base) / 60072));
  // FC1 fits the work memory, FC2 no more (60 000 + 60 000 > 64 KiB).
  EXPECT_EQ(st.insert_block(srv::block_type::fc, 1), 0);
  EXPECT_EQ(st.insert_block(srv::block_type::fc, 2), srv::memory_error::work_memory_full);
}

// Item 2: start-up must not need a descriptor per DB (it used to exit with EMFILE).
TEST(memory_limits, many_dbs_load_and_commit_with_few_descriptors) {
  temp_dir d;
  constexpr int dbs = 400;
  for (int i = 1; i <= dbs; ++i)
    std::ofstream(fmt::format("{}/DB{}.bin", d.path, i), std::ios::binary) << std::string(32, '\0');
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const rlimit lim{128, 128};
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::_exit(2);
    srv::set_log_level(srv::log_level::off);
    srv::area_sizes areas;
    srv::plc_memory mem(areas);
    try {
      if (srv::load_bins(d.path, mem) != dbs) ::_exit(3);
    } catch (...) {
      ::_exit(4);  // EMFILE
    }
    const std::array<std::byte, 1> one{std::byte{7}};
    for (auto& [num, db] : mem.dbs())
      if (!mem.write(mem.locate(0x84, num, 3, 1), one)) ::_exit(5);
    if (!mem.commit()) ::_exit(6);
    ::_exit(open_fds() < 16 ? 0 : 7);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "3/4: load_bins failed under RLIMIT_NOFILE 128, 6: commit failed, 7: fds held";
  std::ifstream f(d.path + "/DB400.bin", std::ios::binary);
  const std::string bin{std::istreambuf_iterator<char>(f), {}};
  ASSERT_EQ(bin.size(), 32U);
  EXPECT_EQ(bin[3], 7);
}

// Item 11/12: _DELE syncs the directory after the unlink.
namespace {
std::vector<std::string> synced_dirs;
void record_dir_sync(const std::string& dir) {
  synced_dirs.push_back(dir);
}
}  // namespace

TEST(memory_limits, delete_syncs_the_directory) {
  quiet();
  temp_dir d;
  srv::config cfg;
  cfg.db_bin_dir = d.path;
  srv::plc_memory mem(cfg.areas);
  srv::plc_state st(cfg, mem);
  ASSERT_EQ(st.add_passive_block(srv::block_type::db, 42, block_file(srv::block_type::db, 42, 8)),
            0);
  ASSERT_EQ(st.insert_block(srv::block_type::db, 42), 0);
  ASSERT_TRUE(fs::exists(d.path + "/DB42.bin"));
  synced_dirs.clear();
  st.set_dir_sync(&record_dir_sync);
  EXPECT_EQ(st.delete_block(srv::block_type::db, 42), 0);
  EXPECT_FALSE(fs::exists(d.path + "/DB42.bin"));
  ASSERT_EQ(synced_dirs.size(), 1U);
  EXPECT_EQ(synced_dirs[0], d.path);
}

// Item 9: a failed fdatasync is not retried: the write is not acknowledged, and the DB refuses
// every later write with 0x01 (hardware fault) instead of acknowledging data that may be lost.
namespace {
std::atomic<int> syncs_to_fail{0};
int failing_fdatasync(int fd) {
  if (syncs_to_fail.fetch_sub(1) > 0) {
    errno = EIO;
    return -1;
  }
  return ::fdatasync(fd);
}
}  // namespace

TEST(memory_limits, a_failed_fdatasync_is_fatal_for_its_db) {
  temp_dir d;
  make_bins(d.path, 10, 11, 64);
  running_server s;
  ASSERT_EQ(srv::load_bins(d.path, s.mem()), 2U);
  s.mem().set_fdatasync(&failing_fdatasync);
  s.start();
  const std::array db10{std::uint16_t{10}};
  const std::array db11{std::uint16_t{11}};
  {
    client c{s.port()};
    ASSERT_TRUE(c.open());
    syncs_to_fail = 1;
    c.send_pdu(write_bytes(1, db10, 1));
    EXPECT_FALSE(c.read_pdu()) << "a write whose sync failed was acknowledged";
  }
  client c{s.port()};
  ASSERT_TRUE(c.open());
  const auto again = write_rcs(c.transact(write_bytes(2, db10, 2)));
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0], 0x01) << "the retry after a failed fdatasync was acknowledged";
  EXPECT_EQ(write_rcs(c.transact(write_bytes(3, db11, 3))),
            std::vector<std::uint8_t>{0xFF});  // DB11 is fine
  EXPECT_EQ(s.mem().failed_dbs(), 1U);
  EXPECT_TRUE(s.mem().find_db(10)->failed());
}

// Item 15: one Write Var touching 30 DBs waits for about one sync, not 30: the syncs run in
// parallel. Measured against the same write to one DB, in the same run (the disk's own speed
// cancels out).
TEST(memory_limits, a_write_to_many_dbs_syncs_them_in_parallel) {
  temp_dir d;
  make_bins(d.path, 100, 129, 64);
  running_server s;
  s.cfg().pdu_size = 960;
  ASSERT_EQ(srv::load_bins(d.path, s.mem()), 30U);
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.open(960));
  std::vector<std::uint16_t> all;
  for (std::uint16_t n = 100; n < 130; ++n) all.push_back(n);
  const auto timed = [&](std::span<const std::uint16_t> dbs) {
    constexpr int rounds = 20;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i) {
      const auto rcs = write_rcs(c.transact(
          write_bytes(static_cast<std::uint16_t>(i), dbs, static_cast<std::uint8_t>(i))));
      EXPECT_EQ(rcs, std::vector<std::uint8_t>(dbs.size(), 0xFF));
    }
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
               .count() /
           rounds;
  };
  (void)timed(std::span(all).first(1));  // warm up
  const double one = timed(std::span(all).first(1));
  const double thirty = timed(all);
  std::printf("Write Var acknowledged after: 1 DB %.2f ms, 30 DBs %.2f ms (%.1fx)\n", one, thirty,
              thirty / one);
  EXPECT_LT(thirty, 12 * std::max(one, 1.0)) << "30 DBs cost about 30 sequential syncs";
  std::ifstream f(d.path + "/DB129.bin", std::ios::binary);
  EXPECT_EQ(f.get(), 19);  // the last round's value is on disk
}

// Without a descriptor held, a DB<n>.bin deleted behind the server's back would fail every commit:
// it is written again whole.
TEST(memory_limits, a_deleted_db_file_is_written_again_whole) {
  quiet();
  temp_dir d;
  make_bins(d.path, 5, 5, 16);
  srv::area_sizes areas;
  srv::plc_memory mem(areas);
  ASSERT_EQ(srv::load_bins(d.path, mem), 1U);
  const std::array<std::byte, 2> two{std::byte{1}, std::byte{2}};
  ASSERT_TRUE(mem.write(mem.locate(0x84, 5, 0, 2), two));
  ASSERT_TRUE(mem.commit());
  fs::remove(d.path + "/DB5.bin");
  ASSERT_TRUE(mem.write(mem.locate(0x84, 5, 14, 2), two));
  EXPECT_TRUE(mem.commit());
  std::ifstream f(d.path + "/DB5.bin", std::ios::binary);
  const std::string bin{std::istreambuf_iterator<char>(f), {}};
  ASSERT_EQ(bin.size(), 16U);
  EXPECT_EQ(bin[1], 2);
  EXPECT_EQ(bin[15], 2);
}

// A commit made inside a round for _INSE (it replaces a DB, so pending writes are synced first)
// that fails must fail the round: the Write Var before it in the same round is not acknowledged.
TEST(memory_limits, a_sync_failing_inside_the_round_is_not_acknowledged) {
  temp_dir d;
  make_bins(d.path, 10, 10, 64);
  running_server s;
  s.cfg().db_bin_dir = d.path;
  ASSERT_EQ(srv::load_bins(d.path, s.mem()), 1U);
  s.mem().set_fdatasync(&failing_fdatasync);
  s.start();
  std::promise<srv::s7_error> added;
  s.srv().post([&] {
    added.set_value(s.srv().plc().add_passive_block(srv::block_type::db, 1,
                                                    block_file(srv::block_type::db, 1, 16)));
  });
  ASSERT_EQ(added.get_future().get(), 0);
  client c{s.port()};
  ASSERT_TRUE(c.open(480, 4));
  const std::array db10{std::uint16_t{10}};
  // Write Var to DB10, then PI-Service _INSE of DB1, in one segment: one round.
  const auto frame = [](const buf& pdu) {
    buf f{std::byte{3},
          std::byte{0},
          std::byte(((pdu.size() + 7) >> 8U) & 0xFFU),
          std::byte((pdu.size() + 7) & 0xFFU),
          std::byte{0x02},
          std::byte{0xF0},
          std::byte{0x80}};
    f.insert(f.end(), pdu.begin(), pdu.end());
    return f;
  };
  buf both = frame(write_bytes(1, db10, 5));
  const buf insert =
      frame(hex("320100000f00001a000028000000000000fd000a01003041303030303150055f494e5345"));
  both.insert(both.end(), insert.begin(), insert.end());
  syncs_to_fail = 1;
  c.send_raw(both);
  const auto r = c.read_pdu();
  EXPECT_FALSE(r) << "answered " << (r ? to_hex(*r) : "") << " although the round's sync failed";
  EXPECT_TRUE(s.mem().find_db(10)->failed());
}
