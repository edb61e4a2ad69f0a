// Tests for protos7::replay. Captures are written here byte by byte (fake_server.hpp's pcap
// builder: Ethernet/IPv4/TCP, sequence numbers per side) from PDUs taken from the Wireshark
// sample captures, and replayed against a scripted fake S7 server on 127.0.0.1 that answers
// from a script (usually the captured server bytes, changed where a test needs it).

#include "protos7/replay/replay.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "fake_server.hpp"
#include "protos7/capture/capture.hpp"
#include "protos7/replay/report.hpp"
#include "protos7/replay/script.hpp"
#include "protos7/stream/stream.hpp"

namespace cap = protos7::capture;
namespace rp = protos7::replay;
namespace st = protos7::stream;
using fake::bytes;
using fake::hex;

namespace {

// --- PDUs (hex from the Wireshark sample captures, frame numbers given) --------------------------

// s7comm_reading_plc_status.pcap frame 8: TPKT | LI 0x11 | CR | dst-ref 0 | src-ref 0x000f | class
// 0 | C1 02 0100 (calling TSAP) | C2 02 0102 (called TSAP) | C0 01 0a (TPDU size 1024)
const bytes cr = hex("03000016 11 e0 0000 000f 00 c1020100 c2020102 c0010a");
// frame 9: CC | dst-ref 0x000f | src-ref 0x0003 | class 0 | C0 01 0a | C1 02 0100 | C2 02 0102
const bytes cc = hex("03000016 11 d0 000f 0003 00 c0010a c1020100 c2020102");
// snap7's CC: src-ref 0x0100, the CR's parameters echoed in the CR's order.
const bytes cc_snap7 = hex("03000016 11 d0 000f 0100 00 c1020100 c2020102 c0010a");
// frame 10: DT | S7 Job pduref 0x0200 | Setup communication: AmQ 1/1, PDU 480
const bytes setup_job = hex("03000019 02f080 32 01 0000 0200 0008 0000 f0 00 0001 0001 01e0");
// frame 11: Ack_Data pduref 0x0200: PDU 240
const bytes setup_ack = hex("0300001b 02f080 32 03 0000 0200 0008 0000 0000 f0 00 0001 0001 00f0");
// frame 12: the empty DT with EOT = 0 Step 7 sends after every answer
const bytes empty_dt = hex("03000007 02f000");
// frame 13: Userdata request pduref 0x0300 | CPU functions / Read SZL 0x0132 index 4
const bytes szl132_req =
    hex("03000021 02f080 32 07 0000 0300 0008 0008 000112041144 01 00 ff090004 0132 0004");
// frame 14: its response, sequence number 1
const bytes szl132_resp =
    hex("03000051 02f080 32 07 0000 0300 000c 0034 000112081284 01 01 00 00 0000 ff090030 0132 "
        "0004 0028 0001"
        "000400010000000100020000 00005656bc04a3d58401d6b202000000000000000000000000000000");
// s7comm_reading_setting_plc_time.pcap frame 25: Time functions / Read clock, pduref 0x0700
const bytes clock_req =
    hex("0300001d 02f080 32 07 0000 0700 0008 0004 000112041147 01 00 0a000000");
// frame 26: its response: 2014-08-20 11:59:43.912, weekday 4
const bytes clock_resp =
    hex("0300002b 02f080 32 07 0000 0700 000c 000e 000112081287 01 01 00 00 0000 ff09000a 00 19 14 "
        "08 20 11 59 43 91 24");

// Read SZL 0x0000 answered in two data units (s7comm_reading_plc_status.pcap frames 16, 17, 19,
// 20).
const bytes szl0_req =
    hex("03000021 02f080 32 07 0000 0400 0008 0008 000112041144 01 00 ff090004 0000 0000");
const bytes szl0_resp1 =
    hex("030000f702f080320700000400000c00da000112081284010105010000ff0900d6000000000002007000000f00"
        "000200110111"
        "0f11001201120f120013011300140f1400150115001701170f17001801180f1800190f19001a0f1a001b0f1b00"
        "1c011c0f1c00"
        "210a210f21022200230f2300240124042405240025012502250f25013101320232003601360f36003701370f37"
        "003801380238"
        "0f380139003a0f3a007401740f7405910a910c910d910092029206920f92009401940294069407940f94009501"
        "950f9506960c"
        "960c970d97019a029a0f9a0c9b009c019c029c039c0f9c00a001a00fa000b100b200b300b401b502b503b5");
// The follow-up request for the next unit: 12-byte parameter echoing sequence number 1.
const bytes szl0_next =
    hex("03000021 02f080 32 07 0000 0500 000c 0004 000112081244 01 01 00 00 0000 0a000000");
const bytes szl0_resp2 =
    hex("03000033 02f080 32 07 0000 0500 000c 0016 000112081284 01 01 05 00 0000 ff090012 "
        "04b505b506b507b508b501b602b603b604b6");

// s7comm_downloading_block_db1.pcap: Request download (frames 43, 44), the PLC's Download block
// Job (frame 52, pduref 0x0500) and the client's Ack_Data (frame 54), Download ended (55, 57).
const bytes rd_job =
    hex("03000031 02f080 32 01 0000 0e00 0020 0000 1a0001000000000009 5f30413030303031 50 0d 31 "
        "303030353030 303030343030");
const bytes rd_ack = hex("03000014 02f080 32 03 0000 0e00 0001 0000 0000 1a");
const bytes db_job =
    hex("03000023 02f080 32 01 0000 0500 0012 0000 1b0000000000000009 5f3041303030303150");
const bytes db_ack =
    hex("03000051 02f080 32 03 0000 0500 0002 003c 0000 1b00 "
        "003800fb0401100c010000c7000504010000010100000052545749"
        "000000000054657374484d490044415441444200000100c0df0000000000000000");
const bytes de_job =
    hex("03000023 02f080 32 01 0000 0700 0012 0000 1c0000000000000009 5f3041303030303150");
const bytes de_ack = hex("03000014 02f080 32 03 0000 0700 0001 0000 0000 1c");

// s7comm_varservice_libnodavedemo.pcap frames 11/12: Read Var of MB0.. (4 bytes) answered.
const bytes read_job =
    hex("0300001f 02f080 32 01 0000 0000 000e 0000 04 01 120a10 02 0040 0001 84 000000");

// frame 14: Ack_Data pduref 0x0001, one item of 16 bytes.
const bytes read_ack =
    hex("03000029 02f080 32 03 0000 0001 0002 0014 0000 04 01 ff04 0080 "
        "a9100000000001010000000000000000");

// Offsets in a single-DT TPKT frame: TPKT 4 + DT header 3 = the S7 PDU's first byte.
constexpr std::size_t s7_at = 7;

bytes with(bytes b, std::size_t at, std::initializer_list<std::uint8_t> v) {
  for (std::uint8_t x : v) b.at(at++) = std::byte{x};
  return b;
}

// A Step 7 session: CR, Setup communication, Read SZL, Read clock, each answer followed by the
// client's empty DT. Frames: 1-3 handshake, 4 CR, 5 CC, 6 Setup, 7 Ack_Data, 8 empty DT,
// 9 SZL request, 10 response, 11 empty DT, 12 clock request, 13 response, 14 empty DT, 15-16 FIN.
fake::conversation step7_session(std::uint16_t cport = 4000) {
  fake::conversation c{cport};
  c.client(cr).server(cc).client(setup_job).server(setup_ack).client(empty_dt);
  c.client(szl132_req).server(szl132_resp).client(empty_dt);
  c.client(clock_req).server(clock_resp).client(empty_dt);
  c.fin(0).fin(1);
  return c;
}

cap::capture_file load(const bytes& pcap) {
  cap::capture_file f;
  cap::load_error e;
  EXPECT_TRUE(cap::load_memory(pcap, f, e)) << e.message;
  return f;
}

cap::capture_file load(const std::vector<fake::conversation>& convs) {
  return load(fake::pcap_file(convs));
}

// A fake server that plays the captured server side: for each replayable connection, receive
// every client frame and send every server frame in capture order. `change` may replace the
// action of a record (return true when it did).
using change_fn = std::function<bool(const st::record&, fake::script&)>;
std::vector<fake::script> mirror(const cap::capture_file& f, const change_fn& change = {}) {
  std::vector<fake::script> out;
  for (const st::connection_records& conn : st::extract(f)) {
    if (!rp::build_script(conn).replayable) continue;
    fake::script s;
    for (const st::record& r : conn.records) {
      if (change && change(r, s)) continue;
      s.push_back(r.side == 0 ? fake::recv() : fake::send(r.tpkt));
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Replaces the server frame equal to `from` by `to` (or drops it when `to` is empty).
change_fn replace(const bytes& from, const bytes& to) {
  return [from, to](const st::record& r, fake::script& s) {
    if (r.side != 1 || r.tpkt != from) return false;
    if (!to.empty()) s.push_back(fake::send(to));
    return true;
  };
}

rp::options options_for(std::uint16_t port, int timeout_ms = 400) {
  rp::options o;
  o.tgt = {"127.0.0.1", port};
  o.timeout = std::chrono::milliseconds(timeout_ms);
  o.linger = std::chrono::milliseconds(100);
  return o;
}

rp::capture_report replay(const cap::capture_file& f, fake::server& srv, int timeout_ms = 400) {
  return rp::replay_loaded(f, options_for(srv.port(), timeout_ms));
}

std::vector<const rp::answer*> answers(const rp::capture_report& r) {
  std::vector<const rp::answer*> out;
  for (const auto& c : r.connections) {
    for (const auto& a : c.answers) out.push_back(&a);
  }
  return out;
}

const rp::answer* find(const rp::capture_report& r, std::string_view service) {
  for (const rp::answer* a : answers(r)) {
    if (a->service.find(service) != std::string::npos) return a;
  }
  return nullptr;
}

std::string dump(const rp::capture_report& r) {
  std::string s;
  for (const auto& n : r.notes) s += "note: " + n + "\n";
  for (const auto& c : r.connections) {
    s += "connection " + std::to_string(c.index) +
         (c.replayed ? "" : " not replayed: " + c.skip_reason) + "\n";
    for (const auto& n : c.notes) s += "  note: " + n + "\n";
    for (const auto& a : c.answers) {
      s += "  " + std::to_string(a.expected_frame) + " " + a.service + " " +
           std::string(rp::to_string(a.v)) + " " + a.detail + " " + a.bytes_diff + "\n";
      for (const auto& d : a.fields)
        s += "    " + d.name + (d.rule.empty() ? "" : " [" + std::string(d.rule) + "]") + "\n";
    }
  }
  return s;
}

bool has_note(const std::vector<std::string>& notes, std::string_view fragment) {
  return std::any_of(notes.begin(), notes.end(),
                     [&](const std::string& n) { return n.find(fragment) != std::string::npos; });
}

const rp::field_diff* field(const rp::answer& a, std::string_view name) {
  for (const auto& d : a.fields) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::int64_t num(const rp::field_value& v) {
  return std::get<std::int64_t>(v.value);
}

rp::tally tally_of(const rp::capture_report& r) {
  return rp::count(r);
}
std::size_t n(const rp::tally& t, rp::verdict v) {
  return t.by_verdict[static_cast<std::size_t>(v)];
}

}  // namespace

// --- Target
// ---------------------------------------------------------------------------------------

TEST(replay_target, parses_host_and_port) {
  rp::target t;
  std::string err;
  ASSERT_TRUE(rp::parse_target("127.0.0.1:1102", t, err)) << err;
  EXPECT_EQ(t.host, "127.0.0.1");
  EXPECT_EQ(t.port, 1102);
  ASSERT_TRUE(rp::parse_target("[::1]:102", t, err)) << err;
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.to_string(), "[::1]:102");
  ASSERT_TRUE(rp::parse_target("plc.local:102", t, err));
  EXPECT_EQ(t.host, "plc.local");
}

TEST(replay_target, rejects_missing_or_bad_port) {
  rp::target t;
  std::string err;
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":102", "h:0", "h:65536", "h:12x", "::1:102",
                          "[::1]102", "[::1]:"}) {
    EXPECT_FALSE(rp::parse_target(bad, t, err)) << bad;
    EXPECT_FALSE(err.empty());
  }
}

// --- Script -------------------------------------------------------------------------------------

TEST(replay_script, step7_session_sends_every_client_frame_and_expects_every_answer) {
  const cap::capture_file f = load({step7_session()});
  const auto conns = st::extract(f);
  ASSERT_EQ(conns.size(), 1U);
  const rp::script s = rp::build_script(conns[0]);
  ASSERT_TRUE(s.replayable) << s.skip_reason;
  ASSERT_EQ(s.sends.size(), 7U);  // CR, Setup, empty DT, SZL, empty DT, clock, empty DT
  EXPECT_EQ(s.sends[0].tpkt, cr);
  EXPECT_EQ(s.sends[2].tpkt, empty_dt);
  ASSERT_EQ(s.expects.size(), 4U);
  EXPECT_EQ(s.expects[0].kind, rp::match_kind::tpdu);
  EXPECT_EQ(s.expects[0].service, "COTP Connect");
  EXPECT_EQ(s.expects[1].service, "Setup communication");
  EXPECT_EQ(s.expects[1].pdu_ref, 0x0200);
  EXPECT_EQ(s.expects[1].request_frame, 6U);
  EXPECT_EQ(s.expects[2].service, "Userdata CPU functions / Read SZL 0x0132");
  EXPECT_EQ(s.expects[3].service, "Userdata Time functions / Read clock");
  // The empty DT after the Setup Ack_Data is a segment of the SZL request's PDU.
  EXPECT_EQ(s.pdus[1].sends.size(), 2U);
}

// --- Verdicts against a fake server -------------------------------------------------------------

TEST(replay_verdict, exact_when_the_target_repeats_the_capture) {
  const cap::capture_file f = load({step7_session()});
  fake::server srv{mirror(f)};
  const auto r = replay(f, srv);
  const auto t = tally_of(r);
  EXPECT_EQ(n(t, rp::verdict::exact), 4U) << dump(r);
  EXPECT_EQ(t.total(), 4U) << dump(r);
  // Every client frame went out as captured, the empty DTs included.
  const auto got = srv.received();
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0], (std::vector<bytes>{cr, setup_job, empty_dt, szl132_req, empty_dt, clock_req,
                                        empty_dt}));
}

