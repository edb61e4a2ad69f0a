// Tests for protos7::capture. Every capture is built byte by byte here (classic pcap: 24-byte
// global header, then 16-byte record headers; pcapng: SHB, IDB, EPB), so each test shows
// exactly which frames the library sees. The last test reads the Wireshark sample captures.

#include "protos7/capture/capture.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace cap = protos7::capture;

namespace {

using bytes = std::vector<std::uint8_t>;

// ---------------------------------------------------------------------------------------------
// Byte building helpers

void put16be(bytes& b, unsigned v) {
  b.push_back(static_cast<std::uint8_t>((v >> 8) & 0xffu));
  b.push_back(static_cast<std::uint8_t>(v & 0xffu));
}
void put32be(bytes& b, std::uint32_t v) {
  put16be(b, v >> 16);
  put16be(b, v & 0xffffu);
}
void put16le(bytes& b, unsigned v) {
  b.push_back(static_cast<std::uint8_t>(v & 0xffu));
  b.push_back(static_cast<std::uint8_t>((v >> 8) & 0xffu));
}
void put32le(bytes& b, std::uint32_t v) {
  put16le(b, v & 0xffffu);
  put16le(b, v >> 16);
}
void append(bytes& b, const bytes& tail) {
  b.insert(b.end(), tail.begin(), tail.end());
}

bytes concat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const bytes& p : parts) append(out, p);
  return out;
}

// A payload of n bytes with recognisable content: byte i is (seed + i) mod 251.
bytes pattern(std::size_t n, unsigned seed = 0) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((seed + i) % 251);
  return b;
}

std::vector<std::uint8_t> as_u8(const std::vector<std::byte>& v) {
  std::vector<std::uint8_t> out(v.size());
  std::transform(v.begin(), v.end(), out.begin(),
                 [](std::byte x) { return std::to_integer<std::uint8_t>(x); });
  return out;
}

// Link types as written into the file's global header (LINKTYPE_* numbers).
constexpr std::uint32_t lt_null = 0;
constexpr std::uint32_t lt_ethernet = 1;
constexpr std::uint32_t lt_raw = 101;
constexpr std::uint32_t lt_loop = 108;
constexpr std::uint32_t lt_sll = 113;
constexpr std::uint32_t lt_ipv4 = 228;
constexpr std::uint32_t lt_sll2 = 276;
constexpr std::uint32_t lt_ieee802_11 = 105;

constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;

// Classic pcap file (little-endian):
//   global header: magic (4) | version 2.4 (2+2) | thiszone (4) | sigfigs (4) | snaplen (4) |
//                  linktype (4)
//   record:        ts_sec (4) | ts_usec or ts_nsec (4) | incl_len (4) | orig_len (4) | data
class pcap_builder {
 public:
  explicit pcap_builder(std::uint32_t link_type, bool nanosecond = false) {
    put32le(file_, nanosecond ? 0xa1b23c4du : 0xa1b2c3d4u);
    put16le(file_, 2);
    put16le(file_, 4);
    put32le(file_, 0);
    put32le(file_, 0);
    put32le(file_, 65535);
    put32le(file_, link_type);
  }
  // Adds a record; frames are one second apart unless a time is given. `orig_len` larger
  // than the frame simulates a snapshot-length cut.
  pcap_builder& frame(const bytes& data, std::uint32_t orig_len = 0) {
    ++count_;
    return frame_at(data, 1'700'000'000u + count_, 250'000u, orig_len);
  }
  pcap_builder& frame_at(const bytes& data, std::uint32_t sec, std::uint32_t frac,
                         std::uint32_t orig_len = 0) {
    put32le(file_, sec);
    put32le(file_, frac);
    put32le(file_, static_cast<std::uint32_t>(data.size()));
    put32le(file_, orig_len != 0 ? orig_len : static_cast<std::uint32_t>(data.size()));
    append(file_, data);
    return *this;
  }
  [[nodiscard]] std::vector<std::byte> file() const {
    std::vector<std::byte> out(file_.size());
    std::transform(file_.begin(), file_.end(), out.begin(),
                   [](std::uint8_t x) { return std::byte{x}; });
    return out;
  }

 private:
  bytes file_;
  std::uint32_t count_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Protocol headers (checksums left 0: the library does not verify them)

using ip4 = std::array<std::uint8_t, 4>;
using ip6 = std::array<std::uint8_t, 16>;

struct tcp_fields {
  std::uint16_t sport = 0, dport = 0;
  std::uint32_t seq_no = 0, ack_no = 0;
  std::uint8_t flags = ack;
};

// TCP: sport (2) | dport (2) | seq (4) | ack (4) | offset<<4 (1) | flags (1) | window (2) |
//      checksum (2) | urgent (2) | options | payload
bytes tcp(const tcp_fields& f, const bytes& payload, const bytes& options = {}) {
  bytes b;
  put16be(b, f.sport);
  put16be(b, f.dport);
  put32be(b, f.seq_no);
  put32be(b, f.ack_no);
  b.push_back(static_cast<std::uint8_t>(((20 + options.size()) / 4) << 4));
  b.push_back(f.flags);
  put16be(b, 8192);  // window
  put16be(b, 0);     // checksum
  put16be(b, 0);     // urgent pointer
  append(b, options);
  append(b, payload);
  return b;
}

// IPv4: ver/ihl (1) | tos (1) | total length (2) | id (2) | flags/fragment offset (2) | ttl (1) |
//       protocol (1) | checksum (2) | source (4) | destination (4) | options
bytes ipv4(ip4 src, ip4 dst, std::uint8_t proto, const bytes& payload, const bytes& options = {},
           std::uint16_t frag = 0x4000 /* DF */) {
  bytes b;
  b.push_back(static_cast<std::uint8_t>(0x40 | ((20 + options.size()) / 4)));
  b.push_back(0);
  put16be(b, static_cast<unsigned>(20 + options.size() + payload.size()));
  put16be(b, 0x1234);
  put16be(b, frag);
  b.push_back(64);
  b.push_back(proto);
  put16be(b, 0);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  append(b, options);
  append(b, payload);
  return b;
}

// IPv6: ver/class/flow (4) | payload length (2) | next header (1) | hop limit (1) | src (16) |
//       dst (16) | extension headers and payload
bytes ipv6(const ip6& src, const ip6& dst, std::uint8_t next, const bytes& payload) {
  bytes b;
  put32be(b, 0x60000000u);
  put16be(b, static_cast<unsigned>(payload.size()));
  b.push_back(next);
  b.push_back(64);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  append(b, payload);
  return b;
}

// Ethernet II: dst MAC (6) | src MAC (6) | [0x8100 | TCI (2)]* | ethertype (2) | payload,
// padded to the 60-byte minimum as a NIC would.
bytes ethernet(std::uint16_t ethertype, const bytes& payload,
               const std::vector<std::uint16_t>& tag_types = {}) {
  bytes b = {0x00, 0x1b, 0x1b, 0x23, 0xeb, 0x3b, 0x00, 0x1f, 0xc6, 0x84, 0x5e, 0x41};
  std::uint16_t vid = 10;
  for (std::uint16_t t : tag_types) {
    put16be(b, t);
    put16be(b, vid++);
  }
  put16be(b, ethertype);
  append(b, payload);
  if (b.size() < 60) b.resize(60, 0);
  return b;
}

// Linux cooked v1: packet type (2) | ARPHRD (2) | address length (2) | address (8) | protocol (2)
bytes sll(std::uint16_t protocol, const bytes& payload) {
  bytes b;
  put16be(b, 0);  // sent to us
  put16be(b, 1);  // ARPHRD_ETHER
  put16be(b, 6);
  append(b, {0x00, 0x1b, 0x1b, 0x23, 0xeb, 0x3b, 0x00, 0x00});
  put16be(b, protocol);
  append(b, payload);
  return b;
}

// Linux cooked v2: protocol (2) | reserved (2) | ifindex (4) | ARPHRD (2) | packet type (1) |
//                  address length (1) | address (8)
bytes sll2(std::uint16_t protocol, const bytes& payload) {
  bytes b;
  put16be(b, protocol);
  put16be(b, 0);
  put32be(b, 2);
  put16be(b, 1);
  b.push_back(4);  // outgoing
  b.push_back(6);
  append(b, {0x00, 0x1b, 0x1b, 0x23, 0xeb, 0x3b, 0x00, 0x00});
  append(b, payload);
  return b;
}

constexpr std::uint16_t et_ipv4 = 0x0800, et_ipv6 = 0x86dd, et_arp = 0x0806;
constexpr std::uint16_t et_vlan = 0x8100, et_qinq = 0x88a8;

// A TCP connection between 192.168.1.10:4000 (client) and 192.168.1.40:102 (server) over
// Ethernet/IPv4. Sequence arguments are relative: byte 0 of a direction's stream is ISN + 1.
struct flow {
  ip4 cli{192, 168, 1, 10};
  ip4 srv{192, 168, 1, 40};
  std::uint16_t cport = 4000;
  std::uint16_t sport = 102;
  std::uint32_t cisn = 1000;
  std::uint32_t sisn = 500000;
  std::vector<std::uint16_t> tags;  // VLAN tag types, outermost first

