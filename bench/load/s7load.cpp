// s7load: a closed-loop S7comm load generator (ISO-on-TCP, Read Var) for server benchmarks.
//
//   s7load --port 1102 --connections 16 --inflight 8 --duration 10 --workload single
//          [--server-pid PID]
//
// Opens N connections, does COTP CR/CC and Setup Communication on each (asking Max AmQ
// calling/called = K and PDU 480), then for a fixed time keeps min(K, granted AmQ calling) Read
// Var jobs in flight on every connection: each answer is checked (Ack_Data, no header error,
// function 0x04, every item return code 0xFF) and a new job is sent at once. Every job answered
// inside the measurement window (after --warmup) is counted and its latency recorded (all of
// them, exact percentiles, no histogram buckets). Jobs still in flight at the end are not counted.
//
// With --server-pid the server's CPU time (utime + stime of /proc/PID/stat, all its threads) is
// read at the start and the end of the window, giving CPU time per answered job.
//
// Workloads:
//   single  1 item: DB1.DBB0 BYTE 16
//   multi   10 mixed items: DB1 BYTE 16, DB1 WORD 2, DB2 REAL 3, M BYTE 3 (odd: fill byte),
//           I WORD 1, Q BYTE 5 (odd), DB1 BIT 30.3, C 0..1, T 0..1, DB2 DWORD 4
//           (the answer is 124 bytes: fits a PDU of 240)
//   hmi     10 mixed items inside the sample PLC of `protos7 serve` (DB1 256 B, DB200 64 B), what
//           a plant's PLCs have by default: DB1 BYTE 16, DB1 WORD 2, DB1 REAL 3, DB200 INT 1,
//           M BYTE 3, I WORD 1, Q BYTE 5, DB1 BIT 30.3, C 0..1, T 0..1
//
// A plant (protos7 serve --plant, bench/plant_load.sh): --plant FILE takes the targets from a
// plant file, --connections per PLC (default 1); --interval-ms T makes every connection an
// HMI-like poller: one job every T ms (phases spread evenly over the connections), never two in
// flight (a job whose time comes while the last is unanswered is sent when the answer arrives and
// counted as late). --identity instead checks that every PLC of the plant file answers SZL 0x001C
// with its own serial number and AS name, and prints how long that took.
//
// The last line of output is machine-readable (`RESULT key=value ...`, used by
// bench/run_vs_snap7.sh and bench/plant_*.sh). Exit status: 0 ok, 1 connection/protocol
// failure (or an identity mismatch), 2 usage.
//
// Loopback benchmarking only: the tool does not implement reconnects or TPDU segmentation of
// answers (an answer split over several DTs is reported as a protocol failure).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/codec/writer.hpp"

namespace {

namespace codec = protos7::codec;
namespace s7 = codec::s7;
namespace cotp = codec::cotp;
using clock_type = std::chrono::steady_clock;

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 102;
  unsigned connections = 1;
  unsigned inflight = 1;  // K: jobs in flight per connection (asked as Max AmQ calling/called)
  double duration_s = 10;
  double warmup_s = 1;
  std::string workload = "single";
  std::uint16_t pdu = 480;
  unsigned rack = 0;
  unsigned slot = 2;
  unsigned threads = 1;
  long server_pid = 0;
  std::string plant;       // --plant FILE: the PLCs of a plant file are the targets
  double interval_ms = 0;  // > 0: one job per connection every interval (HMI polling)
  bool identity = false;   // --identity: check SZL 0x001C of every PLC of the plant file
  bool connections_given = false;
};

// One server to connect to: a PLC of a plant file (name and identity from the file) or --host.
struct target {
  std::string host;
  std::uint16_t port = 102;
  std::string name, serial, as_name;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(
      stderr,
      "s7load: %s\n"
      "usage: s7load [--host A] [--port N] [--connections N] [--inflight K] [--duration S]\n"
      "              [--warmup S] [--workload single|multi|hmi] [--pdu 240|480|960] [--rack R]\n"
      "              [--slot S] [--threads T] [--server-pid PID]\n"
      "              [--plant FILE [--interval-ms T] [--identity]]\n",
      why);
  std::exit(2);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "s7load: %s\n", what.c_str());
  std::exit(1);
}

