// Profile loader (docs/PROFILE.md): strict JSON walk with the JSON path of every error.
#include "protos7/server/profile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <utility>

#include "../json_walk.hpp"
#include "../memory_limits_json.hpp"
#include "protos7/codec/hex.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/server/fault_rules.hpp"
#include "protos7/server/mc7_block.hpp"

namespace protos7::server {

namespace {

using json = nlohmann::ordered_json;

[[noreturn]] void raise_profile_error(const std::string& message) {
  throw profile_error(message);
}

// The document walk (json_walk.hpp) with this file's defaults.
using at = json_walk::place;
using json_walk::expect_object;
using json_walk::type_of;

std::string get_string(const json& j, const at& where, std::size_t max_len = 1024) {
  return json_walk::get_string(j, where, {.max_length = max_len});
}

std::uint64_t get_uint(const json& j, const at& where, std::uint64_t max) {
  return json_walk::get_uint(j, where, 0, max, json_walk::number_text::allowed);
}

std::int64_t get_int(const json& j, const at& where) {
  if (!j.is_number_integer()) where.fail(fmt::format("expected an integer, got {}", type_of(j)));
  return j.get<std::int64_t>();
}

std::vector<std::byte> get_hex(const json& j, const at& where) {
  if (!j.is_string()) where.fail(fmt::format("expected a hex string, got {}", type_of(j)));
  auto b = parse_hex(j.get_ref<const std::string&>());
  if (!b)
    where.fail("not a hex string (pairs of hex digits, optionally separated by spaces or colons)");
  return *b;
}

template <std::size_t N>
std::array<char, N> get_fixed(const json& j, const at& where) {
  const std::string s = get_string(j, where, N);
  std::array<char, N> out{};
  std::copy(s.begin(), s.end(), out.begin());
  return out;
}

std::uint8_t get_version(const json& j, const at& where) {
  const std::string s = get_string(j, where, 5);
  const auto dot = s.find('.');
  if (dot == std::string::npos)
    where.fail("expected \"MAJOR.MINOR\" with each part 0 to 15, e.g. \"1.0\"");
  const auto part = [&](std::string_view p) {
    if (p.empty() || p.size() > 2) where.fail("expected \"MAJOR.MINOR\" with each part 0 to 15");
    unsigned v = 0;
    for (char c : p) {
      if (c < '0' || c > '9') where.fail("expected \"MAJOR.MINOR\" with each part 0 to 15");
      v = v * 10U + static_cast<unsigned>(c - '0');
    }
    if (v > 15) where.fail("expected \"MAJOR.MINOR\" with each part 0 to 15");
    return v;
  };
  return static_cast<std::uint8_t>((part(std::string_view(s).substr(0, dot)) << 4U) |
                                   part(std::string_view(s).substr(dot + 1)));
}

block_time get_time(const json& j, const at& where) {
  const std::string s = get_string(j, where, 32);
  const auto t = parse_block_time(s);
  if (!t) where.fail("expected a time \"YYYY-MM-DDTHH:MM:SS[.mmm]\" between 1984-01-01 and 2163");
  return *t;
}

std::uint8_t get_language(const json& j, const at& where) {
  if (j.is_string()) {
    static constexpr std::pair<std::string_view, std::uint8_t> names[] = {
        {"AWL", 1}, {"STL", 1}, {"KOP", 2},   {"LAD", 2}, {"FUP", 3},   {"FBD", 3},
        {"SCL", 4}, {"DB", 5},  {"GRAPH", 6}, {"SDB", 7}, {"CPU-DB", 8}};
    const auto& s = j.get_ref<const std::string&>();
    for (const auto& [n, v] : names)
      if (s == n) return v;
    if (s.rfind("0x", 0) != 0)
      where.fail(fmt::format(
          "unknown language \"{}\" (a number or AWL, KOP, FUP, SCL, DB, GRAPH, SDB, CPU-DB)", s));
  }
  return static_cast<std::uint8_t>(get_uint(j, where, 0xFF));
}

// --- the sections ---

void read_identity(const json& j, const at& where, identity& id) {
  expect_object(j, where,
                {"order_number", "firmware_version", "as_name", "module_name", "plant_id",
                 "copyright", "serial_number", "module_type", "memory_card_serial", "comment"},
                {"order_number", "module_name", "serial_number"});
  const auto opt = [&](std::string_view k, std::string& out, std::size_t max) {
    if (j.contains(std::string(k))) out = get_string(j.at(std::string(k)), where.key(k), max);
  };
  opt("order_number", id.order_number, 20);
  opt("firmware_version", id.firmware_version, 16);
  opt("as_name", id.as_name, 32);
  opt("module_name", id.module_name, 32);
  opt("plant_id", id.plant_id, 32);
  opt("copyright", id.copyright, 32);
  opt("serial_number", id.serial_number, 32);
  opt("module_type", id.module_type, 32);
  opt("memory_card_serial", id.memory_card_serial, 32);
  if (!id.firmware_version.empty()) {
    unsigned a = 0, b = 0, c = 0;
    char tail = 0;
    if (std::sscanf(id.firmware_version.c_str(), "V%u.%u.%u%c", &a, &b, &c, &tail) != 3 ||
        a > 255 || b > 255 || c > 255)
      where.key("firmware_version")
          .fail("expected \"Vx.y.z\" (each part 0 to 255), e.g. \"V3.2.6\"");
  }
}

szl_entry read_szl(const json& j, const at& where) {
  expect_object(j, where, {"id", "index", "record_length", "count", "records", "source", "comment"},
                {"id", "index", "record_length"});
  szl_entry e;
  e.id = static_cast<std::uint16_t>(get_uint(j.at("id"), where.key("id"), 0xFFFF));
  const json& idx = j.at("index");
  if (idx.is_string() && idx.get_ref<const std::string&>() == "any")
    e.index = std::nullopt;
  else
    e.index = static_cast<std::uint16_t>(get_uint(idx, where.key("index"), 0xFFFF));
  e.record_length = static_cast<std::uint16_t>(
      get_uint(j.at("record_length"), where.key("record_length"), 0xFFFF));
  const bool header_only = codec::szl::is_header_only(e.id);
  if (header_only) {
    if (j.contains("records"))
      where.key("records").fail(fmt::format(
          "SZL-ID 0x{:04X} is a header-only list (extract 0xF): give \"count\", no records", e.id));
    if (!j.contains("count"))
      where.fail(fmt::format("SZL-ID 0x{:04X} is header-only: \"count\" is required", e.id));
    e.count = static_cast<std::uint16_t>(get_uint(j.at("count"), where.key("count"), 0xFFFF));
    return e;
  }
  if (!j.contains("records")) where.fail("missing key \"records\"");
  const json& recs = j.at("records");
  const at rw = where.key("records");
  if (!recs.is_array())
    rw.fail(fmt::format("expected an array of hex strings, got {}", type_of(recs)));
  if (recs.size() > 0xFFFF) rw.fail("more than 65535 records");
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const auto b = get_hex(recs[i], rw.item(i));
    if (b.size() != e.record_length)
      rw.item(i).fail(fmt::format("{} bytes, but record_length is {}", b.size(), e.record_length));
    e.records.insert(e.records.end(), b.begin(), b.end());
  }
  e.count = static_cast<std::uint16_t>(recs.size());
  if (j.contains("count") && get_uint(j.at("count"), where.key("count"), 0xFFFF) != e.count)
    where.key("count").fail(
        fmt::format("says {} but there are {} records", j.at("count").dump(), e.count));
  if (e.record_length == 0 && e.count != 0) where.fail("record_length 0 with records");
  return e;
}

void read_info(const json& j, const at& where, block_meta& b) {
  expect_object(
      j, where,
      {"info_word", "block_version", "attributes", "load_memory_length", "security", "code_time",
       "interface_time", "sbb_length", "add_length", "local_data_length", "mc7_length", "author",
       "family", "name", "version", "info_unknown", "checksum", "info_reserved", "comment"});
  const auto has = [&](const char* k) { return j.contains(k); };
  if (has("info_word"))
    b.info_word =
        static_cast<std::uint16_t>(get_uint(j.at("info_word"), where.key("info_word"), 0xFFFF));
  if (has("block_version"))
    b.block_version = static_cast<std::uint8_t>(
        get_uint(j.at("block_version"), where.key("block_version"), 0xFF));
  if (has("attributes"))
    b.attributes =
        static_cast<std::uint8_t>(get_uint(j.at("attributes"), where.key("attributes"), 0xFF));
  if (has("security"))
    b.security =
        static_cast<std::uint32_t>(get_uint(j.at("security"), where.key("security"), 0xFFFFFFFFU));
  if (has("code_time")) b.code_time = get_time(j.at("code_time"), where.key("code_time"));
  if (has("interface_time"))
    b.interface_time = get_time(j.at("interface_time"), where.key("interface_time"));
  if (has("sbb_length"))
    b.sbb_length =
        static_cast<std::uint16_t>(get_uint(j.at("sbb_length"), where.key("sbb_length"), 0xFFFF));
  if (has("add_length"))
    b.add_length =
        static_cast<std::uint16_t>(get_uint(j.at("add_length"), where.key("add_length"), 0xFFFF));
  if (has("local_data_length"))
    b.local_data_length = static_cast<std::uint16_t>(
        get_uint(j.at("local_data_length"), where.key("local_data_length"), 0xFFFF));
  if (has("mc7_length"))
    b.mc7_length =
        static_cast<std::uint16_t>(get_uint(j.at("mc7_length"), where.key("mc7_length"), 0xFFFF));
  if (has("author")) b.author = get_fixed<8>(j.at("author"), where.key("author"));
  if (has("family")) b.family = get_fixed<8>(j.at("family"), where.key("family"));
  if (has("name")) b.name = get_fixed<8>(j.at("name"), where.key("name"));
  if (has("version")) b.version = get_version(j.at("version"), where.key("version"));
  if (has("info_unknown"))
    b.info_unknown =
        static_cast<std::uint8_t>(get_uint(j.at("info_unknown"), where.key("info_unknown"), 0xFF));
  if (has("checksum"))
    b.checksum =
        static_cast<std::uint16_t>(get_uint(j.at("checksum"), where.key("checksum"), 0xFFFF));
  if (has("info_reserved"))
    b.info_reserved = static_cast<std::uint32_t>(
        get_uint(j.at("info_reserved"), where.key("info_reserved"), 0xFFFFFFFFU));
  // The load memory length of every block in the captures is header (36) + code + interface
  // (SBB) + ADD + footer (36): SFC0 90 = 36+2+12+4+36, DB1 500 = 36+400+28+0+36.
  const std::uint32_t derived = 72U + b.mc7_length + b.sbb_length + b.add_length;
  b.load_memory_length =
      has("load_memory_length")
          ? static_cast<std::uint32_t>(
                get_uint(j.at("load_memory_length"), where.key("load_memory_length"), 0xFFFFFFFFU))
          : derived;
  if (b.load_memory_length < 72U + b.mc7_length)
    where.key("load_memory_length")
        .fail(fmt::format("{} is smaller than header + code + footer ({})", b.load_memory_length,
                          72U + b.mc7_length));
}

// Fills the fields of `b` from a complete MC7 block (mc7.cpp has the layout).
void meta_from_mc7(block_meta& b, const at& where);

void read_blocks(const json& j, const at& where, std::vector<block_meta>& out) {
  if (!j.is_array()) where.fail(fmt::format("expected an array, got {}", type_of(j)));
  std::set<std::pair<std::uint8_t, std::uint16_t>> seen;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const at w = where.item(i);
    const json& e = j[i];
    expect_object(
        e, w,
        {"type", "number", "numbers", "list_flags", "language", "info", "mc7", "source", "comment"},
        {"type"});
    const std::string tn = get_string(e.at("type"), w.key("type"), 8);
    const auto t = block_type_from_name(tn);
    if (!t)
      w.key("type").fail(fmt::format("unknown block type \"{}\" (OB, FC, FB, SDB, SFC, SFB)", tn));
    if (*t == block_type::db)
      w.key("type").fail("DBs come from storage (DB<n>.bin, SQLite), not from the profile");
    std::vector<std::uint16_t> numbers;
    if (e.contains("number") == e.contains("numbers"))
      w.fail("give exactly one of \"number\" and \"numbers\"");
    if (e.contains("number")) {
      numbers.push_back(
          static_cast<std::uint16_t>(get_uint(e.at("number"), w.key("number"), 0xFFFF)));
    } else {
      const json& ns = e.at("numbers");
      if (!ns.is_array() || ns.empty())
        w.key("numbers").fail("expected a non-empty array of block numbers");
      for (std::size_t k = 0; k < ns.size(); ++k)
        numbers.push_back(
            static_cast<std::uint16_t>(get_uint(ns[k], w.key("numbers").item(k), 0xFFFF)));
    }
    if ((e.contains("info") || e.contains("mc7")) && numbers.size() != 1)
      w.fail("\"info\" and \"mc7\" describe one block: use \"number\", not \"numbers\"");
    if (e.contains("info") && e.contains("mc7"))
      w.fail("give \"info\" or \"mc7\", not both (an MC7 block carries its own info)");
    block_meta proto;
    proto.type = *t;
    proto.list_flags =
        e.contains("list_flags")
            ? static_cast<std::uint8_t>(get_uint(e.at("list_flags"), w.key("list_flags"), 0xFF))
            : std::uint8_t{0x22};
    proto.info_word = static_cast<std::uint16_t>(proto.list_flags << 8U);
    proto.language = e.contains("language")
                         ? get_language(e.at("language"), w.key("language"))
                         : (*t == block_type::sdb ? std::uint8_t{7} : std::uint8_t{1});
    proto.load_memory_length = 72;
    if (e.contains("info")) read_info(e.at("info"), w.key("info"), proto);
    if (e.contains("mc7")) {
      proto.mc7 = get_hex(e.at("mc7"), w.key("mc7"));
      meta_from_mc7(proto, w.key("mc7"));
      if (proto.type != *t || proto.number != numbers[0])
        w.key("mc7").fail(fmt::format("the MC7 header is {} {}, the entry says {} {}",
                                      block_type_name(proto.type), proto.number, tn, numbers[0]));
    }
    for (std::uint16_t n : numbers) {
      if (!seen.emplace(*t, n).second)
        w.fail(fmt::format("{} {} is listed twice", block_type_name(*t), n));
      block_meta b = proto;
      b.number = n;
      out.push_back(std::move(b));
    }
  }
}

