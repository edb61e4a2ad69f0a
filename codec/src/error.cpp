#include "protos7/codec/error.hpp"

namespace protos7::codec {

std::string_view to_string(layer where) noexcept {
  switch (where) {
    case layer::none:
      return "none";
    case layer::tpkt:
      return "tpkt";
    case layer::cotp:
      return "cotp";
    case layer::s7_header:
      return "s7_header";
    case layer::s7_param:
      return "s7_param";
    case layer::s7_item:
      return "s7_item";
    case layer::s7_data:
      return "s7_data";
    case layer::userdata:
      return "userdata";
    case layer::szl:
      return "szl";
    case layer::encode:
      return "encode";
    case layer::mc7:
      return "mc7";
    case layer::s7_value:
      return "s7_value";
    case layer::step7_text:
      return "step7_text";
  }
  return "unknown";
}

// One line per code: a table (clang-format would spread each case over two lines).
// clang-format off
std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::truncated: return "truncated";
    case errc::trailing_bytes: return "trailing_bytes";
    case errc::buffer_too_small: return "buffer_too_small";
    case errc::value_out_of_range: return "value_out_of_range";
    case errc::tpkt_bad_version: return "tpkt_bad_version";
    case errc::tpkt_reserved_nonzero: return "tpkt_reserved_nonzero";
    case errc::tpkt_length_too_small: return "tpkt_length_too_small";
    case errc::tpkt_length_mismatch: return "tpkt_length_mismatch";
    case errc::tpkt_frame_too_large: return "tpkt_frame_too_large";
    case errc::cotp_li_zero: return "cotp_li_zero";
    case errc::cotp_li_past_end: return "cotp_li_past_end";
    case errc::cotp_unknown_tpdu: return "cotp_unknown_tpdu";
    case errc::cotp_tpdu_not_class0: return "cotp_tpdu_not_class0";
    case errc::cotp_bad_class: return "cotp_bad_class";
    case errc::cotp_bad_li_for_tpdu: return "cotp_bad_li_for_tpdu";
    case errc::cotp_param_truncated: return "cotp_param_truncated";
    case errc::cotp_param_bad_length: return "cotp_param_bad_length";
    case errc::cotp_param_duplicate: return "cotp_param_duplicate";
    case errc::cotp_bad_tpdu_size: return "cotp_bad_tpdu_size";
    case errc::cotp_bad_dr_reason: return "cotp_bad_dr_reason";
    case errc::cotp_bad_er_cause: return "cotp_bad_er_cause";
    case errc::cotp_user_data_not_allowed: return "cotp_user_data_not_allowed";
    case errc::cotp_reassembly_overflow: return "cotp_reassembly_overflow";
    case errc::cotp_bad_dst_ref: return "cotp_bad_dst_ref";
    case errc::s7_bad_protocol_id: return "s7_bad_protocol_id";
    case errc::s7_bad_rosctr: return "s7_bad_rosctr";
    case errc::s7_length_mismatch: return "s7_length_mismatch";
    case errc::s7_redundancy_nonzero: return "s7_redundancy_nonzero";
    case errc::s7_ack_has_payload: return "s7_ack_has_payload";
    case errc::s7_missing_param: return "s7_missing_param";
    case errc::param_unknown_function: return "param_unknown_function";
    case errc::param_bad_length: return "param_bad_length";
    case errc::param_item_count_zero: return "param_item_count_zero";
    case errc::param_item_count_mismatch: return "param_item_count_mismatch";
    case errc::param_reserved_nonzero: return "param_reserved_nonzero";
    case errc::param_bad_filename: return "param_bad_filename";
    case errc::param_bad_pi_service: return "param_bad_pi_service";
    case errc::param_data_not_allowed: return "param_data_not_allowed";
    case errc::param_data_missing: return "param_data_missing";
    case errc::item_bad_spec_type: return "item_bad_spec_type";
    case errc::item_bad_length: return "item_bad_length";
    case errc::item_unknown_syntax: return "item_unknown_syntax";
    case errc::item_bad_transport_size: return "item_bad_transport_size";
    case errc::item_bad_area: return "item_bad_area";
    case errc::item_bad_bit_address: return "item_bad_bit_address";
    case errc::item_zero_length: return "item_zero_length";
    case errc::item_dbread_bad_count: return "item_dbread_bad_count";
    case errc::data_item_truncated: return "data_item_truncated";
    case errc::data_fill_missing: return "data_fill_missing";
    case errc::data_fill_nonzero: return "data_fill_nonzero";
    case errc::data_bad_transport_size: return "data_bad_transport_size";
    case errc::data_error_item_has_data: return "data_error_item_has_data";
    case errc::data_bad_return_code: return "data_bad_return_code";
    case errc::data_count_mismatch: return "data_count_mismatch";
    case errc::userdata_bad_head: return "userdata_bad_head";
    case errc::userdata_bad_length: return "userdata_bad_length";
    case errc::userdata_bad_method: return "userdata_bad_method";
    case errc::userdata_bad_type: return "userdata_bad_type";
    case errc::userdata_data_too_short: return "userdata_data_too_short";
    case errc::userdata_data_length_mismatch: return "userdata_data_length_mismatch";
    case errc::userdata_bad_payload: return "userdata_bad_payload";
    case errc::userdata_bad_timestamp: return "userdata_bad_timestamp";
    case errc::userdata_tis_bad_size: return "userdata_tis_bad_size";
    case errc::userdata_bad_item_count: return "userdata_bad_item_count";
    case errc::szl_bad_length: return "szl_bad_length";
    case errc::szl_bad_request: return "szl_bad_request";
    case errc::szl_bad_record_length: return "szl_bad_record_length";
    case errc::mc7_bad_magic: return "mc7_bad_magic";
    case errc::mc7_load_length_mismatch: return "mc7_load_length_mismatch";
    case errc::mc7_parts_mismatch: return "mc7_parts_mismatch";
    case errc::value_bad_date_and_time: return "value_bad_date_and_time";
    case errc::value_string_bad_max_length: return "value_string_bad_max_length";
    case errc::value_string_too_long: return "value_string_too_long";
    case errc::address_syntax: return "address_syntax";
    case errc::address_out_of_range: return "address_out_of_range";
    case errc::address_bad_type: return "address_bad_type";
  }
  return "unknown";
}
// clang-format on

}  // namespace protos7::codec
