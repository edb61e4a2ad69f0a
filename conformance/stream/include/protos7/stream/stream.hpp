// PDU records of a captured S7 connection.
//
// The capture library gives two reassembled byte streams per TCP connection; this walks each
// with the codec's TPKT framer, decodes COTP, reassembles DT segments into S7 PDUs and merges
// both directions back into capture order. Every record keeps the frame in which its last byte
// arrived (Wireshark's attribution), so records line up with tshark's output.
//
// Two forms: extract() turns a loaded capture into records that own their bytes (tests, small
// captures); connection_walker hands each record out as a view as the bytes come, which is what
// the streaming reader (reader.hpp) runs for every connection of a capture of any size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "protos7/capture/capture.hpp"
#include "protos7/codec/cotp.hpp"
#include "protos7/codec/error.hpp"

namespace protos7::stream {

// One TPKT frame of a connection, as a view (valid for the duration of the call it is passed to).
struct record_view {
  int side = 0;             // 0 client -> server, 1 server -> client
  std::uint64_t frame = 0;  // frame of the last byte of the TPKT frame
  double time = 0.0;
  std::size_t stream_offset = 0;    // offset of the TPKT frame in its side's stream
  std::span<const std::byte> tpkt;  // the whole TPKT frame
  bool cotp_ok = false;
  codec::cotp::tpdu cotp;  // views into `tpkt`
  // Set when this DT completed an S7 PDU (EOT): the reassembled PDU bytes.
  bool has_s7 = false;
  std::span<const std::byte> s7;
  std::size_t segments = 1;  // DT segments that made up s7
  // With a single segment: where the S7 PDU starts inside `tpkt`, so errors can be reported as
  // offsets in the frame (0 when the PDU was reassembled from several segments).
  std::size_t s7_offset_in_frame = 0;
  codec::error err{};   // a TPKT or COTP error of this frame
  bool resync = false;  // bytes were skipped before this frame (gap or garbage)
};

// The same, owning its bytes.
struct record {
  int side = 0;
  std::uint64_t frame = 0;
  double time = 0.0;
  std::size_t stream_offset = 0;
  std::vector<std::byte> tpkt;
  bool cotp_ok = false;
  codec::cotp::tpdu cotp;  // views into `tpkt` (valid while the record lives, not copied)
  bool has_s7 = false;
  std::vector<std::byte> s7;
  std::size_t segments = 1;
  std::size_t s7_offset_in_frame = 0;
  codec::error err{};
  bool resync = false;

  record() = default;
  explicit record(const record_view& v);
  record(const record& o);
  record& operator=(const record& o);
  record(record&&) noexcept = default;
  record& operator=(record&&) noexcept = default;
  [[nodiscard]] record_view view() const;
};

struct connection_records {
  const capture::connection* conn = nullptr;
  std::vector<record> records;
  bool start_captured = true;  // the first bytes of both directions were whole TPKT frames
  std::vector<std::string> notes;
};

struct options {
  std::uint16_t port = 102;  // only connections involving this port (0: all)
};

// Extracts records from every S7 connection of `file`. Records hold copies of their bytes, so
// they stay valid on their own (cotp views point into the record's own `tpkt`).
[[nodiscard]] std::vector<connection_records> extract(const capture::capture_file& file,
                                                      const options& opt = {});

// --- Streaming ---------------------------------------------------------------------------------

// Both directions of one connection walked through the codec's transport reader (resync on: a
// capture may start mid-frame, have gaps, or carry garbage).
class connection_walker {
 public:
  using record_fn = std::function<void(const record_view&)>;
  using note_fn = std::function<void(std::string)>;
  connection_walker(record_fn on_record, note_fn on_note);
  ~connection_walker();
  connection_walker(const connection_walker&) = delete;
  connection_walker& operator=(const connection_walker&) = delete;

  // The bytes of one chunk of the connection; records they complete come out in stream order.
  void feed(const capture::chunk& ch, std::span<const std::byte> bytes);
  // End of the connection: notes on what is left unfinished in either direction.
  void finish();
  // The first bytes of both directions were whole TPKT frames.
  [[nodiscard]] bool start_captured() const noexcept;
  // After finish(): the side's last bytes do not form a whole TPKT frame.
  [[nodiscard]] bool tail_cut(int side) const noexcept;

 private:
  struct side;
  record_fn on_record_;
  note_fn on_note_;
  std::unique_ptr<side> sides_[2];
};

}  // namespace protos7::stream
