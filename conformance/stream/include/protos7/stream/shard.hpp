// --shard I/N: a deterministic share of the S7 connections of a capture set, so that N machines
// (GNU parallel, a CI matrix, a Kubernetes Indexed Job) each take one share. Connection k,
// counted over every capture of the run in the order the captures are given and within a capture
// in order of its first frame (the `protos7 dump` index), belongs to shard k mod N. Every shard
// must therefore be given the same captures in the same order.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace protos7::stream {

struct shard {
  std::size_t index = 0;  // 0 .. count-1 (Kubernetes' JOB_COMPLETION_INDEX)
  std::size_t count = 1;

  // "I/N" with 0 <= I < N, N >= 1. Returns false with a message in `err` otherwise.
  static bool parse(std::string_view text, shard& out, std::string& err);
  [[nodiscard]] bool takes(std::size_t global_index) const noexcept {
    return global_index % count == index;
  }
  [[nodiscard]] bool all() const noexcept { return count == 1; }
  [[nodiscard]] std::string to_string() const;
};

}  // namespace protos7::stream
