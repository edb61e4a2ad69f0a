// Internal: one captured frame -> one TCP segment (or the reason it is not one).
//
// Stateless and allocation-free on the success path: the segment's payload is a view into the
// frame bytes that libpcap handed over, valid until the next pcap_next_ex() call.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace protos7::capture::detail {

// Link types as pcap_datalink() reports them (DLT_* values). Named here rather than taken from
// <pcap/dlt.h> because several DLT_* macros change value per platform (DLT_RAW is 14 and DLT_LOOP
// is 12 on OpenBSD) while the numbers stored in files are fixed; accepting every spelling makes
// a file read the same everywhere. Source: https://www.tcpdump.org/linktypes.html
inline constexpr int link_null = 0;          // BSD loopback, 4-byte family in host byte order
inline constexpr int link_ethernet = 1;      // DLT_EN10MB
inline constexpr int link_raw_12 = 12;       // DLT_RAW on most platforms
inline constexpr int link_raw_14 = 14;       // DLT_RAW on OpenBSD
inline constexpr int link_raw_101 = 101;     // LINKTYPE_RAW as stored in files
inline constexpr int link_loop = 108;        // OpenBSD loopback, family in network byte order
inline constexpr int link_linux_sll = 113;   // Linux cooked capture v1
inline constexpr int link_ipv4 = 228;        // raw IPv4 only
inline constexpr int link_ipv6 = 229;        // raw IPv6 only
inline constexpr int link_linux_sll2 = 276;  // Linux cooked capture v2

bool link_type_supported(int link_type);

// TCP header flag bits (RFC 9293 section 3.1).
inline constexpr std::uint8_t tcp_fin = 0x01;
inline constexpr std::uint8_t tcp_syn = 0x02;
inline constexpr std::uint8_t tcp_rst = 0x04;
inline constexpr std::uint8_t tcp_ack = 0x10;

// An IP address as raw bytes, IPv4 in the first 4 bytes. Comparable, so usable in a map key.
struct ip_address {
  std::uint8_t version = 0;  // 4 or 6
  std::array<std::uint8_t, 16> bytes{};
  friend auto operator<=>(const ip_address&, const ip_address&) = default;
};

std::string to_string(const ip_address& a);

struct tcp_segment {
  ip_address src, dst;
  std::uint16_t src_port = 0, dst_port = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t flags = 0;
  std::span<const std::byte> payload;  // the captured part of the payload
  // Payload bytes that the IP length announces but the capture does not hold (snapshot
  // length cut the frame). They follow `payload` in sequence space.
  std::uint32_t missing = 0;
};

enum class frame_kind {
  tcp,      // `segment` is valid
  not_tcp,  // a well-formed frame of some other protocol: ignored silently
  skipped,  // might have been TCP but cannot be used: `reason` says why
};

struct decode_result {
  frame_kind kind = frame_kind::not_tcp;
  tcp_segment segment;
  std::string reason;  // set only for frame_kind::skipped
};

// Decodes one frame of a capture whose link type is `link_type` (must be supported).
// `wire_length` is the frame's original length; when it exceeds frame.size() the frame was cut
// by the snapshot length and TCP payload bytes may be missing.
decode_result decode_frame(int link_type, std::span<const std::byte> frame,
                           std::uint32_t wire_length);

}  // namespace protos7::capture::detail
