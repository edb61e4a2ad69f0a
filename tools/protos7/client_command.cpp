#include "client_command.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "protos7/client/operations.hpp"
#include "protos7/client/value_text.hpp"
#include "protos7/codec/step7_address.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/server/app.hpp"
#include "protos7/server/exit_codes.hpp"

namespace protos7::cli {

namespace {

namespace step7 = codec::step7;
namespace szl = codec::szl;
using codec::s7::any_address;

std::string check_duration(const std::string& s) {
  const auto d = server::parse_duration(s);
  return d && d->count() > 0 ? std::string{} : "expected a duration like 5s or 500ms";
}

// "0x0011", "16#0011", "0011" (hex, as SZL-IDs are written) -> the number.
bool parse_hex16(std::string_view s, std::uint16_t& out) {
  if (s.starts_with("0x") || s.starts_with("0X"))
    s.remove_prefix(2);
  else if (s.starts_with("16#"))
    s.remove_prefix(3);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

// Operands parsed, or the first error printed; `what` names the command.
bool operands(const std::vector<std::string>& texts, std::vector<any_address>& out) {
  for (const std::string& t : texts) {
    const auto a = step7::parse(t);
    if (!a) {
      fmt::print(stderr,
                 "protos7 client: '{}' is not a STEP 7 operand ({} at character {}); "
                 "e.g. DB1.DBW0, DB1.DBX4.0, MW10, I0.1, \"MB0 BYTE 4\"\n",
                 t, codec::to_string(a.err().code), a.err().offset + 1);
      return false;
    }
    out.push_back(*a);
  }
  return true;
}

int do_read(client::connection& c, const client_command& cmd) {
  std::vector<any_address> items;
  if (!operands(cmd.operands, items)) return exit_code::usage;
  const auto r = client::read_var(c, items);
  int status = exit_code::ok;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (r[i].return_code == codec::s7::return_code::success) {
      fmt::print("{} = {}\n", cmd.operands[i], client::format_value(items[i], r[i].data));
    } else {
      fmt::print(stderr, "{}: {}\n", cmd.operands[i], client::return_code_text(r[i].return_code));
      status = exit_code::findings;
    }
  }
  return status;
}

int do_write(client::connection& c, const client_command& cmd) {
  std::vector<std::string> names;
  std::vector<any_address> items;
  std::vector<std::vector<std::byte>> data;
  for (const std::string& w : cmd.operands) {
    const auto eq = w.find('=');
    if (eq == std::string::npos) {
      fmt::print(stderr, "protos7 client: write '{}': give OPERAND=VALUE, e.g. MW10=42\n", w);
      return exit_code::usage;
    }
    names.push_back(w.substr(0, eq));
    if (!operands({names.back()}, items)) return exit_code::usage;
    data.emplace_back();
    if (const status st = client::parse_value(items.back(), w.substr(eq + 1), data.back()); !st) {
      fmt::print(stderr, "protos7 client: write {}: {}\n", names.back(), st.why());
      return exit_code::usage;
    }
  }
  const auto codes = client::write_var(c, items, data);
  int status = exit_code::ok;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (codes[i] == codec::s7::return_code::success) {
      fmt::print("{} := {}\n", names[i], client::format_value(items[i], data[i]));
    } else {
      fmt::print(stderr, "{}: {}\n", names[i], client::return_code_text(codes[i]));
      status = exit_code::findings;
    }
  }
  return status;
}

// A record of a list the codec models, decoded; "" for the others (printed as hex only).
std::string describe_record(std::uint16_t id, codec::bytes rec) {
  const std::uint8_t list = szl::list_number(id);
  // The text without its padding; bytes that are not printable ASCII as \xHH (SZL 0x001C index
  // 9 holds binary IDs, and a terminal must never get raw control bytes or broken UTF-8).
  const auto trimmed = [](const auto& chars) {
    std::string s(chars.begin(), chars.end());
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
    std::string out;
    for (const char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x20 && u < 0x7F && c != '\\' && c != '"')
        out += c;
      else
        out += fmt::format("\\x{:02X}", u);
    }
    return out;
  };
  if (list == 0x11) {
    if (const auto m = szl::parse_module_identification(rec, nullptr)) {
      const szl::version v = szl::version_of(*m);
      return fmt::format(
          "index 0x{:04X}: \"{}\"{}", m->index, trimmed(m->mlfb),
          v.letter == 'V' ? fmt::format(" V{}.{}.{}", v.major, v.minor, v.patch) : "");
    }
  } else if (list == 0x1C) {
    if (const auto ci = szl::parse_component_identification(rec, nullptr))
      return fmt::format("index 0x{:04X}: \"{}\"", ci->index, trimmed(ci->name));
  } else if (id == 0x0424) {
    if (const auto om = szl::parse_operating_mode(rec, nullptr))
      return om->mode() == szl::bzu_run    ? "mode RUN"
             : om->mode() == szl::bzu_stop ? "mode STOP"
                                           : fmt::format("mode 0x{:X}", om->mode());
  }
  return {};
}

