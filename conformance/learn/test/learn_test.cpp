// protos7::learn, the profile's dbs/memory sections, the validator and the pcap writer.
//
// The learn tests read the Wireshark sample captures (PROTOS7_PCAP_DIR, pcaps/README.md) and are
// skipped without them; the validator and pcap writer tests build their traffic here, byte by byte,
// and run the server's own session (socket-free) for the answers.
#include "protos7/learn/learn.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protos7/capture/capture.hpp"
#include "protos7/learn/inproc.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/pcap_writer.hpp"
#include "protos7/server/plc_state.hpp"
#include "protos7/server/session.hpp"
#include "protos7/server/validate.hpp"
#include "protos7/stream/stream.hpp"

namespace {

namespace srv = protos7::server;
namespace lrn = protos7::learn;
using bytes = std::vector<std::byte>;

bytes hex(std::string_view h) {
  const auto b = srv::parse_hex(h);
  EXPECT_TRUE(b.has_value()) << h;
  return b.value_or(bytes{});
}
std::string to_hex(const bytes& b) {
  std::string s;
  for (std::byte x : b) {
    static constexpr char d[] = "0123456789abcdef";
    s += d[std::to_integer<unsigned>(x) >> 4U];
    s += d[std::to_integer<unsigned>(x) & 15U];
  }
  return s;
}

std::filesystem::path pcap_dir() {
  const char* env = std::getenv("PROTOS7_PCAP_DIR");
  return env != nullptr ? env : PROTOS7_DEFAULT_PCAP_DIR;
}
bool have_captures() {
  return std::filesystem::exists(pcap_dir() / "s7comm_downloading_block_db1.pcap");
}
lrn::learned learn_one(const char* name) {
  return lrn::learn_files({(pcap_dir() / name).string()});
}

// The field captures (PROTOS7_FIELD_PCAP_DIR, ../shared/pcaps/field): "" when `name` is missing.
std::string field_capture(const char* name) {
  const char* env = std::getenv("PROTOS7_FIELD_PCAP_DIR");
  const std::filesystem::path p =
      std::filesystem::path(env != nullptr ? env : PROTOS7_DEFAULT_FIELD_PCAP_DIR) / name;
  return std::filesystem::exists(p) ? p.string() : std::string{};
}

const srv::szl_entry* szl(const srv::plc_profile& p, std::uint16_t id) {
  for (const auto& e : p.szl)
    if (e.id == id) return &e;
  return nullptr;
}
bool has_note(const lrn::learned& l, std::string_view part) {
  for (const auto& n : l.notes)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

// --- learn ---------------------------------------------------------------------------------------

TEST(learn, limits_identity_szl_and_clock_from_the_plc_status_capture) {
  if (!have_captures()) GTEST_SKIP() << "no captures in " << pcap_dir();
  const lrn::learned l = learn_one("s7comm_reading_plc_status.pcap");
  const srv::plc_profile& p = l.profile;
  EXPECT_EQ(p.pdu_size, 240);  // Setup Communication Ack_Data frame 11
  EXPECT_EQ(p.max_amq, 1);
  EXPECT_EQ(p.max_connections, 12);  // SZL 0x0131 index 1 frame 24: 000C
  EXPECT_EQ(p.id.order_number, "6ES7 151-8AB01-0AB0");
  EXPECT_EQ(p.id.firmware_version, "V3.2.6");
  EXPECT_EQ(p.id.module_name, "IM151-8 PN/DP CPU");
  EXPECT_EQ(p.mode_selector, 2);  // RUN-P, SZL 0x0132 index 4
  EXPECT_EQ(p.protection_level, 1);
  ASSERT_NE(szl(p, 0x0011), nullptr);
  EXPECT_EQ(szl(p, 0x0011)->count, 4);              // frame 59: index 1, 6, 7, 0x81
  EXPECT_FALSE(szl(p, 0x0011)->index.has_value());  // a full list answers any index
  ASSERT_NE(szl(p, 0x001C), nullptr);
  EXPECT_EQ(szl(p, 0x001C)->count, 10);  // frames 69 + 72, the answer split over two telegrams
  EXPECT_EQ(l.sources.at("szl:0x0011:any"), "s7comm_reading_plc_status.pcap frame 59");
  EXPECT_EQ(szl(p, 0x0C91), nullptr);  // answered with error 0xD402 (frame 42): not learned
  EXPECT_TRUE(has_note(l, "SZL 0x0C91 index 0x7FFF: the CPU answered error 0xD402"));
  EXPECT_TRUE(has_note(l, "SZL 0x0424 index 0x0000: answered differently"));
  // Read clock frame 168: the CPU read 12:05:36.112 (CEST) at 10:05:36.931 UTC.
  EXPECT_FALSE(p.clock_local);
  EXPECT_NEAR(static_cast<double>(p.clock_offset_ms), 7199181.0, 1.0);
}

TEST(learn, a_block_downloaded_during_the_capture_is_not_in_the_profile) {
  if (!have_captures()) GTEST_SKIP() << "no captures in " << pcap_dir();
  const lrn::learned l = learn_one("s7comm_downloading_block_db1.pcap");
  // List blocks (frame 23) counts 0 DBs; Get block info DB1 (frame 38) is 0xD209; DB1 arrives
  // with the download (frames 43-59) and is listed afterwards (frame 78).
  EXPECT_TRUE(l.profile.declares_dbs);
  EXPECT_TRUE(l.profile.dbs.empty());
  EXPECT_TRUE(has_note(l, "DB 1 was downloaded and inserted (_INSE) during the capture"));
  // Counts only (no list of type was read): placeholders keep List blocks exact.
  std::size_t sfc = 0;
  for (const auto& b : l.profile.blocks) sfc += b.type == srv::block_type::sfc ? 1U : 0U;
  EXPECT_EQ(sfc, 71U);
  EXPECT_TRUE(has_note(l, "71 placeholder(s)"));
}

TEST(learn, memory_keeps_the_first_values_and_names_what_the_program_changes) {
  if (!have_captures()) GTEST_SKIP() << "no captures in " << pcap_dir();
  const lrn::learned l = learn_one("s7comm_varservice_libnodavedemo.pcap");
  const srv::plc_profile& p = l.profile;
  ASSERT_EQ(p.dbs.size(), 1U);
  EXPECT_EQ(p.dbs[0].number, 1);
  EXPECT_EQ(p.dbs[0].size, 64U);  // the end of what was read (frame 12: DB1.DBB0, 64 bytes)
  bool m = false;
  for (const auto& r : p.memory) {
    if (r.area != 0x83) continue;
    m = true;
    // Frame 14 read MB0..15 before the writes of frames 16-22 changed MD0..MD12.
    EXPECT_EQ(r.offset, 0U);
    EXPECT_EQ(to_hex(r.bytes), "a9100000000001010000000000000000");
  }
  EXPECT_TRUE(m);
  // MB0 read as a9, written a9, read a0 (frame 24): the PLC's program changed it.
  ASSERT_EQ(l.volatile_memory.size(), 1U);
  EXPECT_NE(l.volatile_memory[0].find("M byte 0"), std::string::npos);
}

TEST(learn, blocks_in_the_cpus_order_with_their_info) {
  if (!have_captures()) GTEST_SKIP() << "no captures in " << pcap_dir();
  const lrn::learned l = learn_one("s7comm_program_blocklist_onlineview.pcap");
  const srv::plc_profile& p = l.profile;
  std::vector<std::uint16_t> sfcs;
  const srv::block_meta* sfc0 = nullptr;
  for (const auto& b : p.blocks) {
    if (b.type != srv::block_type::sfc) continue;
    sfcs.push_back(b.number);
    if (b.number == 0) sfc0 = &b;
  }
  EXPECT_EQ(sfcs.size(), 71U);  // frames 96 + 99, one list split over two telegrams
  ASSERT_NE(sfc0, nullptr);     // Get block info frame 134
  EXPECT_EQ(sfc0->info_word, 0x4230);
  EXPECT_EQ(sfc0->load_memory_length, 90U);
  EXPECT_EQ(srv::format_block_time(sfc0->code_time), "1994-11-02T12:50:46.600");
  ASSERT_EQ(p.dbs.size(), 1U);  // DB1, described by Get block info (frame 137)
  ASSERT_TRUE(p.dbs[0].info.has_value());
  EXPECT_EQ(p.dbs[0].size, 400U);
  EXPECT_EQ(p.dbs[0].info->load_memory_length, 500U);
  EXPECT_TRUE(has_note(l, "Get block info of SDB 32768: the CPU does not have it"));
}

TEST(learn, every_learned_profile_loads_back_unchanged) {
  if (!have_captures()) GTEST_SKIP() << "no captures in " << pcap_dir();
  for (const char* name :
       {"s7comm_downloading_block_db1.pcap", "s7comm_program_blocklist_onlineview.pcap",
        "s7comm_reading_plc_status.pcap", "s7comm_reading_setting_plc_time.pcap",
        "s7comm_varservice_libnodavedemo.pcap", "s7comm_varservice_libnodavedemo_bench.pcap"}) {
    const lrn::learned l = learn_one(name);
    EXPECT_GT(l.answers, 0U) << name;
    const std::string text = lrn::to_json(l);
    srv::plc_profile back;
    ASSERT_NO_THROW(back = srv::parse_profile(text, name)) << text.substr(0, 400);
    EXPECT_EQ(srv::profile_to_json(back), srv::profile_to_json(l.profile)) << name;
    // Every entry says where it came from.
    const auto doc = nlohmann::json::parse(text);
    for (const auto& e : doc["szl"]) EXPECT_TRUE(e.contains("source")) << name << " " << e.dump();
  }
}

TEST(learn, unreadable_files_and_captures_without_s7) {
  const lrn::learned l = lrn::learn_files({"/nonexistent/x.pcap"});
  ASSERT_EQ(l.errors.size(), 1U);
  EXPECT_EQ(l.captures, 0U);
  EXPECT_EQ(l.answers, 0U);
  std::FILE* sink = std::fopen("/dev/null", "w");
  EXPECT_EQ(lrn::run_cli({"/nonexistent/x.pcap"}, "-", {}, sink, sink), 65);  // EX_DATAERR
  std::fclose(sink);
}

TEST(learn, a_capture_cut_off_in_a_record_is_refused_unless_allowed) {
  const std::string whole = (pcap_dir() / "s7comm_reading_plc_status.pcap").string();
  const std::string cut =
      (std::filesystem::temp_directory_path() / "protos7_learn_truncated.pcap").string();
  {
    std::ifstream in(whole, std::ios::binary);
    std::string head(3000, '\0');  // the pcap header, 29 whole frames, part of the 30th
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(cut, std::ios::binary).write(head.data(), in.gcount());
  }
  const lrn::learned l = lrn::learn_files({cut});
  ASSERT_EQ(l.truncated.size(), 1U);
  EXPECT_NE(l.truncated[0].find("capture ends early"), std::string::npos);
  EXPECT_GT(l.answers, 0U);
  const std::string out =
      (std::filesystem::temp_directory_path() / "protos7_learn_truncated.json").string();
  std::remove(out.c_str());
  std::FILE* sink = std::fopen("/dev/null", "w");
  EXPECT_EQ(lrn::run_cli({cut}, out, {}, sink, sink), 65);
  EXPECT_FALSE(std::filesystem::exists(out));  // nothing written
  lrn::options allow;
  allow.allow_truncated = true;
  EXPECT_EQ(lrn::run_cli({cut}, out, allow, sink, sink), 0);
  EXPECT_TRUE(std::filesystem::exists(out));
  std::fclose(sink);
  std::remove(out.c_str());
  std::remove(cut.c_str());
}

TEST(learn, replay_learn_takes_each_capture_on_its_own) {
  // Learned from all six captures together the libnodave captures' answers mismatch (issue #17):
  // each is replayed against the profile of its own capture.
  std::vector<std::string> caps;
  for (const char* n : {"s7comm_varservice_libnodavedemo.pcap", "s7comm_reading_plc_status.pcap",
                        "s7comm_program_blocklist_onlineview.pcap"})
    caps.push_back((pcap_dir() / n).string());
  lrn::replay_cli_options o;
  o.learn = true;
  std::FILE* sink = std::fopen("/dev/null", "w");
  EXPECT_EQ(lrn::run_replay_cli(caps, o, sink, sink), 0);
  o.save_profile = "/tmp/protos7_never_written.json";  // --save-profile: one capture only
  EXPECT_EQ(lrn::run_replay_cli(caps, o, sink, sink), 64);
  std::fclose(sink);
}

// --- the profile's dbs and memory --------------------------------------------------------------

std::string minimal(const std::string& extra) {
  return R"({"format": "protos7-profile", "version": 1,
             "identity": {"order_number": "6ES7 315-2EH14-0AB0", "module_name": "m",
               "serial_number": "s"},
             "szl": [])" +
         extra + "}";
}
std::string error_of(const std::string& text) {
  try {
    (void)srv::parse_profile(text, "t.json");
  } catch (const srv::profile_error& e) {
    return e.what();
  }
  return "";
}

TEST(profile_memory, dbs_and_memory_are_loaded_into_the_plc) {
  const srv::plc_profile p = srv::parse_profile(minimal(R"(, "dbs": [{"number": 3, "size": 8}],
                 "memory": [{"area": "DB", "db": 3, "offset": 2, "hex": "0a 0b"},
                            {"area": "M", "offset": 4, "hex": "ff"}, {"area": "C", "offset": 2,
                              "hex": "00 05"}])"),
                                                "t.json");
  EXPECT_TRUE(p.declares_dbs);
  srv::plc_memory mem(srv::area_sizes{});
  EXPECT_EQ(srv::apply_profile_memory(p, mem, ""), 1U);
  ASSERT_NE(mem.find_db(3), nullptr);
  EXPECT_EQ(to_hex(bytes(mem.find_db(3)->bytes().begin(), mem.find_db(3)->bytes().end())),
            "00000a0b00000000");
  EXPECT_EQ(
      to_hex(bytes(mem.locate(0x83, 0, 4, 1).ram.begin(), mem.locate(0x83, 0, 4, 1).ram.end())),
      "ff");
  EXPECT_EQ(
      to_hex(bytes(mem.locate(0x1C, 0, 2, 2).ram.begin(), mem.locate(0x1C, 0, 2, 2).ram.end())),
      "0005");
  // Round trip, including an empty "dbs" (a PLC without DBs).
  EXPECT_EQ(srv::profile_to_json(srv::parse_profile(srv::profile_to_json(p), "t2")),
            srv::profile_to_json(p));
  EXPECT_TRUE(srv::parse_profile(minimal(R"(, "dbs": [])"), "t").declares_dbs);
  EXPECT_FALSE(srv::parse_profile(minimal(""), "t").declares_dbs);
}

TEST(profile_memory, a_db_of_storage_is_kept) {
  const srv::plc_profile p = srv::parse_profile(
      minimal(
          R"(, "dbs": [{"number": 1, "size": 4}], "memory": [{"area": "DB", "db": 1, "offset": 0,
            "hex": "01"}])"),
      "t.json");
  srv::plc_memory mem(srv::area_sizes{});
  mem.add_db(std::make_unique<srv::data_block>(1, bytes(16), -1, ""));
  EXPECT_EQ(srv::apply_profile_memory(p, mem, ""), 0U);
  EXPECT_EQ(mem.find_db(1)->size(), 16U);
}

