// Cyclic services (ud_cyclic.hpp, and userdata.hpp's parse_cyclic_request): a change-driven
// subscription with a DBREAD item, its data, and unsubscribe, as in
// ../shared/pcaps/field/wincc_s400_production.pcapng (`tshark -T fields -e tcp.payload`).
#include "protos7/codec/ud_cyclic.hpp"

#include <gtest/gtest.h>

#include <array>

#include "protos7/codec/s7.hpp"
#include "protos7/codec/userdata.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::view;

TEST(cyclic_request, decodes_and_writes_a_change_driven_dbread_subscription) {
  // A request like frame 22 with two areas: time base 1 s, interval 2.
  const byte_vec payload =
      hex("00 01 01 02"  // reserved, 1 item, time base 1, interval 2
          "12 0c b0 02"
          "01 0044 0166"
          "0a 0044 018a");  // DBREAD: DB68.DBB358 1, DB68.DBB394 10
  const auto c = s7::ud::parse_cyclic_request(view(payload), nullptr);
  ASSERT_DECODES(c);
  EXPECT_EQ(c->item_count, 1);
  EXPECT_EQ(c->timebase, s7::cyclic::timebase::s1);
  EXPECT_EQ(c->interval, 2);
  s7::var_spec_iterator it{c->items, c->item_count, nullptr};
  s7::var_spec v;
  ASSERT_TRUE(it.next(v));
  std::array<s7::dbread_area, 2> areas{};
  ASSERT_TRUE(s7::dbread_at(v, 0, areas[0]));
  ASSERT_TRUE(s7::dbread_at(v, 1, areas[1]));
  EXPECT_WRITES(
      [&](writer& w) {
        s7::cyclic::write_request_head(w, 1, s7::cyclic::timebase::s1, 2);
        s7::write_dbread(w, areas);
      },
      view(payload));
}

TEST(cyclic_data, decodes_the_answer_and_the_pushes) {
  // The answer to such a request (frame 23 has one item of 328 bytes): one octet-string item
  // with a return code and the data of each area.
  const byte_vec payload =
      hex("00 01"
          "ff 09 000d"
          "ff 00"
          "ff 01020304050607080910");
  const auto d = s7::cyclic::parse_data(view(payload), nullptr);
  ASSERT_DECODES(d);
  EXPECT_EQ(d->item_count, 1);
  s7::data_item_iterator it{d->items, d->item_count, nullptr};
  s7::data_item item;
  ASSERT_TRUE(it.next(item));
  EXPECT_EQ(item.tsize, 0x09);
  EXPECT_EQ(item.data.size(), 13U);
  EXPECT_WRITES(
      [&](writer& w) {
        s7::cyclic::write_data_head(w, 1);
        s7::write_data_item(w, 0xFF, 0x09, item.data, true);
      },
      view(payload));
  const byte_vec two_promised = hex("00 02 ff 09 0001 00");
  EXPECT_FAILS_WITH(s7::cyclic::parse_data(view(two_promised), nullptr), data_fill_missing, s7_data,
                    7U);
}

TEST(cyclic_unsubscribe, function_and_job_id) {
  // Frame 26: function 5, job 1.
  const byte_vec payload = hex("05 01");
  const auto u = s7::cyclic::parse_unsubscribe(view(payload), nullptr);
  ASSERT_DECODES(u);
  EXPECT_EQ(u->function, 5);
  EXPECT_EQ(u->job_id, 1);
  EXPECT_WRITES([&](writer& w) { s7::cyclic::write_unsubscribe(w, *u); }, view(payload));
  const byte_vec three = hex("05 01 00");
  EXPECT_FAILS_WITH(s7::cyclic::parse_unsubscribe(view(three), nullptr), userdata_bad_payload,
                    userdata, 0U);
}

TEST(cyclic_subfunctions, items_only_for_transfer_and_change_driven) {
  EXPECT_TRUE(s7::cyclic::carries_items(s7::cyclic::sub::cyclic_transfer));
  EXPECT_TRUE(s7::cyclic::carries_items(s7::cyclic::sub::change_driven));
  EXPECT_TRUE(s7::cyclic::carries_items(s7::cyclic::sub::change_driven_modify));
  EXPECT_FALSE(s7::cyclic::carries_items(s7::cyclic::sub::unsubscribe));
  EXPECT_FALSE(s7::cyclic::carries_items(s7::cyclic::sub::rdrec));
}

TEST(cyclic_interval, time_base_times_factor) {
  // Frame 22 asks time base 1 (1 s), interval 2: 2 s.
  EXPECT_EQ(s7::cyclic::interval_ms(s7::cyclic::timebase::s1, 2), 2000U);
  EXPECT_EQ(s7::cyclic::interval_ms(s7::cyclic::timebase::ms100, 1), 100U);
  EXPECT_EQ(s7::cyclic::interval_ms(s7::cyclic::timebase::s10, 255), 2550000U);
  EXPECT_EQ(s7::cyclic::interval_ms(s7::cyclic::timebase::ms100, 0), 0U);  // no valid interval
  EXPECT_EQ(s7::cyclic::interval_ms(3, 1), 0U);                            // unknown time base
}

}  // namespace
}  // namespace protos7::codec
