// One direction of an ISO-on-TCP connection read incrementally: TPKT framing (RFC 1006),
// COTP decoding (ISO 8073 class 0) and DT reassembly into S7 PDUs, with stream offsets. The
// one transport reader of protos7: the server's sessions, the validator, the web admin's
// traffic view, the capture streams of dump/learn and the replay runner all read through it.
//
// Feed it arbitrary reads; it returns one event per TPDU (every DT segment included, so a
// consumer can check each frame), with the S7 PDU when a DT completes one. It copies nothing it
// does not have to: a frame wholly inside one read is a view of that read, a single-segment PDU
// a view of its frame; only split frames and multi-segment PDUs are assembled in the caller's
// storage. Nothing allocates or throws.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::transport {

struct options {
  tpkt::options tpkt;
  cotp::options cotp;
  // Leniency for capture analysis (dump, learn, replay): after bytes that are not a TPKT
  // header, or after a gap in a capture, skip to the next offset whose bytes pass the TPKT
  // header check and go on, counting the bytes skipped. Risk: bytes that happen to look like a
  // header are framed (their TPDU is then usually rejected by COTP). A server keeps it off and
  // closes the connection at the first framing error.
  bool resync = false;
};

enum class status : std::uint8_t {
  need_more,  // all input consumed, no event yet
  tpdu,       // a whole TPKT frame with its COTP TPDU
  error,      // a framing, COTP or reassembly error (see event::err)
};

struct event {
  status st = status::need_more;
  bytes frame;                 // tpdu / COTP error: the whole TPKT frame (valid until next())
  cotp::tpdu tpdu;             // tpdu: the decoded TPDU
  bool completes_pdu = false;  // tpdu: a DT with EOT set
  bytes pdu;                   // with completes_pdu: the S7 PDU (empty for an empty EOT DT)
  std::size_t segments = 0;    // with completes_pdu: DT segments of the PDU (1 = unsegmented)
  std::uint64_t offset = 0;    // stream offset of the frame's first byte
  std::uint64_t skipped = 0;   // resync: bytes skipped just before this frame or error
  // error: {code, layer, offset in the frame}; tpkt_* (framing: without resync the stream is
  // broken from here on), cotp_* (the frame is dropped, framing goes on),
  // cotp_reassembly_overflow (the PDU being reassembled is dropped).
  error err{};
};

class stream_reader {
 public:
  // `frame_storage`: at least the largest frame accepted (2048 + 4 for class 0; a larger frame
  // is tpkt_frame_too_large); `pdu_storage`: the largest S7 PDU reassembled.
  stream_reader(std::span<std::byte> frame_storage, std::span<std::byte> pdu_storage,
                const options& opt = {}) noexcept;

  // Consumes bytes of `in` (advancing it) up to and including the next event.
  [[nodiscard]] event next(bytes& in) noexcept;

  // The stream lost `n` bytes here (a capture gap): a partial frame and a partial PDU are
  // dropped; with resync framing restarts at the next header, without it the stream is broken.
  void gap(std::uint64_t n) noexcept;
  // Reassembled PDUs may not exceed `n` bytes (the negotiated PDU size; at most the storage).
  void limit_pdu(std::size_t n) noexcept;
  // Forgets everything buffered and starts over at a frame boundary.
  void reset() noexcept;

  [[nodiscard]] std::uint64_t offset() const noexcept { return consumed_; }
  [[nodiscard]] std::size_t partial_frame() const noexcept { return framer_.buffered(); }
  [[nodiscard]] std::size_t partial_pdu() const noexcept { return reassembler_.buffered(); }
  [[nodiscard]] bool broken() const noexcept { return broken_; }

 private:
  void skip_to_header(bytes& in) noexcept;
  void after_bad_header(bytes& in, bool header_in_input) noexcept;
  [[nodiscard]] event on_frame(bytes frame) noexcept;

  std::span<std::byte> frame_storage_;
  std::span<std::byte> pdu_storage_;
  tpkt::framer framer_;
  cotp::reassembler reassembler_;
  options opt_;
  std::uint64_t consumed_ = 0;     // bytes taken from the input (and lost in gaps)
  std::uint64_t frame_start_ = 0;  // stream offset of the frame being assembled
  std::uint64_t skipped_ = 0;      // bytes skipped since the last event
  std::array<std::byte, tpkt::header_size - 1> carry_{};  // a failed header's bytes, rescanned
  std::size_t carry_len_ = 0;
  std::size_t buffered_header_ = 0;  // header bytes the framer holds
  bool resyncing_ = false;
  bool broken_ = false;
};

// --- Writers: the inverse of stream_reader ---------------------------------------------------
//
// One TPDU in a TPKT frame:   | 03 | 00 | length (u16) | TPDU |
void write_tpdu(writer& w, bytes tpdu) noexcept;

// An S7 PDU as class-0 DT segments, each in its own TPKT frame, carrying at most
// `segment_payload` bytes of the PDU; EOT is set on the last one only:
//
//   | 03 00 len | 02 F0 00 | pdu[0 .. n) |   (EOT = 0)
//   | 03 00 len | 02 F0 00 | pdu[n .. 2n) |  ...
//   | 03 00 len | 02 F0 80 | the rest |      (EOT = 1)
//
// A PDU that fits one segment is one frame; an empty PDU is one empty DT with EOT. The reader
// gives the PDU back whole (`completes_pdu`, `segments` = the frames written).
// value_out_of_range (at finish()) when `segment_payload` is 0 or a frame would exceed the TPKT
// length field. Run over an empty span it is its own size function.
void write_dt_segments(writer& w, bytes pdu, std::size_t segment_payload) noexcept;
// The number of DT frames write_dt_segments writes for a PDU of `pdu_size` bytes.
[[nodiscard]] constexpr std::size_t dt_segment_count(std::size_t pdu_size,
                                                     std::size_t segment_payload) noexcept {
  if (segment_payload == 0) return 0;
  return pdu_size == 0 ? 1 : (pdu_size + segment_payload - 1) / segment_payload;
}

}  // namespace protos7::codec::transport