// "dbs": the data blocks the PLC has at start (a learned CPU's, docs/PROFILE.md).
void read_dbs(const json& j, const at& where, std::vector<profile_db>& out) {
  if (!j.is_array()) where.fail(fmt::format("expected an array, got {}", type_of(j)));
  for (std::size_t i = 0; i < j.size(); ++i) {
    const at w = where.item(i);
    const json& e = j[i];
    expect_object(
        e, w,
        {"number", "size", "list_flags", "language", "info", "interface", "source", "comment"},
        {"number", "size"});
    profile_db d;
    d.number = static_cast<std::uint16_t>(get_uint(e.at("number"), w.key("number"), 0xFFFF));
    if (d.number == 0) w.key("number").fail("DB numbers start at 1");
    d.size = static_cast<std::uint32_t>(get_uint(e.at("size"), w.key("size"), 65536));
    if (d.size == 0) w.key("size").fail("a DB has at least 1 byte");
    for (const profile_db& o : out)
      if (o.number == d.number) w.fail(fmt::format("DB {} is listed twice", d.number));
    if (e.contains("info")) {
      block_meta b;
      b.type = block_type::db;
      b.number = d.number;
      b.list_flags =
          e.contains("list_flags")
              ? static_cast<std::uint8_t>(get_uint(e.at("list_flags"), w.key("list_flags"), 0xFF))
              : std::uint8_t{0x22};
      b.info_word = static_cast<std::uint16_t>(b.list_flags << 8U);
      b.language = e.contains("language") ? get_language(e.at("language"), w.key("language"))
                                          : std::uint8_t{5};
      read_info(e.at("info"), w.key("info"), b);
      // The server uses a DB's info only while the DB has mc7_length bytes (plc_state.cpp).
      if (b.mc7_length != d.size)
        w.key("info")
            .key("mc7_length")
            .fail(fmt::format("{} bytes, but the DB has {} (a DB's MC7 code is its contents)",
                              b.mc7_length, d.size));
      if (e.contains("interface")) {
        d.interface = get_hex(e.at("interface"), w.key("interface"));
        if (d.interface.size() != b.sbb_length)
          w.key("interface")
              .fail(fmt::format("{} bytes, but info.sbb_length is {}", d.interface.size(),
                                b.sbb_length));
      }
      d.info = std::move(b);
    } else if (e.contains("list_flags") || e.contains("language") || e.contains("interface")) {
      w.fail("\"list_flags\", \"language\" and \"interface\" belong to a DB with \"info\"");
    }
    out.push_back(std::move(d));
  }
}