TEST(profile_memory, errors_name_the_entry_and_the_problem) {
  EXPECT_EQ(error_of(minimal(R"(, "memory": [{"area": "DB", "db": 9, "offset": 0, "hex": "01"}])")),
            "t.json: $.memory[0].db: DB 9 is not declared in \"dbs\"");
  EXPECT_EQ(
      error_of(minimal(
          R"(, "dbs": [{"number": 1, "size": 2}], "memory": [{"area": "DB", "db": 1, "offset": 1,
            "hex": "01 02"}])")),
      "t.json: $.memory[0]: bytes 1 to 2 are outside DB 1 (2 bytes)");
  EXPECT_EQ(error_of(minimal(R"(, "memory": [{"area": "X", "offset": 0, "hex": "01"}])")),
            "t.json: $.memory[0].area: unknown area \"X\" (I, Q, M, DB, C or T)");
  EXPECT_EQ(error_of(minimal(R"(, "dbs": [{"number": 1, "size": 4, "info": {"mc7_length": 2}}])")),
            "t.json: $.dbs[0].info.mc7_length: 2 bytes, but the DB has 4 (a DB's MC7 code is its "
            "contents)");
  EXPECT_EQ(error_of(minimal(
                R"(, "dbs": [{"number": 1, "size": 2, "info": {"mc7_length": 2, "sbb_length": 2},
            "interface": "00"}])")),
            "t.json: $.dbs[0].interface: 1 bytes, but info.sbb_length is 2");
  EXPECT_EQ(error_of(minimal(R"(, "dbs": [{"number": 1, "size": 2}, {"number": 1, "size": 3}])")),
            "t.json: $.dbs[1]: DB 1 is listed twice");
  // M beyond the configured area: the flag to raise is named.
  const srv::plc_profile p = srv::parse_profile(
      minimal(R"(, "memory": [{"area": "M", "offset": 4000, "hex": "01"}])"), "t.json");
  srv::plc_memory mem(srv::area_sizes{});
  try {
    (void)srv::apply_profile_memory(p, mem, "");
    ADD_FAILURE() << "no error";
  } catch (const srv::profile_error& e) {
    EXPECT_NE(std::string(e.what()).find("--flags-size"), std::string::npos) << e.what();
  }
}

