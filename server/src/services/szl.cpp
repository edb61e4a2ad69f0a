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
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "protos7/codec/szl.hpp"
#include "protos7/codec/writer.hpp"
#include "protos7/server/services.hpp"

namespace protos7::server {

namespace {

using bytes_vec = std::vector<std::byte>;

std::uint16_t word_at(std::span<const std::byte> b, std::size_t at) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(b[at]) << 8U) | std::to_integer<unsigned>(b[at + 1]));
}
void set_word(bytes_vec& b, std::size_t at, std::uint16_t v) {
  if (at + 2 > b.size()) return;
  b[at] = static_cast<std::byte>(v >> 8U);
  b[at + 1] = static_cast<std::byte>(v & 0xFFU);
}
void set_text(bytes_vec& b, std::size_t at, std::size_t len, std::string_view s, char pad) {
  for (std::size_t i = 0; i < len && at + i < b.size(); ++i)
    b[at + i] = static_cast<std::byte>(i < s.size() ? s[i] : pad);
}
// DATE_AND_TIME (8 BCD bytes) of the PLC clock: the last 8 bytes of a Read Clock timestamp.
void set_dt(bytes_vec& b, std::size_t at, const codec::s7::ud::timestamp& t) {
  std::array<std::byte, codec::s7::ud::timestamp_length> ts{};
  codec::writer w{ts};
  codec::s7::ud::write_timestamp(w, t);
  for (std::size_t i = 0; i < 8 && at + i < b.size(); ++i) b[at + i] = ts[2 + i];
}

// A list under construction.
struct list {
  std::uint16_t record_length = 0;
  std::vector<bytes_vec> records;
};

const szl_entry* find_entry(const plc_profile& p, std::uint16_t id, std::optional<std::uint16_t> index) {
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
  bytes_vec out;
  const std::uint16_t n = header_only ? count : static_cast<std::uint16_t>(l.records.size());
  out.reserve(8 + (header_only ? 0 : n * std::size_t{l.record_length}));
  const auto put = [&](std::uint16_t v) {
    out.push_back(static_cast<std::byte>(v >> 8U));
    out.push_back(static_cast<std::byte>(v & 0xFFU));
  };
  put(id);
  put(index);
  put(l.record_length);
  put(n);
  if (!header_only)
    for (const bytes_vec& r : l.records) out.insert(out.end(), r.begin(), r.end());
  return out;
}

// 0x0011: module identification. Templates: the profile's 0x0011 records (frame 59 of
// s7comm_reading_plc_status.pcap: index 1 module, 6 basic hardware, 7 basic firmware, 0x81 boot
// loader). Record: index(2) MlfB(20) BGTyp(2) Ausbg1(2) Ausbg2(2).
list identification(const plc_state& st) {
  const plc_profile& p = st.profile();
  list l;
  l.record_length = 28;
  if (const szl_entry* e = full_list(p, 0x11); e != nullptr && e->record_length == 28) {
    l = from_entry(*e);
  } else {
    // No template: the three records every S7-300 has.
    for (std::uint16_t idx : {std::uint16_t{1}, std::uint16_t{6}, std::uint16_t{7}}) {
      bytes_vec r(28, std::byte{0x20});
      set_word(r, 0, idx);
      set_word(r, 22, 0x00C0);
      set_word(r, 24, 0x0000);
      set_word(r, 26, 0x0000);
      l.records.push_back(std::move(r));
    }
  }
  const identity& id = st.id();
  for (bytes_vec& r : l.records) {
    const std::uint16_t idx = word_at(r, 0);
    if ((idx == 1 || idx == 6) && !id.order_number.empty()) set_text(r, 2, 20, id.order_number, ' ');
    unsigned a = 0, b = 0, c = 0;
    if (idx == 7 && std::sscanf(id.firmware_version.c_str(), "V%u.%u.%u", &a, &b, &c) == 3) {
      r[24] = std::byte{'V'};
      r[25] = static_cast<std::byte>(a & 0xFFU);
      r[26] = static_cast<std::byte>(b & 0xFFU);
      r[27] = static_cast<std::byte>(c & 0xFFU);
    }
  }
  return l;
}