// "memory": initial bytes of I, Q, M, C, T and of the DBs of "dbs".
void read_memory(const json& j, const at& where, const std::vector<profile_db>& dbs,
                 std::vector<memory_range>& out) {
  if (!j.is_array()) where.fail(fmt::format("expected an array, got {}", type_of(j)));
  for (std::size_t i = 0; i < j.size(); ++i) {
    const at w = where.item(i);
    const json& e = j[i];
    expect_object(e, w, {"area", "db", "offset", "hex", "source", "comment"},
                  {"area", "offset", "hex"});
    memory_range r;
    const std::string a = get_string(e.at("area"), w.key("area"), 8);
    static constexpr std::pair<std::string_view, std::uint8_t> areas[] = {
        {"I", 0x81},  {"E", 0x81}, {"Q", 0x82}, {"A", 0x82}, {"M", 0x83},
        {"DB", 0x84}, {"C", 0x1C}, {"Z", 0x1C}, {"T", 0x1D}};
    for (const auto& [n, code] : areas)
      if (a == n) r.area = code;
    if (r.area == 0)
      w.key("area").fail(fmt::format("unknown area \"{}\" (I, Q, M, DB, C or T)", a));
    r.offset = static_cast<std::uint32_t>(get_uint(e.at("offset"), w.key("offset"), 65535));
    r.bytes = get_hex(e.at("hex"), w.key("hex"));
    if (r.bytes.empty()) w.key("hex").fail("no bytes");
    if (r.area == 0x84) {
      if (!e.contains("db")) w.fail("missing key \"db\" (area DB)");
      r.db = static_cast<std::uint16_t>(get_uint(e.at("db"), w.key("db"), 0xFFFF));
      const auto d = std::find_if(dbs.begin(), dbs.end(),
                                  [&](const profile_db& x) { return x.number == r.db; });
      if (d == dbs.end()) w.key("db").fail(fmt::format("DB {} is not declared in \"dbs\"", r.db));
      if (std::size_t{r.offset} + r.bytes.size() > d->size)
        w.fail(fmt::format("bytes {} to {} are outside DB {} ({} bytes)", r.offset,
                           r.offset + r.bytes.size() - 1, r.db, d->size));
    } else if (e.contains("db")) {
      w.key("db").fail("only area DB has a DB number");
    } else if (std::size_t{r.offset} + r.bytes.size() > 65536) {
      w.fail("reaches beyond 65536 bytes");
    }
    out.push_back(std::move(r));
  }
}

