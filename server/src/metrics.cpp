#include "protos7/server/metrics.hpp"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "protos7/codec/reader.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_header.hpp"
#include "protos7/codec/s7_param.hpp"
#include "protos7/codec/s7_peek.hpp"
#include "protos7/codec/transport.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/server/session.hpp"
#include "protos7/version.hpp"

namespace protos7::server {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
using clock_type = std::chrono::steady_clock;

namespace {

// Request latency and group commit: 50 µs to 5 s (a Read Var on loopback takes tens of µs; a
// commit is one fdatasync, 1 ms to tens of ms on disks, far more on a saturated one).
constexpr std::array<double, 14> latency_bounds{
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0};
histogram g_fsync{latency_bounds};             // every fdatasync of the process (see time_syncs)
fdatasync_fn g_next_fdatasync = &::fdatasync;  // what the timed one calls

int timed_fdatasync(int fd) {
  const auto t0 = clock_type::now();
  const int rc = g_next_fdatasync(fd);
  g_fsync.observe(clock_type::now() - t0);
  return rc;
}

constexpr std::string_view kind_names[] = {
    "setup_communication",
    "read_var",
    "write_var",
    "request_download",
    "download_block",
    "download_ended",
    "start_upload",
    "upload",
    "end_upload",
    "pi_service",
    "plc_stop",
    "other_job",
    "read_szl",
    "message_service",
    "list_blocks",
    "list_blocks_of_type",
    "block_info",
    "password",
    "read_clock",
    "set_clock",
    "cyclic",
    "other_userdata",
};
static_assert(std::size(kind_names) == static_cast<std::size_t>(request_kind::count_));

request_kind job_kind(std::uint8_t fn) noexcept {
  switch (static_cast<s7::function>(fn)) {
    case s7::function::setup_communication:
      return request_kind::setup_communication;
    case s7::function::read_var:
      return request_kind::read_var;
    case s7::function::write_var:
      return request_kind::write_var;
    case s7::function::request_download:
      return request_kind::request_download;
    case s7::function::download_block:
      return request_kind::download_block;
    case s7::function::download_ended:
      return request_kind::download_ended;
    case s7::function::start_upload:
      return request_kind::start_upload;
    case s7::function::upload:
      return request_kind::upload;
    case s7::function::end_upload:
      return request_kind::end_upload;
    case s7::function::pi_service:
      return request_kind::pi_service;
    case s7::function::plc_stop:
      return request_kind::plc_stop;
    default:
      return request_kind::other_job;
  }
}

request_kind userdata_kind(std::uint8_t group, std::uint8_t sub) noexcept {
  switch (static_cast<ud::group>(group)) {
    case ud::group::cpu:
      if (sub == ud::sub::read_szl) return request_kind::read_szl;
      if (sub == ud::sub::message_service) return request_kind::message_service;
      break;
    case ud::group::block:
      if (sub == ud::sub::list_blocks) return request_kind::list_blocks;
      if (sub == ud::sub::list_blocks_of_type) return request_kind::list_blocks_of_type;
      if (sub == ud::sub::block_info) return request_kind::block_info;
      break;
    case ud::group::security:
      return request_kind::password;
    case ud::group::time:
      return sub == ud::sub::read_clock || sub == ud::sub::read_clock_following
                 ? request_kind::read_clock
                 : request_kind::set_clock;
    case ud::group::cyclic:
      return request_kind::cyclic;
    default:
      break;
  }
  return request_kind::other_userdata;
}

void counter(std::string& out, std::string_view name, std::string_view help, double value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, value);
}
void gauge(std::string& out, std::string_view name, std::string_view help, double value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, value);
}

// Open file descriptors and resident memory from /proc (0 where it cannot be read).
std::size_t open_fds() {
  std::error_code ec;
  std::size_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return n;
}
double resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  (void)std::fclose(f);  // read-only: nothing is lost if closing fails
  return n == 2 ? static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) : 0;
}

}  // namespace

// --- histogram -----------------------------------------------------------------------------------

histogram::histogram(std::span<const double> bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds.size(); ++i) buckets_[i].store(0);
}

void histogram::observe(std::chrono::nanoseconds d, std::uint64_t times) noexcept {
  const double s = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < bounds_.size() && s > bounds_[i]) ++i;
  buckets_[i].fetch_add(times, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(d.count()) * times, std::memory_order_relaxed);
  count_.fetch_add(times, std::memory_order_relaxed);
}

void histogram::render(std::string& out, std::string_view name) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  cumulative += buckets_[bounds_.size()].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  out += fmt::format("{}_sum {}\n", name, static_cast<double>(sum_ns_.load()) * 1e-9);
  out += fmt::format("{}_count {}\n", name, cumulative);
}

