// The one writer through which the codec encodes.
//
// A writer writes into the caller's buffer and keeps counting when the buffer is full, so an
// encoder run over an empty span is its own size function: size and bytes can never disagree.
// finish() turns "ran out of room" into errc::buffer_too_small with the size that was needed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "protos7/codec/error.hpp"

namespace protos7::codec {

using mutable_bytes = std::span<std::byte>;

class writer {
 public:
  constexpr explicit writer(mutable_bytes out) noexcept : out_(out) {}

  constexpr void u8(std::uint8_t v) noexcept { put(static_cast<std::byte>(v)); }
  constexpr void u16be(std::uint16_t v) noexcept {
    if (has_room(2)) {
      out_[size_] = static_cast<std::byte>(v >> 8U);
      out_[size_ + 1] = static_cast<std::byte>(v & 0xFFU);
      size_ += 2;
      return;
    }
    put(static_cast<std::byte>(v >> 8U));
    put(static_cast<std::byte>(v & 0xFFU));
  }
  constexpr void u24be(std::uint32_t v) noexcept {
    if (v > 0xFFFFFFU) range_error();
    put(static_cast<std::byte>((v >> 16U) & 0xFFU));
    put(static_cast<std::byte>((v >> 8U) & 0xFFU));
    put(static_cast<std::byte>(v & 0xFFU));
  }
  constexpr void u32be(std::uint32_t v) noexcept {
    put(static_cast<std::byte>(v >> 24U));
    put(static_cast<std::byte>((v >> 16U) & 0xFFU));
    put(static_cast<std::byte>((v >> 8U) & 0xFFU));
    put(static_cast<std::byte>(v & 0xFFU));
  }
  constexpr void raw(std::span<const std::byte> b) noexcept {
    if (has_room(b.size())) {
      std::copy(b.begin(), b.end(), out_.begin() + static_cast<std::ptrdiff_t>(size_));
      size_ += b.size();
      return;
    }
    for (std::byte x : b) put(x);
  }
  constexpr void zeros(std::size_t n) noexcept {
    if (has_room(n)) {
      std::fill_n(out_.begin() + static_cast<std::ptrdiff_t>(size_), n, std::byte{0});
      size_ += n;
      return;
    }
    for (std::size_t i = 0; i < n; ++i) put(std::byte{0});
  }
  // Overwrites a 16-bit field written earlier at `at` (used for lengths known only at the end).
  constexpr void patch_u16be(std::size_t at, std::uint16_t v) noexcept {
    if (at + 2 <= out_.size() && at + 2 <= size_) {
      out_[at] = static_cast<std::byte>(v >> 8U);
      out_[at + 1] = static_cast<std::byte>(v & 0xFFU);
    }
  }
  constexpr void patch_u8(std::size_t at, std::uint8_t v) noexcept {
    if (at < out_.size() && at < size_) out_[at] = static_cast<std::byte>(v);
  }
  // A field value that does not fit its wire width.
  constexpr void range_error() noexcept {
    if (!range_err_) range_err_ = true, range_at_ = size_;
  }

  // Bytes written (or that would have been written) so far.
  [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }
  [[nodiscard]] constexpr bool overflowed() const noexcept { return size_ > out_.size(); }

  // The encode result: the size written, or buffer_too_small with `needed` set.
  [[nodiscard]] constexpr result<std::size_t> finish() const noexcept {
    if (range_err_)
      return error{errc::value_out_of_range, layer::encode, static_cast<std::uint32_t>(range_at_),
                   0};
    if (overflowed())
      return error{errc::buffer_too_small, layer::encode, static_cast<std::uint32_t>(out_.size()),
                   static_cast<std::uint32_t>(size_)};
    return size_;
  }

 private:
  // Whether n more bytes fit: then a field is written at once (the common case); otherwise byte
  // by byte, counting what does not fit.
  [[nodiscard]] constexpr bool has_room(std::size_t n) const noexcept {
    return size_ <= out_.size() && out_.size() - size_ >= n;
  }
  constexpr void put(std::byte b) noexcept {
    if (size_ < out_.size()) out_[size_] = b;
    ++size_;
  }

  mutable_bytes out_;
  std::size_t size_ = 0;
  std::size_t range_at_ = 0;
  bool range_err_ = false;
};

}  // namespace protos7::codec
