#include "protos7/codec/ud_tis.hpp"

#include "protos7/codec/s7_data.hpp"

namespace protos7::codec::s7::tis {

namespace {
const std::byte* origin_of(bytes in, const std::byte* origin) noexcept {
  return origin == nullptr ? in.data() : origin;
}
error fail(errc code, std::uint32_t at) noexcept {
  return error{code, layer::userdata, at, 0};
}
}  // namespace

// --- Frame ------------------------------------------------------------------------------------

result<frame> parse_frame(bytes payload, const std::byte* origin) noexcept {
  reader r{payload, origin_of(payload, origin), layer::userdata};
  const std::uint32_t at = r.offset();
  frame f;
  f.param_size = r.u16be();
  f.data_size = r.u16be();
  if (!r.ok()) return r.err();
  if (std::size_t{f.param_size} + f.data_size != r.remaining())
    return fail(errc::userdata_tis_bad_size, at);
  f.param_offset = r.offset();
  f.param = r.take(f.param_size);
  f.data_offset = r.offset();
  f.data = r.take(f.data_size);
  return f;
}

void write_frame(writer& w, bytes param, bytes data) noexcept {
  if (param.size() > 0xFFFF || data.size() > 0xFFFF) w.range_error();
  w.u16be(static_cast<std::uint16_t>(param.size() & 0xFFFFU));
  w.u16be(static_cast<std::uint16_t>(data.size() & 0xFFFFU));
  w.raw(param);
  w.raw(data);
}

// --- Parameter --------------------------------------------------------------------------------

namespace {
void read_callenv(reader& r, job_param& p) noexcept {
  p.callenv_setup = r.u16be();
  p.callenv_cond = r.u16be();
  p.db1_or_block_type = r.u16be();
  p.db2_or_block_number = r.u16be();
  if (p.callenv_setup != callenv_db_numbers && p.size >= job_param_cond_address)
    p.cond_address = r.u16be();
}
void write_callenv(writer& w, const job_param& p) noexcept {
  w.u16be(p.callenv_setup);
  w.u16be(p.callenv_cond);
  w.u16be(p.db1_or_block_type);
  w.u16be(p.db2_or_block_number);
  if (p.callenv_setup != callenv_db_numbers && p.size >= job_param_cond_address)
    w.u16be(p.cond_address);
}
// Bytes the fields of `p` take (the rest of the size is `extra`).
std::size_t fields_size(const job_param& p) noexcept {
  if (p.size >= job_param_callenv)
    return p.callenv_setup != callenv_db_numbers && p.size >= job_param_cond_address ? 38 : 36;
  if (p.size >= job_param_saz) return 28;
  if (p.size >= job_param_block) return 26;
  if (p.size >= job_param_trigger) return 20;
  return p.size >= job_param_basic ? 4 : 0;
}
}  // namespace

result<job_param> parse_job_param(bytes param, const std::byte* origin) noexcept {
  reader r{param, origin_of(param, origin), layer::userdata};
  job_param p;
  p.size = static_cast<std::uint16_t>(param.size());
  if (p.size != 0 && p.size < job_param_basic) return fail(errc::userdata_tis_bad_size, r.offset());
  if (p.size >= job_param_basic) {
    p.param1 = r.u16be();
    p.param2 = r.u16be();
  }
  if (p.size >= job_param_trigger) {
    p.param3 = r.u16be();
    p.answer_size = r.u16be();
    p.param5 = r.u16be();
    p.param6 = r.u16be();
    p.param7 = r.u16be();
    p.param8 = r.u16be();
    p.param9 = r.u16be();
    p.trigger_event = r.u16be();
  }
  if (p.size >= job_param_block) {
    p.block_type = r.u16be();
    p.block_number = r.u16be();
    p.start_address = r.u16be();
  }
  if (p.size >= job_param_saz) p.saz = r.u16be();
  if (p.size >= job_param_callenv) read_callenv(r, p);
  p.extra = r.rest();
  if (!r.ok()) return r.err();
  return p;
}

void write_job_param(writer& w, const job_param& p) noexcept {
  if (fields_size(p) + p.extra.size() != p.size) w.range_error();
  if (p.size >= job_param_basic) {
    w.u16be(p.param1);
    w.u16be(p.param2);
  }
  if (p.size >= job_param_trigger) {
    for (const std::uint16_t v : {p.param3, p.answer_size, p.param5, p.param6, p.param7, p.param8,
                                  p.param9, p.trigger_event})
      w.u16be(v);
  }
  if (p.size >= job_param_block) {
    w.u16be(p.block_type);
    w.u16be(p.block_number);
    w.u16be(p.start_address);
  }
  if (p.size >= job_param_saz) w.u16be(p.saz);
  if (p.size >= job_param_callenv) write_callenv(w, p);
  w.raw(p.extra);
}

result<response_param> parse_response_param(bytes param, const std::byte* origin) noexcept {
  reader r{param, origin_of(param, origin), layer::userdata};
  if (param.size() != response_param_length) return fail(errc::userdata_tis_bad_size, r.offset());
  response_param p;
  p.param1 = r.u16be();
  p.param2 = r.u16be();
  return p;
}

void write_response_param(writer& w, const response_param& p) noexcept {
  w.u16be(p.param1);
  w.u16be(p.param2);
}

// --- Addresses and values ---------------------------------------------------------------------

void write_item_address(writer& w, const item_address& a) noexcept {
  w.u8(a.area);
  w.u8(a.count_or_bit);
  w.u16be(a.db);
  w.u16be(a.start);
}

namespace {
bool carries_data(std::uint8_t rc) noexcept {
  return rc == return_code::success || rc == return_code::reserved;
}

// Reads one value at `r`.
void read_value(reader& r, item_value& v) noexcept {
  v.offset = r.offset();
  v.return_code = r.u8();
  v.tsize = r.u8();
  v.length = r.u16be();
  if (!r.ok()) return;
  if (!is_known_return_code(v.return_code)) {
    r.fail_at(errc::data_bad_return_code, v.offset);
    return;
  }
  if (!carries_data(v.return_code)) {
    if (v.length != 0) r.fail_at(errc::data_error_item_has_data, v.offset + 2);
    v.data = {};
    v.has_fill = false;
    return;
  }
  const std::size_t n = data_bytes(v.tsize, v.length);
  if (r.remaining() < n) {
    r.fail_at(errc::data_item_truncated, v.offset + 2);
    return;
  }
  v.data = r.take(n);
  v.has_fill = (n & 1U) != 0;
  if (v.has_fill) {
    const std::uint32_t at = r.offset();
    if (r.u8() != 0 && r.ok()) r.fail_at(errc::data_fill_nonzero, at);
  }
}
}  // namespace

void write_return_codes(writer& w, bytes codes) noexcept {
  if (codes.size() > 0xFFFF) w.range_error();
  w.u16be(static_cast<std::uint16_t>(codes.size() & 0xFFFFU));
  w.raw(codes);
  if ((codes.size() & 1U) != 0) w.u8(0);
}

void write_item_value(writer& w, std::uint8_t rc, std::uint8_t tsize, bytes data) noexcept {
  w.u8(rc);
  w.u8(tsize);
  if (!carries_data(rc)) {
    w.u16be(0);
    return;
  }
  const std::size_t length = length_in_bits(tsize) ? data.size() * 8U : data.size();
  if (length > 0xFFFF) w.range_error();
  w.u16be(static_cast<std::uint16_t>(length & 0xFFFFU));
  w.raw(data);
  if ((data.size() & 1U) != 0) w.u8(0);
}

namespace {
// Reads `count` values; returns the bytes they took.
bytes read_values(reader& r, std::size_t count) noexcept {
  const bytes start = r.rest();
  item_value v;
  for (std::size_t i = 0; i < count && r.ok(); ++i) read_value(r, v);
  return r.ok() ? start.first(start.size() - r.remaining()) : bytes{};
}
}  // namespace

result<item_list> parse_item_list(bytes data, list_kind kind, const std::byte* origin) noexcept {
  reader r{data, origin_of(data, origin), layer::userdata};
  item_list l;
  const std::uint32_t count_at = r.offset();
  l.count = r.u16be();
  if (!r.ok()) return r.err();
  if (kind == list_kind::addresses || kind == list_kind::addresses_and_values) {
    const std::size_t n = std::size_t{l.count} * item_address_length;
    if (r.remaining() < n) return fail(errc::userdata_bad_item_count, count_at);
    l.addresses = r.take(n);
  }
  if (kind == list_kind::values || kind == list_kind::addresses_and_values)
    l.values = read_values(r, l.count);
  if (kind == list_kind::return_codes) {
    if (r.remaining() < l.count) return fail(errc::userdata_bad_item_count, count_at);
    l.return_codes = r.take(l.count);
    if ((l.count & 1U) != 0) {
      const std::uint32_t at = r.offset();
      if (r.u8() != 0 && r.ok()) r.fail_at(errc::data_fill_nonzero, at);
    }
  }
  if (!r.ok()) {
    // A value cut short by the end of the data means the count promised more items.
    if (r.err().code == errc::truncated) return fail(errc::userdata_bad_item_count, count_at);
    return r.err();
  }
  if (!r.empty()) return fail(errc::userdata_bad_item_count, count_at);
  return l;
}

void write_item_count(writer& w, std::uint16_t count) noexcept {
  w.u16be(count);
}

bool address_iterator::next(item_address& out, std::uint32_t* offset) noexcept {
  if (rest_.size() < item_address_length) return false;
  reader r{rest_, origin_, layer::userdata};
  if (offset != nullptr) *offset = r.offset();
  out.area = r.u8();
  out.count_or_bit = r.u8();
  out.db = r.u16be();
  out.start = r.u16be();
  rest_ = r.rest();
  return true;
}

bool value_iterator::next(item_value& out) noexcept {
  if (rest_.empty()) return false;
  reader r{rest_, origin_, layer::userdata};
  read_value(r, out);
  if (!r.ok()) {
    rest_ = {};
    return false;
  }
  rest_ = r.rest();
  return true;
}

// --- Jobs -------------------------------------------------------------------------------------

result<job_ref> parse_job_ref(std::uint8_t subfunction, bytes data,
                              const std::byte* origin) noexcept {
  reader r{data, origin_of(data, origin), layer::userdata};
  job_ref j;
  std::size_t size = 2;
  if (subfunction == sub::delete_job) {
    size = 4;
  } else if (subfunction != sub::enable_job && subfunction != sub::disable_job &&
             subfunction != sub::read_job) {
    return fail(errc::userdata_bad_payload, r.offset());
  }
  if (data.size() != size) return fail(errc::userdata_bad_payload, r.offset());
  if (size == 4) j.reserved = r.take(2);
  j.function = r.u8();
  j.seq = r.u8();
  return j;
}

void write_job_ref(writer& w, std::uint8_t subfunction, const job_ref& j) noexcept {
  if (subfunction == sub::delete_job) {
    if (j.reserved.size() == 2)
      w.raw(j.reserved);
    else
      w.zeros(2);
  }
  w.u8(j.function);
  w.u8(j.seq);
}

result<std::size_t> parse_job_list(bytes data, const std::byte* origin) noexcept {
  if (data.size() % job_entry_length != 0)
    return fail(errc::userdata_bad_payload, offset_of(origin_of(data, origin), data.data()));
  return data.size() / job_entry_length;
}

bool job_entry_at(bytes data, std::size_t index, job_entry& out) noexcept {
  if (data.size() % job_entry_length != 0 || index >= data.size() / job_entry_length) return false;
  reader r{data.subspan(index * job_entry_length, job_entry_length), layer::userdata};
  out.function = r.u8();
  out.seq = r.u8();
  out.reserved = r.u16be();
  return r.ok();
}

void write_job_entry(writer& w, const job_entry& e) noexcept {
  w.u8(e.function);
  w.u8(e.seq);
  w.u16be(e.reserved);
}

result<replace_job> parse_replace_job(bytes data, const std::byte* origin) noexcept {
  const std::byte* o = origin_of(data, origin);
  reader r{data, o, layer::userdata};
  replace_job j;
  j.reserved = r.take(2);
  j.function = r.u8();
  j.seq = r.u8();
  if (!r.ok()) return r.err();
  const auto f = parse_frame(r.rest(), o);
  if (!f) return f.err();
  j.job = *f;
  return j;
}

// --- Block status ----------------------------------------------------------------------------

result<block_status_request> parse_block_status_request(bool v2, bytes data,
                                                        const std::byte* origin) noexcept {
  reader r{data, origin_of(data, origin), layer::userdata};
  block_status_request b;
  b.v2 = v2;
  const std::uint32_t at = r.offset();
  if (v2) {
    b.flags = r.u8();
    b.line_count = r.u8();
  }
  b.reserved = r.take(1);
  b.registers = r.u8();
  if (!r.ok()) return r.err();
  const std::size_t line_size = v2 ? 4 : 2;
  if (!v2) {
    if (r.remaining() % line_size != 0 || r.remaining() / line_size > 0xFF)
      return fail(errc::userdata_bad_item_count, at);
    b.line_count = static_cast<std::uint8_t>(r.remaining() / line_size);
  }
  if (r.remaining() != std::size_t{b.line_count} * line_size)
    return fail(errc::userdata_bad_item_count, at + 1);
  b.lines = r.rest();
  return b;
}

bool block_status_line_at(const block_status_request& b, std::size_t index,
                          block_status_line& out) noexcept {
  const std::size_t line_size = b.v2 ? 4 : 2;
  if (index >= b.line_count || (index + 1) * line_size > b.lines.size()) return false;
  reader r{b.lines.subspan(index * line_size, line_size), layer::userdata};
  out.address = b.v2 ? r.u16be() : std::uint16_t{0};
  out.reserved = r.u8();
  out.registers = r.u8();
  return r.ok();
}

void write_block_status_request(writer& w, const block_status_request& b) noexcept {
  if (b.v2 && b.lines.size() != std::size_t{b.line_count} * 4U) w.range_error();
  if (!b.v2 && b.lines.size() % 2U != 0) w.range_error();
  if (b.v2) {
    w.u8(b.flags);
    w.u8(b.line_count);
  }
  if (b.reserved.size() == 1)
    w.raw(b.reserved);
  else
    w.u8(0);
  w.u8(b.registers);
  w.raw(b.lines);
}

result<block_status_push> parse_block_status_push(bytes data, const std::byte* origin) noexcept {
  reader r{data, origin_of(data, origin), layer::userdata};
  block_status_push b;
  b.start_address = r.u16be();
  if (!r.ok()) return r.err();
  b.values = r.rest();
  return b;
}

void write_block_status_push(writer& w, const block_status_push& b) noexcept {
  w.u16be(b.start_address);
  w.raw(b.values);
}

}  // namespace protos7::codec::s7::tis
