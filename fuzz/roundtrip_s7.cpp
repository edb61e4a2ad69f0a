// fuzz_roundtrip_s7: the S7 encoders against the decoders, both ways.
//
// Input: one S7 PDU (seeds: every distinct PDU shape of the sample captures).
//
// encode(parse(b)) == b, for every input the decoder accepts (canonical b):
//   - s7::encode(header, param, data) gives back the whole PDU (strict and lenient header);
//     the encoder's counting mode reports exactly that size;
//   - Setup communication: write_setup_communication(setup) == the parameter;
//   - Read/Write Var jobs whose items are all S7ANY: write_var_job(fn, items) == the parameter;
//   - Read/Write Var Ack_Data: write_var_ack(fn, count) == the parameter;
//   - data items (Write Var job, Read Var Ack_Data): write_data_item() over the decoded items
//     (last = the final one) == the data block, when every item is in canonical form: an error
//     item with transport size 0, a bit-counted length that is a whole number of bytes
//     (BYTE/WORD/DWORD, INTEGER) and a BIT item of at most one bit (the forms the writer
//     produces, and what CPUs send);
//   - block control jobs / Ack_Data, PI-Service, PLC Stop: write_block_control_job / _ack,
//     write_pi_service, write_plc_stop == the parameter, write_block_data == the data;
//   - Userdata: ud::write_param(param) == the parameter, write_data_unit() == the data block;
//     and on the payload: write_timestamp(parse_timestamp(x)) == x, write_block_info(
//     parse_block_info(x)) == x, SZL write_request / write_response_head + records == x, and
//     for 8 bytes the password scrambling is its own inverse pair.
// parse(encode(x)) == x, for values generated from the input bytes:
//   - a list of data items (known return code; error items without data; known transport
//     size) written with write_data_item() and decoded with parse_data_items() + the iterator;
//   - a list of S7ANY addresses written with write_var_job() inside s7::encode() and decoded
//     with s7::decode();
//   - a BCD timestamp in the range parse_timestamp() accepts.
// Any difference is a codec bug: the invariant is not relaxed for it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_common.hpp"
#include "s7_checks.hpp"

