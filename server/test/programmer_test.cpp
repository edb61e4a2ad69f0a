// Programmer commands (programmer.hpp) over real sockets: the requests of the field captures
// are sent as captured and the answers and pushes must be the captured CPU's, byte for byte
// (the job numbers set as the capture shows them: the profile's first job number). Then what no
// capture shows: the job list's bound and owners, modify variable, protection and mode refusals,
// bad requests.
#include "protos7/server/programmer.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <thread>

#include "field_frames.hpp"
#include "protos7/server/profile.hpp"
#include "test_client.hpp"

using namespace p7test;
namespace ud = protos7::codec::s7::ud;
namespace tis = protos7::codec::s7::tis;
namespace srv = protos7::server;

namespace {

constexpr char var_tab[] = "step7_s300_readVarTab.pcapng";
constexpr char diag_data[] = "step7_s300_readDiagData.pcapng";
constexpr char flash_led[] = "tia_s300_flashLed.pcapng";

srv::config config_with(const std::function<void(srv::plc_profile&)>& edit) {
  srv::config cfg;
  cfg.pdu_size = 960;
  auto p = std::make_shared<srv::plc_profile>(srv::bundled_profile());
  edit(*p);
  cfg.profile = p;
  return cfg;
}

void put(srv::plc_memory& mem, std::uint8_t area, std::size_t at, std::string_view h) {
  const buf b = hex(h);
  const srv::location loc = mem.locate(area, 0, at, b.size());
  ASSERT_EQ(loc.return_code, 0xFF);
  ASSERT_TRUE(mem.write(loc, b));
}

// A Userdata programmer command: 8-byte parameter, data FF 09 len | frame |.
buf tis_request(std::uint16_t ref, std::uint8_t sub, std::string_view frame_hex) {
  const buf payload = hex(frame_hex);
  buf prm = hex("00011204 11 41 00 00");
  prm[6] = std::byte{sub};
  buf data = {std::byte{0xFF}, std::byte{0x09}, std::byte(payload.size() >> 8U),
              std::byte(payload.size() & 0xFFU)};
  data.insert(data.end(), payload.begin(), payload.end());
  buf out(10 + prm.size() + data.size());
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = ref;
  out.resize(*s7::encode(h, prm, data, out));
  return out;
}

// The job parameter STEP 7 sends with every job request (readVarTab frame 4).
constexpr std::string_view job_prm = "0000 0000 0001 0000 0000 0001 0001 0001 0001 0000";
// A variable status set-up of MB0..5 and IB8 (readVarTab frame 1).
constexpr std::string_view var_status_frame =
    "0014 000e 0000 0001 0000 0012 0001 0001 0001 0001 0001 0200"
    "0002 010600000000 110100000008";

std::string job_ref_frame(std::uint8_t fn, std::uint8_t seq) {
  return fmt::format("0014 0002 {} {:02x}{:02x}", job_prm, fn, seq);
}
std::string delete_frame(std::uint8_t fn, std::uint8_t seq) {
  return fmt::format("0014 0004 {} 0001 {:02x}{:02x}", job_prm, fn, seq);
}

struct answer {
  std::uint16_t error = 0;
  std::uint8_t seq = 0, type = 0, rc = 0;
  buf payload;
};
std::optional<answer> decode(const buf& pdu) {
  const auto m = s7::decode(pdu);
  if (!m || m->p.hdr.type != s7::rosctr::userdata) return std::nullopt;
  return answer{m->ud.prm.error_code, m->ud.prm.seq, m->ud.prm.type, m->ud.data.return_code,
                buf(m->ud.data.payload.begin(), m->ud.data.payload.end())};
}
// Hex text with spaces, as to_hex writes it (without).
std::string h(std::string_view s) {
  return to_hex(hex(s));
}
answer ask(client& c, std::uint16_t ref, std::uint8_t sub, std::string_view frame) {
  const auto r = c.transact(tis_request(ref, sub, frame));
  EXPECT_TRUE(r);
  const auto a = r ? decode(*r) : std::nullopt;
  EXPECT_TRUE(a);
  return a.value_or(answer{});
}

struct programmer_field : ::testing::Test {
  field_pdus f;
  std::unique_ptr<running_server> s;
  std::unique_ptr<client> c;
  void load(const char* name) {
    std::string why;
    if (!load_field_pdus(name, f, why)) GTEST_SKIP() << why;
  }
  void start(const srv::config& cfg) {
    s = std::make_unique<running_server>(cfg);
    if (preload) preload(s->mem());
    s->start();
    c = std::make_unique<client>(s->port());
    ASSERT_TRUE(c->open(960));
  }
  std::function<void(srv::plc_memory&)> preload;
  // Sends captured frame `req`; the next PDU must be captured frame `want`.
  void expect_answer(std::uint64_t req, std::uint64_t want) {
    ASSERT_TRUE(f.contains(req) && f.contains(want));
    c->send_pdu(f.at(req));
    const auto got = c->read_pdu();
    ASSERT_TRUE(got) << "no answer to frame " << req;
    EXPECT_EQ(to_hex(*got), to_hex(f.at(want))) << "answer to frame " << req;
  }
  void expect_pdu(std::uint64_t want) {
    const auto got = c->read_pdu();
    ASSERT_TRUE(got) << "no PDU where frame " << want << " was captured";
    EXPECT_EQ(to_hex(*got), to_hex(f.at(want)));
  }
};

}  // namespace