// "area" of a signal or an associated value: I, Q, M or DB (with "db").
std::uint8_t read_bit_area(const json& e, const at& w, std::uint16_t& db) {
  const std::string a = get_string(e.at("area"), w.key("area"), 8);
  static constexpr std::pair<std::string_view, std::uint8_t> areas[] = {
      {"I", 0x81}, {"E", 0x81}, {"Q", 0x82}, {"A", 0x82}, {"M", 0x83}, {"DB", 0x84}};
  std::uint8_t code = 0;
  for (const auto& [n, c] : areas)
    if (a == n) code = c;
  if (code == 0) w.key("area").fail(fmt::format("unknown area \"{}\" (I, Q, M or DB)", a));
  if (code == 0x84 && !e.contains("db")) w.fail("missing key \"db\" (area DB)");
  if (code != 0x84 && e.contains("db")) w.key("db").fail("only area DB has a DB number");
  db = code == 0x84 ? static_cast<std::uint16_t>(get_uint(e.at("db"), w.key("db"), 0xFFFF)) : 0;
  return code;
}

bit_address read_signal(const json& e, const at& w) {
  expect_object(e, w, {"area", "db", "byte", "bit", "comment"}, {"area", "byte", "bit"});
  bit_address b;
  b.area = read_bit_area(e, w, b.db);
  b.byte = static_cast<std::uint32_t>(get_uint(e.at("byte"), w.key("byte"), 65535));
  b.bit = static_cast<std::uint8_t>(get_uint(e.at("bit"), w.key("bit"), 7));
  return b;
}

alarm_value read_alarm_value(const json& e, const at& w) {
  expect_object(e, w, {"transport_size", "area", "db", "offset", "length", "hex", "comment"},
                {"transport_size"});
  alarm_value v;
  v.transport_size =
      static_cast<std::uint8_t>(get_uint(e.at("transport_size"), w.key("transport_size"), 0xFF));
  if (e.contains("hex") == e.contains("area"))
    w.fail("an associated value has either \"area\" (with offset, length) or \"hex\"");
  if (e.contains("hex")) {
    v.bytes = get_hex(e.at("hex"), w.key("hex"));
    v.length = static_cast<std::uint16_t>(v.bytes.size());
  } else {
    if (!e.contains("offset") || !e.contains("length")) w.fail("\"offset\" and \"length\" needed");
    v.area = read_bit_area(e, w, v.db);
    v.offset = static_cast<std::uint32_t>(get_uint(e.at("offset"), w.key("offset"), 65535));
    v.length = static_cast<std::uint16_t>(
        get_uint(e.at("length"), w.key("length"), max_alarm_value_length));
  }
  if (v.length == 0 || v.length > max_alarm_value_length)
    w.fail(fmt::format("1 to {} bytes", max_alarm_value_length));
  return v;
}

