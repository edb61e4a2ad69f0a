// The plant file (plant_config.hpp, docs/PLANT.md): strict JSON walk with the JSON path and the
// PLC of every error, and the generator of `protos7 plant`.
#include "protos7/server/plant_config.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <sstream>
#include <unordered_map>

#include "json_walk.hpp"

namespace protos7::server {

namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

[[noreturn]] void raise_plant_error(const std::string& message) {
  throw plant_error(message);
}

// The document walk (json_walk.hpp) with this file's defaults: names and paths, no numbers
// written as text.
using at = json_walk::place;
using json_walk::expect_object;
using json_walk::type_of;

std::string get_string(const json& j, const at& where, std::size_t max_len) {
  return json_walk::get_string(
      j, where,
      {.max_length = max_len, .chars = json_walk::text::no_control, .allow_empty = false});
}

std::uint64_t get_uint(const json& j, const at& where, std::uint64_t lo, std::uint64_t hi) {
  return json_walk::get_uint(j, where, lo, hi, json_walk::number_text::refused);
}

std::chrono::milliseconds get_duration(const json& j, const at& where) {
  if (j.is_number_unsigned()) return std::chrono::seconds(get_uint(j, where, 0, 100'000'000));
  if (j.is_string())
    if (const auto d = parse_duration(j.get_ref<const std::string&>())) return *d;
  where.fail(fmt::format(
      "expected a duration like \"60s\", \"500ms\", \"2m\" or 0 (seconds), got {}", j.dump()));
}

// A name that is also a folder name and a URL path part.
void check_name(const std::string& name, const at& where) {
  const auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  };
  if (name.empty() || name.size() > max_plc_name_length ||
      !std::all_of(name.begin(), name.end(), ok) || name.front() == '.' || name.front() == '-')
    where.fail(
        fmt::format("\"{}\" is not a PLC name: 1 to {} letters, digits, '-', '_' or '.', not "
                    "starting with '.' or '-' (it names the PLC's folder and its web admin URL)",
                    name, max_plc_name_length));
}

// "A.B.C.D" or "A.B.C.D:PORT" (port 102 when absent).
void read_listen(const json& j, const at& where, config& cfg) {
  const std::string s = get_string(j, where, 64);
  const auto colon = s.rfind(':');
  const std::string host = colon == std::string::npos ? s : s.substr(0, colon);
  in_addr a{};
  if (::inet_pton(AF_INET, host.c_str(), &a) != 1)
    where.fail(
        fmt::format("\"{}\": expected an IPv4 address with an optional port, like "
                    "\"127.0.1.1:102\" or \"10.0.0.7\"",
                    s));
  std::uint16_t port = 102;
  if (colon != std::string::npos) {
    const std::string p = s.substr(colon + 1);
    if (p.empty() || p.size() > 5 ||
        !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(p) > 65535)
      where.fail(fmt::format("\"{}\": the port must be a number from 0 to 65535", s));
    port = static_cast<std::uint16_t>(std::stoul(p));
  }
  cfg.listen_address = host;
  cfg.port = port;
}

void read_identity(const json& j, const at& where, identity_overrides& id) {
  expect_object(j, where,
                {"order_number", "firmware_version", "as_name", "module_name", "plant_id",
                 "copyright", "serial_number", "module_type", "memory_card_serial"});
  // The lengths the profile loader allows (SZL 0x0011 and 0x001C fields).
  const auto opt = [&](std::string_view k, std::optional<std::string>& out, std::size_t max) {
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
  if (id.firmware_version) {
    unsigned a = 0, b = 0, c = 0;
    char tail = 0;
    if (std::sscanf(id.firmware_version->c_str(), "V%u.%u.%u%c", &a, &b, &c, &tail) != 3 ||
        a > 255 || b > 255 || c > 255)
      where.key("firmware_version")
          .fail("expected \"Vx.y.z\" (each part 0 to 255), e.g. \"V3.2.6\"");
  }
}

std::string resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base_dir) / p).lexically_normal().string();
}

