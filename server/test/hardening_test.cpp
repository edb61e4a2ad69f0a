// Resource limits of the event loop (issue #16): file descriptor exhaustion, frame deadline,
// per-address connection limit, output bounds, Max AmQ, log escaping and rate limits. Every load
// goes to 127.0.0.1, bounded in count and time.
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <thread>

#include "test_client.hpp"

namespace {

using namespace p7test;
using namespace std::chrono_literals;
using protos7::server::log_level;

// One S7 PDU in a DT TPDU in a TPKT frame.
buf frame(std::span<const std::byte> pdu) {
  buf f{std::byte{0x03}, std::byte{0x00}, std::byte{0},   std::byte{0},
        std::byte{0x02}, std::byte{0xF0}, std::byte{0x80}};
  f.insert(f.end(), pdu.begin(), pdu.end());
  f[2] = static_cast<std::byte>(f.size() >> 8U);
  f[3] = static_cast<std::byte>(f.size() & 0xFFU);
  return f;
}

// `count` Read Var jobs of `bytes` bytes of DB3 back to back.
buf pipelined_reads(std::size_t count, std::uint16_t bytes) {
  const std::array items{any(0x02, bytes, 0x84, 3, 0)};
  const buf one = frame(client::job(7, var_param(s7::function::read_var, items)));
  buf all;
  for (std::size_t i = 0; i < count; ++i) all.insert(all.end(), one.begin(), one.end());
  return all;
}

// Sends what the peer takes within `limit` without blocking; returns the bytes sent.
std::size_t send_for(int fd, std::span<const std::byte> b, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  std::size_t done = 0;
  while (done < b.size() && std::chrono::steady_clock::now() < end) {
    const ssize_t n = ::send(fd, b.data() + done, b.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN) break;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, 20);
  }
  return done;
}

double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int highest_open_fd() {
  int top = -1;
  DIR* d = ::opendir("/proc/self/fd");
  while (const dirent* e = d != nullptr ? ::readdir(d) : nullptr)
    top = std::max(top, std::atoi(e->d_name));
  if (d != nullptr) ::closedir(d);
  return top;
}

// Soft RLIMIT_NOFILE lowered for the scope, restored after (the other tests share the process).
class fd_limit {
 public:
  explicit fd_limit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit l = saved_;
    l.rlim_cur = soft;
    ::setrlimit(RLIMIT_NOFILE, &l);
  }
  ~fd_limit() { restore(); }
  void restore() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  fd_limit(const fd_limit&) = delete;
  fd_limit& operator=(const fd_limit&) = delete;

 private:
  rlimit saved_{};
};

