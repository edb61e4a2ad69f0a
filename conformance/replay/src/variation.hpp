// Internal: what in the captured answers is not a fixed property of the PLC, learned from a first
// pass over the whole capture (every connection, in answer order) and asked for each answer while
// the capture is replayed (tolerance_source):
//   program_data      Read Var data bytes the PLC's program changed: the capture shows the byte
//                     with another value later although no client wrote it in between
//   varies_in_capture data bytes of a Userdata answer that differ between the captured PLC's
//                     answers to the same request (same bytes but PDU reference and sequence
//                     number) in this capture: LED states, checksums after a download, ...
//   clock             the DATE_AND_TIME of SZL 0x0424 records (record bytes 12-19) and of SZL
//                     0x0132 index 8 (bytes 22-29): the PLC's clock when it answers
// What the first pass keeps is bounded by what it describes (the PLC memory clients read, the
// distinct Userdata requests and their distinct answers), not by the length of the capture.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "protos7/replay/script.hpp"
#include "protos7/stream/reader.hpp"

namespace protos7::replay::detail {

class variation_facts final : public tolerance_source, public stream::sink {
 public:
  variation_facts();
  ~variation_facts() override;
  variation_facts(const variation_facts&) = delete;
  variation_facts& operator=(const variation_facts&) = delete;

  // The first pass: every S7 connection of the capture (stream::sink).
  void on_connection(std::size_t index, const capture::connection& meta) override;
  void on_record(std::size_t index, const stream::record_view& r) override;
  void on_note(std::size_t, const std::string&) override {}
  void on_end(std::size_t index, const stream::connection_end& e) override;
  void on_warning(const std::string&) override {}

  [[nodiscard]] std::vector<expectation::tolerated_range> tolerated(
      std::size_t conn, std::uint64_t frame, std::span<const std::byte> req,
      std::span<const std::byte> resp, std::size_t ordinal) const override;
  // The connection's shape; the TSAPs of the capture's first CR when it has none of its own.
  [[nodiscard]] session_shape shape(std::size_t conn) const override;

 private:
  struct state;
  std::unique_ptr<state> st_;
};

}  // namespace protos7::replay::detail
