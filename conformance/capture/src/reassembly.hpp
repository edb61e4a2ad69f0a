// Internal: TCP stream reassembly for a whole capture.
//
// Segments are fed in capture order; the assembler keeps one record per connection (4-tuple,
// split again when a new SYN reuses it) and turns each direction's segments into a contiguous
// byte stream plus "chunks" saying which frame made which bytes available.
//
// Sequence numbers are 32-bit and wrap (RFC 9293 section 3.4). Every direction therefore keeps
// the pair (next_seq, next_off): the 32-bit sequence number of the next expected byte and its
// 64-bit offset in the stream. A segment's offset is next_off plus the signed 32-bit distance
// seq - next_seq, which is right across wraparound as long as the segment is within 2 GiB of
// the expected position, and which makes every comparison after that a plain integer one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "decode.hpp"
#include "protos7/capture/capture.hpp"

namespace protos7::capture::detail {

// Appends `line` unless `list` already holds max_notes lines; the line after the last one says
// that later lines were dropped, so a capped list never looks complete.
void add_capped(std::vector<std::string>& list, std::string line);

class assembler {
 public:
  explicit assembler(capture_file& out) : out_(out) {}

  // Feeds the segment of frame `frame` (1-based). Returns false when the segment belongs to a
  // new connection beyond max_connections and was dropped (a warning is added once).
  bool add(const tcp_segment& s, std::uint64_t frame, double time);

  // End of capture: holes that never filled are declared lost and the bytes buffered behind
  // them are delivered; chunks are put in frame order. Call once, after the last add().
  void finish();

 private:
  struct pending_segment {
    std::vector<std::byte> bytes;
    std::uint64_t frame = 0;
    double time = 0.0;
  };

  static constexpr std::size_t no_chunk = SIZE_MAX;

  // Reassembly state of one direction.
  struct direction {
    bool initialized = false;
    std::uint32_t next_seq = 0;  // sequence number of the next expected byte
    std::uint64_t next_off = 0;  // its stream offset (= data delivered + bytes lost)
    // Out-of-order bytes keyed by stream offset; entries never overlap each other and all
    // start after next_off.
    std::map<std::uint64_t, pending_segment> pending;
    std::size_t pending_bytes = 0;
    bool limit_noted = false;
    std::uint64_t lost_since_chunk = 0;  // reported by the next chunk of this direction
    std::size_t open_chunk = no_chunk;   // index of this direction's latest chunk
    std::uint64_t last_frame = 0;        // frame and time of that chunk
    double last_time = 0.0;
    bool fin_known = false;  // stream offset just past the last byte, from FIN
    std::uint64_t fin_off = 0;
  };

  struct conn_state {
    ip_address client_addr;
    std::uint16_t client_port = 0;
    bool client_syn_seen = false;
    std::uint32_t client_isn = 0;
    bool syn_ack_seen = false;
    direction dir[2];
  };

  struct endpoint_key {
    ip_address addr;
    std::uint16_t port = 0;
    friend auto operator<=>(const endpoint_key&, const endpoint_key&) = default;
  };
  struct conn_key {
    endpoint_key lo, hi;  // ordered, so both directions map to one key
    friend auto operator<=>(const conn_key&, const conn_key&) = default;
  };

  std::size_t open_connection(const tcp_segment& s, std::uint64_t frame);
  void segment(std::size_t idx, const tcp_segment& s, std::uint64_t frame, double time);
  void add_data(std::size_t idx, int side, std::int64_t off, std::span<const std::byte> bytes,
                std::uint64_t missing, std::uint64_t frame, double time);
  void append(std::size_t idx, int side, std::span<const std::byte> bytes, std::uint64_t frame,
              double time);
  void skip(std::size_t idx, int side, std::uint64_t n);
  void buffer(std::size_t idx, int side, std::uint64_t off, std::span<const std::byte> bytes,
              std::uint64_t frame, double time);
  // Delivers the first buffered segment if it starts at or before next_off (true if so).
  bool deliver_first(std::size_t idx, int side, std::uint64_t frame, double time);
  void drain(std::size_t idx, int side, std::uint64_t frame, double time);
  void resume_after_hole(std::size_t idx, int side, const std::string& why);
  void note(std::size_t idx, std::string line);

  capture_file& out_;
  std::map<conn_key, std::size_t> index_;  // latest connection of each 4-tuple
  std::vector<conn_state> state_;          // parallel to out_.connections
  bool limit_warned_ = false;
};

}  // namespace protos7::capture::detail