TEST(hardening, accept_out_of_fds_does_not_spin_and_recovers) {
  protos7::server::config cfg;
  cfg.max_connections = 64;
  cfg.max_connections_per_address = 0;
  running_server srv(cfg);
  srv.start();
  // Two whole exchanges first: the server thread is then past its start. Under UBSan, its
  // first checks of a type open a pipe, which would fail (and be reported) once fds are gone.
  // The second exchange is answered only after the round of the first has ended (its push
  // sources asked for their due time after the reply left: server::end_round).
  for (int i = 0; i < 2; ++i) {
    client warm(srv.port());
    ASSERT_TRUE(warm.open());
  }
  // Sockets made before the limit is lowered: only the server's accept() runs out of fds.
  std::vector<int> socks;
  for (int i = 0; i < 8; ++i) socks.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  fd_limit lim(static_cast<rlim_t>(highest_open_fd() + 1));
  // Fill the holes below the limit too: then the server has no fd left to accept with.
  std::vector<int> fillers;
  for (int f = ::open("/dev/null", O_RDONLY | O_CLOEXEC); f >= 0;
       f = ::open("/dev/null", O_RDONLY | O_CLOEXEC))
    fillers.push_back(f);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(srv.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (const int s : socks) ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::this_thread::sleep_for(100ms);
  const auto before = srv.srv().stats();
  const double cpu0 = process_cpu_seconds();
  std::this_thread::sleep_for(1s);
  const double cpu = process_cpu_seconds() - cpu0;
  const auto after = srv.srv().stats();
  std::printf("out of fds for 1 s: %.3f CPU s, %llu loop rounds, %llu accept failures\n", cpu,
              static_cast<unsigned long long>(after.loop_rounds - before.loop_rounds),
              static_cast<unsigned long long>(after.fd_exhausted));
  EXPECT_GT(after.fd_exhausted, 0U) << "the test did not make accept() fail";
  EXPECT_LT(cpu, 0.15) << "CPU seconds spent by the server in 1 s while out of fds";
  EXPECT_LT(after.loop_rounds - before.loop_rounds, 60U) << "event loop rounds in 1 s";
  lim.restore();
  for (const int s : socks) ::close(s);
  for (const int f : fillers) ::close(f);
  client c(srv.port());
  ASSERT_TRUE(c.connected());
  EXPECT_TRUE(c.open()) << "a client is served once fds are free again";
}

TEST(hardening, listen_refuses_max_connections_beyond_the_fd_limit) {
  protos7::server::config cfg;
  cfg.max_connections = 4096;
  running_server srv(cfg);
  fd_limit lim(1024);
  protos7::server::server s(srv.cfg(), srv.mem());
  EXPECT_EQ(s.listen(), EMFILE);
  const std::string text = protos7::server::listen_error_text(EMFILE, srv.cfg());
  EXPECT_NE(text.find("--max-connections 4096"), std::string::npos) << text;
  EXPECT_NE(text.find("is 1024"), std::string::npos) << text;
}

TEST(hardening, a_frame_must_complete_within_the_frame_timeout) {
  protos7::server::config cfg;
  cfg.frame_timeout = 300ms;
  running_server srv(cfg);
  srv.start();
  client slow(srv.port());
  client drip(srv.port());
  ASSERT_TRUE(slow.open());
  ASSERT_TRUE(drip.open());
  // The drip client starts a 31-byte frame and sends one more byte every 100 ms: every byte
  // resets the idle timeout (60 s), only the frame deadline can end it.
  const auto start = std::chrono::steady_clock::now();
  drip.send_raw(hex("03 00 00 1f"));
  bool closed = false;
  const std::array items{any(0x02, 4, 0x84, 1, 0)};
  for (int i = 0; i < 15 && !closed; ++i) {
    std::this_thread::sleep_for(100ms);
    const std::array<std::byte, 1> b{std::byte{0x02}};
    closed = ::send(drip.fd(), b.data(), 1, MSG_NOSIGNAL) < 0;
    pollfd p{drip.fd(), POLLIN, 0};
    if (!closed && ::poll(&p, 1, 0) > 0) closed = drip.closed_by_peer(100);
    // The slow client completes a frame every 100 ms: it is never cut.
    ASSERT_TRUE(slow.transact(
        client::job(static_cast<std::uint16_t>(i), var_param(s7::function::read_var, items))));
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_LT(took, 1000ms) << "closed after "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms";
  EXPECT_EQ(srv.srv().stats().frame_timeouts, 1U);
}

TEST(hardening, connections_per_address_are_limited) {
  protos7::server::config cfg;
  cfg.max_connections_per_address = 3;
  running_server srv(cfg);
  srv.start();
  std::vector<std::unique_ptr<client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<client>(srv.port()));
    ASSERT_TRUE(held.back()->open());
  }
  client fourth(srv.port());
  EXPECT_TRUE(fourth.closed_by_peer(2000)) << "a 4th connection from 127.0.0.1 is refused";
  client other(srv.port(), 0, "127.0.0.2");
  EXPECT_TRUE(other.open()) << "another address still gets a connection";
  held.pop_back();
  for (int i = 0; i < 100 && srv.srv().connection_count() != 3; ++i)
    std::this_thread::sleep_for(10ms);
  client again(srv.port());
  EXPECT_TRUE(again.open()) << "a slot freed by a closed connection is usable again";
}

