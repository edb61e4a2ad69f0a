// The value-name table (names.hpp): Wireshark's wording for the codes the codec defines, and the
// caller's fallback for the ones it does not.
#include "protos7/codec/names.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "protos7/codec/s7.hpp"

namespace protos7::codec {
namespace {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;

// Usable at compile time.
static_assert(names::function(0x04) == "Read Var");
static_assert(names::function(0x03, "Unknown function") == "Unknown function");
static_assert(names::userdata_subfunction(0x4, 0x01) == "Read SZL");

TEST(names, every_function_the_codec_knows_has_a_name_and_no_other) {
  for (unsigned fn = 0; fn < 256; ++fn) {
    const auto v = static_cast<std::uint8_t>(fn);
    EXPECT_EQ(!names::function(v).empty(), s7::is_known_function(v)) << fn;
  }
  EXPECT_EQ(names::function(static_cast<std::uint8_t>(s7::function::setup_communication)),
            "Setup communication");
  EXPECT_EQ(names::function(static_cast<std::uint8_t>(s7::function::pi_service)), "PI-Service");
  EXPECT_EQ(names::function(static_cast<std::uint8_t>(s7::function::plc_stop)), "PLC Stop");
  EXPECT_EQ(names::function(static_cast<std::uint8_t>(s7::function::cpu_services)), "CPU services");
}

TEST(names, rosctr_names_are_wiresharks) {
  EXPECT_EQ(names::rosctr(1), "Job");
  EXPECT_EQ(names::rosctr(2), "Ack");
  EXPECT_EQ(names::rosctr(3), "Ack_Data");
  EXPECT_EQ(names::rosctr(7), "Userdata");
  EXPECT_EQ(names::rosctr(4, "?"), "?");
  EXPECT_TRUE(names::rosctr(0).empty());
}

TEST(names, userdata_types_and_groups) {
  EXPECT_EQ(names::userdata_type(static_cast<std::uint8_t>(ud::type::push)), "Push");
  EXPECT_EQ(names::userdata_type(static_cast<std::uint8_t>(ud::type::request)), "Request");
  EXPECT_EQ(names::userdata_type(static_cast<std::uint8_t>(ud::type::response)), "Response");
  EXPECT_EQ(names::userdata_group(static_cast<std::uint8_t>(ud::group::cpu)), "CPU functions");
  EXPECT_EQ(names::userdata_group(static_cast<std::uint8_t>(ud::group::nc)), "NC programming");
  EXPECT_EQ(names::userdata_group(0x8, "Unknown group"), "Unknown group");
}

TEST(names, subfunctions_are_named_per_group) {
  // The same number means something else in each group.
  EXPECT_EQ(names::userdata_subfunction(0x3, 0x01), "List blocks");
  EXPECT_EQ(names::userdata_subfunction(0x7, 0x01), "Read clock");
  EXPECT_EQ(names::userdata_subfunction(0x5, 0x01), "PLC password");
  EXPECT_EQ(names::userdata_subfunction(0x2, 0x01), "Cyclic transfer");
  EXPECT_EQ(names::userdata_subfunction(0x1, 0x16), "Flash LED");
  EXPECT_EQ(names::userdata_subfunction(0xF, 0x08), "Continue upload");
  // Both Set clock subfunctions carry the same name.
  EXPECT_EQ(names::userdata_subfunction(0x7, ud::sub::set_clock),
            names::userdata_subfunction(0x7, ud::sub::set_clock_2));
  // Gaps and groups without subfunction names fall back.
  EXPECT_TRUE(names::userdata_subfunction(0x1, 0x14).empty());
  EXPECT_TRUE(names::userdata_subfunction(0xF, 0x05).empty());
  EXPECT_EQ(names::userdata_subfunction(0x0, 0x01, "x"), "x");
  EXPECT_EQ(names::userdata_subfunction(0x6, 0x01, "x"), "x");
}

TEST(names, the_subfunctions_the_codec_defines_have_names) {
  EXPECT_EQ(names::userdata_subfunction(0x4, ud::sub::read_szl), "Read SZL");
  EXPECT_EQ(names::userdata_subfunction(0x4, ud::sub::message_service), "Message service");
  EXPECT_EQ(names::userdata_subfunction(0x3, ud::sub::list_blocks_of_type), "List blocks of type");
  EXPECT_EQ(names::userdata_subfunction(0x3, ud::sub::block_info), "Get block info");
  EXPECT_EQ(names::userdata_subfunction(0x7, ud::sub::read_clock_following),
            "Read clock (following)");
  EXPECT_EQ(names::userdata_subfunction(0x2, ud::sub::unsubscribe), "Unsubscribe");
  EXPECT_EQ(names::userdata_subfunction(0x2, ud::sub::change_driven_modify),
            "Change driven transfer modify");
}

TEST(names, no_table_names_a_value_twice) {
  const auto unique = [](std::span<const names::value_name> t) {
    std::set<unsigned> seen;
    for (const auto& e : t)
      if (!seen.insert(e.value).second || e.name.empty()) return false;
    return true;
  };
  EXPECT_TRUE(unique(names::rosctr_names));
  EXPECT_TRUE(unique(names::function_names));
  EXPECT_TRUE(unique(names::userdata_type_names));
  EXPECT_TRUE(unique(names::userdata_group_names));
  for (unsigned g = 0; g < 16; ++g)
    EXPECT_TRUE(unique(names::userdata_subfunction_names(static_cast<std::uint8_t>(g)))) << g;
  EXPECT_TRUE(unique(names::area_mnemonics));
  EXPECT_TRUE(unique(names::transport_size_mnemonics));
}

TEST(names, areas_and_transport_sizes_in_step7_notation) {
  EXPECT_EQ(names::area_mnemonic(static_cast<std::uint8_t>(s7::area::db)), "DB");
  EXPECT_EQ(names::area_mnemonic(static_cast<std::uint8_t>(s7::area::inputs)), "I");
  EXPECT_EQ(names::area_mnemonic(static_cast<std::uint8_t>(s7::area::outputs)), "Q");
  EXPECT_EQ(names::area_mnemonic(static_cast<std::uint8_t>(s7::area::flags)), "M");
  EXPECT_EQ(names::area_mnemonic(static_cast<std::uint8_t>(s7::area::counters)), "C");
  EXPECT_EQ(names::area_mnemonic(static_cast<std::uint8_t>(s7::area::timers)), "T");
  EXPECT_EQ(names::area_mnemonic(static_cast<std::uint8_t>(s7::area::data_record), "?"), "?");
  EXPECT_EQ(names::transport_size_mnemonic(static_cast<std::uint8_t>(s7::transport_size::bit)),
            "BOOL");
  EXPECT_EQ(
      names::transport_size_mnemonic(static_cast<std::uint8_t>(s7::transport_size::date_and_time)),
      "DT");
  EXPECT_TRUE(names::transport_size_mnemonic(static_cast<std::uint8_t>(s7::transport_size::counter))
                  .empty());
}

}  // namespace
}  // namespace protos7::codec
