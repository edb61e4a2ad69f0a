// Addresses of the S7 listener and of its clients: `--listen` resolved into the socket addresses
// to bind (IPv4, IPv6, host names), a client address as text, and the key the per-address
// connection limit counts by.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "protos7/server/status.hpp"

namespace protos7::server {

// What `--listen HOST --port PORT` binds: "0.0.0.0" and "::" (every address; "::" also takes
// IPv4 where the system allows), a literal IPv4 or IPv6 address ("[::1]" too), or a host name,
// which binds each of its addresses ("localhost": 127.0.0.1 and ::1). Fills `out` with the
// addresses, or fails saying why HOST cannot be listened on.
status resolve_listen(const std::string& host, std::uint16_t port,
                      std::vector<sockaddr_storage>& out);

// "192.0.2.1:1234", "[2001:db8::1]:1234"; an IPv4-mapped IPv6 address (a dual-stack listener's
// IPv4 client) is written as IPv4.
[[nodiscard]] std::string address_text(const sockaddr_storage& a);

// A client's address without its port, for the per-address limit (IPv4 as IPv4-mapped IPv6, so a
// client is one address whichever listener it came through).
struct peer_key {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend bool operator==(const peer_key&, const peer_key&) = default;
};
struct peer_key_hash {
  [[nodiscard]] std::size_t operator()(const peer_key& k) const noexcept {
    return std::hash<std::uint64_t>{}(k.hi ^ (k.lo * 0x9E3779B97F4A7C15ULL));
  }
};
[[nodiscard]] peer_key key_of(const sockaddr_storage& a) noexcept;
// The IPv4 address of an IPv4 (or IPv4-mapped) client in host order; 0 for an IPv6 client (the
// fault rules' "client" selector is IPv4: docs/FAULTS.md).
[[nodiscard]] constexpr std::uint32_t ipv4_of(const peer_key& k) noexcept {
  return k.hi == 0 && (k.lo >> 32U) == 0xFFFFU ? static_cast<std::uint32_t>(k.lo & 0xFFFFFFFFU) : 0;
}

}  // namespace protos7::server
