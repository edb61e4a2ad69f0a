// The outcome of a start-up, configuration or I/O step outside the codec (which has its own
// result<T> with {code, layer, offset}): success, or a sentence saying what failed and why,
// written for the user who has to fix it.
//
//   if (const status s = web.start(); !s) { log(log_level::error, "{}", s.why()); return 69; }
//
// One convention for the server, the CLI, the S7 client library and the replay's sockets: no
// function answers "" for success and a message for failure.
#pragma once

#include <string>
#include <utility>

namespace protos7 {

class [[nodiscard]] status {
 public:
  status() = default;  // success
  [[nodiscard]] static status failure(std::string why) {
    status s;
    s.failed_ = true;
    s.why_ = std::move(why);
    return s;
  }
  [[nodiscard]] bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  // The sentence of a failure ("" on success).
  [[nodiscard]] const std::string& why() const noexcept { return why_; }

 private:
  bool failed_ = false;
  std::string why_;
};

}  // namespace protos7
