// fuzz_roundtrip_cotp: encode(parse(b)) == b and parse(encode(parse(b))) == parse(b) for COTP.
//
// Input: one TPDU (seeds: the TPDUs of the sample captures). For the strict default options and
// for every leniency on, whenever cotp::parse accepts the input:
//   - cotp::encode in counting mode (empty output) reports buffer_too_small needing exactly the
//     input size, and one byte short reports the same: the size function is the encoder;
//   - cotp::encode into an exactly sized buffer gives back the input byte for byte;
//   - parsing those bytes again with the same options gives the same fields.
// Any difference is a codec bug: the invariant is not relaxed for it.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cotp_fields.hpp"
#include "fuzz_common.hpp"
#include "protos7/codec/cotp.hpp"

namespace {

using namespace protos7::codec;
using protos7::fuzz::bytes;
using protos7::fuzz::same;

void round_trip(bytes in, const cotp::options& opt) {
  const auto t = cotp::parse(in, nullptr, opt);
  if (!t) return;

  const auto counted = cotp::encode(*t, {});
  FUZZ_CHECK(!counted.ok() && counted.err().code == errc::buffer_too_small);
  FUZZ_CHECK(counted.err().needed == in.size());

  std::vector<std::byte> out(in.size());
  const auto short_by_one = cotp::encode(*t, std::span<std::byte>{out.data(), out.size() - 1});
  FUZZ_CHECK(!short_by_one.ok() && short_by_one.err().code == errc::buffer_too_small);
  FUZZ_CHECK(short_by_one.err().needed == in.size());

  const auto n = cotp::encode(*t, std::span<std::byte>{out.data(), out.size()});
  FUZZ_CHECK(n.ok());
  FUZZ_CHECK(*n == in.size());
  FUZZ_CHECK(same(bytes{out.data(), out.size()}, in));

  const auto again = cotp::parse(bytes{out.data(), out.size()}, nullptr, opt);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(protos7::fuzz::same_fields(*t, *again));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes in = protos7::fuzz::as_bytes(data, size);
  round_trip(in, cotp::options{});
  cotp::options lenient;
  lenient.allow_dt_parameters = true;
  lenient.allow_connect_user_data = true;
  lenient.allow_non_class0_tpdus = true;
  round_trip(in, lenient);
  return 0;
}
