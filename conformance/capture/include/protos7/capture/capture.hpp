// protos7::capture - read a pcap / pcapng file and hand back reassembled TCP streams.
//
// The conformance kit replays and checks S7comm conversations recorded from real devices. Those
// recordings are packet captures, so before any TPKT/COTP/S7 parsing can happen the packets have
// to become two ordered byte streams per TCP connection, with every anomaly (lost bytes,
// retransmissions, reordering) reported instead of silently papered over: a conformance verdict
// built on a stream with an unreported hole would be worthless.
//
// This library is *not* the codec: it owns its bytes (std::vector) because the stream of a
// connection is stitched together from many packets and has no single input buffer to view into.
//
// What is decoded (everything else is counted and ignored):
//   link layer  Ethernet (with 802.1Q / 802.1ad tags), Linux cooked SLL and SLL2, raw IP
//               (DLT_RAW 12/14, LINKTYPE_RAW 101, LINKTYPE_IPV4 228, LINKTYPE_IPV6 229),
//               BSD loopback DLT_NULL 0 (host byte order) and DLT_LOOP 108 (network order)
//   network     IPv4 (options allowed; fragmented datagrams are skipped: no IP reassembly),
//               IPv6 (hop-by-hop, routing and destination-options headers are walked;
//               a fragment header makes the frame skipped)
//   transport   TCP only. Checksums are not verified: captures taken on the sending host carry
//               checksum-offload garbage, and Wireshark does not verify them by default either.
//
// Port 102 is not filtered here: the caller decides which connections matter (involves_port()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace protos7::capture {

// Limits that keep memory bounded on hostile input (the loader is fuzzed). Each one, when hit,
// leaves a warning or note so a truncated analysis never looks complete.

// Out-of-order bytes buffered per direction while waiting for a missing segment. When exceeded,
// the hole is declared lost and the stream resumes at the next buffered segment. 1 MiB is far
// beyond the TCP windows seen in S7 traffic (the PLC in the Wireshark s7comm samples advertises
// 4096 bytes, the PC 64 KiB).
inline constexpr std::size_t max_out_of_order_bytes = 1024 * 1024;
// Same, counted in segments, so a flood of 1-byte segments cannot create a million map nodes.
inline constexpr std::size_t max_out_of_order_segments = 4096;
// Connections per capture; segments of further new connections are counted as skipped frames.
inline constexpr std::size_t max_connections = 10000;
// Notes per connection and warnings per file; one more line says that the rest was suppressed.
inline constexpr std::size_t max_notes = 1000;

// One end of a TCP connection.
struct endpoint {
  std::string address;  // textual IPv4 ("192.168.1.10") or IPv6 (RFC 5952 form, "fe80::1")
  std::uint16_t port = 0;
};

// A run of in-order bytes that became available in one frame, in one direction.
//
// Following Wireshark's reassembly semantic, bytes belong to the frame in which they became
// contiguous: for an out-of-order segment that is the frame that filled the hole before it, so a
// PDU split over segments is attributed to the frame carrying (or completing) its last byte.
// Bytes that never became contiguous (after a hole that was never filled) are attributed to the
// frame that carried them, but never to a frame earlier than the direction's previous chunk, so
// per direction the chunks stay in stream order.
struct chunk {
  int side = 0;             // 0 = client (initiator) -> server, 1 = server -> client
  std::uint64_t frame = 0;  // 1-based frame number, as Wireshark numbers them
  // That frame's capture time, seconds since the Unix epoch. Read at nanosecond precision;
  // a double keeps about 0.25 us of it at today's epoch, enough to order and diff frames.
  double time = 0.0;
  std::size_t begin = 0;  // byte range [begin, end) within connection::sides[side].data
  std::size_t end = 0;
  bool gap_before = false;        // bytes were lost in this direction right before `begin`
  std::uint64_t lost_before = 0;  // how many (0 unless gap_before)
};

// The reassembled bytes of one direction.
struct side_stream {
  std::vector<std::byte> data;   // payload in sequence order, holes removed (see chunks)
  std::uint64_t bytes_lost = 0;  // bytes never captured (sum of all holes, incl. one at the end)
  bool fin = false;              // this side sent FIN
  bool rst = false;              // this side sent RST
};

// One TCP connection (a 4-tuple; a new SYN on a used 4-tuple starts a new connection).
struct connection {
  endpoint client;  // the initiator: sender of the SYN, see start_seen
  endpoint server;
  // True when the client's SYN was captured. When it was not, the roles are guessed: the
  // receiver of a SYN-ACK is the client; otherwise the side whose port is not 102 if exactly
  // one side uses 102; otherwise the side that sent the first captured segment.
  bool start_seen = false;
  std::uint64_t first_frame = 0;  // first and last frame that carried a segment of it
  std::uint64_t last_frame = 0;
  side_stream sides[2];       // [0] client -> server, [1] server -> client
  std::vector<chunk> chunks;  // ordered by frame, both directions interleaved
  // Human-readable anomalies in the order they were detected (holes that never filled are
  // reported at the end of the capture), e.g. "gap of 120 bytes in server->client before
  // frame 57", "retransmission in frame 12 (client->server, 22 bytes)". For people, not for
  // parsing: the numbers that matter are in side_stream and chunk.
  std::vector<std::string> notes;
};

