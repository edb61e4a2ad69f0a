// TPKT (RFC 1006 §6): parse, measure, the incremental framer, and the encoder.
#include "protos7/codec/tpkt.hpp"

#include <gtest/gtest.h>

#include "capture_fixtures.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::view;

// --- parse --------------------------------------------------------------------------------

TEST(tpkt_parse, decodes_connect_request_from_capture) {
  const byte_vec in = test::fx::cotp_cr();
  const auto f = tpkt::parse(view(in));
  ASSERT_DECODES(f);
  EXPECT_EQ(f->version, 3);
  EXPECT_EQ(f->reserved, 0);
  EXPECT_EQ(f->length, 22);
  // The payload is a view of the input, not a copy.
  EXPECT_EQ(f->payload.data(), in.data() + 4);
  EXPECT_EQ(f->payload.size(), 18U);
}

TEST(tpkt_parse, accepts_the_minimum_length_of_7) {
  const byte_vec in = test::fx::dt_empty_no_eot();
  const auto f = tpkt::parse(view(in));
  ASSERT_DECODES(f);
  EXPECT_EQ(f->length, tpkt::min_length);
  EXPECT_EQ(f->payload.size(), 3U);
}

TEST(tpkt_parse, decodes_every_capture_frame) {
  for (const byte_vec& in : test::fx::all_frames()) {
    const auto f = tpkt::parse(view(in));
    ASSERT_DECODES(f);
    EXPECT_EQ(f->length, in.size());
    EXPECT_EQ(f->payload.size() + tpkt::header_size, in.size());
  }
}

TEST(tpkt_parse, rejects_an_empty_buffer_as_truncated) {
  EXPECT_FAILS_WITH(tpkt::parse({}), truncated, tpkt, 0U);
}

TEST(tpkt_parse, rejects_a_header_cut_after_the_version) {
  const byte_vec in = hex("03");
  EXPECT_FAILS_WITH(tpkt::parse(view(in)), truncated, tpkt, 1U);
}

TEST(tpkt_parse, rejects_a_header_cut_inside_the_length) {
  const byte_vec in = hex("03 00 00");  // version, reserved, half of the length
  EXPECT_FAILS_WITH(tpkt::parse(view(in)), truncated, tpkt, 2U);
}

TEST(tpkt_parse, rejects_version_other_than_3) {
  const byte_vec in =
      hex("02 00 0007"  // version 2
          "02 f0 80");
  EXPECT_FAILS_WITH(tpkt::parse(view(in)), tpkt_bad_version, tpkt, 0U);
}

TEST(tpkt_parse, rejects_reserved_byte_not_zero) {
  const byte_vec in =
      hex("03 01 0007"  // reserved 1
          "02 f0 80");
  EXPECT_FAILS_WITH(tpkt::parse(view(in)), tpkt_reserved_nonzero, tpkt, 1U);
}

TEST(tpkt_parse, accepts_reserved_byte_not_zero_when_allowed) {
  const byte_vec in = hex("03 ff 0007 02 f0 80");
  const auto f = tpkt::parse(view(in), tpkt::options{.allow_reserved_nonzero = true});
  ASSERT_DECODES(f);
  EXPECT_EQ(f->reserved, 0xFF);
}

TEST(tpkt_parse, rejects_length_below_7) {
  const byte_vec six =
      hex("03 00 0006"  // length 6: no room for the smallest TPDU
          "02 f0");
  EXPECT_FAILS_WITH(tpkt::parse(view(six)), tpkt_length_too_small, tpkt, 2U);
  const byte_vec four = hex("03 00 0004");  // header only
  EXPECT_FAILS_WITH(tpkt::parse(view(four)), tpkt_length_too_small, tpkt, 2U);
  const byte_vec zero = hex("03 00 0000");
  EXPECT_FAILS_WITH(tpkt::parse(view(zero)), tpkt_length_too_small, tpkt, 2U);
}

TEST(tpkt_parse, rejects_length_larger_than_the_buffer) {
  const byte_vec in =
      hex("03 00 0008"  // claims 8
          "02 f0 80");  // 7 given
  EXPECT_FAILS_WITH(tpkt::parse(view(in)), tpkt_length_mismatch, tpkt, 2U);
}

TEST(tpkt_parse, rejects_length_smaller_than_the_buffer) {
  const byte_vec in =
      hex("03 00 0007"
          "02 f0 80"
          "32");  // one byte more than the length says
  EXPECT_FAILS_WITH(tpkt::parse(view(in)), tpkt_length_mismatch, tpkt, 2U);
}