namespace {

using namespace protos7::fuzz;
namespace ud = s7::ud;
using c::errc;
using c::writer;

// Runs `encode(writer&)` in counting mode, then into an exactly sized buffer; the two sizes must
// agree and the second run must succeed.
template <class F>
std::vector<std::byte> encode_exact(F&& encode) {
  writer counting{c::mutable_bytes{}};
  encode(counting);
  const auto need = counting.finish();
  std::size_t size = 0;
  if (need.ok()) {
    size = *need;
    FUZZ_CHECK(size == 0);
  } else {
    FUZZ_CHECK(need.err().code == errc::buffer_too_small);
    size = need.err().needed;
  }
  std::vector<std::byte> out(size);
  writer w{c::mutable_bytes{out.data(), out.size()}};
  encode(w);
  const auto n = w.finish();
  FUZZ_CHECK(n.ok() && *n == size);
  return out;
}

bool same_vec(const std::vector<std::byte>& v, bytes b) {
  return same(bytes{v.data(), v.size()}, b);
}

// --- encode(parse(b)) == b ---------------------------------------------------------------

void pdu_round_trip(bytes in, const s7::options& opt) {
  const auto p = s7::parse(in, nullptr, opt);
  if (!p) return;
  const auto counted = s7::encode(p->hdr, p->param, p->data, {});
  FUZZ_CHECK(!counted.ok() && counted.err().code == errc::buffer_too_small &&
             counted.err().needed == in.size());
  std::vector<std::byte> out(in.size());
  const auto n = s7::encode(p->hdr, p->param, p->data, {out.data(), out.size()});
  FUZZ_CHECK(n.ok() && *n == in.size());
  FUZZ_CHECK(same_vec(out, in));
}

bool canonical_item(const s7::data_item& d) {
  const bool carries =
      d.return_code == s7::return_code::success || d.return_code == s7::return_code::reserved;
  if (!carries) return d.tsize == 0;
  if (d.tsize == static_cast<std::uint8_t>(s7::data_tsize::bit)) return d.length <= 1;
  if (s7::length_in_bits(d.tsize)) return d.length % 8U == 0;
  return true;
}

void data_items_round_trip(bytes data, std::size_t count, const std::byte* origin) {
  std::vector<s7::data_item> items;
  s7::data_item_iterator it{data, count, origin};
  s7::data_item d;
  while (it.next(d)) {
    if (!canonical_item(d)) return;
    items.push_back(d);
  }
  FUZZ_CHECK(items.size() == count);
  const auto out = encode_exact([&](writer& w) {
    for (std::size_t i = 0; i < items.size(); ++i)
      s7::write_data_item(w, items[i].return_code, items[i].tsize, items[i].data,
                          i + 1 == items.size());
  });
  FUZZ_CHECK(same_vec(out, data));
}

void payload_round_trips(bytes payload) {
  if (payload.size() == ud::password_length) {
    // PLC password: unscramble and scramble are each other's inverse.
    std::array<std::uint8_t, ud::password_length> x{}, y{}, z{};
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = u8_at(payload, i);
    ud::unscramble_password(x, y);
    ud::scramble_password(y, z);
    FUZZ_CHECK(z == x);
    ud::scramble_password(x, y);
    ud::unscramble_password(y, z);
    FUZZ_CHECK(z == x);
  }
  if (const auto t = ud::parse_timestamp(payload, payload.data())) {
    const auto out = encode_exact([&](writer& w) { ud::write_timestamp(w, *t); });
    FUZZ_CHECK(same_vec(out, payload));
  }
  if (const auto b = ud::parse_block_info(payload, payload.data())) {
    const auto out = encode_exact([&](writer& w) { ud::write_block_info(w, *b); });
    FUZZ_CHECK(same_vec(out, payload));
  }
  if (const auto q = c::szl::parse_request(payload, payload.data())) {
    const auto out = encode_exact([&](writer& w) { c::szl::write_request(w, *q); });
    FUZZ_CHECK(same_vec(out, payload));
  }
  if (const auto h = c::szl::parse_response(payload, payload.data(), true)) {
    const auto out = encode_exact([&](writer& w) {
      c::szl::write_response_head(w, *h);
      w.raw(h->records);
    });
    FUZZ_CHECK(same_vec(out, payload));
  }
}

// Block control, PI-Service and PLC Stop: the parameter (and the Upload / Download block data)
// written back from the decoded fields.
void block_round_trips(const s7::pdu& p, const s7::param& prm, bool job) {
  const auto fn = static_cast<s7::function>(prm.fn);
  switch (fn) {
    case s7::function::request_download:
    case s7::function::download_block:
    case s7::function::download_ended:
    case s7::function::start_upload:
    case s7::function::upload:
    case s7::function::end_upload: {
      const auto out = encode_exact([&](writer& w) {
        if (job)
          s7::write_block_control_job(w, fn, prm.block);
        else
          s7::write_block_control_ack(w, fn, prm.block, prm.block.has_status);
      });
      FUZZ_CHECK(same_vec(out, p.param));
      if (!job && !p.data.empty()) {
        const auto bd = s7::parse_block_data(p.data, p.origin);
        FUZZ_CHECK(bd.ok());
        const auto dout =
            encode_exact([&](writer& w) { s7::write_block_data(w, bd->payload, bd->unknown); });
        FUZZ_CHECK(same_vec(dout, p.data));
      }
      break;
    }
    case s7::function::pi_service:
      if (job) {
        const auto out = encode_exact([&](writer& w) { s7::write_pi_service(w, prm.pi); });
        FUZZ_CHECK(same_vec(out, p.param));
      }
      break;
    case s7::function::plc_stop:
      if (job) {
        const auto out = encode_exact([&](writer& w) { s7::write_plc_stop(w, prm.stop); });
        FUZZ_CHECK(same_vec(out, p.param));
      }
      break;
    default:
      break;
  }
}

void message_round_trips(bytes in) {
  const auto m = s7::decode(in);
  if (!m) return;
  const s7::pdu& p = m->p;
  const s7::param& prm = m->prm;
  const auto fn = static_cast<s7::function>(prm.fn);
  switch (p.hdr.type) {
    case s7::rosctr::job:
    case s7::rosctr::ack_data: {
      if (p.param.empty()) break;  // Ack_Data with only a header error
      const bool job = p.hdr.type == s7::rosctr::job;
      if (fn == s7::function::setup_communication) {
        const auto out =
            encode_exact([&](writer& w) { s7::write_setup_communication(w, prm.setup); });
        FUZZ_CHECK(same_vec(out, p.param));
      }
      block_round_trips(p, prm, job);
      if (fn != s7::function::read_var && fn != s7::function::write_var) break;
      if (job) {
        std::vector<s7::any_address> any;
        s7::var_spec_iterator it = prm.var_specs(p.origin);
        s7::var_spec v;
        bool all_any = true;
        while (it.next(v)) {
          if (v.syntax != static_cast<std::uint8_t>(s7::syntax_id::s7any)) all_any = false;
          any.push_back(v.any);
        }
        if (all_any) {
          const auto out = encode_exact([&](writer& w) { s7::write_var_job(w, fn, any); });
          FUZZ_CHECK(same_vec(out, p.param));
        }
        if (fn == s7::function::write_var) data_items_round_trip(p.data, prm.item_count, p.origin);
      } else {
        const auto out = encode_exact([&](writer& w) { s7::write_var_ack(w, fn, prm.item_count); });
        FUZZ_CHECK(same_vec(out, p.param));
        if (fn == s7::function::read_var) data_items_round_trip(p.data, prm.item_count, p.origin);
      }
      break;
    }
    case s7::rosctr::userdata: {
      const auto out = encode_exact([&](writer& w) { ud::write_param(w, m->ud.prm); });
      FUZZ_CHECK(same_vec(out, p.param));
      if (m->ud.has_data) {
        const ud::data_unit& du = m->ud.data;
        const auto dout = encode_exact(
            [&](writer& w) { ud::write_data_unit(w, du.return_code, du.tsize, du.payload); });
        FUZZ_CHECK(same_vec(dout, p.data));
        payload_round_trips(du.payload);
      }
      break;
    }
    case s7::rosctr::ack:
      break;
  }
}

// --- parse(encode(x)) == x ---------------------------------------------------------------

// Reads generator bytes from the input, cycling; 0 when the input is empty.
class source {
 public:
  explicit source(bytes in) noexcept : in_(in) {}
  std::uint8_t u8() noexcept {
    if (in_.empty()) return 0;
    const std::uint8_t v = u8_at(in_, pos_ % in_.size());
    ++pos_;
    return v;
  }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>((u8() << 8U) | u8()); }

