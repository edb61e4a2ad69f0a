#include "protos7/dump/fields.hpp"

#include <fmt/format.h>

#include "protos7/codec/names.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_peek.hpp"
#include "protos7/codec/step7_address.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/ud_alarm.hpp"
#include "protos7/codec/ud_cyclic.hpp"
#include "protos7/codec/ud_tis.hpp"

// The fields and their order follow TShark 4.0.17's s7comm dissector (packet-s7comm.c); where
// it shows a value its own way (a stale transport size, a length in bytes, a field only present
// from some size on), the comment says so. Only facts about its output are used, no code.
namespace protos7::dump {

namespace cd = protos7::codec;
namespace s7 = protos7::codec::s7;
namespace ud = protos7::codec::s7::ud;
namespace tis = protos7::codec::s7::tis;
namespace alarm = protos7::codec::s7::alarm;
namespace cyclic = protos7::codec::s7::cyclic;

void field_list::hex(std::string_view name, std::span<const std::byte> b) {
  std::string s;
  s.reserve(b.size() * 2);
  for (std::byte x : b)
    fmt::format_to(std::back_inserter(s), "{:02x}", std::to_integer<unsigned>(x));
  fields_.push_back({std::string(name), std::move(s)});
}

namespace {

using bytes = std::span<const std::byte>;

std::string ascii(bytes b) {
  std::string s;
  for (std::byte x : b) s.push_back(static_cast<char>(std::to_integer<unsigned char>(x)));
  return s;
}
// Text fields as Wireshark shows FT_STRING: up to the first NUL.
std::string cstr(bytes b) {
  std::string s = ascii(b);
  const auto nul = s.find('\0');
  if (nul != std::string::npos) s.resize(nul);
  return s;
}
// A u16 / u32 as the bytes Wireshark shows for an FT_BYTES field of that width.
std::string hex16(std::uint16_t v) {
  return fmt::format("{:04x}", v);
}
std::string hex32(std::uint32_t v) {
  return fmt::format("{:08x}", v);
}
// The eight SIG_n flags of an alarm state byte.
void signals(std::uint8_t v, field_list& out) {
  static constexpr const char* names[] = {"s7comm.alarm.signal.sig1", "s7comm.alarm.signal.sig2",
                                          "s7comm.alarm.signal.sig3", "s7comm.alarm.signal.sig4",
                                          "s7comm.alarm.signal.sig5", "s7comm.alarm.signal.sig6",
                                          "s7comm.alarm.signal.sig7", "s7comm.alarm.signal.sig8"};
  for (unsigned i = 0; i < 8; ++i) out.num(names[i], (v >> i) & 1U);
}
void state_byte(std::string_view name, std::uint8_t v, field_list& out) {
  out.num(name, v);
  signals(v, out);
}

// --- BCD timestamps -----------------------------------------------------------------------------

// A BCD byte as Wireshark converts it: 10 * high nibble + low nibble, whatever the digits.
unsigned from_bcd(std::uint8_t b) {
  return 10U * (b >> 4U) + (b & 0x0FU);
}

// An S7 timestamp: 10 bytes (time functions: reserved, year high, then 8) or 8 bytes (alarm and
// diagnostic messages). Wireshark shows nothing for a month outside 1..12; a year byte below 89
// is 20xx, otherwise the year high byte (19 for 8-byte stamps) gives the century.
void describe_s7_timestamp(bytes b, field_list& out) {
  const bool ten = b.size() == 10;
  if (b.size() != 10 && b.size() != 8) return;
  cd::reader r{b, cd::layer::userdata};
  const std::uint8_t reserved = ten ? r.u8() : 0;
  const std::uint8_t year_high = ten ? r.u8() : 0x19;
  unsigned v[7];
  for (unsigned& x : v) x = from_bcd(r.u8());
  const std::uint8_t last = r.u8();
  const unsigned ms = v[6] * 10U + from_bcd(last >> 4U);
  if (v[1] < 1 || v[1] > 12) return;
  const unsigned century = v[0] < 89 ? 20 : from_bcd(year_high);
  out.str("s7comm.data.ts", fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
                                        century * 100 + v[0], v[1], v[2], v[3], v[4], v[5], ms));
  if (ten) {
    out.num("s7comm.data.ts_reserved", from_bcd(reserved));
    out.num("s7comm.data.ts_year1", from_bcd(year_high));
  }
  static constexpr const char* names[] = {"s7comm.data.ts_year2",  "s7comm.data.ts_month",
                                          "s7comm.data.ts_day",    "s7comm.data.ts_hour",
                                          "s7comm.data.ts_minute", "s7comm.data.ts_second"};
  for (unsigned i = 0; i < 6; ++i) out.num(names[i], v[i]);
  out.num("s7comm.data.ts_millisecond", ms);
  out.num("s7comm.data.ts_weekday", last & 0x0FU);
}

// --- Read Var data items ------------------------------------------------------------------------

// Data items as Wireshark shows them (s7comm_decode_response_read_data): the length converted to
// bytes; an item with a return code other than 0x00, 0xFF and 0x0A (which it does not read the
// head of) shows the transport size and length of the item before it (for the first item its own
// transport size and length 0); the fill byte as a field.
void describe_read_data(bytes data, std::size_t count, const std::byte* origin, field_list& out) {
  s7::data_item_iterator it{data, count, origin, s7::data_options{true, true}};
  s7::data_item d;
  bool first = true;
  std::uint8_t tsize = 0;
  std::size_t length = 0;
  while (it.next(d)) {
    if (first) tsize = d.tsize;
    first = false;
    const bool head_read = d.return_code == 0x00 || d.return_code == 0xFF || d.return_code == 0x0A;
    if (head_read) {
      tsize = d.tsize;
      length = s7::data_bytes(d.tsize, d.length);
    }
    out.num("s7comm.data.returncode", d.return_code);
    out.num("s7comm.data.transportsize", tsize);
    out.num("s7comm.data.length", static_cast<std::int64_t>(length));
    if (d.return_code != 0x00 && d.return_code != 0xFF) continue;
    if (!d.data.empty()) out.hex("s7comm.resp.data", d.data);
    if (d.has_fill) out.num("s7comm.data.fillbyte", 0);
  }
}

// --- Variable specifications --------------------------------------------------------------------

void describe_any(const s7::any_address& a, field_list& out) {
  out.num("s7comm.param.item.transp_size", a.tsize);
  if (a.area == s7::data_record_area) {
    // A data record (RDREC): count, DB and address are MLEN, index and ID.
    out.num("s7comm.readrec.mlen", a.count);
    out.num("s7comm.readrec.index", a.db);
    out.num("s7comm.param.item.area", a.area);
    out.num("s7comm.readrec.id", a.address);
    return;
  }
  out.num("s7comm.param.item.length", a.count);
  out.num("s7comm.param.item.db", a.db);
  out.num("s7comm.param.item.area", a.area);
  out.num("s7comm.param.item.address", a.address);
  if (a.area == static_cast<std::uint8_t>(s7::area::timers) ||
      a.area == static_cast<std::uint8_t>(s7::area::counters)) {
    out.num("s7comm.param.item.address.number", a.address & 0xFFFFU);
  } else {
    out.num("s7comm.param.item.address.byte", (a.address & 0x7FFF8U) >> 3U);
    out.num("s7comm.param.item.address.bit", a.address & 7U);
  }
  if (const auto step7 = codec::step7::to_text(a); !step7.empty())
    out.note("step7.operand", step7.view());
}

void describe_dbread(const s7::var_spec& v, field_list& out) {
  out.num("s7comm.param.item.dbread.numareas", v.dbread_count);
  s7::dbread_area a;
  for (std::size_t i = 0; s7::dbread_at(v, i, a); ++i) {
    out.num("s7comm.param.item.dbread.length", a.length);
    out.num("s7comm.param.item.dbread.db", a.db);
    out.num("s7comm.param.item.dbread.startaddress", a.start);
  }
}

void describe_1200sym(const s7::sym1200_address& a, field_list& out) {
  out.num("s7comm.tiap.item.reserved1", a.reserved);
  out.num("s7comm.tiap.item.area1", a.area1);
  if (a.area1 == 0x0000)
    out.num("s7comm.tiap.item.area2", a.area2);
  else if (a.area1 == 0x8A0E)
    out.num("s7comm.tiap.item.dbnumber", a.area2);
  else
    out.num("s7comm.tiap.item.area2unknown", a.area2);
  out.num("s7comm.tiap.item.crc", a.crc);
  cd::reader r{a.lids, cd::layer::s7_item};
  while (r.remaining() >= 4) {
    const std::uint32_t lid = r.u32be();
    out.num("s7comm.tiap.item.lid_flags", lid >> 28U);
    out.num("s7comm.tiap.item.value", lid & 0x0FFFFFFFU);
  }
}

// One variable specification (s7comm_decode_param_item): its head, then the fields of its
// syntax id.
void describe_var_spec(const s7::var_spec& v, field_list& out) {
  out.num("s7comm.param.item.varspec", v.spec_type);
  out.num("s7comm.param.item.varspec_length", v.length);
  out.num("s7comm.param.item.syntaxid", v.syntax);
  s7::nck_address nck;
  s7::driveesany_address drive;
  s7::sym1200_address sym;
  if (v.syntax == static_cast<std::uint8_t>(s7::syntax_id::s7any) && v.length == 10) {
    describe_any(v.any, out);
  } else if (v.syntax == static_cast<std::uint8_t>(s7::syntax_id::dbread)) {
    describe_dbread(v, out);
  } else if (s7::decode_1200sym(v, sym)) {
    describe_1200sym(sym, out);
  } else if (s7::decode_nck(v, nck)) {
    out.num("s7comm.param.item.nck.area_unit", (nck.area << 5U) | nck.unit);
    out.num("s7comm.param.item.nck.area", nck.area);
    out.num("s7comm.param.item.nck.unit", nck.unit);
    out.num("s7comm.param.item.nck.column", nck.column);
    out.num("s7comm.param.item.nck.line", nck.line);
    out.num("s7comm.param.item.nck.module", nck.module);
    out.num("s7comm.param.item.nck.linecount", nck.line_count);
  } else if (s7::decode_driveesany(v, drive)) {
    out.num("s7comm.param.item.driveesany.unknown1", drive.unknown1);
    out.num("s7comm.param.item.driveesany.unknown2", drive.unknown2);
    out.num("s7comm.param.item.driveesany.unknown3", drive.unknown3);
    out.num("s7comm.param.item.driveesany.parameternr", drive.parameter);
    out.num("s7comm.param.item.driveesany.parameteridx", drive.index);
  }
}

void describe_var_specs(bytes items, std::size_t count, const std::byte* origin, field_list& out) {
  s7::var_spec_iterator it{items, count, origin};
  s7::var_spec v;
  while (it.next(v)) describe_var_spec(v, out);
}

// --- Block control, PI service, PLC stop --------------------------------------------------------

void describe_filename(const s7::block_control& b, field_list& out) {
  if (!b.has_filename) return;
  out.num("s7comm.param.blockcontrol.filename_len",
          static_cast<std::int64_t>(b.filename.raw.size()));
  out.str("s7comm.param.blockcontrol.filename", ascii(b.filename.raw));
  // Wireshark dissects a 9-character name starting with '_' and a type "08".."0F".
  const s7::block_filename& f = b.filename;
  if (f.raw.size() != s7::block_filename_length || f.raw[0] != std::byte{'_'}) return;
  const std::string name = ascii(f.raw);
  if (name.compare(1, 2, "08") < 0 || name.compare(1, 2, "0F") > 0) return;
  out.str("s7comm.data.blockcontrol.file_identifier", name.substr(0, 1));
  out.str("s7comm.data.blockcontrol.block_type", name.substr(1, 2));
  out.str("s7comm.data.blockcontrol.block_number", name.substr(3, 5));
  out.str("s7comm.data.blockcontrol.dest_filesys", name.substr(8, 1));
}

void describe_status(std::uint8_t status, field_list& out) {
  out.num("s7comm.param.blockcontrol.functionstatus", status);
  out.num("s7comm.param.blockcontrol.functionstatus.more", status & 1U);
  out.num("s7comm.param.blockcontrol.functionstatus.error", (status >> 1U) & 1U);
}

// The block control jobs (0x1A..0x1F), s7comm_decode_plc_controls_updownload.
void describe_block_job(const s7::param& prm, field_list& out) {
  const s7::block_control& b = prm.block;
  const auto fn = static_cast<s7::function>(prm.fn);
  describe_status(b.status, out);
  const bool ended = fn == s7::function::download_ended || fn == s7::function::end_upload;
  if (ended)
    out.num("s7comm.data.blockcontrol.errorcode", b.word);
  else
    out.str("s7comm.data.blockcontrol.unknown1", hex16(b.word));
  const bool upload_id = fn == s7::function::start_upload || fn == s7::function::upload ||
                         fn == s7::function::end_upload;
  if (upload_id)
    out.num("s7comm.data.blockcontrol.uploadid", b.upload_id);
  else
    out.str("s7comm.data.blockcontrol.unknown1", hex32(b.upload_id));
  describe_filename(b, out);
  if (!b.part2.empty()) {
    out.num("s7comm.data.blockcontrol.part2_len", static_cast<std::int64_t>(b.part2.size()));
    out.str("s7comm.data.blockcontrol.part2_unknown", ascii(b.part2.first(1)));
    out.str("s7comm.data.blockcontrol.loadmem_len", ascii(b.load_memory_length));
    out.str("s7comm.data.blockcontrol.mc7code_len", ascii(b.mc7_length));
  }
}

void describe_block_ack(const s7::message& m, field_list& out) {
  const s7::param& prm = m.prm;
  const s7::block_control& b = prm.block;
  if (prm.fn == static_cast<std::uint8_t>(s7::function::start_upload)) {
    describe_status(b.status, out);
    out.str("s7comm.data.blockcontrol.unknown1", hex16(b.word));
    out.num("s7comm.data.blockcontrol.uploadid", b.upload_id);
    if (!b.block_length.empty()) {
      out.num("s7comm.param.blockcontrol.upl_lenstring_len",
              static_cast<std::int64_t>(b.block_length.size()));
      out.str("s7comm.param.blockcontrol.upl_lenstring", ascii(b.block_length));
    }
    return;
  }
  if (b.has_status) describe_status(b.status, out);
  if (m.p.data.empty()) return;
  const auto bd = s7::parse_block_data(m.p.data, m.p.origin);
  if (!bd) return;
  out.num("s7comm.data.length", bd->length);
  out.str("s7comm.data.blockcontrol.unknown1", hex16(bd->unknown));
  if (!bd->payload.empty()) out.hex("s7comm.resp.data", bd->payload);
}

// The parameter block of _INSE / _INS2 / _DELE (a block list) and of P_PROGRAM, _MODU, _GARB
// (an argument string).
void describe_pi_block(const s7::pi_service& pi, const std::byte* origin, field_list& out) {
  const std::string name = ascii(pi.service_name);
  if (name == "P_PROGRAM" || name == "_MODU" || name == "_GARB") {
    if (!pi.param_block.empty()) out.str("s7comm.param.pistart.argument", cstr(pi.param_block));
    return;
  }
  if (name != "_INSE" && name != "_INS2" && name != "_DELE") return;
  const auto list = s7::parse_pi_block_list(pi.param_block, origin);
  if (!list) return;
  out.num("s7comm.data.plccontrol.block_cnt", list->count);
  out.num("s7comm.param.pi.inse.unknown", list->unknown);
  for (std::size_t i = 0; i < list->count; ++i) {
    const bytes n = list->names.subspan(i * s7::block_name8_length, s7::block_name8_length);
    const std::string s = ascii(n);
    out.str("s7comm.param.blockcontrol.filename", s);
    out.str("s7comm.data.blockcontrol.block_type", s.substr(0, 2));
    out.str("s7comm.data.blockcontrol.block_number", s.substr(2, 5));
    out.str("s7comm.data.blockcontrol.dest_filesys", s.substr(7, 1));
  }
}

void describe_pi_job(const s7::message& m, field_list& out) {
  const s7::pi_service& pi = m.prm.pi;
  out.hex("s7comm.param.pistart.unknown1", pi.unknown);
  out.num("s7comm.param.pistart.parameterblock_len",
          static_cast<std::int64_t>(pi.param_block.size()));
  describe_pi_block(pi, m.p.origin, out);
  out.num("s7comm.param.pi.n_x.string_len", static_cast<std::int64_t>(pi.service_name.size()));
  out.str("s7comm.param.pistart.servicename", ascii(pi.service_name));
}

void describe_var(const s7::message& m, bool job, field_list& out) {
  const s7::param& prm = m.prm;
  out.num("s7comm.param.itemcount", prm.item_count);
  const bool write = prm.fn == static_cast<std::uint8_t>(s7::function::write_var);
  if (job) {
    describe_var_specs(prm.items, prm.item_count, m.p.origin, out);
    if (write && !m.p.data.empty()) describe_read_data(m.p.data, prm.item_count, m.p.origin, out);
  } else if (!write) {
    describe_read_data(m.p.data, prm.item_count, m.p.origin, out);
  } else {
    for (std::byte rc : m.p.data) out.num("s7comm.data.returncode", std::to_integer<int>(rc));
  }
}

void describe_job_or_ack(const s7::message& m, bool job, field_list& out) {
  const s7::param& prm = m.prm;
  if (prm.raw.empty()) return;
  out.num("s7comm.param.func", prm.fn);
  switch (static_cast<s7::function>(prm.fn)) {
    case s7::function::setup_communication:
      out.num("s7comm.param.setup_reserved1", prm.setup.reserved);
      out.num("s7comm.param.maxamq_calling", prm.setup.max_amq_calling);
      out.num("s7comm.param.maxamq_called", prm.setup.max_amq_called);
      out.num("s7comm.param.pdu_length", prm.setup.pdu_length);
      break;
    case s7::function::read_var:
    case s7::function::write_var:
      describe_var(m, job, out);
      break;
    case s7::function::request_download:
    case s7::function::download_block:
    case s7::function::download_ended:
    case s7::function::start_upload:
    case s7::function::upload:
    case s7::function::end_upload:
      if (job)
        describe_block_job(prm, out);
      else
        describe_block_ack(m, out);
      break;
    case s7::function::pi_service:
      if (job)
        describe_pi_job(m, out);
      else if (prm.pi.has_status)
        describe_status(prm.pi.status, out);
      break;
    case s7::function::plc_stop:
      if (job) {
        out.hex("s7comm.param.pistart.unknown1", prm.stop.unknown);
        out.num("s7comm.data.plccontrol.part2_len",
                static_cast<std::int64_t>(prm.stop.service_name.size()));
        out.str("s7comm.param.pistart.servicename", ascii(prm.stop.service_name));
      }
      break;
    default:
      break;
  }
}

// --- Userdata: programmer commands (group 1) ----------------------------------------------------

constexpr std::uint8_t type_push = static_cast<std::uint8_t>(ud::type::push);
constexpr std::uint8_t type_request = static_cast<std::uint8_t>(ud::type::request);
constexpr std::uint8_t type_response = static_cast<std::uint8_t>(ud::type::response);

void describe_tis_param(std::uint8_t type, bytes param, const std::byte* origin, field_list& out) {
  if (param.empty()) return;
  if (type != type_request) {
    const auto p = tis::parse_response_param(param, origin);
    if (!p) return;
    out.num("s7comm.tis.res.param1", p->param1);
    out.num("s7comm.tis.res.param2", p->param2);
    return;
  }
  const auto p = tis::parse_job_param(param, origin);
  if (!p) return;
  if (p->size >= tis::job_param_basic) {
    out.num("s7comm.tis.param1", p->param1);
    out.num("s7comm.tis.param2", p->param2);
  }
  if (p->size >= tis::job_param_trigger) {
    out.num("s7comm.tis.param3", p->param3);
    out.num("s7comm.tis.answersize", p->answer_size);
    out.num("s7comm.tis.param5", p->param5);
    out.num("s7comm.tis.param6", p->param6);
    out.num("s7comm.tis.param7", p->param7);
    out.num("s7comm.tis.param8", p->param8);
    out.num("s7comm.tis.param9", p->param9);
    out.num("s7comm.varstat.trgevent", p->trigger_event);
  }
  if (p->size >= tis::job_param_block) {
    out.num("s7comm.diagdata.req.blocktype", p->block_type);
    out.num("s7comm.diagdata.req.blocknumber", p->block_number);
    out.num("s7comm.diagdata.req.startaddr_awl", p->start_address);
  }
  if (p->size >= tis::job_param_saz) out.num("s7comm.diagdata.req.saz", p->saz);
  if (p->size < tis::job_param_callenv) return;
  out.num("s7comm.tis.callenv_setup", p->callenv_setup);
  out.num("s7comm.tis.callenv_cond", p->callenv_cond);
  if (p->callenv_setup == tis::callenv_db_numbers) {
    out.num("s7comm.tis.db1.number", p->db1_or_block_type);
    out.num("s7comm.tis.db2.number", p->db2_or_block_number);
    return;
  }
  out.num("s7comm.tis.callenv_cond_blocktype", p->db1_or_block_type);
  out.num("s7comm.tis.callenv_cond_blocknumber", p->db2_or_block_number);
  if (p->size >= tis::job_param_cond_address)
    out.num("s7comm.tis.callenv_cond_blockaddress", p->cond_address);
}

void registers(std::uint8_t v, field_list& out) {
  static constexpr const char* names[] = {
      "s7comm.diagdata.register.stw",   "s7comm.diagdata.register.accu1",
      "s7comm.diagdata.register.accu2", "s7comm.diagdata.register.ar1",
      "s7comm.diagdata.register.ar2",   "s7comm.diagdata.register.db1",
      "s7comm.diagdata.register.db2"};
  out.num("s7comm.diagdata.register", v);
  for (unsigned i = 0; i < 7; ++i) out.num(names[i], (v >> i) & 1U);
}

void describe_block_status(std::uint8_t type, std::uint8_t subfunction, bytes data,
                           const std::byte* origin, field_list& out) {
  if (type == type_request) {
    const auto b =
        tis::parse_block_status_request(subfunction == tis::sub::block_status_v2, data, origin);
    if (!b) return;
    if (b->v2) {
      out.num("s7comm.tis.blockstat.flagsunknown", b->flags);
      out.num("s7comm.tis.blockstat.number_of_lines", b->line_count);
    }
    out.hex("s7comm.tis.blockstat.reserved", b->reserved);
    registers(b->registers, out);
    tis::block_status_line l;
    for (std::size_t i = 0; tis::block_status_line_at(*b, i, l); ++i) {
      if (b->v2) out.num("s7comm.tis.blockstat.line_address", l.address);
      out.str("s7comm.tis.blockstat.reserved", fmt::format("{:02x}", l.reserved));
      registers(l.registers, out);
    }
  } else if (type == type_push) {
    const auto b = tis::parse_block_status_push(data, origin);
    if (!b) return;
    out.num("s7comm.diagdata.req.startaddr_awl", b->start_address);
    out.hex("s7comm.tis.blockstat.data", b->values);
  } else {
    out.hex("s7comm.tis.blockstat.reserved", data);
  }
}

// A watch-table value as Wireshark shows it (s7comm_decode_ud_tis_item_value): only the lengths
// of transport sizes 4 and 5 are converted from bits (by / 8, not rounded up); a return code other
// than 0x00, 0xFF, 0x0A shows transport size and length 0.
void describe_tis_values(bytes values, const std::byte* origin, field_list& out) {
  tis::value_iterator it{values, origin};
  tis::item_value v;
  while (it.next(v)) {
    const bool head = v.return_code == 0x00 || v.return_code == 0xFF || v.return_code == 0x0A;
    std::uint16_t length = head ? v.length : std::uint16_t{0};
    if (head && (v.tsize == 4 || v.tsize == 5)) length = static_cast<std::uint16_t>(length / 8U);
    out.num("s7comm.data.returncode", v.return_code);
    out.num("s7comm.data.transportsize", head ? v.tsize : 0);
    out.num("s7comm.data.length", length);
    if (v.return_code != 0x00 && v.return_code != 0xFF) continue;
    out.hex("s7comm.resp.data", v.data);
    if (v.has_fill) out.num("s7comm.data.fillbyte", 0);
  }
}

void describe_tis_addresses(bytes addresses, const std::byte* origin, field_list& out) {
  tis::address_iterator it{addresses, origin};
  tis::item_address a;
  while (it.next(a)) {
    out.num("s7comm.varstat.req.memory_area", a.area);
    out.num(a.bit_area() ? "s7comm.varstat.req.bitpos" : "s7comm.varstat.req.repetition_factor",
            a.count_or_bit);
    out.num("s7comm.varstat.req.db_number", a.db);
    out.num("s7comm.varstat.req.startaddress", a.start);
  }
}

// Variable status, modify variable and force.
void describe_tis_items(std::uint8_t type, std::uint8_t subfunction, bytes data,
                        const std::byte* origin, field_list& out) {
  const bool varstat = subfunction == tis::sub::variable_status;
  tis::list_kind kind;
  if (type == type_request)
    kind = varstat ? tis::list_kind::addresses : tis::list_kind::addresses_and_values;
  else if (type == type_push)
    kind = varstat ? tis::list_kind::values : tis::list_kind::return_codes;
  else
    return;
  const auto l = tis::parse_item_list(data, kind, origin);
  if (!l) return;
  out.num("s7comm.varstat.item_count", l->count);
  describe_tis_addresses(l->addresses, origin, out);
  describe_tis_values(l->values, origin, out);
  for (std::byte rc : l->return_codes) out.num("s7comm.data.returncode", std::to_integer<int>(rc));
  if ((l->count & 1U) != 0 && !l->return_codes.empty()) out.num("s7comm.data.fillbyte", 0);
}

void describe_tis_data(std::uint8_t type, std::uint8_t subfunction, bytes data,
                       const std::byte* origin, field_list& out, int depth);

void describe_tis_jobs(std::uint8_t type, std::uint8_t subfunction, bytes data,
                       const std::byte* origin, field_list& out, int depth) {
  if (type == type_request) {
    if (subfunction == tis::sub::read_job_list) {
      if (data.size() != tis::read_job_list_request_length) return;
      out.hex("s7comm.tis.job.reserved", data.first(2));
      out.hex("s7comm.tis.job.reserved", data.subspan(2));
    } else if (subfunction == tis::sub::replace_job) {
      const auto j = tis::parse_replace_job(data, origin);
      if (!j) return;
      out.hex("s7comm.tis.job.reserved", j->reserved);
      out.num("s7comm.tis.job.function", j->function);
      out.num("s7comm.tis.job.response_seq_num", j->seq);
      out.num("s7comm.tis.parametersize", j->job.param_size);
      out.num("s7comm.tis.datasize", j->job.data_size);
      describe_tis_param(type_request, j->job.param, origin, out);
      describe_tis_data(type_request, j->function, j->job.data, origin, out, depth + 1);
    } else {
      const auto j = tis::parse_job_ref(subfunction, data, origin);
      if (!j) return;
      if (!j->reserved.empty()) out.hex("s7comm.tis.job.reserved", j->reserved);
      out.num("s7comm.tis.job.function", j->function);
      out.num("s7comm.tis.job.response_seq_num", j->seq);
    }
    return;
  }
  if (subfunction == tis::sub::read_job_list) {
    tis::job_entry e;
    for (std::size_t i = 0; tis::job_entry_at(data, i, e); ++i) {
      out.num("s7comm.tis.job.function", e.function);
      out.num("s7comm.tis.job.response_seq_num", e.seq);
      out.str("s7comm.tis.job.reserved", hex16(e.reserved));
    }
  } else if (subfunction == tis::sub::read_job) {
    const auto f = tis::parse_frame(data, origin);
    if (!f) return;
    out.num("s7comm.tis.parametersize", f->param_size);
    out.num("s7comm.tis.datasize", f->data_size);
    describe_tis_param(type_request, f->param, origin, out);
    if (!f->data.empty()) out.hex("s7comm.tis.job.reserved", f->data);
  }
}

void describe_tis_data(std::uint8_t type, std::uint8_t subfunction, bytes data,
                       const std::byte* origin, field_list& out, int depth) {
  if (data.empty() || depth > 4) return;
  switch (subfunction) {
    case tis::sub::block_status:
    case tis::sub::block_status_v2:
      return describe_block_status(type, subfunction, data, origin, out);
    case tis::sub::variable_status:
    case tis::sub::modify_variable:
    case tis::sub::force:
      return describe_tis_items(type, subfunction, data, origin, out);
    case tis::sub::disable_job:
    case tis::sub::enable_job:
    case tis::sub::delete_job:
    case tis::sub::read_job_list:
    case tis::sub::read_job:
    case tis::sub::replace_job:
      return describe_tis_jobs(type, subfunction, data, origin, out, depth);
    default:
      out.hex("s7comm.varstat.unknown", data);
  }
}

void describe_tis(std::uint8_t type, std::uint8_t subfunction, bytes payload,
                  const std::byte* origin, field_list& out) {
  const auto f = tis::parse_frame(payload, origin);
  if (!f) return;
  out.num("s7comm.tis.parametersize", f->param_size);
  out.num("s7comm.tis.datasize", f->data_size);
  describe_tis_param(type, f->param, origin, out);
  describe_tis_data(type, subfunction, f->data, origin, out, 0);
}

// --- Userdata: cyclic services (group 2) --------------------------------------------------------

// Returns false when Wireshark shows the data as raw bytes instead.
bool describe_cyclic(std::uint8_t type, std::uint8_t subfunction, bytes payload,
                     const std::byte* origin, field_list& out) {
  if (cyclic::carries_items(subfunction)) {
    if (type == type_request) {
      const auto c = ud::parse_cyclic_request(payload, origin);
      if (!c) return true;
      out.num("s7comm.param.itemcount", c->item_count);
      out.num("s7comm.cyclic.interval_timebase", c->timebase);
      out.num("s7comm.cyclic.interval_time", c->interval);
      describe_var_specs(c->items, c->item_count, origin, out);
    } else if (type == type_response || type == type_push) {
      const auto c = cyclic::parse_data(payload, origin, s7::data_options{true, true});
      if (!c) return true;
      out.num("s7comm.param.itemcount", c->item_count);
      describe_read_data(c->items, c->item_count, origin, out);
    }
    return true;
  }
  if (subfunction == cyclic::sub::unsubscribe && type == type_request) {
    const auto u = cyclic::parse_unsubscribe(payload, origin);
    if (!u) return true;
    out.num("s7comm.cyclic.function", u->function);
    out.num("s7comm.cyclic.job_id", u->job_id);
    return true;
  }
  return false;
}

// --- Userdata: CPU functions (group 4) ----------------------------------------------------------

void describe_szl_id(std::uint16_t id, std::uint16_t index, field_list& out) {
  out.num("s7comm.data.userdata.szl_id", id);
  out.num("s7comm.data.userdata.szl_id.diag_type", id & 0xF000U);
  // Wireshark 4.0 masks this field with 0xFFFF, so it always equals the whole id.
  out.num("s7comm.data.userdata.szl_id.partlist_ex", id);
  out.num("s7comm.data.userdata.szl_id.partlist_num", id & 0x00FFU);
  out.num("s7comm.data.userdata.szl_index", index);
}

void describe_szl(std::uint8_t type, bytes payload, const std::byte* origin, field_list& out) {
  if (type == type_request && payload.size() == 4) {
    const auto q = codec::szl::parse_request(payload, origin);
    if (q) describe_szl_id(q->id, q->index, out);
  } else if (type == type_response) {
    const auto h = codec::szl::parse_response(payload, payload.data(), false);
    if (!h) return;
    describe_szl_id(h->id, h->index, out);
    out.num("s7comm.data.userdata.szl_id.partlist_len", h->record_length);
    out.num("s7comm.data.userdata.szl_id.partlist_cnt", h->record_count);
  }
}

void describe_message_service(std::uint8_t type, bytes payload, const std::byte* origin,
                              field_list& out) {
  if (type == type_request) {
    const auto s = alarm::parse_subscription(payload, origin);
    if (!s) return;
    out.num("s7comm.cpu.msg.events", s->events);
    out.num("s7comm.cpu.msg.events.modetrans", s->events & 1U);
    out.num("s7comm.cpu.msg.events.system", (s->events >> 1U) & 1U);
    out.num("s7comm.cpu.msg.events.userdefined", (s->events >> 2U) & 1U);
    out.num("s7comm.cpu.msg.events.alarms", (s->events >> 7U) & 1U);
    out.num("s7comm.cpu.msg.req_reserved1", s->reserved1);
    out.str("s7comm.cpu.msg.username", cstr(s->username));
    if (!s->has_alarm_type) return;
    out.num("s7comm.cpu.msg.almtype", s->alarm_type);
    out.num("s7comm.cpu.msg.req_reserved2", s->reserved2);
  } else if (type == type_response) {
    const auto a = alarm::parse_subscription_answer(payload, origin);
    if (!a) return;
    out.num("s7comm.cpu.msg.res_result", a->result);
    out.num("s7comm.cpu.msg.res_reserved1", a->reserved1);
    if (!a->has_alarm_type) return;
    out.num("s7comm.cpu.msg.almtype", a->alarm_type);
    out.num("s7comm.cpu.msg.res_reserved2", a->reserved2);
    out.num("s7comm.cpu.msg.res_reserved3", a->reserved3);
  }
}

void describe_diagnostic_message(bytes payload, const std::byte* origin, field_list& out) {
  const auto d = alarm::parse_diagnostic_message(payload, origin);
  if (!d) return;
  const unsigned id = d->event_id;
  out.num("s7comm.cpu.diag_msg.eventid", id);
  out.num("s7comm.cpu.diag_msg.eventid.class", (id & 0xF000U) >> 12U);
  out.num("s7comm.cpu.diag_msg.eventid.ident.entleave", (id >> 8U) & 1U);
  out.num("s7comm.cpu.diag_msg.eventid.ident.diagbuf", (id >> 9U) & 1U);
  out.num("s7comm.cpu.diag_msg.eventid.ident.interr", (id >> 10U) & 1U);
  out.num("s7comm.cpu.diag_msg.eventid.ident.exterr", (id >> 11U) & 1U);
  out.num("s7comm.cpu.diag_msg.eventid.nr", id & 0xFFU);
  out.num("s7comm.cpu.diag_msg.prioclass", d->priority_class);
  out.num("s7comm.cpu.diag_msg.obnumber", d->ob_number);
  out.num("s7comm.cpu.diag_msg.datid", d->dat_id);
  out.num("s7comm.cpu.diag_msg.info1", d->info1);
  out.num("s7comm.cpu.diag_msg.info2", d->info2);
  describe_s7_timestamp(d->timestamp, out);
}

void describe_alarm_object(const alarm::object& o, const std::byte* origin, field_list& out) {
  out.num("s7comm.param.item.varspec", o.spec_type);
  out.num("s7comm.param.item.varspec_length", o.length);
  out.num("s7comm.param.item.syntaxid", o.syntax);
  const auto syntax = static_cast<s7::syntax_id>(o.syntax);
  if (syntax == s7::syntax_id::alarm_queryreq) {
    out.num("s7comm.alarm.query.unknown1", o.query_unknown1);
    out.num("s7comm.alarm.query.querytype", o.query_type);
    out.num("s7comm.alarm.query.unknown2", o.query_unknown2);
    if (o.query_type == alarm::query_type::by_alarm_type)
      out.num("s7comm.alarm.query.alarmtype", o.query_value);
    else if (o.query_type == alarm::query_type::by_event_id)
      out.num("s7comm.alarm.event_id", o.query_value);
    return;
  }
  if (alarm::object_length(o.syntax) == 0) return;
  const bool ind = syntax == s7::syntax_id::alarm_ind;
  const bool notify = syntax == s7::syntax_id::notify_ind;
  out.num("s7comm.alarm.nr_add_values", o.value_count);
  out.num("s7comm.alarm.event_id", o.event_id);
  if (ind || notify) {
    state_byte("s7comm.alarm.eventstate", o.event_state, out);
    state_byte("s7comm.alarm.state", o.state, out);
  }
  if (ind || notify || syntax == s7::syntax_id::alarm_ack) {
    state_byte("s7comm.alarm.ack_state.going", o.ack_going, out);
    state_byte("s7comm.alarm.ack_state.coming", o.ack_coming, out);
  }
  if (notify) {
    state_byte("s7comm.alarm.event.going", o.event_going, out);
    state_byte("s7comm.alarm.event.coming", o.event_coming, out);
    state_byte("s7comm.alarm.event.lastchanged", o.event_last_changed, out);
    out.num("s7comm.alarm.event.reserved", o.event_reserved);
  }
  if ((ind || notify) && o.value_count > 0)
    describe_read_data(o.values, o.value_count, origin, out);
}

void describe_alarm_message(std::uint8_t type, std::uint8_t subfunction, bytes payload,
                            const std::byte* origin, field_list& out) {
  const auto m = alarm::parse_message(subfunction, type, payload, origin, s7::item_options{true});
  if (!m) return;
  if (m->scan) out.num("s7comm.alarm.scan.unknown1", m->scan_unknown1);
  if (m->has_timestamp) describe_s7_timestamp(m->timestamp, out);
  if (m->scan) out.num("s7comm.alarm.scan.unknown2", m->scan_unknown2);
  out.num("s7comm.alarm.function", m->function);
  out.num("s7comm.alarm.nr_objects", m->object_count);
  if (m->answer) {
    for (std::byte rc : m->objects) out.num("s7comm.data.returncode", std::to_integer<int>(rc));
    return;
  }
  alarm::object_iterator it{*m, origin};
  alarm::object o;
  while (it.next(o)) describe_alarm_object(o, origin, out);
}

void describe_query_answer(bytes payload, const std::byte* origin, field_list& out) {
  const auto a = alarm::parse_query_answer(payload, origin);
  if (!a) return;
  out.num("s7comm.alarm.function", a->function);
  out.num("s7comm.alarm.nr_objects", a->object_count);
  out.num("s7comm.data.returncode", a->return_code);
  out.num("s7comm.data.transportsize", a->tsize);
  out.num("s7comm.alarm.query.complete_length", a->complete_length);
  alarm::dataset_iterator it{*a, origin};
  alarm::query_dataset d;
  while (it.next(d)) {
    out.num("s7comm.alarm.query.dataset_length", d.length);
    out.num("s7comm.alarm.query.resunknown1", d.unknown1);
    out.num("s7comm.alarm.query.alarmtype", d.alarm_type);
    out.num("s7comm.alarm.event_id", d.event_id);
    out.num("s7comm.alarm.query.resunknown1", d.unknown2);
    state_byte("s7comm.alarm.eventstate", d.event_state, out);
    state_byte("s7comm.alarm.ack_state.going", d.ack_going, out);
    state_byte("s7comm.alarm.ack_state.coming", d.ack_coming, out);
    if (d.alarm_type != alarm::alarm_type::alarm_s) continue;
    describe_s7_timestamp(d.timestamp_coming, out);
    describe_read_data(d.value_coming, 1, origin, out);
    describe_s7_timestamp(d.timestamp_going, out);
    describe_read_data(d.value_going, 1, origin, out);
  }
}

// Returns false when Wireshark shows the data as raw bytes instead.
bool describe_cpu(std::uint8_t type, std::uint8_t subfunction, bytes payload,
                  const std::byte* origin, field_list& out) {
  if (subfunction == alarm::sub::read_szl) {
    describe_szl(type, payload, origin, out);
  } else if (subfunction == alarm::sub::message_service) {
    describe_message_service(type, payload, origin, out);
  } else if (subfunction == alarm::sub::diagnostic_message) {
    describe_diagnostic_message(payload, origin, out);
  } else if (subfunction == alarm::sub::alarm_query && type == type_response) {
    describe_query_answer(payload, origin, out);
  } else if (alarm::is_alarm_message(subfunction)) {
    describe_alarm_message(type, subfunction, payload, origin, out);
  } else {
    return false;
  }
  return true;
}

// --- Userdata: block functions (group 3) --------------------------------------------------------

// Block timestamps: milliseconds since midnight (u32) and days since 1984-01-01 (u16).
std::string block_timestamp(bytes b) {
  if (b.size() != 6) return {};
  cd::reader r{b, cd::layer::userdata};
  const std::uint32_t ms = r.u32be();
  const std::uint32_t days = r.u16be();
  // Civil date from days since 1984-01-01 (Howard Hinnant's algorithm, days from 1970 first).
  const std::int64_t z = 5113 + static_cast<std::int64_t>(days) + 719468;  // 1984-01-01 is day 5113
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t mo = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = yoe + era * 400 + (mo <= 2 ? 1 : 0);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}", y, mo, d, ms / 3600000U,
                     (ms / 60000U) % 60U, (ms / 1000U) % 60U, ms % 1000U);
}