  [[nodiscard]] bytes wrap(bool from_client, const bytes& segment) const {
    return ethernet(et_ipv4, from_client ? ipv4(cli, srv, 6, segment) : ipv4(srv, cli, 6, segment),
                    tags);
  }
  [[nodiscard]] bytes client(std::uint32_t rel, const bytes& payload,
                             std::uint8_t flags = ack | psh) const {
    return wrap(true, tcp({cport, sport, cisn + 1 + rel, sisn + 1, flags}, payload));
  }
  [[nodiscard]] bytes server(std::uint32_t rel, const bytes& payload,
                             std::uint8_t flags = ack | psh) const {
    return wrap(false, tcp({sport, cport, sisn + 1 + rel, cisn + 1, flags}, payload));
  }
  [[nodiscard]] bytes client_syn() const {
    return wrap(true, tcp({cport, sport, cisn, 0, syn}, {}, {0x02, 0x04, 0x05, 0xb4}));
  }
  [[nodiscard]] bytes server_syn_ack() const {
    return wrap(false, tcp({sport, cport, sisn, cisn + 1, syn | ack}, {}));
  }
  [[nodiscard]] bytes client_ack() const { return client(0, {}, ack); }
  // The three-way handshake: frames 1..3.
  void handshake(pcap_builder& p) const {
    p.frame(client_syn()).frame(server_syn_ack()).frame(client_ack());
  }
};

// RFC 1006 TPKT + ISO 8073 COTP connection request, as in frame 8 of
// s7comm_reading_plc_status.pcap: TPKT version 3, reserved, length 0x0016 (22).
const bytes cotp_cr = {0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x0f, 0x00,
                       0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02, 0xc0, 0x01, 0x0a};
// Its connection confirm (frame 9 of the same capture).
const bytes cotp_cc = {0x03, 0x00, 0x00, 0x16, 0x11, 0xd0, 0x00, 0x0f, 0x00, 0x03, 0x00,
                       0xc0, 0x01, 0x0a, 0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02};

cap::capture_file load_ok(const pcap_builder& p) {
  cap::capture_file f;
  cap::load_error err;
  const std::vector<std::byte> file = p.file();
  EXPECT_TRUE(cap::load_memory(file, f, err)) << err.message;
  return f;
}

bool has_note(const std::vector<std::string>& notes, const std::string& fragment) {
  return std::any_of(notes.begin(), notes.end(),
                     [&](const std::string& n) { return n.find(fragment) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// Per direction, chunks must tile the data exactly, in order, with frames non-decreasing; and
// over both directions chunks are ordered by frame.
void expect_chunks_consistent(const cap::connection& c) {
  std::size_t next[2] = {0, 0};
  std::uint64_t last_frame = 0;
  std::uint64_t lost[2] = {0, 0};
  for (const cap::chunk& ch : c.chunks) {
    ASSERT_TRUE(ch.side == 0 || ch.side == 1);
    const auto side = static_cast<std::size_t>(ch.side);
    EXPECT_EQ(ch.begin, next[side]);
    EXPECT_LT(ch.begin, ch.end);
    EXPECT_GE(ch.frame, last_frame);
    EXPECT_EQ(ch.gap_before, ch.lost_before != 0);
    lost[side] += ch.lost_before;
    last_frame = ch.frame;
    next[side] = ch.end;
  }
  for (std::size_t side = 0; side < 2; ++side) {
    EXPECT_EQ(next[side], c.sides[side].data.size());
    EXPECT_LE(lost[side], c.sides[side].bytes_lost);
  }
}

// ---------------------------------------------------------------------------------------------
// Basic streams

TEST(capture_load, in_order_stream_with_handshake) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);                        // frames 1-3
  p.frame(f.client(0, cotp_cr));         // 4
  p.frame(f.server(0, cotp_cc));         // 5
  p.frame(f.client(22, {}, fin | ack));  // 6
  p.frame(f.server(22, {}, fin | ack));  // 7
  const cap::capture_file file = load_ok(p);

  EXPECT_EQ(file.path, "<memory>");
  EXPECT_EQ(file.link_type, 1);
  EXPECT_EQ(file.frames, 7u);
  EXPECT_EQ(file.tcp_frames, 7u);
  EXPECT_EQ(file.skipped_frames, 0u);
  EXPECT_TRUE(file.warnings.empty()) << joined(file.warnings);
  ASSERT_EQ(file.connections.size(), 1u);
  const cap::connection& c = file.connections[0];
  EXPECT_EQ(c.client.address, "192.168.1.10");
  EXPECT_EQ(c.client.port, 4000);
  EXPECT_EQ(c.server.address, "192.168.1.40");
  EXPECT_EQ(c.server.port, 102);
  EXPECT_TRUE(c.start_seen);
  EXPECT_EQ(c.first_frame, 1u);
  EXPECT_EQ(c.last_frame, 7u);
  EXPECT_EQ(as_u8(c.sides[0].data), cotp_cr);
  EXPECT_EQ(as_u8(c.sides[1].data), cotp_cc);
  EXPECT_EQ(c.sides[0].bytes_lost, 0u);
  EXPECT_EQ(c.sides[1].bytes_lost, 0u);
  EXPECT_TRUE(c.sides[0].fin);
  EXPECT_TRUE(c.sides[1].fin);
  EXPECT_FALSE(c.sides[0].rst);
  ASSERT_EQ(c.chunks.size(), 2u);
  EXPECT_EQ(c.chunks[0].side, 0);
  EXPECT_EQ(c.chunks[0].frame, 4u);
  EXPECT_DOUBLE_EQ(c.chunks[0].time, 1'700'000'004.25);
  EXPECT_EQ(c.chunks[0].begin, 0u);
  EXPECT_EQ(c.chunks[0].end, 22u);
  EXPECT_FALSE(c.chunks[0].gap_before);
  EXPECT_EQ(c.chunks[1].side, 1);
  EXPECT_EQ(c.chunks[1].frame, 5u);
  EXPECT_EQ(c.chunks[1].end, 22u);
  // Only the FINs are worth a note.
  EXPECT_EQ(c.notes,
            (std::vector<std::string>{"FIN from client in frame 6", "FIN from server in frame 7"}))
      << joined(c.notes);
  EXPECT_TRUE(cap::involves_port(c, 102));
  EXPECT_TRUE(cap::involves_port(c, 4000));
  EXPECT_FALSE(cap::involves_port(c, 80));
}

TEST(capture_load, split_tpkt_is_concatenated_one_chunk_per_frame) {
  // TPKT (4) + COTP DT (3) + S7 header and parameter (18): 25 bytes sent as 3 + 10 + 12.
  const bytes tpkt = {0x03, 0x00, 0x00, 0x19, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x02, 0x00,
                      0x00, 0x08, 0x00, 0x00, 0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xe0};
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(0, bytes(tpkt.begin(), tpkt.begin() + 3)));
  p.frame(f.client(3, bytes(tpkt.begin() + 3, tpkt.begin() + 13)));
  p.frame(f.client(13, bytes(tpkt.begin() + 13, tpkt.end())));
  const cap::capture_file file = load_ok(p);
  ASSERT_EQ(file.connections.size(), 1u);
  const cap::connection& c = file.connections[0];
  EXPECT_EQ(as_u8(c.sides[0].data), tpkt);
  ASSERT_EQ(c.chunks.size(), 3u);
  EXPECT_EQ(c.chunks[0].frame, 4u);
  EXPECT_EQ(c.chunks[1].frame, 5u);
  EXPECT_EQ(c.chunks[2].frame, 6u);
  EXPECT_EQ(c.chunks[2].begin, 13u);
  EXPECT_EQ(c.chunks[2].end, 25u);
  EXPECT_TRUE(c.notes.empty()) << joined(c.notes);
  expect_chunks_consistent(c);
}

TEST(capture_load, reordered_segments_belong_to_the_frame_that_filled_the_hole) {
  const flow f;
  const bytes data = pattern(300);
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(200, bytes(data.begin() + 200, data.end())));          // 4: third part
  p.frame(f.client(100, bytes(data.begin() + 100, data.begin() + 200)));  // 5: second part
  p.frame(f.server(0, cotp_cc));                                          // 6: other direction
  p.frame(f.client(0, bytes(data.begin(), data.begin() + 100)));          // 7: first part
  const cap::capture_file file = load_ok(p);
  ASSERT_EQ(file.connections.size(), 1u);
  const cap::connection& c = file.connections[0];
  EXPECT_EQ(as_u8(c.sides[0].data), data);
  EXPECT_EQ(c.sides[0].bytes_lost, 0u);
  ASSERT_EQ(c.chunks.size(), 2u);
  EXPECT_EQ(c.chunks[0].side, 1);
  EXPECT_EQ(c.chunks[0].frame, 6u);
  EXPECT_EQ(c.chunks[1].side, 0);
  EXPECT_EQ(c.chunks[1].frame, 7u);
  EXPECT_EQ(c.chunks[1].begin, 0u);
  EXPECT_EQ(c.chunks[1].end, 300u);
  EXPECT_DOUBLE_EQ(c.chunks[1].time, 1'700'000'007.25);
  // One note per hole, not per buffered segment.
  EXPECT_EQ(c.notes,
            std::vector<std::string>{"out-of-order segment in frame 4 (client->server): 200 bytes "
                                     "missing before it"})
      << joined(c.notes);
  expect_chunks_consistent(c);
}

TEST(capture_load, retransmitted_segment_is_dropped_and_noted) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(0, cotp_cr));  // 4
  p.frame(f.client(0, cotp_cr));  // 5: retransmission
  p.frame(f.server(0, cotp_cc));  // 6
  const cap::capture_file file = load_ok(p);
  ASSERT_EQ(file.connections.size(), 1u);
  const cap::connection& c = file.connections[0];
  EXPECT_EQ(as_u8(c.sides[0].data), cotp_cr);
  EXPECT_EQ(c.chunks.size(), 2u);
  EXPECT_EQ(c.notes,
            std::vector<std::string>{"retransmission in frame 5 (client->server, 22 bytes)"});
}

