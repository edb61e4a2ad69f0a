// fuzz_step7_address: codec::step7::parse and format, the STEP 7 operand notation.
//
// Input: any text (seeds: one operand of each form).
//
// Checked: an error is in the step7_text layer at an offset inside the text (or at its end); a
// parsed address formats to a text that parses back to the same address, and that text is
// format()'s own again (a fixed point).

#include "protos7/codec/step7_address.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace protos7::codec;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r = step7::parse(text);
  if (!r) {
    FUZZ_CHECK(r.err().where == layer::step7_text && r.err().offset <= size);
    return 0;
  }
  const step7::text t = step7::to_text(*r);
  if (t.empty()) return 0;  // parse takes a few forms format does not write (none of value)
  const auto again = step7::parse(t.view());
  FUZZ_CHECK(again.ok() && *again == *r);
  FUZZ_CHECK(step7::to_text(*again).view() == t.view());
  return 0;
}
