#include "fake_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

namespace fake {

bytes hex(std::string_view h) {
  bytes out;
  int hi = -1;
  for (char c : h) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>((hi << 4) | v));
      hi = -1;
    }
  }
  return out;
}

std::string to_hex(const bytes& b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::byte x : b) {
    const auto v = std::to_integer<unsigned>(x);
    s.push_back(digits[v >> 4U]);
    s.push_back(digits[v & 0xFU]);
  }
  return s;
}

// --- server --------------------------------------------------------------------------------------

namespace {

constexpr int io_timeout_ms = 5000;

// Reads exactly n bytes; false on EOF, error or timeout.
bool read_exact(int fd, std::byte* out, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, io_timeout_ms) != 1) return false;
    const ssize_t r = ::recv(fd, out + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

bool read_frame(int fd, bytes& frame) {
  frame.assign(4, std::byte{0});
  if (!read_exact(fd, frame.data(), 4)) return false;
  const std::size_t len =
      (std::to_integer<std::size_t>(frame[2]) << 8U) | std::to_integer<std::size_t>(frame[3]);
  if (len < 4) return false;
  frame.resize(len);
  return read_exact(fd, frame.data() + 4, len - 4);
}

}  // namespace

server::server(std::vector<script> per_connection) : scripts_(std::move(per_connection)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error("bind");
  if (::listen(listen_fd_, 8) != 0) throw std::runtime_error("listen");
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  received_.resize(scripts_.size());
  thread_ = std::thread([this] { run(); });
}

server::~server() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::vector<std::vector<bytes>> server::received() {
  if (thread_.joinable()) thread_.join();
  return received_;
}

void server::run() {
  for (std::size_t i = 0; i < scripts_.size() && !stop_; ++i) {
    int fd = -1;
    // Wait for the runner (bounded, so a test that never connects still ends).
    for (int waited = 0; waited < 10000 && fd < 0 && !stop_; waited += 50) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) == 1) fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    }
    if (fd < 0) return;
    ++accepted_;
    serve(fd, scripts_[i], received_[i]);
  }
}

void server::serve(int fd, const script& s, std::vector<bytes>& got) {
  bool open = true;
  for (const action& a : s) {
    if (!open) break;
    switch (a.k) {
      case action::kind::recv: {
        bytes f;
        if (!read_frame(fd, f)) {
          open = false;
          break;
        }
        got.push_back(std::move(f));
        break;
      }
      case action::kind::send:
        if (::send(fd, a.data.data(), a.data.size(), MSG_NOSIGNAL) < 0) open = false;
        break;
      case action::kind::sleep:
        std::this_thread::sleep_for(std::chrono::milliseconds(a.ms));
        break;
      case action::kind::close:
        ::close(fd);
        fd = -1;
        open = false;
        break;
    }
  }
  // Record whatever else the client sends until it closes.
  while (open) {
    bytes f;
    if (!read_frame(fd, f)) break;
    got.push_back(std::move(f));
  }
  if (fd >= 0) ::close(fd);
}

// --- pcap ----------------------------------------------------------------------------------------