// STEP 7's watch table (readVarTab): set-up, enable and its push, disable after the push, delete.
TEST_F(programmer_field, watch_table_answers_and_pushes_as_the_captured_cpu) {
  load(var_tab);
  if (IsSkipped()) return;
  preload = [](srv::plc_memory& m) {
    put(m, 0x83, 0, "4133851fdead");  // MB0..5 and IB8 as frame 7 shows them
    put(m, 0x81, 8, "02");
  };
  start(config_with([](srv::plc_profile& p) { p.first_job_number = 2; }));
  expect_answer(1, 2);  // job 2, data 0A 00 0000
  for (std::uint64_t enable : {4U, 9U, 14U}) {
    expect_answer(enable, enable + 1);  // answered with sequence number 3
    expect_pdu(enable + 3);             // then the values pushed
  }
  expect_answer(527, 530);  // the job is idle after its push: 0xD0A5
  expect_answer(532, 533);
  expect_answer(547, 548);  // deleted
  // And gone: 0xD0A5, answered with job number 2 now that no job holds it.
  c->send_pdu(f.at(532));
  const auto gone = c->read_pdu();
  ASSERT_TRUE(gone);
  const auto a = decode(*gone);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, srv::tis_error::job_not_found);
  EXPECT_EQ(a->seq, 2);
}

// readDiagData: read job list (the request itself is job 3), block status v2 set up as job 3.
// Enable and Delete job are answered with the captured error, return code and data; their
// sequence number is the lowest free job number (4 here; the captured CPU's 2: another
// connection held 2 when the job list was read, and released it, which the capture cannot show).
TEST_F(programmer_field, job_list_and_block_status_as_the_captured_cpu) {
  load(diag_data);
  if (IsSkipped()) return;
  start(config_with([](srv::plc_profile& p) { p.first_job_number = 3; }));
  expect_answer(13, 14);
  expect_answer(22, 23);
  for (const auto& [req, want] : {std::pair{25UL, 26UL}, {30UL, 31UL}, {673UL, 676UL}}) {
    c->send_pdu(f.at(req));
    const auto got = c->read_pdu();  // no block status push: the next PDU is the answer
    ASSERT_TRUE(got);
    const auto a = decode(*got), w = decode(f.at(want));
    ASSERT_TRUE(a && w);
    EXPECT_EQ(a->error, w->error);
    EXPECT_EQ(a->rc, w->rc);
    EXPECT_EQ(to_hex(a->payload), to_hex(w->payload));
    EXPECT_EQ(a->seq, 4);
  }
}

TEST_F(programmer_field, flash_led_as_the_captured_cpu) {
  load(flash_led);
  if (IsSkipped()) return;
  start(config_with([](srv::plc_profile& p) { p.first_job_number = 3; }));
  expect_answer(1, 2);
  expect_answer(3, 4);
}

// The push builders alone, against the captured pushes' data unit payloads.
TEST(programmer_push, builders_write_the_captured_pushes) {
  field_pdus f;
  std::string why;
  if (!load_field_pdus(var_tab, f, why) || !load_field_pdus(diag_data, f, why)) GTEST_SKIP() << why;
  srv::config cfg;
  srv::plc_memory mem{cfg.areas};
  put(mem, 0x83, 0, "4133851fdead");
  put(mem, 0x81, 8, "02");
  srv::plc_state st{cfg, mem};
  const buf setup = hex("0002 010600000000 110100000008");
  const auto items = tis::parse_item_list(setup, tis::list_kind::addresses, nullptr);
  ASSERT_TRUE(items);
  std::array<std::byte, 256> out{};
  const auto n = srv::write_variable_status_push(out, *items, mem, st);
  ASSERT_TRUE(n);
  const auto vs = decode(f.at(7));
  ASSERT_TRUE(vs);
  EXPECT_EQ(to_hex({out.data(), *n}), to_hex(vs->payload));
  EXPECT_EQ(*n, srv::variable_status_push_size(*items));

  const auto bs = decode(f.at(28));  // block status v2 push of readDiagData
  ASSERT_TRUE(bs);
  const auto fr = tis::parse_frame(bs->payload, nullptr);
  ASSERT_TRUE(fr);
  const auto b = tis::parse_block_status_push(fr->data, nullptr);
  ASSERT_TRUE(b);
  const auto m = srv::write_block_status_push(out, *b);
  ASSERT_TRUE(m);
  EXPECT_EQ(to_hex({out.data(), *m}), to_hex(bs->payload));

  std::array<std::byte, 12> prm{};
  protos7::codec::writer w{prm};
  ud::write_param(w, srv::tis_push_param(tis::sub::variable_status, 2));
  EXPECT_EQ(to_hex(prm), to_hex(std::span(f.at(7)).subspan(10, 12)));
}

