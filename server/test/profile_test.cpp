// The profile format (docs/PROFILE.md): the bundled profile, round trips, and the loader's
// errors, which name the file, the JSON path and what is wrong.
#include "protos7/server/profile.hpp"

#include <gtest/gtest.h>

#include <string>

#include "protos7/server/mc7_block.hpp"
#include "protos7/server/services.hpp"

namespace srv = protos7::server;

namespace {

std::string minimal(std::string_view extra = "") {
  return std::string(R"({"format": "protos7-profile", "version": 1,
    "identity": {"order_number": "6ES7 315-2EH14-0AB0", "module_name": "m", "serial_number": "s"},
    "szl": [])") +
         std::string(extra) + "}";
}

// The message of the profile_error thrown for `json`.
std::string error_of(const std::string& json) {
  try {
    (void)srv::parse_profile(json, "test.json");
  } catch (const srv::profile_error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(profile, bundled_profile_loads_with_the_captured_cpus_lists) {
  const srv::plc_profile& p = srv::bundled_profile();
  EXPECT_EQ(p.id.order_number, "6ES7 151-8AB01-0AB0");
  EXPECT_EQ(p.id.firmware_version, "V3.2.6");
  EXPECT_EQ(p.id.module_name, "protos7 S7-300 simulator");
  std::size_t sfc = 0, sdb = 0;
  for (const auto& b : p.blocks) {
    sfc += b.type == srv::block_type::sfc;
    sdb += b.type == srv::block_type::sdb;
  }
  EXPECT_EQ(sfc, 71U);  // s7comm_program_blocklist_onlineview.pcap frames 96+99
  EXPECT_EQ(sdb, 12U);  // frame 130
  bool has_001c = false;
  for (const auto& e : p.szl) has_001c |= e.id == 0x001C && e.count == 10;
  EXPECT_TRUE(has_001c);
}

TEST(profile, json_round_trip_keeps_everything) {
  const srv::plc_profile& p = srv::bundled_profile();
  const std::string json = srv::profile_to_json(p);
  const srv::plc_profile q = srv::parse_profile(json, "round-trip");
  EXPECT_EQ(srv::profile_to_json(q), json);
  ASSERT_EQ(q.szl.size(), p.szl.size());
  for (std::size_t i = 0; i < p.szl.size(); ++i) {
    EXPECT_EQ(q.szl[i].id, p.szl[i].id);
    EXPECT_EQ(q.szl[i].index, p.szl[i].index);
    EXPECT_EQ(q.szl[i].records, p.szl[i].records);
  }
  ASSERT_EQ(q.blocks.size(), p.blocks.size());
  EXPECT_EQ(q.blocks[0].code_time, p.blocks[0].code_time);
}

// tia_s300_downloadOb1.pcapng frame 6: the CPU answered Get block info of OB1 with 0x31524814
// in the first reserved word; learn keeps it and the server answers it.
TEST(profile, block_info_reserved_word_round_trips_and_is_answered) {
  const auto p = srv::parse_profile(
      minimal(R"(, "blocks": [{"type": "OB", "number": 1, "info": {"info_reserved": "0x31524814"}},
                              {"type": "FC", "number": 1}])"),
      "r.json");
  ASSERT_EQ(p.blocks.size(), 2U);
  EXPECT_EQ(p.blocks[0].info_reserved, 0x31524814U);
  EXPECT_EQ(p.blocks[1].info_reserved, 0U);
  const std::string json = srv::profile_to_json(p);
  EXPECT_NE(json.find(R"("info_reserved": "0x31524814")"), std::string::npos);
  EXPECT_EQ(srv::parse_profile(json, "again").blocks[0].info_reserved, 0x31524814U);
  srv::block_info_times times{};
  EXPECT_EQ(srv::block_info_of(p.blocks[0], times).reserved1, 0x31524814U);
  EXPECT_EQ(srv::block_info_of(p.blocks[1], times).reserved1, 0U);
  EXPECT_EQ(error_of(minimal(
                R"(, "blocks": [{"type": "OB", "number": 1, "info": {"info_reserved": -1}}])")),
            "test.json: $.blocks[0].info.info_reserved: expected a whole number 0..4294967295, got "
            "-1");
}

TEST(profile, minimal_profile_loads_with_defaults) {
  const auto p = srv::parse_profile(minimal(), "m.json");
  EXPECT_EQ(p.pdu_size, 480);
  EXPECT_EQ(p.protection_level, 1);
  EXPECT_TRUE(p.blocks.empty());
}

TEST(profile, carries_fault_rules_checked_at_load_and_written_back) {
  const auto p = srv::parse_profile(
      minimal(
          R"(, "faults": {"rules": [{"when": {"szl_id": "0x001C"}, "do": {"no_reply": true}}]})"),
      "f.json");
  ASSERT_TRUE(p.faults);
  ASSERT_EQ(p.faults->rules.size(), 1U);
  EXPECT_EQ(p.faults->rules[0].when.szl_id, 0x001C);
  const auto again = srv::parse_profile(srv::profile_to_json(p), "again.json");
  EXPECT_EQ(again.faults, p.faults);
  EXPECT_EQ(error_of(minimal(R"(, "faults": {"rules": [{"do": {"delay_ms": -1}}]})")),
            "test.json: $.faults: rules[0].do.delay_ms: expected a whole number 0..600000, got -1");
}

TEST(profile, errors_name_file_path_and_problem) {
  EXPECT_EQ(error_of("{"), error_of("{"));  // not JSON
  EXPECT_NE(error_of("{").find("test.json: not valid JSON"), std::string::npos);
  EXPECT_EQ(
      error_of(minimal(R"(, "colour": 1)")),
      "test.json: $.colour: unknown key (allowed here: format, version, name, description, "
      "identity, limits, "
      "protection, clock, operating_mode, test_jobs, szl, blocks, dbs, memory, alarms, faults, "
      "comment)");
  EXPECT_EQ(error_of(R"({"format": "protos7-profile", "version": 2, "identity": {}, "szl": []})"),
            "test.json: $.version: format version 2 is not supported by this protos7 (it reads "
            "version 1)");
  const std::string bad_record = R"({"format": "protos7-profile", "version": 1,
    "identity": {"order_number": "x", "module_name": "m", "serial_number": "s"},
    "szl": [{"id": "0x0011", "index": "any", "record_length": 4, "records": ["00 01 02 03",
      "00 01 02"]}]})";
  EXPECT_EQ(error_of(bad_record),
            "test.json: $.szl[0].records[1]: 3 bytes, but record_length is 4");
  const std::string bad_hex = R"({"format": "protos7-profile", "version": 1,
    "identity": {"order_number": "x", "module_name": "m", "serial_number": "s"},
    "szl": [{"id": "0x0011", "index": 0, "record_length": 2, "records": ["0g01"]}]})";
  EXPECT_NE(error_of(bad_hex).find("$.szl[0].records[0]: not a hex string"), std::string::npos);
  const std::string dup = R"({"format": "protos7-profile", "version": 1,
    "identity": {"order_number": "x", "module_name": "m", "serial_number": "s"},
    "szl": [{"id": "0x0011", "index": "any", "record_length": 2, "records": []},
            {"id": 17, "index": 1, "record_length": 2, "records": []}]})";
  EXPECT_EQ(error_of(dup), "test.json: $.szl[1]: SZL-ID 0x0011 index 0x0001 is defined twice");
  EXPECT_EQ(
      error_of(minimal(R"(, "protection": {"level": 2})")),
      "test.json: $.protection: protection level 2 needs a password (a CPU parameterises the level "
      "together with it)");
  EXPECT_EQ(error_of(minimal(R"(, "blocks": [{"type": "DB", "number": 1}])")),
            "test.json: $.blocks[0].type: DBs come from storage (DB<n>.bin, SQLite), not from the "
            "profile");
  EXPECT_EQ(error_of(minimal(R"(, "blocks": [{"type": "OB", "numbers": [1, 1]}])")),
            "test.json: $.blocks[0]: OB 1 is listed twice");
  EXPECT_EQ(error_of(minimal(R"(, "limits": {"pdu_size": 500})")),
            "test.json: $.limits.pdu_size: expected 240, 480 or 960");
  EXPECT_EQ(error_of(minimal(R"(, "test_jobs": {"max_jobs": 0})")),
            "test.json: $.test_jobs.max_jobs: must be at least 1");
  EXPECT_EQ(error_of(minimal(R"(, "test_jobs": {"first_number": 256})")),
            "test.json: $.test_jobs.first_number: 256 is outside 0..255");
  EXPECT_EQ(error_of(minimal(R"(, "blocks": [{"type": "FC", "number": 1, "mc7": "7070"}])")),
            "test.json: $.blocks[0].mc7: an MC7 block has at least 72 bytes (header and footer), "
            "this one 2");
  EXPECT_EQ(error_of(R"({"format": "protos7-profile", "version": 1, "identity": {"order_number": 5,
    "module_name": "m", "serial_number": "s"}, "szl": []})"),
            "test.json: $.identity.order_number: expected a string, got an integer");
}

