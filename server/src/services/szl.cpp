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

namespace szl = codec::szl;
using codec::bytes;
using codec::writer;

// A list being answered: its LENTHDR and N_DR for the response head, its records written to `w`
// (null: counted only, for the 0x0Fnn extracts that answer the head alone). Records go straight
// into the reply: nothing is built on the heap.
struct list_out {
  writer* w = nullptr;
  std::uint16_t record_length = 0;
  std::uint16_t count = 0;

  template <class Write>
  void add(Write&& write_record) {
    ++count;
    if (w != nullptr) write_record(*w);
  }
  void add_raw(bytes record) {
    add([&](writer& out) { out.raw(record); });
  }
};

// Only the records whose index word is `*only` (0x01nn extracts), or all of them.
using index_filter = std::optional<std::uint16_t>;

// DATE_AND_TIME (8 BCD bytes) of the PLC clock, for the time field of a record.
std::array<std::byte, codec::s7::value::date_and_time_length> clock_bytes(const plc_state& st) {
  std::array<std::byte, codec::s7::value::date_and_time_length> dt{};
  writer w{dt};
  codec::s7::value::write_date_and_time(w, codec::s7::ud::date_and_time_of(st.clock_now()));
  return dt;
}

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
  return e != nullptr && !szl::is_header_only(e->id) ? e : nullptr;
}

bool selected(bytes record, const index_filter& only) {
  if (!only) return true;
  const auto idx = szl::parse_record_index(record, nullptr);
  return idx && *idx == *only;
}

// The records of a profile entry as they are.
void entry_records(const szl_entry& e, list_out& l, const index_filter& only = std::nullopt) {
  l.record_length = e.record_length;
  for (std::size_t i = 0; i < e.count; ++i) {
    const bytes r = szl::record_at(e.records, e.record_length, i);
    if (r.empty()) break;
    if (selected(r, only)) l.add_raw(r);
  }
}

// Calls `f` with each record of the profile's full list 0x00nn when its records have
// `record_length` bytes, else with each record of `defaults` (a list of indexes) made by
// `make(index)`. A template record that does not parse is passed on as it is (`raw`).
template <class Record, class Parse, class Make, class Emit, class Raw, std::size_t N>
void each_template(const plc_profile& p, std::uint8_t number, std::size_t record_length,
                   Parse&& parse, const std::array<std::uint16_t, N>& defaults, Make&& make,
                   Emit&& emit, Raw&& raw) {
  const szl_entry* e = full_list(p, number);
  if (e == nullptr || e->record_length != record_length) {
    for (const std::uint16_t idx : defaults) emit(Record{make(idx)});
    return;
  }
  for (std::size_t i = 0; i < e->count; ++i) {
    const bytes r = szl::record_at(e->records, e->record_length, i);
    if (r.empty()) break;
    if (const auto parsed = parse(r, nullptr))
      emit(Record{*parsed});
    else
      raw(r);
  }
}

// 0x0011: module identification. Templates: the profile's 0x0011 records (frame 59 of
// s7comm_reading_plc_status.pcap: index 1 module, 6 basic hardware, 7 basic firmware, 0x81 boot
// loader). Record: index(2) MlfB(20) BGTyp(2) Ausbg1(2) Ausbg2(2). The identity goes in.
void personalise(szl::module_identification& m, const identity& id) {
  if ((m.index == szl::module_index::module || m.index == szl::module_index::basic_hardware) &&
      !id.order_number.empty())
    szl::set_text(m.mlfb, id.order_number, ' ');
  unsigned a = 0, b = 0, c = 0;
  if (m.index == szl::module_index::basic_firmware &&
      std::sscanf(id.firmware_version.c_str(), "V%u.%u.%u", &a, &b, &c) == 3)
    szl::set_version(
        m, {'V', static_cast<std::uint8_t>(a & 0xFFU), static_cast<std::uint8_t>(b & 0xFFU),
            static_cast<std::uint8_t>(c & 0xFFU)});
}

void identification(const plc_state& st, list_out& l, const index_filter& only = std::nullopt) {
  l.record_length = szl::module_identification_length;
  // No template: the three records every S7-300 has (MlfB blank, BGTyp 00C0).
  constexpr std::array<std::uint16_t, 3> defaults{szl::module_index::module,
                                                  szl::module_index::basic_hardware,
                                                  szl::module_index::basic_firmware};
  const auto make = [](std::uint16_t idx) {
    szl::module_identification m;
    m.index = idx;
    szl::set_text(m.mlfb, {}, ' ');
    m.bg_type = 0x00C0;
    return m;
  };
  const auto emit = [&](szl::module_identification m) {
    if (only && m.index != *only) return;
    personalise(m, st.id());
    l.add([&](writer& w) { szl::write_module_identification(w, m); });
  };
  const auto raw = [&](bytes r) {
    if (selected(r, only)) l.add_raw(r);
  };
  each_template<szl::module_identification>(st.profile(), 0x11, l.record_length,
                                            szl::parse_module_identification, defaults, make, emit,
                                            raw);
}