// --- What no capture shows ----------------------------------------------------------------------

struct programmer : ::testing::Test {
  running_server s{config_with([](srv::plc_profile& p) { p.max_test_jobs = 2; })};
  std::unique_ptr<client> a, b;
  void SetUp() override {
    put(s.mem(), 0x83, 0, "4133851fdead");
    s.start();
    a = std::make_unique<client>(s.port());
    b = std::make_unique<client>(s.port());
    ASSERT_TRUE(a->open(960));
    ASSERT_TRUE(b->open(960));
  }
};

TEST_F(programmer, job_list_is_cpu_wide_bounded_and_owned) {
  EXPECT_EQ(ask(*a, 1, 0x02, var_status_frame).seq, 1);
  EXPECT_EQ(ask(*b, 2, 0x02, var_status_frame).seq, 2);
  const answer full = ask(*a, 3, 0x02, var_status_frame);
  EXPECT_EQ(full.error, srv::tis_error::job_list_full);
  // Read job list from either connection: both jobs, and the request itself as job 3.
  const answer list = ask(*b, 4, 0x10, fmt::format("0014 0004 {} 00000000", job_prm));
  EXPECT_EQ(list.rc, 0xFF);
  EXPECT_EQ(list.seq, 3);
  EXPECT_EQ(to_hex(list.payload), "0004000c01000003020100000202000010030000");
  // Only the owner may enable or delete a job.
  EXPECT_EQ(ask(*a, 5, 0x0E, job_ref_frame(0x02, 2)).error, srv::tis_error::other_connection);
  EXPECT_EQ(ask(*a, 6, 0x0F, delete_frame(0x02, 2)).error, srv::tis_error::other_connection);
  EXPECT_EQ(ask(*a, 7, 0x0E, job_ref_frame(0x02, 9)).error, srv::tis_error::job_not_found);
  EXPECT_EQ(ask(*a, 8, 0x0E, job_ref_frame(0x13, 1)).error, srv::tis_error::job_not_found);
  // A connection's jobs end with it.
  b.reset();
  for (int i = 0; i < 50; ++i) {
    const answer l = ask(*a, 9, 0x10, fmt::format("0014 0004 {} 00000000", job_prm));
    if (l.payload.size() == 16) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(to_hex(ask(*a, 10, 0x10, fmt::format("0014 0004 {} 00000000", job_prm)).payload),
            "00040008010000020201000010020000");
  EXPECT_EQ(ask(*a, 11, 0x02, var_status_frame).seq, 2);
}

// Modify variable: set up, enabled, the values written as Write Var writes them (a bit too), the
// push a return code per item; an address outside the area gets its item error.
TEST_F(programmer, modify_variable_writes_memory_at_its_trigger) {
  const std::string frame = fmt::format(
      "0014 0026 {} 0003 010200000002 000300000008 01010000fff0 ff040010 beef ff030001 01 00 "
      "ff040008 07 00",
      job_prm);
  const answer set = ask(*a, 1, 0x08, frame);
  ASSERT_EQ(set.error, 0);
  EXPECT_EQ(set.rc, 0x0A);
  a->send_pdu(tis_request(2, 0x0E, job_ref_frame(0x08, set.seq)));
  const auto ans = a->read_pdu();
  const auto push = a->read_pdu();
  ASSERT_TRUE(ans && push);
  EXPECT_EQ(decode(*ans)->error, 0);
  const auto p = decode(*push);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, 0);  // a push
  EXPECT_EQ(p->seq, set.seq);
  EXPECT_EQ(to_hex(p->payload), h("0004 0006 0100 0003 0003 ffff05 00"));
  // MB2..3 = BE EF, M8.3 set; read back with a variable status job.
  const answer vs =
      ask(*a, 3, 0x02, fmt::format("0014 000e {} 0002 010200000002 010100000008", job_prm));
  a->send_pdu(tis_request(4, 0x0E, job_ref_frame(0x02, vs.seq)));
  ASSERT_TRUE(a->read_pdu());
  const auto values = a->read_pdu();
  ASSERT_TRUE(values);
  EXPECT_EQ(to_hex(decode(*values)->payload),
            h("0004 000e 0100 0002 0002 ff090002beef ff09000108 00"));
}