std::string errno_text(const char* call) {
  return std::string(call) + ": " + std::strerror(errno);
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--identity") {
      o.identity = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value");
    const char* v = argv[++i];
    char* end = nullptr;
    const auto num = [&]() {
      errno = 0;
      const double d = std::strtod(v, &end);
      if (errno != 0 || end == v || *end != '\0' || d < 0) usage("bad number");
      return d;
    };
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = static_cast<std::uint16_t>(num());
    else if (a == "--connections")
      o.connections = static_cast<unsigned>(num());
    else if (a == "--inflight")
      o.inflight = static_cast<unsigned>(num());
    else if (a == "--duration")
      o.duration_s = num();
    else if (a == "--warmup")
      o.warmup_s = num();
    else if (a == "--workload")
      o.workload = v;
    else if (a == "--pdu")
      o.pdu = static_cast<std::uint16_t>(num());
    else if (a == "--rack")
      o.rack = static_cast<unsigned>(num());
    else if (a == "--slot")
      o.slot = static_cast<unsigned>(num());
    else if (a == "--threads")
      o.threads = static_cast<unsigned>(num());
    else if (a == "--server-pid")
      o.server_pid = static_cast<long>(num());
    else if (a == "--plant")
      o.plant = v;
    else if (a == "--interval-ms")
      o.interval_ms = num();
    else
      usage("unknown option");
    if (a == "--connections") o.connections_given = true;
  }
  if (!o.plant.empty() && !o.connections_given) o.connections = 1;  // per PLC
  if (o.identity && o.plant.empty()) usage("--identity needs --plant");
  if (o.connections == 0 || o.connections > 1024) usage("--connections must be 1..1024");
  if (o.inflight == 0 || o.inflight > 255) usage("--inflight must be 1..255");
  if (o.threads == 0) o.threads = 1;
  if (o.plant.empty() && o.threads > o.connections) o.threads = o.connections;
  if (o.workload != "single" && o.workload != "multi" && o.workload != "hmi")
    usage("--workload must be single, multi or hmi");
  if (o.duration_s <= 0) usage("--duration must be > 0");
  return o;
}

// --- Requests -------------------------------------------------------------------------------

constexpr std::uint8_t area_db = 0x84;
constexpr std::uint8_t area_i = 0x81;
constexpr std::uint8_t area_q = 0x82;
constexpr std::uint8_t area_m = 0x83;
constexpr std::uint8_t area_c = 0x1C;
constexpr std::uint8_t area_t = 0x1D;

constexpr std::uint8_t ts(s7::transport_size t) noexcept {
  return static_cast<std::uint8_t>(t);
}

std::vector<s7::any_address> workload_items(const std::string& name) {
  using T = s7::transport_size;
  if (name == "single") return {{ts(T::byte), 16, 1, area_db, 0}};
  if (name == "hmi")
    return {
        {ts(T::byte), 16, 1, area_db, 0},      {ts(T::word), 2, 1, area_db, 20 * 8},
        {ts(T::real), 3, 1, area_db, 100 * 8}, {ts(T::int_), 1, 200, area_db, 0},
        {ts(T::byte), 3, 0, area_m, 10 * 8},   {ts(T::word), 1, 0, area_i, 0},
        {ts(T::byte), 5, 0, area_q, 4 * 8},    {ts(T::bit), 1, 1, area_db, 30 * 8 + 3},
        {ts(T::counter), 2, 0, area_c, 0},     {ts(T::timer), 2, 0, area_t, 0},
    };
  return {
      {ts(T::byte), 16, 1, area_db, 0},        {ts(T::word), 2, 1, area_db, 20 * 8},
      {ts(T::real), 3, 2, area_db, 100 * 8},   {ts(T::byte), 3, 0, area_m, 10 * 8},
      {ts(T::word), 1, 0, area_i, 0},          {ts(T::byte), 5, 0, area_q, 4 * 8},
      {ts(T::bit), 1, 1, area_db, 30 * 8 + 3}, {ts(T::counter), 2, 0, area_c, 0},
      {ts(T::timer), 2, 0, area_t, 0},         {ts(T::dword), 4, 2, area_db, 500 * 8},
  };
}

// Offset of the PDU reference in a TPKT + COTP DT + S7 job frame: 4 + 3 + (32 01 0000).
constexpr std::size_t pdu_ref_offset = 4 + 3 + 4;

// TPKT + COTP DT (EOT) + S7 Job header + `param`.
std::vector<std::byte> job_frame(codec::bytes param, std::uint16_t pdu_ref) {
  std::vector<std::byte> out(4 + 3 + s7::short_header_size + param.size());
  codec::writer w{out};
  codec::tpkt::write_header(w, out.size() - 4);
  cotp::write_dt_header(w, true);
  s7::header h;
  h.type = s7::rosctr::job;
  h.pdu_ref = pdu_ref;
  h.param_length = static_cast<std::uint16_t>(param.size());
  s7::write_header(w, h);
  w.raw(param);
  if (!w.finish()) die("internal: job frame does not fit");
  return out;
}

std::vector<std::byte> read_var_frame(const std::vector<s7::any_address>& items) {
  std::array<std::byte, 1024> param{};
  codec::writer pw{param};
  s7::write_var_job(pw, s7::function::read_var, items);
  const auto n = pw.finish();
  if (!n) die("internal: Read Var parameter does not fit");
  return job_frame(codec::bytes{param.data(), *n}, 0);
}

