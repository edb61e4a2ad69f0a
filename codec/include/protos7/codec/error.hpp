// Error values of the protos7 codec.
//
// Every decode or encode failure carries {code, layer, offset}: what went wrong, in which
// protocol layer, and at which byte offset of the buffer handed to the top-level call.
// Numbers are stable (they appear in logs, JSON output and fuzz regression names): never
// renumber, only append.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace protos7::codec {

enum class layer : std::uint8_t {
  none = 0,
  tpkt = 1,
  cotp = 2,
  s7_header = 3,
  s7_param = 4,     // Job / Ack_Data parameter block (function specific)
  s7_item = 5,      // variable specifications inside a Read/Write Var parameter
  s7_data = 6,      // data items (Read Var response, Write Var request/response)
  userdata = 7,     // Userdata parameter head and data unit
  szl = 8,          // SZL payloads inside Userdata
  encode = 9,       // encoder-side failures
  mc7 = 10,         // MC7 block files (block upload / download payloads)
  s7_value = 11,    // S7 data type layouts (STRING, DATE_AND_TIME) in item data and DB memory
  step7_text = 12,  // STEP 7 operand notation ("DB1.DBW0"), step7_address.hpp; offsets count chars
};

enum class errc : std::uint16_t {
  ok = 0,

  // Generic (any layer).
  truncated = 1,           // a field extends past the end of its enclosing block
  trailing_bytes = 2,      // bytes left over after a block that must be consumed exactly
  buffer_too_small = 3,    // encoder: output buffer too small (size needed is reported)
  value_out_of_range = 4,  // encoder: a field value does not fit its wire width

  // TPKT (RFC 1006).
  tpkt_bad_version = 100,       // version byte is not 3
  tpkt_reserved_nonzero = 101,  // reserved byte is not 0
  tpkt_length_too_small = 102,  // length < 7 (4-byte header + smallest TPDU, RFC 1006 §6)
  tpkt_length_mismatch = 103,   // length field differs from the bytes given as one frame
  tpkt_frame_too_large = 104,   // length larger than the receiver's frame buffer

  // COTP (ISO 8073 / X.224).
  cotp_li_zero = 200,                // LI 0 is invalid (ISO 8073 §13.2.1)
  cotp_li_past_end = 201,            // LI points past the end of the TPKT payload
  cotp_unknown_tpdu = 202,           // TPDU code not defined by ISO 8073
  cotp_tpdu_not_class0 = 203,        // TPDU (ED, EA, RJ, AK) that class 0 never sends
  cotp_bad_class = 204,              // CR/CC class nibble > 4
  cotp_bad_li_for_tpdu = 205,        // LI wrong for the TPDU type (DT must be 2, DC 5, ...)
  cotp_param_truncated = 206,        // parameter length runs past the header
  cotp_param_bad_length = 207,       // a known parameter with a length its definition forbids
  cotp_param_duplicate = 208,        // the same parameter given twice
  cotp_bad_tpdu_size = 209,          // TPDU size code outside 7..13
  cotp_bad_dr_reason = 210,          // DR reason not in ISO 8073 table
  cotp_bad_er_cause = 211,           // ER reject cause not 0..3
  cotp_user_data_not_allowed = 212,  // CR/CC/DR/DC/ER with bytes after the header (class 0)
  cotp_reassembly_overflow = 213,    // DT segments exceed the reassembly buffer
  cotp_bad_dst_ref = 214,            // CR with a destination reference other than 0

  // S7 header.
  s7_bad_protocol_id = 300,     // first byte is not 0x32
  s7_bad_rosctr = 301,          // ROSCTR not 1, 2, 3 or 7
  s7_length_mismatch = 302,     // header + param length + data length != PDU length
  s7_redundancy_nonzero = 303,  // redundancy identification is not 0x0000
  s7_ack_has_payload = 304,     // ROSCTR 2 (Ack) carrying parameter or data bytes
  s7_missing_param = 305,       // Job/Ack_Data/Userdata without a parameter block

  // Job / Ack_Data parameters.
  param_unknown_function = 400,     // function code not known for this ROSCTR
  param_bad_length = 401,           // parameter length wrong for the function
  param_item_count_zero = 402,      // Read/Write Var with item count 0
  param_item_count_mismatch = 403,  // items present differ from the item count
  param_reserved_nonzero = 404,     // a reserved byte that must be 0 is not
  param_bad_filename = 405,         // block file name malformed (length, type, digits)
  param_bad_pi_service = 406,       // PI-Service structure inconsistent
  param_data_not_allowed = 407,     // function that carries no data has a data block
  param_data_missing = 408,         // function that needs data has none