TEST(profile, header_only_lists_take_a_count_and_no_records) {
  const auto p = srv::parse_profile(
      minimal().replace(
          minimal().find("\"szl\": []"), 9,
          R"("szl": [{"id": "0x0F12", "index": 0, "record_length": 2, "count": 23}])"),
      "h.json");
  ASSERT_EQ(p.szl.size(), 1U);
  EXPECT_EQ(p.szl[0].count, 23);
  EXPECT_TRUE(p.szl[0].records.empty());
}

TEST(profile, block_times_and_mc7_blocks) {
  const auto t = srv::parse_block_time("2014-08-20T11:57:55.424");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ms, 0x02914760U);  // the captured DB1's code time: 02 91 47 60 2B B5
  EXPECT_EQ(t->days, 0x2BB5);
  EXPECT_EQ(srv::format_block_time(*t), "2014-08-20T11:57:55.424");
  EXPECT_FALSE(srv::parse_block_time("1983-12-31T00:00:00"));
  // A DB interface as Step 7 would describe ARRAY[0..255] OF BYTE, 20 bytes like snap7's server's.
  const auto sbb = srv::mc7::db_interface(1, 256);
  EXPECT_EQ(srv::to_hex(sbb), "05 01 00 0c 00 00 00 11 04 01 10 04 01 00 00 ff 00 02 04 00");
  srv::block_meta b;
  b.type = srv::block_type::fc;
  b.number = 7;
  b.language = 1;
  b.mc7_length = 4;
  const std::vector<std::byte> code{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  const auto file = srv::mc7::build(b, code, {});
  ASSERT_EQ(file.size(), 76U);
  srv::block_meta back;
  std::string why;
  ASSERT_TRUE(srv::mc7_header_to_meta(file, back, why)) << why;
  EXPECT_EQ(back.number, 7);
  EXPECT_EQ(back.load_memory_length, 76U);
  EXPECT_EQ(srv::mc7::code_of(file).size(), 4U);
}