 private:
  bytes in_;
  std::size_t pos_ = 0;
};

constexpr std::array<std::uint8_t, 8> known_rcs{0x00, 0x01, 0x03, 0x05, 0x06, 0x07, 0x0A, 0xFF};
constexpr std::array<std::uint8_t, 8> carrying_tsizes{0x03, 0x04, 0x05, 0x06,
                                                      0x07, 0x09, 0x11, 0x12};

void generated_data_items(bytes in) {
  source src{in};
  struct item {
    std::uint8_t rc;
    std::uint8_t tsize;
    std::vector<std::byte> data;
  };
  std::vector<item> items(1U + src.u8() % 6U);
  for (item& x : items) {
    x.rc = known_rcs[src.u8() % known_rcs.size()];
    x.tsize = carrying_tsizes[src.u8() % carrying_tsizes.size()];
    const bool carries = x.rc == s7::return_code::success || x.rc == s7::return_code::reserved;
    if (!carries) {
      x.tsize = 0;
      continue;
    }
    const std::size_t n = src.u8() % 9U;
    for (std::size_t i = 0; i < n; ++i) x.data.push_back(std::byte{src.u8()});
    if (x.tsize == static_cast<std::uint8_t>(s7::data_tsize::bit) && n > 1) {
      // A BIT item holds one bit in one byte; longer BIT data has no encoding (its length field
      // counts bits) and the writer must refuse it rather than write a length a reader misreads.
      writer w{c::mutable_bytes{}};
      s7::write_data_item(w, x.rc, x.tsize, {x.data.data(), x.data.size()}, true);
      const auto refused = w.finish();
      FUZZ_CHECK(!refused.ok() && refused.err().code == errc::value_out_of_range);
      x.data.resize(1);
    }
  }
  const auto out = encode_exact([&](writer& w) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::size_t before = w.size();
      const bool last = i + 1 == items.size();
      s7::write_data_item(w, items[i].rc, items[i].tsize,
                          {items[i].data.data(), items[i].data.size()}, last);
      FUZZ_CHECK(w.size() - before == s7::data_item_size(items[i].rc, items[i].data.size(), last));
    }
  });
  const bytes enc{out.data(), out.size()};
  c::reader r{enc, c::layer::s7_data};
  s7::parse_data_items(r, items.size(), s7::data_kind::read_response);
  FUZZ_CHECK(r.ok());
  s7::data_item_iterator it{enc, items.size(), enc.data()};
  s7::data_item d;
  for (const item& x : items) {
    FUZZ_CHECK(it.next(d));
    FUZZ_CHECK(d.return_code == x.rc && d.tsize == x.tsize);
    FUZZ_CHECK(same(d.data, {x.data.data(), x.data.size()}));
  }
  FUZZ_CHECK(!it.next(d));
}