void describe_block_info(const ud::block_info& b, bytes payload, field_list& out) {
  out.str("s7comm.blockinfo.blocktype", cstr(payload.first(2)));
  out.num("s7comm.blockinfo.res_infolength", b.info_length);
  out.num("s7comm.blockinfo.res_unknown2", b.unknown2);
  out.str("s7comm.blockinfo.res_const3",
          fmt::format("{:c}{:c}", static_cast<char>(b.constant3 >> 8U),
                      static_cast<char>(b.constant3 & 0xFFU)));
  out.str("s7comm.blockinfo.res_unknown", fmt::format("{:02x}", b.unknown1));
  out.num("s7comm.param.userdata.blockinfo.flags", b.flags);
  out.num("s7comm.param.userdata.blockinfo.linked", b.flags & 1U);
  out.num("s7comm.param.userdata.blockinfo.standard_block", (b.flags >> 1U) & 1U);
  out.num("s7comm.param.userdata.blockinfo.nonretain", (b.flags >> 3U) & 1U);
  out.num("s7comm.blockinfo.block_lang", b.language);
  out.num("s7comm.blockinfo.subblk_type", b.subblock_type);
  out.num("s7comm.blockinfo.block_num", b.number);
  out.num("s7comm.blockinfo.load_mem_len", b.load_memory_length);
  out.num("s7comm.blockinfo.blocksecurity", b.security);
  out.str("s7comm.blockinfo.code_timestamp", block_timestamp(b.code_timestamp));
  out.str("s7comm.blockinfo.interface_timestamp", block_timestamp(b.interface_timestamp));
  out.num("s7comm.blockinfo.ssb_len", b.ssb_length);
  out.num("s7comm.blockinfo.add_len", b.add_length);
  out.num("s7comm.blockinfo.localdata_len", b.local_data_length);
  out.num("s7comm.blockinfo.mc7_len", b.mc7_length);
  out.str("s7comm.blockinfo.author", cstr(b.author));
  out.str("s7comm.blockinfo.family", cstr(b.family));
  out.str("s7comm.blockinfo.headername", cstr(b.name));
  out.str("s7comm.blockinfo.headerversion",
          fmt::format("{}.{}", b.version >> 4U, b.version & 0xFU));
  out.str("s7comm.blockinfo.res_unknown", fmt::format("{:02x}", b.unknown3));
  out.num("s7comm.blockinfo.checksum", b.checksum);
  out.num("s7comm.blockinfo.reserved1", b.reserved1);
  out.num("s7comm.blockinfo.reserved2", b.reserved2);
}

