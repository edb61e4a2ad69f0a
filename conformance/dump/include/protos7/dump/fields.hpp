// Field lists named as Wireshark names them: what `protos7 dump` prints for each PDU.
//
// A PDU is described as an ordered list of (field name, value) pairs, in the order Wireshark's
// tree shows them. The same name may occur several times (one per item); the JSON form turns
// those into arrays. Integers stay integers; byte strings are lowercase hex without separators.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/error.hpp"

namespace protos7::dump {

struct field {
  std::string name;
  std::variant<std::int64_t, std::string> value;
  // A reading aid of the text output (the STEP 7 notation of an item's address), not a
  // Wireshark field: the JSON output, which equals tshark's, leaves it out.
  bool text_only = false;
};

class field_list {
 public:
  void num(std::string_view name, std::int64_t v) { fields_.push_back({std::string(name), v}); }
  void str(std::string_view name, std::string_view v) {
    fields_.push_back({std::string(name), std::string(v)});
  }
  void hex(std::string_view name, std::span<const std::byte> b);
  void note(std::string_view name, std::string_view v) {
    fields_.push_back({std::string(name), std::string(v), true});
  }
  [[nodiscard]] const std::vector<field>& fields() const { return fields_; }
  [[nodiscard]] bool empty() const { return fields_.empty(); }

 private:
  std::vector<field> fields_;
};

// Describes one TPKT frame (header and COTP) into `out`.
void describe_tpkt_cotp(std::span<const std::byte> frame, const codec::cotp::tpdu* cotp,
                        field_list& out);

// Where a Userdata PDU stands in an answer split over several data units. Wireshark
// reassembles the units of a data unit reference and decodes the payload with the last unit,
// so the dump does too.
struct fragment_info {
  bool more_follows = false;             // not the last unit: its payload is not decoded
  bool first_of_many = false;            // the first of several units
  bool last_of_many = false;             // completes an answer
  std::vector<std::byte> whole_payload;  // with last_of_many: all units' payloads, in order
};

// Describes one S7 PDU. Returns the codec error if it does not decode (the fields decoded before
// the error are still in `out`).
// `origin`: where error offsets are measured from (the TPKT frame when the PDU lies in it).
codec::error describe_s7(std::span<const std::byte> pdu, const fragment_info& frag, field_list& out,
                         const std::byte* origin = nullptr);

// Tracks the Userdata answers of one connection that are split over several data units.
class fragment_tracker {
 public:
  [[nodiscard]] fragment_info classify(std::span<const std::byte> pdu);

 private:
  struct open_answer {
    bool open = false;
    std::vector<std::byte> payload;  // units received so far
  };
  open_answer open_[16][256];  // [function group][data unit reference]
};

// One-line summary in the manner of Wireshark's info column ("Job Read Var items=2 ...").
std::string summarize_s7(std::span<const std::byte> pdu);

}  // namespace protos7::dump
