// Learning a PLC profile from captures (learn.hpp).
#include "protos7/learn/learn.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bitset>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <tuple>

#include "alarms.hpp"
#include "protos7/codec/mc7.hpp"
#include "protos7/codec/names.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/codec/ud_alarm.hpp"
#include "protos7/codec/ud_cyclic.hpp"
#include "protos7/codec/ud_tis.hpp"
#include "protos7/server/exit_codes.hpp"
#include "protos7/server/programmer.hpp"
#include "protos7/server/services.hpp"
#include "protos7/stream/reader.hpp"

namespace protos7::learn {

namespace {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
namespace szl = codec::szl;
namespace cyc = codec::s7::cyclic;
namespace tis = codec::s7::tis;
using codec::bytes;
using bvec = std::vector<std::byte>;
using server::block_type_name;

constexpr std::uint8_t u8(std::byte b) noexcept {
  return std::to_integer<std::uint8_t>(b);
}
std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}
std::string id_key(std::uint16_t id, std::optional<std::uint16_t> index) {
  return index ? fmt::format("szl:0x{:04X}:0x{:04X}", id, *index)
               : fmt::format("szl:0x{:04X}:any", id);
}

std::string trim_right(std::string s, char c) {
  while (!s.empty() && s.back() == c) s.pop_back();
  return s;
}
bool printable(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) <= 0x7E;
  });
}

// --- requests paired with answers ----------------------------------------------------------------

struct transaction {
  std::size_t conn = 0;
  bvec req;
  std::uint64_t req_frame = 0;
  std::vector<bvec> resps;  // one, or the data units of a split Userdata answer
  std::uint64_t resp_frame = 0;
  double resp_time = 0;
  bool waiting_more = false;
  bool done = false;
};

struct ud_view {
  bool ok = false;
  ud::message m;
  s7::header h;
};
ud_view userdata_of(bytes pdu) {
  ud_view v;
  const auto p = s7::parse(pdu);
  if (!p || p->hdr.type != s7::rosctr::userdata) return v;
  const auto u = ud::parse(*p);
  if (!u) return v;
  v.ok = true;
  v.m = *u;
  v.h = p->hdr;
  return v;
}

// Pairs the requests of one connection with the answers as the records come; a transaction is
// handed on as soon as it is complete (the answers in the order they were given), a split answer
// whose next unit is never asked for when that is clear (another split answer, the end).
class pairer {
 public:
  using done_fn = std::function<void(const transaction&)>;
  explicit pairer(std::size_t conn) : conn_(conn) {}

  void record(const stream::record_view& r, const done_fn& done) {
    if (!r.has_s7) return;
    const auto p = s7::parse(r.s7);
    if (!p) return;
    const s7::header& h = p->hdr;
    if (r.side == 0) {
      request(r, h, done);
      return;
    }
    const bool answer = h.type == s7::rosctr::ack || h.type == s7::rosctr::ack_data ||
                        h.type == s7::rosctr::userdata;
    if (!answer) return;
    const auto it = open_.find(h.pdu_ref);
    if (it == open_.end()) return;
    std::shared_ptr<transaction> t = it->second;
    open_.erase(it);
    t->resps.emplace_back(r.s7.begin(), r.s7.end());
    t->resp_frame = r.frame;
    t->resp_time = r.time;
    t->waiting_more = false;
    if (h.type == s7::rosctr::userdata) {
      const ud_view u = userdata_of(r.s7);
      if (u.ok && u.m.prm.extended && u.m.prm.last_data_unit == ud::last_unit_no)
        t->waiting_more = true;
    }
    t->done = !t->waiting_more;
    if (t->waiting_more) {
      if (continuing_ && continuing_ != t) done(*continuing_);  // never continued
      continuing_ = t;
      return;
    }
    if (continuing_ == t) continuing_.reset();
    done(*t);
  }

  // End of the connection: a split answer whose next unit was never asked for.
  void finish(const done_fn& done) {
    if (continuing_) done(*continuing_);
    continuing_.reset();
    open_.clear();
  }

 private:
  void request(const stream::record_view& r, const s7::header& h, const done_fn& done) {
    if (h.type == s7::rosctr::userdata) {
      const ud_view u = userdata_of(r.s7);
      if (!u.ok || u.m.prm.type != static_cast<std::uint8_t>(ud::type::request)) return;
      // A follow-up request ("next data unit", method 0x12) continues the open split answer.
      if (u.m.prm.method == ud::method_response && continuing_) {
        const ud_view first = userdata_of(continuing_->req);
        if (first.ok && first.m.prm.group == u.m.prm.group &&
            first.m.prm.subfunction == u.m.prm.subfunction) {
          open_[h.pdu_ref] = continuing_;
          return;
        }
      }
    } else if (h.type != s7::rosctr::job) {
      return;
    }
    (void)done;
    auto t = std::make_shared<transaction>();
    t->conn = conn_;
    t->req.assign(r.s7.begin(), r.s7.end());
    t->req_frame = r.frame;
    open_[h.pdu_ref] = std::move(t);
  }

  std::size_t conn_;
  std::map<std::uint16_t, std::shared_ptr<transaction>> open_;
  std::shared_ptr<transaction> continuing_;  // the split answer a follow-up request continues
};

// --- memory: what clients saw of each byte ------------------------------------------------------

struct byte_state {
  std::uint8_t initial = 0, initial_mask = 0;  // bits known at the start
  std::uint8_t cur = 0, cur_mask = 0;          // bits known now
  std::bitset<256> values;                     // values read (volatile bytes): 32 bytes
  bool changed_by_plc = false;
  std::uint32_t first_capture = 0;  // where its start value was read
  std::uint64_t first_frame = 0;
};
struct mem_key {
  std::uint8_t area = 0;
  std::uint16_t db = 0;
  friend auto operator<=>(const mem_key&, const mem_key&) = default;
};

class learner {
 public:
  explicit learner(learned& out) : out_(out) {}

  // One capture, streamed: every S7 connection's requests paired with the answers, each answer
  // learned from as soon as it is complete (in the order the answers were given).
  void capture(stream::reader& rd, const std::string& path, const std::function<void()>& tick) {
    file_ = base_name(path);
    files_.push_back(file_);
    capture_index_ = static_cast<std::uint32_t>(files_.size() - 1);
    created_.clear();
    struct sink final : stream::sink {
      learner& l;
      std::map<std::size_t, pairer> conns;
      pairer::done_fn done;
      explicit sink(learner& k) : l(k), done([this](const transaction& t) { l.answered(t); }) {}
      void on_connection(std::size_t index, const capture::connection&) override {
        conns.emplace(index, pairer{index});
        ++l.out_.connections;
      }
      void on_record(std::size_t index, const stream::record_view& r) override {
        if (r.has_s7 && r.s7.size() > l.largest_pdu_) {
          l.largest_pdu_ = r.s7.size();
          l.largest_pdu_src_ = l.src(r.frame);
        }
        if (r.side == 1) l.push(r);
        if (r.has_s7 && r.side != 0) l.tis_push(index, r);
        conns.at(index).record(r, done);
      }
      void on_note(std::size_t, const std::string&) override {}
      void on_end(std::size_t index, const stream::connection_end&) override {
        conns.at(index).finish(done);
        conns.erase(index);
        // Uploads of that connection that never finished.
        for (auto it = l.uploads_.begin(); it != l.uploads_.end();)
          it = it->first.first == index ? l.uploads_.erase(it) : std::next(it);
      }
      void on_warning(const std::string&) override {}
    } s{*this};
    while (rd.read(s, 4096))
      if (tick) tick();
    ++out_.captures;
  }

  void answered(const transaction& t) {
    if (t.resps.empty()) return;
    ++out_.answers;
    one(t);
  }

  void finish();

  // A PDU the CPU sent: an alarm indication it pushed is learned from.
  void push(const stream::record_view& r) {
    if (!r.has_s7) return;
    const ud_view u = userdata_of(r.s7);
    if (!u.ok || !u.m.has_data || u.m.prm.type != static_cast<std::uint8_t>(ud::type::push) ||
        u.m.prm.group != static_cast<std::uint8_t>(ud::group::cpu))
      return;
    alarms_.indication(u.m.prm.subfunction, u.m.data.payload, src(r.frame));
  }

 private:
  std::string src(std::uint64_t frame) const { return fmt::format("{} frame {}", file_, frame); }
  void note(std::string s) {
    if (std::find(out_.notes.begin(), out_.notes.end(), s) == out_.notes.end())
      out_.notes.push_back(std::move(s));
  }

