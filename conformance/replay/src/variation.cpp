// What in the captured answers is not a fixed property of the PLC (script.hpp, tolerated_ranges):
// bytes the PLC's program changes, bytes the captured PLC itself answered differently to the same
// request, and the PLC's clock inside SZL records.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "facts.hpp"
#include "protos7/codec/names.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_peek.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/replay/script.hpp"

namespace protos7::replay {

namespace {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
using range = expectation::tolerated_range;
using bvec = std::vector<std::byte>;

// Orders (request bytes, ordinal) keys by length, then bytes, then ordinal. (std::less on the
// pair compares the vectors with memcmp, which GCC 12 at -O3 flags as a possible over-read,
// -Wstringop-overread, a false positive this loop does not trip.)
struct request_key_less {
  bool operator()(const std::pair<bvec, std::size_t>& a,
                  const std::pair<bvec, std::size_t>& b) const noexcept {
    if (a.first.size() != b.first.size()) return a.first.size() < b.first.size();
    for (std::size_t i = 0; i < a.first.size(); ++i)
      if (a.first[i] != b.first[i]) return a.first[i] < b.first[i];
    return a.second < b.second;
  }
};

constexpr std::string_view rule_program = "program_data";
constexpr std::string_view rule_varies = "varies_in_capture";
constexpr std::string_view rule_clock = "clock";

struct answer_ref {
  std::size_t conn = 0;
  std::uint64_t frame = 0;
  const bvec* req = nullptr;
  const bvec* resp = nullptr;
  std::uint64_t req_frame = 0;
  std::size_t ordinal = 0;  // Userdata: 0 first answer, n the n-th follow-up unit
};

// Read Var / Write Var items as memory locations (area, DB, byte range, bit).
struct mem_loc {
  std::uint8_t area = 0;
  std::uint16_t db = 0;
  std::uint32_t offset = 0;
  std::size_t length = 0;
  std::uint8_t bit_mask = 0;
};
std::optional<mem_loc> locate(const s7::var_spec& v) {
  if (v.syntax != static_cast<std::uint8_t>(s7::syntax_id::s7any)) return std::nullopt;
  // An item without an extent (count 0, unknown transport size) addresses nothing; the PLC
  // answers it with an error item, which the memory model skips anyway.
  const auto e = s7::extent(v.any, v.offset);
  if (!e) return std::nullopt;
  mem_loc l;
  // An instance DB is a DB: the same memory whichever way it is addressed.
  const bool db = e->area == static_cast<std::uint8_t>(s7::area::db) ||
                  e->area == static_cast<std::uint8_t>(s7::area::di);
  l.area = db ? static_cast<std::uint8_t>(s7::area::db) : e->area;
  l.db = e->db;
  l.offset = e->byte_offset;
  l.length = e->length;
  l.bit_mask = e->bit_mask();
  return l;
}

using byte_key = std::tuple<std::uint8_t, std::uint16_t, std::uint32_t>;

const s7::decode_options& lenient() {
  static const s7::decode_options o = [] {
    s7::decode_options d;
    d.params.items.allow_unknown_syntax = true;
    d.params.data.allow_nonzero_fill = true;
    return d;
  }();
  return o;
}

// Runs the client-visible memory of the capture in answer order: `on_read` gets each Read Var
// item with its answer data offset; writes update the model.
struct memory_model {
  std::map<byte_key, std::pair<std::uint8_t, std::uint8_t>> cur;  // value, known bits
  std::map<byte_key, std::uint8_t> changed;                       // bits the PLC changed

