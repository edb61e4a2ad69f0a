// Recording what the server sees as a classic pcap file Wireshark, tshark and `protos7 dump` open
// (`protos7 serve --capture FILE`).
//
// The server has no packets, only the bytes of each TCP connection, so the packets are
// synthesized: Ethernet II with fake locally administered MAC addresses, IPv4 (DF, TTL 64,
// checksummed) and TCP with sequence and acknowledgement numbers that count the bytes of each
// direction, so every reassembler puts the streams back together:
//
//   open     client SYN (seq c0), server SYN-ACK (seq s0, ack c0+1), client ACK
//   bytes    PSH-ACK segments of at most 1460 bytes (the Ethernet MSS); ack = the other side's
//            next sequence number
//   close    FIN-ACK from the side that closes (the server: every close is seen from there),
//            FIN-ACK from the other, final ACK
//
// File layout (classic libpcap, microsecond time stamps, written in host byte order as libpcap
// does; readers detect the order from the magic):
//
//   global header  | magic a1b2c3d4 | 2.4 | thiszone 0 | sigfigs 0 | snaplen 65535 | LINKTYPE 1 |
//   per packet     | ts_sec | ts_usec | incl_len | orig_len | Ethernet | IPv4 | TCP | payload |
//
// Not thread-safe: the server calls it from its event-loop thread only.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "protos7/server/server.hpp"

namespace protos7::server {

class pcap_writer {
 public:
  struct endpoint {
    std::array<std::uint8_t, 4> ip{};
    std::uint16_t port = 0;
  };
  using time_point = std::chrono::system_clock::time_point;

  // Largest TCP payload per synthesized segment (Ethernet MTU 1500 - 20 IPv4 - 20 TCP).
  static constexpr std::size_t mss = 1460;

  // Creates (truncates) `path` and writes the global header. Throws std::runtime_error.
  explicit pcap_writer(const std::string& path);
  ~pcap_writer();
  pcap_writer(const pcap_writer&) = delete;
  pcap_writer& operator=(const pcap_writer&) = delete;

  // Starts connection `id` (any number unique while open): the three-way handshake.
  void open(int id, const endpoint& client, const endpoint& server, time_point t);
  // Bytes of connection `id` in one direction, as data segments.
  void data(int id, bool from_client, std::span<const std::byte> bytes, time_point t);
  // Ends connection `id`: FIN from `server_first ? server : client`, FIN from the other, ACK.
  void close(int id, bool server_first, time_point t);
  // Pushes buffered packets to the file (after each batch, so a killed server leaves a readable
  // capture up to its last round).
  void flush();
  [[nodiscard]] std::uint64_t packets() const noexcept { return packets_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  struct conn {
    endpoint client, server;
    std::uint32_t seq[2]{};  // next sequence number: [0] client, [1] server
    std::uint16_t ip_id[2]{};
  };
  enum flags : std::uint8_t { fin = 0x01, syn = 0x02, psh = 0x08, ack = 0x10 };
  void packet(conn& c, bool from_client, std::uint8_t tcp_flags, std::span<const std::byte> payload,
              time_point t);

  std::string path_;
  std::FILE* f_ = nullptr;
  std::map<int, conn> conns_;
  std::uint32_t next_isn_ = 0x10000000;
  std::uint64_t packets_ = 0;
  std::vector<std::uint8_t> buf_;
};

// Records every connection of a server into a pcap_writer: connection_observer glue. The local
// and peer addresses are read from the connection's socket (the observer's id is the socket).
// `server_port`: the port the capture shows for the server; 102 by default whatever port the
// server listens on, so that Wireshark, tshark and `protos7 dump` / `replay` / `learn` decode the
// connections as ISO-on-TCP without a "Decode As" (0: the real port).
class capture_recorder final : public connection_observer {
 public:
  explicit capture_recorder(const std::string& path, std::uint16_t server_port = 102)
      : w_(path), server_port_(server_port) {}
  void on_open(int id, const std::string& peer) override;
  void on_traffic(int id, std::span<const std::byte> in, std::span<const std::byte> out) override;
  void on_close(int id) override;
  [[nodiscard]] const pcap_writer& writer() const noexcept { return w_; }

 private:
  pcap_writer w_;
  std::uint16_t server_port_ = 102;
};

// Forwards each event to several observers in order (the web admin's traffic monitor, the
// validator, the capture recorder). Null entries are skipped.
class observer_fanout final : public connection_observer {
 public:
  explicit observer_fanout(std::vector<connection_observer*> to) : to_(std::move(to)) {}
  void on_open(int id, const std::string& peer) override {
    for (auto* o : to_)
      if (o != nullptr) o->on_open(id, peer);
  }
  void on_traffic(int id, std::span<const std::byte> in, std::span<const std::byte> out) override {
    for (auto* o : to_)
      if (o != nullptr) o->on_traffic(id, in, out);
  }
  void on_close(int id) override {
    for (auto* o : to_)
      if (o != nullptr) o->on_close(id);
  }
  void on_event(int id, const session_event& e) override {
    for (auto* o : to_)
      if (o != nullptr) o->on_event(id, e);
  }
  void on_round(std::chrono::steady_clock::time_point started,
                std::chrono::steady_clock::duration commit) override {
    for (auto* o : to_)
      if (o != nullptr) o->on_round(started, commit);
  }

 private:
  std::vector<connection_observer*> to_;
};

}  // namespace protos7::server