// Returns false when Wireshark shows the data as raw bytes instead.
bool describe_block_functions(const ud::param& u, const ud::data_unit& d, bytes payload,
                              const std::byte* origin, field_list& out) {
  const bool req = u.type == type_request;
  const bool resp = u.type == type_response;
  if (u.subfunction == ud::sub::list_blocks && resp) {
    ud::block_count bc;
    for (std::size_t i = 0; ud::block_count_at(payload.first(payload.size() / 4 * 4), i, bc); ++i) {
      out.str("s7comm.blockinfo.blocktype", std::string{static_cast<char>(bc.type_ascii[0]),
                                                        static_cast<char>(bc.type_ascii[1])});
      out.num("s7comm.blockinfo.block_count", bc.count);
    }
  } else if (u.subfunction == ud::sub::list_blocks_of_type && (req || resp)) {
    if (d.tsize == 0) return true;
    if (req) {
      out.str("s7comm.blockinfo.blocktype", ascii(payload.first(payload.size() < 2 ? 0 : 2)));
      return true;
    }
    ud::block_entry be;
    for (std::size_t i = 0; ud::block_entry_at(payload.first(payload.size() / 4 * 4), i, be); ++i) {
      out.num("s7comm.blockinfo.block_num", be.number);
      out.num("s7comm.blockinfo.flags", be.flags);
      out.num("s7comm.blockinfo.block_lang", be.language);
    }
  } else if (u.subfunction == ud::sub::block_info && req) {
    if (d.tsize == 0 || payload.size() < 8) return true;
    out.str("s7comm.blockinfo.blocktype", ascii(payload.first(2)));
    out.str("s7comm.data.blockinfo.block_number", ascii(payload.subspan(2, 5)));
    out.str("s7comm.data.blockinfo.filesys", ascii(payload.subspan(7, 1)));
  } else if (u.subfunction == ud::sub::block_info && resp) {
    if (d.return_code != 0xFF) return true;
    const auto b = ud::parse_block_info(payload, origin);
    if (b) describe_block_info(*b, payload, out);
  } else {
    return false;
  }
  return true;
}

