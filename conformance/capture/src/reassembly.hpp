// Internal: TCP stream reassembly for a whole capture, as a stream.
//
// Segments are fed in capture order; the assembler keeps the state of each open connection
// (4-tuple, split again when a new SYN reuses it), turns each direction's segments into a
// contiguous byte stream and hands every run of bytes that became contiguous to a stream_sink
// with the frame that made it available. It keeps no delivered byte: memory is the open
// connections' state plus their out-of-order segments (bounded by max_out_of_order_bytes).
//
// Sequence numbers are 32-bit and wrap (RFC 9293 section 3.4). Every direction therefore keeps
// the pair (next_seq, next_off): the 32-bit sequence number of the next expected byte and its
// 64-bit offset in the stream. A segment's offset is next_off plus the signed 32-bit distance
// seq - next_seq, which is right across wraparound as long as the segment is within 2 GiB of
// the expected position, and which makes every comparison after that a plain integer one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "decode.hpp"
#include "protos7/capture/capture.hpp"

namespace protos7::capture::detail {

// Counts lines handed out and stops at max_notes; the line after the last one says that later
// lines were dropped, so a capped list never looks complete. Returns false for a dropped line.
bool capped(std::size_t& count, std::string& line);

// Appends `line` unless `list` already holds max_notes lines (the same rule for a list).
void add_capped(std::vector<std::string>& list, std::string line);

class assembler {
 public:
  assembler(stream_sink& sink, bool retire_closed) : sink_(sink), retire_(retire_closed) {}

  // Feeds the segment of frame `frame` (1-based). Returns false when the segment belongs to a
  // new connection beyond max_connections open at once and was dropped (a warning is added
  // once).
  bool add(const tcp_segment& s, std::uint64_t frame, double time);

  // End of capture: every open connection is closed (holes that never filled are declared lost
  // and the bytes buffered behind them delivered). Call once, after the last add().
  void finish();

  // A file-level warning, capped like the assembler's own.
  void warn(std::string line);

  [[nodiscard]] std::size_t open_connections() const noexcept { return state_.size(); }

 private:
  struct pending_segment {
    std::vector<std::byte> bytes;
    std::uint64_t frame = 0;
    double time = 0.0;
  };

  // Reassembly state of one direction.
  struct direction {
    bool initialized = false;
    std::uint32_t next_seq = 0;   // sequence number of the next expected byte
    std::uint64_t next_off = 0;   // its stream offset (= data delivered + bytes lost)
    std::uint64_t delivered = 0;  // bytes handed to the sink
    // Out-of-order bytes keyed by stream offset; entries never overlap each other and all
    // start after next_off.
    std::map<std::uint64_t, pending_segment> pending;
    std::size_t pending_bytes = 0;
    bool limit_noted = false;
    std::uint64_t lost_since_chunk = 0;  // reported by the next chunk of this direction
    std::uint64_t last_frame = 0;        // frame and time of its latest chunk
    double last_time = 0.0;
    bool fin_known = false;  // stream offset just past the last byte, from FIN
    std::uint64_t fin_off = 0;
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

  struct conn_state {
    std::size_t id = 0;
    conn_key key;
    connection meta;  // without data, chunks and notes
    std::size_t notes = 0;
    ip_address client_addr;
    std::uint16_t client_port = 0;
    bool client_syn_seen = false;
    std::uint32_t client_isn = 0;
    bool syn_ack_seen = false;
    direction dir[2];
  };

  // 4-tuples of connections already closed (retire_closed), so that their last segments are
  // dropped instead of opening a "connection" without a start; the oldest are forgotten.
  static constexpr std::size_t max_tombstones = 65536;

  conn_state* lookup(const conn_key& key, const tcp_segment& s, std::uint64_t frame, bool& drop);
  conn_state& open_connection(const tcp_segment& s, std::uint64_t frame);
  void segment(conn_state& st, const tcp_segment& s, std::uint64_t frame, double time);
  void add_data(conn_state& st, int side, std::int64_t off, std::span<const std::byte> bytes,
                std::uint64_t missing, std::uint64_t frame, double time);
  void buffer_ahead(conn_state& st, int side, std::int64_t off, std::span<const std::byte> bytes,
                    std::uint64_t frame, double time);
  void append(conn_state& st, int side, std::span<const std::byte> bytes, std::uint64_t frame,
              double time);
  void skip(conn_state& st, int side, std::uint64_t n);
  void buffer(conn_state& st, int side, std::uint64_t off, std::span<const std::byte> bytes,
              std::uint64_t frame, double time);
  // Delivers the first buffered segment if it starts at or before next_off (true if so).
  bool deliver_first(conn_state& st, int side, std::uint64_t frame, double time);
  void drain(conn_state& st, int side, std::uint64_t frame, double time);
  void resume_after_hole(conn_state& st, int side, const std::string& why);
  // The other side acknowledged bytes of a hole in `side`: declared lost at once (below).
  void release_acked_hole(conn_state& st, int side, std::uint32_t ack_seq);
  void note(conn_state& st, std::string line);
  // Declares what never arrived lost, delivers what waited behind it, closes the connection.
  void close(conn_state& st);
  void retire_if_closed(conn_state& st);

  stream_sink& sink_;
  bool retire_ = true;
  std::size_t next_id_ = 0;
  std::map<conn_key, std::size_t> index_;              // latest connection of each 4-tuple
  std::unordered_map<std::size_t, conn_state> state_;  // open connections by id
  std::deque<std::pair<conn_key, std::size_t>> tombstones_;
  std::size_t warnings_ = 0;
  bool limit_warned_ = false;
};

}  // namespace protos7::capture::detail