  void one(const transaction& t) {
    const auto p = s7::parse(t.req);
    if (!p) return;
    if (p->hdr.type == s7::rosctr::job) {
      job(t);
      return;
    }
    const ud_view u = userdata_of(t.req);
    if (!u.ok) return;
    // The whole answer: the data units of every response, and the first response's parameter.
    const ud_view first = userdata_of(t.resps.front());
    if (!first.ok) return;
    bvec payload;
    for (const bvec& r : t.resps) {
      const ud_view x = userdata_of(r);
      if (x.ok && x.m.has_data)
        payload.insert(payload.end(), x.m.data.payload.begin(), x.m.data.payload.end());
    }
    const std::uint16_t error = first.m.prm.extended ? first.m.prm.error_code : 0;
    const bool complete = t.done;
    switch (static_cast<ud::group>(u.m.prm.group)) {
      case ud::group::cpu:
        if (u.m.prm.subfunction == ud::sub::read_szl && u.m.has_data)
          read_szl(t, u, payload, error, complete);
        if (u.m.prm.subfunction == codec::s7::alarm::sub::alarm_query && error == 0 && complete)
          alarms_.query_answer(payload, src(t.resp_frame));
        return;
      case ud::group::block:
        if (u.m.prm.subfunction == ud::sub::list_blocks) list_blocks(t, payload, error);
        if (u.m.prm.subfunction == ud::sub::list_blocks_of_type && u.m.has_data)
          list_of_type(t, u.m.data.payload, payload, error, complete);
        if (u.m.prm.subfunction == ud::sub::block_info && u.m.has_data)
          block_info(t, u.m.data.payload, payload, error);
        return;
      case ud::group::time:
        if ((u.m.prm.subfunction == ud::sub::read_clock ||
             u.m.prm.subfunction == ud::sub::read_clock_following) &&
            error == 0)
          read_clock(t, payload);
        if (u.m.prm.subfunction == ud::sub::set_clock && error == 0) clock_set_ = true;
        return;
      case ud::group::cyclic:
        if (cyc::carries_items(u.m.prm.subfunction) && u.m.has_data && error == 0)
          cyclic_answer(t, u.m.data.payload, payload);
        return;
      case ud::group::security:
        if (u.m.prm.subfunction == ud::sub::password && u.m.has_data && error == 0)
          password(t, u.m.data.payload);
        return;
      case ud::group::programmer:
        if (error == 0) job_numbers(t, u.m.prm.subfunction, first.m.prm.seq, payload);
        return;
      default:
        return;
    }
  }

  // The answer to a cyclic or change-driven transfer (or its modify): the items' values as Read
  // Var answers them (the pushes that follow report later changes: not the start state).
  void cyclic_answer(const transaction& t, bytes request, bytes answer) {
    const auto r = ud::parse_cyclic_request(request, nullptr);
    const auto d = cyc::parse_data(answer, nullptr, s7::data_options{.allow_nonzero_fill = true});
    if (!r || !d) return;
    s7::var_spec_iterator specs{r->items, r->item_count, nullptr};
    s7::data_item_iterator items{d->items, d->item_count, nullptr,
                                 s7::data_options{.allow_nonzero_fill = true}};
    read_items(t, specs, items);
  }

  // --- jobs ---

  void job(const transaction& t) {
    s7::decode_options dopt;
    dopt.params.items.allow_unknown_syntax = true;
    dopt.params.data.allow_nonzero_fill = true;
    const auto req = s7::decode(t.req, nullptr, dopt);
    if (!req) return;
    const auto resp = s7::decode(t.resps.front(), nullptr, dopt);
    const bool ok = resp && resp->p.hdr.error() == 0;
    switch (static_cast<s7::function>(req->prm.fn)) {
      case s7::function::setup_communication:
        if (ok && resp->prm.fn == req->prm.fn) {
          const auto& s = resp->prm.setup;
          if (s.pdu_length > pdu_size_) {
            pdu_size_ = s.pdu_length;
            pdu_src_ = src(t.resp_frame);
          }
          max_amq_ = std::max({max_amq_, s.max_amq_calling, s.max_amq_called});
        }
        return;
      case s7::function::read_var:
        if (ok) read_var(t, *req, *resp);
        return;
      case s7::function::write_var:
        if (ok) write_var(t, *req, *resp);
        return;
      case s7::function::pi_service:
        if (ok) pi_service(t, req->prm.pi);
        return;
      case s7::function::start_upload:
        // | 1D | status | u16 | upload id | len | "_0A00001A" |; the Ack_Data names the id.
        if (ok && req->prm.block.has_filename && req->prm.block.filename.valid &&
            req->prm.block.filename.number <= 0xFFFF)
          uploads_[{t.conn, resp->prm.block.upload_id}] = {
              req->prm.block.filename.block_type,
              static_cast<std::uint16_t>(req->prm.block.filename.number),
              {}};
        return;
      case s7::function::upload:
        if (ok) upload(t, req->prm.block.upload_id, *resp);
        return;
      default:
        return;
    }
  }

  // An Upload Ack_Data: | length | 00 FB | block bytes |; status bit 0 "more follows".
  void upload(const transaction& t, std::uint32_t id, const s7::message& resp) {
    const auto it = uploads_.find({t.conn, id});
    if (it == uploads_.end()) return;
    const auto bd = s7::parse_block_data(resp.p.data, resp.p.origin);
    if (!bd) return;
    auto& [type, number, bytes_] = it->second;
    bytes_.insert(bytes_.end(), bd->payload.begin(), bd->payload.end());
    if ((resp.prm.block.status & 0x01U) != 0) return;
    const bvec file = std::move(bytes_);
    const std::uint8_t ty = type;
    const std::uint16_t num = number;
    uploads_.erase(it);
    if (after_download(ty, num, t.resp_frame)) return;
    server::block_meta meta;
    std::string why;
    if (!server::mc7_header_to_meta(file, meta, why) || meta.type != ty || meta.number != num) {
      note(fmt::format("{}: upload of {} {}: not a consistent MC7 block ({}); not learned",
                       src(t.resp_frame), block_type_name(ty), num, why));
      return;
    }
    if (uploaded_.contains({ty, num})) return;
    if (ty == server::block_type::db) {
      // The code part is the DB's contents at that moment: read like a Read Var answer.
      const bytes code = server::mc7::code_of(file);
      location l;
      l.key = {0x84, num};
      l.length = code.size();
      observe(l, code, t.resp_frame, true);
    }
    uploaded_[{ty, num}] = {file, src(t.resp_frame)};
  }

  struct location {
    mem_key key;
    std::uint32_t offset = 0;
    std::size_t length = 0;
    std::uint8_t bit_mask = 0;  // BIT items: the bit; 0: whole bytes
  };
  static std::optional<location> locate(const s7::var_spec& v) {
    if (v.syntax != static_cast<std::uint8_t>(s7::syntax_id::s7any)) return std::nullopt;
    const s7::any_address& a = v.any;
    location l;
    switch (a.area) {
      case 0x81:
      case 0x82:
      case 0x83:
        l.key.area = a.area;
        break;
      case 0x84:
      case 0x85:
        l.key = {0x84, a.db};
        break;
      case 0x1C:
      case 0x1D:
        l.key.area = a.area;
        break;
      default:
        return std::nullopt;
    }
    if (a.area == 0x1C || a.area == 0x1D) {
      l.offset = a.address * 2U;
      l.length = std::size_t{a.count} * 2U;
    } else if (a.tsize == static_cast<std::uint8_t>(s7::transport_size::bit)) {
      l.offset = a.byte_offset();
      l.length = 1;
      l.bit_mask = static_cast<std::uint8_t>(1U << a.bit());
    } else {
      l.offset = a.byte_offset();
      l.length = a.byte_length();
    }
    return l;
  }

  // A DB created during the capture by a download: what the capture shows of it afterwards is not
  // the state at the start.
  bool after_download(std::uint8_t type, std::uint16_t number, std::uint64_t frame) const {
    const auto it = created_.find({type, number});
    return it != created_.end() && frame > it->second;
  }