// --- the validator -------------------------------------------------------------------------------

// A client conversation with a real (socket-free) session answering; the validator sees both sides.
struct conversation {
  srv::config cfg;
  srv::plc_memory mem{srv::area_sizes{}};
  std::unique_ptr<srv::plc_state> plc;
  std::unique_ptr<srv::session> s;
  srv::connection_validator v;
  explicit conversation(std::uint16_t pdu = 480)
      : cfg([&] {
          srv::config c;
          c.pdu_size = pdu;
          return c;
        }()),
        v(srv::validate_options{"", 0, 2, pdu, 512}, "test") {
    mem.add_db(std::make_unique<srv::data_block>(1, bytes(256), -1, ""));
    plc = std::make_unique<srv::plc_state>(cfg, mem);
    s = std::make_unique<srv::session>(cfg, mem, *plc, 1, "test");
  }
  // Sends `b` as `chunk`-byte pieces (0: at once).
  void send(const bytes& b, std::size_t chunk = 0) {
    std::size_t at = 0;
    while (at < b.size()) {
      const std::size_t n = chunk == 0 ? b.size() : std::min(chunk, b.size() - at);
      const std::span<const std::byte> in(b.data() + at, n);
      std::vector<std::byte> out;
      (void)s->receive(in, out);
      v.client_bytes(in);
      v.server_bytes(out);
      at += n;
    }
  }
  std::vector<std::string> codes() const {
    std::vector<std::string> c;
    for (const auto& d : v.deviations()) c.push_back(d.code);
    return c;
  }
};