std::string_view request_kind_name(request_kind k) noexcept {
  return kind_names[static_cast<std::size_t>(k)];
}

// --- metrics -------------------------------------------------------------------------------------

// One connection's requests waiting for their answer (in order; a CPU answers each job once).
struct metrics::connection {
  struct waiting {
    std::uint16_t pdu_ref = 0;
    request_kind kind = request_kind::other_job;
  };
  // The answers a client may wait for at once: at most its Max AmQ (255) requests.
  std::array<waiting, 256> pending{};
  std::size_t first = 0;
  std::size_t count = 0;
};

metrics::metrics()
    : latency_(latency_bounds),
      commit_(latency_bounds),
      started_(std::chrono::system_clock::now()) {}

metrics::~metrics() = default;

void metrics::on_open(int id, const std::string& /*peer*/) {
  accepted_.fetch_add(1, std::memory_order_relaxed);
  conns_[id] = std::make_unique<connection>();
}

void metrics::on_close(int id) {
  closed_.fetch_add(1, std::memory_order_relaxed);
  conns_.erase(id);
}

void metrics::on_traffic(int /*id*/, std::span<const std::byte> /*in*/,
                         std::span<const std::byte> /*out*/) {}

void metrics::on_event(int id, const session_event& e) {
  const auto it = conns_.find(id);
  if (it == conns_.end()) return;
  connection& c = *it->second;
  switch (e.what) {
    case session_event::kind::transport_error:
      protocol_errors_.fetch_add(1, std::memory_order_relaxed);
      return;
    case session_event::kind::request:
      if (!e.pdu.empty()) on_request(c, e.pdu);
      return;
    case session_event::kind::reply:
      on_answer(c, e.pdu, e.decoded, e.failed_items);
      return;
    case session_event::kind::connect_request:
    case session_event::kind::connected:
      return;
  }
}