TEST(replay_verdict, equivalent_when_the_cc_has_its_own_reference_and_parameter_order) {
  const cap::capture_file f = load({step7_session()});
  fake::server srv{mirror(f, replace(cc, cc_snap7))};
  const auto r = replay(f, srv);
  const rp::answer* a = find(r, "COTP Connect");
  ASSERT_NE(a, nullptr) << dump(r);
  EXPECT_EQ(a->v, rp::verdict::equivalent) << dump(r);
  const rp::field_diff* d = field(*a, "cotp.srcref");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(num(d->expected), 3);
  EXPECT_EQ(num(d->actual), 0x100);
  EXPECT_EQ(d->rule, "cc_srcref");
  ASSERT_NE(field(*a, "cotp.parameter_code (order)"), nullptr);
  EXPECT_EQ(field(*a, "cotp.parameter_code (order)")->rule, "cotp_param_order");
}

TEST(replay_verdict, mismatch_when_the_cc_changes_a_tsap_even_in_another_order) {
  const cap::capture_file f = load({step7_session()});
  const bytes other =
      hex("03000016 11 d0 000f 0100 00 c1020100 c2020103 c0010a");  // called TSAP 0x0103
  fake::server srv{mirror(f, replace(cc, other))};
  const auto r = replay(f, srv);
  const rp::answer* a = find(r, "COTP Connect");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->v, rp::verdict::mismatch) << dump(r);
  const rp::field_diff* d = field(*a, "cotp.dst-tsap");
  ASSERT_NE(d, nullptr) << dump(r);
  EXPECT_EQ(num(d->expected), 0x0102);
  EXPECT_EQ(num(d->actual), 0x0103);
}

TEST(replay_verdict, equivalent_when_the_clock_reads_another_time) {
  const cap::capture_file f = load({step7_session()});
  // 2025-03-04 05:06:07.890, weekday 3
  const bytes later = with(clock_resp, clock_resp.size() - 10,
                           {0x00, 0x20, 0x25, 0x03, 0x04, 0x05, 0x06, 0x07, 0x89, 0x03});
  fake::server srv{mirror(f, replace(clock_resp, later))};
  const auto r = replay(f, srv);
  const rp::answer* a = find(r, "Read clock");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->v, rp::verdict::equivalent) << dump(r);
  const rp::field_diff* d = field(*a, "s7comm.data.ts");
  ASSERT_NE(d, nullptr) << dump(r);
  EXPECT_EQ(std::get<std::string>(d->expected.value), "2014-08-20T11:59:43.912");
  EXPECT_EQ(std::get<std::string>(d->actual.value), "2025-03-04T05:06:07.890");
  EXPECT_EQ(d->rule, "clock");
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 3U);
}

TEST(replay_verdict, mismatch_when_the_clock_answer_changes_its_reserved_byte) {
  const cap::capture_file f = load({step7_session()});
  const bytes odd = with(clock_resp, clock_resp.size() - 10, {0x01});
  fake::server srv{mirror(f, replace(clock_resp, odd))};
  const auto r = replay(f, srv);
  const rp::answer* a = find(r, "Read clock");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->v, rp::verdict::mismatch) << dump(r);
  ASSERT_NE(field(*a, "s7comm.data.ts_reserved"), nullptr);
  EXPECT_TRUE(field(*a, "s7comm.data.ts_reserved")->rule.empty());
}

TEST(replay_verdict, equivalent_when_the_userdata_sequence_number_differs) {
  const cap::capture_file f = load({step7_session()});
  const bytes seq0 = with(szl132_resp, s7_at + 10 + 7, {0x00});  // snap7 echoes the request's 0
  fake::server srv{mirror(f, replace(szl132_resp, seq0))};
  const auto r = replay(f, srv);
  const rp::answer* a = find(r, "Read SZL 0x0132");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->v, rp::verdict::equivalent) << dump(r);
  ASSERT_EQ(a->fields.size(), 1U);
  EXPECT_EQ(a->fields[0].name, "s7comm.param.userdata.seq_num");
  EXPECT_EQ(a->fields[0].rule, "ud_seq");
}