// "alarms": the program's alarms (docs/PROFILE.md); the bundled sample PLC's two on DB100.
TEST(profile, alarms_load_with_their_signals_values_and_defaults) {
  const srv::plc_profile& b = srv::bundled_profile();
  ASSERT_EQ(b.alarms.size(), 2U);
  EXPECT_EQ(b.alarms[0].kind, srv::alarm_kind::alarm_sq);
  ASSERT_EQ(b.alarms[0].signals.size(), 1U);
  EXPECT_EQ(b.alarms[0].signals[0].db, 100);
  EXPECT_EQ(b.alarms[0].signals[0].bit, 1);
  const auto p = srv::parse_profile(
      minimal(R"(, "alarms": [{"event_id": "0xAF", "kind": "ALARM_8", "event_state": "0x01",
        "ack_going": "0xFE", "values": [{"transport_size": 4, "hex": "0001"},
        {"transport_size": "0x05", "area": "M", "offset": 10, "length": 2}]},
        {"event_id": 1, "kind": "NOTIFY", "signals": [{"area": "I", "byte": 3, "bit": 7}]}])"),
      "a.json");
  ASSERT_EQ(p.alarms.size(), 2U);
  EXPECT_EQ(p.alarms[0].event_id, 0xAFU);
  EXPECT_EQ(p.alarms[0].ack_going, 0xFE);
  EXPECT_EQ(p.alarms[0].ack_coming, 0xFF);  // default: every signal acknowledged
  EXPECT_EQ(p.alarms[1].ack_coming, 0x01);  // one signal
  ASSERT_EQ(p.alarms[0].values.size(), 2U);
  EXPECT_EQ(p.alarms[0].values[1].area, 0x83);
  EXPECT_EQ(srv::profile_to_json(srv::parse_profile(srv::profile_to_json(p), "rt")),
            srv::profile_to_json(p));
}

