// Synthesized Ethernet/IPv4/TCP packets of the server's connections in a classic pcap file
// (pcap_writer.hpp has the layout).
#include "protos7/server/pcap_writer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "protos7/server/log.hpp"

namespace protos7::server {

namespace {

constexpr std::uint32_t pcap_magic = 0xA1B2C3D4;  // microsecond time stamps
constexpr std::uint16_t pcap_major = 2;
constexpr std::uint16_t pcap_minor = 4;
constexpr std::uint32_t snaplen = 65535;
constexpr std::uint32_t linktype_ethernet = 1;
constexpr std::size_t eth_len = 14;
constexpr std::size_t ip_len = 20;
constexpr std::size_t tcp_len = 20;
// Locally administered unicast MACs (bit 1 of the first octet set): never a real NIC's.
constexpr std::array<std::uint8_t, 6> client_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr std::array<std::uint8_t, 6> server_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

// In host byte order, as the pcap format writes its headers. Byte by byte: a range insert here
// makes GCC 12 at -O3 warn about a memmove past a 4-byte buffer (-Warray-bounds,
// -Wstringop-overflow), a false positive of the vector's growth path.
template <class T>
void put_host(std::vector<std::uint8_t>& b, T v) {
  std::array<std::uint8_t, sizeof(T)> raw{};
  std::memcpy(raw.data(), &v, sizeof(T));
  for (const std::uint8_t x : raw) b.push_back(x);
}
void put16(std::vector<std::uint8_t>& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8U));
  b.push_back(static_cast<std::uint8_t>(v & 0xFFU));
}
void put32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16U));
  put16(b, static_cast<std::uint16_t>(v & 0xFFFFU));
}
void set16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8U);
  b[at + 1] = static_cast<std::uint8_t>(v & 0xFFU);
}

// RFC 1071 one's complement sum.
std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    acc += static_cast<std::uint32_t>((p[i] << 8U) | p[i + 1]);
  if (n % 2 != 0) acc += static_cast<std::uint32_t>(p[n - 1] << 8U);
  return acc;
}
std::uint16_t fold(std::uint32_t acc) {
  while ((acc >> 16U) != 0) acc = (acc & 0xFFFFU) + (acc >> 16U);
  return static_cast<std::uint16_t>(~acc & 0xFFFFU);
}

// The IPv4 address and port of one end; IPv4 clients of a dual-stack (::) listener come as
// IPv4-mapped IPv6 addresses. Other IPv6 addresses have no place in the synthesized IPv4 frames.
bool endpoint_of(int fd, bool peer, pcap_writer::endpoint& out) {
  sockaddr_storage s{};
  socklen_t len = sizeof s;
  const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&s), &len)
                      : ::getsockname(fd, reinterpret_cast<sockaddr*>(&s), &len);
  if (rc != 0) return false;
  const std::uint8_t* ip = nullptr;
  if (s.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(s);
    ip = reinterpret_cast<const std::uint8_t*>(&a.sin_addr);
    out.port = ntohs(a.sin_port);
  } else if (s.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(s);
    if (!IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) return false;
    ip = a.sin6_addr.s6_addr + 12;
    out.port = ntohs(a.sin6_port);
  } else {
    return false;
  }
  out.ip = {ip[0], ip[1], ip[2], ip[3]};
  return true;
}

}  // namespace