TEST(capture_load, overlapping_segment_keeps_first_received_bytes) {
  const flow f;
  const bytes first = pattern(10, 0);     // stream bytes 0..9
  const bytes second = pattern(10, 100);  // claims bytes 5..14 with different content
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(0, first));   // 4
  p.frame(f.client(5, second));  // 5
  const cap::capture_file file = load_ok(p);
  const cap::connection& c = file.connections.at(0);
  bytes expected = first;
  expected.insert(expected.end(), second.begin() + 5, second.end());
  EXPECT_EQ(as_u8(c.sides[0].data), expected);
  ASSERT_EQ(c.chunks.size(), 2u);
  EXPECT_EQ(c.chunks[1].frame, 5u);
  EXPECT_EQ(c.chunks[1].begin, 10u);
  EXPECT_EQ(c.chunks[1].end, 15u);
  EXPECT_TRUE(has_note(c.notes, "segment in frame 5 overlaps 5 already received bytes"));
}

TEST(capture_load, overlapping_out_of_order_segments_keep_first_received_bytes) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(20, pattern(10, 20)));   // 4: bytes 20..29
  p.frame(f.client(15, pattern(20, 150)));  // 5: bytes 15..34, overlaps 20..29
  p.frame(f.client(0, pattern(15, 0)));     // 6: bytes 0..14 fill the hole
  const cap::capture_file file = load_ok(p);
  const cap::connection& c = file.connections.at(0);
  bytes expected = pattern(15, 0);
  const bytes second = pattern(20, 150);
  append(expected, bytes(second.begin(), second.begin() + 5));  // 15..19 from frame 5
  append(expected, pattern(10, 20));                            // 20..29 from frame 4
  append(expected, bytes(second.begin() + 15, second.end()));   // 30..34 from frame 5
  EXPECT_EQ(as_u8(c.sides[0].data), expected);
  ASSERT_EQ(c.chunks.size(), 1u);
  EXPECT_EQ(c.chunks[0].frame, 6u);
  EXPECT_TRUE(has_note(c.notes, "segment in frame 5 overlaps 10 buffered out-of-order bytes"))
      << joined(c.notes);
}

TEST(capture_load, missing_segment_is_reported_as_gap_and_later_data_delivered) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(0, pattern(100, 0)));  // 4
  // bytes 100..219 never captured
  p.frame(f.client(220, pattern(50, 1)));  // 5
  p.frame(f.server(0, cotp_cc));           // 6
  p.frame(f.client(270, pattern(30, 2)));  // 7
  p.frame(f.client(300, {}, fin | ack));   // 8
  const cap::capture_file file = load_ok(p);
  const cap::connection& c = file.connections.at(0);
  EXPECT_EQ(as_u8(c.sides[0].data), concat({pattern(100, 0), pattern(50, 1), pattern(30, 2)}));
  EXPECT_EQ(c.sides[0].bytes_lost, 120u);
  ASSERT_EQ(c.chunks.size(), 4u);
  EXPECT_EQ(c.chunks[0].frame, 4u);
  EXPECT_FALSE(c.chunks[0].gap_before);
  // The bytes behind the hole never became contiguous: each stays with its own frame.
  EXPECT_EQ(c.chunks[1].frame, 5u);
  EXPECT_EQ(c.chunks[1].side, 0);
  EXPECT_TRUE(c.chunks[1].gap_before);
  EXPECT_EQ(c.chunks[1].lost_before, 120u);
  EXPECT_EQ(c.chunks[1].begin, 100u);
  EXPECT_EQ(c.chunks[1].end, 150u);
  EXPECT_EQ(c.chunks[2].frame, 6u);
  EXPECT_EQ(c.chunks[2].side, 1);
  EXPECT_EQ(c.chunks[3].frame, 7u);
  EXPECT_FALSE(c.chunks[3].gap_before);
  EXPECT_TRUE(has_note(c.notes, "gap of 120 bytes in client->server before frame 5"))
      << joined(c.notes);
  expect_chunks_consistent(c);
}

TEST(capture_load, a_hole_the_receiver_acknowledged_is_lost_at_once_not_at_the_end) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  // Client bytes 0..6 and 27..33 never captured (TIA Portal's empty DT before each request).
  p.frame(f.client(7, pattern(20, 1)));  // 4
  p.frame(f.wrap(false, tcp({f.sport, f.cport, f.sisn + 1, f.cisn + 1 + 27, ack | psh},
                            pattern(10, 2))));  // 5: acknowledges the client's bytes 0..26
  p.frame(f.client(34, pattern(20, 3)));        // 6
  p.frame(f.wrap(false, tcp({f.sport, f.cport, f.sisn + 11, f.cisn + 1 + 54, ack | psh},
                            pattern(10, 4))));  // 7
  const cap::capture_file file = load_ok(p);
  const cap::connection& c = file.connections.at(0);
  EXPECT_EQ(c.sides[0].bytes_lost, 14u);
  EXPECT_EQ(as_u8(c.sides[0].data), concat({pattern(20, 1), pattern(20, 3)}));
  ASSERT_EQ(c.chunks.size(), 4u);
  EXPECT_EQ(c.chunks[0].frame, 4u);
  EXPECT_TRUE(c.chunks[0].gap_before);
  EXPECT_EQ(c.chunks[0].lost_before, 7u);
  EXPECT_EQ(c.chunks[1].side, 1);
  EXPECT_EQ(c.chunks[2].frame, 6u);
  EXPECT_EQ(c.chunks[2].lost_before, 7u);
  EXPECT_TRUE(has_note(c.notes,
                       "gap of 7 bytes in client->server before frame 4 (the receiver "
                       "acknowledged it)"))
      << joined(c.notes);
  EXPECT_TRUE(has_note(c.notes, "gap of 7 bytes in client->server before frame 6"))
      << joined(c.notes);
  expect_chunks_consistent(c);
}

TEST(capture_load, bytes_missing_before_fin_are_counted) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(0, pattern(10)));
  p.frame(f.client(40, {}, fin | ack));  // FIN at offset 40: bytes 10..39 never seen
  const cap::capture_file file = load_ok(p);
  const cap::connection& c = file.connections.at(0);
  EXPECT_EQ(c.sides[0].data.size(), 10u);
  EXPECT_EQ(c.sides[0].bytes_lost, 30u);
  EXPECT_TRUE(has_note(c.notes, "30 bytes lost at the end of client->server (before its FIN)"));
}