// The keys a PLC entry (and "defaults") may hold besides name and listen.
constexpr std::array<std::string_view, 22> plc_keys = {
    "name",         "listen",        "profile",         "rack",
    "slot",         "data_dir",      "sqlite_path",     "db_bin_path",
    "pdu_size",     "max_amq",       "max_connections", "max_connections_per_address",
    "idle_timeout", "setup_timeout", "frame_timeout",   "inputs_size",
    "outputs_size", "flags_size",    "counters",        "timers",
    "identity",     "comment"};

// Limits, timeouts and sizes of one entry (or of "defaults") into `o`.
void read_numbers(const json& j, const at& where, serve_options& o) {
  config& c = o.cfg;
  const auto num = [&](const char* k, std::uint64_t lo,
                       std::uint64_t hi) -> std::optional<std::uint64_t> {
    if (!j.contains(k)) return std::nullopt;
    return get_uint(j.at(k), where.key(k), lo, hi);
  };
  if (const auto v = num("rack", 0, 7)) c.rack = static_cast<std::uint8_t>(*v);
  if (const auto v = num("slot", 0, 31)) c.slot = static_cast<std::uint8_t>(*v);
  if (const auto v = num("pdu_size", 240, 960)) {
    if (*v != 240 && *v != 480 && *v != 960) where.key("pdu_size").fail("expected 240, 480 or 960");
    c.pdu_size = static_cast<std::uint16_t>(*v);
    o.pdu_size_given = true;
  }
  if (const auto v = num("max_amq", 1, 255))
    c.max_amq = static_cast<std::uint16_t>(*v), o.max_amq_given = true;
  if (const auto v = num("max_connections", 1, 4096))
    c.max_connections = *v, o.max_connections_given = true;
  if (const auto v = num("max_connections_per_address", 0, 4096))
    c.max_connections_per_address = *v;
  if (const auto v = num("inputs_size", 0, 65536)) c.areas.inputs = *v;
  if (const auto v = num("outputs_size", 0, 65536)) c.areas.outputs = *v;
  if (const auto v = num("flags_size", 0, 65536)) c.areas.flags = *v;
  if (const auto v = num("counters", 0, 65536)) c.areas.counters = *v;
  if (const auto v = num("timers", 0, 65536)) c.areas.timers = *v;
  if (j.contains("idle_timeout"))
    c.idle_timeout = get_duration(j.at("idle_timeout"), where.key("idle_timeout"));
  if (j.contains("setup_timeout"))
    c.setup_timeout = get_duration(j.at("setup_timeout"), where.key("setup_timeout"));
  if (j.contains("frame_timeout"))
    c.frame_timeout = get_duration(j.at("frame_timeout"), where.key("frame_timeout"));
}

// One entry (or "defaults") over `o`: what it sets replaces what `o` holds.
void read_entry(const json& j, const at& where, const std::string& base_dir, serve_options& o) {
  expect_object(j, where, plc_keys);
  read_numbers(j, where, o);
  const auto path = [&](const char* k, std::string& out) {
    if (j.contains(k)) out = resolve(base_dir, get_string(j.at(k), where.key(k), 4096));
  };
  path("profile", o.profile_path);
  path("data_dir", o.data_dir);
  path("sqlite_path", o.sqlite_path);
  path("db_bin_path", o.db_bin_path);
  if (j.contains("identity")) read_identity(j.at("identity"), where.key("identity"), o.identity);
  if (j.contains("listen")) read_listen(j.at("listen"), where.key("listen"), o.cfg);
  if (j.contains("comment") && !j.at("comment").is_string())
    where.key("comment").fail(fmt::format("expected a string, got {}", type_of(j.at("comment"))));
}

}  // namespace

std::string describe_plc(const plant_plc& p) {
  return fmt::format("PLC \"{}\" ({})", p.name, p.json_path);
}

