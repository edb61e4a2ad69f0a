// Read SZL: the profile's table of records plus the lists computed from live state.
//
// Resolution of (SZL-ID, index), in this order:
//   1. computed lists: 0x0000 / 0x0F00 (what exists), 0x0011 / 0x0111 / 0x0F11 and 0x001C /
//      0x011C / 0x0F1C (identity over the profile's record templates), 0x0131 index 1 (PDU size,
//      connections), 0x0132 index 1 (connection counts), 0x0132 / 0x0232 index 4 (protection),
//      0x0132 index 8 (clock), 0x0424 (operating mode and clock);
//   2. an entry of the profile for exactly (ID, index), or for ID with "index": "any";
//   3. derived from the full list 0x00nn of the profile: 0x01nn selects the records whose first
//      word is the index (0x0111 index 1, 0x011C index 2, 0x0174 index 6 in the captures all do),
//      0x0Fnn answers the list's LENTHDR and N_DR without records (0x0F11 -> 001C 0004,
//      0x0F1C -> 0022 000A, 0x0F74 -> 0004 0007 in s7comm_reading_plc_status.pcap);
//   4. otherwise the CPU's error: Userdata error 0xD402 with data 0A 00 00 00
//      (s7comm_reading_plc_status.pcap frame 42, SZL 0x0C91 index 0x7FFF).
#include "protos7/codec/szl.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "protos7/codec/s7_value.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/codec/writer.hpp"
#include "protos7/server/services.hpp"