TEST(capture_load, rst_is_noted) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(0, cotp_cr));
  p.frame(f.server(0, {}, rst | ack));
  const cap::capture_file file = load_ok(p);
  const cap::connection& c = file.connections.at(0);
  EXPECT_TRUE(c.sides[1].rst);
  EXPECT_FALSE(c.sides[0].rst);
  EXPECT_TRUE(has_note(c.notes, "RST from server in frame 5"));
}

// ---------------------------------------------------------------------------------------------
// Truncation and other traffic

TEST(capture_load, capture_cut_mid_record_keeps_what_was_read) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(0, cotp_cr));  // 4
  p.frame(f.server(0, cotp_cc));  // 5: will be cut
  std::vector<std::byte> file = p.file();
  file.resize(file.size() - 20);  // the last record loses 20 of its bytes
  cap::capture_file out;
  cap::load_error err;
  ASSERT_TRUE(cap::load_memory(file, out, err)) << err.message;
  EXPECT_EQ(out.frames, 4u);
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_NE(out.warnings[0].find("capture ends early after frame 4"), std::string::npos)
      << out.warnings[0];
  ASSERT_EQ(out.connections.size(), 1u);
  EXPECT_EQ(as_u8(out.connections[0].sides[0].data), cotp_cr);
  EXPECT_TRUE(out.connections[0].sides[1].data.empty());

  // Cut inside the 16-byte record header instead.
  file = p.file();
  file.resize(file.size() - (f.server(0, cotp_cc).size() + 6));
  ASSERT_TRUE(cap::load_memory(file, out, err)) << err.message;
  EXPECT_EQ(out.frames, 4u);
  EXPECT_EQ(out.warnings.size(), 1u);
}

TEST(capture_load, snapshot_length_cut_counts_missing_payload_as_lost) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  const bytes full = f.client(0, pattern(100));
  const bytes cut(full.begin(), full.end() - 40);         // 60 payload bytes captured
  p.frame(cut, static_cast<std::uint32_t>(full.size()));  // 4
  p.frame(f.client(100, pattern(10, 7)));                 // 5
  const cap::capture_file file = load_ok(p);
  const cap::connection& c = file.connections.at(0);
  EXPECT_EQ(as_u8(c.sides[0].data), concat({pattern(60), pattern(10, 7)}));
  EXPECT_EQ(c.sides[0].bytes_lost, 40u);
  ASSERT_EQ(c.chunks.size(), 2u);
  EXPECT_EQ(c.chunks[1].lost_before, 40u);
  EXPECT_TRUE(has_note(c.notes, "40 bytes of TCP payload in frame 4 not captured"));
}

TEST(capture_load, capture_without_tcp_has_no_connections) {
  pcap_builder p(lt_ethernet);
  // ARP request: htype (2) ptype (2) hlen (1) plen (1) op (2) sha (6) spa (4) tha (6) tpa (4)
  p.frame(ethernet(
      et_arp, {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x1f, 0xc6, 0x84, 0x5e, 0x41,
               192,  168,  1,    10,   0,    0,    0,    0,    0,    0,    192,  168,  1,    40}));
  // UDP: sport (2) dport (2) length (2) checksum (2) payload
  p.frame(ethernet(et_ipv4, ipv4({192, 168, 1, 10}, {192, 168, 1, 255}, 17,
                                 {0x00, 0x89, 0x00, 0x89, 0x00, 0x0c, 0, 0, 1, 2, 3, 4})));
  const cap::capture_file file = load_ok(p);
  EXPECT_EQ(file.frames, 2u);
  EXPECT_EQ(file.ignored_frames, 2u);
  EXPECT_EQ(file.tcp_frames, 0u);
  EXPECT_EQ(file.skipped_frames, 0u);
  EXPECT_TRUE(file.connections.empty());
  EXPECT_TRUE(file.warnings.empty());
}

TEST(capture_load, other_protocols_among_tcp_are_ignored) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  // ICMP echo request
  p.frame(ethernet(et_ipv4, ipv4(f.cli, f.srv, 1, {0x08, 0x00, 0, 0, 0, 1, 0, 1})));
  // UDP
  p.frame(ethernet(et_ipv4, ipv4(f.cli, f.srv, 17, {0x10, 0x00, 0x00, 0x66, 0, 8, 0, 0})));
  // 802.3 frame with an LLC header (length field 0x0026 instead of an ethertype), e.g. STP
  p.frame(ethernet(0x0026, {0x42, 0x42, 0x03, 0x00, 0x00}));
  // IPv6 UDP
  p.frame(ethernet(
      et_ipv6, ipv6(ip6{0xfe, 0x80, 15, 1}, ip6{0xfe, 0x80, 15, 2}, 17, {0, 1, 0, 2, 0, 8, 0, 0})));
  p.frame(f.client(0, cotp_cr));
  const cap::capture_file file = load_ok(p);
  EXPECT_EQ(file.frames, 8u);
  EXPECT_EQ(file.ignored_frames, 4u);
  EXPECT_EQ(file.tcp_frames, 4u);
  ASSERT_EQ(file.connections.size(), 1u);
  EXPECT_EQ(as_u8(file.connections[0].sides[0].data), cotp_cr);
  ASSERT_EQ(file.connections[0].chunks.size(), 1u);
  EXPECT_EQ(file.connections[0].chunks[0].frame, 8u);
}

// ---------------------------------------------------------------------------------------------
// Connections

TEST(capture_load, two_interleaved_connections_stay_apart) {
  flow a;
  flow b;
  b.cport = 4001;
  b.cisn = 77;
  b.sisn = 99;
  pcap_builder p(lt_ethernet);
  p.frame(a.client_syn());           // 1
  p.frame(b.client_syn());           // 2
  p.frame(b.server_syn_ack());       // 3
  p.frame(a.server_syn_ack());       // 4
  p.frame(a.client(0, cotp_cr));     // 5
  p.frame(b.client(0, pattern(7)));  // 6
  p.frame(b.server(0, pattern(9)));  // 7
  p.frame(a.server(0, cotp_cc));     // 8
  const cap::capture_file file = load_ok(p);
  ASSERT_EQ(file.connections.size(), 2u);
  const cap::connection& ca = file.connections[0];
  const cap::connection& cb = file.connections[1];
  EXPECT_EQ(ca.client.port, 4000);
  EXPECT_EQ(cb.client.port, 4001);
  EXPECT_EQ(ca.first_frame, 1u);
  EXPECT_EQ(cb.first_frame, 2u);
  EXPECT_EQ(as_u8(ca.sides[0].data), cotp_cr);
  EXPECT_EQ(as_u8(ca.sides[1].data), cotp_cc);
  EXPECT_EQ(as_u8(cb.sides[0].data), pattern(7));
  EXPECT_EQ(as_u8(cb.sides[1].data), pattern(9));
  ASSERT_EQ(ca.chunks.size(), 2u);
  EXPECT_EQ(ca.chunks[0].frame, 5u);
  EXPECT_EQ(ca.chunks[1].frame, 8u);
}

TEST(capture_load, connection_without_syn_takes_client_from_port_102) {
  const flow f;
  pcap_builder p(lt_ethernet);
  p.frame(f.server(0, cotp_cc));  // the server happens to be captured first
  p.frame(f.client(0, cotp_cr));
  const cap::capture_file file = load_ok(p);
  ASSERT_EQ(file.connections.size(), 1u);
  const cap::connection& c = file.connections[0];
  EXPECT_FALSE(c.start_seen);
  EXPECT_EQ(c.client.port, 4000);
  EXPECT_EQ(c.server.port, 102);
  EXPECT_EQ(as_u8(c.sides[0].data), cotp_cr);
  EXPECT_EQ(as_u8(c.sides[1].data), cotp_cc);
  EXPECT_EQ(c.chunks.at(0).side, 1);
  EXPECT_TRUE(has_note(c.notes, "client is the side not using port 102"));
}

TEST(capture_load, connection_without_syn_and_without_port_102_takes_first_sender) {
  flow f;
  f.sport = 8080;
  pcap_builder p(lt_ethernet);
  p.frame(f.server(0, pattern(5)));
  p.frame(f.client(0, pattern(6)));
  const cap::capture_file file = load_ok(p);
  const cap::connection& c = file.connections.at(0);
  EXPECT_FALSE(c.start_seen);
  EXPECT_EQ(c.client.port, 8080);
  EXPECT_EQ(as_u8(c.sides[0].data), pattern(5));
  EXPECT_TRUE(has_note(c.notes, "client is the side that sent first (frame 1)"));
}