  void observe(const location& l, bytes data, std::uint64_t frame, bool read) {
    if (l.key.area == 0x84) {
      if (after_download(server::block_type::db, l.key.db, frame)) return;
      db_seen(l.key.db, frame, l.offset + static_cast<std::uint32_t>(l.length));
    }
    auto& m = mem_[l.key];
    for (std::size_t i = 0; i < l.length && i < data.size(); ++i) {
      byte_state& b = m[l.offset + static_cast<std::uint32_t>(i)];
      const std::uint8_t mask = l.bit_mask != 0 ? l.bit_mask : std::uint8_t{0xFF};
      std::uint8_t v = u8(data[i]);
      if (l.bit_mask != 0) v = (v & 1U) != 0 ? l.bit_mask : std::uint8_t{0};
      if (read) {
        if (((b.cur ^ v) & mask & b.cur_mask) != 0) b.changed_by_plc = true;
        const auto unknown = static_cast<std::uint8_t>(mask & ~b.cur_mask);
        if (unknown != 0 && b.initial_mask == 0 && b.cur_mask == 0) {
          b.first_capture = capture_index_;
          b.first_frame = frame;
        }
        // Bits nobody knew yet were like this from the start (no client wrote them before).
        b.initial = static_cast<std::uint8_t>(b.initial | (v & unknown));
        b.initial_mask = static_cast<std::uint8_t>(b.initial_mask | unknown);
        if (l.bit_mask == 0) b.values.set(v);
      }
      b.cur = static_cast<std::uint8_t>((b.cur & ~mask) | (v & mask));
      b.cur_mask = static_cast<std::uint8_t>(b.cur_mask | mask);
    }
  }

  void read_var(const transaction& t, const s7::message& req, const s7::message& resp) {
    auto specs = req.prm.var_specs(req.p.origin);
    s7::data_item_iterator items{resp.p.data, resp.prm.item_count, resp.p.origin,
                                 s7::data_options{.allow_nonzero_fill = true}};
    read_items(t, specs, items);
  }

  // The areas of a DBREAD item the CPU answered (0xFF) are DB bytes like those of S7ANY items.
  void read_dbread(const transaction& t, const s7::var_spec& v, const s7::data_item& d) {
    s7::dbread_area area;
    s7::dbread_area_answer answered;
    for (std::size_t i = 0; s7::dbread_at(v, i, area); ++i) {
      if (!s7::dbread_answer_at(d.data, v, i, answered)) return;
      if (answered.return_code != s7::return_code::success) continue;
      observe(location{{0x84, area.db}, area.start, area.length, 0}, answered.data, t.resp_frame,
              true);
    }
  }

  void read_items(const transaction& t, s7::var_spec_iterator& specs,
                  s7::data_item_iterator& items) {
    s7::var_spec v;
    s7::data_item d;
    while (specs.next(v) && items.next(d)) {
      if (v.syntax == static_cast<std::uint8_t>(s7::syntax_id::dbread)) {
        if (d.return_code == s7::return_code::success) read_dbread(t, v, d);
        continue;
      }
      const auto l = locate(v);
      if (!l) continue;
      if (d.return_code != s7::return_code::success) {
        if (l->key.area == 0x84 && d.return_code == s7::return_code::object_does_not_exist &&
            !after_download(server::block_type::db, l->key.db, t.resp_frame))
          db_missing_.emplace(l->key.db, src(t.resp_frame));
        continue;
      }
      observe(*l, d.data, t.resp_frame, true);
    }
  }

  void write_var(const transaction& t, const s7::message& req, const s7::message& resp) {
    auto specs = req.prm.var_specs(req.p.origin);
    s7::data_item_iterator items{req.p.data, req.prm.item_count, req.p.origin,
                                 s7::data_options{.allow_nonzero_fill = true}};
    // The Write Var response data: one return code byte per item.
    codec::reader codes{resp.p.data, codec::layer::s7_data};
    s7::var_spec v;
    s7::data_item d;
    while (specs.next(v) && items.next(d)) {
      const std::uint8_t rc = codes.u8();
      if (!codes.ok() || rc != s7::return_code::success) continue;
      const auto l = locate(v);
      if (!l) continue;
      observe(*l, d.data, t.resp_frame, false);
    }
  }

  void pi_service(const transaction& t, const s7::pi_service& pi) {
    const std::string name(reinterpret_cast<const char*>(pi.service_name.data()),
                           pi.service_name.size());
    if (name != "_INSE" && name != "_DELE") return;
    // Parameter block: | number of blocks | unknown (00) | blocks as "0A00001P" (8 characters
    // each) | (s7comm_downloading_block_db1.pcap frame 58: 01 00 "0A00001P").
    const auto list = s7::parse_pi_block_list(pi.param_block, nullptr);
    if (!list) return;
    for (std::size_t i = 0; i < list->count; ++i) {
      const auto bn = list->at(i);
      if (!bn.valid || bn.number > 0xFFFF) continue;
      const auto num = static_cast<std::uint16_t>(bn.number);
      if (name == "_INSE") {
        created_.emplace(std::pair{bn.block_type, num}, t.resp_frame);
        note(fmt::format(
            "{}: {} {} was downloaded and inserted (_INSE) during the capture: it is not part of "
            "the "
            "CPU's state at the start, and what the capture shows of it afterwards is not learned",
            src(t.resp_frame), block_type_name(bn.block_type), num));
      } else {
        note(fmt::format("{}: {} {} was deleted (_DELE) during the capture", src(t.resp_frame),
                         block_type_name(bn.block_type), num));
      }
    }
  }

  // --- SZL ---

  void read_szl(const transaction& t, const ud_view& u, const bvec& payload, std::uint16_t error,
                bool complete) {
    const auto rq = szl::parse_request(u.m.data.payload, nullptr);
    if (!rq) return;
    if (error != 0) {
      note(
          fmt::format("{}: SZL 0x{:04X} index 0x{:04X}: the CPU answered error 0x{:04X} (the "
                      "server answers 0xD402 "
                      "for what the profile lacks)",
                      src(t.resp_frame), rq->id, rq->index, error));
      return;
    }
    if (!complete) {
      note(
          fmt::format("{}: SZL 0x{:04X} index 0x{:04X}: the answer's last data unit was not "
                      "captured; not learned",
                      src(t.resp_frame), rq->id, rq->index));
      return;
    }
    const auto h = szl::parse_response(payload, nullptr, true);
    if (!h) {
      note(fmt::format(
          "{}: SZL 0x{:04X} index 0x{:04X}: the answer does not decode ({}); not learned",
          src(t.resp_frame), rq->id, rq->index, codec::to_string(h.err().code)));
      return;
    }
    server::szl_entry e;
    e.id = h->id;
    // Full lists (extract 0) and headers (extract F) do not depend on the index: a CPU ignores it.
    const std::uint16_t extract = (h->id >> 8U) & 0x0FU;
    if (extract != 0 && extract != 0x0F) e.index = h->index;
    e.record_length = h->record_length;
    e.count = h->record_count;
    e.records.assign(h->records.begin(), h->records.end());
    const std::string key = id_key(e.id, e.index);
    const auto it = std::find_if(szl_.begin(), szl_.end(), [&](const server::szl_entry& x) {
      return x.id == e.id && x.index == e.index;
    });
    if (it == szl_.end()) {
      szl_.push_back(e);
      out_.sources[key] = src(t.resp_frame);
      szl_frames_[key] = t.resp_frame;
      return;
    }
    if (it->records == e.records && it->count == e.count && it->record_length == e.record_length)
      return;
    // The same list answered differently: keep the first, say which bytes vary.
    std::size_t first = 0;
    while (first < it->records.size() && first < e.records.size() &&
           it->records[first] == e.records[first])
      ++first;
    auto& v = szl_varies_[key];
    if (v.empty())
      v = fmt::format(
          "SZL 0x{:04X}{}: answered differently in {} than in {} (from record byte {}); the first "
          "answer "
          "is kept",
          e.id, e.index ? fmt::format(" index 0x{:04X}", *e.index) : std::string(),
          src(t.resp_frame), out_.sources[key], first);
  }

  // --- blocks ---

  void list_blocks(const transaction& t, const bvec& payload, std::uint16_t error) {
    if (error != 0) return;
    ud::block_count c;
    for (std::size_t i = 0; ud::block_count_at(payload, i, c); ++i) {
      if (counts_.contains(c.block_type)) continue;
      counts_[c.block_type] = {c.count, src(t.resp_frame)};
    }
  }

  void list_of_type(const transaction& t, bytes request, const bvec& payload, std::uint16_t error,
                    bool complete) {
    // The request: the block type as two ASCII hex digits ("0A").
    const auto type = ud::parse_block_type_request(request, nullptr);
    if (!type || lists_.contains(*type)) return;
    if (!complete) {
      note(fmt::format("{}: List blocks of type {}: the last data unit was not captured",
                       src(t.resp_frame), block_type_name(*type)));
      return;
    }
    std::vector<ud::block_entry> entries;
    if (error == 0) {
      ud::block_entry e;
      for (std::size_t i = 0; ud::block_entry_at(payload, i, e); ++i) {
        if (after_download(*type, e.number, t.resp_frame)) continue;
        entries.push_back(e);
      }
    }
    lists_[*type] = {std::move(entries), src(t.resp_frame)};
  }

