// fuzz_userdata: codec::s7::decode of Userdata (ROSCTR 7): the parameter head, the data unit, and
// every payload helper (SZL request/response, block info, BCD timestamp, cyclic request with its
// variable specifications, block list records, block names).
//
// Input: one S7 PDU (seeds: the distinct userdata PDUs of the sample captures). Byte 1, the
// ROSCTR, is overwritten with 7 so that every input exercises this layer (the copy is exactly
// sized, so reads past the end are still caught). Decoded with the strict default options and
// with every leniency on (s7_checks.hpp).
//
// Checked: errors are well formed (named code and layer, offset inside the PDU); a strict
// success is also a lenient success; on success everything the decoder validated is walked
// again with the lazy iterators and must match (item counts, views inside their blocks, data
// sizes from the transport size, fill bytes), see check_userdata() in s7_checks.hpp.

#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "s7_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace protos7::fuzz;
  fuzz_rosctr(data, size, s7::rosctr::userdata,
              [](const s7::message& m, const s7::decode_options& /*opt*/, bytes in) {
                check_userdata(m, in);
              });
  return 0;
}
