#include "protos7/stream/shard.hpp"

#include <charconv>

namespace protos7::stream {

bool shard::parse(std::string_view text, shard& out, std::string& err) {
  const auto slash = text.find('/');
  const auto number = [](std::string_view s, std::size_t& v) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc{} && p == s.data() + s.size();
  };
  shard s;
  if (slash == std::string_view::npos || !number(text.substr(0, slash), s.index) ||
      !number(text.substr(slash + 1), s.count) || s.count == 0 || s.index >= s.count) {
    err = "--shard \"" + std::string(text) + "\": expected I/N with 0 <= I < N (e.g. 0/4 .. 3/4)";
    return false;
  }
  out = s;
  return true;
}

std::string shard::to_string() const {
  return std::to_string(index) + "/" + std::to_string(count);
}

}  // namespace protos7::stream