// --- Userdata: time functions (group 7) ---------------------------------------------------------

bool describe_time(const ud::param& u, const ud::data_unit& d, bytes payload, field_list& out) {
  const bool read =
      u.subfunction == ud::sub::read_clock || u.subfunction == ud::sub::read_clock_following;
  const bool set = u.subfunction == ud::sub::set_clock || u.subfunction == ud::sub::set_clock_2;
  if ((read && u.type == type_response) || (set && u.type == type_request)) {
    if (d.return_code == 0xFF)
      describe_s7_timestamp(payload.first(payload.size() < 10 ? 0 : 10), out);
    return true;
  }
  return false;
}

// --- Userdata -----------------------------------------------------------------------------------

void describe_ud_param(const ud::param& u, field_list& out) {
  out.num("s7comm.param.userdata.head", (u.head0 << 16U) | (u.head1 << 8U) | u.head2);
  out.num("s7comm.param.userdata.length", u.length);
  out.num("s7comm.param.userdata.reqres1", u.method);
  out.num("s7comm.param.userdata.type", u.type);
  out.num("s7comm.param.userdata.funcgroup", u.group);
  out.num(u.group == static_cast<std::uint8_t>(ud::group::mode_transition)
              ? "s7comm.param.modetrans.subfunc"
              : "s7comm.param.userdata.subfunc",
          u.subfunction);
  out.num("s7comm.param.userdata.seq_num", u.seq);
  if (u.extended) {
    out.num("s7comm.param.userdata.dataunitref", u.data_unit_ref);
    out.num("s7comm.param.userdata.lastdataunit", u.last_data_unit);
    out.num("s7comm.param.errcod", u.error_code);
  }
}

