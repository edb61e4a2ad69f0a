// fuzz_cotp: codec::cotp::parse and the DT reassembler.
//
// The input is read twice:
//  1. as one TPDU (a TPKT payload; the seeds are the TPDUs of the sample captures), decoded
//     with the strict default options and again with every leniency on;
//  2. as a sequence of records | length (1) | TPDU (length bytes) |, each decoded strictly and,
//     when it is a DT, fed to a cotp::reassembler over a 512-byte buffer (small, to reach the
//     overflow path). The seeds of this form are capture PDUs cut into several DTs.
//
// Checked: every error is well formed; a decoded TPDU's views lie inside the input, the user
// data is the tail of the input and starts at user_data_offset; the strict decode accepts
// nothing the lenient one rejects, and both agree on the fields; the variable part walks
// completely with param_iterator; the reassembler returns exactly the concatenation of the DT
// user data since the last completed PDU (a shadow copy kept here), reports overflow exactly
// when that would exceed its buffer, and buffered() tracks the shadow.

#include "protos7/codec/cotp.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cotp_fields.hpp"
#include "fuzz_common.hpp"

namespace {

using namespace protos7::codec;
using protos7::fuzz::bytes;
using protos7::fuzz::same;
using protos7::fuzz::within;

constexpr std::size_t reassembly_capacity = 512;

void check_tpdu(const cotp::tpdu& t, bytes in, const cotp::options& opt) {
  FUZZ_CHECK(t.li != 0 && t.li != 0xFF);
  FUZZ_CHECK(std::size_t{t.li} + 1 <= in.size());
  FUZZ_CHECK(within(t.variable_part, in));
  FUZZ_CHECK(within(t.user_data, in));
  FUZZ_CHECK(t.user_data_offset + t.user_data.size() == in.size());
  if (!t.user_data.empty())
    FUZZ_CHECK(protos7::fuzz::offset_in(t.user_data, in.data()) == t.user_data_offset);
  FUZZ_CHECK(within(t.params.calling_tsap, t.variable_part));
  FUZZ_CHECK(within(t.params.called_tsap, t.variable_part));
  if (t.type != cotp::tpdu_type::dt && !opt.allow_connect_user_data)
    FUZZ_CHECK(t.user_data.empty());
  if (t.type == cotp::tpdu_type::dt && !opt.allow_dt_parameters) FUZZ_CHECK(t.li == cotp::dt_li);
  if (t.type == cotp::tpdu_type::cr || t.type == cotp::tpdu_type::cc)
    FUZZ_CHECK(t.tpdu_class() <= 4);
  if (t.type == cotp::tpdu_type::cr) FUZZ_CHECK(t.dst_ref == 0);
  if (t.type == cotp::tpdu_type::dr) FUZZ_CHECK(cotp::is_known_dr_reason(t.reason));
  if (t.type == cotp::tpdu_type::er) FUZZ_CHECK(t.reject_cause <= 3);
  if (t.params.tpdu_size_code != 0) FUZZ_CHECK(cotp::tpdu_size_bytes(t.params.tpdu_size_code) != 0);

  // Class 1-4 TPDUs keep their header as opaque bytes; the others must walk completely.
  const bool opaque = t.type == cotp::tpdu_type::ed || t.type == cotp::tpdu_type::ea ||
                      t.type == cotp::tpdu_type::rj || t.type == cotp::tpdu_type::ak;
  if (!opaque) {
    cotp::param_iterator it{t.variable_part};
    cotp::parameter p;
    std::size_t walked = 0;
    while (it.next(p)) {
      FUZZ_CHECK(within(p.value, t.variable_part));
      walked += 2 + p.value.size();
    }
    FUZZ_CHECK(walked == t.variable_part.size());
  }
  cotp::s7_tsap tsap;
  if (cotp::decode_s7_tsap(t.params.called_tsap, tsap)) FUZZ_CHECK(tsap.slot < 32 && tsap.rack < 8);
}

void one_tpdu(bytes in) {
  const cotp::options strict{};
  cotp::options lenient;
  lenient.allow_dt_parameters = true;
  lenient.allow_connect_user_data = true;
  lenient.allow_non_class0_tpdus = true;

  const auto s = cotp::parse(in, nullptr, strict);
  const auto l = cotp::parse(in, nullptr, lenient);
  if (!s) FUZZ_CHECK(protos7::fuzz::well_formed(s.err(), in.size()));
  if (!l) FUZZ_CHECK(protos7::fuzz::well_formed(l.err(), in.size()));
  if (s) {
    check_tpdu(*s, in, strict);
    FUZZ_CHECK(l.ok());  // a leniency only ever accepts more
    FUZZ_CHECK(protos7::fuzz::same_fields(*s, *l));
  }
  if (l) check_tpdu(*l, in, lenient);

  // The same TPDU behind a TPKT-sized prefix, offsets measured from the prefix.
  const protos7::fuzz::shifted sh{in};
  const auto o = cotp::parse(sh.view(), sh.origin(), strict);
  FUZZ_CHECK(o.ok() == s.ok());
  if (!s) FUZZ_CHECK(protos7::fuzz::same_error_shifted(s.err(), o.err(), sh.prefix));
  if (s) FUZZ_CHECK(o->user_data_offset == s->user_data_offset + sh.prefix);
}

void reassembly(bytes in) {
  std::vector<std::byte> storage(reassembly_capacity);
  cotp::reassembler ra{std::span<std::byte>{storage.data(), storage.size()}};
  std::vector<std::byte> shadow;  // user data of the DTs fed since the last PDU
  std::size_t pos = 0;
  while (pos < in.size()) {
    const std::size_t len = protos7::fuzz::u8_at(in, pos);
    ++pos;
    if (in.size() - pos < len) break;
    const bytes rec = in.subspan(pos, len);
    pos += len;
    const auto t = cotp::parse(rec);
    if (!t || t->type != cotp::tpdu_type::dt) continue;
    const bool lone = shadow.empty() && t->eot;
    const bool fits = shadow.size() + t->user_data.size() <= reassembly_capacity;
    const auto r = ra.feed(*t);
    if (!lone && !fits) {
      FUZZ_CHECK(r.st == cotp::reassembler::status::overflow);
      shadow.clear();
    } else if (t->eot) {
      FUZZ_CHECK(r.st == cotp::reassembler::status::complete);
      shadow.insert(shadow.end(), t->user_data.begin(), t->user_data.end());
      FUZZ_CHECK(same(r.pdu, bytes{shadow.data(), shadow.size()}));
      if (lone) FUZZ_CHECK(r.pdu.data() == t->user_data.data() || r.pdu.empty());  // no copy
      shadow.clear();
    } else {
      FUZZ_CHECK(r.st == cotp::reassembler::status::need_more);
      shadow.insert(shadow.end(), t->user_data.begin(), t->user_data.end());
    }
    FUZZ_CHECK(ra.buffered() == shadow.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes in = protos7::fuzz::as_bytes(data, size);
  one_tpdu(in);
  reassembly(in);
  return 0;
}