TEST(profile, alarm_errors_name_the_path) {
  EXPECT_EQ(error_of(minimal(R"(, "alarms": [{"event_id": 1, "kind": "ALARM_9"}])")),
            "test.json: $.alarms[0].kind: unknown kind \"ALARM_9\" (ALARM_8, ALARM_8P, NOTIFY, "
            "NOTIFY_8P, ALARM_S or ALARM_SQ)");
  EXPECT_EQ(
      error_of(minimal(
          R"(, "alarms": [{"event_id": 1, "kind": "NOTIFY"}, {"event_id": 1, "kind": "NOTIFY"}])")),
      "test.json: $.alarms[1].event_id: event id 0x1 given twice");
  EXPECT_EQ(error_of(minimal(R"(, "alarms": [{"event_id": 1, "kind": "ALARM_S", "signals": [
                {"area": "M", "byte": 0, "bit": 0}, {"area": "M", "byte": 0, "bit": 1}]}])")),
            "test.json: $.alarms[0].signals: expected an array of up to 1 signals");
  EXPECT_EQ(error_of(minimal(R"(, "alarms": [{"event_id": 1, "kind": "ALARM_S", "signals": [
                {"area": "M", "byte": 0, "bit": 8}]}])")),
            "test.json: $.alarms[0].signals[0].bit: 8 is outside 0..7");
  EXPECT_EQ(error_of(minimal(R"(, "alarms": [{"event_id": 1, "kind": "ALARM_S", "values": [
                {"transport_size": 4}]}])")),
            "test.json: $.alarms[0].values[0]: an associated value has either \"area\" (with "
            "offset, length) or \"hex\"");
}

TEST(profile, memory_limit_errors_name_their_place_as_the_rest_of_the_profile) {
  EXPECT_EQ(error_of(minimal(R"(, "limits": {"load_memory": 10})")),
            "test.json: $.limits.load_memory: 10 is outside 32768..4294967295");
  EXPECT_EQ(error_of(minimal(R"(, "limits": {"max_blocks": {"FB": "7"}})")),
            "test.json: $.limits.max_blocks.FB: expected a whole number 0..65535, got a string");
  EXPECT_EQ(error_of(minimal(R"(, "limits": {"max_blocks": {"SFC": 1}})")),
            "test.json: $.limits.max_blocks.SFC: unknown key (allowed here: OB, FB, FC, DB, SDB, "
            "total, comment)");
  EXPECT_EQ(error_of(minimal(R"(, "limits": {"max_blocks": 3})")),
            "test.json: $.limits.max_blocks: expected an object, got an integer");
}
