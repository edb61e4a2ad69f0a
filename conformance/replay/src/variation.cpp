// What in the captured answers is not a fixed property of the PLC (variation.hpp): bytes the
// PLC's program changes, bytes the captured PLC itself answered differently to the same request,
// and the PLC's clock inside SZL records.
#include "variation.hpp"

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
#include "protos7/codec/ud_cyclic.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/replay/script.hpp"

namespace protos7::replay::detail {

namespace {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
using range = expectation::tolerated_range;
using bvec = std::vector<std::byte>;

constexpr std::string_view rule_program = "program_data";
constexpr std::string_view rule_varies = "varies_in_capture";
constexpr std::string_view rule_clock = "clock";

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

// Each memory range a read answer shows, with its data (a view into the answer): the S7ANY items
// and every area of the DBREAD items of a Read Var answer or a cyclic services answer (the same
// items and data, userdata.hpp / ud_cyclic.hpp).
template <class F>
void for_each_read(s7::var_spec_iterator specs, s7::data_item_iterator items, F&& f) {
  s7::var_spec v;
  s7::data_item d;
  while (specs.next(v) && items.next(d)) {
    if (d.return_code != s7::return_code::success) continue;
    if (v.syntax != static_cast<std::uint8_t>(s7::syntax_id::dbread)) {
      if (const auto l = locate(v)) f(*l, d.data);
      continue;
    }
    s7::dbread_area a;
    s7::dbread_area_answer ans;
    for (std::size_t i = 0; s7::dbread_at(v, i, a) && s7::dbread_answer_at(d.data, v, i, ans); ++i)
      if (ans.return_code == s7::return_code::success)
        f(mem_loc{static_cast<std::uint8_t>(s7::area::db), a.db, a.start, a.length, 0}, ans.data);
  }
}

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

// The order of the request groups. (std::less of the pair compares the vectors with memcmp,
// which GCC 12 at -O3 flags as a possible over-read, -Wstringop-overread: a false positive this
// loop does not trip.)
struct request_key_less {
  bool operator()(const std::pair<bvec, std::size_t>& a,
                  const std::pair<bvec, std::size_t>& b) const noexcept {
    if (a.first.size() != b.first.size()) return a.first.size() < b.first.size();
    for (std::size_t i = 0; i < a.first.size(); ++i)
      if (a.first[i] != b.first[i]) return a.first[i] < b.first[i];
    return a.second < b.second;
  }
};

// The answers of one Userdata request (its bytes but PDU reference, sequence number and data
// unit reference, and the follow-up ordinal), by distinct content.
struct variant {
  bvec resp;                          // the first answer with this content
  std::size_t data_start = 0;         // where its data part starts
  std::size_t count = 0;              // answers with this content
  std::vector<std::uint64_t> frames;  // the first three of them
};
// Distinct answers kept per request; further ones are counted but not compared (a request a PLC
// answers in more than this many ways varies everywhere that matters already).
constexpr std::size_t max_variants = 64;

struct request_group {
  std::vector<variant> variants;
  std::size_t overflow = 0;
};

std::size_t data_start_of(std::span<const std::byte> resp) {
  const detail::s7_facts f = detail::facts_of_s7(resp);
  return f.param_offset + f.param_length;
}

// The request as the key of its group: PDU reference, sequence number and data unit reference
// cleared (they differ between identical requests).
bvec group_key(std::span<const std::byte> req) {
  bvec key(req.begin(), req.end());
  const auto clear = [&](std::size_t at, std::size_t n) {
    if (key.size() >= at + n)
      std::fill_n(key.begin() + static_cast<std::ptrdiff_t>(at), n, std::byte{0});
  };
  clear(s7::header_at::pdu_ref, 2);
  const detail::s7_facts rf = detail::facts_of_s7(req);
  if (rf.ud) clear(rf.param_offset + ud::param_at::seq, 1);
  if (rf.extended) clear(rf.param_offset + ud::param_at::data_unit_ref, 1);
  return key;
}

// Userdata answers (but Read clock, which the `clock` rule covers field by field) that decode.
bool varies_candidate(std::span<const std::byte> resp) {
  const detail::s7_facts f = detail::facts_of_s7(resp);
  return f.decoded && f.rosctr == 7 && f.group != static_cast<std::uint8_t>(ud::group::time);
}

bool same_from(std::span<const std::byte> a, std::span<const std::byte> b, std::size_t from) {
  return a.size() == b.size() &&
         std::equal(a.begin() + static_cast<std::ptrdiff_t>(std::min(from, a.size())), a.end(),
                    b.begin() + static_cast<std::ptrdiff_t>(std::min(from, b.size())));
}

}  // namespace

struct variation_facts::state {
  struct open_request {
    bvec req;
    std::size_t ordinal = 0;
  };
  struct pairing {
    std::map<std::uint16_t, open_request> open;
    std::map<std::uint16_t, std::size_t> ordinal;  // group << 8 | sub -> follow-ups so far
  };
  std::unordered_map<std::size_t, pairing> conns;  // open connections
  memory_model mem;
  std::map<std::pair<bvec, std::size_t>, request_group, request_key_less> groups;
  std::map<std::size_t, shape_tracker> shapes;  // every connection's (small, kept to the end)
  std::optional<session_shape> first_cr;        // the first CR of the capture (its TSAPs)

