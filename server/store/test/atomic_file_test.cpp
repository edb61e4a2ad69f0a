#include "protos7/store/atomic_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

using namespace protos7::store;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    std::string t = "/tmp/protos7-atomic-XXXXXX";
    path = ::mkdtemp(t.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  [[nodiscard]] std::size_t entries() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(path)) ++n;
    return n;
  }
};

std::vector<std::byte> bytes(std::string_view s) {
  std::vector<std::byte> out;
  for (const char c : s) out.push_back(static_cast<std::byte>(c));
  return out;
}

}  // namespace

TEST(atomic_file, replaces_the_whole_file_and_leaves_no_temporary_file) {
  temp_dir d;
  const std::string f = d.path + "/DB1.bin";
  write_file_atomically(f, bytes("old content"));
  write_file_atomically(f, bytes("new"));
  EXPECT_EQ(read_file(f), bytes("new"));
  EXPECT_EQ(d.entries(), 1U);
}

TEST(atomic_file, replaces_a_symbolic_link_instead_of_writing_through_it) {
  temp_dir d;
  const std::string victim = d.path + "/victim";
  write_file_atomically(victim, bytes("keep me"));
  const std::string f = d.path + "/DB2.bin";
  ASSERT_EQ(::symlink(victim.c_str(), f.c_str()), 0);
  // A link planted at the temporary name of the old helper (<file>.tmp) is not followed either.
  ASSERT_EQ(::symlink(victim.c_str(), (f + ".tmp").c_str()), 0);
  write_file_atomically(f, bytes("data"));
  EXPECT_EQ(read_file(victim), bytes("keep me"));
  EXPECT_EQ(read_file(f), bytes("data"));
  struct stat st {};
  ASSERT_EQ(::lstat(f.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(atomic_file, an_error_names_the_file_and_leaves_nothing_behind) {
  temp_dir d;
  const std::string dir = d.path + "/sub";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir + "/DB3.bin").c_str(), 0755), 0);  // rename over a directory fails
  try {
    write_file_atomically(dir + "/DB3.bin", bytes("x"));
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("DB3.bin"), std::string::npos) << e.what();
  }
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  EXPECT_EQ(n, 1U);  // only the directory that was there
}