profile_alarm read_alarm(const json& e, const at& w) {
  expect_object(e, w,
                {"event_id", "kind", "name", "signals", "values", "event_state", "ack_going",
                 "ack_coming", "source", "comment"},
                {"event_id", "kind"});
  profile_alarm a;
  a.event_id =
      static_cast<std::uint32_t>(get_uint(e.at("event_id"), w.key("event_id"), 0xFFFFFFFF));
  const std::string k = get_string(e.at("kind"), w.key("kind"), 16);
  const auto kind = alarm_kind_from_name(k);
  if (!kind)
    w.key("kind").fail(fmt::format(
        "unknown kind \"{}\" (ALARM_8, ALARM_8P, NOTIFY, NOTIFY_8P, ALARM_S or ALARM_SQ)", k));
  a.kind = *kind;
  if (e.contains("name")) a.name = get_string(e.at("name"), w.key("name"), 64);
  const std::size_t n_sig = alarm_signal_count(a.kind);
  a.ack_going = a.ack_coming = static_cast<std::uint8_t>((1U << n_sig) - 1U);
  const auto byte_of = [&](const char* key, std::uint8_t& dst) {
    if (e.contains(key)) dst = static_cast<std::uint8_t>(get_uint(e.at(key), w.key(key), 0xFF));
  };
  byte_of("event_state", a.event_state);
  byte_of("ack_going", a.ack_going);
  byte_of("ack_coming", a.ack_coming);
  if (e.contains("signals")) {
    const json& sig = e.at("signals");
    if (!sig.is_array() || sig.size() > n_sig)
      w.key("signals").fail(fmt::format("expected an array of up to {} signals", n_sig));
    for (std::size_t i = 0; i < sig.size(); ++i)
      a.signals.push_back(read_signal(sig[i], w.key("signals").item(i)));
  }
  if (e.contains("values")) {
    const json& val = e.at("values");
    if (!val.is_array() || val.size() > max_alarm_values)
      w.key("values").fail(fmt::format("expected an array of up to {} values", max_alarm_values));
    for (std::size_t i = 0; i < val.size(); ++i)
      a.values.push_back(read_alarm_value(val[i], w.key("values").item(i)));
  }
  return a;
}

// "alarms": the program's alarms; event ids unique.
void read_alarms(const json& j, const at& where, std::vector<profile_alarm>& out) {
  if (!j.is_array()) where.fail(fmt::format("expected an array, got {}", type_of(j)));
  if (j.size() > max_alarms) where.fail(fmt::format("more than {} alarms", max_alarms));
  for (std::size_t i = 0; i < j.size(); ++i) {
    profile_alarm a = read_alarm(j[i], where.item(i));
    for (const profile_alarm& b : out)
      if (b.event_id == a.event_id)
        where.item(i).key("event_id").fail(fmt::format("event id 0x{:X} given twice", a.event_id));
    out.push_back(std::move(a));
  }
}

}  // namespace

namespace {
void meta_from_mc7(block_meta& b, const at& where) {
  std::string why;
  if (!mc7_header_to_meta(b.mc7, b, why)) where.fail(why);
}
}  // namespace

std::string_view block_type_name(std::uint8_t type) noexcept {
  switch (type) {
    case block_type::ob:
      return "OB";
    case block_type::db:
      return "DB";
    case block_type::sdb:
      return "SDB";
    case block_type::fc:
      return "FC";
    case block_type::sfc:
      return "SFC";
    case block_type::fb:
      return "FB";
    case block_type::sfb:
      return "SFB";
    default:
      return {};
  }
}

std::optional<std::uint8_t> block_type_from_name(std::string_view name) noexcept {
  std::string up(name);
  for (char& c : up)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (std::uint8_t t : block_list_order)
    if (block_type_name(t) == up) return t;
  return std::nullopt;
}

namespace {
constexpr std::pair<std::string_view, alarm_kind> alarm_kinds[] = {
    {"ALARM_8", alarm_kind::alarm_8}, {"ALARM_8P", alarm_kind::alarm_8p},
    {"NOTIFY", alarm_kind::notify},   {"NOTIFY_8P", alarm_kind::notify_8p},
    {"ALARM_S", alarm_kind::alarm_s}, {"ALARM_SQ", alarm_kind::alarm_sq}};
}  // namespace

std::string_view alarm_kind_name(alarm_kind k) noexcept {
  for (const auto& [n, v] : alarm_kinds)
    if (v == k) return n;
  return {};
}

std::optional<alarm_kind> alarm_kind_from_name(std::string_view name) noexcept {
  for (const auto& [n, v] : alarm_kinds)
    if (n == name) return v;
  return std::nullopt;
}

std::size_t alarm_signal_count(alarm_kind k) noexcept {
  return k == alarm_kind::alarm_8 || k == alarm_kind::alarm_8p || k == alarm_kind::notify_8p ? 8
                                                                                             : 1;
}

std::optional<std::vector<std::byte>> parse_hex(std::string_view s) {
  std::vector<std::byte> out;
  out.reserve(s.size() / 2);
  int hi = -1;
  for (char c : s) {
    int v = -1;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else if ((c == ' ' || c == ':' || c == '\n' || c == '\t') && hi < 0)
      continue;
    else
      return std::nullopt;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>(hi * 16 + v));
      hi = -1;
    }
  }
  if (hi >= 0) return std::nullopt;
  return out;
}

namespace {
constexpr std::chrono::sys_days s7_epoch = std::chrono::sys_days{std::chrono::year{1984} / 1 / 1};
}

std::string to_hex(std::span<const std::byte> b) {
  return codec::to_hex(b, ' ');
}

std::optional<block_time> parse_block_time(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0;
  char tail = 0;
  const std::string str(s);
  const int n = std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi,
                            &sec, &ms, &tail);
  if (n != 6 && n != 7) return std::nullopt;
  if (n == 6 && str.size() != 19) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59 || ms < 0 || h < 0 || mi < 0 || sec < 0)
    return std::nullopt;
  const auto days = (std::chrono::sys_days{ymd} - s7_epoch).count();
  if (days < 0 || days > 0xFFFF) return std::nullopt;
  return block_time{static_cast<std::uint32_t>(((h * 60 + mi) * 60 + sec) * 1000 + ms),
                    static_cast<std::uint16_t>(days)};
}

