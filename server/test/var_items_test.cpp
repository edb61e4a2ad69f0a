// Read Var and Write Var answered as the captured CPUs answered (var_items.hpp, session.cpp and
// docs/TRANSPORT_SIZES.md): the requests of the field captures are sent to protos7 as they were
// captured, after the memory they read has been given the values the CPU answered, and the
// answer must be the captured answer byte for byte. The captures are read from
// $PROTOS7_FIELD_PCAP_DIR (../shared/pcaps/field by default), never copied; a missing capture
// skips its test with a message.
#include <functional>
#include <map>
#include <set>
#include <string>

#include "field_frames.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/stream/stream.hpp"
#include "test_client.hpp"

using namespace p7test;

namespace {

namespace stream = protos7::stream;
using bytes = std::span<const std::byte>;

// A request of the capture and the answer the CPU gave it.
struct exchange {
  std::uint64_t frame = 0;  // of the request
  buf request;
  buf answer;
};

// The Job / Ack_Data pairs of a capture whose request `want` selects (answers matched by PDU
// reference on the same connection). False (with a message) when the capture cannot be read.
bool exchanges(const std::string& name, const std::function<bool(const s7::message&)>& want,
               std::vector<exchange>& out, std::string& why) {
  std::vector<stream::connection_records> conns;
  if (!load_field_connections(name, conns, why)) return false;
  for (const stream::connection_records& c : conns) {
    std::map<std::uint16_t, exchange> open;
    for (const stream::record& r : c.records) {
      if (!r.has_s7) continue;
      const auto m = s7::decode(r.s7);
      if (!m) continue;
      if (m->p.hdr.type == s7::rosctr::job && want(*m))
        open[m->p.hdr.pdu_ref] = exchange{r.frame, r.s7, {}};
      if (m->p.hdr.type != s7::rosctr::ack_data) continue;
      const auto it = open.find(m->p.hdr.pdu_ref);
      if (it == open.end()) continue;
      it->second.answer = r.s7;
      out.push_back(std::move(it->second));
      open.erase(it);
    }
  }
  return true;
}

bool read_var_with(const s7::message& m, std::uint8_t syntax) {
  if (m.prm.fn != static_cast<std::uint8_t>(s7::function::read_var)) return false;
  auto it = m.prm.var_specs(m.p.origin);
  s7::var_spec v;
  while (it.next(v))
    if (v.syntax != syntax) return false;
  return true;
}

struct field : ::testing::Test {
  running_server s{big_areas()};
  std::unique_ptr<client> c;
  static protos7::server::config big_areas() {
    protos7::server::config cfg;
    cfg.pdu_size = 960;
    cfg.areas = {8192, 8192, 8192, 256, 256};
    return cfg;
  }
  void start() {
    s.start();
    c = std::make_unique<client>(s.port());
    ASSERT_TRUE(c->open(960));
  }
  // Writes `data` at byte `byte` of `area` / DB `db` (BYTE items; a BIT item for one bit; for
  // counters and timers `byte` is the first number and the data are their words).
  void put(std::uint8_t area, std::uint16_t db, std::uint32_t byte, bytes data, bool bit = false,
           std::uint8_t bit_no = 0) {
    const bool ct = area == 0x1C || area == 0x1D;
    const auto n = static_cast<std::uint16_t>(ct ? data.size() / 2 : data.size());
    s7::any_address a = any(2, n, area, db, byte);
    std::uint8_t data_tsize = 0x04;
    if (bit) {
      a = any(1, 1, area, db, byte, bit_no);
      data_tsize = 0x03;
    } else if (ct) {
      a = s7::any_address{area == 0x1C ? std::uint8_t{28} : std::uint8_t{29}, n, 0, area, byte};
      data_tsize = 0x09;
    }
    const std::array items{a};
    const std::array d{wdata{data_tsize, buf(data.begin(), data.end()), {}}};
    const auto r =
        c->transact(client::job(7, var_param(s7::function::write_var, items), write_data(d)));
    ASSERT_TRUE(r);
    const auto m = s7::decode(*r);
    ASSERT_TRUE(m);
    ASSERT_EQ(to_hex(m->p.data), "ff") << "preloading area " << int(area) << " DB " << db;
  }
};

using field_dbread = field;
using field_read_var = field;
using field_write_var = field;

}  // namespace

// wincc_s400_production.pcapng: WinCC reads an S7-400 with DBREAD items (84 Read Var jobs).
TEST_F(field_dbread, answers_every_captured_read_as_the_s7_400_did) {
  std::vector<exchange> ex;
  std::string why;
  const auto dbread = static_cast<std::uint8_t>(s7::syntax_id::dbread);
  if (!exchanges(
          "wincc_s400_production.pcapng",
          [&](const s7::message& m) { return read_var_with(m, dbread); }, ex, why))
    GTEST_SKIP() << why;
  ASSERT_EQ(ex.size(), 84U);
  // The DBs the reads address, as large as the largest read.
  std::map<std::uint16_t, std::size_t> size;
  for (const exchange& e : ex) {
    const auto m = s7::decode(e.request);
    auto it = m->prm.var_specs(m->p.origin);
    s7::var_spec v;
    s7::dbread_area a;
    while (it.next(v))
      for (std::size_t i = 0; s7::dbread_at(v, i, a); ++i)
        size[a.db] = std::max(size[a.db], std::size_t{a.start} + a.length);
  }
  for (const auto& [db, n] : size) s.mem().add_db(ram_db(db, n, true));
  start();
  for (const exchange& e : ex) {
    // Give each area the bytes the CPU answered, then ask as WinCC asked.
    const auto q = s7::decode(e.request);
    const auto a = s7::decode(e.answer);
    ASSERT_TRUE(q && a);
    auto it = q->prm.var_specs(q->p.origin);
    s7::var_spec v;
    ASSERT_TRUE(it.next(v));
    s7::data_item_iterator items{a->p.data, 1, a->p.origin};
    s7::data_item item;
    ASSERT_TRUE(items.next(item));
    s7::dbread_area area;
    s7::dbread_area_answer answered;
    for (std::size_t i = 0; s7::dbread_at(v, i, area); ++i) {
      ASSERT_TRUE(s7::dbread_answer_at(item.data, v, i, answered)) << "frame " << e.frame;
      put(0x84, area.db, area.start, answered.data);
    }
    const auto r = c->transact(e.request);
    ASSERT_TRUE(r);
    EXPECT_EQ(to_hex(*r), to_hex(e.answer)) << "request frame " << e.frame;
  }
}

