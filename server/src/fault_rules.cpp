// The fault rules format (fault_rules.hpp, docs/FAULTS.md): a strict JSON walk that names the
// place of every error, the checks of what can be combined, and the canonical JSON written back.
#include "protos7/server/fault_rules.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "json_walk.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/server/duration.hpp"

namespace protos7::server {

namespace {

using json = nlohmann::ordered_json;
namespace s7 = codec::s7;

[[noreturn]] void raise_fault_error(const std::string& message) {
  throw fault_error(message);
}

// The document walk (json_walk.hpp) with this file's defaults.
using at = json_walk::place;
using json_walk::expect_object;
using json_walk::get_bool;
using json_walk::type_of;

std::uint64_t get_uint(const json& j, const at& where, std::uint64_t lo, std::uint64_t hi) {
  return json_walk::get_uint(j, where, lo, hi, json_walk::number_text::allowed);
}

std::string get_string(const json& j, const at& where, std::size_t max_len) {
  return json_walk::get_string(
      j, where,
      {.max_length = max_len, .chars = json_walk::text::printable_ascii, .allow_empty = true});
}

struct named {
  std::string_view name;
  std::uint8_t value;
};

constexpr std::array<named, 11> function_names{{
    {"setup_communication", 0xF0},
    {"read_var", 0x04},
    {"write_var", 0x05},
    {"request_download", 0x1A},
    {"download_block", 0x1B},
    {"download_ended", 0x1C},
    {"start_upload", 0x1D},
    {"upload", 0x1E},
    {"end_upload", 0x1F},
    {"pi_service", 0x28},
    {"plc_stop", 0x29},
}};
constexpr std::array<named, 7> group_names{{{"mode_transition", 0x0},
                                            {"programmer", 0x1},
                                            {"cyclic", 0x2},
                                            {"block", 0x3},
                                            {"cpu", 0x4},
                                            {"security", 0x5},
                                            {"time", 0x7}}};
constexpr std::array<named, 8> area_names{{{"i", 0x81},
                                           {"q", 0x82},
                                           {"m", 0x83},
                                           {"db", 0x84},
                                           {"di", 0x85},
                                           {"c", 0x1C},
                                           {"t", 0x1D},
                                           {"p", 0x80}}};
constexpr std::array<named, 3> connection_type_names{{{"pg", 1}, {"op", 2}, {"s7_basic", 3}}};

template <std::size_t N>
std::optional<std::uint8_t> by_name(const std::array<named, N>& table, std::string_view s) {
  for (const named& n : table)
    if (n.name == s) return n.value;
  return std::nullopt;
}

template <std::size_t N>
std::string names_of(const std::array<named, N>& table) {
  std::string out;
  for (const named& n : table) out += (out.empty() ? "" : ", ") + std::string(n.name);
  return out;
}

template <std::size_t N>
json name_or_number(const std::array<named, N>& table, std::uint8_t v) {
  for (const named& n : table)
    if (n.value == v) return std::string(n.name);
  return fmt::format("0x{:02X}", v);
}

// A duration: seconds as a number (0.5) or a string "500ms", "10s", "2m".
std::chrono::milliseconds get_duration(const json& j, const at& where) {
  if (j.is_number() && !j.is_number_float() && j.get<double>() < 0)
    where.fail("a duration cannot be negative");
  if (j.is_number()) {
    const double s = j.get<double>();
    if (!(s >= 0) || s > 100'000'000) where.fail("expected 0 to 100000000 seconds");
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000)));
  }
  if (!j.is_string())
    where.fail(
        fmt::format("expected a duration (\"10s\", \"500ms\" or seconds), got {}", type_of(j)));
  const auto d = parse_duration(j.get<std::string>());
  if (!d) where.fail("expected a duration like \"500ms\", \"10s\", \"2m\" or a number of seconds");
  return *d;
}

