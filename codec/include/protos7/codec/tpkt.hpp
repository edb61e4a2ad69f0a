// TPKT framing, RFC 1006 §6.
//
//   +---------+----------+----------------+------------------+
//   | version | reserved | length (u16be) | TPDU ...          |
//   |    3    |    0     | incl. header   | length - 4 bytes  |
//   +---------+----------+----------------+------------------+
#pragma once

#include <cstddef>
#include <cstdint>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::tpkt {

inline constexpr std::size_t header_size = 4;
inline constexpr std::uint8_t version = 3;
// RFC 1006 §6: the smallest TPDU is 3 octets, so no packet is shorter than 7.
inline constexpr std::size_t min_length = 7;
inline constexpr std::size_t max_length = 65535;

struct frame {
  std::uint8_t version = 0;
  std::uint8_t reserved = 0;
  std::uint16_t length = 0;
  bytes payload;  // the TPDU: length - 4 bytes, a view into the input
};

struct options {
  // Risk: a peer that sets the reserved byte may be using a different framing; RFC 1006 says
  // "reserved, 0". Wireshark ignores it. Off by default.
  bool allow_reserved_nonzero = false;
};

// Decodes exactly one frame that fills `in`.
// Errors: truncated (fewer than 4 bytes), tpkt_bad_version, tpkt_reserved_nonzero,
// tpkt_length_too_small, tpkt_length_mismatch (length field != in.size()).
[[nodiscard]] result<frame> parse(bytes in, const options& opt = {}) noexcept;

// Stream framing: how many bytes of `stream` (which starts at a frame boundary) form the first
// frame. need_more is not an error: it means "wait for more bytes". Only the header is checked
// here, so a framer can reject garbage before the whole claimed length arrives.
enum class frame_status : std::uint8_t { complete, need_more, invalid };
struct measure_result {
  frame_status status = frame_status::need_more;
  std::size_t frame_size =
      0;        // valid when complete; with need_more, the size known so far (0 if unknown)
  error err{};  // valid when invalid
};
// Errors (status invalid): tpkt_bad_version, tpkt_reserved_nonzero, tpkt_length_too_small.
[[nodiscard]] measure_result measure(bytes stream, const options& opt = {}) noexcept;

// An incremental framer over a caller-owned buffer: feed it arbitrary TCP reads, take whole
// frames out. It copies nothing it does not have to: a frame wholly inside one read is returned
// as a view of that read; only a frame split across reads is assembled in the buffer.
class framer {
 public:
  // `storage` must hold at least one largest frame the caller accepts (<= 65535 bytes).
  explicit framer(std::span<std::byte> storage, options opt = {}) noexcept
      : buf_(storage), opt_(opt) {}

  // A frame larger than the storage is reported invalid (tpkt_frame_too_large), never cut, even
  // when it arrives whole in one read (the limit must not depend on how TCP split the stream).
  struct next_result {
    frame_status status = frame_status::need_more;
    bytes frame;  // complete frame (header included), valid until the next next() call
    error err{};
  };
  // Consumes bytes from `in` (advancing it) and returns the next whole frame if one is ready.
  [[nodiscard]] next_result next(bytes& in) noexcept;
  [[nodiscard]] std::size_t buffered() const noexcept { return used_; }
  void reset() noexcept { used_ = 0; }

 private:
  std::span<std::byte> buf_;
  std::size_t used_ = 0;
  options opt_;
};

struct frame_fields {
  std::uint8_t reserved = 0;
};

// Writes the 4-byte TPKT header for a payload of `payload_size` bytes followed by the payload.
// Errors: value_out_of_range (payload too large for the 16-bit length), buffer_too_small.
[[nodiscard]] result<std::size_t> encode(bytes payload, mutable_bytes out) noexcept;
// Writes only the header (the caller writes the payload after it).
void write_header(writer& w, std::size_t payload_size) noexcept;

}  // namespace protos7::codec::tpkt