TEST_F(field_dbread, areas_of_a_missing_db_or_past_its_end_get_their_own_code) {
  s.mem().add_db(ram_db(10, 4));
  start();
  // One DBREAD item: DB10.DBB0 2 bytes, DB11 (missing) 2 bytes, DB10.DBB3 2 bytes (past the end).
  const buf prm =
      hex("04 01"
          "12 11 b0 03"
          "02 000a 0000"
          "02 000b 0000"
          "02 000a 0003");
  const auto r = c->transact(client::job(3, prm));
  ASSERT_TRUE(r);
  const auto m = s7::decode(*r);
  ASSERT_TRUE(m);
  // Item head (5 bytes of data), DB10.DBB0 ff 0001, DB11 0x0A, DB10.DBB3 2 bytes 0x05.
  EXPECT_EQ(to_hex(m->p.data), "ff090005ff00010a05");
}

// Every Read Var of S7ANY items in the field captures, the first few of each shape (areas and
// transport sizes: BIT, BYTE, WORD, DWORD, REAL, COUNTER, TIMER on I, Q, M, DB, C, T).
TEST_F(field_read_var, answers_each_transport_size_as_the_captured_cpus_did) {
  std::vector<exchange> all;
  std::string why;
  const auto s7any = static_cast<std::uint8_t>(s7::syntax_id::s7any);
  for (const char* name :
       {"s7comm_clean.pcap", "snap7_s300_everything.pcapng", "wincc_s300_setup-alarm-read.pcapng",
        "wincc_s300_setup-alarm-read_2.pcapng", "wincc_s400_production.pcapng"})
    if (!exchanges(
            name, [&](const s7::message& m) { return read_var_with(m, s7any); }, all, why))
      GTEST_SKIP() << why;
  std::map<std::string, int> per_shape;
  std::set<std::uint16_t> dbs;
  std::vector<const exchange*> picked;
  for (const exchange& e : all) {
    const auto q = s7::decode(e.request);
    std::string shape;
    auto it = q->prm.var_specs(q->p.origin);
    s7::var_spec v;
    while (it.next(v)) {
      shape += std::to_string(v.any.area) + "/" + std::to_string(v.any.tsize) + " ";
      if (v.any.area == 0x84) dbs.insert(v.any.db);
    }
    if (per_shape[shape]++ < 3) picked.push_back(&e);
  }
  ASSERT_GE(picked.size(), 10U);
  for (const std::uint16_t db : dbs) s.mem().add_db(ram_db(db, 8192, true));
  start();
  std::set<std::uint8_t> sizes_checked;
  for (const exchange* e : picked) {
    const auto q = s7::decode(e->request);
    const auto a = s7::decode(e->answer);
    ASSERT_TRUE(q && a);
    auto specs = q->prm.var_specs(q->p.origin);
    s7::data_item_iterator items{a->p.data, a->prm.item_count, a->p.origin};
    s7::var_spec v;
    s7::data_item d;
    while (specs.next(v) && items.next(d)) {
      const auto ext = s7::extent(v.any);
      ASSERT_TRUE(ext);
      put(v.any.area, ext->db,
          v.any.area == 0x1C || v.any.area == 0x1D ? v.any.address : ext->byte_offset,
          ext->bit_item ? d.data.first(1) : d.data, ext->bit_item, ext->bit);
      sizes_checked.insert(v.any.tsize);
    }
    const auto r = c->transact(e->request);
    ASSERT_TRUE(r);
    EXPECT_EQ(to_hex(*r), to_hex(e->answer)) << "request frame " << e->frame;
  }
  // BIT, BYTE, WORD, DWORD, REAL, COUNTER, TIMER were all seen.
  EXPECT_EQ(sizes_checked, (std::set<std::uint8_t>{1, 2, 4, 6, 8, 28, 29}));
}

// snap7_s300_everything.pcapng frames 53 / 54: a Write Var of M words, I and Q bytes, 8 timers
// and 8 counters; the S7-300 wrote the first three and refused the timer and counter words
// (0xEFBE, 0xFECA) with 0x03.
TEST_F(field_write_var, refuses_counter_and_timer_words_as_the_s7_300_did) {
  std::vector<exchange> ex;
  std::string why;
  if (!exchanges(
          "snap7_s300_everything.pcapng",
          [](const s7::message& m) {
            return m.prm.fn == static_cast<std::uint8_t>(s7::function::write_var) &&
                   m.prm.item_count == 5;
          },
          ex, why))
    GTEST_SKIP() << why;
  ASSERT_EQ(ex.size(), 1U);
  EXPECT_EQ(ex[0].frame, 53U);
  start();
  const auto r = c->transact(ex[0].request);
  ASSERT_TRUE(r);
  EXPECT_EQ(to_hex(*r), to_hex(ex[0].answer));
  // Words a counter or timer can hold are written.
  put(0x1C, 0, 3, hex("0123"));
  put(0x1D, 0, 3, hex("3042"));
}