TEST(replay_verdict, mismatch_lists_the_fields_by_wireshark_name) {
  const cap::capture_file f = load({step7_session()});
  const bytes pdu480 = with(setup_ack, setup_ack.size() - 2, {0x01, 0xe0});
  fake::server srv{mirror(f, replace(setup_ack, pdu480))};
  const auto r = replay(f, srv);
  const rp::answer* a = find(r, "Setup communication");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->v, rp::verdict::mismatch) << dump(r);
  ASSERT_EQ(a->fields.size(), 1U) << dump(r);
  EXPECT_EQ(a->fields[0].name, "s7comm.param.pdu_length");
  EXPECT_EQ(num(a->fields[0].expected), 240);
  EXPECT_EQ(num(a->fields[0].actual), 480);
  EXPECT_TRUE(a->fields[0].rule.empty());
  EXPECT_TRUE(a->bytes_diff.empty());
}

TEST(replay_verdict, mismatch_shows_a_byte_diff_where_no_decoded_field_differs) {
  const cap::capture_file f = load({step7_session()});
  // A byte inside the SZL record, which the field list does not break down.
  const bytes other = with(szl132_resp, szl132_resp.size() - 20, {0x42});
  fake::server srv{mirror(f, replace(szl132_resp, other))};
  const auto r = replay(f, srv);
  const rp::answer* a = find(r, "Read SZL 0x0132");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->v, rp::verdict::mismatch) << dump(r);
  EXPECT_TRUE(a->fields.empty()) << dump(r);
  EXPECT_NE(a->bytes_diff.find("data byte"), std::string::npos) << a->bytes_diff;
  EXPECT_NE(a->bytes_diff.find("1 byte(s) differ"), std::string::npos) << a->bytes_diff;
}

TEST(replay_verdict, mismatch_when_the_target_answers_with_an_error_ack) {
  const cap::capture_file f = load({step7_session()});
  // Ack (ROSCTR 2) pduref 0x0300, error class 0x81 code 0x04: "function not implemented".
  const bytes err_ack = hex("03000013 02f080 32 02 0000 0300 0000 0000 8104");
  fake::server srv{mirror(f, replace(szl132_resp, err_ack))};
  const auto r = replay(f, srv);
  const rp::answer* a = find(r, "Read SZL 0x0132");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->v, rp::verdict::mismatch) << dump(r);
  ASSERT_NE(field(*a, "s7comm.header.rosctr"), nullptr);
  EXPECT_EQ(num(field(*a, "s7comm.header.rosctr")->actual), 2);
  ASSERT_NE(field(*a, "s7comm.header.errcls"), nullptr);
  EXPECT_FALSE(field(*a, "s7comm.header.errcls")->expected.present);
}

TEST(replay_verdict, missing_when_the_target_does_not_answer_and_the_replay_goes_on) {
  const cap::capture_file f = load({step7_session()});
  fake::server srv{mirror(f, replace(szl132_resp, {}))};
  const auto r = replay(f, srv, 300);
  const rp::answer* a = find(r, "Read SZL 0x0132");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->v, rp::verdict::missing) << dump(r);
  EXPECT_EQ(a->detail, "no answer within 300 ms");
  EXPECT_EQ(a->expected_frame, 10U);
  EXPECT_EQ(find(r, "Read clock")->v, rp::verdict::exact) << dump(r);
}

TEST(replay_verdict, a_late_answer_is_noted_on_the_missing_one) {
  const cap::capture_file f = load({step7_session()});
  fake::server srv{mirror(f, [](const st::record& r, fake::script& s) {
    if (r.side != 1 || r.tpkt != szl132_resp) return false;
    s.push_back(fake::sleep_ms(450));  // after the 300 ms timeout, before the clock answer is due
    s.push_back(fake::send(r.tpkt));
    return true;
  })};
  const auto r = replay(f, srv, 300);
  const rp::answer* a = find(r, "Read SZL 0x0132");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->v, rp::verdict::missing) << dump(r);
  EXPECT_NE(a->detail.find("after the timeout"), std::string::npos) << a->detail;
  EXPECT_EQ(n(tally_of(r), rp::verdict::unexpected), 0U) << dump(r);
  EXPECT_EQ(find(r, "Read clock")->v, rp::verdict::exact) << dump(r);
}

TEST(replay_verdict, unexpected_when_the_target_sends_a_pdu_the_plc_did_not) {
  const cap::capture_file f = load({step7_session()});
  const bytes stray = with(setup_ack, s7_at + 4, {0x09, 0x99});  // an Ack_Data for pduref 0x0999
  fake::server srv{mirror(f, [&](const st::record& r, fake::script& s) {
    if (r.side != 1 || r.tpkt != setup_ack) return false;
    s.push_back(fake::send(r.tpkt));
    s.push_back(fake::send(stray));
    return true;
  })};
  const auto r = replay(f, srv);
  const auto t = tally_of(r);
  EXPECT_EQ(n(t, rp::verdict::unexpected), 1U) << dump(r);
  EXPECT_EQ(n(t, rp::verdict::exact), 4U) << dump(r);
  const auto all = answers(r);
  const auto it = std::find_if(all.begin(), all.end(),
                               [](const rp::answer* a) { return a->v == rp::verdict::unexpected; });
  ASSERT_NE(it, all.end());
  EXPECT_NE((*it)->detail.find("pduref 2457 answers no outstanding request"), std::string::npos)
      << (*it)->detail;
  EXPECT_EQ((*it)->expected_frame, 0U);
}

TEST(replay_verdict, missing_for_the_rest_when_the_target_closes_the_connection) {
  const cap::capture_file f = load({step7_session()});
  fake::script s{fake::recv(), fake::send(cc), fake::recv(), fake::send(setup_ack),
                 fake::recv(), fake::recv(),   fake::close()};
  fake::server srv{{s}};
  const auto r = replay(f, srv);
  const auto t = tally_of(r);
  EXPECT_EQ(n(t, rp::verdict::exact), 2U) << dump(r);
  EXPECT_EQ(n(t, rp::verdict::missing), 2U) << dump(r);
  EXPECT_NE(find(r, "Read SZL")->detail.find("the target closed the connection"), std::string::npos)
      << dump(r);
  EXPECT_NE(find(r, "Read clock")->detail.find("not replayed"), std::string::npos) << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes, "the target closed the connection")) << dump(r);
}

TEST(replay_verdict, missing_everything_when_the_target_refuses_the_connection) {
  const cap::capture_file f = load({step7_session()});
  std::uint16_t port = 0;
  {
    fake::server srv{{}};  // listens, then closes: nothing listens there afterwards
    port = srv.port();
  }
  const auto r = rp::replay_loaded(f, options_for(port));
  EXPECT_EQ(n(tally_of(r), rp::verdict::missing), 4U) << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes, "cannot connect to 127.0.0.1:")) << dump(r);
}

// libnodave style: Setup communication, then `count` Read Var jobs with pduref 1, 2, ...
fake::conversation read_session(int count) {
  fake::conversation c;
  c.client(cr).server(cc).client(setup_job).server(setup_ack);
  for (int i = 1; i <= count; ++i) {
    const auto ref = static_cast<std::uint8_t>(i);
    c.client(with(read_job, s7_at + 4, {0x00, ref})).server(with(read_ack, s7_at + 4, {0x00, ref}));
  }
  c.fin(0).fin(1);
  return c;
}

TEST(replay_verdict, a_target_that_stops_answering_is_given_up_after_five_timeouts) {
  const cap::capture_file f = load({read_session(12)});
  fake::script s{fake::recv(), fake::send(cc), fake::recv(),
                 fake::send(setup_ack)};  // then silence
  fake::server srv{{s}};
  const auto start = std::chrono::steady_clock::now();
  const auto r = replay(f, srv, 200);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 2U) << dump(r);
  EXPECT_EQ(n(tally_of(r), rp::verdict::missing), 12U) << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes,
                       "the target stopped answering (5 timeouts of 200 ms in a row"))
      << dump(r);
  EXPECT_LT(took, std::chrono::milliseconds(5 * 200 + 900));
  const auto all = answers(r);
  EXPECT_NE(all.back()->detail.find("not replayed: the target stopped answering"),
            std::string::npos)
      << dump(r);
}

TEST(replay_verdict, without_a_cc_nothing_else_is_sent) {
  const cap::capture_file f = load({read_session(3)});
  fake::server srv{{fake::script{fake::recv()}}};  // reads the CR, never answers
  const auto r = replay(f, srv, 200);
  EXPECT_EQ(n(tally_of(r), rp::verdict::missing), 5U) << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes, "did not answer the CR (no CC)")) << dump(r);
  EXPECT_EQ(srv.received()[0].size(), 1U);  // the CR only
}