int do_szl(client::connection& c, const client_command& cmd) {
  std::uint16_t id = 0;
  std::uint16_t index = 0;
  if (!parse_hex16(cmd.szl_id, id) || !parse_hex16(cmd.szl_index, index)) {
    fmt::print(stderr, "protos7 client: szl ID [INDEX] are hex numbers, e.g. szl 0x0011 0x0001\n");
    return exit_code::usage;
  }
  const client::szl_answer a = client::read_szl(c, id, index);
  fmt::print("SZL 0x{:04X} index 0x{:04X}: {} record(s) of {} bytes\n", a.id, a.index,
             a.record_count, a.record_length);
  for (std::size_t i = 0; a.record_length > 0 && i + a.record_length <= a.records.size();
       i += a.record_length) {
    const codec::bytes rec{a.records.data() + i, a.record_length};
    std::string hex;
    for (const std::byte b : rec) hex += fmt::format("{:02x}", std::to_integer<unsigned>(b));
    const std::string what = describe_record(a.id, rec);
    fmt::print("  {}{}{}\n", hex, what.empty() ? "" : "  ", what);
  }
  return exit_code::ok;
}

int do_blocks(client::connection& c, const client_command& cmd) {
  if (cmd.block.empty()) {
    for (const client::block_type_count& b : client::list_blocks(c))
      fmt::print("{:<4} {}\n", client::block_type_name(b.type), b.count);
    return exit_code::ok;
  }
  const std::uint8_t type = client::block_type_code(cmd.block);
  if (type == 0) {
    fmt::print(stderr, "protos7 client: '{}' is not a block type (OB, DB, SDB, FC, SFC, FB, SFB)\n",
               cmd.block);
    return exit_code::usage;
  }
  for (const auto& e : client::list_blocks_of_type(c, type))
    fmt::print("{}{}\n", client::block_type_name(type), e.number);
  return exit_code::ok;
}

int do_upload(client::connection& c, const client_command& cmd) {
  std::size_t letters = 0;
  while (letters < cmd.block.size() &&
         !std::isdigit(static_cast<unsigned char>(cmd.block[letters])))
    ++letters;
  const std::uint8_t type = client::block_type_code(std::string_view(cmd.block).substr(0, letters));
  std::uint32_t number = 0;
  const std::string_view digits = std::string_view(cmd.block).substr(letters);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (type == 0 || digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
      number > 65535) {
    fmt::print(stderr, "protos7 client: upload '{}': give a block, e.g. OB1, DB10, FC2\n",
               cmd.block);
    return exit_code::usage;
  }
  const std::vector<std::byte> block = client::upload(c, type, number);
  const std::string path = cmd.output.empty() ? cmd.block + ".mc7" : cmd.output;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(block.size()));
  if (!f.flush()) {
    fmt::print(stderr, "protos7 client: cannot write {}\n", path);
    return exit_code::cant_create;
  }
  fmt::print("{}: {} bytes written to {}\n", cmd.block, block.size(), path);
  return exit_code::ok;
}

}  // namespace

void add_connect_options(CLI::App& app, connect_options& o) {
  app.add_option("--rack", o.rack, "Rack of the CPU")
      ->capture_default_str()
      ->check(CLI::Range(0, 7));
  app.add_option("--slot", o.slot, "Slot of the CPU")
      ->capture_default_str()
      ->check(CLI::Range(0, 31));
  app.add_option("--timeout", o.timeout, "Wait this long to connect and for each answer")
      ->capture_default_str()
      ->check(check_duration);
  app.add_option("--pdu-size", o.pdu_size, "PDU size to ask for in Setup Communication")
      ->capture_default_str()
      ->check(CLI::Range(240, 960));
}

bool resolve_connect(const connect_options& o, std::uint16_t default_port, client::endpoint& ep,
                     client::options& opt, std::string& why) {
  const status st = client::parse_endpoint(o.target, ep, default_port);
  why = st.why();
  opt.rack = static_cast<std::uint8_t>(o.rack);
  opt.slot = static_cast<std::uint8_t>(o.slot);
  opt.pdu_size = o.pdu_size;
  opt.timeout = *server::parse_duration(o.timeout);
  return st.ok();
}