// The payload of a Userdata data unit, by function group (s7comm_decode_ud_data and the group
// decoders). Wireshark decodes it only when the data unit's length is at least 2 and it is the
// last (or only) unit of an answer; a split answer is decoded whole with its last unit.
void describe_userdata(const s7::message& m, const fragment_info& frag, field_list& out) {
  const ud::param& u = m.ud.prm;
  describe_ud_param(u, out);
  if (!m.ud.has_data) return;
  const ud::data_unit& d = m.ud.data;
  out.num("s7comm.data.returncode", d.return_code);
  out.num("s7comm.data.transportsize", d.tsize);
  out.num("s7comm.data.length", d.length);
  if (d.length < 2 || frag.more_follows || u.last_data_unit != ud::last_unit_yes) return;
  const bool whole = frag.last_of_many;
  const bytes payload = whole ? bytes(frag.whole_payload) : d.payload;
  // Offsets in a reassembled payload count from its own start.
  const std::byte* origin = whole ? payload.data() : m.p.origin;
  bool known = true;
  switch (static_cast<ud::group>(u.group)) {
    case ud::group::programmer:
      describe_tis(u.type, u.subfunction, payload, origin, out);
      break;
    case ud::group::cyclic:
      known = describe_cyclic(u.type, u.subfunction, payload, origin, out);
      break;
    case ud::group::block:
      known = describe_block_functions(u, d, payload, origin, out);
      break;
    case ud::group::cpu:
      known = describe_cpu(u.type, u.subfunction, payload, origin, out);
      break;
    case ud::group::security:
      known = false;
      break;
    case ud::group::time:
      known = describe_time(u, d, payload, out);
      break;
    default:
      break;
  }
  if (!known && !payload.empty()) out.hex("s7comm.data.userdata", payload);
}

}  // namespace