// 0x001C: component identification, records index(2) + 32 bytes. Templates: the profile's 0x001C
// (frames 69+72: 1 AS name, 2 module name, 3 plant id, 4 copyright, 5 serial number, 7 module
// type name, 8 memory card serial, 9 manufacturer/profile, 0xA OEM, 0xB location).
list components(const plc_state& st) {
  const plc_profile& p = st.profile();
  list l;
  l.record_length = 34;
  if (const szl_entry* e = full_list(p, 0x1C); e != nullptr && e->record_length == 34) {
    l = from_entry(*e);
  } else {
    for (int i : {1, 2, 3, 4, 5, 7, 8}) {
      const auto idx = static_cast<std::uint16_t>(i);
      bytes_vec r(34, std::byte{0});
      set_word(r, 0, idx);
      l.records.push_back(std::move(r));
    }
  }
  const identity& id = st.id();
  for (bytes_vec& r : l.records) {
    const std::string* s = nullptr;
    switch (word_at(r, 0)) {
      case 1: s = &id.as_name; break;
      case 2: s = &id.module_name; break;
      case 3: s = &id.plant_id; break;
      case 4: s = &id.copyright; break;
      case 5: s = &id.serial_number; break;
      case 7: s = &id.module_type; break;
      case 8: s = &id.memory_card_serial; break;
      default: break;
    }
    if (s != nullptr) set_text(r, 2, 32, *s, '\0');
  }
  return l;
}

list select_index(const list& full, std::uint16_t index) {
  list l;
  l.record_length = full.record_length;
  for (const bytes_vec& r : full.records)
    if (r.size() >= 2 && word_at(r, 0) == index) l.records.push_back(r);
  return l;
}