//                TPKT       COTP CR: LI E0 dst src class | C1 calling 0100 | C2 called 0102 | C0
//                1024
const bytes cr = hex("03000016 11e0 0000 0001 00 c1020100 c2020102 c0010a");
bytes setup(std::uint16_t ref, std::uint16_t amq, std::uint16_t pdu) {
  //     TPKT       DT      S7 Job header            Setup: F0 00 | AmQ | AmQ | PDU
  bytes b = hex("03000019 02f080 3201 0000 0000 0008 0000 f000 0000 0000 0000");
  b[11] = std::byte(ref >> 8U);
  b[12] = std::byte(ref & 0xFFU);
  b[19] = b[21] = std::byte(amq >> 8U);
  b[20] = b[22] = std::byte(amq & 0xFFU);
  b[23] = std::byte(pdu >> 8U);
  b[24] = std::byte(pdu & 0xFFU);
  return b;
}
bytes read_db1(std::uint16_t ref, std::uint16_t count) {
  //       TPKT      DT     Job  ref   parlg datlg | 04 01 | 12 0a 10 BYTE count DB1 84 addr 0
  bytes b = hex("0300001f 02f080 3201 0000 0000 000e 0000 0401 120a1002 0000 0001 84 000000");
  b[11] = std::byte(ref >> 8U);
  b[12] = std::byte(ref & 0xFFU);
  b[23] = std::byte(count >> 8U);
  b[24] = std::byte(count & 0xFFU);
  return b;
}

