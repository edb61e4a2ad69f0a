// Shared helpers of the codec tests: hex fixtures, readable failure output, the TPKT framer fed
// at every split position, and the encoder checked in counting mode.
//
// Fixtures are written field by field as concatenated hex literals:
//
//   const byte_vec cr = hex("03 00 0016"   // TPKT: version 3, reserved, length 22
//                           "11"           // COTP LI 17
//                           ...);
//
// Every fixture lives in its own exactly-sized heap block, so AddressSanitizer catches a decoder
// that reads one byte past the buffer it was given (the guard-page trick of picotls' tests).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/writer.hpp"

// GoogleTest printers, found by argument-dependent lookup.
namespace protos7::codec {
inline void PrintTo(errc code, std::ostream* os) {
  *os << to_string(code) << " (" << static_cast<unsigned>(code) << ")";
}
inline void PrintTo(layer where, std::ostream* os) {
  *os << to_string(where);
}
inline void PrintTo(const error& e, std::ostream* os) {
  *os << "{" << to_string(e.code) << ", " << to_string(e.where) << ", offset " << e.offset;
  if (e.needed != 0) *os << ", needed " << e.needed;
  *os << "}";
}
}  // namespace protos7::codec

namespace protos7::codec::test {

using byte_vec = std::vector<std::byte>;

// Hex digits to bytes; spaces are ignored. A malformed literal is a test bug: it fails loudly.
inline byte_vec hex(std::string_view s) {
  byte_vec out;
  int hi = -1;
  for (const char c : s) {
    int v = -1;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else if (c == ' ')
      continue;
    if (v < 0) {
      ADD_FAILURE() << "bad hex character '" << c << "' in fixture";
      return {};
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>((hi << 4) | v));
      hi = -1;
    }
  }
  if (hi >= 0) ADD_FAILURE() << "odd number of hex digits in fixture";
  return out;
}

inline std::string to_hex(bytes b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (const std::byte x : b) {
    const auto v = std::to_integer<unsigned>(x);
    s.push_back(digits[v >> 4U]);
    s.push_back(digits[v & 0x0FU]);
  }
  return s;
}

inline bytes view(const byte_vec& v) {
  return {v.data(), v.size()};
}

