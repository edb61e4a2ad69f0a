// Decoding and re-encoding every PDU of every Wireshark sample capture allocates nothing.
//
// Global operator new is replaced by a counting one (alloc_counter.hpp); the count is armed only
// around the codec calls, after the captures have been loaded (loading them is allowed to
// allocate; protos7::stream loads them, a test-only dependency: the codec links nothing).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <vector>

#include "alloc_counter.hpp"
#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/stream/corpus.hpp"

namespace {

using namespace protos7::codec;
using protos7::stream::sample_frame;

struct counts {
  std::size_t frames = 0, s7 = 0, items = 0, data_items = 0, userdata = 0, bad = 0,
              roundtrip_fail = 0;
};

// Everything the codec offers for one S7 PDU, then its re-encoding.
void exercise_s7(bytes pdu, std::span<std::byte> out, counts& c) {
  const auto m = s7::decode(pdu);
  if (!m) {
    ++c.bad;
    return;
  }
  ++c.s7;
  if (m->p.hdr.type == s7::rosctr::job || m->p.hdr.type == s7::rosctr::ack_data) {
    if (m->p.hdr.type == s7::rosctr::job) {
      s7::var_spec_iterator it = m->prm.var_specs(m->p.origin);
      s7::var_spec v;
      while (it.next(v)) ++c.items;
    }
    if (m->prm.fn == 0x04 || m->prm.fn == 0x05) {
      s7::data_item_iterator it{m->p.data, m->prm.item_count, m->p.origin};
      s7::data_item d;
      while (it.next(d)) ++c.data_items;
    }
  } else if (m->p.hdr.type == s7::rosctr::userdata) {
    ++c.userdata;
    const auto& d = m->ud.data;
    (void)szl::parse_request(d.payload, m->p.origin);
    (void)szl::parse_response(d.payload, m->p.origin, false);
    (void)s7::ud::parse_timestamp(d.payload, m->p.origin);
    (void)s7::ud::parse_block_info(d.payload, m->p.origin);
  }
  const auto n = s7::encode(m->p.hdr, m->p.param, m->p.data, out);
  if (!n || *n != pdu.size() || !std::equal(pdu.begin(), pdu.end(), out.begin()))
    ++c.roundtrip_fail;
}

TEST(zero_alloc, decode_and_encode_every_pdu_of_every_sample_capture) {
  const std::string dir = protos7::stream::pcap_dir(PROTOS7_DEFAULT_PCAP_DIR);
  std::vector<sample_frame> frames;
  std::string error;
  if (!protos7::stream::load_frames(dir, protos7::stream::wireshark_samples(), frames, error))
    GTEST_SKIP() << "sample captures not available: " << error;
  ASSERT_GT(frames.size(), 10000U);

  static std::array<std::byte, 65536> reasm_storage{};
  static std::array<std::byte, 65536> out{};
  cotp::reassembler reasm{reasm_storage};
  counts c;

  p7alloc::arm();
  for (const sample_frame& f : frames) {
    ++c.frames;
    const auto t = tpkt::parse(f.tpkt);
    if (!t) {
      ++c.bad;
      continue;
    }
    const auto tp = cotp::parse(t->payload, f.tpkt.data());
    if (!tp) {
      ++c.bad;
      continue;
    }
    const auto e = cotp::encode(*tp, out);
    if (!e || *e != t->payload.size() ||
        !std::equal(t->payload.begin(), t->payload.end(), out.begin()))
      ++c.roundtrip_fail;
    if (tp->type != cotp::tpdu_type::dt) continue;
    const auto r = reasm.feed(*tp);
    if (r.st == cotp::reassembler::status::complete) exercise_s7(r.pdu, out, c);
  }
  const std::size_t allocations = p7alloc::disarm();

  EXPECT_EQ(allocations, 0U);
  EXPECT_EQ(c.bad, 0U);
  EXPECT_EQ(c.roundtrip_fail, 0U);
  // The captures hold 10 k+ S7 PDUs; make sure they really went through the codec.
  EXPECT_GT(c.s7, 10000U);
  EXPECT_GT(c.items, 5000U);
  EXPECT_GT(c.userdata, 100U);
  RecordProperty("frames", static_cast<int>(c.frames));
  RecordProperty("s7_pdus", static_cast<int>(c.s7));
  std::printf(
      "zero_alloc: %zu frames, %zu S7 PDUs, %zu items, %zu data items, %zu userdata, 0 "
      "allocations\n",
      c.frames, c.s7, c.items, c.data_items, c.userdata);
}

// The counter works: a vector allocation while armed is counted (so the test above can fail).
TEST(zero_alloc, counter_detects_an_allocation) {
  p7alloc::arm();
  auto* v = new std::vector<int>(16);
  const std::size_t allocations = p7alloc::disarm();
  delete v;
  EXPECT_GE(allocations, 1U);
}

}  // namespace