namespace {

// identity_overrides of `over` replace those of `base`, field by field.
void merge_identity(identity_overrides& base, const identity_overrides& over) {
  for (auto [dst, src] : {std::pair{&base.order_number, &over.order_number},
                          {&base.firmware_version, &over.firmware_version},
                          {&base.as_name, &over.as_name},
                          {&base.module_name, &over.module_name},
                          {&base.plant_id, &over.plant_id},
                          {&base.copyright, &over.copyright},
                          {&base.serial_number, &over.serial_number},
                          {&base.module_type, &over.module_type},
                          {&base.memory_card_serial, &over.memory_card_serial}})
    if (*src) *dst = *src;
}

plant_plc read_plc(const json& j, const at& where, std::size_t index, const std::string& base_dir,
                   const serve_options& defaults, const std::string& data_root) {
  if (!j.is_object()) where.fail(fmt::format("expected an object, got {}", type_of(j)));
  if (!j.contains("name")) where.fail("missing key \"name\"");
  plant_plc p;
  p.name = get_string(j.at("name"), where.key("name"), max_plc_name_length);
  check_name(p.name, where.key("name"));
  p.json_path = fmt::format("$.plcs[{}]", index);
  const at w = where.with_context(fmt::format("PLC \"{}\"", p.name));
  if (!j.contains("listen"))
    w.fail("missing key \"listen\" (the PLC's address, e.g. \"127.0.1.1:102\")");
  p.opt = defaults;
  p.opt.identity = {};
  read_entry(j, w, base_dir, p.opt);
  identity_overrides id = defaults.identity;
  merge_identity(id, p.opt.identity);
  p.opt.identity = std::move(id);
  if (!j.contains("data_dir")) p.opt.data_dir = (fs::path(data_root) / p.name).string();
  return p;
}

}  // namespace

