// The reports of collected captures (tests), `protos7 replay` itself, and the progress line.
#include "protos7/replay/report.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>

#include "writers.hpp"

namespace protos7::replay {

namespace {

constexpr std::string_view derived_note = "no S7 connection could be replayed";

// A collected capture report fed to a writer as a replay would have.
void feed(const capture_report& r, detail::report_writer& w) {
  w.begin_capture(r.path);
  if (!r.loaded) w.capture_error(r.error);
  for (const std::string& n : r.notes)
    if (!n.starts_with(derived_note)) w.capture_note(n);
  for (const connection_report& c : r.connections) {
    detail::connection_totals t;
    for (const answer& a : c.answers) {
      t.add(a);
      w.answer(c.index, a);
    }
    connection_summary s;
    s.index = c.index;
    s.client = c.client;
    s.server = c.server;
    s.first_frame = c.first_frame;
    s.last_frame = c.last_frame;
    s.replayed = c.replayed;
    s.skip_reason = c.skip_reason;
    s.notes = c.notes;
    s.synthesized_start = c.synthesized_start;
    w.connection_done(s, t);
  }
  w.end_capture();
}

detail::run_info info_of(const options& opt) {
  detail::run_info info;
  info.target = opt.label.empty() ? opt.tgt.to_string() : opt.label;
  info.timeout_ms = static_cast<long long>(opt.timeout.count());
  return info;
}

std::string read_all(std::FILE* f) {
  std::string s;
  std::rewind(f);
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
  return s;
}

}  // namespace

std::string target::to_string() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

bool parse_target(std::string_view text, target& out, std::string& err) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      err = fmt::format("target \"{}\": expected [IPV6]:PORT", text);
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      err = fmt::format("target \"{}\": expected HOST:PORT", text);
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      err = fmt::format("target \"{}\": write an IPv6 address as [ADDRESS]:PORT", text);
      return false;
    }
  }
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc{} || ptr != port.data() + port.size() ||
      value == 0 || value > 65535) {
    err = fmt::format("target \"{}\": expected HOST:PORT with a port 1..65535", text);
    return false;
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return true;
}

void write_text(std::span<const capture_report> reports, const options& opt, bool verbose,
                std::FILE* out) {
  const auto w = detail::text_writer(out, verbose);
  w->begin_run(info_of(opt));
  for (const capture_report& r : reports) feed(r, *w);
  (void)w->end_run();
}

std::string to_json(std::span<const capture_report> reports, const options& opt) {
  std::FILE* f = std::tmpfile();
  if (f == nullptr) return {};
  const auto w = detail::json_writer(f, true);
  w->begin_run(info_of(opt));
  for (const capture_report& r : reports) feed(r, *w);
  (void)w->end_run();
  std::string s = read_all(f);
  std::fclose(f);
  return s;
}

std::string to_junit(std::span<const capture_report> reports) {
  const std::string path =
      (std::filesystem::temp_directory_path() / fmt::format("protos7-junit-{}.xml", ::getpid()))
          .string();
  const auto w = detail::junit_writer(path);
  w->begin_run({});
  for (const capture_report& r : reports) feed(r, *w);
  (void)w->end_run();
  std::string s;
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    s = read_all(f);
    std::fclose(f);
  }
  std::filesystem::remove(path);
  return s;
}

}  // namespace protos7::replay