TEST(capture_load, syn_ack_without_syn_fixes_roles_and_client_start) {
  const flow f;
  pcap_builder p(lt_ethernet);
  p.frame(f.server_syn_ack());
  p.frame(f.client(22, pattern(4)));  // arrives before the first client segment
  p.frame(f.client(0, cotp_cr));
  const cap::capture_file file = load_ok(p);
  const cap::connection& c = file.connections.at(0);
  EXPECT_FALSE(c.start_seen);
  EXPECT_EQ(c.client.port, 4000);
  // Thanks to the SYN-ACK's acknowledgment number the reordering is recognised.
  EXPECT_EQ(as_u8(c.sides[0].data), concat({cotp_cr, pattern(4)}));
  EXPECT_EQ(c.sides[0].bytes_lost, 0u);
}

TEST(capture_load, repeated_syn_is_one_connection_new_isn_is_a_new_one) {
  const flow first;
  flow second = first;
  second.cisn = 123456;
  pcap_builder p(lt_ethernet);
  p.frame(first.client_syn());               // 1
  p.frame(first.client_syn());               // 2: retransmitted SYN
  p.frame(first.server_syn_ack());           // 3
  p.frame(first.client(0, cotp_cr));         // 4
  p.frame(first.client(22, {}, rst | ack));  // 5
  p.frame(second.client_syn());              // 6: port reused
  p.frame(second.server_syn_ack());          // 7
  p.frame(second.client(0, pattern(3)));     // 8
  const cap::capture_file file = load_ok(p);
  ASSERT_EQ(file.connections.size(), 2u);
  EXPECT_TRUE(has_note(file.connections[0].notes, "SYN retransmission in frame 2"));
  EXPECT_EQ(as_u8(file.connections[0].sides[0].data), cotp_cr);
  EXPECT_EQ(file.connections[1].first_frame, 6u);
  EXPECT_EQ(as_u8(file.connections[1].sides[0].data), pattern(3));
}

TEST(capture_load, sequence_numbers_wrap_around) {
  flow f;
  f.cisn = 0xffffffe0u;  // byte 31 of the stream has sequence number 0
  f.sisn = 0xfffffffeu;  // server data starts at sequence number 0xffffffff
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(20, pattern(30, 20)));  // 4: crosses 2^32, ahead of the hole 0..19
  p.frame(f.client(0, pattern(20, 0)));    // 5: fills the hole
  p.frame(f.client(50, pattern(10, 50)));  // 6: entirely past the wrap
  p.frame(f.client(40, pattern(10, 40)));  // 7: retransmission past the wrap
  p.frame(f.server(0, pattern(8)));        // 8
  const cap::capture_file file = load_ok(p);
  const cap::connection& c = file.connections.at(0);
  EXPECT_EQ(as_u8(c.sides[0].data), pattern(60));
  EXPECT_EQ(c.sides[0].bytes_lost, 0u);
  EXPECT_EQ(as_u8(c.sides[1].data), pattern(8));
  ASSERT_EQ(c.chunks.size(), 3u);
  EXPECT_EQ(c.chunks[0].frame, 5u);
  EXPECT_EQ(c.chunks[0].end, 50u);
  EXPECT_TRUE(has_note(c.notes, "retransmission in frame 7"));
}

// ---------------------------------------------------------------------------------------------
// Link types and network layers

TEST(capture_link, vlan_tagged_ethernet) {
  flow f;
  f.tags = {et_vlan};
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(0, cotp_cr));
  flow g;
  g.cport = 4100;
  g.tags = {et_qinq, et_vlan};  // 802.1ad S-tag then C-tag
  p.frame(g.client(0, pattern(12), ack));
  const cap::capture_file file = load_ok(p);
  ASSERT_EQ(file.connections.size(), 2u);
  EXPECT_EQ(as_u8(file.connections[0].sides[0].data), cotp_cr);
  EXPECT_EQ(as_u8(file.connections[1].sides[0].data), pattern(12));
}

TEST(capture_link, bsd_loopback_null_and_loop) {
  const ip4 lo{127, 0, 0, 1};
  const bytes seg_c = tcp({50000, 102, 10, 0, syn}, {});
  const bytes seg_d = tcp({50000, 102, 11, 0, ack | psh}, cotp_cr);
  // DLT_NULL: family AF_INET = 2 in the writer's byte order; little-endian here.
  bytes null_le = {0x02, 0x00, 0x00, 0x00};
  // and a big-endian writer's file (also DLT_NULL).
  bytes null_be = {0x00, 0x00, 0x00, 0x02};
  for (const bytes& family : {null_le, null_be}) {
    pcap_builder p(lt_null);
    p.frame(concat({family, ipv4(lo, lo, 6, seg_c)}));
    p.frame(concat({family, ipv4(lo, lo, 6, seg_d)}));
    const cap::capture_file file = load_ok(p);
    EXPECT_EQ(file.link_type, 0);
    ASSERT_EQ(file.connections.size(), 1u);
    EXPECT_EQ(file.connections[0].client.address, "127.0.0.1");
    EXPECT_EQ(file.connections[0].client.port, 50000);
    EXPECT_EQ(as_u8(file.connections[0].sides[0].data), cotp_cr);
  }
  // DLT_LOOP: network byte order; IPv6 with Darwin's AF_INET6 (30).
  ip6 lo6{};
  lo6[15] = 1;
  pcap_builder p(lt_loop);
  p.frame(concat({{0, 0, 0, 30}, ipv6(lo6, lo6, 6, seg_d)}));
  const cap::capture_file file = load_ok(p);
  EXPECT_EQ(file.link_type, 108);
  ASSERT_EQ(file.connections.size(), 1u);
  EXPECT_EQ(file.connections[0].client.address, "::1");
  EXPECT_EQ(as_u8(file.connections[0].sides[0].data), cotp_cr);
}

TEST(capture_link, linux_cooked_ipv6) {
  const ip6 a{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};
  const ip6 b{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x28};
  pcap_builder p(lt_sll);
  p.frame(sll(et_ipv6, ipv6(a, b, 6, tcp({4000, 102, 1, 0, syn}, {}))));
  p.frame(sll(et_ipv6, ipv6(b, a, 6, tcp({102, 4000, 9, 2, syn | ack}, {}))));
  p.frame(sll(et_ipv6, ipv6(a, b, 6, tcp({4000, 102, 2, 10, ack | psh}, cotp_cr))));
  p.frame(sll(et_ipv6, ipv6(b, a, 6, tcp({102, 4000, 10, 24, ack | psh}, cotp_cc))));
  const cap::capture_file file = load_ok(p);
  EXPECT_EQ(file.link_type, 113);
  ASSERT_EQ(file.connections.size(), 1u);
  const cap::connection& c = file.connections[0];
  EXPECT_EQ(c.client.address, "2001:db8::a");
  EXPECT_EQ(c.server.address, "2001:db8::28");
  EXPECT_TRUE(c.start_seen);
  EXPECT_EQ(as_u8(c.sides[0].data), cotp_cr);
  EXPECT_EQ(as_u8(c.sides[1].data), cotp_cc);
}

TEST(capture_link, linux_cooked_v2_ipv4) {
  pcap_builder p(lt_sll2);
  p.frame(sll2(et_ipv4,
               ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 6, tcp({4000, 102, 1, 0, ack | psh}, cotp_cr))));
  const cap::capture_file file = load_ok(p);
  EXPECT_EQ(file.link_type, 276);
  ASSERT_EQ(file.connections.size(), 1u);
  EXPECT_EQ(as_u8(file.connections[0].sides[0].data), cotp_cr);
}

TEST(capture_link, raw_ip_link_types) {
  const bytes v4 = ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 6, tcp({4000, 102, 1, 0, ack}, cotp_cr));
  for (const std::uint32_t lt : {lt_raw, lt_ipv4}) {
    pcap_builder p(lt);
    p.frame(v4);
    const cap::capture_file file = load_ok(p);
    ASSERT_EQ(file.connections.size(), 1u) << lt;
    EXPECT_EQ(as_u8(file.connections[0].sides[0].data), cotp_cr);
  }
}

