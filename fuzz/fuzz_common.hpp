// Helpers shared by the protos7 fuzz targets (the harnesses, not the codec: they may allocate).
//
// An invariant that does not hold is a bug in the codec (or in the harness): FUZZ_CHECK prints
// the condition and where it failed, then abort()s, which libFuzzer reports as a crash and the
// replay main as a failed ctest.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"

namespace protos7::fuzz {

using codec::bytes;

[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) noexcept {
  std::fprintf(stderr, "protos7 fuzz invariant failed: %s (%s:%d)\n", what, file, line);
  std::fflush(stderr);
  std::abort();
}

#define FUZZ_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::protos7::fuzz::invariant_failed(#cond, __FILE__, __LINE__))

inline bytes as_bytes(const std::uint8_t* data, std::size_t size) noexcept {
  // libFuzzer never passes a null pointer, the replay main may for an empty file.
  return size == 0 ? bytes{} : bytes{reinterpret_cast<const std::byte*>(data), size};
}

inline bool same(bytes a, bytes b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

inline std::uint8_t u8_at(bytes b, std::size_t i) noexcept {
  return std::to_integer<std::uint8_t>(b[i]);
}

// `inner` lies wholly inside `outer` (an empty view counts as inside).
inline bool within(bytes inner, bytes outer) noexcept {
  if (inner.empty()) return true;
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

// Offset of `inner` from `origin` (inner must lie inside the buffer that starts at origin).
inline std::size_t offset_in(bytes inner, const std::byte* origin) noexcept {
  return static_cast<std::size_t>(inner.data() - origin);
}

// A copy of the input in its own exactly sized heap block, so that AddressSanitizer catches a
// read one byte past the end even when the harness modified a byte of it.
inline std::vector<std::byte> copy_of(bytes in) {
  return {in.begin(), in.end()};
}

// The input again, behind `prefix` bytes of another buffer: decoding view() with origin() must
// give the same result with every offset (errors, recorded field offsets) larger by `prefix`,
// the "offsets are measured from origin" contract of reader.hpp.
class shifted {
 public:
  static constexpr std::size_t prefix = 4;  // a TPKT header's worth
  explicit shifted(bytes in) : buf_(prefix + in.size(), std::byte{0xA5}) {
    std::copy(in.begin(), in.end(), buf_.begin() + prefix);
  }
  [[nodiscard]] bytes view() const noexcept { return {buf_.data() + prefix, buf_.size() - prefix}; }
  [[nodiscard]] const std::byte* origin() const noexcept { return buf_.data(); }

 private:
  std::vector<std::byte> buf_;
};

// `b` is `a` seen from `shift` bytes further back: same code and layer, offset + shift.
inline bool same_error_shifted(const codec::error& a, const codec::error& b,
                               std::size_t shift) noexcept {
  return a.code == b.code && a.where == b.where && b.offset == a.offset + shift &&
         a.needed == b.needed;
}

// Every error the codec returns is {code, layer, offset} with a named code, a layer, and an
// offset inside the buffer of the top-level call (error.hpp); `size` is that buffer's size.
inline bool well_formed(const codec::error& e, std::size_t size) noexcept {
  return e.code != codec::errc::ok && codec::to_string(e.code) != "unknown" &&
         e.where != codec::layer::none && codec::to_string(e.where) != "unknown" &&
         e.offset <= size;
}

}  // namespace protos7::fuzz
