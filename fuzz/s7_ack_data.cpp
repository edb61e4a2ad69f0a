// fuzz_s7_ack_data: codec::s7::decode of Ack_Data (ROSCTR 3): Setup communication, Read Var data
// items (incl. error items), Write Var return codes, Upload / Download block data, block control
// answers.
//
// Input: one S7 PDU (seeds: the distinct ack_data PDUs of the sample captures). Byte 1, the
// ROSCTR, is overwritten with 3 so that every input exercises this layer (the copy is exactly
// sized, so reads past the end are still caught). Decoded with the strict default options and
// with every leniency on (s7_checks.hpp).
//
// Checked: errors are well formed (named code and layer, offset inside the PDU); a strict
// success is also a lenient success; on success everything the decoder validated is walked
// again with the lazy iterators and must match (item counts, views inside their blocks, data
// sizes from the transport size, fill bytes), see check_ack_data() in s7_checks.hpp.

#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "s7_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace protos7::fuzz;
  fuzz_rosctr(data, size, s7::rosctr::ack_data,
              [](const s7::message& m, const s7::decode_options& opt, bytes /*in*/) {
                check_ack_data(m, opt);
              });
  return 0;
}