// --- Requests in flight --------------------------------------------------------------------------

// Two Read Var jobs in flight (frames 5, 6 before the answers 7, 8), then two more.
fake::conversation pipelined_session() {
  fake::conversation c;
  c.client(cr).server(cc).client(setup_job).server(setup_ack);
  for (const std::uint8_t ref : {std::uint8_t{1}, std::uint8_t{3}}) {
    c.client(with(read_job, s7_at + 4, {0x00, ref}))
        .client(with(read_job, s7_at + 4, {0x00, static_cast<std::uint8_t>(ref + 1)}));
    c.server(with(read_ack, s7_at + 4, {0x00, ref}))
        .server(with(read_ack, s7_at + 4, {0x00, static_cast<std::uint8_t>(ref + 1)}));
  }
  c.fin(0).fin(1);
  return c;
}

TEST(replay_in_flight, never_more_requests_than_the_target_granted_max_amq) {
  const cap::capture_file f = load({pipelined_session()});
  // The captured PLC granted Max AmQ 1 (setup_ack) but the capture has 2 jobs in flight: the
  // target's grant holds. This target wants both requests before it answers, so the second one
  // goes out only when the wait for an answer times out.
  fake::server srv{mirror(f)};
  const auto start = std::chrono::steady_clock::now();
  const auto r = replay(f, srv, 300);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 6U) << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes, "the target granted Max AmQ calling 1")) << dump(r);
  EXPECT_GE(took, std::chrono::milliseconds(2 * 300));
}

TEST(replay_in_flight, as_many_requests_in_flight_as_the_capture_shows_within_max_amq) {
  // The same capture with Max AmQ 2 granted. The target answers the first request only once it
  // has the third: a runner that waited for every answer captured before the third request
  // (both of the first round) would get nothing; one that keeps the capture's 2 requests in
  // flight sends the third as soon as the first is answered.
  fake::conversation c = pipelined_session();
  const bytes amq2_job = with(setup_job, setup_job.size() - 6, {0x00, 0x02, 0x00, 0x02});
  const bytes amq2_ack = with(setup_ack, setup_ack.size() - 6, {0x00, 0x02, 0x00, 0x02});
  for (fake::segment& sg : c.segments) {
    if (sg.payload == setup_job) sg.payload = amq2_job;
    if (sg.payload == setup_ack) sg.payload = amq2_ack;
  }
  const cap::capture_file f = load({c});
  const auto ack = [](std::uint8_t ref) { return with(read_ack, s7_at + 4, {0x00, ref}); };
  fake::script s{fake::recv(),       fake::send(cc), fake::recv(),       fake::send(amq2_ack),
                 fake::recv(),       fake::recv(),   fake::send(ack(1)), fake::recv(),
                 fake::send(ack(2)), fake::recv(),   fake::send(ack(3)), fake::send(ack(4))};
  fake::server srv{{s}};
  const auto r = replay(f, srv, 2000);
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 6U) << dump(r);
  EXPECT_FALSE(has_note(r.connections[0].notes, "Max AmQ")) << dump(r);
}

// --- PLC-initiated jobs and follow-up requests ---------------------------------------------------

// Request download, then the PLC's own Download block and Download ended Jobs, each answered by
// the client (after an empty DT).
fake::conversation download_session() {
  fake::conversation c;
  c.client(cr).server(cc).client(setup_job).server(setup_ack).client(empty_dt);
  c.client(rd_job).server(rd_ack).client(empty_dt);
  c.server(db_job).client(empty_dt).client(db_ack);
  c.server(de_job).client(empty_dt).client(de_ack);
  c.fin(0).fin(1);
  return c;
}

TEST(replay_plc_job, the_client_ack_data_carries_the_pdu_reference_the_target_chose) {
  const cap::capture_file f = load({download_session()});
  const bytes db_job_4242 = with(db_job, s7_at + 4, {0x42, 0x42});
  const bytes de_job_4343 = with(de_job, s7_at + 4, {0x43, 0x43});
  fake::server srv{mirror(f, [&](const st::record& r, fake::script& s) {
    if (r.side != 1) return false;
    if (r.tpkt == db_job)
      s.push_back(fake::send(db_job_4242));
    else if (r.tpkt == de_job)
      s.push_back(fake::send(de_job_4343));
    else
      return false;
    return true;
  })};
  const auto r = replay(f, srv);
  const rp::answer* a = find(r, "Download block (PLC job)");
  ASSERT_NE(a, nullptr) << dump(r);
  EXPECT_EQ(a->v, rp::verdict::equivalent) << dump(r);
  ASSERT_EQ(a->fields.size(), 1U);
  EXPECT_EQ(a->fields[0].name, "s7comm.header.pduref");
  EXPECT_EQ(a->fields[0].rule, "initiated_pduref");
  EXPECT_EQ(find(r, "Download ended (PLC job)")->v, rp::verdict::equivalent);
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 3U) << dump(r);

  const auto got = srv.received();
  ASSERT_EQ(got.size(), 1U);
  const bytes want_db_ack = with(db_ack, s7_at + 4, {0x42, 0x42});
  const bytes want_de_ack = with(de_ack, s7_at + 4, {0x43, 0x43});
  EXPECT_NE(std::find(got[0].begin(), got[0].end(), want_db_ack), got[0].end());
  EXPECT_NE(std::find(got[0].begin(), got[0].end(), want_de_ack), got[0].end());
  EXPECT_TRUE(has_note(r.connections[0].notes, "PDU reference 1280 -> 16962")) << dump(r);
}

TEST(replay_plc_job, without_the_plc_job_its_answer_is_not_sent) {
  const cap::capture_file f = load({download_session()});
  fake::server srv{mirror(f, replace(db_job, {}))};
  const auto r = replay(f, srv, 300);
  EXPECT_EQ(find(r, "Download block (PLC job)")->v, rp::verdict::missing) << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes, "answer not sent")) << dump(r);
  const auto got = srv.received();
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(std::find(got[0].begin(), got[0].end(), db_ack), got[0].end());
}

fake::conversation szl_list_session() {
  fake::conversation c;
  c.client(cr).server(cc).client(setup_job).server(setup_ack).client(empty_dt);
  c.client(szl0_req)
      .server(szl0_resp1)
      .client(empty_dt)
      .client(szl0_next)
      .server(szl0_resp2)
      .client(empty_dt);
  c.fin(0).fin(1);
  return c;
}

// --- PLC pushes --------------------------------------------------------------------------------

// step7_s300_readVarTab.pcapng frame 7: a variable status push (programmer commands, group 1,
// subfunction 0x02), pduref 0.
const bytes var_status_push =
    hex("0300003b02f080320700000000000c001e000112081201020200000000ff09001a00040012010000020002ff09"
        "00064133851fdeadff0900010200");

// CR, Setup, a Read clock whose answer the captured PLC sent after two pushes.
fake::conversation push_session() {
  fake::conversation c;
  c.client(cr).server(cc).client(setup_job).server(setup_ack).client(empty_dt);
  c.client(clock_req).server(var_status_push).server(var_status_push).server(clock_resp);
  c.client(empty_dt).fin(0).fin(1);
  return c;
}

fake::script push_target(const std::vector<bytes>& pushes) {
  fake::script s{fake::recv(),          fake::send(cc), fake::recv(),
                 fake::send(setup_ack), fake::recv(),   fake::recv()};
  for (const bytes& p : pushes) s.push_back(fake::send(p));
  s.push_back(fake::send(clock_resp));
  s.push_back(fake::recv());
  return s;
}

TEST(replay_push, pushes_are_matched_by_kind_and_a_missing_one_is_not_waited_for) {
  const cap::capture_file f = load({push_session()});
  fake::server srv{{push_target({var_status_push})}};
  const auto start = std::chrono::steady_clock::now();
  const auto r = replay(f, srv, 3000);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::milliseconds(2000)) << dump(r);
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 4U) << dump(r);  // CC, Setup, clock, 1 push
  EXPECT_EQ(n(tally_of(r), rp::verdict::missing), 1U) << dump(r);
  const rp::answer* matched = nullptr;
  const rp::answer* missing = nullptr;
  for (const rp::answer* a : answers(r)) {
    if (a->service.find("(PLC push)") == std::string::npos) continue;
    (a->v == rp::verdict::missing ? missing : matched) = a;
  }
  ASSERT_NE(matched, nullptr) << dump(r);
  ASSERT_NE(missing, nullptr) << dump(r);
  EXPECT_NE(matched->detail.find("push matched by kind"), std::string::npos) << matched->detail;
  EXPECT_NE(matched->detail.find("not compared: its order among the answers"), std::string::npos);
  // Two programmer-command pushes captured one second apart: one gap shows no period.
  EXPECT_NE(matched->detail.find("timing not compared (no regular period in the capture: 1 gap"),
            std::string::npos)
      << matched->detail;
  EXPECT_NE(missing->detail.find("the target pushed 1 PDU(s) of this kind"), std::string::npos)
      << missing->detail;
  EXPECT_NE(missing->detail.find("where the capture has 2"), std::string::npos) << missing->detail;
}