  void block_info(const transaction& t, bytes request, const bvec& payload, std::uint16_t error) {
    const auto name = s7::decode_block_name8(request);
    if (!name.valid || name.number > 0xFFFF) return;
    const auto number = static_cast<std::uint16_t>(name.number);
    const std::pair key{name.block_type, number};
    if (after_download(name.block_type, number, t.resp_frame) || infos_.contains(key) ||
        absent_.contains(key))
      return;
    if (error != 0) {
      absent_[key] = src(t.resp_frame);
      return;
    }
    const auto bi = ud::parse_block_info(payload, nullptr);
    if (!bi) return;
    server::block_meta b = server::meta_of(*bi, name.block_type, number);
    // The server writes the fixed fields (block type 0x0100, info length 74, "pp", the second
    // reserved word 0) itself; the first reserved word is learned (`info_reserved`).
    if (bi->block_type != 0x0100 || bi->info_length != 74 || bi->constant3 != 0x7070 ||
        bi->reserved2 != 0)
      note(
          fmt::format("{}: Get block info of {} {}: fixed fields differ from the S7-300's (block "
                      "type 0x{:04X}, info length {}, second reserved word 0x{:08X}); the server "
                      "answers the usual ones",
                      src(t.resp_frame), block_type_name(b.type), number, bi->block_type,
                      bi->info_length, bi->reserved2));
    infos_[key] = {std::move(b), src(t.resp_frame)};
  }

  void read_clock(const transaction& t, const bvec& payload) {
    if (clock_ || clock_set_) return;
    const auto ts = ud::parse_timestamp(payload, nullptr);
    if (!ts || ts->year < 1990) return;
    clock_ = std::pair{*ts, t.resp_time};
    clock_src_ = src(t.resp_frame);
  }

  // A PLC password the CPU accepted (error 0): the request carries it scrambled.
  void password(const transaction& t, bytes scrambled) {
    std::array<std::uint8_t, ud::password_length> plain{};
    if (password_ || !ud::read_password(scrambled, plain)) return;
    std::string pw(plain.begin(), plain.end());
    pw = trim_right(std::move(pw), ' ');
    if (!printable(pw)) return;
    password_ = std::move(pw);
    password_src_ = src(t.resp_frame);
  }

  // The job numbers of the programmer commands: the answers to a set-up (their sequence number)
  // and the jobs of a job list. The lowest becomes the profile's first job number.
  void job_numbers(const transaction& t, std::uint8_t sub, std::uint8_t seq, const bvec& payload) {
    const auto take = [&](std::uint8_t n) {
      if (n == 0 || (first_job_ != 0 && n >= first_job_)) return;
      first_job_ = n;
      first_job_src_ = src(t.resp_frame);
    };
    if (sub == tis::sub::variable_status || sub == tis::sub::block_status ||
        sub == tis::sub::block_status_v2 || sub == tis::sub::modify_variable)
      take(seq);
    if (sub == tis::sub::variable_status) var_status_job(t, seq);
    if (sub != tis::sub::read_job_list) return;
    const auto f = tis::parse_frame(payload, nullptr);
    const auto n = f ? tis::parse_job_list(f->data, nullptr) : codec::result<std::size_t>{0};
    tis::job_entry e;
    for (std::size_t i = 0; n && i < *n && tis::job_entry_at(f->data, i, e); ++i) take(e.seq);
  }

  // A variable status job set up: its addresses, for the pushes of its values.
  void var_status_job(const transaction& t, std::uint8_t seq) {
    const ud_view u = userdata_of(t.req);
    if (!u.ok || !u.m.has_data) return;
    const auto f = tis::parse_frame(u.m.data.payload, nullptr);
    if (!f) return;
    var_jobs_[{t.conn, seq}] = bvec(f->data.begin(), f->data.end());
  }

  // A variable status push: the values of its job's addresses, read from the CPU's memory.
  void tis_push(std::size_t conn, const stream::record_view& r) {
    const ud_view u = userdata_of(r.s7);
    if (!u.ok || !u.m.has_data || u.m.prm.type != static_cast<std::uint8_t>(ud::type::push) ||
        u.m.prm.group != static_cast<std::uint8_t>(ud::group::programmer) ||
        u.m.prm.subfunction != tis::sub::variable_status)
      return;
    const auto job = var_jobs_.find({conn, u.m.prm.seq});
    const auto f = tis::parse_frame(u.m.data.payload, nullptr);
    if (job == var_jobs_.end() || !f) return;
    const auto addrs = tis::parse_item_list(job->second, tis::list_kind::addresses, nullptr);
    const auto vals = tis::parse_item_list(f->data, tis::list_kind::values, nullptr);
    if (!addrs || !vals || addrs->count != vals->count) return;
    tis::address_iterator ai{addrs->addresses, nullptr};
    tis::value_iterator vi{vals->values, nullptr};
    tis::item_address a;
    tis::item_value v;
    while (ai.next(a) && vi.next(v)) {
      const auto p = server::tis_place_of(a);
      if (!p || v.return_code != s7::return_code::success || p->area == 0x80) continue;
      location l;
      l.key = {p->area, p->area == 0x84 ? p->db : std::uint16_t{0}};
      l.offset = static_cast<std::uint32_t>(p->offset);
      l.length = p->length;
      l.bit_mask = p->bit ? static_cast<std::uint8_t>(1U << p->bit_no) : std::uint8_t{0};
      observe(l, v.data, r.frame, true);
    }
  }

  void db_seen(std::uint16_t db, std::uint64_t frame, std::uint32_t end) {
    auto& d = dbs_[db];
    if (d.first_frame == 0) d.first_frame = frame;
    d.extent = std::max(d.extent, end);
    if (d.source.empty()) d.source = src(frame);
  }

  // finish(), part by part (each fills its part of out_.profile and adds its notes).
  void finish_limits();
  void merge_single_szl_records(std::uint16_t full, std::uint16_t one, std::uint16_t len);
  void protection_template();
  void finish_identity();
  void finish_component_names();
  void finish_settings();
  void finish_clock();
  void finish_blocks();
  void listed_blocks(std::uint8_t type, std::vector<server::block_meta>& blocks,
                     std::set<std::uint16_t>& have);
  void uploaded_blocks(std::uint8_t type, std::vector<server::block_meta>& blocks,
                       std::set<std::uint16_t>& have);
  void count_only_blocks(std::uint8_t type, std::vector<server::block_meta>& blocks,
                         std::set<std::uint16_t>& have);
  void finish_dbs();
  void known_dbs(std::map<std::uint16_t, server::profile_db>& dbs,
                 std::map<std::uint16_t, std::string>& db_src);
  void size_db(std::uint16_t num, server::profile_db& d);
  void finish_memory();
  void memory_runs(const mem_key& key, const std::map<std::uint32_t, byte_state>& bytes_);

  learned& out_;
  alarm_learner alarms_;  // the alarm list (alarms.hpp)
  std::string file_;
  std::vector<std::string> files_;
  std::uint32_t capture_index_ = 0;
  std::string src_of_run_;
  std::vector<server::szl_entry> szl_;
  std::map<std::string, std::uint64_t> szl_frames_;
  std::map<std::string, std::string> szl_varies_;
  std::uint16_t pdu_size_ = 0;
  std::string pdu_src_;
  // The largest S7 PDU of any capture: the PDU size when no Setup communication was captured.
  std::size_t largest_pdu_ = 0;
  std::string largest_pdu_src_;
  std::uint16_t max_amq_ = 0;
  std::map<mem_key, std::map<std::uint32_t, byte_state>> mem_;
  struct db_info {
    std::uint64_t first_frame = 0;
    std::uint32_t extent = 0;
    std::string source;
  };
  std::map<std::uint16_t, db_info> dbs_;
  std::map<std::uint16_t, std::string> db_missing_;
  std::map<std::pair<std::uint8_t, std::uint16_t>, std::uint64_t> created_;  // per capture
  std::map<std::uint8_t, std::pair<std::uint16_t, std::string>> counts_;
  std::map<std::uint8_t, std::pair<std::vector<ud::block_entry>, std::string>> lists_;
  std::map<std::pair<std::uint8_t, std::uint16_t>, std::pair<server::block_meta, std::string>>
      infos_;
  std::map<std::pair<std::uint8_t, std::uint16_t>, std::string> absent_;
  // Uploads in progress: (connection, upload id) -> (type, number, bytes so far); and the blocks
  // uploaded completely (their MC7 file).
  std::map<std::pair<std::size_t, std::uint32_t>, std::tuple<std::uint8_t, std::uint16_t, bvec>>
      uploads_;
  std::map<std::pair<std::uint8_t, std::uint16_t>, std::pair<bvec, std::string>> uploaded_;
  std::optional<std::pair<ud::timestamp, double>> clock_;
  std::string clock_src_;
  bool clock_set_ = false;
  std::optional<std::string> password_;
  std::string password_src_;
  // Variable status jobs: (connection, job number) -> the addresses of the set-up.
  std::map<std::pair<std::size_t, std::uint8_t>, bvec> var_jobs_;
  std::uint8_t first_job_ = 0;  // 0: no job seen
  std::string first_job_src_;
};

