// COTP: ISO 8073 / ITU-T X.224 connection-oriented transport, class 0 as carried by TPKT.
//
// Every TPDU starts with a length indicator (LI, the header length without the LI byte) and a
// code byte whose high nibble is the TPDU type:
//
//   CR/CC  | LI | E0/D0 | dst-ref(2) | src-ref(2) | class/opt | parameters ...
//   DR     | LI | 80    | dst-ref(2) | src-ref(2) | reason    | parameters ...
//   DC     | LI | C0    | dst-ref(2) | src-ref(2) | parameters ...
//   DT     | 02 | F0    | EOT(bit 7) + TPDU-NR(7 bits) | user data ...
//   ER     | LI | 70    | dst-ref(2) | reject cause | parameters ...
//
// Parameters are (code, length, value) triples that fill the header up to LI.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protos7/codec/error.hpp"
#include "protos7/codec/reader.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::codec::cotp {

enum class tpdu_type : std::uint8_t {
  ed = 0x1,  // expedited data (class >= 1)
  ea = 0x2,  // expedited data acknowledgement (class >= 1)
  rj = 0x5,  // reject (class >= 1)
  ak = 0x6,  // data acknowledgement (class >= 2)
  er = 0x7,  // TPDU error
  dr = 0x8,  // disconnect request
  dc = 0xC,  // disconnect confirm
  cc = 0xD,  // connect confirm
  cr = 0xE,  // connect request
  dt = 0xF,  // data
};

// Parameter codes of the variable part (ISO 8073 §13.3.4 and the values Wireshark names).
enum class param_code : std::uint8_t {
  tpdu_size = 0xC0,
  calling_tsap = 0xC1,  // "src-tsap" in Wireshark
  called_tsap = 0xC2,   // "dst-tsap" in Wireshark
  checksum = 0xC3,
  version = 0xC4,
  protection = 0xC5,
  additional_options = 0xC6,
  alternative_classes = 0xC7,
  additional_info = 0xE0,  // DR: additional connection clearing information
  preferred_max_tpdu_size = 0xF0,
  inactivity_timer = 0xF2,
  invalid_tpdu = 0xC1,  // ER: the rejected header (same code as calling TSAP, other TPDU)
};

// ISO 8073 §13.3.4 b: TPDU size code = log2(size); 7 (128) .. 13 (8192); class 0 stops at 11.
inline constexpr std::uint8_t min_tpdu_size_code = 7;
inline constexpr std::uint8_t max_tpdu_size_code = 13;
inline constexpr std::uint8_t max_tpdu_size_code_class0 = 11;
// TSAPs are at most 32 octets (X.224 §13.3.4 a); S7 uses 2.
inline constexpr std::size_t max_tsap_length = 32;
inline constexpr std::uint8_t dt_li = 2;          // class 0/1 DT header (ISO 8073 §13.7)
inline constexpr std::size_t dt_header_size = 3;  // LI, type, TPDU-NR/EOT
inline constexpr std::uint8_t eot_bit = 0x80;

[[nodiscard]] constexpr std::size_t tpdu_size_bytes(std::uint8_t code) noexcept {
  return (code >= min_tpdu_size_code && code <= max_tpdu_size_code) ? (std::size_t{1} << code) : 0;
}

struct parameter {
  std::uint8_t code = 0;
  bytes value;
  std::uint32_t offset = 0;  // offset of the code byte, measured from the iterator's origin
};

// Walks a variable part that parse() has already validated. Offsets are measured from `origin`
// (the buffer of the top-level call, as in errors); by default from the variable part itself.
class param_iterator {
 public:
  param_iterator() = default;
  explicit param_iterator(bytes variable_part, const std::byte* origin = nullptr) noexcept
      : rest_(variable_part), origin_(origin == nullptr ? variable_part.data() : origin) {}
  [[nodiscard]] bool next(parameter& p) noexcept;

 private:
  bytes rest_;
  const std::byte* origin_ = nullptr;
};

// The parameters S7 peers use, decoded from the variable part.
struct connection_params {
  std::uint8_t tpdu_size_code = 0;  // 0: absent
  bytes calling_tsap;               // empty: absent
  bytes called_tsap;
  std::uint32_t preferred_max_tpdu_size = 0;  // in octets (value * 128); 0: absent
  bool has_version = false;
  std::uint8_t version = 0;
  bool has_additional_options = false;
  std::uint8_t additional_options = 0;
  bool has_checksum = false;
  std::uint16_t checksum = 0;
};

struct tpdu {
  std::uint8_t li = 0;
  tpdu_type type = tpdu_type::dt;
  std::uint8_t cdt = 0;           // low nibble of the code byte (credit); 0 in class 0
  std::uint16_t dst_ref = 0;      // CR CC DR DC ER
  std::uint16_t src_ref = 0;      // CR CC DR DC
  std::uint8_t class_option = 0;  // CR CC: class in bits 7-4, options in bits 1-0
  std::uint8_t reason = 0;        // DR
  std::uint8_t reject_cause = 0;  // ER
  bool eot = false;               // DT
  std::uint8_t tpdu_nr = 0;       // DT
  bytes variable_part;            // parameters (validated; walk with param_iterator)
  connection_params params;       // known parameters, decoded
  bytes user_data;                // DT: the S7 bytes; other types: empty (strict)
  std::uint32_t user_data_offset = 0;

  [[nodiscard]] constexpr std::uint8_t tpdu_class() const noexcept { return class_option >> 4U; }
};