// 0x001C: component identification, records index(2) + 32 bytes. Templates: the profile's 0x001C
// (frames 69+72: 1 AS name, 2 module name, 3 plant id, 4 copyright, 5 serial number, 7 module
// type name, 8 memory card serial, 9 manufacturer/profile, 0xA OEM, 0xB location).
const std::string* component_text(const identity& id, std::uint16_t index) {
  switch (index) {
    case szl::component_index::as_name:
      return &id.as_name;
    case szl::component_index::module_name:
      return &id.module_name;
    case szl::component_index::plant_id:
      return &id.plant_id;
    case szl::component_index::copyright:
      return &id.copyright;
    case szl::component_index::serial_number:
      return &id.serial_number;
    case szl::component_index::module_type:
      return &id.module_type;
    case szl::component_index::memory_card_serial:
      return &id.memory_card_serial;
    default:
      return nullptr;
  }
}

void components(const plc_state& st, list_out& l, const index_filter& only = std::nullopt) {
  l.record_length = szl::component_identification_length;
  constexpr std::array<std::uint16_t, 7> defaults{
      szl::component_index::as_name,           szl::component_index::module_name,
      szl::component_index::plant_id,          szl::component_index::copyright,
      szl::component_index::serial_number,     szl::component_index::module_type,
      szl::component_index::memory_card_serial};
  const auto make = [](std::uint16_t idx) {
    szl::component_identification c;
    c.index = idx;
    return c;
  };
  const auto emit = [&](szl::component_identification c) {
    if (only && c.index != *only) return;
    if (const std::string* s = component_text(st.id(), c.index)) szl::set_text(c.name, *s, '\0');
    l.add([&](writer& w) { szl::write_component_identification(w, c); });
  };
  const auto raw = [&](bytes r) {
    if (selected(r, only)) l.add_raw(r);
  };
  each_template<szl::component_identification>(st.profile(), 0x1C, l.record_length,
                                               szl::parse_component_identification, defaults, make,
                                               emit, raw);
}

// The profile's template record for (id, index), or a zero record in `zero` that carries only
// its index.
template <std::size_t N>
bytes template_record(const plc_profile& p, std::uint16_t id, std::uint16_t index,
                      std::array<std::byte, N>& zero) {
  if (const szl_entry* e = find_entry(p, id, index);
      e != nullptr && e->count >= 1 && e->record_length == N)
    return bytes{e->records}.first(N);
  writer w{zero};
  w.u16be(index);  // the record index (szl::record_index_length)
  w.zeros(N - szl::record_index_length);
  return zero;
}

// One record made from the profile's template for (template_id, index) by `update`, which
// returns false when the template does not parse.
template <std::size_t N, class Parse, class Update, class Write>
bool from_template(const plc_state& st, std::uint16_t template_id, std::uint16_t index, list_out& l,
                   Parse&& parse, Update&& update, Write&& write) {
  std::array<std::byte, N> zero{};
  const auto parsed = parse(template_record(st.profile(), template_id, index, zero), nullptr);
  if (!parsed) return false;
  auto r = *parsed;
  update(r);
  l.record_length = N;
  l.add([&](writer& w) { write(w, r); });
  return true;
}

// 0x0131 index 1, communication capabilities (frame 24: max PDU 00F0 = 240, max connections
// 000C, MPI and bus rates): the real values of this server go in.
bool capabilities(const plc_state& st, const szl_context& ctx, list_out& l) {
  return from_template<szl::communication_capabilities_length>(
      st, 0x0131, 1, l, szl::parse_communication_capabilities,
      [&](szl::communication_capabilities& c) {
        c.pdu = ctx.pdu_size;
        c.anz = static_cast<std::uint16_t>(std::min<std::size_t>(st.cfg().max_connections, 0xFFFF));
      },
      szl::write_communication_capabilities);
}

