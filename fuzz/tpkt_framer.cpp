// fuzz_tpkt_framer: codec::tpkt::framer fed a TCP byte stream in reads whose sizes come from
// the input.
//
// Input:
//   +---------+------------------------+-----------------------------------------+
//   | control | k chunk sizes (1 each) | stream: TPKT frames as sent over TCP     |
//   +---------+------------------------+-----------------------------------------+
//   control bits 0-3: k (0 = the whole stream in one read); bits 4-6: storage size (table
//   below); bit 7: tpkt::options::allow_reserved_nonzero. The sizes are used in turn, cycling,
//   until the stream is used up; a size of 0 is an empty read.
//
// Checked: the frames and the final state (need_more, or the error) equal those of a model that
// walks the stream with tpkt::measure() in one piece, so how TCP splits the bytes never
// changes what the framer decides; every frame is a whole valid TPKT (tpkt::parse accepts it)
// no larger than the storage; frames are consecutive pieces of the stream; a need_more
// consumes the whole read and leaves exactly the unframed tail buffered.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_common.hpp"
#include "protos7/codec/tpkt.hpp"

namespace {

using namespace protos7::codec;
using protos7::fuzz::bytes;

// Storage sizes: the RFC 1006 maximum, common receive buffers, and the smallest legal (one
// 7-byte frame, tpkt::min_length) to hit tpkt_frame_too_large often.
constexpr std::array<std::size_t, 8> storage_sizes{65535, 8192, 4096, 1024, 260, 64, 16, 7};

struct outcome {
  std::vector<std::vector<std::byte>> frames;
  bool invalid = false;
  error err{};
};

// The reference: one pass over the whole stream with measure().
outcome model(bytes stream, std::size_t storage, const tpkt::options& opt) {
  outcome o;
  std::size_t pos = 0;
  for (;;) {
    const tpkt::measure_result m = tpkt::measure(stream.subspan(pos), opt);
    if (m.status == tpkt::frame_status::invalid) {
      o.invalid = true;
      o.err = m.err;
      return o;
    }
    if (m.frame_size > storage) {
      o.invalid = true;
      o.err = error{errc::tpkt_frame_too_large, layer::tpkt, 2, 0};
      return o;
    }
    if (m.status == tpkt::frame_status::need_more) return o;
    const bytes f = stream.subspan(pos, m.frame_size);
    o.frames.emplace_back(f.begin(), f.end());
    pos += m.frame_size;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes in = protos7::fuzz::as_bytes(data, size);
  if (in.empty()) return 0;
  const std::uint8_t control = protos7::fuzz::u8_at(in, 0);
  const std::size_t k = control & 0x0FU;
  if (in.size() < 1 + k) return 0;
  const std::size_t storage_size = storage_sizes[(control >> 4U) & 0x07U];
  tpkt::options opt;
  opt.allow_reserved_nonzero = (control & 0x80U) != 0;
  const bytes sizes = in.subspan(1, k);
  const bytes stream = in.subspan(1 + k);

  std::size_t size_sum = 0;
  for (const std::byte b : sizes) size_sum += std::to_integer<std::size_t>(b);
  const bool whole = k == 0 || size_sum == 0;

  // One buffer for all runs (zeroing 64 KiB per input would halve the speed); the framer only
  // reads bytes it wrote, and the model comparison below would expose stale ones.
  static std::vector<std::byte> storage(storage_sizes[0]);
  tpkt::framer framer{std::span<std::byte>{storage.data(), storage_size}, opt};
  outcome got;
  std::size_t pos = 0;     // bytes of the stream handed to the framer so far
  std::size_t framed = 0;  // bytes of the stream returned as frames so far
  std::size_t turn = 0;
  bool done = false;
  while (!done) {
    std::size_t n = stream.size() - pos;
    if (!whole) n = std::min(n, std::to_integer<std::size_t>(sizes[turn++ % k]));
    bytes read = stream.subspan(pos, n);
    pos += n;
    for (;;) {
      const tpkt::framer::next_result r = framer.next(read);
      if (r.status == tpkt::frame_status::invalid) {
        FUZZ_CHECK(protos7::fuzz::well_formed(r.err, tpkt::max_length));
        got.invalid = true;
        got.err = r.err;
        done = true;
        break;
      }
      if (r.status == tpkt::frame_status::need_more) {
        FUZZ_CHECK(read.empty());  // the framer takes every byte before it asks for more
        break;
      }
      const auto parsed = tpkt::parse(r.frame, opt);
      FUZZ_CHECK(parsed.ok());
      FUZZ_CHECK(parsed->length == r.frame.size());
      const tpkt::measure_result again = tpkt::measure(r.frame, opt);
      FUZZ_CHECK(again.status == tpkt::frame_status::complete &&
                 again.frame_size == r.frame.size());
      FUZZ_CHECK(r.frame.size() >= tpkt::min_length && r.frame.size() <= storage_size);
      FUZZ_CHECK(protos7::fuzz::same(r.frame, stream.subspan(framed, r.frame.size())));
      framed += r.frame.size();
      got.frames.emplace_back(r.frame.begin(), r.frame.end());
    }
    if (pos == stream.size()) break;
  }
  if (!got.invalid) FUZZ_CHECK(framer.buffered() == stream.size() - framed);

  const outcome want = model(stream, storage_size, opt);
  FUZZ_CHECK(got.invalid == want.invalid);
  FUZZ_CHECK(got.err == want.err);
  FUZZ_CHECK(got.frames == want.frames);
  return 0;
}
