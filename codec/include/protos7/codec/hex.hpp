// Bytes as hexadecimal text: the one hex encoder of the project (logs, reports, JSON, the profile
// format, the web admin). write_hex writes into the caller's buffer and allocates nothing;
// to_hex returns a std::string for callers off the request path (the codec itself never calls
// it). Lower case, two digits a byte: "0a1b", or "0a 1b" with a separator.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace protos7::codec {

inline constexpr std::string_view hex_digits_lower = "0123456789abcdef";

// The length of the text of `n` bytes (a separator between two bytes when it is not '\0').
[[nodiscard]] constexpr std::size_t hex_length(std::size_t n, char separator = '\0') noexcept {
  return n == 0 ? 0 : 2 * n + (separator != '\0' ? n - 1 : 0);
}

// Writes the text of as many whole bytes as `out` holds; returns the characters written.
constexpr std::size_t write_hex(std::span<const std::byte> in, std::span<char> out,
                                char separator = '\0') noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const bool sep = i != 0 && separator != '\0';
    if (n + 2 + (sep ? 1 : 0) > out.size()) break;
    if (sep) out[n++] = separator;
    const auto v = std::to_integer<unsigned>(in[i]);
    out[n++] = hex_digits_lower[v >> 4U];
    out[n++] = hex_digits_lower[v & 0x0FU];
  }
  return n;
}

[[nodiscard]] inline std::string to_hex(std::span<const std::byte> in, char separator = '\0') {
  std::string s(hex_length(in.size(), separator), '\0');
  (void)write_hex(in, s, separator);
  return s;
}

}  // namespace protos7::codec
