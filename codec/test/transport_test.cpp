// The transport reader: TPKT framing + COTP + DT reassembly over arbitrary reads, with stream
// offsets, named resynchronisation after garbage and gaps.
#include "protos7/codec/transport.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capture_fixtures.hpp"
#include "test_util.hpp"

namespace protos7::codec::test {
namespace {

namespace tr = ::protos7::codec::transport;

// What an event says, as text: "tpdu@0 CR", "tpdu@22 DT pdu=25/1", "error@44 tpkt_bad_version".
struct run {
  std::vector<std::string> events;
  std::vector<byte_vec> pdus;
};

std::string describe(const tr::event& e) {
  if (e.st == tr::status::error)
    return "error@" + std::to_string(e.offset) + " " + std::string(to_string(e.err.code)) +
           (e.skipped != 0 ? " skipped=" + std::to_string(e.skipped) : "");
  std::string s = "tpdu@" + std::to_string(e.offset) +
                  " type=" + std::to_string(static_cast<unsigned>(e.tpdu.type));
  if (e.completes_pdu)
    s += " pdu=" + std::to_string(e.pdu.size()) + "/" + std::to_string(e.segments);
  if (e.skipped != 0) s += " skipped=" + std::to_string(e.skipped);
  return s;
}

run feed(const std::vector<byte_vec>& reads, const tr::options& opt = {},
         std::size_t pdu_room = 960) {
  byte_vec frame_buf(2052);
  byte_vec pdu_buf(pdu_room);
  tr::stream_reader r{frame_buf, pdu_buf, opt};
  run out;
  for (const byte_vec& chunk : reads) {
    bytes in = view(chunk);
    for (;;) {
      const tr::event e = r.next(in);
      if (e.st == tr::status::need_more) break;
      out.events.push_back(describe(e));
      if (e.completes_pdu) out.pdus.emplace_back(e.pdu.begin(), e.pdu.end());
    }
  }
  return out;
}

byte_vec session_stream() {
  return concat({view(fx::cotp_cr()), view(fx::setup_job()), view(fx::read_var_job())});
}

TEST(transport_reader, reads_a_session_with_offsets_and_views_of_the_input) {
  const byte_vec s = session_stream();
  byte_vec frame_buf(2052);
  byte_vec pdu_buf(960);
  tr::stream_reader r{frame_buf, pdu_buf};
  bytes in = view(s);
  const auto cr = r.next(in);
  ASSERT_EQ(cr.st, tr::status::tpdu);
  EXPECT_EQ(cr.tpdu.type, cotp::tpdu_type::cr);
  EXPECT_EQ(cr.offset, 0U);
  EXPECT_EQ(cr.frame.data(), s.data());  // a view of the read, nothing copied
  const auto setup = r.next(in);
  ASSERT_TRUE(setup.completes_pdu);
  EXPECT_EQ(setup.offset, fx::cotp_cr().size());
  EXPECT_EQ(setup.segments, 1U);
  EXPECT_TRUE(same_bytes(setup.pdu, s7_of(fx::setup_job())));
  EXPECT_EQ(setup.pdu.data(), s.data() + fx::cotp_cr().size() + s7_at);
  const auto read = r.next(in);
  ASSERT_TRUE(read.completes_pdu);
  EXPECT_EQ(r.next(in).st, tr::status::need_more);
  EXPECT_EQ(r.offset(), s.size());
}

TEST(transport_reader, gives_the_same_events_for_every_split_of_the_stream) {
  const byte_vec s = session_stream();
  const run whole = feed({s});
  ASSERT_EQ(whole.events.size(), 3U);
  for (std::size_t k = 0; k <= s.size(); ++k) {
    const run split = feed(split_at(view(s), k));
    EXPECT_EQ(split.events, whole.events) << "split at " << k;
    EXPECT_EQ(split.pdus, whole.pdus) << "split at " << k;
  }
  const run bytewise = feed(byte_by_byte(view(s)));
  EXPECT_EQ(bytewise.events, whole.events);
}

TEST(transport_reader, reassembles_dt_segments_and_reports_each_one) {
  const byte_vec job = fx::read_var_job();
  const bytes pdu = s7_of(job);
  const auto dt = [](bytes part, bool eot) {
    byte_vec f(part.size() + 7);
    writer w{f};
    tpkt::write_header(w, part.size() + 3);
    cotp::write_dt_header(w, eot);
    w.raw(part);
    return f;
  };
  const run r = feed({concat({view(dt(pdu.first(10), false)), view(dt(pdu.subspan(10), true))})});
  ASSERT_EQ(r.events.size(), 2U);
  EXPECT_EQ(r.events[0].find("pdu="), std::string::npos);
  EXPECT_NE(r.events[1].find("pdu=" + std::to_string(pdu.size()) + "/2"), std::string::npos)
      << r.events[1];
  ASSERT_EQ(r.pdus.size(), 1U);
  EXPECT_TRUE(same_bytes(view(r.pdus[0]), pdu));
  // A PDU over the reassembly limit is dropped with its own error.
  const run over =
      feed({concat({view(dt(pdu.first(10), false)), view(dt(pdu.subspan(10), true))})}, {}, 12);
  ASSERT_EQ(over.events.size(), 2U);
  EXPECT_EQ(over.events[1], "error@17 cotp_reassembly_overflow");
}

TEST(transport_reader, stops_at_garbage_unless_resync_is_asked_for) {
  const byte_vec garbage = hex("DE AD BE EF 00");
  const byte_vec s = concat({view(fx::cotp_cr()), view(garbage), view(fx::setup_job())});
  const run strict = feed({s});
  EXPECT_EQ(strict.events,
            (std::vector<std::string>{"tpdu@0 type=14", "error@22 tpkt_bad_version"}));
  tr::options lenient;
  lenient.resync = true;
  const run resync = feed({s}, lenient);
  ASSERT_EQ(resync.events.size(), 3U);
  EXPECT_EQ(resync.events[1], "error@22 tpkt_bad_version");
  EXPECT_EQ(resync.events[2].rfind("tpdu@27 type=15 pdu=", 0), 0U) << resync.events[2];
  EXPECT_NE(resync.events[2].find("skipped=5"), std::string::npos)
      << resync.events[2];  // the 5 garbage bytes
  for (std::size_t k = 0; k <= s.size(); ++k)
    EXPECT_EQ(feed(split_at(view(s), k), lenient).events, resync.events) << "split at " << k;
}

TEST(transport_reader, a_gap_drops_the_partial_frame_and_resyncs) {
  const byte_vec setup = fx::setup_job();
  byte_vec frame_buf(2052);
  byte_vec pdu_buf(960);
  tr::options lenient;
  lenient.resync = true;
  tr::stream_reader r{frame_buf, pdu_buf, lenient};
  bytes first = view(setup).first(9);
  EXPECT_EQ(r.next(first).st, tr::status::need_more);
  EXPECT_EQ(r.partial_frame(), 9U);
  r.gap(100);
  EXPECT_EQ(r.partial_frame(), 0U);
  const byte_vec rest = concat({view(setup).subspan(20), view(fx::read_var_job())});
  bytes in = view(rest);
  const auto e = r.next(in);
  ASSERT_EQ(e.st, tr::status::tpdu);
  EXPECT_TRUE(e.completes_pdu);
  EXPECT_EQ(e.offset, 9 + 100 + (setup.size() - 20));
  EXPECT_EQ(e.skipped, setup.size() - 20);
  // Without resync a gap breaks the stream.
  tr::stream_reader strict{frame_buf, pdu_buf};
  strict.gap(1);
  EXPECT_TRUE(strict.broken());
}

TEST(transport_reader, a_cotp_error_drops_the_frame_and_framing_goes_on) {
  const byte_vec bad = hex("03 00 0007 02 30 80");  // TPDU code 0x30 is not ISO 8073's
  const run r = feed({concat({view(bad), view(fx::setup_job())})});
  ASSERT_EQ(r.events.size(), 2U);
  EXPECT_EQ(r.events[0], "error@0 cotp_unknown_tpdu");
  EXPECT_EQ(r.events[1].rfind("tpdu@7 type=15 pdu=", 0), 0U);
}

TEST(transport_reader, a_frame_larger_than_the_storage_is_refused_however_it_arrives) {
  byte_vec big(3000 + 7);
  writer w{big};
  tpkt::write_header(w, 3000 + 3);
  cotp::write_dt_header(w, true);
  const run r = feed({big});
  EXPECT_EQ(r.events, (std::vector<std::string>{"error@0 tpkt_frame_too_large"}));
}

// --- writers ---------------------------------------------------------------------------------

byte_vec segments_of(bytes pdu, std::size_t segment) {
  writer count{mutable_bytes{}};
  tr::write_dt_segments(count, pdu, segment);
  byte_vec out(count.size());
  writer w{out};
  tr::write_dt_segments(w, pdu, segment);
  EXPECT_EQ(w.finish().value(), out.size());
  return out;
}

TEST(transport_writer, writes_a_pdu_as_dt_segments_field_by_field) {
  const byte_vec pdu = hex("32 01 0000 0005 000e 0000 04 01 12");  // 13 bytes
  const byte_vec out = segments_of(view(pdu), 8);
  EXPECT_TRUE(same_bytes(view(out), view(hex("03 00 000f"            // TPKT, length 4 + 3 + 8
                                             "02 f0 00"              // DT, EOT = 0
                                             "32 01 0000 0005 000e"  // PDU bytes 0..7
                                             "03 00 000c"            // TPKT, length 4 + 3 + 5
                                             "02 f0 80"              // DT, EOT = 1
                                             "0000 04 01 12"))));    // PDU bytes 8..12
  // One segment when it fits.
  EXPECT_TRUE(same_bytes(view(segments_of(view(pdu), 13)),
                         view(hex("03 00 0014 02 f0 80 32 01 0000 0005 000e 0000 04 01 12"))));
}

TEST(transport_writer, every_segment_size_reassembles_to_the_same_pdu) {
  const byte_vec job = fx::read_var_job();
  const bytes pdu = s7_of(job);
  for (std::size_t seg = 1; seg <= pdu.size() + 2; ++seg) {
    const byte_vec out = segments_of(pdu, seg);
    const std::size_t frames = tr::dt_segment_count(pdu.size(), seg);
    EXPECT_EQ(out.size(), pdu.size() + frames * (tpkt::header_size + cotp::dt_header_size));
    const run r = feed({out});
    ASSERT_EQ(r.events.size(), frames) << "segment " << seg;
    ASSERT_EQ(r.pdus.size(), 1U);
    EXPECT_TRUE(same_bytes(view(r.pdus[0]), pdu)) << "segment " << seg;
    EXPECT_NE(r.events.back().find("/" + std::to_string(frames)), std::string::npos);
  }
}

TEST(transport_writer, an_empty_pdu_is_one_empty_dt_with_eot) {
  const byte_vec out = segments_of({}, 4);
  EXPECT_TRUE(same_bytes(view(out), view(hex("03 00 0007 02 f0 80"))));
}

TEST(transport_writer, refuses_a_zero_or_oversized_segment) {
  const byte_vec job = fx::setup_job();
  const bytes pdu = s7_of(job);
  byte_vec out(64);
  writer w{out};
  tr::write_dt_segments(w, pdu, 0);
  ASSERT_FALSE(w.finish());
  EXPECT_EQ(w.finish().err().code, errc::value_out_of_range);
  writer big{out};
  tr::write_dt_segments(big, pdu, 0x10000);
  EXPECT_EQ(big.finish().err().code, errc::value_out_of_range);
}

TEST(transport_writer, a_tpdu_in_a_tpkt_frame_reads_back) {
  // COTP DR with reason 0x81 (congestion), as written by cotp::write_disconnect.
  byte_vec dr(16);
  writer dw{dr};
  cotp::write_disconnect(dw, {cotp::tpdu_type::dr, 0x000F, 0x0001, 0x81, {}});
  dr.resize(dw.finish().value());
  byte_vec frame(32);
  writer w{frame};
  tr::write_tpdu(w, view(dr));
  frame.resize(w.finish().value());
  EXPECT_TRUE(same_bytes(view(frame), view(hex("03 00 000b"       // TPKT, length 11
                                               "06 80 000f 0001"  // DR, dst-ref, src-ref
                                               "81"))));          // reason: congestion
  byte_vec frame_buf(2052), pdu_buf(64);
  tr::stream_reader r{frame_buf, pdu_buf};
  bytes in = view(frame);
  const tr::event e = r.next(in);
  ASSERT_EQ(e.st, tr::status::tpdu);
  EXPECT_EQ(e.tpdu.type, cotp::tpdu_type::dr);
  EXPECT_EQ(e.tpdu.reason, 0x81);
}

}  // namespace
}  // namespace protos7::codec::test