// --- Blocking handshake -----------------------------------------------------------------------

void send_all(int fd, codec::bytes b) {
  std::size_t done = 0;
  while (done < b.size()) {
    const ssize_t n = ::send(fd, b.data() + done, b.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die(errno_text("send"));
    done += static_cast<std::size_t>(n);
  }
}

void recv_exact(int fd, std::byte* p, std::size_t len) {
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n = ::recv(fd, p + done, len - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) die("server closed the connection during the handshake");
    if (n < 0) die(errno_text("recv"));
    done += static_cast<std::size_t>(n);
  }
}

// Reads one TPKT frame and returns its COTP TPDU.
cotp::tpdu recv_tpdu(int fd, std::vector<std::byte>& buf) {
  buf.resize(4);
  recv_exact(fd, buf.data(), 4);
  const auto m = codec::tpkt::measure(buf);
  if (m.status == codec::tpkt::frame_status::invalid) die("bad TPKT header from the server");
  const std::size_t len =
      (std::to_integer<std::size_t>(buf[2]) << 8U) | std::to_integer<std::size_t>(buf[3]);
  buf.resize(len);
  recv_exact(fd, buf.data() + 4, len - 4);
  const auto f = codec::tpkt::parse(buf);
  if (!f) die("bad TPKT frame from the server");
  const auto t = cotp::parse(f->payload, buf.data());
  if (!t)
    die(std::string("bad COTP TPDU from the server: ") +
        std::string(codec::to_string(t.err().code)));
  return *t;
}

struct negotiated {
  std::uint16_t pdu = 0;
  std::uint16_t amq_calling = 0;
  std::uint16_t amq_called = 0;
};

int connect_and_setup(const options& o, const target& t, std::uint16_t src_ref, negotiated& got) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(t.port);
  if (::inet_pton(AF_INET, t.host.c_str(), &addr.sin_addr) != 1)
    usage("--host must be an IPv4 address");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(errno_text("socket"));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    die(errno_text("connect") + " (" + t.host + ":" + std::to_string(t.port) + ")");
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  // COTP CR: TPDU size 1024, calling TSAP 0x0100, called TSAP 0x01 (PG) rack/slot.
  std::array<std::byte, 32> params{};
  codec::writer pw{params};
  cotp::write_param_u8(pw, static_cast<std::uint8_t>(cotp::param_code::tpdu_size), 0x0A);
  const std::array<std::byte, 2> calling{std::byte{0x01}, std::byte{0x00}};
  cotp::write_param(pw, static_cast<std::uint8_t>(cotp::param_code::calling_tsap), calling);
  const std::uint16_t called_tsap = cotp::make_s7_tsap(0x01, static_cast<std::uint8_t>(o.rack),
                                                       static_cast<std::uint8_t>(o.slot));
  const std::array<std::byte, 2> called{std::byte{static_cast<std::uint8_t>(called_tsap >> 8U)},
                                        std::byte{static_cast<std::uint8_t>(called_tsap & 0xFFU)}};
  cotp::write_param(pw, static_cast<std::uint8_t>(cotp::param_code::called_tsap), called);
  std::array<std::byte, 64> cr{};
  codec::writer w{cr};
  w.u8(0);  // TPKT header, patched below
  w.u8(0);
  w.u16be(0);
  cotp::write_connect(w,
                      {cotp::tpdu_type::cr, 0, src_ref, 0, codec::bytes{params.data(), pw.size()}});
  const auto n = w.finish();
  if (!n) die("internal: CR does not fit");
  codec::writer hw{std::span<std::byte>(cr).first(4)};
  codec::tpkt::write_header(hw, *n - 4);
  send_all(fd, codec::bytes{cr.data(), *n});

  std::vector<std::byte> buf;
  const cotp::tpdu cc = recv_tpdu(fd, buf);
  if (cc.type != cotp::tpdu_type::cc) die("server did not answer the COTP CR with a CC");

  // Setup Communication.
  std::array<std::byte, s7::setup_communication_length> sp{};
  codec::writer sw{sp};
  s7::write_setup_communication(sw, {0, static_cast<std::uint16_t>(o.inflight),
                                     static_cast<std::uint16_t>(o.inflight), o.pdu});
  send_all(fd, job_frame(sp, 0xFFFF));
  const cotp::tpdu dt = recv_tpdu(fd, buf);
  if (dt.type != cotp::tpdu_type::dt || !dt.eot) die("Setup Communication: no DT answer");
  s7::message m;
  if (const codec::error e = s7::decode(dt.user_data, m, buf.data()))
    die(std::string("Setup Communication answer does not decode: ") +
        std::string(codec::to_string(e.code)));
  if (m.p.hdr.type != s7::rosctr::ack_data || m.p.hdr.error() != 0 || m.prm.fn != 0xF0)
    die("Setup Communication refused");
  got = {m.prm.setup.pdu_length, m.prm.setup.max_amq_calling, m.prm.setup.max_amq_called};
  return fd;
}