TEST(capture_link, ipv4_options_are_skipped_by_header_length) {
  // Record-route style option padded to 4 bytes: type 7, length 3, pointer 4, end of list.
  const bytes options = {0x07, 0x03, 0x04, 0x00};
  pcap_builder p(lt_ethernet);
  p.frame(ethernet(et_ipv4, ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 6,
                                 tcp({4000, 102, 1, 0, ack}, cotp_cr), options)));
  const cap::capture_file file = load_ok(p);
  ASSERT_EQ(file.connections.size(), 1u);
  EXPECT_EQ(as_u8(file.connections[0].sides[0].data), cotp_cr);
}

TEST(capture_link, ipv4_fragments_are_skipped_with_a_warning) {
  const bytes seg = tcp({4000, 102, 1, 0, ack}, cotp_cr);
  pcap_builder p(lt_ethernet);
  p.frame(ethernet(et_ipv4, ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 6, seg, {}, 0x2000)));  // MF
  p.frame(ethernet(et_ipv4, ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 6, seg, {}, 0x0003)));  // off 24
  const cap::capture_file file = load_ok(p);
  EXPECT_EQ(file.skipped_frames, 2u);
  EXPECT_TRUE(file.connections.empty());
  ASSERT_EQ(file.warnings.size(), 2u);
  EXPECT_EQ(file.warnings[0],
            "frame 1 skipped: first IPv4 fragment (IP reassembly is not supported)");
  EXPECT_EQ(file.warnings[1],
            "frame 2 skipped: IPv4 fragment at offset 24 (IP reassembly is not supported)");
}