std::string format_block_time(const block_time& t) {
  const std::chrono::year_month_day ymd{s7_epoch + std::chrono::days{t.days}};
  const std::uint32_t ms = t.ms % 86'400'000U;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     ms / 3'600'000U, ms / 60'000U % 60U, ms / 1000U % 60U, ms % 1000U);
}

namespace {

void read_limits(const json& l, const at& w, plc_profile& p) {
  expect_object(l, w,
                {"pdu_size", "max_amq", "max_connections", "load_memory", "work_memory",
                 "max_blocks", "max_cyclic_jobs", "max_cyclic_jobs_per_connection", "comment"});
  read_memory_limits(l, w, p.mem_limits);
  if (l.contains("pdu_size")) {
    p.pdu_size = static_cast<std::uint16_t>(get_uint(l.at("pdu_size"), w.key("pdu_size"), 0xFFFF));
    if (p.pdu_size != 240 && p.pdu_size != 480 && p.pdu_size != 960)
      w.key("pdu_size").fail("expected 240, 480 or 960");
  }
  if (l.contains("max_amq")) {
    p.max_amq = static_cast<std::uint16_t>(get_uint(l.at("max_amq"), w.key("max_amq"), 255));
    if (p.max_amq == 0) w.key("max_amq").fail("must be at least 1");
  }
  if (l.contains("max_connections"))
    p.max_connections = static_cast<std::uint16_t>(
        get_uint(l.at("max_connections"), w.key("max_connections"), 4096));
  // Job ids are one byte (the sequence number of the answer): at most 255 per connection.
  if (l.contains("max_cyclic_jobs"))
    p.max_cyclic_jobs = static_cast<std::uint16_t>(
        get_uint(l.at("max_cyclic_jobs"), w.key("max_cyclic_jobs"), 4096));
  if (l.contains("max_cyclic_jobs_per_connection"))
    p.max_cyclic_jobs_per_connection = static_cast<std::uint16_t>(get_uint(
        l.at("max_cyclic_jobs_per_connection"), w.key("max_cyclic_jobs_per_connection"), 255));
}

// The job list of the programmer commands (programmer.hpp): its size and the first number.
void read_test_jobs(const json& t, const at& w, plc_profile& p) {
  expect_object(t, w, {"max_jobs", "first_number", "comment"});
  if (t.contains("max_jobs")) {
    p.max_test_jobs = static_cast<std::uint8_t>(get_uint(t.at("max_jobs"), w.key("max_jobs"), 255));
    if (p.max_test_jobs == 0) w.key("max_jobs").fail("must be at least 1");
  }
  if (t.contains("first_number")) {
    p.first_job_number =
        static_cast<std::uint8_t>(get_uint(t.at("first_number"), w.key("first_number"), 255));
    if (p.first_job_number == 0) w.key("first_number").fail("must be at least 1");
  }
}

void read_protection(const json& pr, const at& w, plc_profile& p) {
  expect_object(pr, w, {"level", "password", "mode_selector", "comment"});
  if (pr.contains("level")) {
    p.protection_level = static_cast<std::uint8_t>(get_uint(pr.at("level"), w.key("level"), 3));
    if (p.protection_level == 0)
      w.key("level").fail("expected 1 (none), 2 (write) or 3 (read/write protection)");
  }
  if (pr.contains("password")) p.password = get_string(pr.at("password"), w.key("password"), 8);
  if (p.protection_level > 1 && p.password.empty())
    w.fail(fmt::format(
        "protection level {} needs a password (a CPU parameterises the level together with it)",
        p.protection_level));
  if (pr.contains("mode_selector")) {
    const std::string m = get_string(pr.at("mode_selector"), w.key("mode_selector"), 8);
    if (m == "RUN")
      p.mode_selector = 1;
    else if (m == "RUN-P")
      p.mode_selector = 2;
    else if (m == "STOP")
      p.mode_selector = 3;
    else if (m == "MRES")
      p.mode_selector = 4;
    else
      w.key("mode_selector").fail("expected RUN, RUN-P, STOP or MRES");
  }
}

void read_clock(const json& c, const at& w, plc_profile& p) {
  expect_object(c, w, {"time_base", "offset_ms", "comment"});
  if (c.contains("time_base")) {
    const std::string tb = get_string(c.at("time_base"), w.key("time_base"), 8);
    if (tb == "local")
      p.clock_local = true;
    else if (tb == "utc")
      p.clock_local = false;
    else
      w.key("time_base").fail("expected \"local\" or \"utc\"");
  }
  if (c.contains("offset_ms")) p.clock_offset_ms = get_int(c.at("offset_ms"), w.key("offset_ms"));
}

void read_szl_list(const json& szl, const at& where, std::vector<szl_entry>& out) {
  if (!szl.is_array()) where.fail(fmt::format("expected an array, got {}", type_of(szl)));
  for (std::size_t i = 0; i < szl.size(); ++i) {
    szl_entry e = read_szl(szl[i], where.item(i));
    for (const szl_entry& o : out) {
      if (o.id == e.id && (!o.index || !e.index || *o.index == *e.index))
        where.item(i).fail(fmt::format("SZL-ID 0x{:04X} index {} is defined twice", e.id,
                                       e.index ? fmt::format("0x{:04X}", *e.index) : "any"));
    }
    out.push_back(std::move(e));
  }
}

}  // namespace