// --- Plant files and identity -------------------------------------------------------------------

// The PLCs of a plant file (docs/PLANT.md): "listen" HOST[:PORT], identity serial and AS name.
std::vector<target> load_targets(const std::string& path) {
  std::ifstream in(path);
  if (!in) die("cannot read " + path);
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  if (!doc.is_object() || !doc.contains("plcs") || !doc["plcs"].is_array())
    die(path + ": not a plant file");
  std::vector<target> out;
  for (const auto& p : doc["plcs"]) {
    target t;
    const std::string listen = p.value("listen", "");
    const auto colon = listen.rfind(':');
    t.host = listen.substr(0, colon);
    t.port = colon == std::string::npos
                 ? 102
                 : static_cast<std::uint16_t>(std::stoul(listen.substr(colon + 1)));
    t.name = p.value("name", "");
    if (p.contains("identity")) {
      t.serial = p["identity"].value("serial_number", "");
      t.as_name = p["identity"].value("as_name", "");
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Read SZL `id` / `index` (Userdata, CPU functions) in TPKT + COTP DT.
std::vector<std::byte> read_szl_frame(std::uint16_t id, std::uint16_t index) {
  std::array<std::byte, 32> prm{};
  codec::writer pw{prm};
  s7::ud::param up;
  up.method = s7::ud::method_request;
  up.type = static_cast<std::uint8_t>(s7::ud::type::request);
  up.group = static_cast<std::uint8_t>(s7::ud::group::cpu);
  up.subfunction = s7::ud::sub::read_szl;
  s7::ud::write_param(pw, up);
  std::array<std::byte, 4> req{};
  codec::writer rw{req};
  codec::szl::write_request(rw, {id, index});
  std::array<std::byte, 16> data{};
  codec::writer dw{data};
  s7::ud::write_data_unit(dw, 0xFF, 0x09, codec::bytes{req.data(), *rw.finish()});
  std::array<std::byte, 64> pdu{};
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = 0x0101;
  const auto n = s7::encode(h, codec::bytes{prm.data(), *pw.finish()},
                            codec::bytes{data.data(), *dw.finish()}, pdu);
  if (!n) die("internal: Read SZL does not fit");
  std::vector<std::byte> out(4 + 3 + *n);
  codec::writer w{out};
  codec::tpkt::write_header(w, out.size() - 4);
  cotp::write_dt_header(w, true);
  w.raw(codec::bytes{pdu.data(), *n});
  if (!w.finish()) die("internal: Read SZL frame does not fit");
  return out;
}

// The text of SZL 0x001C record `index` of the PLC on `fd` ("" with `why` set on a failure).
std::string component_text(int fd, std::uint16_t index, std::string& why) {
  send_all(fd, read_szl_frame(0x011C, index));  // 0x011C: the one record of `index`
  std::vector<std::byte> buf;
  const cotp::tpdu dt = recv_tpdu(fd, buf);
  s7::message m;
  if (dt.type != cotp::tpdu_type::dt || s7::decode(dt.user_data, m, buf.data()) ||
      m.ud.prm.error_code != 0)
    return why = "no Read SZL answer", std::string{};
  const auto head = codec::szl::parse_response(m.ud.data.payload, buf.data(), true);
  if (!head || head->record_count != 1) return why = "bad SZL answer", std::string{};
  const auto rec = codec::szl::parse_component_identification(
      codec::szl::record_at(head->records, head->record_length, 0), buf.data());
  if (!rec) return why = "bad SZL 0x001C record", std::string{};
  const std::string_view t = codec::szl::text_of(rec->name);
  return std::string(t.substr(0, t.find('\0')));
}

// --identity: every PLC of the plant answers with the serial number and AS name of the file.
int check_identity(const options& o, const std::vector<target>& targets) {
  const auto start = clock_type::now();
  std::size_t good = 0;
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const target& t = targets[i];
    negotiated got{};
    const int fd = connect_and_setup(o, t, static_cast<std::uint16_t>(i + 1), got);
    std::string why;
    const std::string serial = component_text(fd, codec::szl::component_index::serial_number, why);
    const std::string as_name =
        why.empty() ? component_text(fd, codec::szl::component_index::as_name, why) : "";
    ::close(fd);
    if (why.empty() && (serial != t.serial || as_name != t.as_name))
      why = "answered serial \"" + serial + "\" AS name \"" + as_name + "\"";
    if (!why.empty()) {
      std::fprintf(stderr, "s7load: %s (%s:%u): %s\n", t.name.c_str(), t.host.c_str(), t.port,
                   why.c_str());
      continue;
    }
    ++good;
    seen.push_back(serial);
  }
  std::sort(seen.begin(), seen.end());
  const auto distinct =
      static_cast<std::size_t>(std::unique(seen.begin(), seen.end()) - seen.begin());
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf(
      "s7load: %zu of %zu PLCs answered SZL 0x001C with their own identity (%zu distinct serial "
      "numbers) in %.2f s\n",
      good, targets.size(), distinct, secs);
  std::printf("RESULT identity_ok=%zu plcs=%zu distinct_serials=%zu seconds=%.3f\n", good,
              targets.size(), distinct, secs);
  return good == targets.size() && distinct == targets.size() ? 0 : 1;
}

// --- Load phase -------------------------------------------------------------------------------

struct inflight_job {
  std::uint16_t ref;
  clock_type::time_point sent;
};

struct connection {
  int fd = -1;
  std::uint64_t index = 0;  // in its worker's list (epoll data)
  bool out_armed = false;   // EPOLLOUT registered
  unsigned window = 1;
  std::uint16_t next_ref = 1;
  std::vector<std::byte> rx;
  std::size_t rx_len = 0;
  std::vector<std::byte> tx;
  std::size_t tx_sent = 0;
  std::vector<inflight_job> inflight;
  clock_type::time_point due{};  // --interval-ms: when the next job is due
  bool late = false;             // a job came due while the last was unanswered
};

struct worker_stats {
  std::vector<std::uint32_t> latency_ns;  // answers inside the window
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;  // answered with a header error or an item return code != 0xFF
  std::uint64_t late = 0;    // --interval-ms: jobs sent late (the last one was unanswered)
  std::string fatal;
};

struct shared_timing {
  clock_type::time_point t0;  // measurement starts
  clock_type::time_point t1;  // measurement ends, workers stop
};

class worker {
 public:
  worker(std::vector<connection*> conns, const std::vector<std::byte>& request,
         std::size_t item_count, const shared_timing& timing, clock_type::duration interval)
      : conns_(std::move(conns)),
        request_(request),
        item_count_(item_count),
        timing_(timing),
        interval_(interval) {}

  void run(worker_stats& st) {
    st_ = &st;
    st.latency_ns.reserve(1U << 20U);
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) return fail(errno_text("epoll_create1"));
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      conns_[i]->index = i;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      if (::epoll_ctl(ep_, EPOLL_CTL_ADD, conns_[i]->fd, &ev) != 0)
        return fail(errno_text("epoll_ctl"));
    }
    const auto now = clock_type::now();
    if (polling()) {
      // Phases spread evenly over the interval, in order: the queue stays sorted by due time.
      for (std::size_t i = 0; i < conns_.size(); ++i) {
        conns_[i]->due = now + interval_ * static_cast<long>(i) / static_cast<long>(conns_.size());
        due_.push_back(conns_[i]);
      }
    } else {
      for (connection* c : conns_) {
        for (unsigned k = 0; k < c->window; ++k) queue_job(*c, now);
        if (!flush(*c)) return;
      }
    }
    std::array<epoll_event, 256> events{};
    while (st_->fatal.empty()) {
      const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), wait_ms());
      if (n < 0 && errno != EINTR) return fail(errno_text("epoll_wait"));
      if (clock_type::now() >= timing_.t1) break;
      send_due();
      for (int i = 0; i < n && st_->fatal.empty(); ++i) {
        connection& c = *conns_[events[static_cast<std::size_t>(i)].data.u64];
        if ((events[static_cast<std::size_t>(i)].events & EPOLLOUT) != 0 && !flush(c)) break;
        if ((events[static_cast<std::size_t>(i)].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0)
          on_readable(c);
      }
    }
    ::close(ep_);
  }

 private:
  [[nodiscard]] bool polling() const { return interval_.count() > 0; }

  // Closed loop: 5 ms (to notice the end); polling: until the next job is due.
  int wait_ms() const {
    if (!polling() || due_.empty()) return 5;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due_.front()->due -
                                                                            clock_type::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 5));
  }

  // Polling: the connections whose job is due send it (or, still waiting for an answer, send it
  // when the answer comes).
  void send_due() {
    const auto now = clock_type::now();
    while (polling() && !due_.empty() && due_.front()->due <= now && st_->fatal.empty()) {
      connection* c = due_.front();
      due_.pop_front();
      if (c->inflight.empty()) {
        queue_job(*c, now);
        flush(*c);
      } else if (!c->late) {
        c->late = true;
        ++st_->late;
      }
      c->due += interval_;
      due_.push_back(c);
    }
  }

  void fail(std::string why) {
    if (st_->fatal.empty()) st_->fatal = std::move(why);
  }

  void queue_job(connection& c, clock_type::time_point now) {
    const std::size_t at = c.tx.size();
    c.tx.insert(c.tx.end(), request_.begin(), request_.end());
    const std::uint16_t ref = c.next_ref++;
    if (c.next_ref == 0xFFFF) c.next_ref = 1;  // 0xFFFF was the Setup Communication's
    c.tx[at + pdu_ref_offset] = std::byte{static_cast<std::uint8_t>(ref >> 8U)};
    c.tx[at + pdu_ref_offset + 1] = std::byte{static_cast<std::uint8_t>(ref & 0xFFU)};
    c.inflight.push_back({ref, now});
  }

  // Sends what is queued; arms EPOLLOUT if the socket is full. False on a fatal error.
  bool flush(connection& c) {
    while (c.tx_sent < c.tx.size()) {
      const ssize_t n =
          ::send(c.fd, c.tx.data() + c.tx_sent, c.tx.size() - c.tx_sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n < 0) {
        fail(errno_text("send"));
        return false;
      }
      c.tx_sent += static_cast<std::size_t>(n);
    }
    const bool pending = c.tx_sent < c.tx.size();
    if (!pending) {
      c.tx.clear();
      c.tx_sent = 0;
    }
    if (pending != c.out_armed) {
      epoll_event ev{};
      ev.events = EPOLLIN | (pending ? static_cast<std::uint32_t>(EPOLLOUT) : 0U);
      ev.data.u64 = c.index;
      ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
      c.out_armed = pending;
    }
    return true;
  }

  void on_readable(connection& c) {
    for (;;) {
      if (c.rx.size() - c.rx_len < 4096) c.rx.resize(c.rx.size() * 2);
      const ssize_t n = ::recv(c.fd, c.rx.data() + c.rx_len, c.rx.size() - c.rx_len, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n == 0) return fail("server closed a connection during the run");
      if (n < 0) return fail(errno_text("recv"));
      c.rx_len += static_cast<std::size_t>(n);
      // Under 4 KiB read: most likely drained; the (level-triggered) epoll reports what is left.
      if (static_cast<std::size_t>(n) < 4096) break;
    }
    const auto now = clock_type::now();
    const bool in_window = now >= timing_.t0 && now < timing_.t1;
    std::size_t pos = 0;
    while (c.rx_len - pos >= 4) {
      const codec::bytes rest{c.rx.data() + pos, c.rx_len - pos};
      const auto m = codec::tpkt::measure(rest);
      if (m.status == codec::tpkt::frame_status::invalid)
        return fail("bad TPKT header in an answer");
      if (m.status == codec::tpkt::frame_status::need_more) break;
      if (!on_answer(c, rest.first(m.frame_size), now, in_window)) return;
      if (!polling()) {
        queue_job(c, now);
      } else if (c.late) {
        c.late = false;
        queue_job(c, now);
      }
      pos += m.frame_size;
    }
    if (pos > 0) {
      std::memmove(c.rx.data(), c.rx.data() + pos, c.rx_len - pos);
      c.rx_len -= pos;
    }
    flush(c);
  }

  bool on_answer(connection& c, codec::bytes frame, clock_type::time_point now, bool in_window) {
    const auto f = codec::tpkt::parse(frame);
    if (!f) return fail("bad TPKT frame in an answer"), false;
    const auto t = cotp::parse(f->payload, frame.data());
    if (!t || t->type != cotp::tpdu_type::dt) return fail("answer is not a COTP DT"), false;
    if (!t->eot) return fail("answer segmented over several DTs (not supported by s7load)"), false;
    // snap7's server leaves stale bytes of its buffer in the fill byte after an odd-sized Read
    // Var item (as its client does in Write Var): accepted, the leniency the server names.
    s7::decode_options opt;
    opt.params.data.allow_nonzero_fill = true;
    if (const codec::error e = s7::decode(t->user_data, msg_, frame.data(), opt))
      return fail("answer does not decode: " + std::string(codec::to_string(e.code))), false;
    const auto it = std::find_if(c.inflight.begin(), c.inflight.end(), [&](const inflight_job& j) {
      return j.ref == msg_.p.hdr.pdu_ref;
    });
    if (it == c.inflight.end()) return fail("answer with an unknown PDU reference"), false;
    const clock_type::time_point sent = it->sent;
    c.inflight.erase(it);
    bool good = msg_.p.hdr.type == s7::rosctr::ack_data && msg_.p.hdr.error() == 0 &&
                msg_.prm.fn == static_cast<std::uint8_t>(s7::function::read_var) &&
                msg_.prm.item_count == item_count_;
    if (good) {
      s7::data_item_iterator items{msg_.p.data, msg_.prm.item_count, msg_.p.origin};
      s7::data_item d;
      std::size_t seen = 0;
      while (items.next(d)) {
        ++seen;
        if (d.return_code != s7::return_code::success) good = false;
      }
      if (seen != item_count_) good = false;
    }
    if (!in_window) return true;
    if (!good) {
      ++st_->failed;
      return true;
    }
    ++st_->ok;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent).count();
    st_->latency_ns.push_back(static_cast<std::uint32_t>(std::min<long long>(ns, 0xFFFFFFFFLL)));
    return true;
  }

  std::vector<connection*> conns_;
  const std::vector<std::byte>& request_;
  std::size_t item_count_;
  const shared_timing& timing_;
  clock_type::duration interval_;
  std::deque<connection*> due_;  // polling: by due time
  worker_stats* st_ = nullptr;
  int ep_ = -1;
  s7::message msg_;
};