// The profile entry for (id, index) (an entry without an index answers any index).
const server::szl_entry* find_szl(const server::plc_profile& p, std::uint16_t id,
                                  std::optional<std::uint16_t> index) {
  for (const auto& e : p.szl)
    if (e.id == id && (!e.index || !index || *e.index == *index)) return &e;
  return nullptr;
}

// The record of `index` from the full list `full` or the single-record list `one`.
std::optional<bvec> szl_record(const server::plc_profile& p, std::uint16_t full, std::uint16_t one,
                               std::uint16_t index) {
  for (std::uint16_t id : {full, one}) {
    const server::szl_entry* e =
        find_szl(p, id, id == one ? std::optional<std::uint16_t>{index} : std::nullopt);
    if (e == nullptr || e->record_length < 2) continue;
    for (std::size_t i = 0; i < e->count; ++i) {
      const bytes r = szl::record_at(e->records, e->record_length, i);
      if (const auto idx = szl::parse_record_index(r, nullptr); idx && *idx == index)
        return bvec(r.begin(), r.end());
    }
  }
  return std::nullopt;
}

// The first record of a list the profile holds for (id, index).
bytes first_szl_record(const server::plc_profile& p, std::uint16_t id,
                       std::optional<std::uint16_t> index) {
  const server::szl_entry* e = find_szl(p, id, index);
  if (e == nullptr || e->count < 1) return {};
  return szl::record_at(e->records, e->record_length, 0);
}

std::optional<szl::module_identification> module_record(const server::plc_profile& p,
                                                        std::uint16_t index) {
  const auto r = szl_record(p, 0x0011, 0x0111, index);
  if (!r) return std::nullopt;
  const auto m = szl::parse_module_identification(*r, nullptr);
  if (!m) return std::nullopt;
  return *m;
}

bool is_sfc_or_sfb(std::uint8_t type) {
  return type == server::block_type::sfc || type == server::block_type::sfb;
}

void learner::finish() {
  server::plc_profile& p = out_.profile;
  p = server::plc_profile{};
  // protos7's defaults where the captures tell nothing (docs/PROFILE.md, limits).
  p.pdu_size = 480;
  p.max_amq = 8;
  p.max_connections = 32;
  finish_limits();
  p.szl = szl_;
  merge_single_szl_records(0x0011, 0x0111, 28);
  merge_single_szl_records(0x001C, 0x011C, 34);
  protection_template();
  finish_identity();
  finish_settings();
  finish_clock();
  finish_blocks();
  finish_dbs();
  finish_memory();
  p.alarms = alarms_.alarms();
  for (std::size_t i = 0; i < p.alarms.size(); ++i)
    out_.sources[fmt::format("alarm:0x{:X}", p.alarms[i].event_id)] = alarms_.sources()[i];
  for (const auto& [key, v] : szl_varies_) out_.notes.push_back(v);
  for (const auto& [key, why] : absent_)
    out_.notes.push_back(fmt::format("{}: Get block info of {} {}: the CPU does not have it", why,
                                     block_type_name(key.first), key.second));
}

// --- limits ---
void learner::finish_limits() {
  server::plc_profile& p = out_.profile;
  if (pdu_size_ == 0 && largest_pdu_ != 0) {
    // No Setup communication captured (the capture starts mid-session): the smallest PDU size
    // the largest PDU the captures show fits in (what the replay's synthesized Setup asks).
    p.pdu_size = 960;
    for (std::uint16_t allowed : {std::uint16_t{240}, std::uint16_t{480}, std::uint16_t{960}})
      if (largest_pdu_ <= allowed) {
        p.pdu_size = allowed;
        break;
      }
    out_.notes.push_back(fmt::format(
        "{}: no Setup communication captured: PDU size {}, the smallest of 240, 480, 960 that "
        "holds the largest PDU of the captures ({} bytes)",
        largest_pdu_src_, p.pdu_size, largest_pdu_));
  }
  if (pdu_size_ != 0) {
    std::uint16_t pdu = 960;
    for (std::uint16_t allowed : {std::uint16_t{240}, std::uint16_t{480}, std::uint16_t{960}})
      if (pdu_size_ <= allowed) {
        pdu = allowed;
        break;
      }
    if (pdu != pdu_size_)
      out_.notes.push_back(fmt::format(
          "{}: the CPU granted a PDU of {} bytes; the server offers 240, 480 or 960: {}", pdu_src_,
          pdu_size_, pdu));
    p.pdu_size = pdu;
  }
  if (max_amq_ != 0) p.max_amq = max_amq_;
}

// The server builds 0x0111 / 0x011C (and the identity) from the full lists 0x0011 / 0x001C;
// when a capture only read single records (`one`, of `len` bytes), they become the full list.
void learner::merge_single_szl_records(std::uint16_t full, std::uint16_t one, std::uint16_t len) {
  server::plc_profile& p = out_.profile;
  if (std::any_of(p.szl.begin(), p.szl.end(),
                  [&](const server::szl_entry& e) { return e.id == full; }))
    return;
  std::map<std::uint16_t, bvec> records;
  std::string from;
  for (const server::szl_entry& e : p.szl) {
    if (e.id != one || e.record_length != len) continue;
    for (std::size_t i = 0; i < e.count; ++i) {
      const bytes r = szl::record_at(e.records, len, i);
      if (const auto idx = szl::parse_record_index(r, nullptr))
        records.emplace(*idx, bvec(r.begin(), r.end()));
    }
    from += (from.empty() ? "" : ", ") + out_.sources[id_key(e.id, e.index)];
  }
  if (records.empty()) return;
  server::szl_entry f;
  f.id = full;
  f.record_length = len;
  for (const auto& [idx, r] : records) f.records.insert(f.records.end(), r.begin(), r.end());
  f.count = static_cast<std::uint16_t>(records.size());
  std::erase_if(p.szl, [&](const server::szl_entry& e) { return e.id == one; });
  p.szl.push_back(std::move(f));
  out_.sources[id_key(full, std::nullopt)] = "records of " + from;
  out_.notes.push_back(
      fmt::format("SZL 0x{:04X} was not read as a whole: its {} record(s) read one by one "
                  "(0x{:04X}) make the profile's "
                  "0x{:04X} (the server answers 0x{:04X} and the identity from it)",
                  full, records.size(), one, full, one));
  if (const auto h =
          std::find_if(p.szl.begin(), p.szl.end(),
                       [&](const server::szl_entry& e) { return e.id == (0x0F00U | full); });
      h != p.szl.end() && h->count != records.size())
    out_.notes.push_back(fmt::format("SZL 0x{:04X} says the list has {} records; {} were captured",
                                     0x0F00U | full, h->count, records.size()));
}

// The server answers 0x0232 index 4 (protection, snap7's GetProtection) from the 0x0132 index 4
// record: a capture that read only 0x0232 gives the template.
void learner::protection_template() {
  server::plc_profile& p = out_.profile;
  const auto index4 = [](std::uint16_t id) {
    return [id](const server::szl_entry& e) { return e.id == id && e.index && *e.index == 4; };
  };
  if (std::any_of(p.szl.begin(), p.szl.end(), index4(0x0132))) return;
  const auto it = std::find_if(p.szl.begin(), p.szl.end(), index4(0x0232));
  if (it == p.szl.end()) return;
  server::szl_entry e = *it;
  e.id = 0x0132;
  out_.sources[id_key(0x0132, 4)] = out_.sources[id_key(0x0232, 4)] + " (the 0x0232 record)";
  p.szl.push_back(std::move(e));
  out_.notes.push_back(
      "SZL 0x0132 index 4 was not captured: the 0x0232 index 4 record stands in for it (the "
      "server answers both "
      "from one template)");
}