void describe_tpkt_cotp(std::span<const std::byte> frame, const codec::cotp::tpdu* t,
                        field_list& out) {
  // The TPKT header fields as they are (the framer checked them, or the caller shows a frame the
  // codec rejected): read through the codec's bounded reader, unchecked.
  cd::reader tpkt{frame, cd::layer::tpkt};
  const std::uint8_t version = tpkt.u8();
  const std::uint8_t reserved = tpkt.u8();
  const std::uint16_t length = tpkt.u16be();
  if (tpkt.ok()) {
    out.num("tpkt.version", version);
    out.num("tpkt.reserved", reserved);
    out.num("tpkt.length", length);
  }
  if (t == nullptr) return;
  namespace cotp = codec::cotp;
  out.num("cotp.li", t->li);
  out.num("cotp.type", static_cast<int>(t->type));
  switch (t->type) {
    case cotp::tpdu_type::cr:
    case cotp::tpdu_type::cc:
      out.num("cotp.destref", t->dst_ref);
      out.num("cotp.srcref", t->src_ref);
      out.num("cotp.class", t->tpdu_class());
      out.num("cotp.opts.extended_formats", (t->class_option >> 1U) & 1U);
      out.num("cotp.opts.no_explicit_flow_control", t->class_option & 1U);
      break;
    case cotp::tpdu_type::dr:
      out.num("cotp.destref", t->dst_ref);
      out.num("cotp.srcref", t->src_ref);
      out.num("cotp.cause", t->reason);
      break;
    case cotp::tpdu_type::dc:
      out.num("cotp.destref", t->dst_ref);
      out.num("cotp.srcref", t->src_ref);
      break;
    case cotp::tpdu_type::dt:
      out.num("cotp.tpdu-number", t->tpdu_nr);
      out.num("cotp.eot", t->eot ? 1 : 0);
      break;
    case cotp::tpdu_type::er:
      out.num("cotp.destref", t->dst_ref);
      out.num("cotp.reject-cause", t->reject_cause);
      break;
    default:
      break;
  }
  cotp::param_iterator it{t->variable_part};
  cotp::parameter p;
  while (it.next(p)) {
    out.num("cotp.parameter_code", p.code);
    out.num("cotp.parameter_length", static_cast<std::int64_t>(p.value.size()));
    switch (static_cast<cotp::param_code>(p.code)) {
      case cotp::param_code::tpdu_size:
        if (p.value.size() == 1) {
          cd::reader v{p.value, cd::layer::cotp};
          out.num("cotp.tpdu_size", static_cast<std::int64_t>(cotp::tpdu_size_bytes(v.u8())));
        }
        break;
      case cotp::param_code::calling_tsap:
        if (p.value.size() == 2)
          out.num("cotp.src-tsap", cd::reader{p.value, cd::layer::cotp}.u16be());
        out.hex("cotp.src-tsap-bytes", p.value);
        break;
      case cotp::param_code::called_tsap:
        if (p.value.size() == 2)
          out.num("cotp.dst-tsap", cd::reader{p.value, cd::layer::cotp}.u16be());
        out.hex("cotp.dst-tsap-bytes", p.value);
        break;
      default:
        break;
    }
  }
}