  // Variable specifications (items of a Read/Write Var parameter).
  item_bad_spec_type = 500,       // variable specification type is not 0x12
  item_bad_length = 501,          // length of rest wrong for the syntax id
  item_unknown_syntax = 502,      // syntax id not known (strict mode)
  item_bad_transport_size = 503,  // S7ANY transport size not defined
  item_bad_area = 504,            // S7ANY area not defined
  item_bad_bit_address = 505,     // bit number set for a transport size other than BIT
  item_zero_length = 506,         // S7ANY count of 0
  item_dbread_bad_count = 507,    // DBREAD area count inconsistent with length

  // Data items.
  data_item_truncated = 600,       // item header or data runs past the data block
  data_fill_missing = 601,         // no fill byte after an odd-length item that is not last
  data_fill_nonzero = 602,         // fill byte present but not 0x00
  data_bad_transport_size = 603,   // data transport size not defined
  data_error_item_has_data = 604,  // an item with an error return code carries data
  data_bad_return_code = 605,      // return code not defined
  data_count_mismatch = 606,       // Write Var response: data bytes != item count

  // Userdata.
  userdata_bad_head = 700,              // parameter head is not 00 01 12
  userdata_bad_length = 701,            // parameter length / length-of-rest inconsistent
  userdata_bad_method = 702,            // method (syntax) not 0x11/0x12
  userdata_bad_type = 703,              // type nibble not push/request/response
  userdata_data_too_short = 704,        // data unit shorter than its 4-byte header
  userdata_data_length_mismatch = 705,  // data unit length field != bytes present
  userdata_bad_payload = 706,           // group/subfunction payload malformed
  userdata_bad_timestamp = 707,         // BCD clock value with a non-BCD digit or out of range
  userdata_tis_bad_size = 708,          // programmer command: parameter / data sizes != the payload
  userdata_bad_item_count = 709,        // an item count the items of a payload do not fill exactly

  // SZL.
  szl_bad_length = 800,         // partial list length * count exceeds the data
  szl_bad_request = 801,        // SZL request data not 4 bytes
  szl_bad_record_length = 802,  // an SZL record not the length of its layout (szl.hpp)

  // MC7 block files.
  mc7_bad_magic = 900,             // the file does not start with "pp" (70 70)
  mc7_load_length_mismatch = 901,  // header's load memory length != the file's size
  mc7_parts_mismatch = 902,        // header + code + SBB + ADD + footer != the file's size

  // S7 data type layouts (s7_value.hpp).
  value_bad_date_and_time = 1000,      // DATE_AND_TIME: a non-BCD digit or a field out of range
  value_string_bad_max_length = 1001,  // STRING max length != the bytes after its header
  value_string_too_long = 1002,        // STRING actual length > its max length

  // STEP 7 operand notation (step7_address.hpp).
  address_syntax = 1100,        // not an operand: unknown area, missing number, extra characters
  address_out_of_range = 1101,  // DB number, byte, bit, count or counter/timer number too large
  address_bad_type = 1102,      // unknown data type, or one the operand cannot have
};

// The name used in messages and JSON ("tpkt_length_too_small").
[[nodiscard]] std::string_view to_string(errc code) noexcept;
[[nodiscard]] std::string_view to_string(layer where) noexcept;

struct error {
  errc code = errc::ok;
  layer where = layer::none;
  std::uint32_t offset = 0;  // byte offset within the buffer of the top-level call
  std::uint32_t needed = 0;  // encoder: bytes the output needs (buffer_too_small only)

  [[nodiscard]] constexpr explicit operator bool() const noexcept { return code != errc::ok; }
  friend constexpr bool operator==(const error&, const error&) = default;
};

// A value or an error. T must be cheap and default constructible (views, small structs).
template <class T>
class result {
 public:
  constexpr result(const T& value) noexcept : value_(value) {}  // NOLINT: implicit by design
  constexpr result(error err) noexcept : err_(err) {}           // NOLINT: implicit by design

  [[nodiscard]] constexpr bool ok() const noexcept { return !err_; }
  [[nodiscard]] constexpr explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] constexpr const T& value() const noexcept { return value_; }
  [[nodiscard]] constexpr const T& operator*() const noexcept { return value_; }
  [[nodiscard]] constexpr const T* operator->() const noexcept { return &value_; }
  [[nodiscard]] constexpr const error& err() const noexcept { return err_; }

 private:
  T value_{};
  error err_{};
};

}  // namespace protos7::codec