// utime + stime of a process (all threads), in seconds; < 0 if unreadable.
double process_cpu_seconds(long pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::size_t close_paren = s.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::istringstream in(s.substr(close_paren + 2));
  std::string field;
  // Fields after the command: 3 state ... 14 utime, 15 stime (proc(5)).
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

double percentile_us(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;
}

}  // namespace

namespace {

struct opened {
  std::vector<connection> conns;
  negotiated first{};
  bool uniform = true;
};

// Every connection (o.connections per target), set up and non-blocking.
opened open_connections(const options& o, const std::vector<target>& targets) {
  opened r;
  r.conns.resize(targets.size() * o.connections);
  for (std::size_t i = 0; i < r.conns.size(); ++i) {
    connection& c = r.conns[i];
    negotiated got{};
    c.fd = connect_and_setup(o, targets[i / o.connections],
                             static_cast<std::uint16_t>(i % 0xFFFE + 1), got);
    if (i == 0)
      r.first = got;
    else if (got.pdu != r.first.pdu || got.amq_calling != r.first.amq_calling ||
             got.amq_called != r.first.amq_called)
      r.uniform = false;
    // Jobs in flight: what was asked, at most what the server granted the caller (AmQ calling);
    // one when polling.
    c.window =
        o.interval_ms > 0 ? 1U : std::max(1U, std::min<unsigned>(o.inflight, got.amq_calling));
    c.rx.resize(o.plant.empty() ? 64 * 1024 : 4096);
    c.inflight.reserve(o.inflight);
    const int fl = ::fcntl(c.fd, F_GETFL);
    if (fl < 0 || ::fcntl(c.fd, F_SETFL, fl | O_NONBLOCK) != 0) die(errno_text("fcntl"));
  }
  if (!r.uniform)
    std::fprintf(stderr,
                 "s7load: warning: the server granted different values to the connections\n");
  return r;
}

struct totals {
  std::vector<std::uint32_t> lat;
  std::uint64_t ok = 0, failed = 0, late = 0;
  double secs = 0, srv_cpu = -1, cli_cpu = 0;
};

// Runs the workers over the measurement window.
totals run_load(const options& o, opened& op, const std::vector<std::byte>& request,
                std::size_t items) {
  // Connections round-robin over the worker threads.
  const unsigned nthreads = std::min<unsigned>(o.threads, static_cast<unsigned>(op.conns.size()));
  std::vector<std::vector<connection*>> groups(nthreads);
  for (std::size_t i = 0; i < op.conns.size(); ++i) groups[i % nthreads].push_back(&op.conns[i]);
  shared_timing timing;
  const auto start = clock_type::now();
  timing.t0 = start + std::chrono::duration_cast<clock_type::duration>(
                          std::chrono::duration<double>(o.warmup_s));
  timing.t1 = timing.t0 + std::chrono::duration_cast<clock_type::duration>(
                              std::chrono::duration<double>(o.duration_s));
  const auto interval = std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double, std::milli>(o.interval_ms));
  std::vector<worker_stats> stats(nthreads);
  std::vector<std::thread> threads;
  std::vector<worker> workers;
  workers.reserve(nthreads);
  for (unsigned t = 0; t < nthreads; ++t)
    workers.emplace_back(groups[t], request, items, timing, interval);
  for (unsigned t = 0; t < nthreads; ++t)
    threads.emplace_back([&, t] { workers[t].run(stats[t]); });
  std::this_thread::sleep_until(timing.t0);
  const double srv0 = o.server_pid > 0 ? process_cpu_seconds(o.server_pid) : -1;
  const double cli0 = self_cpu_seconds();
  std::this_thread::sleep_until(timing.t1);
  const double srv1 = o.server_pid > 0 ? process_cpu_seconds(o.server_pid) : -1;
  totals r;
  r.cli_cpu = self_cpu_seconds() - cli0;
  for (auto& th : threads) th.join();
  for (connection& c : op.conns) ::close(c.fd);
  for (worker_stats& st : stats) {
    if (!st.fatal.empty()) die(st.fatal);
    r.ok += st.ok;
    r.failed += st.failed;
    r.late += st.late;
    r.lat.insert(r.lat.end(), st.latency_ns.begin(), st.latency_ns.end());
  }
  r.secs = std::chrono::duration<double>(timing.t1 - timing.t0).count();
  r.srv_cpu = srv0 >= 0 && srv1 >= 0 ? srv1 - srv0 : -1;
  return r;
}