codec::error describe_s7(std::span<const std::byte> pdu, const fragment_info& frag, field_list& out,
                         const std::byte* origin) {
  const auto hp = s7::parse(pdu, origin);
  // The header fields are shown even when a later check fails, as Wireshark does: read
  // leniently (s7_peek.hpp), whatever the protocol id and ROSCTR.
  const s7::peek_result h = s7::peek(pdu, origin);
  if (h.header) {
    out.num("s7comm.header.protid", h.protocol_id);
    out.num("s7comm.header.rosctr", h.rosctr);
    out.num("s7comm.header.redid", h.redundancy_id);
    out.num("s7comm.header.pduref", h.pdu_ref);
    out.num("s7comm.header.parlg", h.param_length);
    out.num("s7comm.header.datlg", h.data_length);
    if (h.has_error_fields) {
      out.num("s7comm.header.errcls", h.error_class);
      out.num("s7comm.header.errcod", h.error_code);
    }
  }
  // An error in the header is shown again as the parameter's error code (generated).
  if (h.header && h.has_error_fields && (h.error_class != 0 || h.error_code != 0))
    out.num("s7comm.param.errcod", (h.error_class << 8U) | h.error_code);
  if (!hp) return hp.err();
  const auto m = s7::decode(pdu, origin);
  if (!m) return m.err();
  switch (m->p.hdr.type) {
    case s7::rosctr::job:
      describe_job_or_ack(*m, true, out);
      break;
    case s7::rosctr::ack_data:
      describe_job_or_ack(*m, false, out);
      break;
    case s7::rosctr::userdata:
      describe_userdata(*m, frag, out);
      break;
    case s7::rosctr::ack:
      break;
  }
  return {};
}

