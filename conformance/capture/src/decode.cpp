// Frame decoding: link layer -> IPv4/IPv6 -> TCP. See decode.hpp.
//
// All access to frame bytes goes through `reader`, a cursor bounded to the bytes libpcap
// captured, so a hostile length field can never make us read past the frame.

#include "decode.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <utility>

namespace protos7::capture::detail {
namespace {

// Bounded big-endian reader over the captured bytes: the only code here that touches a frame
// byte. Every getter fails instead of reading past the end; callers turn a failure into a
// "truncated ..." reason. It is not the codec's reader on purpose: this library links only
// libpcap (the S7 codec stays out of the link-layer code), the codec's errors name S7 layers
// (there is no Ethernet/IP/TCP layer to report), and a skipped frame here is a reason string,
// not an {code, layer, offset} error.
class reader {
 public:
  explicit reader(std::span<const std::byte> bytes) : rest_(bytes) {}

  [[nodiscard]] std::size_t size() const { return rest_.size(); }
  [[nodiscard]] std::span<const std::byte> rest() const { return rest_; }

  bool u8(std::uint8_t& v) {
    if (rest_.empty()) return false;
    v = std::to_integer<std::uint8_t>(rest_.front());
    rest_ = rest_.subspan(1);
    return true;
  }
  bool u16be(std::uint16_t& v) {
    std::uint8_t hi = 0, lo = 0;
    if (rest_.size() < 2) return false;
    u8(hi);
    u8(lo);
    v = static_cast<std::uint16_t>((hi << 8) | lo);
    return true;
  }
  bool u32be(std::uint32_t& v) {
    std::uint16_t hi = 0, lo = 0;
    if (rest_.size() < 4) return false;
    u16be(hi);
    u16be(lo);
    v = (std::uint32_t{hi} << 16) | lo;
    return true;
  }
  bool u32le(std::uint32_t& v) {
    std::uint32_t be = 0;
    if (!u32be(be)) return false;
    v = ((be & 0xffu) << 24) | ((be & 0xff00u) << 8) | ((be >> 8) & 0xff00u) | (be >> 24);
    return true;
  }
  bool take(std::size_t n, std::span<const std::byte>& out) {
    if (rest_.size() < n) return false;
    out = rest_.first(n);
    rest_ = rest_.subspan(n);
    return true;
  }
  bool skip(std::size_t n) {
    std::span<const std::byte> ignored;
    return take(n, ignored);
  }
  // The next n bytes into `out` (an address).
  template <std::size_t N>
  bool bytes(std::array<std::uint8_t, N>& out, std::size_t n) {
    if (n > N || rest_.size() < n) return false;
    for (std::size_t i = 0; i < n; ++i) u8(out[i]);
    return true;
  }