pcap_writer::pcap_writer(const std::string& path) : path_(path) {
  f_ = std::fopen(path.c_str(), "wb");
  if (f_ == nullptr)
    throw std::runtime_error(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  std::vector<std::uint8_t> h;
  put_host(h, pcap_magic);
  put_host(h, pcap_major);
  put_host(h, pcap_minor);
  put_host(h, std::int32_t{0});   // thiszone
  put_host(h, std::uint32_t{0});  // sigfigs
  put_host(h, snaplen);
  put_host(h, linktype_ethernet);
  if (std::fwrite(h.data(), 1, h.size(), f_) != h.size())
    throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  flush();
}

pcap_writer::~pcap_writer() {
  if (f_ != nullptr) (void)std::fclose(f_);  // flushed after every round: see flush()
}

void pcap_writer::flush() {
  if (f_ == nullptr || std::fflush(f_) == 0) return;
  log(log_level::error, "capture {}: write failed: {}; recording stopped", path_,
      std::strerror(errno));
  (void)std::fclose(f_);
  f_ = nullptr;
}

void pcap_writer::packet(conn& c, bool from_client, std::uint8_t tcp_flags,
                         std::span<const std::byte> payload, time_point t) {
  const int me = from_client ? 0 : 1;
  const endpoint& src = from_client ? c.client : c.server;
  const endpoint& dst = from_client ? c.server : c.client;
  buf_.clear();
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::size_t frame_len = eth_len + ip_len + tcp_len + payload.size();
  put_host(buf_, static_cast<std::uint32_t>(us / 1'000'000));
  put_host(buf_, static_cast<std::uint32_t>(us % 1'000'000));
  put_host(buf_, static_cast<std::uint32_t>(frame_len));
  put_host(buf_, static_cast<std::uint32_t>(frame_len));
  // Ethernet II
  const auto& dmac = from_client ? server_mac : client_mac;
  const auto& smac = from_client ? client_mac : server_mac;
  buf_.insert(buf_.end(), dmac.begin(), dmac.end());
  buf_.insert(buf_.end(), smac.begin(), smac.end());
  put16(buf_, 0x0800);
  // IPv4: version 4, IHL 5, DSCP 0, total length, id, DF, TTL 64, protocol 6 (TCP)
  const std::size_t ip = buf_.size();
  buf_.push_back(0x45);
  buf_.push_back(0x00);
  put16(buf_, static_cast<std::uint16_t>(ip_len + tcp_len + payload.size()));
  put16(buf_, c.ip_id[me]++);
  put16(buf_, 0x4000);
  buf_.push_back(64);
  buf_.push_back(6);
  put16(buf_, 0);  // checksum, below
  buf_.insert(buf_.end(), src.ip.begin(), src.ip.end());
  buf_.insert(buf_.end(), dst.ip.begin(), dst.ip.end());
  set16(buf_, ip + 10, fold(sum16(buf_.data() + ip, ip_len)));
  // TCP: ports, seq, ack, data offset 5, flags, window, checksum, urgent pointer
  const std::size_t tcp = buf_.size();
  put16(buf_, src.port);
  put16(buf_, dst.port);
  put32(buf_, c.seq[me]);
  put32(buf_, (tcp_flags & ack) != 0 ? c.seq[1 - me] : 0);
  buf_.push_back(0x50);
  buf_.push_back(tcp_flags);
  put16(buf_, 0xFFFF);
  put16(buf_, 0);
  put16(buf_, 0);
  for (std::byte b : payload) buf_.push_back(std::to_integer<std::uint8_t>(b));
  // Checksum over the pseudo header (addresses, protocol, TCP length) and the segment.
  std::vector<std::uint8_t> pseudo(src.ip.begin(), src.ip.end());
  pseudo.insert(pseudo.end(), dst.ip.begin(), dst.ip.end());
  pseudo.push_back(0);
  pseudo.push_back(6);
  put16(pseudo, static_cast<std::uint16_t>(tcp_len + payload.size()));
  set16(buf_, tcp + 16,
        fold(sum16(buf_.data() + tcp, buf_.size() - tcp, sum16(pseudo.data(), pseudo.size()))));
  if (f_ != nullptr && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) {
    log(log_level::error, "capture {}: write failed: {}; recording stopped", path_,
        std::strerror(errno));
    (void)std::fclose(f_);  // the write failed already: recording stops either way
    f_ = nullptr;
  }
  ++packets_;
  // SYN and FIN take one sequence number, data its length.
  c.seq[me] +=
      static_cast<std::uint32_t>(payload.size()) + ((tcp_flags & (syn | fin)) != 0 ? 1U : 0U);
}

void pcap_writer::open(int id, const endpoint& client, const endpoint& server, time_point t) {
  conn c;
  c.client = client;
  c.server = server;
  c.seq[0] = next_isn_;
  c.seq[1] = next_isn_ + 0x01000000U;
  next_isn_ += 0x00100000U;
  c.ip_id[0] = 1;
  c.ip_id[1] = 1;
  conn& k = conns_[id] = c;
  packet(k, true, syn, {}, t);
  packet(k, false, syn | ack, {}, t);
  packet(k, true, ack, {}, t);
}

void pcap_writer::data(int id, bool from_client, std::span<const std::byte> bytes, time_point t) {
  const auto it = conns_.find(id);
  if (it == conns_.end()) return;
  while (!bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), mss);
    packet(it->second, from_client, psh | ack, bytes.first(n), t);
    bytes = bytes.subspan(n);
  }
}

void pcap_writer::close(int id, bool server_first, time_point t) {
  const auto it = conns_.find(id);
  if (it == conns_.end()) return;
  conn& c = it->second;
  packet(c, !server_first, fin | ack, {}, t);
  packet(c, server_first, fin | ack, {}, t);
  packet(c, !server_first, ack, {}, t);
  conns_.erase(it);
  flush();
}

void capture_recorder::on_open(int id, const std::string& peer) {
  pcap_writer::endpoint client, server;
  if (!endpoint_of(id, true, client) || !endpoint_of(id, false, server)) {
    log(log_level::warn, "capture: cannot read the addresses of {}; recorded as 127.0.0.1", peer);
    client = {{127, 0, 0, 1}, static_cast<std::uint16_t>(40000 + (id & 0x3FFF))};
    server = {{127, 0, 0, 1}, 102};
  }
  if (server_port_ != 0) server.port = server_port_;
  w_.open(id, client, server, std::chrono::system_clock::now());
  w_.flush();
}

void capture_recorder::on_traffic(int id, std::span<const std::byte> in,
                                  std::span<const std::byte> out) {
  const auto now = std::chrono::system_clock::now();
  w_.data(id, true, in, now);
  w_.data(id, false, out, now);
  w_.flush();
}

void capture_recorder::on_close(int id) {
  w_.close(id, false, std::chrono::system_clock::now());
}

}  // namespace protos7::server
