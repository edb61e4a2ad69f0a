// fuzz_s7_header: codec::s7::parse, the S7comm header and its length cross-check.
//
// Input: one S7 PDU (the COTP DT user data; seeds: every distinct PDU shape of the captures).
// Decoded with the strict default options and with allow_nonzero_redundancy_id.
//
// Checked: errors are well formed; on success the header, parameter and data blocks tile the
// input exactly (header size by ROSCTR, then param_length bytes, then data_length bytes, with
// the recorded offsets), the ROSCTR is one of 1, 2, 3, 7, an Ack carries nothing, the strict
// decode accepts nothing the lenient one rejects, and write_header() reproduces the header bytes.

#include "protos7/codec/s7_header.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "protos7/codec/writer.hpp"

namespace {

using namespace protos7::codec;
using protos7::fuzz::bytes;

void check_pdu(const s7::pdu& p, bytes in) {
  const std::size_t hs = s7::header_size(p.hdr.type);
  const auto t = static_cast<std::uint8_t>(p.hdr.type);
  FUZZ_CHECK(t == 1 || t == 2 || t == 3 || t == 7);
  FUZZ_CHECK(hs + p.hdr.param_length + p.hdr.data_length == in.size());
  FUZZ_CHECK(p.param.size() == p.hdr.param_length && p.data.size() == p.hdr.data_length);
  FUZZ_CHECK(p.param_offset == hs && p.data_offset == hs + p.hdr.param_length);
  FUZZ_CHECK(p.origin == in.data());
  FUZZ_CHECK(protos7::fuzz::same(p.param, in.subspan(hs, p.hdr.param_length)));
  FUZZ_CHECK(protos7::fuzz::same(p.data, in.subspan(hs + p.hdr.param_length)));
  if (p.hdr.type == s7::rosctr::ack) FUZZ_CHECK(p.param.empty() && p.data.empty());

  std::array<std::byte, s7::long_header_size> out{};
  writer w{out};
  s7::write_header(w, p.hdr);
  const auto n = w.finish();
  FUZZ_CHECK(n.ok() && *n == hs);
  FUZZ_CHECK(protos7::fuzz::same(bytes{out.data(), hs}, in.first(hs)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes in = protos7::fuzz::as_bytes(data, size);
  s7::options lenient;
  lenient.allow_nonzero_redundancy_id = true;
  const auto s = s7::parse(in);
  const auto l = s7::parse(in, nullptr, lenient);
  if (!s) FUZZ_CHECK(protos7::fuzz::well_formed(s.err(), in.size()));
  if (!l) FUZZ_CHECK(protos7::fuzz::well_formed(l.err(), in.size()));
  if (s) {
    check_pdu(*s, in);
    FUZZ_CHECK(s->hdr.redundancy_id == 0);
    FUZZ_CHECK(l.ok());
  }
  if (l) check_pdu(*l, in);

  // Behind a prefix, with offsets measured from it: the same outcome, offsets shifted.
  const protos7::fuzz::shifted sh{in};
  const auto o = s7::parse(sh.view(), sh.origin());
  FUZZ_CHECK(o.ok() == s.ok());
  if (!s) FUZZ_CHECK(protos7::fuzz::same_error_shifted(s.err(), o.err(), sh.prefix));
  if (s) FUZZ_CHECK(o->param_offset == s->param_offset + sh.prefix && o->origin == sh.origin());
  return 0;
}