namespace {

void put16be(bytes& b, unsigned v) {
  b.push_back(static_cast<std::byte>((v >> 8U) & 0xFFU));
  b.push_back(static_cast<std::byte>(v & 0xFFU));
}
void put32be(bytes& b, std::uint32_t v) {
  put16be(b, v >> 16U);
  put16be(b, v & 0xFFFFU);
}
void put16le(bytes& b, unsigned v) {
  b.push_back(static_cast<std::byte>(v & 0xFFU));
  b.push_back(static_cast<std::byte>((v >> 8U) & 0xFFU));
}
void put32le(bytes& b, std::uint32_t v) {
  put16le(b, v & 0xFFFFU);
  put16le(b, v >> 16U);
}
void append(bytes& b, const bytes& t) {
  b.insert(b.end(), t.begin(), t.end());
}

constexpr std::uint8_t fin_flag = 0x01, syn_flag = 0x02, ack_flag = 0x10;
constexpr std::uint32_t isn[2] = {1000, 500000};

bytes ethernet_ipv4(bool from_client, std::uint8_t proto, const bytes& l4) {
  const std::uint8_t cli[4] = {192, 168, 1, 10};
  const std::uint8_t srv[4] = {192, 168, 1, 40};
  bytes e = hex("001b1b23eb3b 001fc6845e41 0800");
  bytes ip;
  ip.push_back(std::byte{0x45});
  ip.push_back(std::byte{0});
  put16be(ip, static_cast<unsigned>(20 + l4.size()));
  put16be(ip, 0x1234);
  put16be(ip, 0x4000);
  ip.push_back(std::byte{64});
  ip.push_back(static_cast<std::byte>(proto));
  put16be(ip, 0);
  for (std::uint8_t x : from_client ? cli : srv) ip.push_back(static_cast<std::byte>(x));
  for (std::uint8_t x : from_client ? srv : cli) ip.push_back(static_cast<std::byte>(x));
  append(ip, l4);
  append(e, ip);
  if (e.size() < 60) e.resize(60, std::byte{0});
  return e;
}

bytes tcp_frame(const conversation& c, int side, std::uint32_t seq, std::uint32_t ack,
                std::uint8_t flags, const bytes& payload) {
  bytes t;
  put16be(t, side == 0 ? c.cport_ : c.sport_);
  put16be(t, side == 0 ? c.sport_ : c.cport_);
  put32be(t, seq);
  put32be(t, ack);
  t.push_back(std::byte{0x50});
  t.push_back(static_cast<std::byte>(flags));
  put16be(t, 8192);
  put16be(t, 0);
  put16be(t, 0);
  append(t, payload);
  return ethernet_ipv4(side == 0, 6, t);
}

bytes pcap_header() {
  bytes f;
  put32le(f, 0xa1b2c3d4U);
  put16le(f, 2);
  put16le(f, 4);
  put32le(f, 0);
  put32le(f, 0);
  put32le(f, 65535);
  put32le(f, 1);  // Ethernet
  return f;
}

void pcap_record(bytes& f, const bytes& frame, std::uint32_t n, std::uint32_t step_us = 1'000'000) {
  const std::uint64_t us = std::uint64_t{n} * step_us;
  put32le(f, static_cast<std::uint32_t>(1'700'000'000U + us / 1'000'000U));
  put32le(f, static_cast<std::uint32_t>(us % 1'000'000U));
  put32le(f, static_cast<std::uint32_t>(frame.size()));
  put32le(f, static_cast<std::uint32_t>(frame.size()));
  append(f, frame);
}

}  // namespace

conversation& conversation::add(int side, const bytes& payload) {
  segments.push_back({side, next_[side], payload, 0x18});
  next_[side] += static_cast<std::uint32_t>(payload.size());
  return *this;
}

conversation& conversation::fin(int side) {
  segments.push_back({side, next_[side], {}, static_cast<std::uint8_t>(fin_flag | ack_flag)});
  next_[side] += 1;
  return *this;
}

bytes pcap_file(const std::vector<conversation>& convs, std::uint32_t step_us) {
  bytes f = pcap_header();
  std::uint32_t n = 0;
  for (const conversation& c : convs) {
    if (c.handshake) {
      pcap_record(f, tcp_frame(c, 0, isn[0], 0, syn_flag, {}), ++n, step_us);
      pcap_record(f, tcp_frame(c, 1, isn[1], isn[0] + 1, syn_flag | ack_flag, {}), ++n, step_us);
      pcap_record(f, tcp_frame(c, 0, isn[0] + 1, isn[1] + 1, ack_flag, {}), ++n, step_us);
    }
    for (const segment& s : c.segments) {
      const std::uint32_t seq = isn[s.side] + 1 + s.seq;
      pcap_record(f, tcp_frame(c, s.side, seq, isn[1 - s.side] + 1, s.flags, s.payload), ++n,
                  step_us);
    }
  }
  return f;
}

bytes pcap_raw(const std::vector<bytes>& ethernet_frames) {
  bytes f = pcap_header();
  std::uint32_t n = 0;
  for (const bytes& e : ethernet_frames) pcap_record(f, e, ++n);
  return f;
}

bytes udp_frame(std::uint16_t sport, std::uint16_t dport, const bytes& payload) {
  bytes u;
  put16be(u, sport);
  put16be(u, dport);
  put16be(u, static_cast<unsigned>(8 + payload.size()));
  put16be(u, 0);
  append(u, payload);
  return ethernet_ipv4(true, 17, u);
}

}  // namespace fake
