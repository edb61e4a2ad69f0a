// fuzz_capture: protos7::capture::load_memory, the pcap/pcapng reader with link-layer, IPv4/IPv6
// and TCP decoding and the per-connection stream reassembly of the conformance kit.
//
// Input: a capture file (seeds: small synthetic pcaps that extract_seeds.py builds from the
// payloads of the sample captures: handshakes, both directions, several link types, VLAN tags,
// IPv6, out-of-order and retransmitted segments, a lost segment, pcapng).
//
// Checked: a load that fails leaves a message; a load that succeeds gives chunks that lie
// inside their side's reassembled bytes, in stream order per side and in frame order overall,
// with frame numbers inside the file; the counters add up; the documented limits hold
// (max_connections, max_notes plus the one "suppressed" line).

#include "protos7/capture/capture.hpp"

#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace cap = protos7::capture;
  const auto in = protos7::fuzz::as_bytes(data, size);
  cap::capture_file file;
  cap::load_error err;
  if (!cap::load_memory(in, file, err)) {
    FUZZ_CHECK(!err.message.empty());
    return 0;
  }
  FUZZ_CHECK(file.tcp_frames + file.ignored_frames + file.skipped_frames <= file.frames);
  FUZZ_CHECK(file.connections.size() <= cap::max_connections);
  for (const cap::connection& c : file.connections) {
    FUZZ_CHECK(c.first_frame >= 1 && c.first_frame <= c.last_frame && c.last_frame <= file.frames);
    FUZZ_CHECK(c.notes.size() <= cap::max_notes + 1);
    std::size_t end[2] = {0, 0};
    std::uint64_t last_frame = 0;
    for (const cap::chunk& k : c.chunks) {
      FUZZ_CHECK(k.side == 0 || k.side == 1);
      const auto side = static_cast<std::size_t>(k.side);
      FUZZ_CHECK(k.begin <= k.end && k.end <= c.sides[side].data.size());
      FUZZ_CHECK(k.begin >= end[side]);  // per direction, stream order
      FUZZ_CHECK(k.frame >= last_frame && k.frame >= 1 && k.frame <= file.frames);
      if (!k.gap_before) FUZZ_CHECK(k.lost_before == 0);
      end[side] = k.end;
      last_frame = k.frame;
    }
  }
  return 0;
}