  void read(const mem_loc& l, codec::bytes data) {
    std::uint32_t i = 0;
    for (const std::byte b : data.first(std::min(l.length, data.size()))) {
      const byte_key k{l.area, l.db, l.offset + i++};
      const std::uint8_t mask = l.bit_mask != 0 ? l.bit_mask : std::uint8_t{0xFF};
      std::uint8_t v = std::to_integer<std::uint8_t>(b);
      if (l.bit_mask != 0) v = (v & 1U) != 0 ? l.bit_mask : std::uint8_t{0};
      auto& [val, known] = cur[k];
      const auto diff = static_cast<std::uint8_t>((val ^ v) & mask & known);
      if (diff != 0) changed[k] = static_cast<std::uint8_t>(changed[k] | diff);
      val = static_cast<std::uint8_t>((val & ~mask) | (v & mask));
      known = static_cast<std::uint8_t>(known | mask);
    }
  }
  void write(const mem_loc& l, codec::bytes data) {
    std::uint32_t i = 0;
    for (const std::byte b : data.first(std::min(l.length, data.size()))) {
      const byte_key k{l.area, l.db, l.offset + i++};
      const std::uint8_t mask = l.bit_mask != 0 ? l.bit_mask : std::uint8_t{0xFF};
      std::uint8_t v = std::to_integer<std::uint8_t>(b);
      if (l.bit_mask != 0) v = (v & 1U) != 0 ? l.bit_mask : std::uint8_t{0};
      auto& [val, known] = cur[k];
      val = static_cast<std::uint8_t>((val & ~mask) | (v & mask));
      known = static_cast<std::uint8_t>(known | mask);
    }
  }
};

std::string area_text(const mem_loc& l) {
  switch (static_cast<s7::area>(l.area)) {
    case s7::area::db:
      return fmt::format("DB{}.DBB", l.db);
    case s7::area::inputs:
    case s7::area::outputs:
    case s7::area::flags:
    case s7::area::counters:
    case s7::area::timers:
      return std::string(codec::names::area_mnemonic(l.area));
    default:  // P, L, V and the S7-200 areas by number, as this text always showed them
      return fmt::format("area 0x{:02X}", l.area);
  }
}

void add_range(std::vector<range>& out, std::size_t at, std::string_view rule, std::string what) {
  if (!out.empty() && out.back().rule == rule && out.back().offset + out.back().length == at &&
      out.back().what == what) {
    ++out.back().length;
    return;
  }
  out.push_back({at, 1, rule, std::move(what)});
}

}  // namespace

tolerance_map tolerated_ranges(const std::vector<stream::connection_records>& conns) {
  tolerance_map out;
  // Pair answers with requests, per connection.
  std::vector<answer_ref> answers;
  for (std::size_t c = 0; c < conns.size(); ++c) {
    std::map<std::uint16_t, std::pair<const stream::record*, std::size_t>> open;
    std::map<std::uint16_t, std::size_t> ordinal;  // group << 8 | sub -> follow-ups so far
    for (const stream::record& r : conns[c].records) {
      if (!r.has_s7) continue;
      const detail::s7_facts f = detail::facts_of_s7(r.s7);
      if (!f.s7) continue;
      if (r.side == 0 && f.is_request()) {
        std::size_t ord = 0;
        if (f.rosctr == 7) {
          const auto key = static_cast<std::uint16_t>((f.group << 8U) | f.sub);
          // A follow-up ("next unit") request has the 12-byte parameter with method 0x12.
          const bool follow = f.extended;
          ord = follow ? ordinal[key] + 1 : 0;
          ordinal[key] = ord;
        }
        open[f.pdu_ref] = {&r, ord};
      } else if (r.side == 1 && f.is_response()) {
        const auto it = open.find(f.pdu_ref);
        if (it == open.end()) continue;
        answers.push_back(
            {c, r.frame, &it->second.first->s7, &r.s7, it->second.first->frame, it->second.second});
        open.erase(it);
      }
    }
  }
  std::stable_sort(answers.begin(), answers.end(),
                   [](const answer_ref& a, const answer_ref& b) { return a.frame < b.frame; });

  // --- Read Var data the PLC's program changed -----------------------------------------------
  memory_model mem;
  struct read_item {
    std::size_t answer;
    mem_loc loc;
    std::size_t data_at;  // offset of the item's data in the answer PDU
    std::size_t data_len;
  };
  std::vector<read_item> reads;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const answer_ref& a = answers[i];
    const auto rq = s7::decode(*a.req, nullptr, lenient());
    const auto rs = s7::decode(*a.resp, nullptr, lenient());
    if (!rq || !rs || rq->p.hdr.type != s7::rosctr::job || rs->p.hdr.error() != 0) continue;
    if (rq->prm.fn == static_cast<std::uint8_t>(s7::function::read_var) &&
        rs->prm.fn == rq->prm.fn) {
      auto specs = rq->prm.var_specs(rq->p.origin);
      s7::data_item_iterator items{rs->p.data, rs->prm.item_count, rs->p.origin,
                                   lenient().params.data};
      s7::var_spec v;
      s7::data_item d;
      while (specs.next(v) && items.next(d)) {
        const auto l = locate(v);
        if (!l || d.return_code != s7::return_code::success) continue;
        mem.read(*l, d.data);
        reads.push_back({i, *l, d.offset + 4U, d.data.size()});
      }
    } else if (rq->prm.fn == static_cast<std::uint8_t>(s7::function::write_var)) {
      auto specs = rq->prm.var_specs(rq->p.origin);
      s7::data_item_iterator items{rq->p.data, rq->prm.item_count, rq->p.origin,
                                   lenient().params.data};
      s7::var_spec v;
      s7::data_item d;
      // The Write Var response data: one return code per item.
      codec::reader codes{rs->p.data, rs->p.origin, codec::layer::s7_data};
      while (specs.next(v) && items.next(d)) {
        const std::uint8_t rc = codes.u8();
        if (!codes.ok() || rc != s7::return_code::success) continue;
        if (const auto l = locate(v)) mem.write(*l, d.data);
      }
    }
  }
  for (const read_item& r : reads) {
    const answer_ref& a = answers[r.answer];
    for (std::size_t i = 0; i < r.data_len && i < r.loc.length; ++i) {
      const byte_key k{r.loc.area, r.loc.db, r.loc.offset + static_cast<std::uint32_t>(i)};
      const auto ch = mem.changed.find(k);
      if (ch == mem.changed.end()) continue;
      if (r.loc.bit_mask != 0 && (ch->second & r.loc.bit_mask) == 0) continue;
      add_range(
          out[{a.conn, a.frame}], r.data_at + i, rule_program,
          fmt::format(
              "{}{}: the PLC's program changes it (the capture shows other values with no client "
              "write in between)",
              area_text(r.loc), r.loc.offset + i));
    }
  }