plc_profile parse_profile(std::string_view text, const std::string& source) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    throw profile_error(fmt::format("{}: not valid JSON: {}", source, e.what()));
  }
  const at root{source, "$", raise_profile_error};
  expect_object(doc, root,
                {"format", "version", "name", "description", "identity", "limits", "protection",
                 "clock", "operating_mode", "test_jobs", "szl", "blocks", "dbs", "memory", "alarms",
                 "faults", "comment"},
                {"format", "version", "identity", "szl"});
  if (!doc.at("format").is_string() ||
      doc.at("format").get_ref<const std::string&>() != "protos7-profile")
    root.key("format").fail("expected \"protos7-profile\"");
  const auto ver = get_int(doc.at("version"), root.key("version"));
  if (ver != profile_format_version)
    root.key("version").fail(
        fmt::format("format version {} is not supported by this protos7 (it reads version {})", ver,
                    profile_format_version));
  plc_profile p;
  p.source = source;
  if (doc.contains("name")) p.name = get_string(doc.at("name"), root.key("name"));
  if (doc.contains("description"))
    p.description = get_string(doc.at("description"), root.key("description"), 4096);
  read_identity(doc.at("identity"), root.key("identity"), p.id);

  if (doc.contains("limits")) read_limits(doc.at("limits"), root.key("limits"), p);
  if (doc.contains("protection")) read_protection(doc.at("protection"), root.key("protection"), p);
  if (doc.contains("clock")) read_clock(doc.at("clock"), root.key("clock"), p);
  if (doc.contains("test_jobs")) read_test_jobs(doc.at("test_jobs"), root.key("test_jobs"), p);
  if (doc.contains("operating_mode")) {
    const std::string m = get_string(doc.at("operating_mode"), root.key("operating_mode"), 8);
    if (m == "RUN")
      p.start_mode = operating_mode::run;
    else if (m == "STOP")
      p.start_mode = operating_mode::stop;
    else
      root.key("operating_mode").fail("expected \"RUN\" or \"STOP\"");
  }
  read_szl_list(doc.at("szl"), root.key("szl"), p.szl);
  if (doc.contains("blocks")) read_blocks(doc.at("blocks"), root.key("blocks"), p.blocks);
  if (doc.contains("dbs")) {
    p.declares_dbs = true;
    read_dbs(doc.at("dbs"), root.key("dbs"), p.dbs);
  }
  if (doc.contains("memory")) read_memory(doc.at("memory"), root.key("memory"), p.dbs, p.memory);
  if (doc.contains("alarms")) read_alarms(doc.at("alarms"), root.key("alarms"), p.alarms);
  if (doc.contains("faults")) {
    // The fault rules format of `serve --faults` (fault_rules.hpp, docs/FAULTS.md), checked now.
    try {
      p.faults = parse_fault_rules(doc.at("faults").dump(), fmt::format("{}: $.faults", source));
    } catch (const fault_error& e) {
      throw profile_error(e.what());
    }
  }
  return p;
}

plc_profile load_profile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw profile_error(fmt::format("{}: cannot open the profile", path));
  std::ostringstream ss;
  ss << f.rdbuf();
  return parse_profile(ss.str(), path);
}

const plc_profile& bundled_profile() {
  static const plc_profile p = parse_profile(bundled_profile_json(), "bundled:s7-300");
  return p;
}

void apply_overrides(identity& id, const identity_overrides& o) {
  const auto set = [](std::string& dst, const std::optional<std::string>& v) {
    if (v) dst = *v;
  };
  set(id.order_number, o.order_number);
  set(id.firmware_version, o.firmware_version);
  set(id.as_name, o.as_name);
  set(id.module_name, o.module_name);
  set(id.plant_id, o.plant_id);
  set(id.copyright, o.copyright);
  set(id.serial_number, o.serial_number);
  set(id.module_type, o.module_type);
  set(id.memory_card_serial, o.memory_card_serial);
}

void apply_overrides(plc_profile& p, const identity_overrides& o) {
  apply_overrides(p.id, o);
}

