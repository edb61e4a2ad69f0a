// fuzz_szl: the SZL payloads of the Userdata CPU function Read SZL (codec::szl).
//
// Input: one data-unit payload (seeds: the SZL requests and responses of the sample captures,
// first and follow-up fragments).
//
// Checked: parse_request accepts exactly 4 bytes; parse_response in both modes (complete:
// records = LENTHDR x N_DR exactly; first fragment: at most that) with the records the tail of
// the payload; write_request / write_response_head + records give the payload back; the
// records walk in LENTHDR steps without leaving the payload; and every other payload helper
// (s7_checks.hpp) is safe on the same bytes.

#include <array>
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "s7_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace protos7::fuzz;
  namespace szl = protos7::codec::szl;
  const bytes in = as_bytes(data, size);

  std::array<std::byte, szl::response_head_size> head{};
  if (const auto q = szl::parse_request(in, in.data())) {
    c::writer w{head};
    szl::write_request(w, *q);
    const auto n = w.finish();
    FUZZ_CHECK(n.ok() && *n == 4 && same(bytes{head.data(), 4}, in));
  }
  if (const auto r = szl::parse_response(in, in.data(), false)) {
    c::writer w{head};
    szl::write_response_head(w, *r);
    const auto n = w.finish();
    FUZZ_CHECK(n.ok() && *n == szl::response_head_size);
    FUZZ_CHECK(same(bytes{head.data(), head.size()}, in.first(szl::response_head_size)));
    FUZZ_CHECK(same(r->records, in.subspan(szl::response_head_size)));
    FUZZ_CHECK(r->id == ((u8_at(in, 0) << 8U) | u8_at(in, 1)));
    if (r->record_length != 0) {
      std::size_t walked = 0;
      for (std::size_t i = 0; i < r->record_count && walked + r->record_length <= r->records.size();
           ++i) {
        const bytes rec = r->records.subspan(walked, r->record_length);
        FUZZ_CHECK(within(rec, in));
        walked += r->record_length;
      }
      FUZZ_CHECK(walked <= r->records.size());
    }
  }
  check_payload_helpers(in, in.data(), in.size());
  check_payload_offsets(in);
  return 0;
}