// --- measure ------------------------------------------------------------------------------

TEST(tpkt_measure, needs_more_until_the_header_is_complete) {
  const byte_vec in = test::fx::setup_job();
  for (std::size_t n = 1; n < tpkt::header_size; ++n) {
    const tpkt::measure_result m = tpkt::measure(view(in).first(n));
    EXPECT_EQ(m.status, tpkt::frame_status::need_more) << n;
    EXPECT_EQ(m.frame_size, 0U) << n;
  }
  const tpkt::measure_result empty = tpkt::measure({});
  EXPECT_EQ(empty.status, tpkt::frame_status::need_more);
}

TEST(tpkt_measure, reports_the_frame_size_once_the_header_is_in) {
  const byte_vec in = test::fx::setup_job();
  for (std::size_t n = tpkt::header_size; n < in.size(); ++n) {
    const tpkt::measure_result m = tpkt::measure(view(in).first(n));
    EXPECT_EQ(m.status, tpkt::frame_status::need_more) << n;
    EXPECT_EQ(m.frame_size, in.size()) << n;
  }
  const tpkt::measure_result m = tpkt::measure(view(in));
  EXPECT_EQ(m.status, tpkt::frame_status::complete);
  EXPECT_EQ(m.frame_size, in.size());
}

TEST(tpkt_measure, measures_only_the_first_of_coalesced_frames) {
  const byte_vec a = test::fx::dt_empty_no_eot();
  const byte_vec b = test::fx::szl_request();
  const byte_vec both = test::concat({view(a), view(b)});
  const tpkt::measure_result m = tpkt::measure(view(both));
  EXPECT_EQ(m.status, tpkt::frame_status::complete);
  EXPECT_EQ(m.frame_size, a.size());
}

TEST(tpkt_measure, rejects_a_wrong_version_after_one_byte) {
  const byte_vec in = hex("16");  // a TLS record, say
  const tpkt::measure_result m = tpkt::measure(view(in));
  EXPECT_EQ(m.status, tpkt::frame_status::invalid);
  EXPECT_EQ(m.err, test::err(errc::tpkt_bad_version, layer::tpkt, 0));
}

TEST(tpkt_measure, rejects_reserved_nonzero_and_short_length) {
  const byte_vec res = hex("03 80 0007");
  EXPECT_EQ(tpkt::measure(view(res)).err, test::err(errc::tpkt_reserved_nonzero, layer::tpkt, 1));
  const byte_vec len = hex("03 00 0005");
  EXPECT_EQ(tpkt::measure(view(len)).status, tpkt::frame_status::invalid);
  EXPECT_EQ(tpkt::measure(view(len)).err, test::err(errc::tpkt_length_too_small, layer::tpkt, 2));
}

// --- framer -------------------------------------------------------------------------------

TEST(tpkt_framer, delivers_every_capture_frame_at_every_split) {
  for (const byte_vec& in : test::fx::all_frames()) EXPECT_FRAMED_AT_EVERY_SPLIT(in);
}

TEST(tpkt_framer, delivers_coalesced_frames_at_every_split) {
  // A whole client session in one buffer: several frames per read, frames across reads.
  const std::vector<byte_vec> frames = {test::fx::cotp_cr(),
                                        test::fx::setup_job(),
                                        test::fx::dt_empty_no_eot(),
                                        test::fx::szl_request(),
                                        test::fx::szl_response_first_fragment(),
                                        test::fx::dt_empty_no_eot(),
                                        test::fx::read_var_ack()};
  byte_vec stream;
  for (const byte_vec& f : frames) stream.insert(stream.end(), f.begin(), f.end());
  EXPECT_TRUE(test::frames_at_every_split(view(stream), frames));
}

TEST(tpkt_framer, returns_a_whole_frame_as_a_view_of_the_read) {
  const byte_vec in = test::fx::szl_request();
  byte_vec storage(1024);
  tpkt::framer f{std::span<std::byte>{storage}};
  bytes rest = view(in);
  const auto r = f.next(rest);
  ASSERT_EQ(r.status, tpkt::frame_status::complete);
  EXPECT_EQ(r.frame.data(), in.data());  // no copy
  EXPECT_EQ(r.frame.size(), in.size());
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(f.buffered(), 0U);
}

