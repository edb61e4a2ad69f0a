// The alarm list learned from the WinCC field captures (conformance/learn/src/alarms.hpp): the
// S7-400's four ALARM_8 alarms from its first ALARM query answer (frame 18), its NOTIFY alarm
// from the indications, the associated values of the first indication of each; none from the
// S7-300's (its ALARM query found no ALARM_S alarm). Captures from $PROTOS7_FIELD_PCAP_DIR.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "protos7/learn/learn.hpp"

namespace {

namespace lrn = protos7::learn;
namespace srv = protos7::server;

std::filesystem::path field(const char* name) {
  const char* env = std::getenv("PROTOS7_FIELD_PCAP_DIR");
  return std::filesystem::path(env != nullptr ? env : PROTOS7_DEFAULT_FIELD_PCAP_DIR) / name;
}

}  // namespace

TEST(learn_alarms, from_the_s7_400s_query_answer_and_indications) {
  const auto path = field("wincc_s400_production.pcapng");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
  const lrn::learned l = lrn::learn_files({path.string()});
  const auto& a = l.profile.alarms;
  ASSERT_EQ(a.size(), 5U);
  const std::uint32_t ids[] = {0x2F, 0xAF, 0xBB, 0xC2, 0x01};
  const std::uint8_t states[] = {0x00, 0x01, 0x04, 0x30, 0x01};
  const std::uint8_t coming[] = {0xCF, 0xFE, 0xFB, 0xCF, 0x01};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(a[i].event_id, ids[i]);
    EXPECT_EQ(a[i].event_state, states[i]) << i;
    EXPECT_EQ(a[i].ack_coming, coming[i]) << i;
    EXPECT_TRUE(a[i].signals.empty());
  }
  EXPECT_EQ(a[1].kind, srv::alarm_kind::alarm_8);
  EXPECT_EQ(a[4].kind, srv::alarm_kind::notify);
  ASSERT_EQ(a[1].values.size(), 8U);  // frame 19: eight WORDs, 0001 then FFFF
  EXPECT_EQ(a[1].values[0].bytes, (std::vector<std::byte>{std::byte{0x00}, std::byte{0x01}}));
  ASSERT_EQ(a[3].values.size(), 8U);  // frame 476
  EXPECT_EQ(a[3].values[7].transport_size, 0x05);
  ASSERT_EQ(a[4].values.size(), 3U);  // frame 351
  EXPECT_EQ(a[4].values[0].length, 32);
  EXPECT_TRUE(a[0].values.empty());  // never indicated
  EXPECT_EQ(l.sources.at("alarm:0xAF"), "wincc_s400_production.pcapng frame 18");
  // The learned profile loads back with the same alarms.
  const srv::plc_profile back = srv::parse_profile(lrn::to_json(l), "learned");
  EXPECT_EQ(srv::profile_to_json(back), srv::profile_to_json(l.profile));
}

TEST(learn_alarms, none_from_the_s7_300s_empty_answers) {
  const auto path = field("wincc_s300_setup-alarm-read.pcapng");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
  EXPECT_TRUE(lrn::learn_files({path.string()}).profile.alarms.empty());
}