// Identity over the templates: the server writes these fields back into 0x0011 / 0x001C on
// every read, so they must reproduce the captured bytes exactly.
void learner::finish_identity() {
  server::plc_profile& p = out_.profile;
  if (const auto m = module_record(p, szl::module_index::module)) {
    const std::string mlfb(szl::text_of(m->mlfb));
    const std::string trimmed = trim_right(mlfb, ' ');
    if (printable(trimmed) &&
        std::string(trimmed).append(mlfb.size() - trimmed.size(), ' ') == mlfb)
      p.id.order_number = trimmed;
    else
      out_.notes.push_back(
          "SZL 0x0011 index 1: the order number is not space-padded ASCII; identity.order_number "
          "left empty");
    if (const auto m6 = module_record(p, szl::module_index::basic_hardware);
        m6 && m6->mlfb != m->mlfb)
      out_.notes.push_back(
          "SZL 0x0011: index 6 (basic hardware) has another order number than index 1; the server "
          "writes the order "
          "number into both");
  }
  if (const auto m = module_record(p, szl::module_index::basic_firmware)) {
    if (const szl::version v = szl::version_of(*m); v.letter == 'V')
      p.id.firmware_version = fmt::format("V{}.{}.{}", v.major, v.minor, v.patch);
  }
  finish_component_names();
}

void learner::finish_component_names() {
  server::plc_profile& p = out_.profile;
  struct field {
    std::uint16_t index;
    std::string* dst;
    std::string_view what;
  };
  const field fields[] = {{1, &p.id.as_name, "as_name"},
                          {2, &p.id.module_name, "module_name"},
                          {3, &p.id.plant_id, "plant_id"},
                          {4, &p.id.copyright, "copyright"},
                          {5, &p.id.serial_number, "serial_number"},
                          {7, &p.id.module_type, "module_type"},
                          {8, &p.id.memory_card_serial, "memory_card_serial"}};
  for (const field& f : fields) {
    const auto r = szl_record(p, 0x001C, 0x011C, f.index);
    if (!r) continue;
    const auto c = szl::parse_component_identification(*r, nullptr);
    if (!c) continue;
    const std::string_view text = szl::text_of(c->name);
    const std::string s(text.substr(0, text.find('\0')));
    const bool rest_zero = std::all_of(text.begin() + static_cast<std::ptrdiff_t>(s.size()),
                                       text.end(), [](char ch) { return ch == '\0'; });
    if (printable(s) && rest_zero) {
      *f.dst = s;
    } else {
      out_.notes.push_back(fmt::format(
          "SZL 0x001C index {}: not a NUL-padded ASCII string; identity.{} cannot reproduce it",
          f.index, f.what));
    }
  }
}

// Limits (0x0131 index 1), protection and mode selector (0x0132 index 4), operating mode (0x0424).
void learner::finish_settings() {
  server::plc_profile& p = out_.profile;
  // --- limits from 0x0131 index 1: max PDU (pdu) and connections (anz) ---
  if (const auto c =
          szl::parse_communication_capabilities(first_szl_record(p, 0x0131, 1), nullptr)) {
    if (c->anz != 0) p.max_connections = c->anz;
    if (c->pdu == 240 || c->pdu == 480 || c->pdu == 960) p.pdu_size = c->pdu;
  }
  // --- cyclic jobs of the CPU: 0x0131 index 3 (anz, max cyclic read jobs) ---
  if (const auto oi = szl::parse_oi_capabilities(first_szl_record(p, 0x0131, 3), nullptr))
    if (oi->anz != 0) p.max_cyclic_jobs = oi->anz;
  // --- protection and mode selector: 0x0132 index 4 (sch_par, bart_sch) ---
  if (const auto prot = szl::parse_protection(first_szl_record(p, 0x0132, 4), nullptr)) {
    const std::uint16_t par = prot->sch_par;
    const std::uint16_t sel = prot->bart_sch;
    if (sel >= 1 && sel <= 4) p.mode_selector = static_cast<std::uint8_t>(sel);
    if (par >= 2 && par <= 3) {
      p.protection_level = static_cast<std::uint8_t>(par);
      p.password = "protos7";
      out_.notes.push_back(
          fmt::format("protection level {} (SZL 0x0132 index 4): the password is not in any "
                      "answer; the profile uses \"protos7\"",
                      par));
    }
  }
  if (password_) {
    p.password = *password_;
    out_.notes.push_back(
        fmt::format("{}: the CPU accepted the PLC password \"{}\"", password_src_, *password_));
  }
  if (first_job_ != 0) {
    p.first_job_number = first_job_;
    out_.notes.push_back(fmt::format(
        "{}: programmer job {} is the lowest job number seen; jobs are numbered from it",
        first_job_src_, first_job_));
  }
  // --- operating mode: 0x0424 bzu_id (0x08 RUN, 0x04 / 0x03 STOP) ---
  if (const auto m = szl::parse_operating_mode(first_szl_record(p, 0x0424, std::nullopt), nullptr))
    p.start_mode =
        m->mode() == szl::bzu_run ? server::operating_mode::run : server::operating_mode::stop;
}

// --- clock: the offset of the CPU's clock from the capture's, UTC ---
void learner::finish_clock() {
  server::plc_profile& p = out_.profile;
  p.clock_local = false;
  if (!clock_) {
    p.clock_local = true;
    return;
  }
  const ud::timestamp& ts = clock_->first;
  const std::chrono::year_month_day ymd{std::chrono::year{ts.year}, std::chrono::month{ts.month},
                                        std::chrono::day{ts.day}};
  if (!ymd.ok()) return;
  const auto plc_ms = std::chrono::sys_days{ymd}.time_since_epoch() +
                      std::chrono::milliseconds{
                          ((ts.hour * 60 + ts.minute) * 60 + ts.second) * 1000 + ts.millisecond};
  const auto cap_ms = static_cast<std::int64_t>(std::llround(clock_->second * 1000.0));
  p.clock_offset_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(plc_ms).count() - cap_ms;
  out_.notes.push_back(fmt::format(
      "{}: the CPU's clock read {:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} when the capture's "
      "clock read {}: clock "
      "offset {} ms from UTC",
      clock_src_, ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second, ts.millisecond,
      static_cast<std::int64_t>(clock_->second), p.clock_offset_ms));
}

// --- blocks other than DBs ---
void learner::finish_blocks() {
  for (std::uint8_t type : server::block_list_order) {
    if (type == server::block_type::db) continue;
    std::vector<server::block_meta> blocks;
    std::set<std::uint16_t> have;
    listed_blocks(type, blocks, have);
    uploaded_blocks(type, blocks, have);
    count_only_blocks(type, blocks, have);
    // A block uploaded completely is served as the CPU delivered it (its MC7 file carries the
    // info).
    for (auto& b : blocks) {
      const auto up = uploaded_.find({type, b.number});
      if (up != uploaded_.end()) {
        server::block_meta m;
        std::string why;
        if (server::mc7_header_to_meta(up->second.first, m, why)) {
          m.list_flags = b.list_flags;
          m.info_word = b.info_word;
          m.mc7 = up->second.first;
          b = std::move(m);
          out_.sources[fmt::format("block:{}:{}", block_type_name(type), b.number)] =
              up->second.second;
        }
      }
      out_.profile.blocks.push_back(std::move(b));
    }
  }
}

// The blocks of `type` a List blocks of type answer listed or a Get block info described.
void learner::listed_blocks(std::uint8_t type, std::vector<server::block_meta>& blocks,
                            std::set<std::uint16_t>& have) {
  if (const auto it = lists_.find(type); it != lists_.end()) {
    const std::string& source = it->second.second;
    for (const ud::block_entry& e : it->second.first) {
      server::block_meta b;
      b.type = type;
      b.number = e.number;
      b.list_flags = e.flags;
      b.info_word = static_cast<std::uint16_t>(e.flags << 8U);
      b.language = e.language;
      b.load_memory_length = 72;
      const std::string key = fmt::format("block:{}:{}", block_type_name(type), e.number);
      if (const auto inf = infos_.find({type, e.number}); inf != infos_.end()) {
        const std::uint8_t flags = b.list_flags;
        b = inf->second.first;
        b.list_flags = flags;
        out_.sources[key] = inf->second.second;
      } else {
        out_.sources[key] = source;
      }
      have.insert(e.number);
      blocks.push_back(std::move(b));
    }
  }
  for (const auto& [key, info] : infos_) {
    if (key.first != type || have.contains(key.second)) continue;
    server::block_meta b = info.first;
    b.list_flags = static_cast<std::uint8_t>(b.info_word >> 8U);
    have.insert(key.second);
    out_.sources[fmt::format("block:{}:{}", block_type_name(type), key.second)] = info.second;
    blocks.push_back(std::move(b));
  }
}