TEST(replay_push, a_push_of_another_kind_does_not_stand_in_for_the_captured_one) {
  const cap::capture_file f = load({push_session()});
  // Subfunction 0x03 instead of 0x02 (S7 offset 16: parameter byte 6).
  const bytes other = with(var_status_push, s7_at + 16, {0x03});
  fake::server srv{{push_target({other, var_status_push})}};
  const auto r = replay(f, srv, 3000);
  EXPECT_EQ(n(tally_of(r), rp::verdict::missing), 1U) << dump(r);
  EXPECT_EQ(n(tally_of(r), rp::verdict::unexpected), 1U) << dump(r);
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 4U) << dump(r);
}

// Pushes at a period: after the Read clock, five variable status pushes that come on their own
// (no client request between them), the capture's frames `step_ms` apart.
cap::capture_file periodic_pushes(std::uint32_t step_ms) {
  fake::conversation c;
  c.client(cr).server(cc).client(setup_job).server(setup_ack).client(empty_dt);
  c.client(clock_req).server(clock_resp);
  for (int k = 0; k < 5; ++k) c.server(var_status_push);
  c.client(empty_dt).fin(0).fin(1);
  return load(fake::pcap_file({c}, step_ms * 1000U));
}

// A target that answers the clock, then pushes `count` times, `every_ms` apart.
fake::script pushing_target(int every_ms, int count = 5) {
  fake::script s{fake::recv(), fake::send(cc), fake::recv(),          fake::send(setup_ack),
                 fake::recv(), fake::recv(),   fake::send(clock_resp)};
  for (int k = 0; k < count; ++k) {
    if (k != 0) s.push_back(fake::sleep_ms(every_ms));
    s.push_back(fake::send(var_status_push));
  }
  s.push_back(fake::recv());
  return s;
}

std::vector<const rp::answer*> pushes_of(const rp::capture_report& r) {
  std::vector<const rp::answer*> out;
  for (const rp::answer* a : answers(r))
    if (a->service.find("(PLC push)") != std::string::npos) out.push_back(a);
  return out;
}

TEST(replay_push_timing, pushes_at_a_period_are_waited_for_and_their_interval_compared) {
  const cap::capture_file f = periodic_pushes(100);
  fake::server srv{{pushing_target(100)}};
  const auto start = std::chrono::steady_clock::now();
  const auto r = replay(f, srv, 3000);
  const auto took = std::chrono::steady_clock::now() - start;
  // The 100 ms linger alone would end before the second push: the pushes were waited for.
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 8U) << dump(r);  // CC, Setup, clock, 5 pushes
  EXPECT_EQ(tally_of(r).failures(), 0U) << dump(r);
  EXPECT_GE(took, std::chrono::milliseconds(400)) << dump(r);
  EXPECT_LT(took, std::chrono::milliseconds(2000)) << dump(r);
  const auto pushes = pushes_of(r);
  ASSERT_EQ(pushes.size(), 5U) << dump(r);
  EXPECT_NE(pushes[0]->detail.find("the first push of its kind, no interval yet (capture 100 ms"),
            std::string::npos)
      << pushes[0]->detail;
  for (std::size_t k = 1; k < pushes.size(); ++k)
    EXPECT_NE(pushes[k]->detail.find(", capture 100 ms (tolerance +/-50 ms"), std::string::npos)
        << pushes[k]->detail;
}

TEST(replay_push_timing, a_target_pushing_faster_than_the_capture_is_a_mismatch) {
  const cap::capture_file f = periodic_pushes(300);
  fake::server srv{{pushing_target(60)}};
  const auto r = replay(f, srv, 3000);
  const auto pushes = pushes_of(r);
  ASSERT_EQ(pushes.size(), 5U) << dump(r);
  EXPECT_EQ(pushes[0]->v, rp::verdict::exact) << pushes[0]->detail;  // no interval yet
  for (std::size_t k = 1; k < pushes.size(); ++k) {
    EXPECT_EQ(pushes[k]->v, rp::verdict::mismatch) << pushes[k]->detail;
    EXPECT_NE(pushes[k]->detail.find("timing differs: interval"), std::string::npos)
        << pushes[k]->detail;
    ASSERT_EQ(pushes[k]->fields.size(), 1U) << dump(r);
    EXPECT_EQ(pushes[k]->fields[0].name, "protos7.push.interval_ms");
    EXPECT_EQ(pushes[k]->fields[0].expected.value, (std::variant<std::int64_t, std::string>{300}));
  }
}

TEST(replay_push_timing, a_push_overdue_beyond_the_tolerance_ends_the_wait) {
  // Captured every 100 ms (tolerance 50 ms), pushed every 400 ms: the second push is overdue at
  // 150 ms, so the rest is missing without waiting for the target's slower pace (had the replay
  // waited 400 ms, the second push would have matched; 1.6 s, all five).
  const cap::capture_file f = periodic_pushes(100);
  fake::server srv{{pushing_target(400)}};
  const auto start = std::chrono::steady_clock::now();
  const auto r = replay(f, srv, 3000);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(n(tally_of(r), rp::verdict::missing), 4U) << dump(r);
  EXPECT_LT(took, std::chrono::milliseconds(1000)) << dump(r);
  const auto pushes = pushes_of(r);
  ASSERT_EQ(pushes.size(), 5U) << dump(r);
  EXPECT_NE(pushes[4]->detail.find("waited for at the capture's pace"), std::string::npos)
      << pushes[4]->detail;
}

TEST(replay_push_timing, push_wait_max_bounds_the_wait) {
  const cap::capture_file f = periodic_pushes(100);
  fake::server srv{{pushing_target(100)}};
  rp::options o = options_for(srv.port(), 3000);
  o.push_wait_max = std::chrono::milliseconds(0);
  const auto r = rp::replay_loaded(f, o);
  // Only what came within the 100 ms linger: the first push (maybe the second).
  EXPECT_GE(n(tally_of(r), rp::verdict::missing), 3U) << dump(r);
}

TEST(replay_push, the_script_keeps_pushes_apart_from_the_steps) {
  const cap::capture_file f = load({push_session()});
  const auto conns = st::extract(f);
  ASSERT_EQ(conns.size(), 1U);
  const rp::script s = rp::build_script(conns[0]);
  ASSERT_EQ(s.pushes.size(), 2U);
  EXPECT_EQ(s.pushes[0].kind, rp::match_kind::push);
  for (const rp::expectation& e : s.expects) EXPECT_NE(e.kind, rp::match_kind::push);
}

TEST(replay_follow_up, the_next_unit_request_echoes_the_targets_sequence_number) {
  const cap::capture_file f = load({szl_list_session()});
  constexpr std::size_t seq_at = s7_at + 10 + 7;            // Userdata parameter byte 7
  const bytes r1 = with(szl0_resp1, seq_at, {0x07, 0x09});  // sequence 7, data unit reference 9
  const bytes r2 = with(szl0_resp2, seq_at, {0x07, 0x09});
  fake::server srv{mirror(f, [&](const st::record& r, fake::script& s) {
    if (r.side != 1) return false;
    if (r.tpkt == szl0_resp1)
      s.push_back(fake::send(r1));
    else if (r.tpkt == szl0_resp2)
      s.push_back(fake::send(r2));
    else
      return false;
    return true;
  })};
  const auto r = replay(f, srv);
  EXPECT_EQ(n(tally_of(r), rp::verdict::equivalent), 2U) << dump(r);
  const rp::answer* a = find(r, "Read SZL 0x0000");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(field(*a, "s7comm.param.userdata.dataunitref"), nullptr) << dump(r);
  EXPECT_EQ(field(*a, "s7comm.param.userdata.dataunitref")->rule, "ud_data_unit_ref");
  const auto got = srv.received();
  ASSERT_EQ(got.size(), 1U);
  EXPECT_NE(std::find(got[0].begin(), got[0].end(), with(szl0_next, seq_at, {0x07})), got[0].end());
}

TEST(replay_follow_up, an_unsplit_answer_where_the_plc_split_is_a_mismatch) {
  const cap::capture_file f = load({szl_list_session()});
  constexpr std::size_t ref_at = s7_at + 10 + 8;
  const bytes whole = with(szl0_resp1, ref_at, {0x00, 0x00});  // data unit ref 0, last unit
  fake::server srv{mirror(f, replace(szl0_resp1, whole))};
  const auto r = replay(f, srv);
  const rp::answer* a = find(r, "Read SZL 0x0000");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->v, rp::verdict::mismatch) << dump(r);
  ASSERT_NE(field(*a, "s7comm.param.userdata.dataunitref"), nullptr) << dump(r);
  EXPECT_TRUE(field(*a, "s7comm.param.userdata.dataunitref")->rule.empty());
  ASSERT_NE(field(*a, "s7comm.param.userdata.lastdataunit"), nullptr);
}

// --- Input problems ------------------------------------------------------------------------------

