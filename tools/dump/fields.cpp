#include "fields.hpp"

#include <fmt/format.h>

#include "protos7/codec/names.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_peek.hpp"
#include "protos7/codec/step7_address.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/codec/tpkt.hpp"

namespace protos7::dump {

namespace cd = protos7::codec;
namespace s7 = protos7::codec::s7;
namespace ud = protos7::codec::s7::ud;

void field_list::hex(std::string_view name, std::span<const std::byte> b) {
  std::string s;
  s.reserve(b.size() * 2);
  for (std::byte x : b)
    fmt::format_to(std::back_inserter(s), "{:02x}", std::to_integer<unsigned>(x));
  fields_.push_back({std::string(name), std::move(s)});
}

namespace {

std::string ascii(std::span<const std::byte> b) {
  std::string s;
  for (std::byte x : b) s.push_back(static_cast<char>(std::to_integer<unsigned char>(x)));
  return s;
}
// Text fields as Wireshark shows FT_STRING: up to the first NUL.
std::string cstr(std::span<const std::byte> b) {
  std::string s = ascii(b);
  const auto nul = s.find('\0');
  if (nul != std::string::npos) s.resize(nul);
  return s;
}

void describe_items(const s7::pdu& p, const s7::param& prm, field_list& out) {
  s7::var_spec_iterator it = prm.var_specs(p.origin);
  s7::var_spec v;
  while (it.next(v)) {
    out.num("s7comm.param.item.varspec", v.spec_type);
    out.num("s7comm.param.item.varspec_length", v.length);
    out.num("s7comm.param.item.syntaxid", v.syntax);
    if (v.syntax == static_cast<std::uint8_t>(s7::syntax_id::s7any)) {
      out.num("s7comm.param.item.transp_size", v.any.tsize);
      out.num("s7comm.param.item.length", v.any.count);
      out.num("s7comm.param.item.db", v.any.db);
      out.num("s7comm.param.item.area", v.any.area);
      out.num("s7comm.param.item.address", v.any.address);
      out.num("s7comm.param.item.address.byte", v.any.byte_offset());
      out.num("s7comm.param.item.address.bit", v.any.bit());
      if (const auto step7 = codec::step7::to_text(v.any); !step7.empty())
        out.note("step7.operand", step7.view());
    } else if (v.syntax == static_cast<std::uint8_t>(s7::syntax_id::dbread)) {
      out.num("s7comm.param.item.dbread.numareas", v.dbread_count);
      s7::dbread_area a;
      for (std::size_t i = 0; s7::dbread_at(v, i, a); ++i) {
        out.num("s7comm.param.item.dbread.length", a.length);
        out.num("s7comm.param.item.dbread.db", a.db);
        out.num("s7comm.param.item.dbread.startadr", a.start);
      }
    }
  }
}

void describe_data_items(const s7::pdu& p, std::size_t count, field_list& out) {
  s7::data_item_iterator it{p.data, count, p.origin};
  s7::data_item d;
  while (it.next(d)) {
    out.num("s7comm.data.returncode", d.return_code);
    out.num("s7comm.data.transportsize", d.tsize);
    // Wireshark shows the length converted to bytes.
    out.num("s7comm.data.length", static_cast<std::int64_t>(d.data.size()));
    if (!d.data.empty()) out.hex("s7comm.resp.data", d.data);
  }
}

void describe_filename(const s7::block_control& b, field_list& out) {
  if (!b.has_filename) return;
  out.num("s7comm.param.blockcontrol.filename_len",
          static_cast<std::int64_t>(b.filename.raw.size()));
  out.str("s7comm.param.blockcontrol.filename", ascii(b.filename.raw));
  if (b.filename.raw.size() == s7::block_filename_length) {
    const auto r = b.filename.raw;
    out.str("s7comm.data.blockcontrol.file_identifier", ascii(r.subspan(0, 1)));
    out.str("s7comm.data.blockcontrol.block_type", ascii(r.subspan(1, 2)));
    out.str("s7comm.data.blockcontrol.block_number", ascii(r.subspan(3, 5)));
    out.str("s7comm.data.blockcontrol.dest_filesys", ascii(r.subspan(8, 1)));
  }
}

// The parameter block of _INSE / _INS2 / _DELE: count, 0x00, count x 8-char block names.
void describe_pi_block(const s7::pi_service& pi, field_list& out) {
  const std::string name = ascii(pi.service_name);
  if (name != "_INSE" && name != "_INS2" && name != "_DELE") return;
  cd::reader r{pi.param_block, cd::layer::s7_param};
  const std::uint8_t count = r.u8();
  const std::uint8_t unknown = r.u8();
  if (!r.ok()) return;
  out.num("s7comm.data.plccontrol.block_cnt", count);
  out.num("s7comm.param.pi.inse.unknown", unknown);
  // As many names as the count says and the block holds (Wireshark shows the whole ones).
  for (std::size_t i = 0; i < count && r.remaining() >= 8; ++i) {
    const auto n = r.take(8);
    out.str("s7comm.param.blockcontrol.filename", ascii(n));
    out.str("s7comm.data.blockcontrol.block_type", ascii(n.subspan(0, 2)));
    out.str("s7comm.data.blockcontrol.block_number", ascii(n.subspan(2, 5)));
    out.str("s7comm.data.blockcontrol.dest_filesys", ascii(n.subspan(7, 1)));
  }
}

// Block timestamps: milliseconds since midnight (u32) and days since 1984-01-01 (u16).
std::string block_timestamp(std::span<const std::byte> b) {
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
      out.num("s7comm.param.itemcount", prm.item_count);
      if (job) {
        describe_items(m.p, prm, out);
        if (prm.fn == static_cast<std::uint8_t>(s7::function::write_var))
          describe_data_items(m.p, prm.item_count, out);
      } else if (prm.fn == static_cast<std::uint8_t>(s7::function::read_var)) {
        describe_data_items(m.p, prm.item_count, out);
      } else {
        for (std::byte rc : m.p.data) out.num("s7comm.data.returncode", std::to_integer<int>(rc));
      }
      break;
    case s7::function::request_download:
    case s7::function::download_block:
    case s7::function::download_ended:
    case s7::function::start_upload:
    case s7::function::upload:
    case s7::function::end_upload: {
      const s7::block_control& b = prm.block;
      if (b.has_status) {
        out.num("s7comm.param.blockcontrol.functionstatus", b.status);
        out.num("s7comm.param.blockcontrol.functionstatus.more", b.status & 1U);
        out.num("s7comm.param.blockcontrol.functionstatus.error", (b.status >> 1U) & 1U);
      }
      if (job) {
        const auto raw = prm.raw;
        if (prm.fn == static_cast<std::uint8_t>(s7::function::download_ended) ||
            prm.fn == static_cast<std::uint8_t>(s7::function::end_upload)) {
          out.num("s7comm.data.blockcontrol.errorcode", b.word);
        } else {
          out.hex("s7comm.data.blockcontrol.unknown1", raw.subspan(2, 2));
        }
        if (prm.fn == static_cast<std::uint8_t>(s7::function::upload) ||
            prm.fn == static_cast<std::uint8_t>(s7::function::end_upload) ||
            prm.fn == static_cast<std::uint8_t>(s7::function::start_upload)) {
          out.num("s7comm.data.blockcontrol.uploadid", b.upload_id);
        } else {
          out.hex("s7comm.data.blockcontrol.unknown1", raw.subspan(4, 4));
        }
        describe_filename(b, out);
        if (!b.part2.empty()) {
          out.num("s7comm.data.blockcontrol.part2_len", static_cast<std::int64_t>(b.part2.size()));
          out.str("s7comm.data.blockcontrol.part2_unknown", ascii(b.part2.subspan(0, 1)));
          out.str("s7comm.data.blockcontrol.loadmem_len", ascii(b.load_memory_length));
          out.str("s7comm.data.blockcontrol.mc7code_len", ascii(b.mc7_length));
        }
      } else if (!m.p.data.empty()) {
        const auto bd = s7::parse_block_data(m.p.data, m.p.origin);
        if (bd) {
          out.num("s7comm.data.length", bd->length);
          out.hex("s7comm.data.blockcontrol.unknown1", m.p.data.subspan(2, 2));
          if (!bd->payload.empty()) out.hex("s7comm.resp.data", bd->payload);
        }
      }
      break;
    }
    case s7::function::pi_service:
      if (job) {
        out.hex("s7comm.param.pistart.unknown1", prm.pi.unknown);
        out.num("s7comm.param.pistart.parameterblock_len",
                static_cast<std::int64_t>(prm.pi.param_block.size()));
        describe_pi_block(prm.pi, out);
        out.num("s7comm.param.pi.n_x.string_len",
                static_cast<std::int64_t>(prm.pi.service_name.size()));
        out.str("s7comm.param.pistart.servicename", ascii(prm.pi.service_name));
      }
      break;
    case s7::function::plc_stop:
      if (job) {
        out.hex("s7comm.param.plcstop.unknown1", prm.stop.unknown);
        out.num("s7comm.param.pi.n_x.string_len",
                static_cast<std::int64_t>(prm.stop.service_name.size()));
        out.str("s7comm.param.plcstop.servicename", ascii(prm.stop.service_name));
      }
      break;
    default:
      break;
  }
}

void describe_szl_id(std::uint16_t id, std::uint16_t index, field_list& out) {
  out.num("s7comm.data.userdata.szl_id", id);
  out.num("s7comm.data.userdata.szl_id.diag_type", id & 0xF000U);
  // Wireshark 4.0 masks this field with 0xFFFF, so it always equals the whole id.
  out.num("s7comm.data.userdata.szl_id.partlist_ex", id);
  out.num("s7comm.data.userdata.szl_id.partlist_num", id & 0x00FFU);
  out.num("s7comm.data.userdata.szl_index", index);
}

void describe_timestamp(std::span<const std::byte> payload, const std::byte* origin,
                        field_list& out) {
  const auto t = ud::parse_timestamp(payload, origin);
  if (!t) return;
  out.str("s7comm.data.ts",
          fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}", t->year, t->month, t->day,
                      t->hour, t->minute, t->second, t->millisecond));
  out.num("s7comm.data.ts_reserved", t->reserved);
  out.num("s7comm.data.ts_year1", ((t->year_high >> 4U) * 10U) + (t->year_high & 0xFU));
  out.num("s7comm.data.ts_year2", t->year % 100);
  out.num("s7comm.data.ts_month", t->month);
  out.num("s7comm.data.ts_day", t->day);
  out.num("s7comm.data.ts_hour", t->hour);
  out.num("s7comm.data.ts_minute", t->minute);
  out.num("s7comm.data.ts_second", t->second);
  out.num("s7comm.data.ts_millisecond", t->millisecond);
  out.num("s7comm.data.ts_weekday", t->weekday);
}

