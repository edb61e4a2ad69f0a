// Invariants of a decoded S7 PDU, shared by the s7_* / userdata / szl / round-trip targets.
//
// Each check_* function walks everything that a successful decode promises is valid (the lazy
// iterators must yield exactly the announced number of items, all views lie inside their
// block, fields are in the ranges the parser enforces) and aborts through FUZZ_CHECK when a
// promise is broken.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_common.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/szl.hpp"
#include "ud_checks.hpp"

namespace protos7::fuzz {

namespace c = protos7::codec;
namespace s7 = protos7::codec::s7;

// The option sets the targets decode with: strict (the default) and every leniency on.
inline s7::decode_options strict_options() {
  return {};
}
inline s7::decode_options lenient_options() {
  s7::decode_options o;
  o.header.allow_nonzero_redundancy_id = true;
  o.params.allow_zero_items = true;
  o.params.items.allow_unknown_syntax = true;
  o.params.data.allow_missing_fill = true;
  o.params.data.allow_nonzero_fill = true;
  return o;
}

// `in` overwritten at byte 1 (the ROSCTR) when it has one: the s7_job, s7_ack_data and
// userdata targets pin the PDU type so that every input exercises their layer.
inline std::vector<std::byte> with_rosctr(bytes in, std::uint8_t rosctr) {
  std::vector<std::byte> v = copy_of(in);
  if (v.size() >= 2) v[1] = std::byte{rosctr};
  return v;
}

// s7::decode of `in` and of the same bytes behind a prefix (origin = the prefix) agree, with every
// offset larger by the prefix. Returns the plain decode.
inline c::result<s7::message> decode_both_ways(bytes in, const s7::decode_options& opt) {
  const auto m = s7::decode(in, nullptr, opt);
  const shifted sh{in};
  const auto o = s7::decode(sh.view(), sh.origin(), opt);
  FUZZ_CHECK(m.ok() == o.ok());
  if (!m) {
    FUZZ_CHECK(same_error_shifted(m.err(), o.err(), sh.prefix));
  } else {
    FUZZ_CHECK(o->p.param_offset == m->p.param_offset + sh.prefix);
    FUZZ_CHECK(o->p.data_offset == m->p.data_offset + sh.prefix);
    FUZZ_CHECK(o->p.origin == sh.origin());
    if (m->p.hdr.type == s7::rosctr::userdata && m->ud.has_data)
      FUZZ_CHECK(o->ud.data.payload_offset == m->ud.data.payload_offset + sh.prefix);
  }
  return m;
}

inline void check_pdu(const s7::pdu& p, bytes in) {
  const std::size_t hs = s7::header_size(p.hdr.type);
  FUZZ_CHECK(hs + p.hdr.param_length + p.hdr.data_length == in.size());
  FUZZ_CHECK(p.param.size() == p.hdr.param_length && p.data.size() == p.hdr.data_length);
  FUZZ_CHECK(p.param_offset == hs && p.data_offset == hs + p.hdr.param_length);
  FUZZ_CHECK(within(p.param, in) && within(p.data, in));
  if (p.hdr.type == s7::rosctr::ack) FUZZ_CHECK(p.param.empty() && p.data.empty());
}

// Walks `count` variable specifications in `items` (validated by the decoder); returns the
// offset (from origin) just past the last one.
inline std::size_t walk_var_specs(bytes items, std::size_t count, const std::byte* origin,
                                  const s7::item_options& opt) {
  s7::var_spec_iterator it{items, count, origin};
  s7::var_spec v;
  std::size_t n = 0;
  std::size_t end = offset_in(items, origin);
  while (it.next(v)) {
    ++n;
    FUZZ_CHECK(v.spec_type == s7::var_spec_type && v.length >= 1);
    FUZZ_CHECK(v.body.size() == v.length - 1U);
    FUZZ_CHECK(within(v.body, items));
    FUZZ_CHECK(v.offset >= end);
    if (!opt.allow_unknown_syntax) FUZZ_CHECK(s7::is_known_syntax(v.syntax));
    if (v.syntax == static_cast<std::uint8_t>(s7::syntax_id::s7any)) {
      FUZZ_CHECK(v.length == s7::s7any_length);
      const std::uint8_t rc = s7::check_any(v.any);
      FUZZ_CHECK(rc == s7::return_code::success || rc == s7::return_code::invalid_address ||
                 rc == s7::return_code::type_not_supported);
      if (rc == s7::return_code::success) FUZZ_CHECK(v.any.byte_length() > 0);
      FUZZ_CHECK(v.any.address <= 0xFFFFFFU);
    }
    // The address decoders accept every item of their syntax the parser validated.
    if (v.syntax >= 0x82 && v.syntax <= 0x84) {
      s7::nck_address a;
      FUZZ_CHECK(s7::decode_nck(v, a) && a.area < 8 && a.unit < 32);
    }
    if (v.syntax == static_cast<std::uint8_t>(s7::syntax_id::s1200sym)) {
      s7::sym1200_address a;
      FUZZ_CHECK(s7::decode_1200sym(v, a) && within(a.lids, v.body) && a.lids.size() % 4U == 0);
    }
    if (v.syntax == static_cast<std::uint8_t>(s7::syntax_id::driveesany)) {
      s7::driveesany_address a;
      FUZZ_CHECK(s7::decode_driveesany(v, a));
    }
    if (v.syntax == static_cast<std::uint8_t>(s7::syntax_id::dbread)) {
      FUZZ_CHECK(v.dbread_count >= 1 && std::size_t{v.dbread_count} * 5U + 1U == v.body.size());
      s7::dbread_area a;
      for (std::size_t i = 0; i < v.dbread_count; ++i) FUZZ_CHECK(s7::dbread_at(v, i, a));
      FUZZ_CHECK(!s7::dbread_at(v, v.dbread_count, a));
    }
    end = v.offset + 2U + v.length;
  }
  FUZZ_CHECK(n == count);
  return end;
}

// Walks `count` data items of `data`; returns the offset (from origin) just past the last one.
inline std::size_t walk_data_items(bytes data, std::size_t count, const std::byte* origin,
                                   const s7::data_options& opt, bool write_request) {
  s7::data_item_iterator it{data, count, origin, opt};
  s7::data_item d;
  std::size_t n = 0;
  std::size_t end = offset_in(data, origin);
  while (it.next(d)) {
    ++n;
    FUZZ_CHECK(d.offset >= end);
    FUZZ_CHECK(s7::is_known_return_code(d.return_code));
    if (write_request)
      FUZZ_CHECK(d.return_code == s7::return_code::reserved ||
                 d.return_code == s7::return_code::success);
    const bool carries =
        d.return_code == s7::return_code::success || d.return_code == s7::return_code::reserved;
    if (carries) {
      FUZZ_CHECK(s7::is_known_data_tsize(d.tsize) && d.tsize != 0);
      FUZZ_CHECK(d.data.size() == s7::data_bytes(d.tsize, d.length));
    } else {
      FUZZ_CHECK(d.data.empty() && d.length == 0 && !d.has_fill);
    }
    FUZZ_CHECK(within(d.data, data));
    if (d.has_fill) FUZZ_CHECK((d.data.size() & 1U) != 0 && n < count);
    end = d.offset + 4U + d.data.size() + (d.has_fill ? 1U : 0U);
  }
  FUZZ_CHECK(n == count);
  return end;
}

inline void check_filename(const s7::block_filename& f, bytes block) {
  FUZZ_CHECK(within(f.raw, block));
  if (f.valid) FUZZ_CHECK(f.number <= 99999U);
}

inline void check_job(const s7::message& m, const s7::decode_options& opt) {
  const s7::pdu& p = m.p;
  const s7::param& prm = m.prm;
  FUZZ_CHECK(same(prm.raw, p.param) && !p.param.empty());
  FUZZ_CHECK(s7::is_known_function(prm.fn) && prm.fn != 0x00);
  switch (static_cast<s7::function>(prm.fn)) {
    case s7::function::setup_communication:
      FUZZ_CHECK(p.param.size() == s7::setup_communication_length && p.data.empty());
      FUZZ_CHECK(prm.setup.reserved == 0);
      break;
    case s7::function::read_var:
    case s7::function::write_var: {
      if (!opt.params.allow_zero_items) FUZZ_CHECK(prm.item_count != 0);
      FUZZ_CHECK(within(prm.items, p.param));
      const std::size_t end = walk_var_specs(prm.items, prm.item_count, p.origin, opt.params.items);
      FUZZ_CHECK(end == p.param_offset + p.param.size());
      if (prm.fn == static_cast<std::uint8_t>(s7::function::read_var)) {
        FUZZ_CHECK(p.data.empty());
      } else {
        const std::size_t dend =
            walk_data_items(p.data, prm.item_count, p.origin, opt.params.data, true);
        FUZZ_CHECK(dend == p.data_offset + p.data.size());
      }
      break;
    }
    case s7::function::request_download:
      FUZZ_CHECK(prm.block.has_filename && prm.block.filename.valid);
      check_filename(prm.block.filename, p.param);
      if (!prm.block.part2.empty()) {
        FUZZ_CHECK(prm.block.part2.size() == 13);
        FUZZ_CHECK(prm.block.load_memory_length.size() == 6 && prm.block.mc7_length.size() == 6);
      }
      FUZZ_CHECK(p.data.empty());
      break;
    case s7::function::download_block:
    case s7::function::download_ended:
    case s7::function::start_upload:
      FUZZ_CHECK(prm.block.has_filename && prm.block.filename.valid);
      check_filename(prm.block.filename, p.param);
      FUZZ_CHECK(p.data.empty());
      break;
    case s7::function::upload:
    case s7::function::end_upload:
      FUZZ_CHECK(p.param.size() == 8 && p.data.empty());
      break;
    case s7::function::pi_service:
      FUZZ_CHECK(prm.pi.unknown.size() == 7 && !prm.pi.service_name.empty());
      FUZZ_CHECK(within(prm.pi.param_block, p.param) && within(prm.pi.service_name, p.param));
      FUZZ_CHECK(11U + prm.pi.param_block.size() + prm.pi.service_name.size() == p.param.size());
      FUZZ_CHECK(p.data.empty());
      break;
    case s7::function::plc_stop:
      FUZZ_CHECK(prm.stop.unknown.size() == 5);
      FUZZ_CHECK(7U + prm.stop.service_name.size() == p.param.size());
      FUZZ_CHECK(p.data.empty());
      break;
    case s7::function::cpu_services:
      FUZZ_CHECK(false);
      break;
  }
}

inline void check_ack_data(const s7::message& m, const s7::decode_options& opt) {
  const s7::pdu& p = m.p;
  const s7::param& prm = m.prm;
  FUZZ_CHECK(same(prm.raw, p.param));
  if (p.param.empty()) {
    FUZZ_CHECK(p.hdr.error() != 0 && p.data.empty());
    return;
  }
  FUZZ_CHECK(s7::is_known_function(prm.fn) && prm.fn != 0x00);
  switch (static_cast<s7::function>(prm.fn)) {
    case s7::function::setup_communication:
      FUZZ_CHECK(p.param.size() == s7::setup_communication_length && p.data.empty());
      break;
    case s7::function::read_var: {
      FUZZ_CHECK(p.param.size() == 2);
      const std::size_t end =
          walk_data_items(p.data, prm.item_count, p.origin, opt.params.data, false);
      FUZZ_CHECK(end == p.data_offset + p.data.size());
      break;
    }
    case s7::function::write_var:
      FUZZ_CHECK(p.param.size() == 2 && p.data.size() == prm.item_count);
      for (const std::byte rc : p.data)
        FUZZ_CHECK(s7::is_known_return_code(std::to_integer<std::uint8_t>(rc)));
      break;
    case s7::function::download_block:
    case s7::function::upload:
      FUZZ_CHECK(p.param.size() == 2 && prm.block.has_status);
      if (!p.data.empty()) {
        const auto bd = s7::parse_block_data(p.data, p.origin);
        FUZZ_CHECK(bd.ok());
        FUZZ_CHECK(bd->payload.size() == bd->length && within(bd->payload, p.data));
      }
      break;
    case s7::function::start_upload:
      FUZZ_CHECK(within(prm.block.block_length, p.param));
      FUZZ_CHECK(9U + prm.block.block_length.size() == p.param.size() && p.data.empty());
      break;
    case s7::function::request_download:
    case s7::function::download_ended:
    case s7::function::end_upload:
    case s7::function::pi_service:
    case s7::function::plc_stop:
      FUZZ_CHECK(p.param.size() <= 2 && p.data.empty());
      FUZZ_CHECK(prm.block.has_status == (p.param.size() == 2));
      break;
    case s7::function::cpu_services:
      FUZZ_CHECK(false);
      break;
  }
}

// Every payload helper of userdata.hpp / szl.hpp on `payload` (whatever group the PDU names:
// the helpers must be safe on any bytes). `origin` is the start of the top-level buffer.
inline void check_payload_helpers(bytes payload, const std::byte* origin, std::size_t origin_size) {
  namespace ud = s7::ud;
  const std::size_t at = payload.data() == nullptr ? 0 : offset_in(payload, origin);

  const auto q = c::szl::parse_request(payload, origin);
  FUZZ_CHECK(q.ok() == (payload.size() == 4));
  if (!q) FUZZ_CHECK(well_formed(q.err(), origin_size) && q.err().offset == at);

  const auto whole = c::szl::parse_response(payload, origin, true);
  const auto part = c::szl::parse_response(payload, origin, false);
  if (!whole) FUZZ_CHECK(well_formed(whole.err(), origin_size));
  if (!part) FUZZ_CHECK(well_formed(part.err(), origin_size));
  // Record bytes the whole answer carries: LENTHDR x N_DR, none for a header-only SZL-ID 0x0Fxx.
  const auto wanted = [](const c::szl::response_head& h) {
    return c::szl::is_header_only(h.id) ? 0 : std::size_t{h.record_length} * h.record_count;
  };
  if (whole) {
    FUZZ_CHECK(part.ok());  // a complete answer is also a valid first fragment
    FUZZ_CHECK(whole->records.size() == wanted(*whole));
  }
  if (part) {
    FUZZ_CHECK(payload.size() >= c::szl::response_head_size);
    FUZZ_CHECK(within(part->records, payload));
    FUZZ_CHECK(part->records.size() == payload.size() - c::szl::response_head_size);
    FUZZ_CHECK(part->records.size() <= wanted(*part));
  }

  const auto bi = ud::parse_block_info(payload, origin);
  FUZZ_CHECK(bi.ok() == (payload.size() == ud::block_info_length));
  if (!bi) FUZZ_CHECK(well_formed(bi.err(), origin_size));
  if (bi) {
    FUZZ_CHECK(bi->code_timestamp.size() == 6 && bi->interface_timestamp.size() == 6);
    FUZZ_CHECK(bi->author.size() == 8 && bi->family.size() == 8 && bi->name.size() == 8);
    FUZZ_CHECK(within(bi->name, payload));
  }

  const auto ts = ud::parse_timestamp(payload, origin);
  if (ts) {
    FUZZ_CHECK(payload.size() == ud::timestamp_length);
    FUZZ_CHECK(ts->year >= 1990 && ts->year <= 2089);
    FUZZ_CHECK(ts->month >= 1 && ts->month <= 12 && ts->day >= 1 && ts->day <= 31);
    FUZZ_CHECK(ts->hour <= 23 && ts->minute <= 59 && ts->second <= 59 && ts->millisecond <= 999);
    FUZZ_CHECK(ts->weekday <= 0x0F);
  } else {
    FUZZ_CHECK(well_formed(ts.err(), origin_size));
  }

  const auto cyc = ud::parse_cyclic_request(payload, origin);
  if (cyc) {
    FUZZ_CHECK(within(cyc->items, payload) && cyc->items.size() + 4 == payload.size());
    (void)walk_var_specs(cyc->items, cyc->item_count, origin, s7::item_options{});
  } else {
    FUZZ_CHECK(well_formed(cyc.err(), origin_size));
  }

  // Fixed 4-byte records: exactly the indices below size / 4, and only for a multiple of 4.
  const bool aligned = payload.size() % 4U == 0;
  for (std::size_t i = 0; i <= payload.size() / 4U; ++i) {
    ud::block_count bc;
    ud::block_entry be;
    const bool expect = aligned && i < payload.size() / 4U;
    FUZZ_CHECK(ud::block_count_at(payload, i, bc) == expect);
    FUZZ_CHECK(ud::block_entry_at(payload, i, be) == expect);
  }

  // Get block info request: "0A00001P" (type, number, file system).
  const s7::block_filename bn = s7::decode_block_name8(payload);
  check_filename(bn, payload);
  if (bn.valid) FUZZ_CHECK(payload.size() == 8);
  const s7::block_filename fn = s7::decode_filename(payload);
  check_filename(fn, payload);
  if (fn.valid) FUZZ_CHECK(payload.size() == s7::block_filename_length);
  check_ud_layouts(payload, origin, origin_size);
}

// The payload helpers on `payload` measured from itself and from a prefix before it: same
// outcome, error offsets larger by the prefix.
inline void check_payload_offsets(bytes payload) {
  namespace ud = s7::ud;
  const shifted sh{payload};
  const bytes v = sh.view();
  const std::byte* o = sh.origin();
  const std::size_t k = sh.prefix;
  const auto agree = [k](const auto& a, const auto& b) {
    FUZZ_CHECK(a.ok() == b.ok());
    if (!a.ok()) FUZZ_CHECK(same_error_shifted(a.err(), b.err(), k));
  };
  agree(c::szl::parse_request(payload, payload.data()), c::szl::parse_request(v, o));
  agree(c::szl::parse_response(payload, payload.data(), true), c::szl::parse_response(v, o, true));
  agree(c::szl::parse_response(payload, payload.data(), false),
        c::szl::parse_response(v, o, false));
  agree(ud::parse_block_info(payload, payload.data()), ud::parse_block_info(v, o));
  agree(ud::parse_timestamp(payload, payload.data()), ud::parse_timestamp(v, o));
  agree(ud::parse_cyclic_request(payload, payload.data()), ud::parse_cyclic_request(v, o));
}

inline void check_userdata(const s7::message& m, bytes in) {
  namespace ud = s7::ud;
  const s7::pdu& p = m.p;
  const ud::param& prm = m.ud.prm;
  if (prm.mode_transition) {
    // The mode-transition push: 01 00 and 6 bytes, no data (userdata.hpp).
    FUZZ_CHECK(prm.head0 == ud::mode_transition_head0 && prm.head1 == 0);
    FUZZ_CHECK(p.param.size() == ud::short_param_length && p.data.empty() && !m.ud.has_data);
    FUZZ_CHECK(!prm.extended);
    return;
  }
  FUZZ_CHECK(prm.head0 == 0 && (prm.length == 4 || prm.length == 8));
  FUZZ_CHECK(prm.extended == (prm.length == 8));
  FUZZ_CHECK(p.param.size() == 4U + prm.length);
  FUZZ_CHECK(prm.method == ud::method_request || prm.method == ud::method_response ||
             prm.method == ud::method_pbc_r_id);
  FUZZ_CHECK(ud::is_known_type(prm.type) && prm.group <= 0x0F);
  FUZZ_CHECK(m.ud.has_data == !p.data.empty());
  if (!m.ud.has_data) return;
  const ud::data_unit& du = m.ud.data;
  FUZZ_CHECK(du.length == du.payload.size() && du.payload.size() + 4 == p.data.size());
  FUZZ_CHECK(within(du.payload, p.data));
  FUZZ_CHECK(du.payload_offset == p.data_offset + 4);
  check_payload_helpers(du.payload, p.origin, in.size());
}

// The body of the per-ROSCTR targets (s7_job, s7_ack_data, userdata): the input with its ROSCTR
// set to `rosctr` (an exactly sized copy, so reads past the end are still caught), decoded with
// the strict and the lenient options; errors must be well formed and a leniency only ever
// accepts more; on success `check(message, options, input)` walks what was decoded.
template <class Check>
void fuzz_rosctr(const std::uint8_t* data, std::size_t size, s7::rosctr rosctr, Check&& check) {
  const std::vector<std::byte> copy =
      with_rosctr(as_bytes(data, size), static_cast<std::uint8_t>(rosctr));
  const bytes in{copy.data(), copy.size()};
  bool strict_ok = false;
  for (const s7::decode_options& opt : {strict_options(), lenient_options()}) {
    const auto m = decode_both_ways(in, opt);
    if (!m) {
      FUZZ_CHECK(well_formed(m.err(), in.size()));
      FUZZ_CHECK(!strict_ok);  // a leniency only ever accepts more
      continue;
    }
    if (!opt.header.allow_nonzero_redundancy_id) strict_ok = true;
    FUZZ_CHECK(m->p.hdr.type == rosctr);
    check_pdu(m->p, in);
    check(*m, opt, in);
  }
}

}  // namespace protos7::fuzz