TEST(tpkt_framer, assembles_a_split_frame_in_its_storage) {
  const byte_vec in = test::fx::szl_request();
  byte_vec storage(1024);
  tpkt::framer f{std::span<std::byte>{storage}};
  bytes first = view(in).first(10);
  auto r = f.next(first);
  EXPECT_EQ(r.status, tpkt::frame_status::need_more);
  EXPECT_TRUE(first.empty());
  EXPECT_EQ(f.buffered(), 10U);
  bytes second = view(in).subspan(10);
  r = f.next(second);
  ASSERT_EQ(r.status, tpkt::frame_status::complete);
  EXPECT_EQ(r.frame.data(), storage.data());
  EXPECT_BYTES_EQ(r.frame, view(in));
  EXPECT_EQ(f.buffered(), 0U);
}

TEST(tpkt_framer, leaves_the_next_frame_in_the_read) {
  const byte_vec a = test::fx::setup_job();
  const byte_vec b = test::fx::setup_ack();
  const byte_vec both = test::concat({view(a), view(b)});
  byte_vec storage(1024);
  tpkt::framer f{std::span<std::byte>{storage}};
  bytes in = view(both);
  auto r = f.next(in);
  ASSERT_EQ(r.status, tpkt::frame_status::complete);
  EXPECT_BYTES_EQ(r.frame, view(a));
  EXPECT_EQ(in.size(), b.size());
  r = f.next(in);
  ASSERT_EQ(r.status, tpkt::frame_status::complete);
  EXPECT_BYTES_EQ(r.frame, view(b));
  EXPECT_TRUE(in.empty());
  r = f.next(in);
  EXPECT_EQ(r.status, tpkt::frame_status::need_more);
}

TEST(tpkt_framer, rejects_a_garbage_first_byte_at_every_split) {
  const byte_vec in = hex("47 45 54 20 2f 20 48 54 54 50");  // "GET / HTTP"
  EXPECT_TRUE(
      test::frames_at_every_split(view(in), {}, test::err(errc::tpkt_bad_version, layer::tpkt, 0)));
}

TEST(tpkt_framer, rejects_garbage_after_a_good_frame) {
  const byte_vec good = test::fx::setup_job();
  const byte_vec in = test::concat({view(good), view(hex("ff 00 0007 02 f0 80"))});
  EXPECT_TRUE(test::frames_at_every_split(view(in), {good},
                                          test::err(errc::tpkt_bad_version, layer::tpkt, 0)));
}

TEST(tpkt_framer, rejects_length_below_7_at_every_split) {
  const byte_vec in =
      hex("03 00 0006"  // length 6
          "02 f0");
  EXPECT_TRUE(test::frames_at_every_split(view(in), {},
                                          test::err(errc::tpkt_length_too_small, layer::tpkt, 2)));
}

TEST(tpkt_framer, rejects_reserved_nonzero_at_every_split) {
  const byte_vec in = hex("03 01 0007 02 f0 80");
  EXPECT_TRUE(test::frames_at_every_split(view(in), {},
                                          test::err(errc::tpkt_reserved_nonzero, layer::tpkt, 1)));
}

TEST(tpkt_framer, accepts_reserved_nonzero_when_allowed) {
  const byte_vec in = hex("03 01 0007 02 f0 80");
  const test::framer_run run = test::run_framer(test::byte_by_byte(view(in)), 64,
                                                tpkt::options{.allow_reserved_nonzero = true});
  EXPECT_EQ(run.err, error{});
  ASSERT_EQ(run.frames.size(), 1U);
  EXPECT_BYTES_EQ(view(run.frames[0]), view(in));
}

TEST(tpkt_framer, rejects_a_frame_larger_than_its_storage_at_every_split) {
  // 247 bytes against 128 bytes of storage: refused whether it arrives whole or in pieces,
  // never cut, and never accepted just because one read happened to hold all of it.
  const byte_vec in = test::fx::szl_response_first_fragment();
  ASSERT_EQ(in.size(), 247U);
  EXPECT_TRUE(test::frames_at_every_split(
      view(in), {}, test::err(errc::tpkt_frame_too_large, layer::tpkt, 2), 128));
}

TEST(tpkt_framer, accepts_a_frame_exactly_as_large_as_its_storage) {
  const byte_vec in = test::fx::szl_response_first_fragment();
  EXPECT_TRUE(test::frames_at_every_split(view(in), {in}, {}, in.size()));
  EXPECT_TRUE(test::frames_at_every_split(
      view(in), {}, test::err(errc::tpkt_frame_too_large, layer::tpkt, 2), in.size() - 1));
}

TEST(tpkt_framer, rejects_a_large_frame_after_a_small_one_in_the_same_read) {
  const byte_vec small = test::fx::dt_empty_no_eot();
  const byte_vec large = test::fx::szl_response_first_fragment();
  const byte_vec in = test::concat({view(small), view(large)});
  EXPECT_TRUE(test::frames_at_every_split(
      view(in), {small}, test::err(errc::tpkt_frame_too_large, layer::tpkt, 2), 128));
}