TEST(validate, a_correct_session_has_no_deviation) {
  for (std::size_t chunk : {0U, 1U, 3U, 7U}) {  // fed whole and in pieces
    conversation c;
    c.send(cr, chunk);
    c.send(setup(1, 1, 480), chunk);
    c.send(read_db1(2, 4), chunk);
    c.send(read_db1(3, 200), chunk);
    c.v.end();
    EXPECT_TRUE(c.codes().empty()) << chunk << ": " << c.v.report_json();
  }
}

TEST(validate, a_request_over_the_negotiated_pdu_size) {
  conversation c(240);
  c.send(cr);
  c.send(setup(1, 1, 240));
  c.send(read_db1(2, 230));  // the answer would be 12 + 2 + 4 + 230 = 248 bytes > 240
  EXPECT_EQ(c.codes(), std::vector<std::string>{"read_answer_over_pdu"});
  // A Write Var of 324 bytes in two DT segments: longer than the PDU.
  //             Job  ref 3     parlg 14 datlg 300 | 05 01 | 12 0a 10 BYTE count 296 DB1 84 addr 0 |
  bytes w = hex("3201 0000 0003 000e 012c 0501 120a1002 0128 0001 84 000000 0004 0940");
  w.resize(w.size() + 296);  // the 296 data bytes
  const auto dt = [](std::span<const std::byte> p, bool eot) {
    bytes f = hex("0300 0000 02f0 00");
    f[6] = eot ? std::byte{0x80} : std::byte{0x00};
    f.insert(f.end(), p.begin(), p.end());
    f[2] = std::byte(f.size() >> 8U);
    f[3] = std::byte(f.size() & 0xFFU);
    return f;
  };
  c.send(dt(std::span(w).first(150), false));
  c.send(dt(std::span(w).subspan(150), true));
  ASSERT_GE(c.codes().size(), 2U);
  EXPECT_EQ(c.codes()[1], "pdu_over_negotiated_size");
}