fragment_info fragment_tracker::classify(std::span<const std::byte> pdu) {
  fragment_info info;
  const auto m = s7::decode(pdu);
  if (!m || m->p.hdr.type != s7::rosctr::userdata) return info;
  const ud::param& u = m->ud.prm;
  // Wireshark reassembles the data units of every Userdata PDU with a data unit reference.
  if (!u.extended || u.data_unit_ref == 0) return info;
  open_answer& a = open_[u.group & 0x0FU][u.data_unit_ref];
  const bool more = u.last_data_unit != ud::last_unit_yes;
  info.more_follows = more;
  if (!a.open) {
    if (more) {
      info.first_of_many = true;
      a.open = true;
      a.payload.assign(m->ud.data.payload.begin(), m->ud.data.payload.end());
    }
    return info;
  }
  a.payload.insert(a.payload.end(), m->ud.data.payload.begin(), m->ud.data.payload.end());
  if (!more) {
    info.last_of_many = true;
    info.whole_payload = std::move(a.payload);
    a = open_answer{};
  }
  return info;
}

namespace {
// Wireshark's names (names.hpp). This summary line never named function 0x00 (CPU services) and
// keeps calling it unknown, so its output stays what it was.
std::string_view function_name(std::uint8_t fn) {
  if (fn == static_cast<std::uint8_t>(s7::function::cpu_services)) return "Unknown function";
  return cd::names::function(fn, "Unknown function");
}
}  // namespace

std::string summarize_s7(std::span<const std::byte> pdu) {
  const auto m = s7::decode(pdu);
  if (!m) {
    return fmt::format("S7 malformed: {} ({} at offset {})", cd::to_string(m.err().code),
                       cd::to_string(m.err().where), m.err().offset);
  }
  const s7::header& h = m->p.hdr;
  switch (h.type) {
    case s7::rosctr::job:
      return fmt::format("Job      pduref={} {}{}", h.pdu_ref, function_name(m->prm.fn),
                         m->prm.item_count != 0 ? fmt::format(" items={}", m->prm.item_count) : "");
    case s7::rosctr::ack_data:
      return fmt::format("Ack_Data pduref={} {}{}{}", h.pdu_ref, function_name(m->prm.fn),
                         m->prm.item_count != 0 ? fmt::format(" items={}", m->prm.item_count) : "",
                         h.error() != 0 ? fmt::format(" error=0x{:04x}", h.error()) : "");
    case s7::rosctr::ack:
      return fmt::format("Ack      pduref={} error=0x{:04x}", h.pdu_ref, h.error());
    case s7::rosctr::userdata: {
      const ud::param& u = m->ud.prm;
      // Any type that is not a request or a response is shown as a push.
      const std::string_view kind = cd::names::userdata_type(u.type, "Push");
      return fmt::format("Userdata pduref={} {} {} sub=0x{:02x} seq={}{}", h.pdu_ref, kind,
                         cd::names::userdata_group(u.group, "Unknown group"), u.subfunction, u.seq,
                         u.error_code != 0 ? fmt::format(" error=0x{:04x}", u.error_code) : "");
    }
  }
  return "S7";
}

}  // namespace protos7::dump