TEST(replay_input, a_capture_without_s7_says_so) {
  const bytes pcap = fake::pcap_raw(
      {fake::udp_frame(5000, 53, hex("00010203")), fake::udp_frame(5000, 102, hex("0300"))});
  const cap::capture_file f = load(pcap);
  const auto r = rp::replay_loaded(f, options_for(1));
  EXPECT_TRUE(r.connections.empty());
  EXPECT_TRUE(has_note(
      r.notes, "no S7 connection: no TCP connection uses port 102 (2 frames, 0 of them TCP)"))
      << dump(r);
}

TEST(replay_input, other_traffic_on_port_102_is_not_replayed) {
  fake::conversation http;
  http.client(hex("474554202f20485454502f312e310d0a0d0a"))
      .server(hex("485454502f312e3120323030204f4b0d0a0d0a"));
  fake::conversation mms{4001};  // ISO-on-TCP, but COTP data that is not S7 (an ISO session SPDU)
  mms.client(cr)
      .server(cc)
      .client(hex("0300000b 02f080 0d 02 0000"))
      .server(hex("0300000b 02f080 0e 02 0000"));
  const cap::capture_file f = load({http, mms});
  const auto r = rp::replay_loaded(f, options_for(1));
  ASSERT_EQ(r.connections.size(), 2U);
  EXPECT_FALSE(r.connections[0].replayed);
  EXPECT_NE(r.connections[0].skip_reason.find("not ISO-on-TCP"), std::string::npos) << dump(r);
  EXPECT_FALSE(r.connections[1].replayed);
  EXPECT_NE(r.connections[1].skip_reason.find("not S7comm"), std::string::npos) << dump(r);
  EXPECT_NE(r.connections[1].skip_reason.find("0x0d"), std::string::npos) << dump(r);
  EXPECT_TRUE(has_note(r.notes, "no S7 connection could be replayed"));
}

TEST(replay_input, retransmitted_reordered_and_overlapping_segments_are_reassembled) {
  fake::conversation c = step7_session();
  // Setup job (segment 2) retransmitted right away.
  c.segments.insert(c.segments.begin() + 3, c.segments[2]);
  // SZL request (now segment 6): split in two, second half captured first.
  {
    fake::segment whole = c.segments[6];
    fake::segment a = whole;
    fake::segment b = whole;
    a.payload.assign(whole.payload.begin(), whole.payload.begin() + 10);
    b.payload.assign(whole.payload.begin() + 10, whole.payload.end());
    b.seq += 10;
    c.segments[6] = b;
    c.segments.insert(c.segments.begin() + 7, a);
  }
  // Clock response: two overlapping segments (bytes 0-29, then 20-end).
  for (std::size_t i = 0; i < c.segments.size(); ++i) {
    if (c.segments[i].payload != clock_resp) continue;
    fake::segment a = c.segments[i];
    fake::segment b = c.segments[i];
    a.payload.assign(clock_resp.begin(), clock_resp.begin() + 30);
    b.payload.assign(clock_resp.begin() + 20, clock_resp.end());
    b.seq += 20;
    c.segments[i] = a;
    c.segments.insert(c.segments.begin() + static_cast<std::ptrdiff_t>(i) + 1, b);
    break;
  }
  const cap::capture_file f = load({c});
  fake::server srv{mirror(f)};
  const auto r = replay(f, srv);
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 4U) << dump(r);
  ASSERT_EQ(r.connections.size(), 1U);
  EXPECT_TRUE(has_note(r.connections[0].notes, "retransmission")) << dump(r);
  EXPECT_EQ(srv.received()[0], (std::vector<bytes>{cr, setup_job, empty_dt, szl132_req, empty_dt,
                                                   clock_req, empty_dt}));
}

TEST(replay_input, an_answer_lost_in_a_capture_gap_is_not_compared) {
  fake::conversation c = step7_session();
  const fake::conversation full = c;
  c.segments.erase(std::find_if(c.segments.begin(), c.segments.end(),
                                [](const fake::segment& s) { return s.payload == szl132_resp; }));
  const cap::capture_file f = load({c});
  const cap::capture_file whole = load({full});
  fake::server srv{mirror(whole)};  // the target does answer
  const auto r = replay(f, srv);
  const auto t = tally_of(r);
  EXPECT_EQ(n(t, rp::verdict::exact), 3U) << dump(r);
  EXPECT_EQ(t.failures(), 0U) << dump(r);
  EXPECT_TRUE(
      has_note(r.connections[0].notes, "answer to frame 9 not compared: server bytes were lost"))
      << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes, "gap")) << dump(r);
}

TEST(replay_input, a_request_lost_in_a_capture_gap_is_not_sent_and_its_answer_not_expected) {
  fake::conversation c = step7_session();
  c.segments.erase(std::find_if(c.segments.begin(), c.segments.end(),
                                [](const fake::segment& s) { return s.payload == szl132_req; }));
  const cap::capture_file f = load({c});
  fake::server srv{mirror(f, replace(szl132_resp, {}))};
  const auto r = replay(f, srv);
  const auto t = tally_of(r);
  EXPECT_EQ(n(t, rp::verdict::exact), 3U) << dump(r);
  EXPECT_EQ(t.total(), 3U) << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes, "answer (pduref 768) to no replayed request"))
      << dump(r);
}

TEST(replay_input, a_capture_cut_in_the_middle_of_an_answer_replays_up_to_there) {
  fake::conversation c = step7_session();
  const fake::conversation full = c;
  // Keep everything up to half of the clock response; no FIN.
  const auto it = std::find_if(c.segments.begin(), c.segments.end(),
                               [](const fake::segment& s) { return s.payload == clock_resp; });
  it->payload.resize(20);
  c.segments.erase(it + 1, c.segments.end());
  const cap::capture_file f = load({c});
  fake::server srv{mirror(load({full}))};
  const auto r = replay(f, srv);
  const auto t = tally_of(r);
  EXPECT_EQ(n(t, rp::verdict::exact), 3U) << dump(r);
  EXPECT_EQ(t.failures(), 0U) << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes, "capture ends mid-PDU")) << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes,
                       "answer to frame 12 not compared: the capture ends in the middle"))
      << dump(r);
}

TEST(replay_input, a_request_cut_off_at_the_end_is_not_sent) {
  fake::conversation c = step7_session();
  const auto it = std::find_if(c.segments.begin(), c.segments.end(),
                               [](const fake::segment& s) { return s.payload == clock_req; });
  it->payload.resize(12);
  c.segments.erase(it + 1, c.segments.end());
  const cap::capture_file f = load({c});
  fake::server srv{mirror(f)};
  const auto r = replay(f, srv);
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 3U) << dump(r);
  EXPECT_EQ(tally_of(r).total(), 3U) << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes, "capture ends mid-PDU")) << dump(r);
  EXPECT_EQ(srv.received()[0], (std::vector<bytes>{cr, setup_job, empty_dt, szl132_req, empty_dt}));
}

TEST(replay_input, a_connection_whose_syn_was_not_captured_replays_from_its_cr) {
  fake::conversation c = step7_session();
  c.handshake = false;
  const cap::capture_file f = load({c});
  fake::server srv{mirror(f)};
  const auto r = replay(f, srv);
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 4U) << dump(r);
  EXPECT_TRUE(has_note(r.connections[0].notes, "start (SYN) was not captured")) << dump(r);
}

TEST(replay_input, without_a_cr_a_pg_cr_is_synthesized_before_the_setup_communication) {
  fake::conversation c{4000};
  c.handshake = false;
  c.client(read_job);  // a request whose Setup communication came before the capture started
  c.client(setup_job)
      .server(setup_ack)
      .client(empty_dt)
      .client(clock_req)
      .server(clock_resp)
      .client(empty_dt);
  c.fin(0).fin(1);
  const cap::capture_file f = load({c});
  fake::script s{fake::recv(), fake::send(cc), fake::recv(),           fake::send(setup_ack),
                 fake::recv(), fake::recv(),   fake::send(clock_resp), fake::recv()};
  fake::server srv{{s}};
  const auto r = replay(f, srv);
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 2U) << dump(r);
  EXPECT_EQ(tally_of(r).total(), 2U) << dump(r);
  const auto& notes = r.connections[0].notes;
  const std::string& what = r.connections[0].synthesized_start;
  EXPECT_NE(what.find("no COTP CR captured: a CR was synthesized"), std::string::npos) << what;
  EXPECT_NE(what.find("continues with the Setup communication in frame 2"), std::string::npos)
      << what;
  EXPECT_TRUE(has_note(notes, "replay starts at frame 2")) << dump(r);
  EXPECT_TRUE(has_note(
      notes, "answer to the synthesized CR (no CC captured, not compared): received COTP CC"))
      << dump(r);
  const auto got = srv.received();
  ASSERT_FALSE(got[0].empty());
  // TPKT | LI 0x11 | CR | dst-ref 0 | src-ref 1 | class 0 | C1 02 0100 | C2 02 0102 | C0 01 0a
  EXPECT_EQ(fake::to_hex(got[0][0]), "0300001611e00000000100c1020100c2020102c0010a");
}