TEST(tpkt_framer, reset_discards_a_partial_frame) {
  const byte_vec a = test::fx::setup_job();
  const byte_vec b = test::fx::setup_ack();
  byte_vec storage(256);
  tpkt::framer f{std::span<std::byte>{storage}};
  bytes part = view(a).first(9);
  EXPECT_EQ(f.next(part).status, tpkt::frame_status::need_more);
  EXPECT_EQ(f.buffered(), 9U);
  f.reset();
  EXPECT_EQ(f.buffered(), 0U);
  bytes in = view(b);
  const auto r = f.next(in);
  ASSERT_EQ(r.status, tpkt::frame_status::complete);
  EXPECT_BYTES_EQ(r.frame, view(b));
}

TEST(tpkt_framer, keeps_reporting_the_error_until_reset) {
  const byte_vec bad = hex("03 00 0002");
  byte_vec storage(64);
  tpkt::framer f{std::span<std::byte>{storage}};
  bytes in = view(bad).first(2);
  EXPECT_EQ(f.next(in).status, tpkt::frame_status::need_more);
  in = view(bad).subspan(2);
  EXPECT_EQ(f.next(in).err, test::err(errc::tpkt_length_too_small, layer::tpkt, 2));
  const byte_vec good = test::fx::dt_empty_no_eot();
  in = view(good);
  EXPECT_EQ(f.next(in).status, tpkt::frame_status::invalid);
  f.reset();
  in = view(good);
  EXPECT_EQ(f.next(in).status, tpkt::frame_status::complete);
}

// --- encode -------------------------------------------------------------------------------

TEST(tpkt_encode, round_trips_every_capture_frame) {
  for (const byte_vec& in : test::fx::all_frames()) {
    const auto f = tpkt::parse(view(in));
    ASSERT_DECODES(f);
    EXPECT_ENCODES_TO([&](mutable_bytes out) { return tpkt::encode(f->payload, out); }, view(in));
  }
}

TEST(tpkt_encode, parse_of_encode_gives_back_the_payload) {
  const byte_vec payload = hex("02 f0 80 32 07");
  byte_vec out(payload.size() + 4);
  const auto n = tpkt::encode(view(payload), mutable_bytes{out});
  ASSERT_DECODES(n);
  const auto f = tpkt::parse(view(out));
  ASSERT_DECODES(f);
  EXPECT_EQ(f->length, 9);
  EXPECT_BYTES_EQ(f->payload, view(payload));
}

TEST(tpkt_encode, counting_mode_reports_the_size_needed) {
  const byte_vec payload = test::fx::szl_request();  // any 33 bytes
  const auto counted = tpkt::encode(view(payload), {});
  ASSERT_FALSE(counted.ok());
  EXPECT_EQ(counted.err(), (error{errc::buffer_too_small, layer::encode, 0, 37}));
  byte_vec out(37);
  const auto n = tpkt::encode(view(payload), mutable_bytes{out});
  ASSERT_DECODES(n);
  EXPECT_EQ(*n, 37U);
}

TEST(tpkt_encode, accepts_the_largest_payload) {
  const byte_vec payload(tpkt::max_length - tpkt::header_size);
  byte_vec out(tpkt::max_length);
  const auto n = tpkt::encode(view(payload), mutable_bytes{out});
  ASSERT_DECODES(n);
  EXPECT_EQ(*n, tpkt::max_length);
  EXPECT_EQ(out[2], std::byte{0xFF});
  EXPECT_EQ(out[3], std::byte{0xFF});
}

TEST(tpkt_encode, rejects_a_payload_too_large_for_the_length_field) {
  const byte_vec payload(tpkt::max_length - tpkt::header_size + 1);
  byte_vec out(tpkt::max_length + 1);
  // The length field (offset 2) cannot hold 65536.
  EXPECT_FAILS_WITH(tpkt::encode(view(payload), mutable_bytes{out}), value_out_of_range, encode,
                    2U);
  // Even in counting mode the range error wins over the size.
  EXPECT_FAILS_WITH(tpkt::encode(view(payload), {}), value_out_of_range, encode, 2U);
}

TEST(tpkt_write_header, writes_version_reserved_and_length) {
  EXPECT_WRITES([](writer& w) { tpkt::write_header(w, 18); }, view(hex("03 00 0016")));
}

}  // namespace
}  // namespace protos7::codec
