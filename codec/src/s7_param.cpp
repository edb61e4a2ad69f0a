#include "protos7/codec/s7_param.hpp"

namespace protos7::codec::s7 {

bool is_known_function(std::uint8_t fn) noexcept {
  switch (fn) {
    case 0x00:
    case 0x04:
    case 0x05:
    case 0x1A:
    case 0x1B:
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x1F:
    case 0x28:
    case 0x29:
    case 0xF0:
      return true;
    default:
      return false;
  }
}

namespace {

constexpr std::uint8_t u8_of(std::byte b) noexcept {
  return std::to_integer<std::uint8_t>(b);
}

int hex_digit(std::uint8_t c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Type (2 hex chars) + number (5 digits) + file system (1 char) at `s`.
bool decode_type_number_fs(bytes s, block_filename& f) noexcept {
  if (s.size() != 8) return false;
  const int hi = hex_digit(u8_of(s[0]));
  const int lo = hex_digit(u8_of(s[1]));
  if (hi < 0 || lo < 0) return false;
  f.block_type = static_cast<std::uint8_t>(hi * 16 + lo);
  std::uint32_t n = 0;
  for (std::size_t i = 2; i < 7; ++i) {
    const std::uint8_t c = u8_of(s[i]);
    if (c < '0' || c > '9') return false;
    n = n * 10U + static_cast<std::uint32_t>(c - '0');
  }
  f.number = n;
  f.filesystem = static_cast<char>(u8_of(s[7]));
  return true;
}

void expect_no_data(const pdu& p, reader& r) noexcept {
  if (r.ok() && !p.data.empty()) r.fail_at(errc::param_data_not_allowed, p.data_offset);
}

// The Ack_Data of a block control, PI or stop job: fn and, when present, one status byte.
void read_ack_status(reader& r, param& out) noexcept {
  if (r.empty()) return;
  out.block.status = r.u8();
  out.block.has_status = true;
  out.pi.status = out.block.status;
  out.pi.has_status = true;
}

// The parameter ends here, and no data block follows it.
void expect_param_end(const pdu& p, reader& r) noexcept {
  r.expect_end(errc::param_bad_length);
  expect_no_data(p, r);
}

// fn, status, u16, u32 of the block control jobs.
void read_block_head(reader& r, block_control& b) noexcept {
  b.status = r.u8();
  b.has_status = true;
  b.word = r.u16be();
  b.upload_id = r.u32be();
}

void read_filename(reader& r, block_control& b) noexcept {
  const std::uint32_t at = r.offset();
  const std::uint8_t len = r.u8();
  const bytes name = r.take(len);
  if (!r.ok()) return;
  b.has_filename = true;
  b.filename = decode_filename(name);
  if (!b.filename.valid) r.fail_at(errc::param_bad_filename, at);
}

// The Setup Communication parameter after fn (Job and Ack_Data: the same 8 bytes).
void read_setup(reader& r, setup_communication& s) noexcept {
  s.reserved = r.u8();
  s.max_amq_calling = r.u16be();
  s.max_amq_called = r.u16be();
  s.pdu_length = r.u16be();
}

// Request download, part 2 after the file name (optional): length 13, '1', load memory length
// (6 ASCII), MC7 length (6 ASCII).
void read_download_lengths(reader& r, block_control& b) noexcept {
  if (!r.ok() || r.empty()) return;
  const std::uint32_t at = r.offset();
  const std::uint8_t len = r.u8();
  b.part2 = r.take(len);
  if (r.ok() && len == 13) {
    b.load_memory_length = b.part2.subspan(1, 6);
    b.mc7_length = b.part2.subspan(7, 6);
  } else if (r.ok()) {
    r.fail_at(errc::param_bad_length, at);
  }
}

// PI-Service job: 7 unknown bytes, the parameter block (u16 length), the service name (u8
// length, never empty).
void read_pi_service(reader& r, pi_service& pi) noexcept {
  pi.unknown = r.take(7);
  const std::uint16_t plen = r.u16be();
  pi.param_block = r.take(plen);
  const std::uint32_t nlen_at = r.offset();
  const std::uint8_t nlen = r.u8();
  pi.service_name = r.take(nlen);
  if (r.ok() && nlen == 0) r.fail_at(errc::param_bad_pi_service, nlen_at);
}

void parse_items_and_data(const pdu& p, reader& r, param& out, bool job,
                          const param_options& opt) noexcept {
  out.item_count = r.u8();
  if (!r.ok()) return;
  if (job) {
    if (out.item_count == 0 && !opt.allow_zero_items) {
      r.fail_at(errc::param_item_count_zero, p.param_offset + 1);
      return;
    }
    out.items = r.rest();
    reader items{out.items, p.origin, layer::s7_item};
    parse_var_specs(items, out.item_count, opt.items);
    r.adopt(items.err());
    r.skip(r.remaining());
    if (!r.ok()) return;
    if (out.fn == static_cast<std::uint8_t>(function::read_var)) {
      expect_no_data(p, r);
      return;
    }
    // Write Var: the values of the items are the data block.
    if (p.data.empty()) {
      r.fail_at(errc::param_data_missing, p.data_offset);
      return;
    }
    reader d{p.data, p.origin, layer::s7_data};
    parse_data_items(d, out.item_count, data_kind::write_request, opt.data);
    r.adopt(d.err());
    return;
  }
  // Ack_Data: fn + count only.
  r.expect_end(errc::param_bad_length);
  if (!r.ok()) return;
  reader d{p.data, p.origin, layer::s7_data};
  if (out.fn == static_cast<std::uint8_t>(function::read_var)) {
    parse_data_items(d, out.item_count, data_kind::read_response, opt.data);
  } else {
    // Write Var Ack_Data: one return code per item.
    if (p.data.size() != out.item_count) {
      d.fail(errc::data_count_mismatch);
    } else {
      for (std::size_t i = 0; i < out.item_count && d.ok(); ++i) {
        const std::uint32_t at = d.offset();
        if (!is_known_return_code(d.u8())) d.fail_at(errc::data_bad_return_code, at);
      }
    }
  }
  r.adopt(d.err());
}

// Clears the fields `fn` owns, so a param reused across PDUs never shows stale values in them;
// the fields of other functions are left alone (they are meaningless for this fn).
void reset_for(param& out, std::uint8_t fn) noexcept {
  out.item_count = 0;
  out.items = {};
  switch (static_cast<function>(fn)) {
    case function::setup_communication:
      out.setup = {};
      break;
    case function::read_var:
    case function::write_var:
      break;
    case function::pi_service:
    case function::plc_stop:
      out.pi = {};
      out.stop = {};
      out.block = {};
      break;
    default:
      out.block = {};
      out.pi = {};
      break;
  }
}

}  // namespace

block_filename decode_filename(bytes name) noexcept {
  block_filename f;
  f.raw = name;
  if (name.size() != block_filename_length) return f;
  f.file_id = static_cast<char>(u8_of(name[0]));
  if (f.file_id != '_' && f.file_id != '$') return f;
  f.valid = decode_type_number_fs(name.subspan(1), f);
  return f;
}

block_filename decode_block_name8(bytes name) noexcept {
  block_filename f;
  f.raw = name;
  f.valid = decode_type_number_fs(name, f);
  return f;
}

void write_block_name8(writer& w, const block_ref& b) noexcept {
  static constexpr char hex[] = "0123456789ABCDEF";
  w.u8(static_cast<std::uint8_t>(hex[b.type >> 4U]));
  w.u8(static_cast<std::uint8_t>(hex[b.type & 0x0FU]));
  if (b.number > 99999) w.range_error();
  std::uint32_t n = b.number % 100000U;
  std::uint8_t digits[5]{};
  for (std::size_t i = 5; i-- > 0; n /= 10U) digits[i] = static_cast<std::uint8_t>('0' + n % 10U);
  for (const std::uint8_t d : digits) w.u8(d);
  w.u8(static_cast<std::uint8_t>(b.filesystem));
}

void write_block_filename(writer& w, const block_ref& b, char file_id) noexcept {
  w.u8(static_cast<std::uint8_t>(file_id));
  write_block_name8(w, b);
}

result<pi_block_list> parse_pi_block_list(bytes param_block, const std::byte* origin) noexcept {
  reader r{param_block, origin == nullptr ? param_block.data() : origin, layer::s7_param};
  const std::uint32_t at = r.offset();
  pi_block_list out;
  out.count = r.u8();
  out.unknown = r.u8();
  if (!r.ok() || out.count == 0 || r.remaining() != std::size_t{out.count} * block_name8_length)
    return error{errc::param_bad_pi_service, layer::s7_param, at, 0};
  const std::uint32_t names_at = r.offset();
  out.names = r.take(r.remaining());
  for (std::size_t i = 0; i < out.count; ++i)
    if (!out.at(i).valid)
      return error{errc::param_bad_filename, layer::s7_param,
                   names_at + static_cast<std::uint32_t>(i * block_name8_length), 0};
  return out;
}

void write_pi_block_list(writer& w, std::span<const block_ref> blocks) noexcept {
  if (blocks.empty() || blocks.size() > 255) w.range_error();
  w.u8(static_cast<std::uint8_t>(blocks.size() & 0xFFU));
  w.u8(0);
  for (const block_ref& b : blocks) write_block_name8(w, b);
}

restart pi_restart_of(bytes param_block) noexcept {
  return !param_block.empty() && param_block.front() == std::byte{'C'} ? restart::cold
                                                                       : restart::warm_or_hot;
}

void write_pi_restart(writer& w, restart r) noexcept {
  if (r != restart::cold) return;
  w.u8('C');
  w.u8(' ');
}

result<param> parse_job(const pdu& p, const param_options& opt) noexcept {
  param out;
  if (const error e = parse_job(p, out, opt)) return e;
  return out;
}

result<param> parse_ack_data(const pdu& p, const param_options& opt) noexcept {
  param out;
  if (const error e = parse_ack_data(p, out, opt)) return e;
  return out;
}

error parse_job(const pdu& p, param& out, const param_options& opt) noexcept {
  out.raw = p.param;
  out.fn = 0;
  reset_for(out, 0);
  if (p.param.empty()) return error{errc::s7_missing_param, layer::s7_param, p.param_offset, 0};
  reader r{p.param, p.origin, layer::s7_param};
  out.fn = r.u8();
  if (out.fn != 0) reset_for(out, out.fn);
  switch (static_cast<function>(out.fn)) {
    case function::setup_communication:
      if (p.param.size() != setup_communication_length)
        return error{errc::param_bad_length, layer::s7_param, p.param_offset, 0};
      read_setup(r, out.setup);
      if (out.setup.reserved != 0) r.fail_at(errc::param_reserved_nonzero, p.param_offset + 1);
      expect_no_data(p, r);
      break;
    case function::read_var:
    case function::write_var:
      parse_items_and_data(p, r, out, true, opt);
      break;
    case function::request_download:
      read_block_head(r, out.block);
      read_filename(r, out.block);
      read_download_lengths(r, out.block);
      expect_param_end(p, r);
      break;
    case function::download_block:
    case function::download_ended:
    case function::start_upload:
      read_block_head(r, out.block);
      read_filename(r, out.block);
      expect_param_end(p, r);
      break;
    case function::upload:
    case function::end_upload:
      read_block_head(r, out.block);
      expect_param_end(p, r);
      break;
    case function::pi_service:
      read_pi_service(r, out.pi);
      expect_param_end(p, r);
      break;
    case function::plc_stop: {
      out.stop.unknown = r.take(5);
      const std::uint8_t nlen = r.u8();
      out.stop.service_name = r.take(nlen);
      expect_param_end(p, r);
      break;
    }
    case function::cpu_services:
    default:
      return error{errc::param_unknown_function, layer::s7_param, p.param_offset, 0};
  }
  return r.err();
}

error parse_ack_data(const pdu& p, param& out, const param_options& opt) noexcept {
  out.raw = p.param;
  out.fn = 0;
  reset_for(out, 0);
  if (p.param.empty()) {
    // A CPU answers some failed jobs with an Ack_Data that has only the header error.
    if (p.hdr.error() != 0 && p.data.empty()) return {};
    return error{errc::s7_missing_param, layer::s7_param, p.param_offset, 0};
  }
  reader r{p.param, p.origin, layer::s7_param};
  out.fn = r.u8();
  if (out.fn != 0) reset_for(out, out.fn);
  switch (static_cast<function>(out.fn)) {
    case function::setup_communication:
      if (p.param.size() != setup_communication_length)
        return error{errc::param_bad_length, layer::s7_param, p.param_offset, 0};
      read_setup(r, out.setup);
      expect_no_data(p, r);
      break;
    case function::read_var:
    case function::write_var:
      parse_items_and_data(p, r, out, false, opt);
      break;
    case function::request_download:
    case function::download_ended:
    case function::end_upload:
    case function::pi_service:
    case function::plc_stop:
      read_ack_status(r, out);
      expect_param_end(p, r);
      break;
    case function::download_block:
    case function::upload: {
      out.block.status = r.u8();
      out.block.has_status = true;
      r.expect_end(errc::param_bad_length);
      if (!r.ok()) break;
      if (!p.data.empty()) {
        const auto bd = parse_block_data(p.data, p.origin);
        if (!bd) r.adopt(bd.err());
      }
      break;
    }
    case function::start_upload: {
      read_block_head(r, out.block);
      const std::uint8_t len = r.u8();
      out.block.block_length = r.take(len);
      expect_param_end(p, r);
      break;
    }
    case function::cpu_services:
    default:
      return error{errc::param_unknown_function, layer::s7_param, p.param_offset, 0};
  }
  return r.err();
}

result<block_data> parse_block_data(bytes data, const std::byte* origin) noexcept {
  reader r{data, origin == nullptr ? data.data() : origin, layer::s7_data};
  block_data b;
  const std::uint32_t at = r.offset();
  b.length = r.u16be();
  b.unknown = r.u16be();
  if (!r.ok()) return r.err();
  if (b.length != r.remaining()) return error{errc::data_item_truncated, layer::s7_data, at, 0};
  b.payload = r.rest();
  return b;
}

void write_setup_communication(writer& w, const setup_communication& s) noexcept {
  w.u8(static_cast<std::uint8_t>(function::setup_communication));
  w.u8(s.reserved);
  w.u16be(s.max_amq_calling);
  w.u16be(s.max_amq_called);
  w.u16be(s.pdu_length);
}

void write_var_job(writer& w, function fn, std::span<const any_address> items) noexcept {
  w.u8(static_cast<std::uint8_t>(fn));
  if (items.size() > 0xFF) w.range_error();
  w.u8(static_cast<std::uint8_t>(items.size() & 0xFFU));
  for (const any_address& a : items) write_any(w, a);
}

void write_var_job_head(writer& w, function fn, std::uint8_t item_count) noexcept {
  w.u8(static_cast<std::uint8_t>(fn));
  w.u8(item_count);
}

void write_var_ack(writer& w, function fn, std::uint8_t item_count) noexcept {
  w.u8(static_cast<std::uint8_t>(fn));
  w.u8(item_count);
}

namespace {
void write_lp(writer& w, bytes b) noexcept {  // 1-byte length prefix + bytes
  if (b.size() > 0xFF) w.range_error();
  w.u8(static_cast<std::uint8_t>(b.size() & 0xFFU));
  w.raw(b);
}
}  // namespace

void write_block_control_job(writer& w, function fn, const block_control& b) noexcept {
  w.u8(static_cast<std::uint8_t>(fn));
  w.u8(b.status);
  w.u16be(b.word);
  w.u32be(b.upload_id);
  if (fn == function::upload || fn == function::end_upload) return;
  write_lp(w, b.filename.raw);
  if (fn == function::request_download && !b.part2.empty()) write_lp(w, b.part2);
}

void write_block_control_ack(writer& w, function fn, const block_control& b,
                             bool with_status) noexcept {
  w.u8(static_cast<std::uint8_t>(fn));
  if (fn == function::start_upload) {
    w.u8(b.status);
    w.u16be(b.word);
    w.u32be(b.upload_id);
    write_lp(w, b.block_length);
    return;
  }
  if (with_status) w.u8(b.status);
}

void write_block_data(writer& w, bytes payload, std::uint16_t unknown) noexcept {
  if (payload.size() > 0xFFFF) w.range_error();
  w.u16be(static_cast<std::uint16_t>(payload.size() & 0xFFFFU));
  w.u16be(unknown);
  w.raw(payload);
}

void write_pi_service(writer& w, const pi_service& pi) noexcept {
  w.u8(static_cast<std::uint8_t>(function::pi_service));
  if (pi.unknown.size() == 7)
    w.raw(pi.unknown);
  else
    w.zeros(7);
  if (pi.param_block.size() > 0xFFFF) w.range_error();
  w.u16be(static_cast<std::uint16_t>(pi.param_block.size() & 0xFFFFU));
  w.raw(pi.param_block);
  write_lp(w, pi.service_name);
}

void write_plc_stop(writer& w, const plc_stop& stop) noexcept {
  w.u8(static_cast<std::uint8_t>(function::plc_stop));
  if (stop.unknown.size() == 5)
    w.raw(stop.unknown);
  else
    w.zeros(5);
  write_lp(w, stop.service_name);
}

}  // namespace protos7::codec::s7
