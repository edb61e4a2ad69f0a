// Data items (s7_data.hpp): Read Var answers, Write Var values, fill bytes, error items.
//
// Items are parsed from a reader over the data block alone (offsets from its first byte) unless
// a test goes through a whole PDU.
#include "protos7/codec/s7_data.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "capture_fixtures.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_item.hpp"
#include "test_util.hpp"

namespace protos7::codec {
namespace {

using test::byte_vec;
using test::hex;
using test::view;

error parse_items(const byte_vec& in, std::size_t count,
                  s7::data_kind kind = s7::data_kind::read_response,
                  const s7::data_options& opt = {}) {
  reader r{view(in), layer::s7_data};
  s7::parse_data_items(r, count, kind, opt);
  return r.err();
}

std::vector<s7::data_item> items_of(const byte_vec& in, std::size_t count,
                                    const s7::data_options& opt = {}) {
  std::vector<s7::data_item> out;
  s7::data_item_iterator it{view(in), count, in.data(), opt};
  s7::data_item d;
  while (it.next(d)) out.push_back(d);
  return out;
}

// Rebuilds a data block from its decoded items with write_data_item.
::testing::AssertionResult rewrites(const byte_vec& in, std::size_t count) {
  const std::vector<s7::data_item> items = items_of(in, count);
  if (items.size() != count)
    return ::testing::AssertionFailure() << "iterated " << items.size() << " items";
  return test::writes(
      [&](writer& w) {
        for (std::size_t i = 0; i < items.size(); ++i)
          s7::write_data_item(w, items[i].return_code, items[i].tsize, items[i].data,
                              i + 1 == items.size());
      },
      view(in));
}

// Read Var answer with every item shape:
const char* const mixed_items =
    "ff 04 0008 2a"       // 0: 8 bits = 1 byte (odd, not last)
    "00"                  // 5: fill
    "0a 00 0000"          // 6: object does not exist: no data, never padded
    "ff 03 0001 01"       // 10: BIT, 1 bit in 1 byte
    "00"                  // 15: fill
    "ff 05 0010 fffe"     // 16: INTEGER, 16 bits
    "05 00 0000"          // 22: invalid address
    "ff 09 0003 616263";  // 26: octet string, length in bytes, last: no fill

// --- Decoding -----------------------------------------------------------------------------

TEST(s7_data_parse, decodes_the_captured_read_answer) {
  const byte_vec frame = test::fx::read_var_ack();
  const byte_vec data(frame.begin() + 21, frame.end());
  EXPECT_EQ(parse_items(data, 1), error{});
  const auto items = items_of(data, 1);
  ASSERT_EQ(items.size(), 1U);
  EXPECT_EQ(items[0].return_code, 0xFF);
  EXPECT_EQ(items[0].tsize, 0x04);
  EXPECT_EQ(items[0].length, 512);
  EXPECT_EQ(items[0].data.size(), 64U);
  EXPECT_FALSE(items[0].has_fill);
}

TEST(s7_data_parse, decodes_every_item_shape_with_fill_bytes) {
  const byte_vec in = hex(mixed_items);
  EXPECT_EQ(parse_items(in, 6), error{});
  const auto items = items_of(in, 6);
  ASSERT_EQ(items.size(), 6U);
  EXPECT_EQ(items[0].offset, 0U);
  EXPECT_TRUE(items[0].has_fill);
  EXPECT_BYTES_EQ(items[0].data, view(hex("2a")));
  EXPECT_EQ(items[1].offset, 6U);
  EXPECT_EQ(items[1].return_code, s7::return_code::object_does_not_exist);
  EXPECT_TRUE(items[1].data.empty());
  EXPECT_FALSE(items[1].has_fill);
  EXPECT_EQ(items[2].offset, 10U);
  EXPECT_EQ(items[2].length, 1);
  EXPECT_BYTES_EQ(items[2].data, view(hex("01")));
  EXPECT_TRUE(items[2].has_fill);
  EXPECT_EQ(items[3].offset, 16U);
  EXPECT_BYTES_EQ(items[3].data, view(hex("fffe")));
  EXPECT_FALSE(items[3].has_fill);
  EXPECT_EQ(items[4].offset, 22U);
  EXPECT_EQ(items[4].return_code, s7::return_code::invalid_address);
  EXPECT_EQ(items[5].offset, 26U);
  EXPECT_EQ(items[5].length, 3);
  EXPECT_BYTES_EQ(items[5].data, view(hex("616263")));
  EXPECT_FALSE(items[5].has_fill);
}

TEST(s7_data_parse, decodes_a_mixed_answer_in_a_whole_pdu) {
  const byte_vec pdu = test::concat({view(hex("32 03 0000 0001"
                                              "0002 0021 00 00"  // data 33
                                              "04 06")),
                                     view(hex(mixed_items))});
  EXPECT_VALID_EVERYWHERE(pdu);
  const byte_vec frame = test::frame_dt(view(pdu));
  const auto m = test::decode_frame(view(frame));
  ASSERT_DECODES(m);
  s7::data_item_iterator it{m->p.data, m->prm.item_count, frame.data()};
  s7::data_item d;
  ASSERT_TRUE(it.next(d));
  EXPECT_EQ(d.offset, 21U);  // frame offsets
}

TEST(s7_data_parse, accepts_reserved_and_success_codes_in_write_requests) {
  const byte_vec in =
      hex("00 04 0010 0102"    // Step 7, snap7: 0x00
          "ff 04 0010 0304");  // PLC4X: 0xff
  EXPECT_EQ(parse_items(in, 2, s7::data_kind::write_request), error{});
}

TEST(s7_data_write, re_encodes_decoded_items_with_their_length_fields) {
  // The length field as sent, even where write_data_item(rc, tsize, data) would derive another:
  // a BYTE item of 12 bits (2 bytes of data), then an octet string.
  const byte_vec in =
      hex("00 04 000c 0a0b"    // 12 bits in 2 bytes
          "00 09 0003 616263"  // 3 bytes, odd: fill follows
          "00"
          "ff 03 0001 01");  // BIT
  const auto items = items_of(in, 3);
  ASSERT_EQ(items.size(), 3U);
  EXPECT_TRUE(test::writes(
      [&](writer& w) {
        for (std::size_t i = 0; i < items.size(); ++i)
          s7::write_data_item(w, items[i], i + 1 == items.size());
      },
      view(in)));
}

TEST(s7_data_tables, know_8_return_codes_and_9_transport_sizes) {
  int rcs = 0;
  int sizes = 0;
  for (unsigned i = 0; i < 256; ++i) {
    rcs += s7::is_known_return_code(static_cast<std::uint8_t>(i)) ? 1 : 0;
    sizes += s7::is_known_data_tsize(static_cast<std::uint8_t>(i)) ? 1 : 0;
  }
  EXPECT_EQ(rcs, 8);
  EXPECT_EQ(sizes, 9);
}

TEST(s7_data_bytes, counts_bits_for_bit_byte_and_integer_sizes) {
  EXPECT_TRUE(s7::length_in_bits(0x03));
  EXPECT_TRUE(s7::length_in_bits(0x04));
  EXPECT_TRUE(s7::length_in_bits(0x05));
  EXPECT_FALSE(s7::length_in_bits(0x06));
  EXPECT_FALSE(s7::length_in_bits(0x07));
  EXPECT_FALSE(s7::length_in_bits(0x09));
  EXPECT_EQ(s7::data_bytes(0x03, 1), 1U);
  EXPECT_EQ(s7::data_bytes(0x04, 8), 1U);
  EXPECT_EQ(s7::data_bytes(0x04, 9), 2U);  // rounded up
  EXPECT_EQ(s7::data_bytes(0x05, 0), 0U);
  EXPECT_EQ(s7::data_bytes(0x07, 4), 4U);  // REAL counts bytes
  EXPECT_EQ(s7::data_bytes(0x09, 3), 3U);
  EXPECT_EQ(s7::data_bytes(0x04, 0xFFFF), 8192U);
}

TEST(s7_data_tsize_for, answers_as_an_s7_cpu_does) {
  using ts = s7::transport_size;
  const auto answer = [](ts t) { return s7::data_tsize_for(static_cast<std::uint8_t>(t)); };
  EXPECT_EQ(answer(ts::bit), 0x03);
  EXPECT_EQ(answer(ts::byte), 0x04);
  EXPECT_EQ(answer(ts::char_), 0x09);  // snap7's server (docs/TRANSPORT_SIZES.md)
  EXPECT_EQ(answer(ts::word), 0x04);
  EXPECT_EQ(answer(ts::dword), 0x04);
  EXPECT_EQ(answer(ts::int_), 0x05);
  EXPECT_EQ(answer(ts::dint), 0x05);
  EXPECT_EQ(answer(ts::real), 0x07);
  EXPECT_EQ(answer(ts::counter), 0x09);
  EXPECT_EQ(answer(ts::timer), 0x09);
  EXPECT_EQ(answer(ts::iec_counter), 0x09);
  EXPECT_EQ(answer(ts::iec_timer), 0x09);
  EXPECT_EQ(answer(ts::hs_counter), 0x09);
}

// --- Errors -------------------------------------------------------------------------------

TEST(s7_data_parse, rejects_an_item_header_cut_short) {
  const byte_vec in =
      hex("ff 04 0010 0102"
          "ff 04");  // item 2 at 6: 2 of 4 header bytes
  EXPECT_EQ(parse_items(in, 2), test::err(errc::data_item_truncated, layer::s7_data, 6));
}

TEST(s7_data_parse, rejects_data_past_the_block) {
  const byte_vec in =
      hex("ff 04 0010"  // 16 bits
          "01");        // 1 byte
  EXPECT_EQ(parse_items(in, 1), test::err(errc::data_item_truncated, layer::s7_data, 2));
  const byte_vec octets = hex("ff 09 0004 010203");  // 4 bytes announced, 3 given
  EXPECT_EQ(parse_items(octets, 1), test::err(errc::data_item_truncated, layer::s7_data, 2));
}

TEST(s7_data_parse, rejects_a_missing_fill_byte) {
  const byte_vec at_end = hex("ff 04 0008 2a");  // odd, and the count wants another item
  EXPECT_EQ(parse_items(at_end, 2), test::err(errc::data_fill_missing, layer::s7_data, 5));
  const byte_vec next_item =
      hex("ff 04 0008 2a"
          "ff 04 0008 2b");  // item 2's 0xff where the fill belongs
  EXPECT_EQ(parse_items(next_item, 2), test::err(errc::data_fill_nonzero, layer::s7_data, 5));
}

TEST(s7_data_parse, rejects_a_nonzero_fill_byte) {
  byte_vec in = hex(mixed_items);
  in[15] = std::byte{0x80};
  EXPECT_EQ(parse_items(in, 6), test::err(errc::data_fill_nonzero, layer::s7_data, 15));
}

TEST(s7_data_parse, accepts_a_missing_fill_byte_when_allowed) {
  const byte_vec in =
      hex("ff 04 0008 2a"
          "ff 04 0008 2b");
  const s7::data_options opt{.allow_missing_fill = true};
  EXPECT_EQ(parse_items(in, 2, s7::data_kind::read_response, opt), error{});
  const auto items = items_of(in, 2, opt);
  ASSERT_EQ(items.size(), 2U);
  EXPECT_FALSE(items[0].has_fill);
  EXPECT_EQ(items[1].offset, 5U);
  EXPECT_BYTES_EQ(items[1].data, view(hex("2b")));
  // A real fill byte is still consumed.
  const byte_vec padded = hex("ff 04 0008 2a 00 ff 04 0008 2b");
  EXPECT_EQ(parse_items(padded, 2, s7::data_kind::read_response, opt), error{});
  // A missing fill at the end of the block is then reported as the missing item.
  const byte_vec short_block = hex("ff 04 0008 2a");
  EXPECT_EQ(parse_items(short_block, 2, s7::data_kind::read_response, opt),
            test::err(errc::param_item_count_mismatch, layer::s7_data, 5));
}

TEST(s7_data_parse, skips_a_nonzero_fill_byte_when_allowed) {
  // snap7's client WriteMultiVars leaves the fill byte unwritten (stale buffer contents).
  const byte_vec in =
      hex("00 04 0018 0a0b0c"  // write item 1: 3 bytes (24 bits)
          "5a"                 // fill byte, not 0x00
          "00 03 0001 01");    // write item 2: BIT, 1 bit
  const s7::data_options opt{.allow_nonzero_fill = true};
  EXPECT_EQ(parse_items(in, 2, s7::data_kind::write_request),
            test::err(errc::data_fill_nonzero, layer::s7_data, 7));
  EXPECT_EQ(parse_items(in, 2, s7::data_kind::write_request, opt), error{});
  const auto items = items_of(in, 2, opt);
  ASSERT_EQ(items.size(), 2U);
  EXPECT_TRUE(items[0].has_fill);
  EXPECT_BYTES_EQ(items[0].data, view(hex("0a0b0c")));
  EXPECT_EQ(items[1].offset, 8U);
  EXPECT_BYTES_EQ(items[1].data, view(hex("01")));
  // Takes precedence over allow_missing_fill: the byte is a fill byte, not the next item.
  const s7::data_options both{.allow_missing_fill = true, .allow_nonzero_fill = true};
  EXPECT_EQ(parse_items(in, 2, s7::data_kind::write_request, both), error{});
  // The byte is still required.
  const byte_vec missing = hex("00 04 0018 0a0b0c");
  EXPECT_EQ(parse_items(missing, 2, s7::data_kind::write_request, opt),
            test::err(errc::data_fill_missing, layer::s7_data, 7));
}

TEST(s7_data_parse, rejects_undefined_transport_sizes) {
  const byte_vec two = hex("ff 02 0008 2a");  // 0x02 is a parameter size, not a data size
  EXPECT_EQ(parse_items(two, 1), test::err(errc::data_bad_transport_size, layer::s7_data, 1));
  const byte_vec null = hex("ff 00 0000");  // NULL on an item that carries data
  EXPECT_EQ(parse_items(null, 1), test::err(errc::data_bad_transport_size, layer::s7_data, 1));
}

TEST(s7_data_parse, rejects_an_error_item_with_data) {
  const byte_vec in = hex("0a 00 0008 2a");
  EXPECT_EQ(parse_items(in, 1), test::err(errc::data_error_item_has_data, layer::s7_data, 2));
}

TEST(s7_data_parse, rejects_undefined_return_codes) {
  const byte_vec in =
      hex("ff 04 0010 0102"
          "02 00 0000");  // 0x02 at 6
  EXPECT_EQ(parse_items(in, 2), test::err(errc::data_bad_return_code, layer::s7_data, 6));
}

TEST(s7_data_parse, rejects_answer_codes_in_write_requests) {
  const byte_vec in = hex("05 00 0000");
  EXPECT_EQ(parse_items(in, 1, s7::data_kind::write_request),
            test::err(errc::data_bad_return_code, layer::s7_data, 0));
}

TEST(s7_data_parse, rejects_bytes_after_the_last_item) {
  const byte_vec in =
      hex("ff 04 0008 2a"
          "00");  // a fill byte after the last item
  EXPECT_EQ(parse_items(in, 1), test::err(errc::trailing_bytes, layer::s7_data, 5));
}

TEST(s7_data_parse, rejects_fewer_items_than_the_count) {
  const byte_vec in = hex("ff 04 0010 0102");
  EXPECT_EQ(parse_items(in, 3), test::err(errc::param_item_count_mismatch, layer::s7_data, 6));
}

TEST(s7_data_iterator, stops_at_a_malformed_item) {
  const byte_vec in = hex("ff 04 0010 0102 ff 04 0010 01");
  const auto items = items_of(in, 2);
  EXPECT_EQ(items.size(), 1U);
}

// --- Encoding -----------------------------------------------------------------------------

TEST(s7_data_write, rebuilds_the_captured_data_blocks) {
  const byte_vec a = test::fx::read_var_ack();
  EXPECT_TRUE(rewrites(byte_vec(a.begin() + 21, a.end()), 1));
  const byte_vec m = test::fx::read_var_ack_m();
  EXPECT_TRUE(rewrites(byte_vec(m.begin() + 21, m.end()), 1));
  const byte_vec five = test::fx::read_var_ack_5();
  EXPECT_TRUE(rewrites(byte_vec(five.begin() + 21, five.end()), 5));
  const byte_vec w = test::fx::write_var_job();
  EXPECT_TRUE(rewrites(byte_vec(w.begin() + 31, w.end()), 1));
}

TEST(s7_data_write, rebuilds_every_item_shape_with_fill_bytes) {
  EXPECT_TRUE(rewrites(hex(mixed_items), 6));
}

TEST(s7_data_write, writes_an_error_item_without_its_data) {
  const byte_vec data = hex("01 02 03");
  EXPECT_WRITES([&](writer& w) { s7::write_data_item(w, 0x0A, 0x04, view(data), false); },
                view(hex("0a 00 0000")));
}

TEST(s7_data_write, writes_one_bit_in_one_byte) {
  const byte_vec data = hex("01");
  EXPECT_WRITES([&](writer& w) { s7::write_data_item(w, 0xFF, 0x03, view(data), true); },
                view(hex("ff 03 0001 01")));
  EXPECT_WRITES([&](writer& w) { s7::write_data_item(w, 0xFF, 0x03, view(data), false); },
                view(hex("ff 03 0001 01 00")));
}

TEST(s7_data_write, parse_of_write_gives_back_the_data_for_every_size) {
  // write_data_item then parse_data_items must agree on the length of every item it accepts.
  for (const unsigned ts : {0x03U, 0x04U, 0x05U, 0x06U, 0x07U, 0x09U}) {
    for (std::size_t n = 0; n <= 9; ++n) {
      byte_vec data(n);
      for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<std::byte>(i + 1);
      byte_vec out(32);
      writer w{mutable_bytes{out}};
      s7::write_data_item(w, 0xFF, static_cast<std::uint8_t>(ts), view(data), true);
      const auto size = w.finish();
      if (!size) {
        // The only refusal: BIT items hold one bit in one byte.
        EXPECT_EQ(ts, 0x03U);
        EXPECT_GT(n, 1U);
        EXPECT_EQ(size.err(), test::err(errc::value_out_of_range, layer::encode, 2))
            << ts << " " << n;
        continue;
      }
      const byte_vec written(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*size));
      ASSERT_EQ(parse_items(written, 1), error{}) << ts << " " << n;
      const auto items = items_of(written, 1);
      ASSERT_EQ(items.size(), 1U);
      EXPECT_BYTES_EQ(items[0].data, view(data));
    }
  }
}

TEST(s7_data_write, rejects_a_length_field_over_16_bits) {
  const byte_vec data(8192);  // 65536 bits
  byte_vec out(8200);
  writer w{mutable_bytes{out}};
  s7::write_data_item(w, 0xFF, 0x04, view(data), true);
  EXPECT_EQ(w.finish().err(), test::err(errc::value_out_of_range, layer::encode, 2));
  const byte_vec most(8191);  // 65528 bits fit
  writer w2{mutable_bytes{out}};
  s7::write_data_item(w2, 0xFF, 0x04, view(most), true);
  EXPECT_TRUE(w2.finish().ok());
}

TEST(s7_data_item_size, equals_what_write_data_item_writes) {
  for (const unsigned rc : {0x00U, 0xFFU, 0x0AU, 0x05U}) {
    for (std::size_t n = 0; n <= 5; ++n) {
      for (const bool last : {false, true}) {
        const byte_vec data(n);
        writer w{mutable_bytes{}};
        s7::write_data_item(w, static_cast<std::uint8_t>(rc), 0x09, view(data), last);
        EXPECT_EQ(s7::data_item_size(static_cast<std::uint8_t>(rc), n, last), w.size())
            << "rc " << rc << " n " << n << " last " << last;
      }
    }
  }
}

// --- The answer to a DBREAD item ----------------------------------------------------------

// wincc_s400_production.pcapng frame 24 (request, 3 areas of 2, 4 and 2 bytes) and frame 25
// (its answer: one octet-string item of 11 bytes, each area 0xFF and its bytes).
TEST(s7_data_dbread, decodes_and_writes_the_captured_answer) {
  const byte_vec req =
      hex("12 11 b0 03"
          "02 004a 006c"
          "04 004c 0194"
          "02 0051 003c");
  reader rr{view(req), layer::s7_item};
  s7::var_spec v;
  s7::parse_var_spec(rr, v);
  ASSERT_TRUE(rr.ok());
  const byte_vec item =
      hex("ff 09 000b"
          "ff 040a"
          "ff 0544053e"
          "ff 040a");
  const bytes data = view(item).subspan(4);
  s7::dbread_area_answer a;
  ASSERT_TRUE(s7::dbread_answer_at(data, v, 1, a));
  EXPECT_EQ(a.return_code, 0xFF);
  EXPECT_BYTES_EQ(a.data, view(hex("0544053e")));
  EXPECT_FALSE(s7::dbread_answer_at(data, v, 3, a));
  EXPECT_WRITES(
      [&](writer& w) {
        s7::write_dbread_answer_head(w, 11);
        s7::write_dbread_area(w, 0xFF, view(hex("040a")));
        s7::write_dbread_area(w, 0xFF, view(hex("0544053e")));
        s7::write_dbread_area(w, 0xFF, view(hex("040a")));
        s7::write_fill(w, 11, true);
      },
      view(item));
  // The item is an ordinary data item to a reader that does not know the request.
  EXPECT_EQ(parse_items(item, 1), error{});
}

TEST(s7_data_dbread, an_area_with_an_error_code_has_no_bytes) {
  const byte_vec req =
      hex("12 0c b0 02"
          "02 0001 0000"
          "02 0063 0000");
  reader rr{view(req), layer::s7_item};
  s7::var_spec v;
  s7::parse_var_spec(rr, v);
  ASSERT_TRUE(rr.ok());
  const byte_vec data =
      hex("ff 1234"
          "0a");
  s7::dbread_area_answer a;
  ASSERT_TRUE(s7::dbread_answer_at(view(data), v, 1, a));
  EXPECT_EQ(a.return_code, 0x0A);
  EXPECT_TRUE(a.data.empty());
  const byte_vec extra =
      hex("ff 1234"
          "0a"
          "00");
  EXPECT_FALSE(s7::dbread_answer_at(view(extra), v, 0, a));
  const byte_vec cut = hex("ff 12");
  EXPECT_FALSE(s7::dbread_answer_at(view(cut), v, 0, a));
  EXPECT_WRITES([](writer& w) { s7::write_fill(w, 3, false); }, view(hex("00")));
}

}  // namespace
}  // namespace protos7::codec