TEST(programmer_rights, protection_and_mode_refuse_modify_force_and_breakpoints) {
  const auto cfg = config_with([](srv::plc_profile& p) {
    p.protection_level = 2;
    p.password = "secret";
  });
  running_server s{cfg};
  s.start();
  client c{s.port()};
  ASSERT_TRUE(c.open(960));
  const std::string modify = fmt::format("0014 000e {} 0001 010100000000 ff040008 07 00", job_prm);
  EXPECT_EQ(ask(c, 1, 0x08, modify).error, srv::tis_error::protection);
  EXPECT_EQ(ask(c, 2, 0x09, fmt::format("0014 0000 {}", job_prm)).error,
            srv::tis_error::protection);
  EXPECT_EQ(ask(c, 3, 0x0A, fmt::format("0014 0000 {}", job_prm)).error,
            srv::tis_error::protection);
  // Variable status reads: allowed at level 2.
  EXPECT_EQ(ask(c, 4, 0x02, var_status_frame).error, 0);

  running_server r{config_with([](srv::plc_profile& p) { p.mode_selector = 1; })};
  r.start();
  client d{r.port()};
  ASSERT_TRUE(d.open(960));
  EXPECT_EQ(ask(d, 1, 0x09, fmt::format("0014 0000 {}", job_prm)).error, srv::tis_error::mode);
  EXPECT_EQ(ask(d, 2, 0x0A, fmt::format("0014 0000 {}", job_prm)).error, srv::tis_error::mode);

  running_server t{
      config_with([](srv::plc_profile& p) { p.start_mode = srv::operating_mode::stop; })};
  t.start();
  client e{t.port()};
  ASSERT_TRUE(e.open(960));
  EXPECT_EQ(ask(e, 1, 0x0A, fmt::format("0014 0000 {}", job_prm)).error, srv::tis_error::mode);
  EXPECT_EQ(ask(e, 2, 0x09, fmt::format("0014 0000 {}", job_prm)).error,
            srv::tis_error::not_supported);
}

TEST_F(programmer, bad_requests_get_the_cpus_errors_and_change_nothing) {
  EXPECT_EQ(ask(*a, 1, 0x02, "0014").error, srv::tis_error::job_length);
  EXPECT_EQ(ask(*a, 2, 0x02, "0002 0000 0000").error, srv::tis_error::param_coding);
  EXPECT_EQ(ask(*a, 3, 0x02, fmt::format("0014 0004 {} 0003 0106", job_prm)).error,
            srv::tis_error::data_coding);
  EXPECT_EQ(ask(*a, 4, 0x02, fmt::format("0014 0008 {} 0001 f10100000000", job_prm)).error,
            srv::tis_error::tag_address);
  // 200 double words: a push longer than the PDU.
  EXPECT_EQ(ask(*a, 5, 0x02, fmt::format("0014 0008 {} 0001 03fa00000000", job_prm)).error,
            srv::tis_error::result_too_long);
  EXPECT_EQ(ask(*a, 6, 0x0E, fmt::format("0014 0003 {} 020200", job_prm)).error,
            srv::tis_error::data_coding);
  EXPECT_EQ(ask(*a, 7, 0x10, fmt::format("0014 0002 {} 0000", job_prm)).error,
            srv::tis_error::data_coding);
  EXPECT_EQ(ask(*a, 8, 0x03, fmt::format("0014 0000 {}", job_prm)).error,
            srv::tis_error::not_supported);
  // Nothing was set up: the first job is still number 1.
  EXPECT_EQ(ask(*a, 9, 0x02, var_status_frame).seq, 1);
}

TEST_F(programmer, replace_job_swaps_the_addresses) {
  const answer set = ask(*a, 1, 0x02, var_status_frame);
  ASSERT_EQ(set.error, 0);
  const std::string replace =
      fmt::format("0014 002a {} 0001 02{:02x} 0014 000e {} 0002 010200000002 010100000000", job_prm,
                  set.seq, job_prm);
  const answer r = ask(*a, 2, 0x12, replace);
  EXPECT_EQ(r.error, 0);
  a->send_pdu(tis_request(3, 0x0E, job_ref_frame(0x02, set.seq)));
  ASSERT_TRUE(a->read_pdu());
  const auto values = a->read_pdu();
  ASSERT_TRUE(values);
  EXPECT_EQ(to_hex(decode(*values)->payload),
            h("0004 000e 0100 0002 0002 ff090002851f ff09000141 00"));
}
