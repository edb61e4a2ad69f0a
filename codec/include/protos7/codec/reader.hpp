// The one bounded byte reader through which the codec reads all input.
//
// A reader covers [pos, end) of a buffer whose first byte is `origin`; offsets in errors are
// measured from `origin`, so a child reader made by sub(n) reports offsets in the caller's
// frame of reference. The first failure is sticky: after it every read returns 0 / an empty
// span and the error stays the first one, so a decoder can read a whole fixed layout and check
// ok() once. Nothing here allocates or throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "protos7/codec/error.hpp"

namespace protos7::codec {

using bytes = std::span<const std::byte>;

class reader {
 public:
  constexpr reader(bytes in, layer where) noexcept
      : origin_(in.data()), pos_(in.data()), end_(in.data() + in.size()), layer_(where) {}

  // A reader over `in` whose offsets are measured from `origin` (in must lie inside it).
  constexpr reader(bytes in, const std::byte* origin, layer where) noexcept
      : origin_(origin), pos_(in.data()), end_(in.data() + in.size()), layer_(where) {}

  [[nodiscard]] constexpr bool ok() const noexcept { return !err_; }
  [[nodiscard]] constexpr const error& err() const noexcept { return err_; }
  [[nodiscard]] constexpr std::size_t remaining() const noexcept {
    return static_cast<std::size_t>(end_ - pos_);
  }
  [[nodiscard]] constexpr bool empty() const noexcept { return pos_ == end_; }
  [[nodiscard]] constexpr std::uint32_t offset() const noexcept {
    return static_cast<std::uint32_t>(pos_ - origin_);
  }
  [[nodiscard]] constexpr const std::byte* origin() const noexcept { return origin_; }
  [[nodiscard]] constexpr layer where() const noexcept { return layer_; }
  constexpr void set_layer(layer where) noexcept { layer_ = where; }
  // The bytes not read yet, without consuming them.
  [[nodiscard]] constexpr bytes rest() const noexcept { return {pos_, remaining()}; }

  [[nodiscard]] constexpr std::uint8_t u8() noexcept {
    if (!need(1)) return 0;
    return static_cast<std::uint8_t>(*pos_++);
  }
  [[nodiscard]] constexpr std::uint8_t peek_u8() const noexcept {
    return (ok() && pos_ < end_) ? static_cast<std::uint8_t>(*pos_) : 0;
  }
  [[nodiscard]] constexpr std::uint16_t u16be() noexcept {
    if (!need(2)) return 0;
    const auto v = static_cast<std::uint16_t>((std::to_integer<unsigned>(pos_[0]) << 8U) |
                                              std::to_integer<unsigned>(pos_[1]));
    pos_ += 2;
    return v;
  }
  [[nodiscard]] constexpr std::uint32_t u24be() noexcept {
    if (!need(3)) return 0;
    const std::uint32_t v = (std::to_integer<std::uint32_t>(pos_[0]) << 16U) |
                            (std::to_integer<std::uint32_t>(pos_[1]) << 8U) |
                            std::to_integer<std::uint32_t>(pos_[2]);
    pos_ += 3;
    return v;
  }
  [[nodiscard]] constexpr std::uint32_t u32be() noexcept {
    if (!need(4)) return 0;
    const std::uint32_t v = (std::to_integer<std::uint32_t>(pos_[0]) << 24U) |
                            (std::to_integer<std::uint32_t>(pos_[1]) << 16U) |
                            (std::to_integer<std::uint32_t>(pos_[2]) << 8U) |
                            std::to_integer<std::uint32_t>(pos_[3]);
    pos_ += 4;
    return v;
  }
  // The next n bytes as a view.
  [[nodiscard]] constexpr bytes take(std::size_t n) noexcept {
    if (!need(n)) return {};
    bytes out{pos_, n};
    pos_ += n;
    return out;
  }
  constexpr void skip(std::size_t n) noexcept { (void)take(n); }
  // A child reader bounded to the next n bytes (its end replaces ours); consumes them here.
  [[nodiscard]] constexpr reader sub(std::size_t n, layer where) noexcept {
    const bytes b = take(n);
    reader child{b, origin_, where};
    if (!ok()) child.err_ = err_;
    return child;
  }
  [[nodiscard]] constexpr reader sub(std::size_t n) noexcept { return sub(n, layer_); }

  // Fails with `code` unless everything was consumed.
  constexpr bool expect_end(errc code = errc::trailing_bytes) noexcept {
    if (ok() && pos_ != end_) fail(code);
    return ok();
  }
  // Records `code` at the current offset (first failure wins).
  constexpr void fail(errc code) noexcept { fail_at(code, offset()); }
  constexpr void fail_at(errc code, std::uint32_t at) noexcept {
    if (ok()) err_ = error{code, layer_, at, 0};
  }
  // Takes over a failure from a child reader or a nested decode.
  constexpr void adopt(const error& e) noexcept {
    if (ok() && e) err_ = e;
  }

 private:
  constexpr bool need(std::size_t n) noexcept {
    if (!ok()) return false;
    if (remaining() < n) {
      // Report the offset of the field that does not fit, with the truncation code.
      err_ = error{errc::truncated, layer_, offset(), 0};
      return false;
    }
    return true;
  }

  const std::byte* origin_;
  const std::byte* pos_;
  const std::byte* end_;
  layer layer_;
  error err_{};
};

// Offset of `p` (which lies inside the buffer starting at `origin`).
[[nodiscard]] constexpr std::uint32_t offset_of(const std::byte* origin,
                                                const std::byte* p) noexcept {
  return static_cast<std::uint32_t>(p - origin);
}

}  // namespace protos7::codec