namespace {

// "plc-0001" and "PLC-0001" would be the same folder on a case-insensitive file system.
std::string folded(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Names, and addresses: one per PLC; 0.0.0.0:P takes port P on every address.
void check_unique(const plant_file& f, const at& root) {
  std::unordered_map<std::string, std::size_t> names;
  std::map<std::pair<std::uint32_t, std::uint16_t>, std::size_t> addresses;
  std::map<std::uint16_t, std::size_t> any_on_port, wildcard_on_port;
  for (std::size_t i = 0; i < f.plcs.size(); ++i) {
    const plant_plc& p = f.plcs[i];
    const at w = root.key("plcs").item(i).with_context(fmt::format("PLC \"{}\"", p.name));
    if (const auto [it, added] = names.emplace(folded(p.name), i); !added)
      w.key("name").fail(
          fmt::format("the name is also the name of {}", describe_plc(f.plcs[it->second])));
    const std::uint16_t port = p.opt.cfg.port;
    if (port == 0) continue;  // an ephemeral port each (tests)
    in_addr a{};
    ::inet_pton(AF_INET, p.opt.cfg.listen_address.c_str(), &a);
    const std::string where = fmt::format("{}:{}", p.opt.cfg.listen_address, port);
    const auto clash = [&](std::size_t other) {
      w.key("listen").fail(
          fmt::format("{} is also the address of {}", where, describe_plc(f.plcs[other])));
    };
    if (const auto it = addresses.find({a.s_addr, port}); it != addresses.end()) clash(it->second);
    if (const auto it = wildcard_on_port.find(port); it != wildcard_on_port.end())
      clash(it->second);
    if (a.s_addr == INADDR_ANY)
      if (const auto it = any_on_port.find(port); it != any_on_port.end()) clash(it->second);
    addresses.emplace(std::pair{a.s_addr, port}, i);
    any_on_port.emplace(port, i);
    if (a.s_addr == INADDR_ANY) wildcard_on_port.emplace(port, i);
  }
}

// Each profile file is loaded once; a PLC whose profile does not load names it.
void load_profiles(plant_file& f, const at& root) {
  for (std::size_t i = 0; i < f.plcs.size(); ++i) {
    const plant_plc& p = f.plcs[i];
    if (f.profiles.contains(p.opt.profile_path)) continue;
    if (p.opt.profile_path.empty()) {
      f.profiles.emplace("", std::shared_ptr<const plc_profile>(
                                 std::shared_ptr<const plc_profile>{}, &bundled_profile()));
      continue;
    }
    try {
      f.profiles.emplace(p.opt.profile_path,
                         std::make_shared<const plc_profile>(load_profile(p.opt.profile_path)));
    } catch (const std::exception& e) {
      root.key("plcs")
          .item(i)
          .with_context(fmt::format("PLC \"{}\"", p.name))
          .key("profile")
          .fail(e.what());
    }
  }
}

// No two PLCs share a storage folder or SQLite file (they would write each other's DB files);
// an explicit SQLite file must exist, as for `serve -s`.
void check_storage(const plant_file& f, const at& root) {
  std::map<std::string, std::size_t> bins, sqlite;
  const auto norm = [](const std::string& p) {
    return fs::absolute(p).lexically_normal().string();
  };
  for (std::size_t i = 0; i < f.plcs.size(); ++i) {
    const serve_options& o = f.plcs[i].opt;
    const at w = root.key("plcs").item(i).with_context(fmt::format("PLC \"{}\"", f.plcs[i].name));
    const std::string bin = norm(o.db_bin_path.empty() ? o.data_dir : o.db_bin_path);
    const std::string db = norm(o.sqlite_path.empty() ? o.data_dir + "/protos7.db" : o.sqlite_path);
    if (const auto [it, added] = bins.emplace(bin, i); !added)
      w.key(o.db_bin_path.empty() ? "data_dir" : "db_bin_path")
          .fail(
              fmt::format("{} is also the DB folder of {}", bin, describe_plc(f.plcs[it->second])));
    if (const auto [it, added] = sqlite.emplace(db, i); !added)
      w.key(o.sqlite_path.empty() ? "data_dir" : "sqlite_path")
          .fail(fmt::format("{} is also the SQLite file of {}", db,
                            describe_plc(f.plcs[it->second])));
    std::error_code ec;
    if (!o.sqlite_path.empty() && !fs::exists(o.sqlite_path, ec))
      w.key("sqlite_path").fail(fmt::format("SQLite database {} does not exist", o.sqlite_path));
  }
}

void read_header(const json& doc, const at& root, plant_file& f) {
  expect_object(
      doc, root,
      {"format", "version", "name", "description", "data_dir", "defaults", "plcs", "comment"});
  if (!doc.contains("format") || doc.at("format") != "protos7-plant")
    root.key("format").fail("expected \"protos7-plant\" (is this a plant file? docs/PLANT.md)");
  if (!doc.contains("version") || doc.at("version") != plant_format_version)
    root.key("version").fail(
        fmt::format("expected {} (this protos7 reads plant files of version {})",
                    plant_format_version, plant_format_version));
  if (doc.contains("name")) f.name = get_string(doc.at("name"), root.key("name"), 128);
  if (doc.contains("description") && !doc.at("description").is_string())
    root.key("description").fail("expected a string");
  if (!doc.contains("plcs") || !doc.at("plcs").is_array())
    root.key("plcs").fail("expected an array of PLCs ({\"name\": ..., \"listen\": ...})");
  const std::size_t n = doc.at("plcs").size();
  if (n == 0 || n > max_plant_plcs)
    root.key("plcs").fail(fmt::format("expected 1 to {} PLCs, got {}", max_plant_plcs, n));
}

}  // namespace

plant_file parse_plant(std::string_view text, const std::string& source,
                       const std::string& base_dir) {
  plant_file f;
  f.source = source;
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    throw plant_error(fmt::format("{}: not valid JSON: {}", source, what));
  }
  const at root{source, "$", raise_plant_error};
  read_header(doc, root, f);
  const std::string stem = fs::path(source).stem().string();
  if (f.name.empty()) f.name = stem;
  const std::string data_root =
      resolve(base_dir, doc.contains("data_dir")
                            ? get_string(doc.at("data_dir"), root.key("data_dir"), 4096)
                            : (stem.empty() ? "plant" : stem) + "-data");
  serve_options defaults;
  if (doc.contains("defaults")) {
    const json& d = doc.at("defaults");
    for (const char* own : {"name", "listen", "data_dir", "sqlite_path", "db_bin_path"})
      if (d.is_object() && d.contains(own))
        root.key("defaults").key(own).fail("not allowed in defaults: every PLC has its own");
    read_entry(d, root.key("defaults"), base_dir, defaults);
  }
  const json& plcs = doc.at("plcs");
  f.plcs.reserve(plcs.size());
  for (std::size_t i = 0; i < plcs.size(); ++i)
    f.plcs.push_back(read_plc(plcs[i], root.key("plcs").item(i), i, base_dir, defaults, data_root));
  check_unique(f, root);
  load_profiles(f, root);
  check_storage(f, root);
  return f;
}

