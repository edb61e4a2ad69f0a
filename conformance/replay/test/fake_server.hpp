// A scripted fake S7 server for the replay tests, and the pcap builder the tests write their
// captures with.
//
// The fake server listens on 127.0.0.1 on an ephemeral port and serves one script per accepted
// connection, in order. A script is a list of actions: receive one TPKT frame (recorded for the
// test to inspect), send bytes, sleep, close. When its script is done it keeps reading (and
// recording) until the client closes, so extra client frames are seen too.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fake {

using bytes = std::vector<std::byte>;

// "0300 0016 11e0..." -> bytes (spaces ignored).
bytes hex(std::string_view h);
std::string to_hex(const bytes& b);

struct action {
  enum class kind : std::uint8_t { recv, send, sleep, close };
  kind k = kind::recv;
  bytes data;  // send
  int ms = 0;  // sleep
};
inline action recv() {
  return {action::kind::recv, {}, 0};
}
inline action send(bytes b) {
  return {action::kind::send, std::move(b), 0};
}
inline action sleep_ms(int ms) {
  return {action::kind::sleep, {}, ms};
}
inline action close() {
  return {action::kind::close, {}, 0};
}
using script = std::vector<action>;

class server {
 public:
  explicit server(std::vector<script> per_connection);
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server();

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Waits for the server thread to finish every script (the client must have closed), then
  // returns the TPKT frames received on each connection.
  std::vector<std::vector<bytes>> received();
  // Connections accepted so far.
  [[nodiscard]] std::size_t accepted() const { return accepted_.load(); }

 private:
  void run();
  void serve(int fd, const script& s, std::vector<bytes>& got);

  std::vector<script> scripts_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> accepted_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::vector<bytes>> received_;
  std::thread thread_;
};

// --- pcap files ---------------------------------------------------------------------------------

// One TCP connection 192.168.1.10:<cport> -> 192.168.1.40:<sport> in Ethernet/IPv4 frames.
// Segments are listed in the order they appear in the capture; their sequence numbers are
// relative to each side's first payload byte, so a test can drop, repeat, reorder or overlap them.
struct segment {
  int side = 0;  // 0 client -> server, 1 server -> client
  std::uint32_t seq = 0;
  bytes payload;
  std::uint8_t flags = 0x18;  // PSH|ACK
};

class conversation {
 public:
  explicit conversation(std::uint16_t cport = 4000, std::uint16_t sport = 102)
      : cport_(cport), sport_(sport) {}
  // Adds the next in-order segment of a side (sequence number continues that side's stream).
  conversation& client(const bytes& payload) { return add(0, payload); }
  conversation& server(const bytes& payload) { return add(1, payload); }
  conversation& add(int side, const bytes& payload);
  conversation& fin(int side);  // FIN|ACK from `side`
  std::vector<segment> segments;
  bool handshake = true;  // SYN, SYN-ACK, ACK before the segments
  std::uint16_t cport_;
  std::uint16_t sport_;
  std::uint32_t next_[2] = {0, 0};
};

// Writes the conversations, one after the other, as a classic pcap file (Ethernet, one frame per
// segment, `step_us` microseconds apart: one second unless a test times pushes).
bytes pcap_file(const std::vector<conversation>& convs, std::uint32_t step_us = 1'000'000);
// A pcap with raw Ethernet frames (for non-TCP traffic).
bytes pcap_raw(const std::vector<bytes>& ethernet_frames);
// An Ethernet/IPv4/UDP frame.
bytes udp_frame(std::uint16_t sport, std::uint16_t dport, const bytes& payload);

}  // namespace fake
