// Every TPKT frame of the Wireshark sample captures, loaded once: the shared fixture of the
// zero-allocation test, the benchmarks and the seed extractor.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace protos7::stream {

struct sample_frame {
  std::string capture;          // file name
  std::vector<std::byte> tpkt;  // whole TPKT frame
};

// The directory of the sample captures: $PROTOS7_PCAP_DIR, else `fallback`.
[[nodiscard]] std::string pcap_dir(const std::string& fallback);

// All TPKT frames (both directions, capture order) of the port-102 connections of `files` in
// `dir`. Returns false and sets `error` when a file cannot be read.
bool load_frames(const std::string& dir, const std::vector<std::string>& files,
                 std::vector<sample_frame>& out, std::string& error);

// The six Wireshark s7comm sample captures.
[[nodiscard]] const std::vector<std::string>& wireshark_samples();

}  // namespace protos7::stream