template <std::size_t N>
std::uint8_t get_named(const json& j, const at& where, const std::array<named, N>& table,
                       std::uint64_t lo, std::uint64_t hi) {
  if (j.is_string())
    if (const auto v = by_name(table, j.get_ref<const std::string&>())) return *v;
  if (j.is_string() && !j.get_ref<const std::string&>().starts_with("0x") &&
      !std::all_of(j.get_ref<const std::string&>().begin(), j.get_ref<const std::string&>().end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    where.fail(fmt::format("unknown name \"{}\" (one of {}, or a number)",
                           j.get_ref<const std::string&>().substr(0, 40), names_of(table)));
  return static_cast<std::uint8_t>(get_uint(j, where, lo, hi));
}

ipv4_prefix get_client(const json& j, const at& where) {
  const std::string s = get_string(j, where, 18);
  const auto slash = s.find('/');
  const std::string addr = s.substr(0, slash);
  in_addr a{};
  if (::inet_pton(AF_INET, addr.c_str(), &a) != 1)
    where.fail(
        fmt::format("\"{}\" is not an IPv4 address (write \"10.0.0.5\" or \"10.0.0.0/8\")", s));
  ipv4_prefix p{ntohl(a.s_addr), 32};
  if (slash != std::string::npos) {
    const std::string bits = s.substr(slash + 1);
    if (bits.empty() || bits.size() > 2 ||
        !std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(bits) > 32)
      where.fail(fmt::format("\"{}\": the prefix length after / must be 0..32", s));
    p.bits = static_cast<std::uint8_t>(std::stoi(bits));
  }
  return p;
}

void parse_counting(const json& w, const at& where, fault_selector& s) {
  if (w.contains("nth")) s.nth = get_uint(w.at("nth"), where.key("nth"), 1, UINT64_MAX);
  if (w.contains("every")) s.every = get_uint(w.at("every"), where.key("every"), 1, UINT64_MAX);
  if (s.nth != 0 && s.every != 0) where.fail("give \"nth\" or \"every\", not both");
  if (w.contains("probability")) {
    const json& p = w.at("probability");
    if (!p.is_number() || p.get<double>() < 0 || p.get<double>() > 1)
      where.key("probability").fail("expected a number from 0 to 1");
    s.probability = p.get<double>();
  }
  if (w.contains("max")) s.max = get_uint(w.at("max"), where.key("max"), 1, UINT64_MAX);
  if (w.contains("after")) s.after = get_duration(w.at("after"), where.key("after"));
  if (w.contains("until")) s.until = get_duration(w.at("until"), where.key("until"));
  if (s.until && *s.until <= s.after) where.key("until").fail("must be later than \"after\"");
}

void parse_request_selectors(const json& w, const at& where, fault_selector& s) {
  if (w.contains("function")) {
    const json& f = w.at("function");
    if (f.is_string() && f.get_ref<const std::string&>() == "userdata")
      s.userdata = true;
    else
      s.function = get_named(f, where.key("function"), function_names, 0, 0xFF);
  }
  if (w.contains("group"))
    s.group = get_named(w.at("group"), where.key("group"), group_names, 0, 0x0F);
  if (w.contains("subfunction"))
    s.subfunction =
        static_cast<std::uint8_t>(get_uint(w.at("subfunction"), where.key("subfunction"), 0, 0xFF));
  if (w.contains("area")) s.area = get_named(w.at("area"), where.key("area"), area_names, 0, 0xFF);
  if (w.contains("db"))
    s.db = static_cast<std::uint16_t>(get_uint(w.at("db"), where.key("db"), 1, 65535));
  if (w.contains("szl_id"))
    s.szl_id = static_cast<std::uint16_t>(get_uint(w.at("szl_id"), where.key("szl_id"), 0, 0xFFFF));
  if (w.contains("szl_index"))
    s.szl_index =
        static_cast<std::uint16_t>(get_uint(w.at("szl_index"), where.key("szl_index"), 0, 0xFFFF));
}

fault_selector parse_when(const json& w, const at& where) {
  expect_object(w, where,
                {"event", "plc", "client", "connection_type", "tsap", "function", "group",
                 "subfunction", "area", "db", "szl_id", "szl_index", "nth", "every", "probability",
                 "max", "after", "until"});
  fault_selector s;
  if (w.contains("event")) {
    const std::string e = get_string(w.at("event"), where.key("event"), 16);
    if (e == "request")
      s.event = fault_event_kind::request;
    else if (e == "connect")
      s.event = fault_event_kind::connect;
    else if (e == "accept")
      s.event = fault_event_kind::accept;
    else
      where.key("event").fail(
          "expected \"request\", \"connect\" (the COTP CR) or \"accept\" (TCP)");
  }
  if (w.contains("plc")) s.plc = get_string(w.at("plc"), where.key("plc"), 64);
  if (w.contains("client")) s.client = get_client(w.at("client"), where.key("client"));
  if (w.contains("connection_type"))
    s.connection_type = get_named(w.at("connection_type"), where.key("connection_type"),
                                  connection_type_names, 1, 3);
  if (w.contains("tsap"))
    s.tsap = static_cast<std::uint16_t>(get_uint(w.at("tsap"), where.key("tsap"), 0, 0xFFFF));
  parse_request_selectors(w, where, s);
  parse_counting(w, where, s);
  return s;
}

void parse_reply_shaping(const json& d, const at& where, fault_action& a) {
  if (d.contains("wrong_pdu_ref"))
    a.wrong_pdu_ref = get_bool(d.at("wrong_pdu_ref"), where.key("wrong_pdu_ref"));
  if (d.contains("pdu_ref"))
    a.pdu_ref =
        static_cast<std::uint16_t>(get_uint(d.at("pdu_ref"), where.key("pdu_ref"), 0, 0xFFFF));
  if (d.contains("duplicate")) a.duplicate = get_bool(d.at("duplicate"), where.key("duplicate"));
  if (d.contains("cotp_segment"))
    a.cotp_segment = static_cast<std::uint16_t>(
        get_uint(d.at("cotp_segment"), where.key("cotp_segment"), 1, 1021));
  if (d.contains("tcp_segment"))
    a.tcp_segment = static_cast<std::uint16_t>(
        get_uint(d.at("tcp_segment"), where.key("tcp_segment"), 1, 65535));
  if (d.contains("trickle")) {
    const json& t = d.at("trickle");
    const at tw = where.key("trickle");
    expect_object(t, tw, {"bytes", "interval_ms"});
    if (!t.contains("bytes") || !t.contains("interval_ms"))
      tw.fail("give \"bytes\" and \"interval_ms\"");
    a.trickle_bytes =
        static_cast<std::uint16_t>(get_uint(t.at("bytes"), tw.key("bytes"), 1, 65535));
    a.trickle_interval_ms =
        static_cast<std::uint32_t>(get_uint(t.at("interval_ms"), tw.key("interval_ms"), 1, 60'000));
  }
  if (d.contains("clamp_pdu"))
    a.clamp_pdu =
        static_cast<std::uint16_t>(get_uint(d.at("clamp_pdu"), where.key("clamp_pdu"), 64, 960));
}

// The header error as an Ack_Data the strict codec accepts (the server never sends a reply it
// would itself reject).
void check_header_error(std::uint16_t e, const at& where) {
  std::array<std::byte, 32> buf{};
  s7::header h;
  h.type = s7::rosctr::ack_data;
  h.error_class = static_cast<std::uint8_t>(e >> 8U);
  h.error_code = static_cast<std::uint8_t>(e & 0xFFU);
  const std::array<std::byte, 2> prm{std::byte{0x04}, std::byte{0x00}};
  const auto n = s7::encode(h, prm, {}, buf);
  if (!n || !s7::decode(std::span<const std::byte>(buf).first(*n)))
    where.fail(fmt::format("0x{:04X} does not make an S7 reply the codec accepts", e));
}

// Jobs are answered with the error in the S7 header, whose classes are Wireshark's
// (s7comm.header.errcls); a Userdata response carries any 16-bit code in its parameter.
bool is_header_error_class(std::uint8_t c) {
  namespace ec = s7::error_class;
  return c == ec::application_relationship || c == ec::object_definition || c == ec::no_resources ||
         c == ec::service_processing || c == ec::supplies || c == ec::access;
}

void check_item_return_code(std::uint8_t rc, const at& where) {
  std::array<std::byte, 8> buf{};
  codec::writer w{buf};
  s7::write_data_item(w, rc, 0, {}, true);
  const auto n = w.finish();
  codec::reader r{std::span<const std::byte>(buf).first(n ? *n : 0), codec::layer::s7_data};
  s7::parse_data_items(r, 1, s7::data_kind::read_response);
  if (rc == s7::return_code::success || rc == s7::return_code::reserved || !r.ok())
    where.fail(
        fmt::format("0x{:02X} is not an item error code (e.g. \"0x05\" address out of "
                    "range, \"0x0A\" object does not exist)",
                    rc));
}

fault_action parse_do(const json& d, const at& where) {
  expect_object(d, where,
                {"delay_ms", "jitter_ms", "no_reply", "close", "reset", "cotp_dr", "header_error",
                 "item_return_code", "wrong_pdu_ref", "pdu_ref", "duplicate", "cotp_segment",
                 "tcp_segment", "trickle", "refuse_connections", "stop", "clamp_pdu"});
  if (d.empty()) where.fail("no action (e.g. \"delay_ms\": 400 or \"no_reply\": true)");
  fault_action a;
  if (d.contains("delay_ms"))
    a.delay_ms =
        static_cast<std::uint32_t>(get_uint(d.at("delay_ms"), where.key("delay_ms"), 0, 600'000));
  if (d.contains("jitter_ms"))
    a.jitter_ms =
        static_cast<std::uint32_t>(get_uint(d.at("jitter_ms"), where.key("jitter_ms"), 0, 600'000));
  if (d.contains("no_reply")) a.no_reply = get_bool(d.at("no_reply"), where.key("no_reply"));
  if (d.contains("close")) a.close = get_bool(d.at("close"), where.key("close"));
  if (d.contains("reset")) a.reset = get_bool(d.at("reset"), where.key("reset"));
  if (d.contains("cotp_dr")) {
    const json& r = d.at("cotp_dr");
    if (r.is_boolean()) {
      if (r.get<bool>()) a.cotp_dr = 0x00;
    } else {
      a.cotp_dr = static_cast<std::uint8_t>(get_uint(r, where.key("cotp_dr"), 0, 0xFF));
    }
  }
  if (d.contains("header_error")) {
    a.header_error = static_cast<std::uint16_t>(
        get_uint(d.at("header_error"), where.key("header_error"), 1, 0xFFFF));
    check_header_error(*a.header_error, where.key("header_error"));
  }
  if (d.contains("item_return_code")) {
    a.item_return_code = static_cast<std::uint8_t>(
        get_uint(d.at("item_return_code"), where.key("item_return_code"), 0, 0xFF));
    check_item_return_code(*a.item_return_code, where.key("item_return_code"));
  }
  parse_reply_shaping(d, where, a);
  if (d.contains("refuse_connections"))
    a.refuse_connections = get_bool(d.at("refuse_connections"), where.key("refuse_connections"));
  if (d.contains("stop")) a.stop = get_bool(d.at("stop"), where.key("stop"));
  return a;
}

// What each action needs of the others (the reply it changes must exist).
void check_action(const fault_action& a, const at& where) {
  const int terminal =
      (a.no_reply ? 1 : 0) + (a.close ? 1 : 0) + (a.reset ? 1 : 0) + (a.cotp_dr ? 1 : 0);
  if (terminal > 1) where.fail("no_reply, close, reset and cotp_dr exclude each other");
  const bool shapes = a.header_error || a.item_return_code || a.pdu_ref || a.wrong_pdu_ref ||
                      a.duplicate || a.cotp_segment != 0 || a.clamp_pdu != 0;
  const bool timing =
      a.delay_ms != 0 || a.jitter_ms != 0 || a.tcp_segment != 0 || a.trickle_bytes != 0;
  if ((a.no_reply || a.close || a.reset) && (shapes || timing))
    where.fail(
        "no_reply, close and reset send nothing: they cannot be combined with actions on "
        "the reply (only with \"stop\")");
  if (a.cotp_dr && shapes)
    where.fail(
        "cotp_dr replaces the reply: only delay_ms, jitter_ms, tcp_segment, trickle and "
        "stop combine with it");
  if (a.header_error && a.item_return_code)
    where.fail("give header_error or item_return_code, not both");
  if (a.pdu_ref && a.wrong_pdu_ref) where.fail("give pdu_ref or wrong_pdu_ref, not both");
  if (a.tcp_segment != 0 && a.trickle_bytes != 0)
    where.fail("give tcp_segment or trickle, not both");
  if (a.refuse_connections && (shapes || timing || terminal > 0 || a.stop))
    where.fail("refuse_connections cannot be combined with other actions");
}

// The selectors and actions that make sense for the rule's event.
void check_rule(fault_rule& r, const at& where) {
  fault_selector& s = r.when;
  const fault_action& a = r.act;
  const bool request_selectors = s.function || s.userdata || s.group || s.subfunction || s.area ||
                                 s.db || s.szl_id || s.szl_index;
  const at w = where.key("when");
  if (a.refuse_connections) {
    if (s.event == fault_event_kind::connect)
      w.key("event").fail("refuse_connections acts on TCP connections (\"accept\")");
    s.event = fault_event_kind::accept;
  }
  if (s.event == fault_event_kind::accept) {
    if (!a.refuse_connections)
      where.key("do").fail("\"event\": \"accept\" takes refuse_connections only");
    if (request_selectors || s.tsap || s.connection_type)
      w.fail(
          "a TCP connection has no TSAP or request yet: select by plc, client and counters only");
    return;
  }
  if (s.event == fault_event_kind::connect) {
    if (request_selectors)
      w.fail("a COTP CR is not a request: function, area, db, szl_* do not apply");
    if (a.header_error || a.item_return_code || a.pdu_ref || a.wrong_pdu_ref ||
        a.cotp_segment != 0 || a.clamp_pdu != 0 || a.duplicate)
      where.key("do").fail(
          "at a COTP CR only delay_ms, jitter_ms, no_reply, close, reset, "
          "cotp_dr, tcp_segment, trickle and stop apply");
    return;
  }
  const bool var = s.function && s7::is_variable_function(*s.function);
  if ((s.area || s.db) && s.function && !var)
    w.fail("area and db select Read Var / Write Var items");
  if ((s.group || s.subfunction || s.szl_id || s.szl_index) && s.function)
    w.fail(
        "group, subfunction and szl_* select Userdata requests: use \"function\": \"userdata\" or "
        "none");
  if (s.szl_index && !s.szl_id) w.key("szl_index").fail("give szl_id too");
  if (s.szl_id && ((s.group && *s.group != 4) || (s.subfunction && *s.subfunction != 1)))
    w.fail("Read SZL is group 4 (cpu), subfunction 1");
  if (a.item_return_code && !var)
    where.key("do").fail("item_return_code needs \"function\": \"read_var\" or \"write_var\"");
  const bool userdata_only = s.userdata || s.group || s.subfunction || s.szl_id;
  if (a.header_error && !userdata_only &&
      !is_header_error_class(static_cast<std::uint8_t>(*a.header_error >> 8U)))
    where.key("do")
        .key("header_error")
        .fail(fmt::format("0x{:04X}: a Job's error class is 0x81, 0x82, 0x83, 0x84, 0x85 or 0x87 "
                          "(e.g. \"0x8500\"); any code goes only for Userdata requests "
                          "(\"function\": \"userdata\")",
                          *a.header_error));
  if (a.clamp_pdu != 0 && s.function != 0xF0)
    where.key("do").fail("clamp_pdu needs \"function\": \"setup_communication\"");
}

fault_rule parse_rule(const json& j, const at& where) {
  expect_object(j, where, {"name", "enabled", "when", "do"});
  fault_rule r;
  if (j.contains("name")) r.name = get_string(j.at("name"), where.key("name"), 64);
  if (j.contains("enabled")) r.enabled = get_bool(j.at("enabled"), where.key("enabled"));
  if (j.contains("when")) r.when = parse_when(j.at("when"), where.key("when"));
  if (!j.contains("do")) where.fail("missing key \"do\" (what to do)");
  r.act = parse_do(j.at("do"), where.key("do"));
  check_action(r.act, where.key("do"));
  check_rule(r, where);
  return r;
}

json duration_json(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? fmt::format("{}s", d.count() / 1000)
                               : fmt::format("{}ms", d.count());
}

json when_json(const fault_selector& s) {
  json w = json::object();
  if (s.event != fault_event_kind::request)
    w["event"] = s.event == fault_event_kind::connect ? "connect" : "accept";
  if (!s.plc.empty()) w["plc"] = s.plc;
  if (s.client) {
    const in_addr a{htonl(s.client->address)};
    std::array<char, INET_ADDRSTRLEN> t{};
    ::inet_ntop(AF_INET, &a, t.data(), t.size());
    w["client"] = s.client->bits == 32 ? std::string(t.data())
                                       : fmt::format("{}/{}", t.data(), s.client->bits);
  }
  if (s.connection_type)
    w["connection_type"] = name_or_number(connection_type_names, *s.connection_type);
  if (s.tsap) w["tsap"] = fmt::format("0x{:04X}", *s.tsap);
  if (s.userdata) w["function"] = "userdata";
  if (s.function) w["function"] = name_or_number(function_names, *s.function);
  if (s.group) w["group"] = name_or_number(group_names, *s.group);
  if (s.subfunction) w["subfunction"] = *s.subfunction;
  if (s.area) w["area"] = name_or_number(area_names, *s.area);
  if (s.db) w["db"] = *s.db;
  if (s.szl_id) w["szl_id"] = fmt::format("0x{:04X}", *s.szl_id);
  if (s.szl_index) w["szl_index"] = fmt::format("0x{:04X}", *s.szl_index);
  if (s.nth != 0) w["nth"] = s.nth;
  if (s.every != 0) w["every"] = s.every;
  if (s.probability != 1.0) w["probability"] = s.probability;
  if (s.max != 0) w["max"] = s.max;
  if (s.after.count() != 0) w["after"] = duration_json(s.after);
  if (s.until) w["until"] = duration_json(*s.until);
  return w;
}

json do_json(const fault_action& a) {
  json d = json::object();
  if (a.delay_ms != 0) d["delay_ms"] = a.delay_ms;
  if (a.jitter_ms != 0) d["jitter_ms"] = a.jitter_ms;
  if (a.no_reply) d["no_reply"] = true;
  if (a.close) d["close"] = true;
  if (a.reset) d["reset"] = true;
  if (a.cotp_dr) d["cotp_dr"] = fmt::format("0x{:02X}", *a.cotp_dr);
  if (a.header_error) d["header_error"] = fmt::format("0x{:04X}", *a.header_error);
  if (a.item_return_code) d["item_return_code"] = fmt::format("0x{:02X}", *a.item_return_code);
  if (a.wrong_pdu_ref) d["wrong_pdu_ref"] = true;
  if (a.pdu_ref) d["pdu_ref"] = *a.pdu_ref;
  if (a.duplicate) d["duplicate"] = true;
  if (a.cotp_segment != 0) d["cotp_segment"] = a.cotp_segment;
  if (a.tcp_segment != 0) d["tcp_segment"] = a.tcp_segment;
  if (a.trickle_bytes != 0)
    d["trickle"] = {{"bytes", a.trickle_bytes}, {"interval_ms", a.trickle_interval_ms}};
  if (a.refuse_connections) d["refuse_connections"] = true;
  if (a.stop) d["stop"] = true;
  if (a.clamp_pdu != 0) d["clamp_pdu"] = a.clamp_pdu;
  return d;
}

}  // namespace

const std::vector<std::string_view>& fault_kind_names() {
  static const std::vector<std::string_view> names{"delay",
                                                   "no_reply",
                                                   "close",
                                                   "reset",
                                                   "cotp_dr",
                                                   "header_error",
                                                   "item_return_code",
                                                   "wrong_pdu_ref",
                                                   "duplicate",
                                                   "cotp_segment",
                                                   "tcp_segment",
                                                   "trickle",
                                                   "refuse_connection",
                                                   "stop",
                                                   "clamp_pdu"};
  return names;
}

std::vector<std::string_view> fault_action::kinds() const {
  const auto& n = fault_kind_names();
  std::vector<std::string_view> k;
  const std::array<bool, 15> on{delay_ms != 0 || jitter_ms != 0,
                                no_reply,
                                close,
                                reset,
                                cotp_dr.has_value(),
                                header_error.has_value(),
                                item_return_code.has_value(),
                                wrong_pdu_ref || pdu_ref.has_value(),
                                duplicate,
                                cotp_segment != 0,
                                tcp_segment != 0,
                                trickle_bytes != 0,
                                refuse_connections,
                                stop,
                                clamp_pdu != 0};
  for (std::size_t i = 0; i < on.size(); ++i)
    if (on[i]) k.push_back(n[i]);
  return k;
}

std::string fault_action::describe() const {
  std::vector<std::string> parts;
  if (delay_ms != 0 || jitter_ms != 0)
    parts.push_back(jitter_ms != 0 ? fmt::format("delay {}+0..{} ms", delay_ms, jitter_ms)
                                   : fmt::format("delay {} ms", delay_ms));
  if (no_reply) parts.emplace_back("no reply");
  if (close) parts.emplace_back("close (FIN)");
  if (reset) parts.emplace_back("reset (RST)");
  if (cotp_dr) parts.push_back(fmt::format("COTP DR reason 0x{:02X}", *cotp_dr));
  if (header_error) parts.push_back(fmt::format("header error 0x{:04X}", *header_error));
  if (item_return_code)
    parts.push_back(fmt::format("item return code 0x{:02X}", *item_return_code));
  if (wrong_pdu_ref) parts.emplace_back("wrong PDU reference (+1)");
  if (pdu_ref) parts.push_back(fmt::format("PDU reference {}", *pdu_ref));
  if (duplicate) parts.emplace_back("duplicated reply");
  if (cotp_segment != 0) parts.push_back(fmt::format("COTP DT segments of {} bytes", cotp_segment));
  if (tcp_segment != 0) parts.push_back(fmt::format("TCP segments of {} bytes", tcp_segment));
  if (trickle_bytes != 0)
    parts.push_back(
        fmt::format("trickle {} byte(s) every {} ms", trickle_bytes, trickle_interval_ms));
  if (refuse_connections) parts.emplace_back("connection refused (RST)");
  if (stop) parts.emplace_back("CPU to STOP");
  if (clamp_pdu != 0) parts.push_back(fmt::format("PDU size clamped to {}", clamp_pdu));
  return fmt::format("{}", fmt::join(parts, ", "));
}

fault_rules parse_fault_rules(std::string_view json_text, const std::string& source) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw fault_error(fmt::format("{}: not valid JSON: {}", source, e.what()));
  }
  const at root(source, "", raise_fault_error);
  expect_object(doc, root, {"seed", "rules"});
  fault_rules out;
  if (doc.contains("seed")) out.seed = get_uint(doc.at("seed"), root.key("seed"), 0, UINT64_MAX);
  if (!doc.contains("rules")) root.fail("missing key \"rules\" (a list of {\"when\", \"do\"})");
  const json& rules = doc.at("rules");
  if (!rules.is_array())
    root.key("rules").fail(fmt::format("expected a list, got {}", type_of(rules)));
  if (rules.size() > 256) root.key("rules").fail("at most 256 rules");
  std::set<std::string> names;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    out.rules.push_back(parse_rule(rules[i], root.key("rules").item(i)));
    const std::string& n = out.rules.back().name;
    if (!n.empty() && !names.insert(n).second)
      root.key("rules").item(i).key("name").fail(
          fmt::format("\"{}\" names an earlier rule too", n));
  }
  return out;
}

fault_rules load_fault_rules(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw fault_error(fmt::format("{}: cannot open the fault rules file", path));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (ss.str().size() > std::size_t{1024} * 1024)
    throw fault_error(fmt::format("{}: larger than 1 MiB", path));
  return parse_fault_rules(ss.str(), path);
}

std::string fault_rules_json(const fault_rules& r) {
  json doc;
  doc["seed"] = r.seed;
  doc["rules"] = json::array();
  for (const fault_rule& rule : r.rules) {
    json j = json::object();
    if (!rule.name.empty()) j["name"] = rule.name;
    if (!rule.enabled) j["enabled"] = false;
    j["when"] = when_json(rule.when);
    j["do"] = do_json(rule.act);
    doc["rules"].push_back(std::move(j));
  }
  return doc.dump(2) + "\n";
}

std::string fault_rule_label(const fault_rules& r, std::size_t index) {
  if (index < r.rules.size() && !r.rules[index].name.empty()) return r.rules[index].name;
  return fmt::format("rule {}", index + 1);
}

}  // namespace protos7::server