// 0x0132 index 1, communication status (frame 212: res_pg 1, res_os 1, u_pg 1, u_os 0, proj 1,
// auf 0, free 10, ...): the connections of this server go in.
bool communication_status(const plc_state& st, list_out& l) {
  return from_template<szl::communication_status_length>(
      st, 0x0132, 1, l, szl::parse_communication_status,
      [&](szl::communication_status& c) {
        const std::uint16_t basic = st.connections(3);
        c.u_pg = st.connections(1);
        c.u_os = st.connections(2);
        const long used =
            std::max<long>(c.res_pg, c.u_pg) + std::max<long>(c.res_os, c.u_os) + basic;
        c.free = static_cast<std::uint16_t>(
            std::max<long>(0, static_cast<long>(st.cfg().max_connections) - used));
      },
      szl::write_communication_status);
}

// 0x0132 / 0x0232 index 4, protection (frame 11 of the blocklist capture: sch_schal 1, sch_par
// 0, sch_rel 1, bart_sch 2, anl_sch 0, then checksums). snap7's GetProtection reads 0x0232.
// The record's other bytes come from the profile's record of the ID asked (a CPU's 0x0232 and
// 0x0132 differ after anl_sch: tia_s300_goOnline frame 86, byte 39), else from its 0x0132.
bool protection(const plc_state& st, std::uint16_t id, const szl_context& ctx, list_out& l) {
  const std::uint16_t template_id = find_entry(st.profile(), id, 4) != nullptr ? id : 0x0132;
  const bool templated = find_entry(st.profile(), template_id, 4) != nullptr;
  return from_template<szl::protection_length>(
      st, template_id, 4, l, szl::parse_protection,
      [&](szl::protection& r) {
        if (!templated) r.sch_schal = 1;
        r.sch_par = st.protection_level() > 1 ? st.protection_level() : 0;
        r.sch_rel = ctx.effective_protection;
        r.bart_sch = st.mode_selector();
      },
      szl::write_protection);
}

// 0x0132 index 8, time system status: the current PLC time in its DATE_AND_TIME
// (s7comm_reading_setting_plc_time.pcap frame 29: 2014-08-20 11:59:43.967).
bool time_status(const plc_state& st, list_out& l) {
  const auto now = clock_bytes(st);
  return from_template<szl::time_status_length>(
      st, 0x0132, 8, l, szl::parse_time_status, [&](szl::time_status& r) { r.time = now; },
      szl::write_time_status);
}

// 0x0424, operating mode (frame 87: ereig 5144, ae FF, bzu_id 08 = RUN, time): bzu_id 0x08 RUN,
// STOP 0x04 (what snap7's GetPlcStatus maps to S7CpuStatusStop), and the PLC clock.
bool operating_mode_record(const plc_state& st, std::uint16_t index, list_out& l) {
  szl::operating_mode r;
  if (const szl_entry* e = find_entry(st.profile(), 0x0424, index);
      e != nullptr && e->count >= 1 && e->record_length == szl::operating_mode_length) {
    const auto parsed =
        szl::parse_operating_mode(bytes{e->records}.first(szl::operating_mode_length), nullptr);
    if (!parsed) return false;
    r = *parsed;
  } else {
    r.ereig = 0x5144;
    r.ae = 0xFF;
  }
  r.bzu_id = st.mode() == operating_mode::run ? szl::bzu_run : szl::bzu_stop;
  const auto now = clock_bytes(st);
  r.time = now;
  l.record_length = szl::operating_mode_length;
  l.add([&](writer& w) { szl::write_operating_mode(w, r); });
  return true;
}

// IDs computed below (0x0131/0x0132 only with their template in the profile).
constexpr std::array<std::uint16_t, 10> computed_ids{0x0000, 0x0F00, 0x0011, 0x0111, 0x0F11,
                                                     0x001C, 0x011C, 0x0F1C, 0x0232, 0x0424};

// Calls `f` with each SZL-ID the server answers, sorted as the captured CPU sorts SZL 0x0000
// (frames 17+20 of s7comm_reading_plc_status.pcap): by partial list number, then by extract
// (0000 0F00 0002 0011 0111 0F11 0012 ...). Each round picks the next larger key: no list is
// built (a rare request; the profile holds tens of entries).
template <class F>
void for_each_szl_id(const plc_state& st, F&& f) {
  const auto key = [](std::uint16_t id) {
    return std::uint32_t{((id & 0xFFU) << 8U) | (id >> 8U)};
  };
  std::optional<std::uint32_t> last;
  for (;;) {
    std::optional<std::uint32_t> best;
    std::uint16_t best_id = 0;
    const auto consider = [&](std::uint16_t id) {
      const std::uint32_t k = key(id);
      if ((!last || k > *last) && (!best || k < *best)) best = k, best_id = id;
    };
    for (const std::uint16_t id : computed_ids) consider(id);
    for (const szl_entry& e : st.profile().szl) {
      consider(e.id);
      if ((e.id & 0xFF00U) == 0 && e.count > 0) {
        consider(static_cast<std::uint16_t>(0x0100U | e.id));
        consider(static_cast<std::uint16_t>(0x0F00U | e.id));
      }
    }
    if (!best) return;
    f(best_id);
    last = best;
  }
}