namespace {

json szl_json(const std::vector<szl_entry>& list) {
  json szl = json::array();
  for (const szl_entry& e : list) {
    json j;
    j["id"] = fmt::format("0x{:04X}", e.id);
    j["index"] = e.index ? fmt::format("0x{:04X}", *e.index) : std::string("any");
    j["record_length"] = e.record_length;
    if (codec::szl::is_header_only(e.id)) {
      j["count"] = e.count;
    } else {
      json recs = json::array();
      for (std::size_t i = 0; i < e.count && e.record_length != 0; ++i)
        recs.push_back(to_hex(codec::szl::record_at(e.records, e.record_length, i)));
      j["records"] = std::move(recs);
      if (e.record_length == 0) j["count"] = e.count;
    }
    szl.push_back(std::move(j));
  }
  return szl;
}

std::string str8(const std::array<char, 8>& a) {
  return std::string(a.data(), strnlen(a.data(), a.size()));
}

json info_json(const block_meta& b) {
  json j{{"info_word", fmt::format("0x{:04X}", b.info_word)},
         {"block_version", fmt::format("0x{:02X}", b.block_version)},
         {"attributes", fmt::format("0x{:02X}", b.attributes)},
         {"load_memory_length", b.load_memory_length},
         {"security", b.security},
         {"code_time", format_block_time(b.code_time)},
         {"interface_time", format_block_time(b.interface_time)},
         {"sbb_length", b.sbb_length},
         {"add_length", b.add_length},
         {"local_data_length", b.local_data_length},
         {"mc7_length", b.mc7_length},
         {"author", str8(b.author)},
         {"family", str8(b.family)},
         {"name", str8(b.name)},
         {"version", fmt::format("{}.{}", b.version >> 4U, b.version & 15U)},
         {"info_unknown", fmt::format("0x{:02X}", b.info_unknown)},
         {"checksum", fmt::format("0x{:04X}", b.checksum)}};
  if (b.info_reserved != 0) j["info_reserved"] = fmt::format("0x{:08X}", b.info_reserved);
  return j;
}

json blocks_json(const std::vector<block_meta>& list) {
  json blocks = json::array();
  for (const block_meta& b : list) {
    json j;
    j["type"] = std::string(block_type_name(b.type));
    j["number"] = b.number;
    j["list_flags"] = fmt::format("0x{:02X}", b.list_flags);
    j["language"] = b.language;
    if (!b.mc7.empty()) {
      j["mc7"] = to_hex(b.mc7);
    } else {
      j["info"] = info_json(b);
    }
    blocks.push_back(std::move(j));
  }
  return blocks;
}

json dbs_json(const std::vector<profile_db>& list) {
  json dbs = json::array();
  for (const profile_db& d : list) {
    json j{{"number", d.number}, {"size", d.size}};
    if (d.info) {
      j["list_flags"] = fmt::format("0x{:02X}", d.info->list_flags);
      j["language"] = d.info->language;
      j["info"] = info_json(*d.info);
      if (!d.interface.empty()) j["interface"] = to_hex(d.interface);
    }
    dbs.push_back(std::move(j));
  }
  return dbs;
}

json memory_json(const std::vector<memory_range>& list) {
  json mem = json::array();
  for (const memory_range& r : list) {
    json j;
    switch (r.area) {
      case 0x81:
        j["area"] = "I";
        break;
      case 0x82:
        j["area"] = "Q";
        break;
      case 0x83:
        j["area"] = "M";
        break;
      case 0x84:
        j["area"] = "DB";
        j["db"] = r.db;
        break;
      case 0x1C:
        j["area"] = "C";
        break;
      case 0x1D:
        j["area"] = "T";
        break;
      default:
        j["area"] = fmt::format("0x{:02X}", r.area);
        break;
    }
    j["offset"] = r.offset;
    j["hex"] = to_hex(r.bytes);
    mem.push_back(std::move(j));
  }
  return mem;
}

std::string_view area_name(std::uint8_t area) {
  switch (area) {
    case 0x81:
      return "I";
    case 0x82:
      return "Q";
    case 0x83:
      return "M";
    default:
      return "DB";
  }
}

json alarm_json(const profile_alarm& a) {
  json j;
  j["event_id"] = fmt::format("0x{:X}", a.event_id);
  j["kind"] = std::string(alarm_kind_name(a.kind));
  if (!a.name.empty()) j["name"] = a.name;
  json sig = json::array();
  for (const bit_address& b : a.signals) {
    json s{{"area", area_name(b.area)}};
    if (b.area == 0x84) s["db"] = b.db;
    s["byte"] = b.byte;
    s["bit"] = b.bit;
    sig.push_back(std::move(s));
  }
  if (!sig.empty()) j["signals"] = std::move(sig);
  json val = json::array();
  for (const alarm_value& v : a.values) {
    json x{{"transport_size", fmt::format("0x{:02X}", v.transport_size)}};
    if (v.area == 0) {
      x["hex"] = to_hex(v.bytes);
    } else {
      x["area"] = area_name(v.area);
      if (v.area == 0x84) x["db"] = v.db;
      x["offset"] = v.offset;
      x["length"] = v.length;
    }
    val.push_back(std::move(x));
  }
  if (!val.empty()) j["values"] = std::move(val);
  j["event_state"] = fmt::format("0x{:02X}", a.event_state);
  j["ack_going"] = fmt::format("0x{:02X}", a.ack_going);
  j["ack_coming"] = fmt::format("0x{:02X}", a.ack_coming);
  return j;
}

}  // namespace

std::string profile_to_json(const plc_profile& p) {
  json doc;
  doc["format"] = "protos7-profile";
  doc["version"] = profile_format_version;
  if (!p.name.empty()) doc["name"] = p.name;
  if (!p.description.empty()) doc["description"] = p.description;
  doc["identity"] = {{"order_number", p.id.order_number},
                     {"firmware_version", p.id.firmware_version},
                     {"as_name", p.id.as_name},
                     {"module_name", p.id.module_name},
                     {"plant_id", p.id.plant_id},
                     {"copyright", p.id.copyright},
                     {"serial_number", p.id.serial_number},
                     {"module_type", p.id.module_type},
                     {"memory_card_serial", p.id.memory_card_serial}};
  doc["limits"] = {{"pdu_size", p.pdu_size},
                   {"max_amq", p.max_amq},
                   {"max_connections", p.max_connections},
                   {"max_cyclic_jobs", p.max_cyclic_jobs},
                   {"max_cyclic_jobs_per_connection", p.max_cyclic_jobs_per_connection}};
  static constexpr std::string_view selectors[] = {"RUN", "RUN", "RUN-P", "STOP", "MRES"};
  doc["protection"] = {
      {"level", p.protection_level},
      {"password", p.password},
      {"mode_selector", std::string(selectors[std::min<std::size_t>(p.mode_selector, 4)])}};
  doc["clock"] = {{"time_base", p.clock_local ? "local" : "utc"}, {"offset_ms", p.clock_offset_ms}};
  doc["operating_mode"] = p.start_mode == operating_mode::run ? "RUN" : "STOP";
  doc["test_jobs"] = {{"max_jobs", p.max_test_jobs}, {"first_number", p.first_job_number}};
  doc["szl"] = szl_json(p.szl);
  doc["blocks"] = blocks_json(p.blocks);
  if (p.declares_dbs || !p.dbs.empty()) doc["dbs"] = dbs_json(p.dbs);
  if (!p.memory.empty()) doc["memory"] = memory_json(p.memory);
  if (!p.alarms.empty()) {
    doc["alarms"] = json::array();
    for (const profile_alarm& a : p.alarms) doc["alarms"].push_back(alarm_json(a));
  }
  if (p.faults) doc["faults"] = json::parse(fault_rules_json(*p.faults));
  return doc.dump(2);
}

}  // namespace protos7::server