struct options {
  // Risk: DT headers with LI != 2 (PLC4X sends LI 5 with a TPDU-size parameter) are not class 0;
  // accepting them lets a peer smuggle parameters into data TPDUs. Off by default.
  bool allow_dt_parameters = false;
  // Risk: class 0 forbids user data on CR/CC/DR; accepting it hides bytes from the session.
  bool allow_connect_user_data = false;
  // Risk: TPDU types of classes 1-4 (ED, EA, RJ, AK) have no meaning on an S7 connection.
  // When set they are decoded as headers only; by default they are errors.
  bool allow_non_class0_tpdus = false;
};

// Decodes one TPDU that fills `in` (the TPKT payload). `origin` is the start of the buffer that
// error offsets are measured from (for example the TPKT frame); defaults to `in`.
// Errors: truncated, cotp_li_zero, cotp_li_past_end, cotp_unknown_tpdu, cotp_tpdu_not_class0,
// cotp_bad_class, cotp_bad_li_for_tpdu, cotp_bad_dst_ref, cotp_param_truncated,
// cotp_param_bad_length, cotp_param_duplicate, cotp_bad_tpdu_size, cotp_bad_dr_reason,
// cotp_bad_er_cause, cotp_user_data_not_allowed.
[[nodiscard]] result<tpdu> parse(bytes in, const std::byte* origin = nullptr,
                                 const options& opt = {}) noexcept;

[[nodiscard]] bool is_known_dr_reason(std::uint8_t reason) noexcept;

// TSAPs of S7: 2 bytes; high byte the connection type (1 PG, 2 OP, 3 S7 basic, ...), low byte
// rack * 32 + slot for the CPU side (the called TSAP of a client's CR).
enum class connection_type : std::uint8_t { pg = 0x01, op = 0x02, s7_basic = 0x03 };
struct s7_tsap {
  std::uint8_t connection_type = 0;
  std::uint8_t rack = 0;
  std::uint8_t slot = 0;
};
[[nodiscard]] constexpr bool decode_s7_tsap(bytes tsap, s7_tsap& out) noexcept {
  if (tsap.size() != 2) return false;
  const auto low = std::to_integer<std::uint8_t>(tsap[1]);
  out.connection_type = std::to_integer<std::uint8_t>(tsap[0]);
  out.rack = static_cast<std::uint8_t>(low >> 5U);
  out.slot = static_cast<std::uint8_t>(low & 0x1FU);
  return true;
}
[[nodiscard]] constexpr std::uint16_t make_s7_tsap(std::uint8_t type, std::uint8_t rack,
                                                   std::uint8_t slot) noexcept {
  return static_cast<std::uint16_t>((unsigned{type} << 8U) | ((rack & 0x07U) << 5U) |
                                    (slot & 0x1FU));
}

// --- Encoders -------------------------------------------------------------------------------
// Each writes one TPDU (no TPKT header) and returns its size; buffer_too_small reports the size
// needed. Parameters are written in the order given.

struct connect_fields {
  tpdu_type type = tpdu_type::cr;  // cr or cc
  std::uint16_t dst_ref = 0;
  std::uint16_t src_ref = 0;
  std::uint8_t class_option = 0;
  bytes variable_part;  // raw parameters, e.g. built with write_param
};
void write_connect(writer& w, const connect_fields& f) noexcept;
void write_param(writer& w, std::uint8_t code, bytes value) noexcept;
void write_param_u8(writer& w, std::uint8_t code, std::uint8_t value) noexcept;

struct disconnect_fields {
  tpdu_type type = tpdu_type::dr;  // dr or dc
  std::uint16_t dst_ref = 0;
  std::uint16_t src_ref = 0;
  std::uint8_t reason = 0;  // dr only
  bytes variable_part;
};
void write_disconnect(writer& w, const disconnect_fields& f) noexcept;

struct error_fields {
  std::uint16_t dst_ref = 0;
  std::uint8_t reject_cause = 0;
  bytes variable_part;  // typically C1 + the rejected header
};
void write_error(writer& w, const error_fields& f) noexcept;

// DT header (3 bytes); the caller writes the user data after it.
void write_dt_header(writer& w, bool eot, std::uint8_t tpdu_nr = 0) noexcept;

// Re-encodes a decoded TPDU: encode(parse(b)) == b for canonical b.
[[nodiscard]] result<std::size_t> encode(const tpdu& t, mutable_bytes out) noexcept;

// --- Reassembly of DT segments (EOT = 0 ... EOT = 1) into one S7 PDU ------------------------
class reassembler {
 public:
  explicit reassembler(std::span<std::byte> storage) noexcept : buf_(storage) {}
  enum class status : std::uint8_t { complete, need_more, overflow };
  struct feed_result {
    status st = status::need_more;
    bytes pdu;  // complete: the whole S7 PDU (a view of the DT or of the storage)
  };
  // Takes one DT. A lone DT with EOT set returns its own bytes, copying nothing.
  [[nodiscard]] feed_result feed(const tpdu& dt) noexcept;
  [[nodiscard]] std::size_t buffered() const noexcept { return used_; }
  [[nodiscard]] std::size_t segments() const noexcept { return segments_; }
  void reset() noexcept {
    used_ = 0;
    segments_ = 0;
  }

 private:
  std::span<std::byte> buf_;
  std::size_t used_ = 0;
  std::size_t segments_ = 0;
};

}  // namespace protos7::codec::cotp