// Blocks of `type` uploaded whole that no List blocks answer listed and no Get block info
// described (snap7's client uploads SDB 0 without listing SDBs): their MC7 file names them, so
// they take no placeholder's number.
void learner::uploaded_blocks(std::uint8_t type, std::vector<server::block_meta>& blocks,
                              std::set<std::uint16_t>& have) {
  for (const auto& [key, up] : uploaded_) {
    if (key.first != type || have.contains(key.second)) continue;
    server::block_meta b;
    std::string why;
    if (!server::mc7_header_to_meta(up.first, b, why)) continue;
    b.list_flags = static_cast<std::uint8_t>(b.info_word >> 8U);
    have.insert(key.second);
    out_.sources[fmt::format("block:{}:{}", block_type_name(type), key.second)] = up.second;
    blocks.push_back(std::move(b));
  }
}

// Blocks List blocks counted but no answer named: placeholders with free numbers.
void learner::count_only_blocks(std::uint8_t type, std::vector<server::block_meta>& blocks,
                                std::set<std::uint16_t>& have) {
  const auto c = counts_.find(type);
  if (c == counts_.end()) return;
  const auto& [count, source] = c->second;
  if (count < blocks.size()) {
    out_.notes.push_back(fmt::format(
        "{}: List blocks counts {} {} block(s), but {} are listed, described or uploaded", source,
        count, block_type_name(type), blocks.size()));
    return;
  }
  if (count == blocks.size()) return;
  const std::size_t missing = count - blocks.size();
  std::uint16_t next = is_sfc_or_sfb(type) ? 0 : 1;
  for (std::size_t k = 0; k < missing; ++k) {
    while (have.contains(next)) ++next;
    server::block_meta b;
    b.type = type;
    b.number = next;
    b.language = type == server::block_type::sdb ? 7 : 1;
    b.load_memory_length = 72;
    have.insert(next);
    out_.sources[fmt::format("block:{}:{}", block_type_name(type), next)] =
        source + " (count only: placeholder number)";
    blocks.push_back(std::move(b));
  }
  out_.notes.push_back(fmt::format(
      "{}: List blocks counts {} {} block(s) but {} listed, described or uploaded: {} "
      "placeholder(s) numbered from {} (their real numbers were not captured)",
      source, count, block_type_name(type), count - missing, missing, is_sfc_or_sfb(type) ? 0 : 1));
}

// --- DBs: listed, described, or accessed ---
void learner::finish_dbs() {
  std::map<std::uint16_t, server::profile_db> dbs;
  std::map<std::uint16_t, std::string> db_src;
  known_dbs(dbs, db_src);
  for (auto& [num, d] : dbs) {
    size_db(num, d);
    out_.sources[fmt::format("db:{}", num)] = db_src[num];
  }
  if (const auto c = counts_.find(server::block_type::db);
      c != counts_.end() && c->second.first != dbs.size()) {
    out_.notes.push_back(fmt::format(
        "{}: List blocks counts {} DB(s), {} are known{}", c->second.second, c->second.first,
        dbs.size(), c->second.first > dbs.size() ? ": placeholder DBs of 2 bytes added" : ""));
    std::uint16_t next = 1;
    while (c->second.first > dbs.size()) {
      while (dbs.contains(next)) ++next;
      dbs[next] = server::profile_db{next, 2, std::nullopt, {}};
      out_.sources[fmt::format("db:{}", next)] = c->second.second + " (count only: placeholder)";
    }
  }
  for (const auto& [num, why] : db_missing_)
    if (dbs.contains(num))
      out_.notes.push_back(fmt::format(
          "{}: DB {} answered \"object does not exist\" although it is known elsewhere", why, num));
  for (auto& [num, d] : dbs) out_.profile.dbs.push_back(std::move(d));
  // Exactly these DBs, even none (s7comm_downloading_block_db1.pcap has none at first).
  out_.profile.declares_dbs = true;
}

// The DBs a list, a block info, a client access or an upload shows, with the source of each.
void learner::known_dbs(std::map<std::uint16_t, server::profile_db>& dbs,
                        std::map<std::uint16_t, std::string>& db_src) {
  if (const auto it = lists_.find(server::block_type::db); it != lists_.end()) {
    for (const ud::block_entry& e : it->second.first) {
      dbs[e.number].number = e.number;
      db_src[e.number] = it->second.second;
      if ((e.flags != 0x22 || e.language != 5) &&
          !infos_.contains({server::block_type::db, e.number}))
        out_.notes.push_back(
            fmt::format("{}: DB {} is listed with flags 0x{:02X} language {}; without its block "
                        "info the server lists it with 0x22 / 5",
                        it->second.second, e.number, e.flags, e.language));
    }
  }
  for (const auto& [num, d] : dbs_) {
    dbs[num].number = num;
    if (!db_src.contains(num)) db_src[num] = d.source;
  }
  for (const auto& [key, info] : infos_) {
    if (key.first != server::block_type::db) continue;
    dbs[key.second].number = key.second;
    db_src[key.second] = info.second;
  }
  // An uploaded DB tells its header, footer and interface like Get block info and more.
  for (const auto& [key, up] : uploaded_) {
    if (key.first != server::block_type::db) continue;
    dbs[key.second].number = key.second;
    if (!db_src.contains(key.second)) db_src[key.second] = up.second;
    if (infos_.contains(key)) continue;
    server::block_meta m;
    std::string why;
    if (!server::mc7_header_to_meta(up.first, m, why)) continue;
    m.info_word = 0x2200;
    m.list_flags = 0x22;
    m.mc7.clear();
    infos_[key] = {std::move(m), up.second};
  }
}

// A DB's size and info: its block info, else the end of what clients accessed, else 2 bytes.
void learner::size_db(std::uint16_t num, server::profile_db& d) {
  const auto inf = infos_.find({server::block_type::db, num});
  const auto seen = dbs_.find(num);
  const std::uint32_t extent = seen != dbs_.end() ? seen->second.extent : 0;
  if (inf == infos_.end()) {
    d.size = extent != 0 ? extent : 2;
    out_.notes.push_back(
        extent != 0
            ? fmt::format(
                  "DB {}: size unknown (no block info); {} bytes, the end of what clients accessed",
                  num, extent)
            : fmt::format("DB {}: size unknown (listed, never accessed or described): 2 bytes",
                          num));
    return;
  }
  server::block_meta b = inf->second.first;
  if (const auto it = lists_.find(server::block_type::db); it != lists_.end()) {
    for (const ud::block_entry& e : it->second.first)
      if (e.number == num) {
        b.list_flags = e.flags;
        b.language = e.language;
      }
  } else {
    b.list_flags = static_cast<std::uint8_t>(b.info_word >> 8U);
  }
  d.size = std::max<std::uint32_t>(b.mc7_length, 1);
  if (b.mc7_length == 0) b.mc7_length = 1;
  if (extent > d.size) {
    out_.notes.push_back(
        fmt::format("DB {}: block info says {} bytes, but clients accessed {} bytes", num,
                    inf->second.first.mc7_length, extent));
    d.size = extent;
    return;
  }
  if (const auto up = uploaded_.find({server::block_type::db, num}); up != uploaded_.end()) {
    const bytes sbb = server::mc7::sbb_of(up->second.first);
    if (sbb.size() == b.sbb_length) d.interface.assign(sbb.begin(), sbb.end());
  }
  d.info = std::move(b);
}

// --- memory: runs of bytes with a known start value (gaps of up to 16 unknown bytes are zeros)
void learner::finish_memory() {
  for (const auto& entry : mem_) {
    const mem_key key = entry.first;
    if (key.area == 0x84 &&
        !std::any_of(out_.profile.dbs.begin(), out_.profile.dbs.end(),
                     [&](const server::profile_db& x) { return x.number == key.db; }))
      continue;
    memory_runs(key, entry.second);
  }
}

