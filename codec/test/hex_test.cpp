// codec/hex.hpp: the one hex encoder.
#include "protos7/codec/hex.hpp"

#include <gtest/gtest.h>

#include <array>

#include "test_util.hpp"

namespace {

using protos7::codec::to_hex;
using protos7::codec::write_hex;
namespace test = protos7::codec::test;

TEST(hex, every_byte_value_is_two_lower_case_digits) {
  std::array<std::byte, 256> all{};
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::byte>(i);
  const std::string s = to_hex(all);
  ASSERT_EQ(s.size(), 512U);
  EXPECT_EQ(s.substr(0, 8), "00010203");
  EXPECT_EQ(s.substr(2 * 0x0A, 2), "0a");
  EXPECT_EQ(s.substr(2 * 0xF0, 4), "f0f1");
  EXPECT_EQ(s.substr(508), "feff");
  EXPECT_EQ(s, test::to_hex(all));  // the tests' own encoder agrees
}

TEST(hex, empty_input_is_empty_text) {
  EXPECT_EQ(to_hex({}), "");
}

TEST(hex, write_hex_stops_at_the_end_of_its_buffer) {
  const std::array<std::byte, 3> in{std::byte{0x12}, std::byte{0xAB}, std::byte{0xFF}};
  std::array<char, 5> out{'x', 'x', 'x', 'x', 'x'};
  EXPECT_EQ(write_hex(in, out), 4U);  // two whole bytes, no half digit pair
  EXPECT_EQ(std::string(out.data(), out.size()), "12abx");
}

}  // namespace
