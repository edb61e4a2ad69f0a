// PDU records of a captured S7 connection.
//
// The capture library gives two reassembled byte streams per TCP connection; this walks each
// with the codec's TPKT framer, decodes COTP, reassembles DT segments into S7 PDUs and merges
// both directions back into capture order. Every record keeps the frame in which its last byte
// arrived (Wireshark's attribution), so records line up with tshark's output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protos7/capture/capture.hpp"
#include "protos7/codec/cotp.hpp"
#include "protos7/codec/error.hpp"

namespace protos7::stream {

struct record {
  int side = 0;               // 0 client -> server, 1 server -> client
  std::uint64_t frame = 0;    // frame of the last byte of the TPKT frame
  double time = 0.0;
  std::size_t stream_offset = 0;  // offset of the TPKT frame in its side's stream
  std::vector<std::byte> tpkt;    // the whole TPKT frame
  bool cotp_ok = false;
  codec::cotp::tpdu cotp;         // views into `tpkt` (valid while the record lives, not copied)
  // Set when this DT completed an S7 PDU (EOT): the reassembled PDU bytes.
  bool has_s7 = false;
  std::vector<std::byte> s7;
  std::size_t segments = 1;       // DT segments that made up s7
  // With a single segment: where the S7 PDU starts inside `tpkt`, so errors can be reported as
  // offsets in the frame (0 when the PDU was reassembled from several segments).
  std::size_t s7_offset_in_frame = 0;
  codec::error err{};             // a TPKT or COTP error of this frame
  bool resync = false;            // bytes were skipped before this frame (gap or garbage)
};

struct connection_records {
  const capture::connection* conn = nullptr;
  std::vector<record> records;
  bool start_captured = true;   // the first bytes of both directions were whole TPKT frames
  std::vector<std::string> notes;
};

struct options {
  std::uint16_t port = 102;  // only connections involving this port (0: all)
};

// Extracts records from every S7 connection of `file`. Records hold copies of their bytes, so
// they stay valid on their own (cotp views point into the record's own `tpkt`).
[[nodiscard]] std::vector<connection_records> extract(const capture::capture_file& file,
                                                      const options& opt = {});

}  // namespace protos7::stream
