#include "protos7/server/net_address.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>

#include <array>
#include <cstring>

namespace protos7::server {

namespace {

bool is_v4_mapped(const in6_addr& a) noexcept {
  static constexpr std::array<std::uint8_t, 12> prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  return std::memcmp(a.s6_addr, prefix.data(), prefix.size()) == 0;
}

}  // namespace

status resolve_listen(const std::string& host, std::uint16_t port,
                      std::vector<sockaddr_storage>& out) {
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty())
    return status::failure(
        "give an address or host name, e.g. 0.0.0.0, ::, 127.0.0.1 or localhost");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(h.c_str(), service.c_str(), &hints, &list); rc != 0)
    return status::failure(
        fmt::format("'{}' is neither an address nor a host name this system resolves ({})", host,
                    ::gai_strerror(rc)));
  out.clear();
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    sockaddr_storage s{};
    std::memcpy(&s, a->ai_addr, a->ai_addrlen);
    bool seen = false;  // getaddrinfo may list an address once per protocol
    for (const sockaddr_storage& o : out) seen = seen || std::memcmp(&o, &s, sizeof s) == 0;
    if (!seen) out.push_back(s);
  }
  ::freeaddrinfo(list);
  if (out.empty()) return status::failure(fmt::format("'{}' has no IPv4 or IPv6 address", host));
  return {};
}

std::string address_text(const sockaddr_storage& a) {
  std::array<char, INET6_ADDRSTRLEN> ip{};
  if (a.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    ::inet_ntop(AF_INET, &v4.sin_addr, ip.data(), ip.size());
    return fmt::format("{}:{}", ip.data(), ntohs(v4.sin_port));
  }
  if (a.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    if (is_v4_mapped(v6.sin6_addr)) {
      ::inet_ntop(AF_INET, v6.sin6_addr.s6_addr + 12, ip.data(), ip.size());
      return fmt::format("{}:{}", ip.data(), ntohs(v6.sin6_port));
    }
    ::inet_ntop(AF_INET6, &v6.sin6_addr, ip.data(), ip.size());
    return fmt::format("[{}]:{}", ip.data(), ntohs(v6.sin6_port));
  }
  return "?";
}

peer_key key_of(const sockaddr_storage& a) noexcept {
  std::array<std::uint8_t, 16> b{};
  if (a.ss_family == AF_INET) {
    b[10] = b[11] = 0xFF;
    std::memcpy(b.data() + 12, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, 4);
  } else if (a.ss_family == AF_INET6) {
    std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, 16);
  }
  peer_key k;
  for (std::size_t i = 0; i < 8; ++i) k.hi = (k.hi << 8U) | b[i];
  for (std::size_t i = 8; i < 16; ++i) k.lo = (k.lo << 8U) | b[i];
  return k;
}

}  // namespace protos7::server