TEST(validate, a_tpkt_length_that_lies_and_a_truncated_frame) {
  conversation c;
  c.send(cr);
  c.send(setup(1, 1, 480));
  bytes lying = read_db1(2, 4);
  lying[3] = std::byte{0x21};  // 33 instead of 31: swallows two bytes of the next frame
  bytes both = lying;
  const bytes next = read_db1(3, 4);
  both.insert(both.end(), next.begin(), next.end());
  c.send(both);
  ASSERT_FALSE(c.codes().empty());
  EXPECT_EQ(c.codes()[0], "tpkt_length_disagrees");
  EXPECT_NE(c.v.deviations()[0].message.find("TPKT length 33"), std::string::npos);

  conversation t;
  t.send(cr);
  const bytes whole = read_db1(2, 4);
  t.send(bytes(whole.begin(), whole.begin() + 10));
  t.v.end();
  EXPECT_EQ(t.codes(), std::vector<std::string>{"tpkt_truncated"});
}

TEST(validate, a_reused_pdu_reference_and_too_many_jobs_in_flight) {
  conversation c;
  c.send(cr);
  c.send(setup(1, 2, 480));  // AmQ 2 granted
  bytes two = read_db1(7, 4);
  const bytes again = read_db1(7, 4);
  two.insert(two.end(), again.begin(), again.end());
  // The validator sees both requests before their answers (one TCP read), as a pipelining client's.
  c.v.client_bytes(two);
  EXPECT_EQ(c.codes(), std::vector<std::string>{"pdu_ref_reused"});

  conversation d;
  d.send(cr);
  d.send(setup(1, 1, 480));  // AmQ 1
  bytes pair = read_db1(2, 4);
  const bytes other = read_db1(3, 4);
  pair.insert(pair.end(), other.begin(), other.end());
  d.v.client_bytes(pair);
  EXPECT_EQ(d.codes(), std::vector<std::string>{"too_many_jobs_in_flight"});
}