// 0x0000 / 0x0F00: what exists. A profile that carries the list itself (one learned from a real
// CPU) is served as that CPU answered it; the bundled profile carries none, so the list is
// computed from what this PLC serves.
void id_list(const plc_state& st, list_out& l) {
  if (const szl_entry* e = full_list(st.profile(), 0x00)) {
    entry_records(*e, l);
    return;
  }
  l.record_length = szl::id_record_length;
  for_each_szl_id(st,
                  [&](std::uint16_t x) { l.add([&](writer& w) { szl::write_id_record(w, x); }); });
}

// The lists computed from live state (step 1 of the resolution above). False: not computed here,
// the profile is asked next (nothing was written).
bool computed(const plc_state& st, std::uint16_t id, std::uint16_t index, const szl_context& ctx,
              list_out& l) {
  const plc_profile& p = st.profile();
  if (szl::is_header_only(id)) l.w = nullptr;  // 0x0F00, 0x0F11, 0x0F1C: the head alone
  switch (id) {
    case 0x0000:
    case 0x0F00:
      id_list(st, l);
      return true;
    case 0x0011:
    case 0x0F11:
      identification(st, l);
      return true;
    case 0x0111:
      identification(st, l, index);
      return l.count > 0;
    case 0x001C:
    case 0x0F1C:
      components(st, l);
      return true;
    case 0x011C:
      components(st, l, index);
      return l.count > 0;
    case 0x0131:
      return index == 1 && find_entry(p, 0x0131, 1) != nullptr && capabilities(st, ctx, l);
    case 0x0132:
      if (index == 1 && find_entry(p, 0x0132, 1) != nullptr) return communication_status(st, l);
      if (index == 8 && find_entry(p, 0x0132, 8) != nullptr) return time_status(st, l);
      return index == 4 && protection(st, 0x0132, ctx, l);
    case 0x0232:
      return index == 4 && protection(st, 0x0232, ctx, l);
    case 0x0424:
      return operating_mode_record(st, index, l);
    default:
      return false;
  }
}

// Steps 2 and 3 of the resolution above: the profile's entry, or derived from its full list.
bool from_profile(const plc_state& st, std::uint16_t id, std::uint16_t index, list_out& l) {
  const plc_profile& p = st.profile();
  if (const szl_entry* e = find_entry(p, id, index)) {
    l.record_length = e->record_length;
    if (szl::is_header_only(e->id))
      l.count = e->count;
    else
      entry_records(*e, l);
    return true;
  }
  if ((id & 0xF000U) != 0) return false;  // only CPU lists (module class 0)
  const szl_entry* full = full_list(p, szl::list_number(id));
  if (full == nullptr) return false;
  const auto extract = static_cast<std::uint8_t>((id >> 8U) & 0x0FU);
  if (extract == 0xF) {
    l.record_length = full->record_length;
    l.count = full->count;
    return true;
  }
  if (extract != 0x1) return false;
  entry_records(*full, l, index);
  return l.count > 0;
}

}  // namespace

std::vector<std::uint16_t> szl_ids(const plc_state& st) {
  std::vector<std::uint16_t> ids;
  for_each_szl_id(st, [&](std::uint16_t id) { ids.push_back(id); });
  return ids;
}

std::optional<std::size_t> write_szl(const plc_state& st, std::uint16_t id, std::uint16_t index,
                                     const szl_context& ctx, codec::mutable_bytes out) {
  writer w{out};
  w.zeros(szl::response_head_size);  // the head, written below once N_DR is known
  list_out l{&w};
  if (!computed(st, id, index, ctx, l)) {
    l = list_out{&w};
    if (!from_profile(st, id, index, l)) return std::nullopt;
  }
  // SZL 0x0424 has one record whatever the index asked: the captured S7-300 answered index 4
  // with index 0 (tia_s300_goOnline.pcapng frames 5 and 6), as it answers index 0.
  const std::uint16_t answered_index = id == 0x0424 ? 0 : index;
  writer head{out.first(std::min(out.size(), szl::response_head_size))};
  szl::write_response_head(head, {id, answered_index, l.record_length, l.count, {}});
  return w.size();
}

}  // namespace protos7::server