TEST(hardening, output_is_bounded_per_connection_and_in_total) {
  protos7::server::config cfg;
  cfg.pdu_size = 960;
  cfg.max_output_per_connection = 16 * 1024;
  cfg.max_output_total = 64 * 1024;
  cfg.max_connections_per_address = 0;
  running_server srv(cfg);
  srv.start();
  // 8 clients pipeline 8000 reads of 900 bytes each (7 MB of answers) and never read.
  const buf reads = pipelined_reads(8000, 900);
  std::vector<std::unique_ptr<client>> cs;
  std::vector<std::thread> senders;
  for (int i = 0; i < 8; ++i) {
    cs.push_back(std::make_unique<client>(srv.port(), 4096));
    ASSERT_TRUE(cs.back()->open(960, 8));
  }
  for (auto& c : cs) senders.emplace_back([&reads, fd = c->fd()] { send_for(fd, reads, 1500ms); });
  for (auto& t : senders) t.join();
  std::this_thread::sleep_for(500ms);  // the server works through what the sockets hold
  const auto st = srv.srv().stats();
  std::printf("8 non-reading clients: peak %zu bytes queued\n", st.peak_queued_bytes);
  // Bound: the total, plus what one connection may add in the round that crosses it (its bound,
  // an answer, a read chunk) and vector growth.
  EXPECT_LT(st.peak_queued_bytes, 64U * 1024 + 2 * (16 * 1024 + 1024 + 16 * 1024))
      << st.peak_queued_bytes;
  EXPECT_GT(st.peak_queued_bytes, 16U * 1024) << "the clients did fill the queues";
  cs.clear();
  for (int i = 0; i < 200 && srv.srv().connection_count() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(srv.srv().stats().queued_bytes, 0U) << "closed connections give their memory back";
  client fresh(srv.port());
  EXPECT_TRUE(fresh.open()) << "served again once the non-readers are gone";
}

TEST(hardening, jobs_beyond_max_amq_wait_for_the_answers) {
  protos7::server::config cfg;
  cfg.pdu_size = 960;
  running_server srv(cfg);
  srv.start();
  client d(srv.port(), 4096);
  ASSERT_TRUE(d.open(960, 2));
  // Answers fill the socket buffers (about 4 MB), then a write job follows; the client reads
  // nothing. At most AmQ (2) answers may wait in the server, so the write is not processed.
  buf jobs = pipelined_reads(8000, 900);
  const std::array witems{any(0x02, 1, 0x84, 2, 5)};
  const std::array<wdata, 1> wd{wdata{0x04, hex("5a"), std::nullopt}};
  const buf w = frame(client::job(9, var_param(s7::function::write_var, witems), write_data(wd)));
  jobs.insert(jobs.end(), w.begin(), w.end());
  const std::size_t sent = send_for(d.fd(), jobs, 1500ms);
  std::this_thread::sleep_for(200ms);
  std::printf("AmQ 2, client not reading: %zu of %zu bytes taken, at most %zu answers waiting\n",
              sent, jobs.size(), srv.srv().stats().peak_answers_waiting);
  EXPECT_LE(srv.srv().stats().peak_answers_waiting, 2U);
  EXPECT_EQ(srv.mem().find_db(2)->bytes()[5], std::byte{0})
      << "the write beyond AmQ ran while blocked";
  // Reading the answers lets the rest through, in order, the write last.
  std::thread rest([&] { send_for(d.fd(), std::span<const std::byte>(jobs).subspan(sent), 10s); });
  std::size_t answers = 0;
  while (answers < 8001 && d.read_pdu(5000)) ++answers;
  rest.join();
  EXPECT_EQ(answers, 8001U);
  EXPECT_EQ(srv.mem().find_db(2)->bytes()[5], std::byte{0x5A});
  EXPECT_LE(srv.srv().stats().peak_answers_waiting, 2U);
}

TEST(hardening, refused_connections_are_logged_aggregated) {
  protos7::server::config cfg;
  cfg.max_connections = 1;
  cfg.reserved_pg = cfg.reserved_op = 0;
  running_server srv(cfg);
  srv.start();
  char* data = nullptr;
  std::size_t size = 0;
  std::FILE* f = ::open_memstream(&data, &size);
  protos7::server::set_log_file(f);
  protos7::server::set_log_level(log_level::info);
  client first(srv.port());
  ASSERT_TRUE(first.open());
  for (int i = 0; i < 30; ++i) {
    client refused(srv.port());
    EXPECT_TRUE(refused.closed_by_peer(2000));
  }
  std::this_thread::sleep_for(1300ms);  // one report interval
  protos7::server::set_log_level(log_level::off);
  protos7::server::set_log_file(nullptr);
  std::fclose(f);
  const std::string text(data, size);
  std::free(data);
  std::size_t lines = 0;
  for (auto p = text.find("refused"); p != std::string::npos; p = text.find("refused", p + 1))
    ++lines;
  EXPECT_EQ(lines, 1U) << text;
  EXPECT_NE(text.find("refused 30 connection(s)"), std::string::npos) << text;
}

}  // namespace

// Issue #16 item 7: as a CPU reserves connection resources for a PG and an OP, an engineering
// station gets in when every other resource is taken, and a flood of idle connections that never
// send a COTP CR does not keep it out.
namespace {
bool cotp_accepted(client& c, std::uint8_t type) {
  const auto cc = c.connect_request(cotp::make_s7_tsap(type, 0, 2));
  if (!cc) return false;
  const auto t = cotp::parse(*cc);
  return t && t->type == cotp::tpdu_type::cc;
}
}  // namespace

TEST(hardening, a_pg_and_an_op_get_the_reserved_connections_when_all_others_are_taken) {
  protos7::server::config cfg;
  cfg.max_connections = 2;
  cfg.max_connections_per_address = 0;
  running_server srv(cfg);
  srv.start();
  client basic1(srv.port()), basic2(srv.port()), basic3(srv.port());
  ASSERT_TRUE(cotp_accepted(basic1, 3));
  ASSERT_TRUE(cotp_accepted(basic2, 3));
  EXPECT_FALSE(cotp_accepted(basic3, 3)) << "a third S7-basic connection has no resource";
  client pg(srv.port());
  EXPECT_TRUE(cotp_accepted(pg, 1)) << "the PG gets the resource reserved for it";
  client pg2(srv.port());
  EXPECT_FALSE(cotp_accepted(pg2, 1)) << "one PG resource is reserved, not two";
  client op(srv.port());
  EXPECT_TRUE(cotp_accepted(op, 2)) << "the OP gets the resource reserved for it";
}

TEST(hardening, a_flood_of_idle_connections_does_not_keep_a_pg_out) {
  protos7::server::config cfg;
  cfg.max_connections = 2;
  cfg.max_connections_per_address = 0;
  running_server srv(cfg);
  srv.start();
  std::vector<std::unique_ptr<client>> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(std::make_unique<client>(srv.port()));  // no CR ever
  for (int i = 0; i < 100 && srv.srv().connection_count() < 4; ++i)
    std::this_thread::sleep_for(10ms);
  client pg(srv.port());
  EXPECT_TRUE(pg.open()) << "an engineering station connects through a flood of idle connections";
  EXPECT_LE(srv.srv().connection_count(), 4U);
}