TEST(validate, tsaps_order_and_strict_codec_errors) {
  conversation c;
  c.send(read_db1(2, 4));  // DT before CR
  bytes wrong = cr;
  wrong[wrong.size() - 4] = std::byte{0x03};  // called TSAP 0103: slot 3
  conversation w;
  w.send(wrong);
  EXPECT_EQ(c.codes(), std::vector<std::string>{"cotp_dt_before_connect"});
  EXPECT_EQ(w.codes(), std::vector<std::string>{"tsap_called_mismatch"});
  conversation z;
  z.send(cr);
  z.send(setup(1, 1, 480));
  bytes zero = read_db1(2, 0);  // count 0: a CPU answers 0x05; the validator names it
  z.send(zero);
  EXPECT_EQ(z.codes(), std::vector<std::string>{"item_address_invalid"});
  const auto j = nlohmann::json::parse(z.v.report_json());
  EXPECT_EQ(j["negotiated"]["pdu_size"], 480);
  EXPECT_EQ(j["deviations"][0]["bytes"], to_hex(bytes(zero.begin() + 7, zero.end())));
}

// --- the pcap writer -----------------------------------------------------------------------------

TEST(pcap_writer, the_capture_reassembles_to_the_bytes_of_each_side) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "protos7_pcap_writer_test.pcap").string();
  conversation c;
  std::vector<bytes> client, server;
  {
    srv::pcap_writer w(path);
    const auto t = std::chrono::system_clock::now();
    w.open(5, {{10, 0, 0, 1}, 40000}, {{10, 0, 0, 2}, 102}, t);
    for (const bytes& b : {cr, setup(1, 1, 480), read_db1(2, 200), read_db1(3, 220)}) {
      std::vector<std::byte> out;
      (void)c.s->receive(b, out);
      w.data(5, true, b, t);
      w.data(5, false, out, t);
      client.push_back(b);
      server.push_back(out);
    }
    bytes big(4000, std::byte{0x55});  // more than one segment (MSS 1460)
    w.data(5, true, big, t);
    client.push_back(big);
    w.close(5, false, t);
    EXPECT_EQ(w.packets(), 3U + 4U + 4U + 3U + 3U);
  }
  protos7::capture::capture_file f;
  protos7::capture::load_error e;
  ASSERT_TRUE(protos7::capture::load(path, f, e)) << e.message;
  ASSERT_EQ(f.connections.size(), 1U);
  const auto& k = f.connections[0];
  EXPECT_TRUE(k.start_seen);
  for (const std::string& n : k.notes)  // FIN notes only: no gap, retransmission or reordering
    EXPECT_EQ(n.rfind("FIN from", 0), 0U) << n;
  EXPECT_EQ(k.client.port, 40000);
  EXPECT_EQ(k.server.port, 102);
  bytes all_client, all_server;
  for (const auto& b : client) all_client.insert(all_client.end(), b.begin(), b.end());
  for (const auto& b : server) all_server.insert(all_server.end(), b.begin(), b.end());
  EXPECT_EQ(k.sides[0].data, all_client);
  EXPECT_EQ(k.sides[1].data, all_server);
  EXPECT_TRUE(k.sides[0].fin);
  EXPECT_TRUE(k.sides[1].fin);
  std::remove(path.c_str());
}