inline byte_vec concat(std::initializer_list<bytes> parts) {
  byte_vec out;
  for (const bytes p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline std::uint8_t u8_at(bytes b, std::size_t i) {
  return std::to_integer<std::uint8_t>(b[i]);
}

// Byte-wise comparison with both sides printed in hex and the first difference located.
inline ::testing::AssertionResult same_bytes(bytes actual, bytes expected) {
  if (actual.size() == expected.size() &&
      std::equal(actual.begin(), actual.end(), expected.begin()))
    return ::testing::AssertionSuccess();
  std::size_t i = 0;
  while (i < actual.size() && i < expected.size() && actual[i] == expected[i]) ++i;
  return ::testing::AssertionFailure()
         << "bytes differ at offset " << i << " (sizes " << actual.size() << " vs "
         << expected.size() << ")\n  actual:   " << to_hex(actual)
         << "\n  expected: " << to_hex(expected);
}
#define EXPECT_BYTES_EQ(actual, expected) \
  EXPECT_TRUE(::protos7::codec::test::same_bytes((actual), (expected)))

inline error err(errc code, layer where, std::uint32_t offset) {
  return error{code, where, offset, 0};
}

// The result failed with exactly `expected` ({code, layer, offset}).
template <class T>
::testing::AssertionResult fails_with(const result<T>& r, const error& expected) {
  if (r.ok())
    return ::testing::AssertionFailure()
           << "decoded without error, expected " << ::testing::PrintToString(expected);
  if (r.err() == expected) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << ::testing::PrintToString(r.err())
                                       << ", expected " << ::testing::PrintToString(expected);
}
#define EXPECT_FAILS_WITH(result_expr, code, where, offset)                \
  EXPECT_TRUE(::protos7::codec::test::fails_with(                          \
      (result_expr), ::protos7::codec::error{::protos7::codec::errc::code, \
                                             ::protos7::codec::layer::where, (offset), 0}))
#define ASSERT_DECODES(result_expr) \
  ASSERT_TRUE((result_expr).ok()) << ::testing::PrintToString((result_expr).err())

// --- TPKT framer at every split ---------------------------------------------------------------

struct framer_run {
  std::vector<byte_vec> frames;  // copies of the complete frames, in order
  error err{};                   // the framer's error, if it reported one
  bool input_left_on_need_more = false;
};

// Feeds `chunks`, each as its own exactly-sized read, to a fresh framer over `storage_size`
// bytes and collects every frame. The framer must consume a read completely before it asks for
// more. Stops at the first invalid status.
inline framer_run run_framer(const std::vector<byte_vec>& chunks, std::size_t storage_size = 4096,
                             tpkt::options opt = {}) {
  framer_run run;
  byte_vec storage(storage_size);
  tpkt::framer f{std::span<std::byte>{storage.data(), storage.size()}, opt};
  for (const byte_vec& chunk : chunks) {
    bytes in = view(chunk);
    for (;;) {
      const tpkt::framer::next_result r = f.next(in);
      if (r.status == tpkt::frame_status::complete) {
        run.frames.emplace_back(r.frame.begin(), r.frame.end());
        continue;
      }
      if (r.status == tpkt::frame_status::invalid) {
        run.err = r.err;
        return run;
      }
      if (!in.empty()) run.input_left_on_need_more = true;
      break;
    }
  }
  return run;
}

inline std::vector<byte_vec> split_at(bytes stream, std::size_t k) {
  return {byte_vec(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(k)),
          byte_vec(stream.begin() + static_cast<std::ptrdiff_t>(k), stream.end())};
}
inline std::vector<byte_vec> byte_by_byte(bytes stream) {
  std::vector<byte_vec> chunks;
  for (const std::byte b : stream) chunks.push_back(byte_vec{b});
  return chunks;
}

inline ::testing::AssertionResult same_run(const framer_run& run,
                                           const std::vector<byte_vec>& expected,
                                           const error& expected_err, const std::string& how) {
  if (run.input_left_on_need_more)
    return ::testing::AssertionFailure() << how << ": need_more returned with input left";
  if (run.err != expected_err)
    return ::testing::AssertionFailure() << how << ": error " << ::testing::PrintToString(run.err)
                                         << ", expected " << ::testing::PrintToString(expected_err);
  if (run.frames.size() != expected.size())
    return ::testing::AssertionFailure()
           << how << ": " << run.frames.size() << " frames, expected " << expected.size();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    auto same = same_bytes(view(run.frames[i]), view(expected[i]));
    if (!same)
      return ::testing::AssertionFailure() << how << ": frame " << i << ": " << same.message();
  }
  return ::testing::AssertionSuccess();
}

// `stream` fed as one read, as two reads split at every position 0..n, and byte by byte yields
// exactly `expected` frames, then `expected_err` (none by default).
inline ::testing::AssertionResult frames_at_every_split(bytes stream,
                                                        const std::vector<byte_vec>& expected,
                                                        const error& expected_err = {},
                                                        std::size_t storage_size = 4096) {
  for (std::size_t k = 0; k <= stream.size(); ++k) {
    auto r = same_run(run_framer(split_at(stream, k), storage_size), expected, expected_err,
                      "split at " + std::to_string(k));
    if (!r) return r;
  }
  return same_run(run_framer(byte_by_byte(stream), storage_size), expected, expected_err,
                  "byte by byte");
}
#define EXPECT_FRAMED_AT_EVERY_SPLIT(frame_bytes)            \
  EXPECT_TRUE(::protos7::codec::test::frames_at_every_split( \
      ::protos7::codec::test::view(frame_bytes), {(frame_bytes)}))

// --- Encoders in counting mode ----------------------------------------------------------------

// `encode(out)` (returning result<size_t>) over an empty span reports buffer_too_small with the
// exact size needed; over a buffer one byte short the same; over a buffer of exactly that size it
// writes `expected` and touches nothing after it.
template <class Encode>
::testing::AssertionResult encodes_to(Encode&& encode, bytes expected) {
  const std::size_t n = expected.size();
  if (n > 0) {
    const result<std::size_t> counted = encode(mutable_bytes{});
    const error want{errc::buffer_too_small, layer::encode, 0, static_cast<std::uint32_t>(n)};
    if (counted.ok() || counted.err() != want)
      return ::testing::AssertionFailure()
             << "counting mode: got "
             << (counted.ok() ? std::string("ok") : ::testing::PrintToString(counted.err()))
             << ", expected " << ::testing::PrintToString(want);
    byte_vec short_buf(n - 1);
    const result<std::size_t> shorter = encode(mutable_bytes{short_buf.data(), short_buf.size()});
    const error want_short{errc::buffer_too_small, layer::encode, static_cast<std::uint32_t>(n - 1),
                           static_cast<std::uint32_t>(n)};
    if (shorter.ok() || shorter.err() != want_short)
      return ::testing::AssertionFailure()
             << "one byte short: got "
             << (shorter.ok() ? std::string("ok") : ::testing::PrintToString(shorter.err()))
             << ", expected " << ::testing::PrintToString(want_short);
    auto prefix = same_bytes(view(short_buf), expected.first(n - 1));
    if (!prefix)
      return ::testing::AssertionFailure() << "one byte short, prefix: " << prefix.message();
  }
  // Exactly the size, followed by guard bytes that must stay untouched.
  byte_vec buf(n + 8, std::byte{0xA5});
  const result<std::size_t> r = encode(mutable_bytes{buf.data(), n});
  if (!r.ok())
    return ::testing::AssertionFailure() << "exact size: " << ::testing::PrintToString(r.err());
  if (*r != n)
    return ::testing::AssertionFailure() << "exact size: returned " << *r << ", expected " << n;
  auto same = same_bytes(bytes{buf.data(), n}, expected);
  if (!same) return same;
  for (std::size_t i = n; i < buf.size(); ++i)
    if (buf[i] != std::byte{0xA5})
      return ::testing::AssertionFailure() << "wrote past the end at " << i;
  return ::testing::AssertionSuccess();
}
// Same, for a function that writes through a writer.
template <class Write>
::testing::AssertionResult writes(Write&& write, bytes expected) {
  return encodes_to(
      [&](mutable_bytes out) {
        writer w{out};
        write(w);
        return w.finish();
      },
      expected);
}
#define EXPECT_ENCODES_TO(encode_lambda, expected) \
  EXPECT_TRUE(::protos7::codec::test::encodes_to((encode_lambda), (expected)))
#define EXPECT_WRITES(write_lambda, expected) \
  EXPECT_TRUE(::protos7::codec::test::writes((write_lambda), (expected)))

// --- The whole stack --------------------------------------------------------------------------

// TPKT + COTP of one frame; offsets measured from the first TPKT byte (as Wireshark counts them
// in the TCP payload).
struct transport {
  tpkt::frame tpkt;
  cotp::tpdu cotp;
};
inline result<transport> parse_transport(bytes frame, const cotp::options& copt = {}) {
  const auto f = tpkt::parse(frame);
  if (!f) return f.err();
  const auto t = cotp::parse(f->payload, frame.data(), copt);
  if (!t) return t.err();
  return transport{*f, *t};
}

// TPKT + COTP DT + S7: the S7 PDU of a frame decoded whole, offsets from the frame start.
inline result<s7::message> decode_frame(bytes frame, const s7::decode_options& opt = {}) {
  const auto t = parse_transport(frame);
  if (!t) return t.err();
  if (t->cotp.type != cotp::tpdu_type::dt || !t->cotp.eot) {
    ADD_FAILURE() << "fixture is not a single DT with EOT";
    return error{errc::trailing_bytes, layer::none, 0, 0};
  }
  return s7::decode(t->cotp.user_data, frame.data(), opt);
}

// The S7 PDU inside a frame (after the 4-byte TPKT header and the 3-byte DT header).
inline constexpr std::size_t s7_at = 7;
inline bytes s7_of(const byte_vec& frame) {
  return view(frame).subspan(s7_at);
}

// Wraps an S7 PDU in TPKT + a DT with EOT, as a peer sends it.
inline byte_vec frame_dt(bytes s7) {
  byte_vec out(s7.size() + s7_at);
  writer w{mutable_bytes{out.data(), out.size()}};
  tpkt::write_header(w, s7.size() + 3);
  cotp::write_dt_header(w, true);
  w.raw(s7);
  EXPECT_TRUE(w.finish().ok());
  return out;
}

// encode(parse(b)) == b for TPKT and COTP: the frame rebuilt from its decoded fields.
inline ::testing::AssertionResult transport_round_trips(bytes frame) {
  const auto t = parse_transport(frame);
  if (!t)
    return ::testing::AssertionFailure() << "does not parse: " << ::testing::PrintToString(t.err());
  auto tp =
      encodes_to([&](mutable_bytes out) { return tpkt::encode(t->tpkt.payload, out); }, frame);
  if (!tp) return ::testing::AssertionFailure() << "tpkt: " << tp.message();
  auto co =
      encodes_to([&](mutable_bytes out) { return cotp::encode(t->cotp, out); }, t->tpkt.payload);
  if (!co) return ::testing::AssertionFailure() << "cotp: " << co.message();
  return ::testing::AssertionSuccess();
}

// encode(parse(b)) == b for the S7 header: header fields + parameter + data views.
inline ::testing::AssertionResult s7_header_round_trips(bytes pdu) {
  const auto p = s7::parse(pdu);
  if (!p)
    return ::testing::AssertionFailure() << "does not parse: " << ::testing::PrintToString(p.err());
  return encodes_to([&](mutable_bytes out) { return s7::encode(p->hdr, p->param, p->data, out); },
                    pdu);
}

// A valid S7 PDU is valid everywhere: alone, wrapped in TPKT + DT and framed at every split, and
// its header re-encodes to the same bytes.
inline ::testing::AssertionResult valid_everywhere(bytes pdu, const s7::decode_options& opt = {}) {
  const auto alone = s7::decode(pdu, nullptr, opt);
  if (!alone)
    return ::testing::AssertionFailure() << "alone: " << ::testing::PrintToString(alone.err());
  const byte_vec frame = frame_dt(pdu);
  auto framed = frames_at_every_split(view(frame), {frame});
  if (!framed) return framed;
  const auto whole = decode_frame(view(frame), opt);
  if (!whole)
    return ::testing::AssertionFailure() << "in a frame: " << ::testing::PrintToString(whole.err());
  return s7_header_round_trips(pdu);
}
#define EXPECT_VALID_EVERYWHERE(pdu, ...)                                                \
  EXPECT_TRUE(::protos7::codec::test::valid_everywhere(::protos7::codec::test::view(pdu) \
                                                           __VA_OPT__(, ) __VA_ARGS__))

}  // namespace protos7::codec::test