 private:
  std::span<const std::byte> rest_;
};

decode_result skipped(std::string reason) {
  decode_result r;
  r.kind = frame_kind::skipped;
  r.reason = std::move(reason);
  return r;
}

decode_result not_tcp() {
  return decode_result{};
}

// Ethertypes (IEEE 802 numbers).
constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_ipv6 = 0x86dd;
constexpr std::uint16_t ethertype_vlan = 0x8100;      // 802.1Q C-tag
constexpr std::uint16_t ethertype_qinq = 0x88a8;      // 802.1ad S-tag
constexpr std::uint16_t ethertype_qinq_old = 0x9100;  // pre-standard S-tag, still seen
// Values below 0x0600 are an 802.3 length field (LLC frame, e.g. STP, or S7 over ISO without
// TCP), not an ethertype.
constexpr std::uint16_t ethertype_min = 0x0600;
// Nested tags allowed before giving up; real networks use at most two (Q-in-Q).
constexpr int max_vlan_tags = 8;

constexpr std::uint8_t ip_proto_tcp = 6;

// Address family values found in DLT_NULL / DLT_LOOP headers: AF_INET is 2 everywhere, AF_INET6
// differs per OS that wrote the capture (linktypes.html, LINKTYPE_NULL).
constexpr std::uint32_t bsd_af_inet = 2;
constexpr std::uint32_t bsd_af_inet6_linux = 10;
constexpr std::uint32_t bsd_af_inet6_bsd = 24;  // NetBSD, OpenBSD, BSD/OS
constexpr std::uint32_t bsd_af_inet6_freebsd = 28;
constexpr std::uint32_t bsd_af_inet6_darwin = 30;

bool is_bsd_af_inet6(std::uint32_t af) {
  return af == bsd_af_inet6_linux || af == bsd_af_inet6_bsd || af == bsd_af_inet6_freebsd ||
         af == bsd_af_inet6_darwin;
}

// The TCP header, after the IP layer located it.
//
//   0      2      4        8        12         13     14     16     18     20
//   +------+------+--------+--------+----------+------+------+------+------+----------+
//   | sport| dport|  seq   |  ack   | offset<<4| flags|window| csum | urg  | options  |
//   +------+------+--------+--------+----------+------+------+------+------+----------+
decode_result decode_tcp(ip_address src, ip_address dst, std::span<const std::byte> tcp,
                         std::uint32_t missing) {
  decode_result r;
  r.kind = frame_kind::tcp;
  tcp_segment& s = r.segment;
  s.src = src;
  s.dst = dst;
  s.missing = missing;
  reader in(tcp);
  std::uint8_t offset_byte = 0;
  if (!in.u16be(s.src_port) || !in.u16be(s.dst_port) || !in.u32be(s.seq) || !in.u32be(s.ack) ||
      !in.u8(offset_byte) || !in.u8(s.flags)) {
    return skipped("truncated TCP header");
  }
  const std::size_t header_len = std::size_t{static_cast<std::uint8_t>(offset_byte >> 4)} * 4;
  if (header_len < 20) {
    return skipped("TCP data offset " + std::to_string(header_len) + " below 20");
  }
  // 14 bytes were consumed by the fields above.
  if (!in.skip(header_len - 14)) {
    return skipped("TCP header length " + std::to_string(header_len) + " exceeds the segment");
  }
  s.payload = in.rest();
  return r;
}

// Splits the captured bytes of an IP packet whose header announces `announced` bytes after the
// IP header(s). When fewer are present the frame was cut by the snapshot length (wire_cut) and
// the difference is reported as missing; otherwise the length field is wrong.
bool ip_payload(reader& in, std::size_t announced, bool wire_cut, std::span<const std::byte>& out,
                std::uint32_t& missing, std::string& why) {
  if (in.size() >= announced) {
    // Ethernet pads short frames to 60 bytes and may append an FCS: ignore what follows.
    in.take(announced, out);
    missing = 0;
    return true;
  }
  if (!wire_cut) {
    why = "IP length announces " + std::to_string(announced) + " payload bytes, frame has " +
          std::to_string(in.size());
    return false;
  }
  out = in.rest();
  missing = static_cast<std::uint32_t>(announced - in.size());
  return true;
}

//   IPv4 header (RFC 791):
//   +-------------+-----+-----------+------+--------------+-----+-------+------+------+------+
//   | ver<<4 | ihl| tos | total len | id   | flags|fragoff| ttl | proto | csum | src  | dst  |
//   +-------------+-----+-----------+------+--------------+-----+-------+------+------+------+
//     1             1     2           2      2              1     1       2      4      4
decode_result decode_ipv4(std::span<const std::byte> packet, bool wire_cut) {
  reader in(packet);
  std::uint8_t ver_ihl = 0, tos = 0, ttl = 0, proto = 0;
  std::uint16_t total = 0, id = 0, frag = 0, csum = 0;
  ip_address src{.version = 4, .bytes = {}};
  ip_address dst{.version = 4, .bytes = {}};
  if (!in.u8(ver_ihl) || !in.u8(tos) || !in.u16be(total) || !in.u16be(id) || !in.u16be(frag) ||
      !in.u8(ttl) || !in.u8(proto) || !in.u16be(csum) || !in.bytes(src.bytes, 4) ||
      !in.bytes(dst.bytes, 4)) {
    return skipped("truncated IPv4 header");
  }
  if ((ver_ihl >> 4) != 4) {
    return skipped("IP version " + std::to_string(ver_ihl >> 4) + " in an IPv4 frame");
  }
  const std::size_t header_len = std::size_t{static_cast<std::uint8_t>(ver_ihl & 0x0f)} * 4;
  if (header_len < 20) {
    return skipped("IPv4 header length " + std::to_string(header_len) + " below 20");
  }
  if (!in.skip(header_len - 20)) return skipped("truncated IPv4 options");
  if (proto != ip_proto_tcp) return not_tcp();
  // Bits: reserved, DF, MF, then 13 bits of offset in 8-byte units.
  const bool more_fragments = (frag & 0x2000u) != 0;
  const unsigned fragment_offset = frag & 0x1fffu;
  if (fragment_offset != 0) {
    return skipped("IPv4 fragment at offset " + std::to_string(fragment_offset * 8) +
                   " (IP reassembly is not supported)");
  }
  if (more_fragments) {
    return skipped("first IPv4 fragment (IP reassembly is not supported)");
  }
  // A total length of 0 is what TCP segmentation offload leaves in packets captured on the
  // sending host; the real length is then what was captured.
  std::size_t announced = in.size();
  if (total != 0) {
    if (total < header_len) {
      return skipped("IPv4 total length " + std::to_string(total) + " below its header length");
    }
    announced = std::size_t{total} - header_len;
  }
  std::span<const std::byte> tcp;
  std::uint32_t missing = 0;
  std::string why;
  if (!ip_payload(in, announced, wire_cut, tcp, missing, why)) return skipped(why);
  return decode_tcp(src, dst, tcp, missing);
}

//   IPv6 header (RFC 8200): ver/class/flow (4), payload length (2), next header (1),
//   hop limit (1), source (16), destination (16); then extension headers.
decode_result decode_ipv6(std::span<const std::byte> packet, bool wire_cut) {
  reader in(packet);
  std::uint32_t ver_class_flow = 0;
  std::uint16_t payload_len = 0;
  std::uint8_t next = 0, hop_limit = 0;
  ip_address src{.version = 6, .bytes = {}};
  ip_address dst{.version = 6, .bytes = {}};
  if (!in.u32be(ver_class_flow) || !in.u16be(payload_len) || !in.u8(next) || !in.u8(hop_limit) ||
      !in.bytes(src.bytes, 16) || !in.bytes(dst.bytes, 16)) {
    return skipped("truncated IPv6 header");
  }
  if ((ver_class_flow >> 28) != 6) {
    return skipped("IP version " + std::to_string(ver_class_flow >> 28) + " in an IPv6 frame");
  }
  // Payload length 0 means a jumbogram (RFC 2675) or segmentation offload: use what is there.
  std::span<const std::byte> payload;
  std::uint32_t missing = 0;
  std::string why;
  if (!ip_payload(in, payload_len == 0 ? in.size() : payload_len, wire_cut, payload, missing,
                  why)) {
    return skipped(why);
  }
  // Walk the extension headers. Each is at least 8 bytes long, so the walk ends within the
  // captured bytes whatever the input.
  reader ext(payload);
  for (;;) {
    switch (next) {
      case ip_proto_tcp:
        return decode_tcp(src, dst, ext.rest(), missing);
      case 0:     // hop-by-hop options
      case 43:    // routing
      case 60: {  // destination options: next header (1), length in 8-byte units minus 1 (1)
        std::uint8_t following = 0, len = 0;
        if (!ext.u8(following) || !ext.u8(len) || !ext.skip(std::size_t{len} * 8 + 6)) {
          return skipped("truncated IPv6 extension header");
        }
        next = following;
        break;
      }
      case 44:
        return skipped("IPv6 fragment (IP reassembly is not supported)");
      default:
        return not_tcp();  // UDP, ICMPv6, no next header (59), ...
    }
  }
}

// Dispatches on an ethertype, walking 802.1Q/802.1ad tags (each: TCI (2), inner type (2)).
decode_result decode_ethertype(std::uint16_t type, reader& in, bool wire_cut) {
  for (int tags = 0; type == ethertype_vlan || type == ethertype_qinq || type == ethertype_qinq_old;
       ++tags) {
    std::uint16_t tci = 0;
    if (tags == max_vlan_tags) return skipped("more than 8 VLAN tags");
    if (!in.u16be(tci) || !in.u16be(type)) return skipped("truncated VLAN tag");
  }
  switch (type) {
    case ethertype_ipv4:
      return decode_ipv4(in.rest(), wire_cut);
    case ethertype_ipv6:
      return decode_ipv6(in.rest(), wire_cut);
    default:
      return not_tcp();  // ARP, LLDP, PROFINET, 802.3 length field, ...
  }
}

// Raw IP: the version nibble tells IPv4 from IPv6.
decode_result decode_raw_ip(std::span<const std::byte> packet, bool wire_cut) {
  reader peek(packet);
  std::uint8_t version_byte = 0;
  if (!peek.u8(version_byte)) return skipped("empty raw IP frame");
  switch (version_byte >> 4) {
    case 4:
      return decode_ipv4(packet, wire_cut);
    case 6:
      return decode_ipv6(packet, wire_cut);
    default:
      return not_tcp();
  }
}

}  // namespace

bool link_type_supported(int link_type) {
  switch (link_type) {
    case link_null:
    case link_ethernet:
    case link_raw_12:
    case link_raw_14:
    case link_raw_101:
    case link_loop:
    case link_linux_sll:
    case link_ipv4:
    case link_ipv6:
    case link_linux_sll2:
      return true;
    default:
      return false;
  }
}

std::string to_string(const ip_address& a) {
  char text[INET6_ADDRSTRLEN] = {};
  const int family = a.version == 6 ? AF_INET6 : AF_INET;
  if (inet_ntop(family, a.bytes.data(), text, sizeof text) == nullptr) return "?";
  return text;
}

decode_result decode_frame(int link_type, std::span<const std::byte> frame,
                           std::uint32_t wire_length) {
  const bool wire_cut = wire_length > frame.size();
  reader in(frame);
  switch (link_type) {
    case link_ethernet: {
      // destination MAC (6), source MAC (6), ethertype or 802.3 length (2)
      std::uint16_t type = 0;
      if (!in.skip(12) || !in.u16be(type)) return skipped("truncated Ethernet header");
      if (type < ethertype_min) return not_tcp();
      return decode_ethertype(type, in, wire_cut);
    }
    case link_linux_sll: {
      // packet type (2), ARPHRD type (2), address length (2), address (8), protocol (2)
      std::uint16_t type = 0;
      if (!in.skip(14) || !in.u16be(type)) return skipped("truncated Linux cooked header");
      return decode_ethertype(type, in, wire_cut);
    }
    case link_linux_sll2: {
      // protocol (2), reserved (2), interface index (4), ARPHRD type (2), packet type (1),
      // address length (1), address (8)
      std::uint16_t type = 0;
      if (!in.u16be(type) || !in.skip(18)) return skipped("truncated Linux cooked v2 header");
      return decode_ethertype(type, in, wire_cut);
    }
    case link_null:
    case link_loop: {
      // A 4-byte address family: host byte order of the writer for DLT_NULL, network order
      // for DLT_LOOP. Writers of DLT_NULL files disagree in practice, so both orders are
      // tried for either type; the values are small, so they cannot be confused.
      std::uint32_t family = 0;
      reader peek = in;
      std::uint32_t be = 0, le = 0;
      if (!peek.u32be(be) || !in.u32le(le)) return skipped("truncated loopback header");
      family = be <= 0xffffu ? be : le;
      if (family == bsd_af_inet) return decode_ipv4(in.rest(), wire_cut);
      if (is_bsd_af_inet6(family)) return decode_ipv6(in.rest(), wire_cut);
      return not_tcp();
    }
    case link_raw_12:
    case link_raw_14:
    case link_raw_101:
    case link_ipv4:
    case link_ipv6:
      return decode_raw_ip(frame, wire_cut);
    default:
      return skipped("unsupported link type " + std::to_string(link_type));
  }
}

}  // namespace protos7::capture::detail