void learner::memory_runs(const mem_key& key, const std::map<std::uint32_t, byte_state>& bytes_) {
  server::plc_profile& p = out_.profile;
  const std::string_view area = codec::names::area_mnemonic(key.area, "?");
  const std::string db = key.area == 0x84 ? std::to_string(key.db) : "";
  std::optional<server::memory_range> run;
  std::uint32_t last = 0;
  std::size_t volatile_count = 0;
  const auto flush = [&] {
    if (!run) return;
    out_.sources[fmt::format("memory:{}:{}:{}", area, db.empty() ? "-" : db, run->offset)] =
        src_of_run_;
    p.memory.push_back(std::move(*run));
    run.reset();
  };
  for (const auto& [off, b] : bytes_) {
    if (b.changed_by_plc) {
      ++volatile_count;
      out_.volatile_memory.push_back(fmt::format("{}{} byte {}: {} different values read", area, db,
                                                 off, std::max<std::size_t>(b.values.count(), 2)));
    }
    if (b.initial_mask == 0) continue;
    if (key.area == 0x84) {
      const auto d = std::find_if(p.dbs.begin(), p.dbs.end(),
                                  [&](const server::profile_db& x) { return x.number == key.db; });
      if (d == p.dbs.end() || off >= d->size) continue;
    }
    if (run && off - last <= 16 && off > last) {
      run->bytes.resize(off - run->offset, std::byte{0});
    } else {
      flush();
      run = server::memory_range{key.area, key.area == 0x84 ? key.db : std::uint16_t{0}, off, {}};
      src_of_run_ = b.first_frame != 0
                        ? fmt::format("{} frame {}", files_[b.first_capture], b.first_frame)
                        : std::string();
    }
    run->bytes.push_back(std::byte{b.initial});
    last = off;
  }
  flush();
  if (volatile_count != 0)
    out_.notes.push_back(fmt::format(
        "{}{}: {} byte(s) changed between client accesses without a client writing them (the "
        "PLC's program): the "
        "profile keeps the first value read",
        area, db, volatile_count));
}

}  // namespace

namespace {

void name_profile(learned& l, const std::vector<std::string>& read, const options& opt) {
  l.profile.source = read.empty() ? std::string("learned") : base_name(read.front());
  l.profile.name = opt.name.empty() ? fmt::format("learned from {}", l.profile.source) : opt.name;
  std::string from;
  for (const std::string& f : read) from += (from.empty() ? "" : ", ") + base_name(f);
  l.profile.description =
      fmt::format("Learned by protos7 learn from {} ({} S7 connection(s), {} answers)", from,
                  l.connections, l.answers);
}

std::uint64_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

}  // namespace

learned learn_loaded(const std::vector<const capture::capture_file*>& files, const options& opt) {
  learned l;
  learner k(l);
  std::vector<std::string> read;
  for (const capture::capture_file* f : files) {
    stream::reader rd{stream::reader_options{opt.port, {}}};
    rd.open_loaded(*f);
    k.capture(rd, f->path, {});
    read.push_back(f->path);
  }
  k.finish();
  name_profile(l, read, opt);
  return l;
}

learned learn_files(const std::vector<std::string>& paths, const options& opt) {
  learned l;
  learner k(l);
  std::vector<std::string> read;
  stream::progress bar{stderr, "protos7 learn", opt.progress};
  std::uint64_t total = 0;
  for (const std::string& p : paths) total += file_bytes(p);
  bar.set_total_bytes(total);
  std::uint64_t done = 0;
  for (const std::string& p : paths) {
    stream::reader rd{stream::reader_options{opt.port, {}}};
    capture::load_error e;
    if (!rd.open(p, e)) {
      l.errors.push_back(fmt::format("{}: {}", p, e.message));
      continue;
    }
    k.capture(rd, p, [&] {
      if (!bar.due()) return;
      bar.set_done_bytes(done + rd.stats().file_offset);
      bar.print(fmt::format("{} frames, {} answers", stream::progress::grouped(rd.stats().frames),
                            stream::progress::grouped(l.answers)),
                l.answers, "answers");
    });
    if (rd.stats().ended_early)
      l.truncated.push_back(
          fmt::format("{}: capture ends early after frame {}", p, rd.stats().frames));
    done += file_bytes(p);
    read.push_back(p);
  }
  bar.finish();
  k.finish();
  name_profile(l, read, opt);
  return l;
}

}  // namespace protos7::learn

namespace protos7::learn {

std::string to_json(const learned& l) {
  using json = nlohmann::ordered_json;
  json doc = json::parse(server::profile_to_json(l.profile));
  json comment = json::array();
  comment.push_back(l.profile.description);
  comment.push_back(
      "The CPU's state at the start of the capture(s). Each entry's \"source\" names the answer it "
      "was learned "
      "from. Notes of protos7 learn follow.");
  for (const std::string& n : l.notes) comment.push_back(n);
  for (const std::string& v : l.volatile_memory)
    comment.push_back("changed by the PLC's program: " + v);
  // "comment" first after the version: what a reader needs before the data.
  json out;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    out[it.key()] = it.value();
    if (it.key() == "description") out["comment"] = comment;
  }
  if (!out.contains("comment")) out["comment"] = comment;
  const auto source = [&](const std::string& key) -> const std::string* {
    const auto it = l.sources.find(key);
    return it == l.sources.end() ? nullptr : &it->second;
  };
  for (json& e : out["szl"]) {
    const std::string id = e["id"].get<std::string>();
    const std::string idx = e["index"].get<std::string>();
    if (const auto* s = source(fmt::format("szl:{}:{}", id, idx))) e["source"] = *s;
  }
  for (json& e : out["blocks"])
    if (const auto* s = source(
            fmt::format("block:{}:{}", e["type"].get<std::string>(), e["number"].get<int>())))
      e["source"] = *s;
  if (out.contains("dbs"))
    for (json& e : out["dbs"])
      if (const auto* s = source(fmt::format("db:{}", e["number"].get<int>()))) e["source"] = *s;
  if (out.contains("memory"))
    for (json& e : out["memory"]) {
      const std::string area = e["area"].get<std::string>();
      const std::string db =
          e.contains("db") ? std::to_string(e["db"].get<int>()) : std::string("-");
      if (const auto* s = source(fmt::format("memory:{}:{}:{}", area, db, e["offset"].get<int>())))
        e["source"] = *s;
    }
  if (out.contains("alarms"))
    for (json& e : out["alarms"])
      if (const auto* s = source("alarm:" + e["event_id"].get<std::string>())) e["source"] = *s;
  return out.dump(2) + "\n";
}

namespace {

// Why nothing may be learned from these captures ("" when something may).
std::string refusal(const learned& l, const options& opt) {
  if (!l.errors.empty()) return "a capture cannot be read: nothing written";
  if (!l.truncated.empty() && !opt.allow_truncated)
    return "a capture ends in the middle of a record: what it cut off would be missing from the "
           "profile; learn from the whole capture, or give --allow-truncated to learn from what "
           "is left";
  if (l.answers == 0)
    return fmt::format("no answer of an S7 CPU in {} capture(s): nothing to learn", l.captures);
  return {};
}

}  // namespace

int run_cli(const std::vector<std::string>& captures, const std::string& output, const options& opt,
            std::FILE* out, std::FILE* err) {
  const learned l = learn_files(captures, opt);
  for (const std::string& e : l.errors) fmt::print(err, "protos7 learn: {}\n", e);
  for (const std::string& t : l.truncated) fmt::print(err, "protos7 learn: {}\n", t);
  if (const std::string why = refusal(l, opt); !why.empty()) {
    fmt::print(err, "protos7 learn: {}\n", why);
    return exit_code::data_error;
  }
  const std::string text = to_json(l);
  try {
    (void)server::parse_profile(text, output);
  } catch (const std::exception& e) {
    fmt::print(err, "protos7 learn: BUG: the learned profile does not load: {}\n", e.what());
    return exit_code::software;
  }
  if (output == "-") {
    fmt::print(out, "{}", text);
  } else {
    std::ofstream f(output, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) {
      fmt::print(err, "protos7 learn: cannot write {}\n", output);
      return exit_code::cant_create;
    }
  }
  const server::plc_profile& p = l.profile;
  std::size_t records = 0;
  for (const auto& e : p.szl) records += e.count;
  std::size_t mem = 0;
  for (const auto& r : p.memory) mem += r.bytes.size();
  fmt::print(err,
             "protos7 learn: {} capture(s), {} S7 connection(s), {} answers -> {}\n"
             "  identity: {} \"{}\", serial \"{}\", firmware {}\n"
             "  PDU {}, max AmQ {}, {} connections, protection level {}, clock offset {} ms ({})\n"
             "  {} SZL lists ({} records), {} blocks, {} DBs, {} memory ranges ({} bytes)\n",
             l.captures, l.connections, l.answers, output == "-" ? "stdout" : output,
             p.id.order_number, p.id.module_name, p.id.serial_number,
             p.id.firmware_version.empty() ? "-" : p.id.firmware_version, p.pdu_size, p.max_amq,
             p.max_connections, p.protection_level, p.clock_offset_ms,
             p.clock_local ? "local" : "utc", p.szl.size(), records, p.blocks.size(), p.dbs.size(),
             p.memory.size(), mem);
  for (const std::string& n : l.notes) fmt::print(err, "  note: {}\n", n);
  return 0;
}

}  // namespace protos7::learn