// Everything read from one capture file.
struct capture_file {
  std::string path;                  // as given to load(), "<memory>" for load_memory()
  int link_type = -1;                // pcap_datalink() value (DLT_*)
  std::uint64_t frames = 0;          // records read
  std::uint64_t tcp_frames = 0;      // frames that carried a decodable TCP segment
  std::uint64_t ignored_frames = 0;  // frames that are not TCP (ARP, UDP, ICMP, STP, ...)
  // Frames that may have carried TCP but were not used: truncated or malformed headers, IP
  // fragments, or a new connection beyond max_connections. Each has a warning.
  std::uint64_t skipped_frames = 0;
  std::vector<connection> connections;  // in order of their first frame
  // File-level problems: skipped frames, a file that ends mid-record, limits reached.
  std::vector<std::string> warnings;
  // The file ends in the middle of a record or a block (cut off, or corrupt there): what
  // follows is missing from the analysis. One of the warnings says where.
  bool ended_early = false;
};

// Why a capture could not be loaded at all.
struct load_error {
  std::string message;  // "cannot open X: <pcap error>", "unsupported link type 105 (...)"
};

// Reads the pcap or pcapng file at `path` and reassembles its TCP connections into `out`
// (which is overwritten).
//
// Returns false and fills `err` when:
//   - the file cannot be opened or is not a capture libpcap understands ("cannot open ..."),
//   - its link type is not one listed at the top of this header ("unsupported link type ...").
// A file that breaks off partway (a truncated last record, a corrupt block) is not an error:
// load() returns true with everything read up to that point and a warning naming the problem.
bool load(const std::string& path, capture_file& out, load_error& err);

// Same as load(), from a capture file held in memory (tests, fuzzing). `file_bytes` is read
// only and need not outlive the call. An empty buffer is an error ("cannot open <memory>: ...").
bool load_memory(std::span<const std::byte> file_bytes, capture_file& out, load_error& err);

// True when either endpoint of `c` uses TCP port `port`, e.g. involves_port(c, 102) for S7comm.
bool involves_port(const connection& c, std::uint16_t port);

// --- Reading a capture as a stream ---------------------------------------------------------------
//
// load() keeps every byte of every connection, which is what tests and small captures want. A
// capture of an hour of a production line (gigabytes, tens of millions of PDUs) is read as a
// stream instead: the reader hands each connection's bytes to a sink as they become contiguous
// and keeps nothing but the reassembly state of the connections that are open (out-of-order
// segments, at most max_out_of_order_bytes per direction). With `retire_closed`, a connection is
// closed (on_close) as soon as both sides sent FIN, or one sent RST, and all its bytes are
// delivered; later segments of its 4-tuple (the last ACK, retransmissions) are dropped silently,
// a new SYN starts a new connection. Memory is then bounded by the connections open at once,
// not by the length of the capture.

// Receives a capture's connections as they are read. Ids count the connections in order of
// their first frame (the index load() gives them). The `connection` passed carries everything but
// `sides[].data` and `chunks` (which stay empty) and `notes` (delivered one by one by on_note).
class stream_sink {
 public:
  virtual ~stream_sink() = default;
  // A new connection: endpoints, start_seen, first_frame.
  virtual void on_open(std::size_t id, const connection& c) = 0;
  // Bytes that became contiguous in one frame: `ch.begin`/`ch.end` count the side's delivered
  // bytes (holes removed, as in side_stream::data), `bytes` are those bytes (valid for the call).
  virtual void on_data(std::size_t id, const chunk& ch, std::span<const std::byte> bytes) = 0;
  virtual void on_note(std::size_t id, const std::string& note) = 0;
  // The connection ends (closed, or the capture ends): last_frame, fin/rst, bytes_lost final.
  virtual void on_close(std::size_t id, const connection& c) = 0;
  // A file-level problem (capture_file::warnings).
  virtual void on_warning(const std::string& warning) = 0;
};

struct reader_options {
  bool retire_closed = true;  // see above; false: every connection stays open to the end (load())
};

// Counts of what a reader has read so far (capture_file's counters).
struct reader_stats {
  int link_type = -1;
  std::uint64_t frames = 0;
  std::uint64_t tcp_frames = 0;
  std::uint64_t ignored_frames = 0;
  std::uint64_t skipped_frames = 0;
  std::uint64_t file_bytes = 0;   // size of the file (0 when unknown)
  std::uint64_t file_offset = 0;  // bytes of it read so far (progress)
  // The file ends in the middle of a record or a block; a warning says where (capture_file).
  bool ended_early = false;
};

class reader {
 public:
  explicit reader(const reader_options& opt = {});
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  // Opens a capture file or buffer (which must outlive the reader). Errors as load().
  bool open(const std::string& path, load_error& err);
  bool open_memory(std::span<const std::byte> file_bytes, load_error& err);

  // Reads up to `max_frames` frames into `sink`. Returns false once the capture is exhausted:
  // then every connection still open has been closed (holes that never filled declared lost).
  bool read(stream_sink& sink, std::size_t max_frames);
  [[nodiscard]] const reader_stats& stats() const noexcept;
  // The connections open in the reassembler right now (memory bound checks, tests).
  [[nodiscard]] std::size_t open_connections() const noexcept;

 private:
  struct impl;
  impl* impl_ = nullptr;
};

// Plays a loaded capture back as reader events, in frame order across connections: on_open at a
// connection's first frame, its chunks, its notes and on_close after its last frame. Lets code
// written against stream_sink run on captures built in memory (tests).
void emit(const capture_file& file, stream_sink& sink);

}  // namespace protos7::capture