TEST(learn, without_a_setup_communication_the_pdu_size_holds_the_largest_pdu) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "protos7_learn_mid_session.pcap").string();
  {
    conversation c;
    srv::pcap_writer w(path);
    const auto t = std::chrono::system_clock::now();
    w.open(5, {{10, 0, 0, 1}, 40000}, {{10, 0, 0, 2}, 102}, t);
    std::vector<std::byte> out;
    for (const bytes& b : {cr, setup(1, 1, 480)}) (void)c.s->receive(b, out);  // not captured
    for (const bytes& b : {read_db1(2, 100), read_db1(3, 200)}) {
      out.clear();
      (void)c.s->receive(b, out);
      w.data(5, true, b, t);
      w.data(5, false, out, t);
    }
    w.close(5, false, t);
  }
  const lrn::learned l = lrn::learn_files({path});
  EXPECT_EQ(l.profile.pdu_size, 240);  // not the default 480: the largest PDU fits in 240
  EXPECT_TRUE(has_note(l, "no Setup communication captured: PDU size 240")) << l.notes.size();
  std::remove(path.c_str());
}

// --- the in-process server
// ------------------------------------------------------------------------

TEST(inproc, replays_a_learned_profile_of_each_capture) {
  if (!have_captures()) GTEST_SKIP() << "no captures in " << pcap_dir();
  const std::string cap = (pcap_dir() / "s7comm_varservice_libnodavedemo.pcap").string();
  lrn::replay_cli_options o;
  o.learn = true;
  o.replay.json = true;
  const std::string out_path =
      (std::filesystem::temp_directory_path() / "protos7_inproc_test.json").string();
  std::FILE* out = std::fopen(out_path.c_str(), "w");
  std::FILE* err = std::fopen("/dev/null", "w");
  EXPECT_EQ(lrn::run_replay_cli({cap}, o, out, err), 0);
  std::fclose(out);
  std::fclose(err);
  std::ifstream in(out_path);
  const auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["totals"]["exact"].get<int>() + doc["totals"]["equivalent"].get<int>(), 9);
  EXPECT_NE(doc["target"].get<std::string>().find("learned"), std::string::npos);
  std::remove(out_path.c_str());
  // --target and --learn exclude each other: a usage error (EX_USAGE).
  o.replay.target = "127.0.0.1:1";
  std::FILE* sink = std::fopen("/dev/null", "w");
  EXPECT_EQ(lrn::run_replay_cli({cap}, o, sink, sink), 64);
  std::fclose(sink);
}

}  // namespace

// Programmer commands and the PLC password (docs/PROGRAMMER.md): the password the CPU accepted,
// the first job number and the memory a watch table's pushes show.
TEST(learn_field, password_job_numbers_and_watch_table_values) {
  const std::string auth = field_capture("step7_s300_AuthPassword.pcapng");
  const std::string tab = field_capture("step7_s300_readVarTab.pcapng");
  const std::string diag = field_capture("step7_s300_readDiagData.pcapng");
  if (auth.empty() || tab.empty() || diag.empty())
    GTEST_SKIP() << "field captures not found (PROTOS7_FIELD_PCAP_DIR)";
  const lrn::learned a = lrn::learn_files({auth});
  EXPECT_FALSE(a.profile.password.empty());
  const lrn::learned t = lrn::learn_files({tab});
  EXPECT_EQ(t.profile.first_job_number, 2);
  // MB0..5 and IB8 as the variable status push of frame 7 shows them.
  bool m = false, i = false;
  for (const srv::memory_range& r : t.profile.memory) {
    if (r.area == 0x83 && r.offset == 0) m = to_hex(r.bytes).starts_with("4133851fdead");
    if (r.area == 0x81 && r.offset <= 8 && r.offset + r.bytes.size() > 8)
      i = std::to_integer<unsigned>(r.bytes[8 - r.offset]) == 2;
  }
  EXPECT_TRUE(m && i);
  EXPECT_EQ(lrn::learn_files({diag}).profile.first_job_number, 3);
}
