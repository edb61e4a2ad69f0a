// The page's files, embedded into the binary at build time (cmake/embed_assets.cmake turns
// server/webadmin/assets/* into a generated assets.cpp). No file is read at run time.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace protos7::webadmin {

struct embedded_asset {
  std::string_view path;  // "index.html", "app.js", ...
  std::string_view mime;
  std::span<const unsigned char> data;
  std::string_view etag;  // SHA-256 of the content (quoted, as sent in ETag)
};

[[nodiscard]] std::span<const embedded_asset> embedded_assets() noexcept;

}  // namespace protos7::webadmin