  void answer(std::span<const std::byte> req, std::span<const std::byte> resp, std::uint64_t frame,
              std::size_t ordinal);
  void memory(std::span<const std::byte> req, std::span<const std::byte> resp);
  void program_ranges(std::span<const std::byte> req, std::span<const std::byte> resp,
                      std::vector<range>& out) const;
  void varies_ranges(std::span<const std::byte> req, std::span<const std::byte> resp,
                     std::size_t ordinal, std::vector<range>& out) const;
};

variation_facts::variation_facts() : st_(std::make_unique<state>()) {}
variation_facts::~variation_facts() = default;

session_shape variation_facts::shape(std::size_t conn) const {
  const auto it = st_->shapes.find(conn);
  session_shape s = it != st_->shapes.end() ? it->second.shape() : session_shape{};
  if (!s.cr_seen && st_->first_cr) {
    s.cr_seen = true;
    s.calling_tsap = st_->first_cr->calling_tsap;
    s.called_tsap = st_->first_cr->called_tsap;
  }
  return s;
}

void variation_facts::on_connection(std::size_t index, const capture::connection&) {
  st_->conns[index];
}

void variation_facts::on_end(std::size_t index, const stream::connection_end&) {
  st_->conns.erase(index);
}

// Pairs requests with answers per connection, as the replay script does.
void variation_facts::on_record(std::size_t index, const stream::record_view& r) {
  shape_tracker& sh = st_->shapes[index];
  sh.record(r);
  if (!st_->first_cr && sh.shape().cr_seen) st_->first_cr = sh.shape();
  if (!r.has_s7) return;
  const detail::s7_facts f = detail::facts_of_s7(r.s7);
  if (!f.s7) return;
  state::pairing& p = st_->conns[index];
  if (r.side == 0 && f.is_request()) {
    std::size_t ord = 0;
    if (f.rosctr == 7) {
      const auto key = static_cast<std::uint16_t>((f.group << 8U) | f.sub);
      // A follow-up ("next unit") request has the 12-byte parameter with method 0x12.
      ord = f.extended ? p.ordinal[key] + 1 : 0;
      p.ordinal[key] = ord;
    }
    p.open[f.pdu_ref] = {bvec(r.s7.begin(), r.s7.end()), ord};
  } else if (r.side == 1 && f.is_response()) {
    const auto it = p.open.find(f.pdu_ref);
    if (it == p.open.end()) return;
    st_->answer(it->second.req, r.s7, r.frame, it->second.ordinal);
    p.open.erase(it);
  }
}

void variation_facts::state::answer(std::span<const std::byte> req, std::span<const std::byte> resp,
                                    std::uint64_t frame, std::size_t ordinal) {
  memory(req, resp);
  if (!varies_candidate(resp)) return;
  request_group& g = groups[{group_key(req), ordinal}];
  const std::size_t ds = data_start_of(resp);
  for (variant& v : g.variants) {
    if (v.data_start != ds || !same_from(v.resp, resp, ds)) continue;
    if (++v.count <= 3) v.frames.push_back(frame);
    return;
  }
  if (g.variants.size() >= max_variants) {
    ++g.overflow;
    return;
  }
  g.variants.push_back({bvec(resp.begin(), resp.end()), ds, 1, {frame}});
}

// The read answers of a request/answer pair: Read Var, or a cyclic services answer (0x01, 0x05,
// 0x07) with its items; f(mem_loc, data) for each range. False: neither.
template <class F>
bool reads_of(const s7::message& rq, const s7::message& rs, F&& f) {
  if (rq.p.hdr.type == s7::rosctr::job && rs.p.hdr.error() == 0 &&
      rq.prm.fn == static_cast<std::uint8_t>(s7::function::read_var) && rs.prm.fn == rq.prm.fn) {
    for_each_read(
        rq.prm.var_specs(rq.p.origin),
        s7::data_item_iterator{rs.p.data, rs.prm.item_count, rs.p.origin, lenient().params.data},
        f);
    return true;
  }
  if (rq.p.hdr.type != s7::rosctr::userdata || !rq.ud.has_data || !rs.ud.has_data ||
      rq.ud.prm.group != static_cast<std::uint8_t>(ud::group::cyclic) ||
      !s7::cyclic::carries_items(rq.ud.prm.subfunction) || rs.ud.prm.error_code != 0)
    return false;
  const auto r = ud::parse_cyclic_request(rq.ud.data.payload, nullptr);
  const auto d = s7::cyclic::parse_data(rs.ud.data.payload, nullptr, lenient().params.data);
  if (r && d)
    for_each_read(s7::var_spec_iterator{r->items, r->item_count, nullptr},
                  s7::data_item_iterator{d->items, d->item_count, nullptr, lenient().params.data},
                  f);
  return true;
}

// The client-visible memory, in answer order: reads mark the bytes that changed, writes set them.
void variation_facts::state::memory(std::span<const std::byte> req,
                                    std::span<const std::byte> resp) {
  const auto rq = s7::decode(req, nullptr, lenient());
  const auto rs = s7::decode(resp, nullptr, lenient());
  if (!rq || !rs) return;
  if (reads_of(*rq, *rs, [&](const mem_loc& l, codec::bytes data) { mem.read(l, data); })) return;
  if (rq->p.hdr.type == s7::rosctr::job && rs->p.hdr.error() == 0 &&
      rq->prm.fn == static_cast<std::uint8_t>(s7::function::write_var)) {
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

// Read data bytes (Read Var, cyclic services answers) the PLC's program changed.
void variation_facts::state::program_ranges(std::span<const std::byte> req,
                                            std::span<const std::byte> resp,
                                            std::vector<range>& out) const {
  if (mem.changed.empty()) return;
  const auto rq = s7::decode(req, nullptr, lenient());
  const auto rs = s7::decode(resp, nullptr, lenient());
  if (!rq || !rs) return;
  (void)reads_of(*rq, *rs, [&](const mem_loc& l, codec::bytes data) {
    const auto data_at = static_cast<std::size_t>(data.data() - resp.data());
    for (std::size_t i = 0; i < data.size() && i < l.length; ++i) {
      const byte_key k{l.area, l.db, l.offset + static_cast<std::uint32_t>(i)};
      const auto ch = mem.changed.find(k);
      if (ch == mem.changed.end()) continue;
      if (l.bit_mask != 0 && (ch->second & l.bit_mask) == 0) continue;
      add_range(out, data_at + i, rule_program,
                fmt::format("{}{}: the PLC's program changes it (the capture shows other values "
                            "with no client write in between)",
                            area_text(l), l.offset + i));
    }
  });
}

// The DATE_AND_TIME inside SZL 0x0424 / 0x0124 and 0x0132 index 8 records.
void clock_ranges(std::span<const std::byte> resp, std::size_t ordinal, std::vector<range>& out) {
  const auto p = s7::parse(resp);
  if (!p || p->hdr.type != s7::rosctr::userdata || ordinal != 0) return;
  const auto u = ud::parse(*p);
  if (!u || !u->has_data || u->prm.group != static_cast<std::uint8_t>(ud::group::cpu) ||
      u->prm.subfunction != ud::sub::read_szl || u->prm.error_code != 0)
    return;
  const codec::bytes pl = u->data.payload;
  // The SZL response head (szl.hpp): | SZL-ID | index | LENTHDR | N_DR |, read without the
  // record count check of szl::parse_response (records are walked as far as they fit).
  codec::reader head{pl, codec::layer::szl};
  const std::uint16_t id = head.u16be();
  const std::uint16_t index = head.u16be();
  const std::uint16_t len = head.u16be();
  (void)head.u16be();  // N_DR
  if (!head.ok()) return;
  std::size_t at_in_record = 0;
  if ((id & 0x00FFU) == 0x24 && len >= 20) at_in_record = 12;  // 0x0424 / 0x0124: mode, time stamp
  // Time system status: record | index 0008 | 20 bytes | DATE_AND_TIME | ...
  // (s7comm_reading_plc_status.pcap frame 97: 0008, 20 x 00, 14 08 20 12 05 31 03 04;
  // s7comm_reading_setting_plc_time.pcap frame 29).
  else if (id == 0x0132 && index == 8 && len >= 30)
    at_in_record = 22;
  else
    return;
  for (std::size_t rec = codec::szl::response_head_size; rec + len <= pl.size(); rec += len) {
    const std::size_t at = u->data.payload_offset + rec + at_in_record;
    for (std::size_t k = 0; k < 8; ++k)
      add_range(
          out, at + k, rule_clock,
          fmt::format("SZL 0x{:04X} record byte {}..{}: the PLC's clock (DATE_AND_TIME) when it "
                      "answers",
                      id, at_in_record, at_in_record + 7));
  }
}

// Data bytes the captured PLC answered differently to the same request.
void variation_facts::state::varies_ranges(std::span<const std::byte> req,
                                           std::span<const std::byte> resp, std::size_t ordinal,
                                           std::vector<range>& out) const {
  if (groups.empty() || !varies_candidate(resp)) return;
  const auto it = groups.find({group_key(req), ordinal});
  if (it == groups.end() || it->second.variants.size() < 2) return;
  const std::size_t ds = data_start_of(resp);
  std::set<std::size_t> varying;
  std::vector<std::uint64_t> others;
  std::size_t count = 0;
  for (const variant& v : it->second.variants) {
    if (v.resp.size() != resp.size() || (v.data_start == ds && same_from(v.resp, resp, ds)))
      continue;
    bool differs = false;
    for (std::size_t k = ds; k < resp.size(); ++k)
      if (resp[k] != v.resp[k]) {
        varying.insert(k);
        differs = true;
      }
    if (!differs) continue;
    count += v.count;
    others.insert(others.end(), v.frames.begin(), v.frames.end());
  }
  if (varying.empty()) return;
  std::sort(others.begin(), others.end());
  std::string frames;
  for (std::size_t k = 0; k < others.size() && k < 3; ++k)
    frames += fmt::format("{}{}", k ? ", " : "", others[k]);
  if (count > 3) frames += fmt::format(" and {} more", count - 3);
  const std::string what = fmt::format(
      "data byte(s) the captured PLC answered differently to the same request (frame(s) {})",
      frames);
  for (std::size_t k : varying) {
    // Bytes an earlier rule (the clock in SZL records) already covers stay with that rule.
    const bool covered = std::any_of(out.begin(), out.end(), [&](const range& other) {
      return other.rule != rule_varies && k >= other.offset && k < other.offset + other.length;
    });
    if (!covered) add_range(out, k, rule_varies, what);
  }
}

std::vector<range> variation_facts::tolerated(std::size_t, std::uint64_t,
                                              std::span<const std::byte> req,
                                              std::span<const std::byte> resp,
                                              std::size_t ordinal) const {
  std::vector<range> out;
  st_->program_ranges(req, resp, out);
  clock_ranges(resp, ordinal, out);
  st_->varies_ranges(req, resp, ordinal, out);
  return out;
}

}  // namespace protos7::replay::detail