void describe_userdata(const s7::message& m, const fragment_info& frag, field_list& out) {
  const ud::param& u = m.ud.prm;
  out.num("s7comm.param.userdata.head", 0x000112);
  out.num("s7comm.param.userdata.length", u.length);
  out.num("s7comm.param.userdata.reqres1", u.method);
  out.num("s7comm.param.userdata.type", u.type);
  out.num("s7comm.param.userdata.funcgroup", u.group);
  out.num("s7comm.param.userdata.subfunc", u.subfunction);
  out.num("s7comm.param.userdata.seq_num", u.seq);
  if (u.extended) {
    out.num("s7comm.param.userdata.dataunitref", u.data_unit_ref);
    out.num("s7comm.param.userdata.lastdataunit", u.last_data_unit);
    out.num("s7comm.param.errcod", u.error_code);
  }
  if (!m.ud.has_data) return;
  const ud::data_unit& d = m.ud.data;
  out.num("s7comm.data.returncode", d.return_code);
  out.num("s7comm.data.transportsize", d.tsize);
  out.num("s7comm.data.length", d.length);
  if (d.return_code != 0xFF || d.payload.empty()) return;

  const bool req = u.type == static_cast<std::uint8_t>(ud::type::request);
  const bool resp = u.type == static_cast<std::uint8_t>(ud::type::response);
  switch (static_cast<ud::group>(u.group)) {
    case ud::group::cpu:
      if (u.subfunction == ud::sub::message_service) {
        // Request: | events | reserved | username (8, optional) |; response: | result | reserved |
        cd::reader r{d.payload, m.p.origin, cd::layer::userdata};
        const unsigned first = r.u8();
        const unsigned second = r.u8();
        if (req && r.ok()) {
          const unsigned ev = first;
          out.num("s7comm.cpu.msg.events", ev);
          out.num("s7comm.cpu.msg.events.modetrans", ev & 1U);
          out.num("s7comm.cpu.msg.events.system", (ev >> 1U) & 1U);
          out.num("s7comm.cpu.msg.events.userdefined", (ev >> 2U) & 1U);
          out.num("s7comm.cpu.msg.events.alarms", (ev >> 7U) & 1U);
          out.num("s7comm.cpu.msg.req_reserved1", second);
          if (r.remaining() >= 8) out.str("s7comm.cpu.msg.username", cstr(r.take(8)));
        } else if (resp && r.ok()) {
          out.num("s7comm.cpu.msg.res_result", first);
          out.num("s7comm.cpu.msg.res_reserved1", second);
        }
      }
      if (u.subfunction == ud::sub::read_szl) {
        if (req && d.payload.size() == 4) {
          const auto q = codec::szl::parse_request(d.payload, m.p.origin);
          if (q) describe_szl_id(q->id, q->index, out);
        } else if (resp && !frag.first_of_many) {
          // The head is in the first unit; Wireshark shows it once the answer is complete.
          const std::span<const std::byte> first =
              frag.last_of_many ? std::span<const std::byte>(frag.whole_payload) : d.payload;
          const auto h = codec::szl::parse_response(first, first.data(), false);
          if (h) {
            describe_szl_id(h->id, h->index, out);
            out.num("s7comm.data.userdata.szl_id.partlist_len", h->record_length);
            out.num("s7comm.data.userdata.szl_id.partlist_cnt", h->record_count);
          }
        }
      }
      break;
    case ud::group::time:
      if ((resp && u.subfunction == ud::sub::read_clock) ||
          (req && (u.subfunction == ud::sub::set_clock || u.subfunction == ud::sub::set_clock_2)))
        describe_timestamp(d.payload, m.p.origin, out);
      break;
    case ud::group::block:
      if (resp && u.subfunction == ud::sub::list_blocks) {
        ud::block_count bc;
        for (std::size_t i = 0; ud::block_count_at(d.payload, i, bc); ++i) {
          out.str("s7comm.blockinfo.blocktype", std::string{static_cast<char>(bc.type_ascii[0]),
                                                            static_cast<char>(bc.type_ascii[1])});
          out.num("s7comm.blockinfo.block_count", bc.count);
        }
      } else if (resp && u.subfunction == ud::sub::list_blocks_of_type && !frag.first_of_many) {
        // Wireshark shows the entries once the answer is reassembled.
        const std::span<const std::byte> all =
            frag.last_of_many ? std::span<const std::byte>(frag.whole_payload) : d.payload;
        ud::block_entry be;
        for (std::size_t i = 0; ud::block_entry_at(all, i, be); ++i) {
          out.num("s7comm.blockinfo.block_num", be.number);
          out.num("s7comm.blockinfo.flags", be.flags);
          out.num("s7comm.blockinfo.block_lang", be.language);
        }
      } else if (req && u.subfunction == ud::sub::list_blocks_of_type && d.payload.size() == 2) {
        out.str("s7comm.blockinfo.blocktype", ascii(d.payload));
      } else if (req && u.subfunction == ud::sub::block_info && d.payload.size() == 8) {
        out.str("s7comm.blockinfo.blocktype", ascii(d.payload.subspan(0, 2)));
        out.str("s7comm.data.blockinfo.block_number", ascii(d.payload.subspan(2, 5)));
        out.str("s7comm.data.blockinfo.filesys", ascii(d.payload.subspan(7, 1)));
      } else if (resp && u.subfunction == ud::sub::block_info) {
        const auto b = ud::parse_block_info(d.payload, m.p.origin);
        if (b) {
          out.str("s7comm.blockinfo.blocktype", cstr(d.payload.subspan(0, 2)));
          out.num("s7comm.blockinfo.res_infolength", b->info_length);
          out.num("s7comm.blockinfo.res_unknown2", b->unknown2);
          out.str("s7comm.blockinfo.res_const3",
                  fmt::format("{:c}{:c}", static_cast<char>(b->constant3 >> 8U),
                              static_cast<char>(b->constant3 & 0xFFU)));
          out.hex("s7comm.blockinfo.res_unknown", d.payload.subspan(8, 1));
          out.num("s7comm.param.userdata.blockinfo.flags", b->flags);
          out.num("s7comm.param.userdata.blockinfo.linked", b->flags & 1U);
          out.num("s7comm.param.userdata.blockinfo.standard_block", (b->flags >> 1U) & 1U);
          out.num("s7comm.param.userdata.blockinfo.nonretain", (b->flags >> 3U) & 1U);
          out.num("s7comm.blockinfo.block_lang", b->language);
          out.num("s7comm.blockinfo.subblk_type", b->subblock_type);
          out.num("s7comm.blockinfo.block_num", b->number);
          out.num("s7comm.blockinfo.load_mem_len", b->load_memory_length);
          out.num("s7comm.blockinfo.blocksecurity", b->security);
          out.str("s7comm.blockinfo.code_timestamp", block_timestamp(b->code_timestamp));
          out.str("s7comm.blockinfo.interface_timestamp", block_timestamp(b->interface_timestamp));
          out.num("s7comm.blockinfo.ssb_len", b->ssb_length);
          out.num("s7comm.blockinfo.add_len", b->add_length);
          out.num("s7comm.blockinfo.localdata_len", b->local_data_length);
          out.num("s7comm.blockinfo.mc7_len", b->mc7_length);
          out.str("s7comm.blockinfo.author", cstr(b->author));
          out.str("s7comm.blockinfo.family", cstr(b->family));
          out.str("s7comm.blockinfo.headername", cstr(b->name));
          out.str("s7comm.blockinfo.headerversion",
                  fmt::format("{}.{}", b->version >> 4U, b->version & 0xFU));
          out.hex("s7comm.blockinfo.res_unknown", d.payload.subspan(65, 1));
          out.num("s7comm.blockinfo.checksum", b->checksum);
          out.num("s7comm.blockinfo.reserved1", b->reserved1);
          out.num("s7comm.blockinfo.reserved2", b->reserved2);
        }
      }
      break;
    default:
      break;
  }
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
  if (u.type != static_cast<std::uint8_t>(ud::type::response) || !u.extended) return info;
  open_answer& a = open_[u.group & 0x0FU][u.data_unit_ref];
  const bool more = u.last_data_unit == ud::last_unit_no;
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