void report(const options& o, const opened& op, totals& t, std::size_t items, std::size_t plcs) {
  double mean_us = 0;
  for (std::uint32_t v : t.lat) mean_us += static_cast<double>(v);
  mean_us = t.lat.empty() ? 0 : mean_us / static_cast<double>(t.lat.size()) / 1000.0;
  const double p50 = percentile_us(t.lat, 0.50);
  const double p90 = percentile_us(t.lat, 0.90);
  const double p99 = percentile_us(t.lat, 0.99);
  const double p999 = percentile_us(t.lat, 0.999);
  const double max_us =
      t.lat.empty() ? 0
                    : static_cast<double>(*std::max_element(t.lat.begin(), t.lat.end())) / 1000.0;
  const double rps = static_cast<double>(t.ok) / t.secs;
  const double srv_us_per_req =
      t.srv_cpu >= 0 && t.ok > 0 ? t.srv_cpu * 1e6 / static_cast<double>(t.ok) : -1;
  const std::size_t nconns = op.conns.size();
  const std::string where = o.plant.empty() ? o.host + ":" + std::to_string(o.port)
                                            : o.plant + " (" + std::to_string(plcs) + " PLCs)";
  std::printf(
      "s7load: %s, workload %s (%zu item%s), %zu connection%s, %u in flight asked, window %u%s\n",
      where.c_str(), o.workload.c_str(), items, items == 1 ? "" : "s", nconns,
      nconns == 1 ? "" : "s", o.inflight, op.conns[0].window, o.interval_ms > 0 ? ", polling" : "");
  if (o.interval_ms > 0)
    std::printf("  polling: one job every %.0f ms per connection; %" PRIu64 " sent late\n",
                o.interval_ms, t.late);
  std::printf("  granted: PDU %u, AmQ calling %u, called %u%s\n", op.first.pdu,
              op.first.amq_calling, op.first.amq_called,
              op.uniform ? "" : " (not the same on every connection)");
  std::printf("  %.1f s: %" PRIu64 " answered, %" PRIu64 " with errors: %.0f requests/s\n", t.secs,
              t.ok, t.failed, rps);
  std::printf("  latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n", p50,
              p90, p99, p999, max_us, mean_us);
  if (t.srv_cpu >= 0)
    std::printf("  server CPU: %.2f s = %.2f us/request; s7load CPU: %.2f s\n", t.srv_cpu,
                srv_us_per_req, t.cli_cpu);
  else
    std::printf("  s7load CPU: %.2f s\n", t.cli_cpu);
  std::printf(
      "RESULT workload=%s conns=%zu k=%u window=%u pdu=%u amq_calling=%u amq_called=%u "
      "duration_s=%.3f "
      "answered=%" PRIu64 " errors=%" PRIu64
      " rps=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f "
      "p999_us=%.1f max_us=%.1f mean_us=%.1f server_cpu_s=%.3f server_cpu_us_per_req=%.3f "
      "client_cpu_s=%.3f plcs=%zu interval_ms=%.0f late=%" PRIu64 "\n",
      o.workload.c_str(), nconns, o.inflight, op.conns[0].window, op.first.pdu,
      op.first.amq_calling, op.first.amq_called, t.secs, t.ok, t.failed, rps, p50, p90, p99, p999,
      max_us, mean_us, t.srv_cpu, srv_us_per_req, t.cli_cpu, plcs, o.interval_ms, t.late);
}

// A plant needs a descriptor per connection: the soft limit raised to the hard one.
void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &lim);
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse_args(argc, argv);
  raise_fd_limit();
  std::vector<target> targets;
  if (o.plant.empty())
    targets.push_back({o.host, o.port, {}, {}, {}});
  else
    targets = load_targets(o.plant);
  if (targets.empty()) die("the plant file has no PLCs");
  if (o.identity) return check_identity(o, targets);
  const std::vector<s7::any_address> items = workload_items(o.workload);
  const std::vector<std::byte> request = read_var_frame(items);
  opened op = open_connections(o, targets);
  totals t = run_load(o, op, request, items.size());
  report(o, op, t, items.size(), o.plant.empty() ? 0 : targets.size());
  return 0;
}