plant_file load_plant(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw plant_error(
        fmt::format("{}: cannot read the plant file: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  const fs::path parent = fs::path(path).parent_path();
  return parse_plant(ss.str(), path, parent.empty() ? "." : parent.string());
}

namespace {

// The IPv4 address after `a` (host order) for a generated plant: .0 and .255 are skipped, and a
// loopback base stays inside 127.0.0.0/8.
std::optional<std::uint32_t> next_address(std::uint32_t a, bool loopback) {
  do {
    if (a >= 0xFFFFFFFEU) return std::nullopt;
    ++a;
  } while ((a & 0xFFU) == 0 || (a & 0xFFU) == 0xFFU);
  if (loopback && (a >> 24U) != 127) return std::nullopt;
  return a;
}

std::string generated_plc(const plant_generate_options& o, std::size_t i, int width,
                          std::uint32_t addr, std::uint16_t port) {
  const std::string name = fmt::format("{}-{:0{}}", o.prefix, i + 1, width);
  in_addr a{};
  a.s_addr = htonl(addr);
  std::array<char, INET_ADDRSTRLEN> text{};
  ::inet_ntop(AF_INET, &a, text.data(), text.size());
  json e;
  e["name"] = name;
  e["listen"] = fmt::format("{}:{}", text.data(), port);
  e["identity"] = {{"as_name", name}, {"serial_number", fmt::format("S P7-PLT{:08}", i + 1)}};
  return e.dump();
}

}  // namespace

std::string generate_plant(const plant_generate_options& o) {
  if (o.count < 1 || o.count > max_plant_plcs)
    throw plant_error(fmt::format("--count must be 1 to {}", max_plant_plcs));
  config base;
  const std::string src = "--listen-base";
  read_listen(json(o.listen_base), at{src, "", raise_plant_error}, base);
  const std::string prefix_src = "--prefix";
  check_name(o.prefix + "-1", at{prefix_src, "", raise_plant_error});
  in_addr a{};
  ::inet_pton(AF_INET, base.listen_address.c_str(), &a);
  std::uint32_t addr = ntohl(a.s_addr);
  const bool loopback = (addr >> 24U) == 127;
  if (!o.vary_port && ((addr & 0xFFU) == 0 || (addr & 0xFFU) == 0xFFU || addr == 0))
    throw plant_error(fmt::format(
        "--listen-base {}: start at an address that does not end in .0 or .255", o.listen_base));
  json head;
  head["format"] = "protos7-plant";
  head["version"] = plant_format_version;
  head["name"] = o.name;
  if (!o.profile.empty()) {
    try {
      (void)load_profile(o.profile);
    } catch (const std::exception& e) {
      throw plant_error(fmt::format("--profile: {}", e.what()));
    }
    const fs::path out_dir =
        fs::absolute(o.output.empty() ? fs::path("x") : fs::path(o.output)).parent_path();
    const std::string rel =
        fs::absolute(o.profile).lexically_normal().lexically_relative(out_dir).string();
    head["defaults"] = {{"profile", rel.empty() ? fs::absolute(o.profile).string() : rel}};
  }
  const int width = std::max(4, static_cast<int>(fmt::format("{}", o.count).size()));
  std::string out = head.dump(2);
  out.erase(out.rfind('}'));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  out += ",\n  \"plcs\": [\n";
  for (std::size_t i = 0; i < o.count; ++i) {
    if (o.vary_port && base.port + i > 65535)
      throw plant_error(
          fmt::format("--count {} from port {} runs past port 65535", o.count, base.port));
    const auto port = static_cast<std::uint16_t>(o.vary_port ? base.port + i : base.port);
    out += "    " + generated_plc(o, i, width, addr, port) + (i + 1 < o.count ? ",\n" : "\n");
    if (o.vary_port || i + 1 == o.count) continue;
    const auto next = next_address(addr, loopback);
    if (!next)
      throw plant_error(fmt::format("--count {} from {} runs out of {} addresses", o.count,
                                    o.listen_base, loopback ? "127.0.0.0/8" : "IPv4"));
    addr = *next;
  }
  out += "  ]\n}\n";
  return out;
}

}  // namespace protos7::server