void metrics::on_request(connection& c, std::span<const std::byte> pdu) {
  const s7::peek_result p = s7::peek(pdu);
  if (!p.s7) {
    protocol_errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  request_kind k{};
  if (p.rosctr == static_cast<std::uint8_t>(s7::rosctr::job) && p.has_function)
    k = job_kind(p.function);
  else if (p.rosctr == static_cast<std::uint8_t>(s7::rosctr::userdata) && p.ud)
    k = userdata_kind(p.ud_group, p.ud_subfunction);
  else
    return;  // an Ack / Ack_Data of the client (a download the CPU drives): not a request
  requests_[static_cast<std::size_t>(k)].fetch_add(1, std::memory_order_relaxed);
  if (c.count == c.pending.size()) {  // a client beyond any Max AmQ: forget the oldest
    c.first = (c.first + 1) % c.pending.size();
    --c.count;
  }
  c.pending[(c.first + c.count) % c.pending.size()] = {p.pdu_ref, k};
  ++c.count;
}

void metrics::on_answer(connection& c, std::span<const std::byte> pdu, const s7::message* decoded,
                        int failed_items) {
  const s7::peek_result p = s7::peek(pdu);
  if (!p.s7 || p.rosctr == static_cast<std::uint8_t>(s7::rosctr::job)) return;
  std::size_t i = 0;
  while (i < c.count && c.pending[(c.first + i) % c.pending.size()].pdu_ref != p.pdu_ref) ++i;
  if (i == c.count) return;  // a part of a split answer, or a push
  const request_kind k = c.pending[(c.first + i) % c.pending.size()].kind;
  for (std::size_t j = i; j > 0; --j)  // close the gap: keep the order of the others
    c.pending[(c.first + j) % c.pending.size()] = c.pending[(c.first + j - 1) % c.pending.size()];
  c.first = (c.first + 1) % c.pending.size();
  --c.count;
  ++answered_this_round_;
  const auto slot = static_cast<std::size_t>(k);
  if ((p.has_error_fields && p.header_error() != 0) || (p.ud_extended && p.ud_error_code != 0)) {
    errors_[slot].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (k != request_kind::read_var && k != request_kind::write_var) return;
  if (failed_items >= 0) {  // counted by the session as it answered
    if (failed_items > 0)
      item_errors_[slot].fetch_add(static_cast<std::uint64_t>(failed_items),
                                   std::memory_order_relaxed);
    return;
  }
  s7::param own_prm;
  s7::pdu own_pdu;
  if (decoded == nullptr) {  // the session's self check is off: decode the header and parameter
    const auto whole = s7::parse(pdu);
    if (!whole || s7::parse_ack_data(*whole, own_prm)) return;
    own_pdu = *whole;
  }
  const s7::param& prm = decoded != nullptr ? decoded->prm : own_prm;
  const s7::pdu& parsed = decoded != nullptr ? decoded->p : own_pdu;
  s7::data_item_iterator items{parsed.data, prm.item_count, parsed.origin,
                               s7::data_options{.allow_nonzero_fill = true}};
  s7::data_item d;
  std::uint64_t failed = 0;
  if (k == request_kind::read_var) {
    while (items.next(d)) failed += d.return_code != s7::return_code::success ? 1U : 0U;
  } else {
    codec::reader r{parsed.data, codec::layer::s7_data};  // one return code per item
    while (!r.empty()) failed += r.u8() != s7::return_code::success ? 1U : 0U;
  }
  if (failed > 0) item_errors_[slot].fetch_add(failed, std::memory_order_relaxed);
}

void metrics::on_round(clock_type::time_point started, clock_type::duration commit) {
  if (answered_this_round_ > 0) latency_.observe(clock_type::now() - started, answered_this_round_);
  answered_this_round_ = 0;
  if (commit != clock_type::duration::zero()) commit_.observe(commit);
}

void metrics::time_syncs(plc_memory& mem) {
  if (mem.fdatasync_function() != &timed_fdatasync) {
    g_next_fdatasync = mem.fdatasync_function();
    mem.set_fdatasync(&timed_fdatasync);
  }
}

std::uint64_t metrics::requests(request_kind k) const noexcept {
  return requests_[static_cast<std::size_t>(k)].load();
}
std::uint64_t metrics::errors(request_kind k) const noexcept {
  return errors_[static_cast<std::size_t>(k)].load();
}

std::string metrics::render(const server& srv) const {
  std::string out;
  out.reserve(8192);
  out += fmt::format(
      "# HELP protos7_build_info The running protos7.\n# TYPE protos7_build_info gauge\n"
      "protos7_build_info{{version=\"{}\",revision=\"{}\"}} 1\n",
      protos7::version(), protos7::revision());
  gauge(out, "protos7_start_time_seconds", "When the server started (Unix time).",
        std::chrono::duration<double>(started_.time_since_epoch()).count());
  gauge(out, "protos7_connections", "S7 connections open.",
        static_cast<double>(srv.connection_count()));
  counter(out, "protos7_connections_accepted_total", "S7 connections accepted.",
          static_cast<double>(accepted_.load()));
  const server_stats st = srv.stats();
  counter(out, "protos7_connections_refused_total",
          "TCP connections closed at accept (connection limits, no file descriptors).",
          static_cast<double>(st.refused));
  counter(out, "protos7_frame_timeouts_total", "Connections closed by --frame-timeout.",
          static_cast<double>(st.frame_timeouts));
  gauge(out, "protos7_queued_bytes", "Memory held for unsent replies and unprocessed requests.",
        static_cast<double>(st.queued_bytes));
  counter(out, "protos7_faults_injected_total",
          "Faults injected by the fault rules (serve --faults, docs/FAULTS.md).",
          static_cast<double>(srv.faults().injected_total()));
  counter(out, "protos7_undecodable_pdus_total",
          "Frames or PDUs of either direction that did not decode (metrics' own view).",
          static_cast<double>(protocol_errors_.load()));
  const auto per_kind = [&](std::string_view name, std::string_view help,
                            const std::array<std::atomic<std::uint64_t>, kinds>& values) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (std::size_t i = 0; i < kinds; ++i)
      out += fmt::format("{}{{function=\"{}\"}} {}\n", name, kind_names[i], values[i].load());
  };
  per_kind("protos7_requests_total", "S7 requests (jobs and Userdata requests) by function.",
           requests_);
  per_kind("protos7_request_errors_total",
           "Answers with an S7 error (header error class/code, Userdata error code).", errors_);
  per_kind("protos7_item_errors_total",
           "Read Var / Write Var items answered with a return code other than success.",
           item_errors_);
  out +=
      "# HELP protos7_request_duration_seconds Server part of a request's round trip (epoll "
      "wake-up to answer sent, group commit included).\n"
      "# TYPE protos7_request_duration_seconds histogram\n";
  latency_.render(out, "protos7_request_duration_seconds");
  out +=
      "# HELP protos7_commit_duration_seconds Group commits (DB writes made durable) per "
      "epoll round.\n# TYPE protos7_commit_duration_seconds histogram\n";
  commit_.render(out, "protos7_commit_duration_seconds");
  out +=
      "# HELP protos7_fsync_duration_seconds Each fdatasync of a DB file.\n"
      "# TYPE protos7_fsync_duration_seconds histogram\n";
  g_fsync.render(out, "protos7_fsync_duration_seconds");
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  counter(out, "process_cpu_seconds_total", "User and system CPU time.",
          static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
              static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6);
  gauge(out, "process_resident_memory_bytes", "Resident memory.", resident_bytes());
  gauge(out, "process_open_fds", "Open file descriptors.", static_cast<double>(open_fds()));
  return out;
}

}  // namespace protos7::server