// A single-record list from the profile's template for (id, index), or a zero record.
bytes_vec template_record(const plc_profile& p, std::uint16_t id, std::uint16_t index, std::size_t len) {
  if (const szl_entry* e = find_entry(p, id, index); e != nullptr && e->count >= 1 && e->record_length == len)
    return {e->records.begin(), e->records.begin() + static_cast<std::ptrdiff_t>(len)};
  bytes_vec r(len, std::byte{0});
  set_word(r, 0, index);
  return r;
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
      l.record_length = 2;
      for (std::uint16_t x : ids) l.records.push_back({static_cast<std::byte>(x >> 8U), static_cast<std::byte>(x & 0xFFU)});
      return encode(id, index, l, id == 0x0F00, static_cast<std::uint16_t>(ids.size()));
    }
    case 0x0011: return encode(id, index, identification(st));
    case 0x0111: {
      const list l = select_index(identification(st), index);
      if (l.records.empty()) return std::nullopt;
      return encode(id, index, l);
    }
    case 0x0F11: {
      const list l = identification(st);
      return encode(id, index, l, true, static_cast<std::uint16_t>(l.records.size()));
    }
    case 0x001C: return encode(id, index, components(st));
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
        // Communication capabilities: index, max PDU (frame 24: 00F0 = 240), max connections
        // (000C), MPI and bus rates. The real values of this server go in.
        bytes_vec r = template_record(p, 0x0131, 1, 40);
        set_word(r, 2, ctx.pdu_size);
        set_word(r, 4, static_cast<std::uint16_t>(std::min<std::size_t>(st.cfg().max_connections, 0xFFFF)));
        return encode(id, index, list{40, {r}});
      }
      return std::nullopt;
    case 0x0132:
    case 0x0232:
      if (index == 1 && id == 0x0132 && find_entry(p, 0x0132, 1) != nullptr) {
        // Communication status: res_pg, res_os, u_pg, u_os, proj, auf, free, ...
        // (frame 212: 0001 0001 0001 0001 0000 0001 0000 000A ...).
        bytes_vec r = template_record(p, 0x0132, 1, 40);
        const std::uint16_t res_pg = word_at(r, 2), res_os = word_at(r, 4);
        const std::uint16_t u_pg = st.connections(1), u_os = st.connections(2), basic = st.connections(3);
        set_word(r, 6, u_pg);
        set_word(r, 8, u_os);
        const long used = std::max<long>(res_pg, u_pg) + std::max<long>(res_os, u_os) + basic;
        set_word(r, 14, static_cast<std::uint16_t>(std::max<long>(0, static_cast<long>(st.cfg().max_connections) - used)));
        return encode(id, index, list{40, {r}});
      }
      if (index == 4) {
        // Protection: sch_schal (level of the mode selector), sch_par (parameterised level, 0 =
        // none), sch_rel (level in force for this connection), bart_sch (mode selector 1 RUN,
        // 2 RUN-P, 3 STOP, 4 MRES), anl_sch; then checksums (frame 11 of the blocklist capture:
        // 0004 0001 0000 0001 0002 0000 ...). snap7's GetProtection reads 0x0232 index 4.
        bytes_vec r = template_record(p, 0x0132, 4, 40);
        if (find_entry(p, 0x0132, 4) == nullptr) set_word(r, 2, 1);
        set_word(r, 4, st.protection_level() > 1 ? st.protection_level() : 0);
        set_word(r, 6, ctx.effective_protection);
        set_word(r, 8, st.mode_selector());
        return encode(id, index, list{40, {r}});
      }
      if (index == 8 && id == 0x0132 && find_entry(p, 0x0132, 8) != nullptr) {
        // Time system status: index (2 bytes), 20 bytes, then the current PLC time at record
        // offset 22 (s7comm_reading_setting_plc_time.pcap frame 29: 0008, 20 zero bytes,
        // 14 08 20 11 59 43 96 74 = 2014-08-20 11:59:43.967, a Wednesday).
        bytes_vec r = template_record(p, 0x0132, 8, 40);
        set_dt(r, 22, st.clock_now());
        return encode(id, index, list{40, {r}});
      }
      return std::nullopt;
    case 0x0424: {
      // Operating mode: ereig(2) ae(1) bzu-id(1) ...(8) time(8) (frame 87:
      // 5144 FF 08 00.. 1408201205283494). bzu-id 0x08 RUN; STOP is 0x04 (what snap7's
      // GetPlcStatus maps to S7CpuStatusStop).
      bytes_vec r;
      if (const szl_entry* e = find_entry(p, 0x0424, index); e != nullptr && e->count >= 1 && e->record_length == 20)
        r.assign(e->records.begin(), e->records.begin() + 20);
      else
        r = {std::byte{0x51}, std::byte{0x44}, std::byte{0xFF}, std::byte{0x08}, std::byte{0}, std::byte{0},
             std::byte{0},    std::byte{0},    std::byte{0},    std::byte{0},    std::byte{0}, std::byte{0},
             std::byte{0},    std::byte{0},    std::byte{0},    std::byte{0},    std::byte{0}, std::byte{0},
             std::byte{0},    std::byte{0}};
      r[3] = st.mode() == operating_mode::run ? std::byte{0x08} : std::byte{0x04};
      set_dt(r, 12, st.clock_now());
      return encode(id, index, list{20, {r}});
    }
    default: return std::nullopt;
  }
}

// IDs computed above (0x0131/0x0132 only with their template in the profile).
constexpr std::uint16_t computed_ids[] = {0x0000, 0x0F00, 0x0011, 0x0111, 0x0F11, 0x001C,
                                          0x011C, 0x0F1C, 0x0232, 0x0424};

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

std::optional<std::vector<std::byte>> build_szl(const plc_state& st, std::uint16_t id, std::uint16_t index,
                                                const szl_context& ctx) {
  if (auto c = computed(st, id, index, ctx)) return c;
  const plc_profile& p = st.profile();
  if (const szl_entry* e = find_entry(p, id, index)) {
    if (codec::szl::is_header_only(e->id)) return encode(id, index, list{e->record_length, {}}, true, e->count);
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
