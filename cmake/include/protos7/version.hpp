// The protos7 version and the git revision the binary was built from (cmake/version.cmake).
#pragma once

namespace protos7 {

// "0.1.0"
[[nodiscard]] const char* version() noexcept;
// `git describe --always --dirty` of the source tree ("fe3265b1234a", "fe3265b1234a-dirty"),
// or "unknown" without git.
[[nodiscard]] const char* revision() noexcept;

}  // namespace protos7