TEST(capture_link, ipv6_extension_headers_are_walked_fragments_skipped) {
  const ip6 a{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const ip6 b{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const bytes seg = tcp({4000, 102, 1, 0, ack}, cotp_cr);
  // hop-by-hop (next 60, len 0, PadN 4) -> destination options (next 6, len 1: 16 bytes)
  bytes chain = {60, 0, 0x01, 0x04, 0, 0, 0, 0};
  append(chain, {6, 1, 0x01, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  append(chain, seg);
  // fragment header: next (1) reserved (1) offset/flags (2) identification (4)
  const bytes frag = concat({{6, 0, 0x00, 0x01, 0, 0, 0, 1}, seg});
  pcap_builder p(lt_ethernet);
  p.frame(ethernet(et_ipv6, ipv6(a, b, 0, chain)));
  p.frame(ethernet(et_ipv6, ipv6(a, b, 44, frag)));
  const cap::capture_file file = load_ok(p);
  ASSERT_EQ(file.connections.size(), 1u);
  EXPECT_EQ(file.connections[0].client.address, "fe80::1");
  EXPECT_EQ(as_u8(file.connections[0].sides[0].data), cotp_cr);
  EXPECT_EQ(file.skipped_frames, 1u);
  ASSERT_EQ(file.warnings.size(), 1u);
  EXPECT_EQ(file.warnings[0], "frame 2 skipped: IPv6 fragment (IP reassembly is not supported)");
}

TEST(capture_link, malformed_headers_are_skipped_not_fatal) {
  const bytes seg = tcp({4000, 102, 1, 0, ack}, cotp_cr);
  bytes bad_offset = seg;
  bad_offset[12] = 0x40;  // TCP data offset 16 bytes
  bytes long_offset = seg;
  long_offset[12] = 0xf0;  // 60-byte header, longer than the segment
  bytes bad_total = ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 6, seg);
  bad_total[2] = 0x05;  // total length 0x05xx, longer than the frame (and not cut)
  pcap_builder p(lt_ethernet);
  p.frame(ethernet(et_ipv4, ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 6, bad_offset)));
  p.frame(ethernet(et_ipv4, ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 6, long_offset)));
  p.frame(ethernet(et_ipv4, bad_total));
  p.frame(bytes{0x00, 0x01, 0x02});  // shorter than an Ethernet header
  p.frame(bytes{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45, 0x00});  // IPv4 cut
  const cap::capture_file file = load_ok(p);
  EXPECT_EQ(file.frames, 5u);
  EXPECT_EQ(file.skipped_frames, 5u);
  EXPECT_TRUE(file.connections.empty());
  EXPECT_EQ(joined(file.warnings),
            "frame 1 skipped: TCP data offset 16 below 20\n"
            "frame 2 skipped: TCP header length 60 exceeds the segment\n"
            "frame 3 skipped: IP length announces 1322 payload bytes, frame has 42\n"
            "frame 4 skipped: truncated Ethernet header\n"
            "frame 5 skipped: truncated IPv4 header\n");
}

TEST(capture_link, pcapng_file_is_read) {
  // pcapng (little-endian): Section Header Block, Interface Description Block, one Enhanced
  // Packet Block. Every block: type (4) | total length (4) | body | total length (4).
  const flow f;
  const bytes packet = f.client(0, cotp_cr);
  bytes file;
  put32le(file, 0x0a0d0d0a);  // SHB
  put32le(file, 28);
  put32le(file, 0x1a2b3c4d);  // byte-order magic
  put16le(file, 1);
  put16le(file, 0);
  put32le(file, 0xffffffffu);  // section length unknown (-1)
  put32le(file, 0xffffffffu);
  put32le(file, 28);
  put32le(file, 1);  // IDB
  put32le(file, 20);
  put16le(file, lt_ethernet);
  put16le(file, 0);
  put32le(file, 65535);  // snaplen
  put32le(file, 20);
  const std::uint32_t padded = static_cast<std::uint32_t>((packet.size() + 3) / 4 * 4);
  put32le(file, 6);  // EPB
  put32le(file, 32 + padded);
  put32le(file, 0);  // interface 0
  // timestamp in microseconds (default if_tsresol), high then low 32 bits: 1.5 s
  put32le(file, 0);
  put32le(file, 1'500'000);
  put32le(file, static_cast<std::uint32_t>(packet.size()));
  put32le(file, static_cast<std::uint32_t>(packet.size()));
  append(file, packet);
  file.resize(file.size() + padded - packet.size(), 0);
  put32le(file, 32 + padded);
  std::vector<std::byte> raw(file.size());
  std::transform(file.begin(), file.end(), raw.begin(),
                 [](std::uint8_t x) { return std::byte{x}; });
  cap::capture_file out;
  cap::load_error err;
  ASSERT_TRUE(cap::load_memory(raw, out, err)) << err.message;
  EXPECT_EQ(out.frames, 1u);
  ASSERT_EQ(out.connections.size(), 1u);
  EXPECT_EQ(as_u8(out.connections[0].sides[0].data), cotp_cr);
  EXPECT_DOUBLE_EQ(out.connections[0].chunks.at(0).time, 1.5);
}

TEST(capture_link, nanosecond_timestamps) {
  const flow f;
  pcap_builder p(lt_ethernet, /*nanosecond=*/true);
  p.frame_at(f.client(0, cotp_cr), 1'408'529'128u, 770'911'800u);
  const cap::capture_file file = load_ok(p);
  const cap::chunk& ch = file.connections.at(0).chunks.at(0);
  // A double resolves about 0.24 us at this epoch: enough to see that the sub-microsecond
  // part was not truncated away (which would give .770911).
  EXPECT_NEAR(ch.time, 1'408'529'128.7709118, 3e-7);
  EXPECT_GT(ch.time, 1'408'529'128.7709114);
}

// ---------------------------------------------------------------------------------------------
// Errors and file access

TEST(capture_errors, missing_file) {
  cap::capture_file out;
  cap::load_error err;
  EXPECT_FALSE(cap::load("/nonexistent/x.pcap", out, err));
  EXPECT_EQ(err.message.rfind("cannot open /nonexistent/x.pcap: ", 0), 0u) << err.message;
}

TEST(capture_errors, not_a_capture) {
  const std::vector<std::byte> junk(64, std::byte{0x42});
  cap::capture_file out;
  cap::load_error err;
  EXPECT_FALSE(cap::load_memory(junk, out, err));
  EXPECT_EQ(err.message.rfind("cannot open <memory>: ", 0), 0u) << err.message;
  EXPECT_FALSE(cap::load_memory({}, out, err));
  EXPECT_EQ(err.message, "cannot open <memory>: empty buffer");
}

TEST(capture_errors, unsupported_link_type) {
  pcap_builder p(lt_ieee802_11);
  p.frame(pattern(40));
  cap::capture_file out;
  cap::load_error err;
  EXPECT_FALSE(cap::load_memory(p.file(), out, err));
  EXPECT_EQ(err.message, "unsupported link type 105 (IEEE802_11: 802.11)");
}

TEST(capture_errors, load_from_path_matches_load_memory) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  p.frame(f.client(0, cotp_cr));
  const std::vector<std::byte> bytes_in_memory = p.file();
  const std::filesystem::path path =
      std::filesystem::path(::testing::TempDir()) /
      ("protos7_capture_test_" + std::to_string(::getpid()) + ".pcap");
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes_in_memory.data()),
              static_cast<std::streamsize>(bytes_in_memory.size()));
  }
  cap::capture_file from_file;
  cap::load_error err;
  const bool ok = cap::load(path.string(), from_file, err);
  std::filesystem::remove(path);
  ASSERT_TRUE(ok) << err.message;
  EXPECT_EQ(from_file.path, path.string());
  const cap::capture_file from_memory = load_ok(p);
  ASSERT_EQ(from_file.connections.size(), 1u);
  EXPECT_EQ(from_file.connections[0].sides[0].data, from_memory.connections[0].sides[0].data);
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST(capture_limits, out_of_order_buffer_limit_declares_the_hole_lost) {
  const flow f;
  pcap_builder p(lt_ethernet);
  f.handshake(p);
  // Bytes 0..999 never arrive; 1100 segments of 1000 bytes follow (1.1 MB buffered).
  for (std::uint32_t i = 1; i <= 1100; ++i) p.frame(f.client(i * 1000, pattern(1000, i)));
  const cap::capture_file file = load_ok(p);
  const cap::connection& c = file.connections.at(0);
  EXPECT_EQ(c.sides[0].bytes_lost, 1000u);
  EXPECT_EQ(c.sides[0].data.size(), 1'100'000u);
  EXPECT_TRUE(has_note(c.notes, "out-of-order buffer limit reached in frame"));
  EXPECT_TRUE(has_note(c.notes, "gap of 1000 bytes in client->server before frame 4"));
  expect_chunks_consistent(c);
}

TEST(capture_limits, connection_limit_skips_further_connections) {
  pcap_builder p(lt_raw);
  for (std::uint32_t i = 0; i < cap::max_connections + 5; ++i) {
    const ip4 src{10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                  static_cast<std::uint8_t>(i)};
    p.frame(ipv4(src, {10, 255, 0, 1}, 6, tcp({4000, 102, 1, 0, syn}, {})));
  }
  const cap::capture_file file = load_ok(p);
  EXPECT_EQ(file.connections.size(), cap::max_connections);
  EXPECT_EQ(file.skipped_frames, 5u);
  ASSERT_EQ(file.warnings.size(), 1u);
  EXPECT_NE(file.warnings[0].find("connection limit of 10000 reached in frame 10001"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Streaming: the reader's events, connections retired when closed

namespace {

// Records a stream reader's events per connection.
struct recorder final : cap::stream_sink {
  struct conn {
    cap::connection meta;
    std::vector<std::uint8_t> data[2];
    std::vector<std::string> notes;
    bool closed = false;
  };
  std::map<std::size_t, conn> conns;
  std::vector<std::string> warnings;
  std::size_t max_open = 0;
  std::size_t open = 0;
  void on_open(std::size_t id, const cap::connection& c) override {
    conns[id].meta = c;
    max_open = std::max(max_open, ++open);
  }
  void on_data(std::size_t id, const cap::chunk& ch, std::span<const std::byte> b) override {
    auto& d = conns.at(id).data[ch.side];
    EXPECT_EQ(d.size(), ch.begin);
    for (std::byte x : b) d.push_back(std::to_integer<std::uint8_t>(x));
    EXPECT_EQ(d.size(), ch.end);
  }
  void on_note(std::size_t id, const std::string& n) override { conns.at(id).notes.push_back(n); }
  void on_close(std::size_t id, const cap::connection& c) override {
    conn& k = conns.at(id);
    EXPECT_FALSE(k.closed);
    k.closed = true;
    k.meta.last_frame = c.last_frame;
    --open;
  }
  void on_warning(const std::string& w) override { warnings.push_back(w); }
};

recorder stream_all(const pcap_builder& p, bool retire) {
  const std::vector<std::byte> file = p.file();
  cap::reader r{cap::reader_options{.retire_closed = retire}};
  cap::load_error err;
  EXPECT_TRUE(r.open_memory(file, err)) << err.message;
  recorder rec;
  while (r.read(rec, 3)) {
  }
  EXPECT_EQ(r.open_connections(), 0u);
  return rec;
}

// `n` connections one after the other from client ports 5000.., each CR, CC, FIN both ways and
// the client's last ACK.
pcap_builder sequential_connections(int n) {
  pcap_builder p(lt_ethernet);
  for (int i = 0; i < n; ++i) {
    flow f;
    f.cport = static_cast<std::uint16_t>(5000 + i);
    f.handshake(p);
    p.frame(f.client(0, cotp_cr)).frame(f.server(0, cotp_cc));
    p.frame(f.client(22, {}, fin | ack)).frame(f.server(22, {}, fin | ack));
    p.frame(f.client(23, {}, ack));
  }
  return p;
}

}  // namespace

TEST(capture_stream, events_carry_what_load_collects) {
  const pcap_builder p = sequential_connections(3);
  const cap::capture_file loaded = load_ok(p);
  for (bool retire : {false, true}) {
    const recorder rec = stream_all(p, retire);
    ASSERT_EQ(rec.conns.size(), loaded.connections.size());
    for (std::size_t i = 0; i < loaded.connections.size(); ++i) {
      const cap::connection& c = loaded.connections[i];
      const recorder::conn& k = rec.conns.at(i);
      EXPECT_TRUE(k.closed);
      EXPECT_EQ(k.data[0], as_u8(c.sides[0].data));
      EXPECT_EQ(k.data[1], as_u8(c.sides[1].data));
      EXPECT_EQ(k.notes, c.notes);
      EXPECT_EQ(k.meta.first_frame, c.first_frame);
    }
  }
}

TEST(capture_stream, closed_connections_are_retired_so_memory_follows_the_open_ones) {
  const pcap_builder p = sequential_connections(50);
  const recorder kept = stream_all(p, false);
  EXPECT_EQ(kept.max_open, 50u);
  const recorder retired = stream_all(p, true);
  EXPECT_EQ(retired.max_open, 1u);
  ASSERT_EQ(retired.conns.size(), 50u);
  // Retired at the server's FIN (frame 7 of each): the client's last ACK opens nothing new.
  EXPECT_EQ(retired.conns.at(0).meta.last_frame, 7u);
  EXPECT_TRUE(retired.warnings.empty()) << joined(retired.warnings);
}

TEST(capture_stream, a_new_syn_on_a_retired_four_tuple_is_a_new_connection) {
  pcap_builder p(lt_ethernet);
  flow f;
  for (int round = 0; round < 2; ++round) {
    f.handshake(p);
    p.frame(f.client(0, cotp_cr));
    p.frame(f.client(22, {}, fin | ack)).frame(f.server(0, {}, fin | ack));
    p.frame(f.client(23, {}, ack));
    f.cisn += 100000;
  }
  const recorder rec = stream_all(p, true);
  ASSERT_EQ(rec.conns.size(), 2u);
  EXPECT_EQ(rec.conns.at(1).data[0], cotp_cr);
  EXPECT_TRUE(rec.conns.at(1).meta.start_seen);
}

TEST(capture_stream, emit_plays_a_loaded_capture_back_in_frame_order) {
  const pcap_builder p = sequential_connections(2);
  const cap::capture_file loaded = load_ok(p);
  recorder rec;
  cap::emit(loaded, rec);
  ASSERT_EQ(rec.conns.size(), 2u);
  EXPECT_EQ(rec.conns.at(1).data[0], as_u8(loaded.connections[1].sides[0].data));
  EXPECT_EQ(rec.max_open, 1u);
}

// ---------------------------------------------------------------------------------------------
// Property: any segmentation, order and duplication of a stream reassembles to the stream.

TEST(capture_property, random_segmentation_reordering_and_duplicates) {
  std::mt19937 rng(20240517);
  for (int round = 0; round < 200; ++round) {
    flow f;
    f.cisn = static_cast<std::uint32_t>(rng());  // anywhere, including near the wrap
    const std::size_t size = 1 + rng() % 3000;
    const bytes stream = pattern(size, static_cast<unsigned>(round));
    // Cut the stream at random points.
    std::vector<std::pair<std::size_t, std::size_t>> pieces;
    for (std::size_t at = 0; at < size;) {
      const std::size_t len = std::min<std::size_t>(size - at, 1 + rng() % 400);
      pieces.emplace_back(at, len);
      at += len;
    }
    // Duplicates, and overlapping retransmissions that cover two pieces.
    const std::size_t originals = pieces.size();
    for (std::size_t i = 0; i + 1 < originals; ++i) {
      if (rng() % 4 == 0) pieces.push_back(pieces[i]);
      if (rng() % 5 == 0) {
        pieces.emplace_back(pieces[i].first, pieces[i].second + pieces[i + 1].second);
      }
    }
    std::shuffle(pieces.begin(), pieces.end(), rng);
    pcap_builder p(lt_ethernet);
    f.handshake(p);
    for (const auto& [at, len] : pieces) {
      p.frame(f.client(static_cast<std::uint32_t>(at),
                       bytes(stream.begin() + static_cast<std::ptrdiff_t>(at),
                             stream.begin() + static_cast<std::ptrdiff_t>(at + len))));
    }
    const cap::capture_file file = load_ok(p);
    ASSERT_EQ(file.connections.size(), 1u);
    const cap::connection& c = file.connections[0];
    ASSERT_EQ(as_u8(c.sides[0].data), stream) << "round " << round;
    EXPECT_EQ(c.sides[0].bytes_lost, 0u);
    expect_chunks_consistent(c);
  }
}

// ---------------------------------------------------------------------------------------------
// The Wireshark sample captures (never copied into the repository).

std::filesystem::path sample_dir() {
  if (const char* env = std::getenv("PROTOS7_PCAP_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef PROTOS7_DEFAULT_PCAP_DIR
  return PROTOS7_DEFAULT_PCAP_DIR;
#else
  return "../shared/pcaps/wireshark";  // the captures beside the checkout, run from its root
#endif
}

// Per connection with payload: ports and TCP payload bytes per direction, as reported by
//   tshark -r FILE -Y tcp -T fields -e tcp.stream -e tcp.srcport -e tcp.dstport -e tcp.len
// summed per stream and direction, and the number of frames with tcp.len > 0. None of the six
// captures contains a data retransmission, so the reassembled streams must have exactly these
// sizes. Other connections in them are SYN-only attempts from the PLC (192.168.1.40) to port
// 102 of the PC, without payload.
struct sample_connection {
  std::uint16_t client_port;
  std::uint64_t client_bytes, server_bytes;
  std::size_t client_frames, server_frames;
};
struct sample {
  const char* file;
  std::uint64_t frames;
  std::size_t connections;  // including the payload-less SYN-only ones
  std::vector<sample_connection> with_payload;
};

const std::vector<sample>& samples() {
  static const std::vector<sample> all = {
      {"s7comm_downloading_block_db1.pcap",
       93,
       4,
       {{4185, 1209, 1088, 37, 19}, {4186, 168, 228, 9, 5}, {4187, 94, 130, 5, 3}}},
      {"s7comm_program_blocklist_onlineview.pcap",
       140,
       6,
       {{4205, 334, 668, 17, 9},
        {4206, 138, 163, 7, 4},
        {4207, 168, 228, 9, 5},
        {4208, 138, 163, 7, 4},
        {4209, 664, 1373, 35, 18}}},
      {"s7comm_reading_plc_status.pcap", 240, 3, {{4305, 2902, 5278, 145, 73}}},
      {"s7comm_reading_setting_plc_time.pcap", 55, 2, {{4173, 520, 901, 27, 14}}},
      {"s7comm_varservice_libnodavedemo.pcap", 31, 2, {{4258, 296, 308, 9, 9}}},
      {"s7comm_varservice_libnodavedemo_bench.pcap",
       10171,
       3,
       {{4272, 423872, 429878, 5004, 5004}}},
  };
  return all;
}

// Walks RFC 1006 TPKT headers (version 3, reserved 0, 16-bit length) through a stream and
// returns true when they tile it exactly: a strong sign that no byte was lost or duplicated.
bool tpkt_tiles(const std::vector<std::byte>& data) {
  std::size_t at = 0;
  while (at + 4 <= data.size()) {
    if (std::to_integer<int>(data[at]) != 3 || std::to_integer<int>(data[at + 1]) != 0) {
      return false;
    }
    const std::size_t len = std::size_t{std::to_integer<std::uint8_t>(data[at + 2])} << 8 |
                            std::to_integer<std::uint8_t>(data[at + 3]);
    if (len < 7) return false;
    at += len;
  }
  return at == data.size();
}

TEST(capture_samples, wireshark_s7comm_captures_match_tshark) {
  const std::filesystem::path dir = sample_dir();
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " not present";
  for (const sample& s : samples()) {
    SCOPED_TRACE(s.file);
    cap::capture_file file;
    cap::load_error err;
    ASSERT_TRUE(cap::load((dir / s.file).string(), file, err)) << err.message;
    EXPECT_EQ(file.link_type, 1);
    EXPECT_EQ(file.frames, s.frames);
    EXPECT_EQ(file.skipped_frames, 0u);
    EXPECT_TRUE(file.warnings.empty()) << joined(file.warnings);
    EXPECT_EQ(file.connections.size(), s.connections);
    std::vector<const cap::connection*> with_payload;
    for (const cap::connection& c : file.connections) {
      EXPECT_TRUE(cap::involves_port(c, 102));
      EXPECT_TRUE(c.start_seen);
      if (!c.sides[0].data.empty() || !c.sides[1].data.empty()) with_payload.push_back(&c);
    }
    ASSERT_EQ(with_payload.size(), s.with_payload.size());
    for (std::size_t i = 0; i < with_payload.size(); ++i) {
      const cap::connection& c = *with_payload[i];
      const sample_connection& want = s.with_payload[i];
      SCOPED_TRACE(want.client_port);
      EXPECT_EQ(c.client.address, "192.168.1.10");
      EXPECT_EQ(c.client.port, want.client_port);
      EXPECT_EQ(c.server.address, "192.168.1.40");
      EXPECT_EQ(c.server.port, 102);
      EXPECT_EQ(c.sides[0].data.size(), want.client_bytes);
      EXPECT_EQ(c.sides[1].data.size(), want.server_bytes);
      EXPECT_EQ(c.sides[0].bytes_lost, 0u);
      EXPECT_EQ(c.sides[1].bytes_lost, 0u);
      const auto frames_of = [&](int side) {
        return static_cast<std::size_t>(
            std::count_if(c.chunks.begin(), c.chunks.end(),
                          [&](const cap::chunk& ch) { return ch.side == side; }));
      };
      EXPECT_EQ(frames_of(0), want.client_frames);
      EXPECT_EQ(frames_of(1), want.server_frames);
      EXPECT_TRUE(tpkt_tiles(c.sides[0].data));
      EXPECT_TRUE(tpkt_tiles(c.sides[1].data));
      expect_chunks_consistent(c);
    }
  }
}

TEST(capture_samples, reading_plc_status_starts_with_cotp_connection_request) {
  const std::filesystem::path dir = sample_dir();
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " not present";
  cap::capture_file file;
  cap::load_error err;
  ASSERT_TRUE(cap::load((dir / "s7comm_reading_plc_status.pcap").string(), file, err))
      << err.message;
  std::vector<const cap::connection*> s7;
  for (const cap::connection& c : file.connections) {
    if (cap::involves_port(c, 102) && !c.sides[0].data.empty()) s7.push_back(&c);
  }
  ASSERT_EQ(s7.size(), 1u);
  const cap::connection& c = *s7[0];
  // tshark: frame 8 is the COTP CR from 192.168.1.10:4305, frame 9 the CC.
  const bytes client = as_u8(c.sides[0].data);
  ASSERT_GE(client.size(), 22u);
  EXPECT_EQ(bytes(client.begin(), client.begin() + 4), (bytes{0x03, 0x00, 0x00, 0x16}));
  EXPECT_EQ(bytes(client.begin(), client.begin() + 22), cotp_cr);
  const bytes server = as_u8(c.sides[1].data);
  ASSERT_GE(server.size(), 22u);
  EXPECT_EQ(bytes(server.begin(), server.begin() + 22), cotp_cc);
  ASSERT_GE(c.chunks.size(), 2u);
  EXPECT_EQ(c.chunks[0].frame, 8u);
  EXPECT_EQ(c.chunks[0].side, 0);
  EXPECT_EQ(c.chunks[1].frame, 9u);
  EXPECT_EQ(c.chunks[1].side, 1);
  // tshark -e frame.time_epoch: 1408529128.770911000
  EXPECT_NEAR(c.chunks[0].time, 1408529128.770911, 1e-6);
  EXPECT_EQ(c.first_frame, 5u);  // the SYN
}

}  // namespace