void generated_var_job(bytes in) {
  source src{in};
  src.u8();  // start at another phase of the input than the data items
  std::vector<s7::any_address> any(1U + src.u8() % 8U);
  for (s7::any_address& a : any) {
    a.tsize = src.u8();
    a.count = src.u16();
    a.db = src.u16();
    a.area = src.u8();
    a.address = (std::uint32_t{src.u8()} << 16U) | src.u16();
  }
  const bool write = (src.u8() & 1U) != 0;
  const auto fn = write ? s7::function::write_var : s7::function::read_var;
  const auto param = encode_exact([&](writer& w) { s7::write_var_job(w, fn, any); });
  // A Write Var job needs one data item per address: a one-byte octet string each.
  const auto data = encode_exact([&](writer& w) {
    if (!write) return;
    for (std::size_t i = 0; i < any.size(); ++i) {
      const std::byte b{src.u8()};
      s7::write_data_item(w, s7::return_code::reserved, 0x09, {&b, 1}, i + 1 == any.size());
    }
  });
  s7::header h;
  h.type = s7::rosctr::job;
  h.pdu_ref = src.u16();
  const bytes pb{param.data(), param.size()};
  const bytes db{data.data(), data.size()};
  const auto need = s7::encode(h, pb, db, {});
  FUZZ_CHECK(!need.ok() && need.err().code == errc::buffer_too_small);
  std::vector<std::byte> pdu(need.err().needed);
  const auto n = s7::encode(h, pb, db, {pdu.data(), pdu.size()});
  FUZZ_CHECK(n.ok() && *n == pdu.size() &&
             pdu.size() == s7::short_header_size + pb.size() + db.size());
  const auto m = s7::decode({pdu.data(), pdu.size()});
  FUZZ_CHECK(m.ok());
  FUZZ_CHECK(m->p.hdr.pdu_ref == h.pdu_ref && m->prm.item_count == any.size());
  s7::var_spec_iterator it = m->prm.var_specs(m->p.origin);
  s7::var_spec v;
  for (const s7::any_address& a : any) {
    FUZZ_CHECK(it.next(v));
    FUZZ_CHECK(v.syntax == static_cast<std::uint8_t>(s7::syntax_id::s7any) && v.any == a);
  }
  FUZZ_CHECK(!it.next(v));
}

void generated_timestamp(bytes in) {
  source src{in};
  src.u8();
  src.u8();
  ud::timestamp t;
  t.reserved = src.u8();
  t.year = static_cast<std::uint16_t>(1990U + src.u8() % 100U);
  t.year_high = t.year >= 2000 ? 0x20 : 0x19;
  t.month = static_cast<std::uint8_t>(1U + src.u8() % 12U);
  t.day = static_cast<std::uint8_t>(1U + src.u8() % 31U);
  t.hour = static_cast<std::uint8_t>(src.u8() % 24U);
  t.minute = static_cast<std::uint8_t>(src.u8() % 60U);
  t.second = static_cast<std::uint8_t>(src.u8() % 60U);
  t.millisecond = static_cast<std::uint16_t>(src.u16() % 1000U);
  t.weekday = static_cast<std::uint8_t>(src.u8() & 0x0FU);
  const auto out = encode_exact([&](writer& w) { ud::write_timestamp(w, t); });
  const auto back = ud::parse_timestamp({out.data(), out.size()}, out.data());
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(*back == t);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes in = as_bytes(data, size);
  pdu_round_trip(in, s7::options{});
  s7::options lenient;
  lenient.allow_nonzero_redundancy_id = true;
  pdu_round_trip(in, lenient);
  message_round_trips(in);
  // The payload helpers on the raw input too, so the fuzzer can reach them directly.
  payload_round_trips(in);
  generated_data_items(in);
  generated_var_job(in);
  generated_timestamp(in);
  return 0;
}