TEST(replay_input, a_capture_starting_mid_session_gets_a_cr_and_a_setup_synthesized) {
  fake::conversation c;
  c.handshake = false;
  c.server(clock_resp);  // an answer to a request before the capture started: skipped
  c.client(clock_req).server(clock_resp).client(empty_dt);
  const cap::capture_file f = load({c});
  // The target answers the synthesized Setup communication with its own reference (0xFFFF).
  const bytes setup_answer = with(setup_ack, s7_at + 4, {0xFF, 0xFF});
  fake::script s{fake::recv(), fake::send(cc),         fake::recv(), fake::send(setup_answer),
                 fake::recv(), fake::send(clock_resp), fake::recv()};
  fake::server srv{{s}};
  const auto r = replay(f, srv);
  ASSERT_EQ(r.connections.size(), 1U);
  EXPECT_TRUE(r.connections[0].replayed) << dump(r);
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 1U) << dump(r);
  EXPECT_EQ(tally_of(r).total(), 1U) << dump(r);
  const std::string& what = r.connections[0].synthesized_start;
  EXPECT_NE(what.find("a CR was synthesized"), std::string::npos) << what;
  EXPECT_NE(what.find("Setup communication (PDU size 240"), std::string::npos) << what;
  EXPECT_NE(what.find("Max AmQ calling/called 1"), std::string::npos) << what;
  EXPECT_TRUE(has_note(r.connections[0].notes, "answer to the synthesized Setup communication"))
      << dump(r);
  const auto got = srv.received();
  ASSERT_GE(got[0].size(), 2U);
  // TPKT | DT EOT | Job pduref 0xFFFF | Setup communication: AmQ 1/1, PDU 240
  EXPECT_EQ(fake::to_hex(got[0][1]), "0300001902f08032010000ffff00080000f0000001000100f0");
}

// A mode-transition push (to STOP) with no subscription captured before it: the client
// subscribed before the capture began (as STEP 7 in step7_s300_stop.pcapng frame 4).
const bytes mode_push = hex("03000019 02f080 32 07 0000 0000 0008 0000 01 00 10 10 00 00 00 00");

TEST(replay_input, a_push_without_its_captured_subscription_gets_one_synthesized) {
  fake::conversation c;
  c.handshake = false;
  c.client(clock_req).server(mode_push).server(clock_resp).client(empty_dt);
  const cap::capture_file f = load({c});
  const bytes setup_answer = with(setup_ack, s7_at + 4, {0xFF, 0xFF});
  // The CPU's answer to the subscription: result 0x02 (reference 0xFFFE).
  const bytes subscribed =
      hex("03000023 02f080 32 07 0000 fffe 000c 0006 000112081284020100000000 ff09000202 00");
  fake::script s{fake::recv(),           fake::send(cc),
                 fake::recv(),           fake::send(setup_answer),
                 fake::recv(),           fake::send(subscribed),
                 fake::recv(),           fake::send(mode_push),
                 fake::send(clock_resp), fake::recv()};
  fake::server srv{{s}};
  const auto r = replay(f, srv);
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 2U) << dump(r);  // the push and the clock
  EXPECT_EQ(tally_of(r).total(), 2U) << dump(r);
  const std::string& what = r.connections[0].synthesized_start;
  EXPECT_NE(what.find("then a message service subscription (events 0x01)"), std::string::npos)
      << what;
  EXPECT_TRUE(has_note(r.connections[0].notes,
                       "answer to the synthesized message service subscription (not compared)"))
      << dump(r);
  const auto got = srv.received();
  ASSERT_GE(got[0].size(), 3U);
  // TPKT | DT EOT | Userdata pduref 0xFFFE | request CPU functions / message service |
  // rc FF, octet string, 10 bytes: events 0x01 (mode transitions), 00, "protos7 "
  EXPECT_EQ(fake::to_hex(got[0][2]),
            "0300002702f08032070000fffe0008000e0001120411440200ff09000a010070726f746f733720");
}

TEST(replay_input, rack_slot_sets_the_called_tsap_of_a_synthesized_cr) {
  fake::conversation c;
  c.handshake = false;
  c.client(clock_req).server(clock_resp).client(empty_dt);
  const cap::capture_file f = load({c});
  const bytes setup_answer = with(setup_ack, s7_at + 4, {0xFF, 0xFF});
  fake::script s{fake::recv(), fake::send(cc),         fake::recv(), fake::send(setup_answer),
                 fake::recv(), fake::send(clock_resp), fake::recv()};
  fake::server srv{{s}};
  rp::options o = options_for(srv.port());
  ASSERT_EQ(rp::parse_rack_slot("1/3", o.synth_called_tsap), "");
  EXPECT_EQ(o.synth_called_tsap, 0x0123);
  const auto r = rp::replay_loaded(f, o);
  EXPECT_NE(r.connections[0].synthesized_start.find("called TSAP 0x0123 = rack 1 slot 3"),
            std::string::npos)
      << r.connections[0].synthesized_start;
  const auto got = srv.received();
  ASSERT_FALSE(got[0].empty());
  EXPECT_EQ(fake::to_hex(got[0][0]), "0300001611e00000000100c1020100c2020123c0010a");
}

TEST(replay_input, a_bad_rack_slot_is_refused_with_the_reason) {
  std::uint16_t t = 0x0102;
  EXPECT_NE(rp::parse_rack_slot("2", t).find("not RACK/SLOT"), std::string::npos);
  EXPECT_NE(rp::parse_rack_slot("0/2x", t).find("not RACK/SLOT"), std::string::npos);
  EXPECT_NE(rp::parse_rack_slot("8/2", t).find("rack must be 0-7"), std::string::npos);
  EXPECT_NE(rp::parse_rack_slot("0/32", t).find("slot 0-31"), std::string::npos);
  EXPECT_EQ(t, 0x0102);  // unchanged
}

TEST(replay_script, the_synthesized_setup_holds_the_largest_pdu_and_the_jobs_in_flight) {
  rp::session_shape sh;
  sh.largest_pdu = 222;
  sh.most_in_flight = 0;
  EXPECT_EQ(rp::synth_pdu_size(sh), 240);
  EXPECT_EQ(rp::synth_amq(sh), 1);
  sh.largest_pdu = 241;
  sh.most_in_flight = 3;
  EXPECT_EQ(rp::synth_pdu_size(sh), 480);
  EXPECT_EQ(rp::synth_amq(sh), 3);
  sh.largest_pdu = 961;
  EXPECT_EQ(rp::synth_pdu_size(sh), 961);
}

TEST(replay_script, the_shape_counts_jobs_in_flight_and_the_largest_pdu) {
  fake::conversation c;
  c.handshake = false;
  c.client(clock_req).client(szl132_req).server(clock_resp).server(szl132_resp);
  c.client(clock_req).server(clock_resp);
  const cap::capture_file f = load({c});
  const auto conns = st::extract(f);
  ASSERT_EQ(conns.size(), 1U);
  rp::shape_tracker t;
  for (const st::record& r : conns[0].records) t.record(r.view());
  EXPECT_EQ(t.shape().most_in_flight, 2U);
  EXPECT_EQ(t.shape().largest_pdu, szl132_resp.size() - s7_at);
  EXPECT_FALSE(t.shape().setup_seen);
  EXPECT_FALSE(t.shape().cr_seen);
}

TEST(replay_input, a_connection_with_no_client_request_is_not_replayable) {
  fake::conversation c;
  c.handshake = false;
  c.server(clock_resp).client(empty_dt);
  const cap::capture_file f = load({c});
  const auto r = rp::replay_loaded(f, options_for(1));
  ASSERT_EQ(r.connections.size(), 1U);
  EXPECT_FALSE(r.connections[0].replayed);
  EXPECT_NE(r.connections[0].skip_reason.find("neither a COTP CR nor a client S7 request"),
            std::string::npos)
      << r.connections[0].skip_reason;
}

TEST(replay_input, several_connections_in_one_file_each_get_their_own_tcp_connection) {
  fake::conversation syn_only{4002};
  syn_only.handshake = false;
  syn_only.segments.push_back({0, 0, {}, 0x02});
  const cap::capture_file f = load({step7_session(4000), syn_only, step7_session(4001)});
  fake::server srv{mirror(f)};
  const auto r = replay(f, srv);
  ASSERT_EQ(r.connections.size(), 3U) << dump(r);
  EXPECT_TRUE(r.connections[0].replayed);
  EXPECT_FALSE(r.connections[1].replayed);
  EXPECT_NE(r.connections[1].skip_reason.find("no payload"), std::string::npos);
  EXPECT_TRUE(r.connections[2].replayed);
  EXPECT_EQ(n(tally_of(r), rp::verdict::exact), 8U) << dump(r);
  EXPECT_EQ(srv.accepted(), 2U);
}

TEST(replay_input, an_unreadable_file_is_an_error) {
  const std::string path = ::testing::TempDir() + "/replay_not_a_capture.pcap";
  {
    std::ofstream o(path, std::ios::binary);
    o << "this is not a capture file";
  }
  const auto r = rp::replay_capture(path, options_for(1));
  EXPECT_FALSE(r.loaded);
  EXPECT_FALSE(r.error.empty());
  std::remove(path.c_str());
}