int exit_status(const client::client_error& e) noexcept {
  switch (e.kind()) {
    case client::failure::unreachable:
    case client::failure::timeout:
      return exit_code::unavailable;
    case client::failure::refused:
      return exit_code::findings;
    case client::failure::protocol:
      return exit_code::protocol;
  }
  return exit_code::software;
}

void add_client(CLI::App& app, client_command& c) {
  CLI::App* cl = app.add_subcommand(
      "client",
      "Talk to a PLC or S7 server from the terminal in STEP 7 notation: read, write, "
      "szl, blocks, upload");
  cl->add_option("target", c.conn.target, "HOST[:PORT] or [IPV6]:PORT (port 102 by default)")
      ->required();
  add_connect_options(*cl, c.conn);
  cl->require_subcommand(1);
  c.read =
      cl->add_subcommand("read", "Read operands in one job: read DB1.DBW0 MW10 \"MB0 BYTE 4\"");
  c.read->add_option("operands", c.operands, "STEP 7 operands")->required();
  c.write = cl->add_subcommand("write", "Write values in one job: write MW10=42 DB1.DBX0.1=1");
  c.write->add_option("assignments", c.operands, "OPERAND=VALUE")->required();
  c.szl = cl->add_subcommand("szl", "Read an SZL list: szl 0x0011 [INDEX]");
  c.szl->add_option("id", c.szl_id, "SZL-ID (hex)")->required();
  c.szl->add_option("index", c.szl_index, "SZL index (hex)")->capture_default_str();
  c.blocks =
      cl->add_subcommand("blocks", "List the block counts, or the blocks of one type: blocks DB");
  c.blocks->add_option("type", c.block, "OB, DB, SDB, FC, SFC, FB or SFB");
  c.upload = cl->add_subcommand("upload", "Upload a block to a file: upload OB1 [-o OB1.mc7]");
  c.upload->add_option("block", c.block, "The block, e.g. OB1, DB10")->required();
  c.upload->add_option("-o,--output", c.output, "File to write (default: BLOCK.mc7)");
  c.app = cl;
}

int run_client(const client_command& c) {
  client::endpoint ep;
  client::options opt;
  if (std::string why; !resolve_connect(c.conn, 102, ep, opt, why)) {
    fmt::print(stderr, "protos7 client: {}\n", why);
    return exit_code::usage;
  }
  try {
    client::connection conn(ep, opt);
    if (*c.read) return do_read(conn, c);
    if (*c.write) return do_write(conn, c);
    if (*c.szl) return do_szl(conn, c);
    if (*c.blocks) return do_blocks(conn, c);
    return do_upload(conn, c);
  } catch (const client::client_error& e) {
    fmt::print(stderr, "protos7 client: {}\n", e.what());
    return exit_status(e);
  }
}

void add_health(CLI::App& app, health_command& c) {
  CLI::App* h = app.add_subcommand(
      "health",
      "Check that an S7 server answers: COTP, Setup Communication and SZL 0x0424 (the "
      "CPU's mode). Exit 0 healthy, 69 no answer, 1 refused (or STOP with "
      "--require-run), 76 a broken answer");
  c.conn.target = "localhost";
  h->add_option("target", c.conn.target, "HOST[:PORT] (port 102 by default)")
      ->capture_default_str();
  c.conn.timeout = "2s";
  add_connect_options(*h, c.conn);
  h->add_flag("--require-run", c.require_run, "Unhealthy (exit 1) unless the CPU is in RUN");
  c.app = h;
}

int run_health(const health_command& c) {
  client::endpoint ep;
  client::options opt;
  if (std::string why; !resolve_connect(c.conn, 102, ep, opt, why)) {
    fmt::print(stderr, "protos7 health: {}\n", why);
    return exit_code::usage;
  }
  const auto t0 = std::chrono::steady_clock::now();
  try {
    client::connection conn(ep, opt);
    const client::szl_answer a = client::read_szl(conn, 0x0424, 0x0000);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const codec::bytes rec{a.records.data(),
                           std::min<std::size_t>(a.record_length, a.records.size())};
    const auto mode = szl::parse_operating_mode(rec, nullptr);
    const bool run = mode && mode->mode() == szl::bzu_run;
    const std::string what = mode ? describe_record(0x0424, rec) : "mode unknown";
    if (c.require_run && !run) {
      fmt::print(stderr, "protos7 health: {} answers but the CPU is not in RUN ({})\n", conn.peer(),
                 what);
      return exit_code::findings;
    }
    fmt::print("{} healthy: COTP, Setup Communication and SZL 0x0424 answered in {:.1f} ms, {}\n",
               conn.peer(), ms, what);
    return exit_code::ok;
  } catch (const client::client_error& e) {
    fmt::print(stderr, "protos7 health: {}\n", e.what());
    return exit_status(e);
  }
}

}  // namespace protos7::cli
