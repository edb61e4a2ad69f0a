// Field-by-field equality of two decoded COTP TPDUs (spans compared by content).
#pragma once

#include "fuzz_common.hpp"
#include "protos7/codec/cotp.hpp"

namespace protos7::fuzz {

inline bool same_fields(const codec::cotp::tpdu& a, const codec::cotp::tpdu& b) {
  return a.li == b.li && a.type == b.type && a.cdt == b.cdt && a.dst_ref == b.dst_ref &&
         a.src_ref == b.src_ref && a.class_option == b.class_option && a.reason == b.reason &&
         a.reject_cause == b.reject_cause && a.eot == b.eot && a.tpdu_nr == b.tpdu_nr &&
         same(a.variable_part, b.variable_part) && same(a.user_data, b.user_data) &&
         a.user_data_offset == b.user_data_offset &&
         a.params.tpdu_size_code == b.params.tpdu_size_code &&
         same(a.params.calling_tsap, b.params.calling_tsap) &&
         same(a.params.called_tsap, b.params.called_tsap) &&
         a.params.preferred_max_tpdu_size == b.params.preferred_max_tpdu_size &&
         a.params.has_version == b.params.has_version && a.params.version == b.params.version &&
         a.params.has_additional_options == b.params.has_additional_options &&
         a.params.additional_options == b.params.additional_options &&
         a.params.has_checksum == b.params.has_checksum && a.params.checksum == b.params.checksum;
}

}  // namespace protos7::fuzz