// --- Comparison without sockets ------------------------------------------------------------------

namespace {
rp::pdu_frames dt_pdu(const bytes& frame) {
  rp::pdu_frames p;
  p.dt = true;
  p.frames = {frame};
  p.s7.assign(frame.begin() + s7_at, frame.end());
  return p;
}
rp::comparison compare_frames(const bytes& expected, const bytes& actual) {
  protos7::dump::fragment_tracker fe;
  protos7::dump::fragment_tracker fa;
  const auto e = dt_pdu(expected);
  const auto a = dt_pdu(actual);
  return rp::compare(e, rp::describe(e, fe), a, rp::describe(a, fa));
}
}  // namespace

TEST(replay_compare, same_bytes_are_exact) {
  EXPECT_EQ(compare_frames(setup_ack, setup_ack).v, rp::verdict::exact);
}

TEST(replay_compare, the_pdu_reference_of_an_answer_must_match) {
  const auto c = compare_frames(setup_ack, with(setup_ack, s7_at + 4, {0x02, 0x01}));
  EXPECT_EQ(c.v, rp::verdict::mismatch);
  ASSERT_EQ(c.fields.size(), 1U);
  EXPECT_EQ(c.fields[0].name, "s7comm.header.pduref");
  EXPECT_TRUE(c.fields[0].rule.empty());
}

TEST(replay_compare, an_answer_the_codec_rejects_shows_the_error) {
  const auto c =
      compare_frames(setup_ack, with(setup_ack, s7_at + 12, {0xf1}));  // unknown function
  EXPECT_EQ(c.v, rp::verdict::mismatch);
  const auto it = std::find_if(c.fields.begin(), c.fields.end(),
                               [](const auto& d) { return d.name == "protos7.error"; });
  ASSERT_NE(it, c.fields.end());
  EXPECT_NE(std::get<std::string>(it->actual.value).find("param_unknown_function"),
            std::string::npos);
}

TEST(replay_compare, every_equivalence_rule_is_documented_in_the_readme) {
  std::ifstream in(std::string(PROTOS7_REPLAY_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in) << "README.md missing";
  const std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(rp::equivalence_rules().size(), 8U);
  for (const rp::equivalence_rule& r : rp::equivalence_rules()) {
    EXPECT_NE(readme.find("`" + std::string(r.id) + "`"), std::string::npos) << r.id;
  }
}

// --- Reports and the command ---------------------------------------------------------------------

TEST(replay_report, json_junit_and_text_cover_every_answer) {
  const cap::capture_file f = load({step7_session()});
  const bytes pdu480 = with(setup_ack, setup_ack.size() - 2, {0x01, 0xe0});
  const bytes stray = with(setup_ack, s7_at + 4, {0x09, 0x99});
  fake::server srv{mirror(f, [&](const st::record& r, fake::script& s) {
    if (r.side != 1) return false;
    if (r.tpkt == setup_ack) {
      s.push_back(fake::send(pdu480));
      s.push_back(fake::send(stray));
    } else if (r.tpkt == szl132_resp) {
      // no answer
    } else if (r.tpkt == cc) {
      s.push_back(fake::send(cc_snap7));
    } else {
      return false;
    }
    return true;
  })};
  const rp::options opt = options_for(srv.port(), 250);
  const std::vector<rp::capture_report> reports{rp::replay_loaded(f, opt)};

  const auto j = nlohmann::json::parse(rp::to_json(reports, opt));
  EXPECT_EQ(j["totals"]["answers"], 5);
  EXPECT_EQ(j["totals"]["exact"], 1);
  EXPECT_EQ(j["totals"]["equivalent"], 1);
  EXPECT_EQ(j["totals"]["mismatch"], 1);
  EXPECT_EQ(j["totals"]["missing"], 1);
  EXPECT_EQ(j["totals"]["unexpected"], 1);
  const auto& ans = j["captures"][0]["connections"][0]["answers"];
  const auto setup = std::find_if(
      ans.begin(), ans.end(), [](const auto& a) { return a["service"] == "Setup communication"; });
  ASSERT_NE(setup, ans.end());
  EXPECT_EQ((*setup)["verdict"], "mismatch");
  EXPECT_EQ((*setup)["fields"][0]["name"], "s7comm.param.pdu_length");
  EXPECT_EQ((*setup)["fields"][0]["expected"], 240);
  EXPECT_EQ((*setup)["fields"][0]["actual"], 480);
  EXPECT_TRUE((*setup)["fields"][0]["tolerated_by"].is_null());
  bool service_row = false;
  for (const auto& s : j["services"])
    service_row |= s["service"] == "Userdata Time functions / Read clock" && s["exact"] == 1;
  EXPECT_TRUE(service_row) << j["services"].dump();

  const std::string x = rp::to_junit(reports);
  EXPECT_NE(x.find("tests=\"5\" failures=\"3\""), std::string::npos) << x;
  EXPECT_NE(x.find("<failure type=\"mismatch\" message=\"s7comm.param.pdu_length 240 (0xf0) != 480 "
                   "(0x1e0)\""),
            std::string::npos)
      << x;
  EXPECT_NE(x.find("<failure type=\"missing\""), std::string::npos);
  EXPECT_NE(x.find("<failure type=\"unexpected\""), std::string::npos);
  EXPECT_EQ(std::count(x.begin(), x.end(), '\n') > 5, true);

  std::FILE* mem = std::tmpfile();
  ASSERT_NE(mem, nullptr);
  rp::write_text(reports, opt, false, mem);
  std::rewind(mem);
  std::string text;
  for (int ch = std::fgetc(mem); ch != EOF; ch = std::fgetc(mem))
    text.push_back(static_cast<char>(ch));
  std::fclose(mem);
  EXPECT_NE(text.find("s7comm.param.pdu_length: expected 240 (0xf0), actual 480 (0x1e0)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("per service (1 exact, 1 equivalent, 1 mismatch, 1 missing, 1 unexpected)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Userdata CPU functions / Read SZL 0x0132"), std::string::npos) << text;
}

TEST(replay_command, exit_status_follows_the_verdicts) {
  const std::string path = ::testing::TempDir() + "/replay_cmd.pcap";
  {
    const bytes file = fake::pcap_file({step7_session()});
    std::ofstream o(path, std::ios::binary);
    o.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  }
  const cap::capture_file f = load({step7_session()});
  std::FILE* sink = std::tmpfile();
  {
    fake::server srv{mirror(f)};
    rp::cli_options o;
    o.target = "127.0.0.1:" + std::to_string(srv.port());
    o.timeout_ms = 300;
    o.junit = ::testing::TempDir() + "/replay_cmd.xml";
    EXPECT_EQ(rp::run_cli({path}, o, sink, sink), 0);
    EXPECT_TRUE(std::filesystem::exists(o.junit));
  }
  {
    fake::server srv{mirror(f, replace(szl132_resp, {}))};
    rp::cli_options o;
    o.target = "127.0.0.1:" + std::to_string(srv.port());
    o.timeout_ms = 200;
    o.json = true;
    EXPECT_EQ(rp::run_cli({path}, o, sink, sink), 1);
  }
  rp::cli_options bad;
  bad.target = "nowhere";
  EXPECT_EQ(rp::run_cli({path}, bad, sink, sink), 2);
  std::fclose(sink);
  std::remove(path.c_str());
}

// --- The Wireshark sample captures, replayed against their own server side -----------------------

TEST(replay_wireshark, every_sample_capture_replays_exactly_against_its_own_answers) {
  const char* env = std::getenv("PROTOS7_PCAP_DIR");
  const std::filesystem::path dir = env != nullptr ? env : PROTOS7_DEFAULT_PCAP_DIR;
  if (!std::filesystem::exists(dir / "s7comm_downloading_block_db1.pcap"))
    GTEST_SKIP() << "no captures in " << dir;
  std::size_t total = 0;
  for (const char* name :
       {"s7comm_downloading_block_db1.pcap", "s7comm_program_blocklist_onlineview.pcap",
        "s7comm_reading_plc_status.pcap", "s7comm_reading_setting_plc_time.pcap",
        "s7comm_varservice_libnodavedemo.pcap", "s7comm_varservice_libnodavedemo_bench.pcap"}) {
    cap::capture_file f;
    cap::load_error e;
    ASSERT_TRUE(cap::load((dir / name).string(), f, e)) << e.message;
    fake::server srv{mirror(f)};
    const auto r = replay(f, srv, 2000);
    const auto t = tally_of(r);
    EXPECT_GT(t.total(), 0U) << name;
    EXPECT_EQ(n(t, rp::verdict::exact), t.total()) << name << "\n" << dump(r);
    total += t.total();
    // The same capture read as a stream from its file (what `protos7 replay` does).
    fake::server again{mirror(f)};
    const auto s = rp::replay_capture((dir / name).string(), options_for(again.port(), 2000));
    EXPECT_EQ(n(tally_of(s), rp::verdict::exact), t.total()) << name << "\n" << dump(s);
  }
  EXPECT_EQ(total, 5167U);  // every captured answer of the six captures (SHA256SUMS pins them)
}