namespace protos7::server {

namespace {

using bytes_vec = std::vector<std::byte>;
namespace szl = codec::szl;

// The bytes `write` writes (run once in counting mode for the size).
template <class Write>
bytes_vec written(Write&& write) {
  codec::writer count{codec::mutable_bytes{}};
  write(count);
  bytes_vec out(count.size());
  codec::writer w{out};
  write(w);
  return out;
}

// DATE_AND_TIME (8 BCD bytes) of the PLC clock, for the time field of a record.
std::array<std::byte, codec::s7::value::date_and_time_length> clock_bytes(const plc_state& st) {
  std::array<std::byte, codec::s7::value::date_and_time_length> dt{};
  codec::writer w{dt};
  codec::s7::value::write_date_and_time(w, codec::s7::ud::date_and_time_of(st.clock_now()));
  return dt;
}

// A list under construction.
struct list {
  std::uint16_t record_length = 0;
  std::vector<bytes_vec> records;
};

const szl_entry* find_entry(const plc_profile& p, std::uint16_t id,
                            std::optional<std::uint16_t> index) {
  for (const szl_entry& e : p.szl) {
    if (e.id != id) continue;
    if (!e.index || !index || *e.index == *index) return &e;
  }
  return nullptr;
}

// The full list 0x00nn of the profile (any index, or index 0).
const szl_entry* full_list(const plc_profile& p, std::uint8_t number) {
  const szl_entry* e = find_entry(p, number, std::nullopt);
  return e != nullptr && !codec::szl::is_header_only(e->id) ? e : nullptr;
}

list from_entry(const szl_entry& e) {
  list l;
  l.record_length = e.record_length;
  for (std::size_t i = 0; i < e.count && e.record_length != 0; ++i) {
    const auto first = e.records.begin() + static_cast<std::ptrdiff_t>(i * e.record_length);
    l.records.emplace_back(first, first + e.record_length);
  }
  return l;
}

bytes_vec encode(std::uint16_t id, std::uint16_t index, const list& l, bool header_only = false,
                 std::uint16_t count = 0) {
  const std::uint16_t n = header_only ? count : static_cast<std::uint16_t>(l.records.size());
  return written([&](codec::writer& w) {
    szl::write_response_head(w, {id, index, l.record_length, n, {}});
    if (!header_only)
      for (const bytes_vec& r : l.records) w.raw(r);
  });
}

// 0x0011: module identification. Templates: the profile's 0x0011 records (frame 59 of
// s7comm_reading_plc_status.pcap: index 1 module, 6 basic hardware, 7 basic firmware, 0x81 boot
// loader). Record: index(2) MlfB(20) BGTyp(2) Ausbg1(2) Ausbg2(2).
list identification(const plc_state& st) {
  const plc_profile& p = st.profile();
  list l;
  l.record_length = szl::module_identification_length;
  if (const szl_entry* e = full_list(p, 0x11);
      e != nullptr && e->record_length == szl::module_identification_length) {
    l = from_entry(*e);
  } else {
    // No template: the three records every S7-300 has (MlfB blank, BGTyp 00C0).
    for (const std::uint16_t idx : {szl::module_index::module, szl::module_index::basic_hardware,
                                    szl::module_index::basic_firmware}) {
      szl::module_identification m;
      m.index = idx;
      szl::set_text(m.mlfb, {}, ' ');
      m.bg_type = 0x00C0;
      l.records.push_back(
          written([&](codec::writer& w) { szl::write_module_identification(w, m); }));
    }
  }
  const identity& id = st.id();
  for (bytes_vec& r : l.records) {
    const auto parsed = szl::parse_module_identification(r, nullptr);
    if (!parsed) continue;
    szl::module_identification m = *parsed;
    if ((m.index == szl::module_index::module || m.index == szl::module_index::basic_hardware) &&
        !id.order_number.empty())
      szl::set_text(m.mlfb, id.order_number, ' ');
    unsigned a = 0, b = 0, c = 0;
    if (m.index == szl::module_index::basic_firmware &&
        std::sscanf(id.firmware_version.c_str(), "V%u.%u.%u", &a, &b, &c) == 3)
      szl::set_version(
          m, {'V', static_cast<std::uint8_t>(a & 0xFFU), static_cast<std::uint8_t>(b & 0xFFU),
              static_cast<std::uint8_t>(c & 0xFFU)});
    r = written([&](codec::writer& w) { szl::write_module_identification(w, m); });
  }
  return l;
}

// 0x001C: component identification, records index(2) + 32 bytes. Templates: the profile's 0x001C
// (frames 69+72: 1 AS name, 2 module name, 3 plant id, 4 copyright, 5 serial number, 7 module
// type name, 8 memory card serial, 9 manufacturer/profile, 0xA OEM, 0xB location).
list components(const plc_state& st) {
  const plc_profile& p = st.profile();
  list l;
  l.record_length = szl::component_identification_length;
  if (const szl_entry* e = full_list(p, 0x1C);
      e != nullptr && e->record_length == szl::component_identification_length) {
    l = from_entry(*e);
  } else {
    for (const std::uint16_t idx :
         {szl::component_index::as_name, szl::component_index::module_name,
          szl::component_index::plant_id, szl::component_index::copyright,
          szl::component_index::serial_number, szl::component_index::module_type,
          szl::component_index::memory_card_serial}) {
      szl::component_identification c;
      c.index = idx;
      l.records.push_back(
          written([&](codec::writer& w) { szl::write_component_identification(w, c); }));
    }
  }
  const identity& id = st.id();
  for (bytes_vec& r : l.records) {
    const auto parsed = szl::parse_component_identification(r, nullptr);
    if (!parsed) continue;
    szl::component_identification c = *parsed;
    const std::string* s = nullptr;
    switch (c.index) {
      case szl::component_index::as_name:
        s = &id.as_name;
        break;
      case szl::component_index::module_name:
        s = &id.module_name;
        break;
      case szl::component_index::plant_id:
        s = &id.plant_id;
        break;
      case szl::component_index::copyright:
        s = &id.copyright;
        break;
      case szl::component_index::serial_number:
        s = &id.serial_number;
        break;
      case szl::component_index::module_type:
        s = &id.module_type;
        break;
      case szl::component_index::memory_card_serial:
        s = &id.memory_card_serial;
        break;
      default:
        break;
    }
    if (s == nullptr) continue;
    szl::set_text(c.name, *s, '\0');
    r = written([&](codec::writer& w) { szl::write_component_identification(w, c); });
  }
  return l;
}

list select_index(const list& full, std::uint16_t index) {
  list l;
  l.record_length = full.record_length;
  for (const bytes_vec& r : full.records)
    if (const auto idx = szl::parse_record_index(r, nullptr); idx && *idx == index)
      l.records.push_back(r);
  return l;
}

// The profile's template record for (id, index), or a zero record that carries only its index.
bytes_vec template_record(const plc_profile& p, std::uint16_t id, std::uint16_t index,
                          std::size_t len) {
  if (const szl_entry* e = find_entry(p, id, index);
      e != nullptr && e->count >= 1 && e->record_length == len)
    return {e->records.begin(), e->records.begin() + static_cast<std::ptrdiff_t>(len)};
  return written([&](codec::writer& w) {
    w.u16be(index);  // the record index (szl::record_index_length)
    w.zeros(len - szl::record_index_length);
  });
}

std::optional<bytes_vec> computed(const plc_state& st, std::uint16_t id, std::uint16_t index,
                                  const szl_context& ctx) {
  const plc_profile& p = st.profile();
  switch (id) {
    case 0x0000:
    case 0x0F00: {
      // A profile that carries the list itself (one learned from a real CPU) is served as that
      // CPU answered it; the bundled profile carries none, so the list is computed from what
      // this PLC serves.
      if (const szl_entry* e = full_list(p, 0x00)) {
        const list l = from_entry(*e);
        return encode(id, index, l, id == 0x0F00, static_cast<std::uint16_t>(l.records.size()));
      }
      const auto ids = szl_ids(st);
      list l;
      l.record_length = szl::id_record_length;
      for (const std::uint16_t x : ids)
        l.records.push_back(written([&](codec::writer& w) { szl::write_id_record(w, x); }));
      return encode(id, index, l, id == 0x0F00, static_cast<std::uint16_t>(ids.size()));
    }
    case 0x0011:
      return encode(id, index, identification(st));
    case 0x0111: {
      const list l = select_index(identification(st), index);
      if (l.records.empty()) return std::nullopt;
      return encode(id, index, l);
    }
    case 0x0F11: {
      const list l = identification(st);
      return encode(id, index, l, true, static_cast<std::uint16_t>(l.records.size()));
    }
    case 0x001C:
      return encode(id, index, components(st));
    case 0x011C: {
      const list l = select_index(components(st), index);
      if (l.records.empty()) return std::nullopt;
      return encode(id, index, l);
    }
    case 0x0F1C: {
      const list l = components(st);
      return encode(id, index, l, true, static_cast<std::uint16_t>(l.records.size()));
    }
    case 0x0131:
      if (index == 1 && find_entry(p, 0x0131, 1) != nullptr) {
        // Communication capabilities (frame 24: max PDU 00F0 = 240, max connections 000C, MPI
        // and bus rates): the real values of this server go in.
        const bytes_vec t = template_record(p, 0x0131, 1, szl::communication_capabilities_length);
        const auto parsed = szl::parse_communication_capabilities(t, nullptr);
        if (!parsed) return std::nullopt;
        szl::communication_capabilities c = *parsed;
        c.pdu = ctx.pdu_size;
        c.anz = static_cast<std::uint16_t>(std::min<std::size_t>(st.cfg().max_connections, 0xFFFF));
        return encode(id, index,
                      list{szl::communication_capabilities_length, {written([&](codec::writer& w) {
                             szl::write_communication_capabilities(w, c);
                           })}});
      }
      return std::nullopt;
    case 0x0132:
    case 0x0232:
      if (index == 1 && id == 0x0132 && find_entry(p, 0x0132, 1) != nullptr) {
        // Communication status (frame 212: res_pg 1, res_os 1, u_pg 1, u_os 0, proj 1, auf 0,
        // free 10, ...): the connections of this server go in.
        const bytes_vec t = template_record(p, 0x0132, 1, szl::communication_status_length);
        const auto parsed = szl::parse_communication_status(t, nullptr);
        if (!parsed) return std::nullopt;
        szl::communication_status c = *parsed;
        const std::uint16_t basic = st.connections(3);
        c.u_pg = st.connections(1);
        c.u_os = st.connections(2);
        const long used =
            std::max<long>(c.res_pg, c.u_pg) + std::max<long>(c.res_os, c.u_os) + basic;
        c.free = static_cast<std::uint16_t>(
            std::max<long>(0, static_cast<long>(st.cfg().max_connections) - used));
        return encode(
            id, index,
            list{szl::communication_status_length,
                 {written([&](codec::writer& w) { szl::write_communication_status(w, c); })}});
      }
      if (index == 4) {
        // Protection (frame 11 of the blocklist capture: sch_schal 1, sch_par 0, sch_rel 1,
        // bart_sch 2, anl_sch 0, then checksums). snap7's GetProtection reads 0x0232 index 4.
        const bytes_vec t = template_record(p, 0x0132, 4, szl::protection_length);
        const auto parsed = szl::parse_protection(t, nullptr);
        if (!parsed) return std::nullopt;
        szl::protection r = *parsed;
        if (find_entry(p, 0x0132, 4) == nullptr) r.sch_schal = 1;
        r.sch_par = st.protection_level() > 1 ? st.protection_level() : 0;
        r.sch_rel = ctx.effective_protection;
        r.bart_sch = st.mode_selector();
        return encode(id, index,
                      list{szl::protection_length,
                           {written([&](codec::writer& w) { szl::write_protection(w, r); })}});
      }
      if (index == 8 && id == 0x0132 && find_entry(p, 0x0132, 8) != nullptr) {
        // Time system status: the current PLC time in its DATE_AND_TIME
        // (s7comm_reading_setting_plc_time.pcap frame 29: 2014-08-20 11:59:43.967).
        const bytes_vec t = template_record(p, 0x0132, 8, szl::time_status_length);
        const auto parsed = szl::parse_time_status(t, nullptr);
        if (!parsed) return std::nullopt;
        szl::time_status r = *parsed;
        const auto now = clock_bytes(st);
        r.time = now;
        return encode(id, index,
                      list{szl::time_status_length,
                           {written([&](codec::writer& w) { szl::write_time_status(w, r); })}});
      }
      return std::nullopt;
    case 0x0424: {
      // Operating mode (frame 87: ereig 5144, ae FF, bzu_id 08 = RUN, time): bzu_id 0x08 RUN,
      // STOP 0x04 (what snap7's GetPlcStatus maps to S7CpuStatusStop), and the PLC clock.
      szl::operating_mode r;
      bytes_vec t;
      if (const szl_entry* e = find_entry(p, 0x0424, index);
          e != nullptr && e->count >= 1 && e->record_length == szl::operating_mode_length) {
        t.assign(e->records.begin(), e->records.begin() + szl::operating_mode_length);
        const auto parsed = szl::parse_operating_mode(t, nullptr);
        if (!parsed) return std::nullopt;
        r = *parsed;
      } else {
        r.ereig = 0x5144;
        r.ae = 0xFF;
      }
      r.bzu_id = st.mode() == operating_mode::run ? szl::bzu_run : szl::bzu_stop;
      const auto now = clock_bytes(st);
      r.time = now;
      return encode(id, index,
                    list{szl::operating_mode_length,
                         {written([&](codec::writer& w) { szl::write_operating_mode(w, r); })}});
    }
    default:
      return std::nullopt;
  }
}

// IDs computed above (0x0131/0x0132 only with their template in the profile).
constexpr std::uint16_t computed_ids[] = {0x0000, 0x0F00, 0x0011, 0x0111, 0x0F11,
                                          0x001C, 0x011C, 0x0F1C, 0x0232, 0x0424};

}  // namespace

std::vector<std::uint16_t> szl_ids(const plc_state& st) {
  std::vector<std::uint16_t> ids(std::begin(computed_ids), std::end(computed_ids));
  for (const szl_entry& e : st.profile().szl) {
    ids.push_back(e.id);
    if ((e.id & 0xFF00U) == 0 && e.count > 0) {
      ids.push_back(static_cast<std::uint16_t>(0x0100U | e.id));
      ids.push_back(static_cast<std::uint16_t>(0x0F00U | e.id));
    }
  }
  // Sorted as the captured CPU sorts SZL 0x0000 (frames 17+20 of s7comm_reading_plc_status.pcap):
  // by partial list number, then by extract (0000 0F00 0002 0011 0111 0F11 0012 ...).
  std::sort(ids.begin(), ids.end(), [](std::uint16_t a, std::uint16_t b) {
    return std::pair(a & 0xFFU, a >> 8U) < std::pair(b & 0xFFU, b >> 8U);
  });
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::optional<std::vector<std::byte>> build_szl(const plc_state& st, std::uint16_t id,
                                                std::uint16_t index, const szl_context& ctx) {
  if (auto c = computed(st, id, index, ctx)) return c;
  const plc_profile& p = st.profile();
  if (const szl_entry* e = find_entry(p, id, index)) {
    if (codec::szl::is_header_only(e->id))
      return encode(id, index, list{e->record_length, {}}, true, e->count);
    return encode(id, index, from_entry(*e));
  }
  const std::uint8_t number = codec::szl::list_number(id);
  const std::uint8_t extract = static_cast<std::uint8_t>((id >> 8U) & 0x0FU);
  if ((id & 0xF000U) != 0) return std::nullopt;  // only CPU lists (module class 0)
  const szl_entry* full = full_list(p, number);
  if (full == nullptr) return std::nullopt;
  if (extract == 0xF) return encode(id, index, list{full->record_length, {}}, true, full->count);
  if (extract == 0x1) {
    const list l = select_index(from_entry(*full), index);
    if (l.records.empty()) return std::nullopt;
    return encode(id, index, l);
  }
  return std::nullopt;
}

}  // namespace protos7::server