  // --- The PLC clock inside SZL records
  // -------------------------------------------------------------
  for (const answer_ref& a : answers) {
    const auto p = s7::parse(*a.resp);
    if (!p || p->hdr.type != s7::rosctr::userdata || a.ordinal != 0) continue;
    const auto u = ud::parse(*p);
    if (!u || !u->has_data || u->prm.group != static_cast<std::uint8_t>(ud::group::cpu) ||
        u->prm.subfunction != ud::sub::read_szl || u->prm.error_code != 0)
      continue;
    const codec::bytes pl = u->data.payload;
    // The SZL response head (szl.hpp): | SZL-ID | index | LENTHDR | N_DR |, read without the
    // record count check of szl::parse_response (records are walked as far as they fit).
    codec::reader head{pl, codec::layer::szl};
    const std::uint16_t id = head.u16be();
    const std::uint16_t index = head.u16be();
    const std::uint16_t len = head.u16be();
    (void)head.u16be();  // N_DR
    if (!head.ok()) continue;
    std::size_t at_in_record = 0;
    if ((id & 0x00FFU) == 0x24 && len >= 20)
      at_in_record = 12;  // 0x0424 / 0x0124: mode, time stamp
    // Time system status: record | index 0008 | 20 bytes | DATE_AND_TIME | ...
    // (s7comm_reading_plc_status.pcap frame 97: 0008, 20 x 00, 14 08 20 12 05 31 03 04;
    // s7comm_reading_setting_plc_time.pcap frame 29).
    else if (id == 0x0132 && index == 8 && len >= 30)
      at_in_record = 22;
    else
      continue;
    for (std::size_t rec = codec::szl::response_head_size; rec + len <= pl.size(); rec += len) {
      const std::size_t at = u->data.payload_offset + rec + at_in_record;
      for (std::size_t k = 0; k < 8; ++k)
        add_range(
            out[{a.conn, a.frame}], at + k, rule_clock,
            fmt::format(
                "SZL 0x{:04X} record byte {}..{}: the PLC's clock (DATE_AND_TIME) when it answers",
                id, at_in_record, at_in_record + 7));
    }
  }
  // --- Userdata answers that vary between identical requests ------------------------------------
  std::map<std::pair<bvec, std::size_t>, std::vector<std::size_t>, request_key_less> groups;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const answer_ref& a = answers[i];
    const detail::s7_facts f = detail::facts_of_s7(*a.resp);
    // Read clock answers vary by nature; the `clock` rule covers their time stamp field by field.
    if (!f.decoded || f.rosctr != 7 || f.group == static_cast<std::uint8_t>(ud::group::time))
      continue;
    bvec key = *a.req;
    const auto clear = [&](std::size_t at, std::size_t n) {
      if (key.size() >= at + n)
        std::fill_n(key.begin() + static_cast<std::ptrdiff_t>(at), n, std::byte{0});
    };
    clear(s7::header_at::pdu_ref, 2);
    const detail::s7_facts rf = detail::facts_of_s7(*a.req);
    if (rf.ud) clear(rf.param_offset + ud::param_at::seq, 1);
    if (rf.extended) clear(rf.param_offset + ud::param_at::data_unit_ref, 1);
    groups[{std::move(key), a.ordinal}].push_back(i);
  }
  for (const auto& [key, members] : groups) {
    if (members.size() < 2) continue;
    for (std::size_t x = 0; x < members.size(); ++x) {
      const answer_ref& a = answers[members[x]];
      const bvec& r = *a.resp;
      const detail::s7_facts f = detail::facts_of_s7(r);
      const std::size_t data_start = f.param_offset + f.param_length;
      std::set<std::size_t> varying;
      std::vector<std::uint64_t> others;
      for (std::size_t y = 0; y < members.size(); ++y) {
        const bvec& o = *answers[members[y]].resp;
        if (y == x || o.size() != r.size()) continue;
        bool differs = false;
        for (std::size_t k = data_start; k < r.size(); ++k)
          if (r[k] != o[k]) {
            varying.insert(k);
            differs = true;
          }
        if (differs) others.push_back(answers[members[y]].frame);
      }
      if (varying.empty()) continue;
      std::string frames;
      for (std::size_t k = 0; k < others.size() && k < 3; ++k)
        frames += fmt::format("{}{}", k ? ", " : "", others[k]);
      if (others.size() > 3) frames += fmt::format(" and {} more", others.size() - 3);
      const std::string what = fmt::format(
          "data byte(s) the captured PLC answered differently to the same request (frame(s) {})",
          frames);
      auto& ranges = out[{a.conn, a.frame}];
      for (std::size_t k : varying) {
        // Bytes an earlier rule (the clock in SZL records) already covers stay with that rule.
        const bool covered = std::any_of(ranges.begin(), ranges.end(), [&](const range& other) {
          return other.rule != rule_varies && k >= other.offset && k < other.offset + other.length;
        });
        if (!covered) add_range(ranges, k, rule_varies, what);
      }
    }
  }

  return out;
}

}  // namespace protos7::replay
