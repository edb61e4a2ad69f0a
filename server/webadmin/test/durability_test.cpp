// Durability of the web admin: a value set through the API and acknowledged (HTTP 200) is in
// the DB's BIN file even when the server is killed with SIGKILL right after. The server (S7 loop
// + web admin) runs in a forked process; two HTTP clients set values concurrently (so the
// group commit serves several requests per round) while the parent kills the child mid-stream.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "protos7/server/app.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/server.hpp"
#include "protos7/webadmin/webadmin.hpp"

using json = nlohmann::json;

TEST(webadmin_durability, acknowledged_values_survive_kill_9) {
  std::string t = "/tmp/protos7-webdur-XXXXXX";
  const std::string dir = ::mkdtemp(t.data());
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipefd[0]);
    protos7::server::set_log_level(protos7::server::log_level::off);
    protos7::server::serve_options so;
    so.data_dir = dir;
    protos7::server::config cfg;
    cfg.port = 0;
    cfg.listen_address = "127.0.0.1";
    cfg.db_bin_dir = dir;
    protos7::server::plc_memory mem(cfg.areas);
    try {
      protos7::server::prepare_storage(so, mem);
      protos7::server::server srv(cfg, mem);
      if (srv.listen() != 0) ::_exit(4);
      protos7::webadmin::options o;
      o.listen = "127.0.0.1:0";
      o.sqlite_path = dir + "/protos7.db";
      o.bin_dir = dir;
      o.no_auth = true;  // loopback; this test is about durability, not authentication
      protos7::webadmin::webadmin w(o, srv, mem, cfg);
      if (!w.start().ok()) ::_exit(5);
      const std::uint16_t port = w.port();
      const std::string csrf = w.csrf_token();
      if (::write(pipefd[1], &port, sizeof port) != sizeof port) ::_exit(6);
      if (::write(pipefd[1], csrf.data(), 32) != 32) ::_exit(6);
      srv.run();
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(0);
  }
  ::close(pipefd[1]);
  // Whatever happens below (a failed ASSERT returns early), the child does not outlive the test.
  struct reaper {
    pid_t pid;
    ~reaper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } const reap{child};
  std::uint16_t port = 0;
  ASSERT_EQ(::read(pipefd[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  std::string csrf(32, '\0');
  ASSERT_EQ(::read(pipefd[0], csrf.data(), 32), 32);
  ::close(pipefd[0]);
  const httplib::Headers h{{"X-Protos7-CSRF", csrf}};

  // DB9 with 32 DINT variables, created through the API (the creation is acknowledged too).
  constexpr int vars = 32;
  {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Post("/api/dbs", h, R"({"number":9,"size":128})", "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
    json table = json::array();
    for (int i = 0; i < vars; ++i)
      table.push_back(
          {{"name", "V" + std::to_string(i)}, {"type", "DINT"}, {"byte_offset", i * 4}});
    r = c.Post("/api/dbs/9/import", h, json{{"variables", table}}.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  std::vector<std::int64_t> ids;
  {
    httplib::Client c("127.0.0.1", port);
    const auto r = c.Get("/api/dbs/9");
    ASSERT_TRUE(r);
    const json db = json::parse(r->body);
    for (const json& v : db["variables"]) ids.push_back(v["id"].get<std::int64_t>());
  }
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(vars));

  // Two writers; writer w owns variables w, w+2, ... and writes increasing values to them.
  std::mutex mu;
  std::vector<std::int64_t> acked(vars, 0);
  std::atomic<int> total{0};
  std::atomic<bool> dead{false};
  const auto writer = [&](int w) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(5, 0);
    for (std::int64_t value = 1; !dead.load(); ++value) {
      for (int v = w; v < vars && !dead.load(); v += 2) {
        const auto r = c.Put(
            "/api/dbs/9/variables/" + std::to_string(ids[static_cast<std::size_t>(v)]) + "/value",
            h, json{{"value", value}}.dump(), "application/json");
        if (!r || r->status != 200) return;  // killed
        const std::lock_guard lock{mu};
        acked[static_cast<std::size_t>(v)] = value;
        ++total;
      }
    }
  };
  std::thread a(writer, 0);
  std::thread b(writer, 1);
  const int kill_after = 150 + ::getpid() % 100;
  while (total.load() < kill_after) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<std::int64_t> acked_at_kill;
  {
    const std::lock_guard lock{mu};
    acked_at_kill = acked;  // everything acknowledged up to here must be on disk
    ::kill(child, SIGKILL);
    dead = true;
  }
  a.join();
  b.join();
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  std::ifstream f(dir + "/DB9.bin", std::ios::binary);
  const std::string bin{std::istreambuf_iterator<char>(f), {}};
  ASSERT_EQ(bin.size(), 128U);
  for (int v = 0; v < vars; ++v) {
    const auto at = static_cast<std::size_t>(v) * 4;
    const std::uint32_t x = (std::uint32_t{static_cast<unsigned char>(bin[at])} << 24U) |
                            (std::uint32_t{static_cast<unsigned char>(bin[at + 1])} << 16U) |
                            (std::uint32_t{static_cast<unsigned char>(bin[at + 2])} << 8U) |
                            std::uint32_t{static_cast<unsigned char>(bin[at + 3])};
    // At least the acknowledged value (a later, unacknowledged one may have made it too).
    EXPECT_GE(static_cast<std::int64_t>(x), acked_at_kill[static_cast<std::size_t>(v)])
        << "V" << v << " lost its acknowledged value";
  }
  EXPECT_GE(total.load(), kill_after);
  [[maybe_unused]] const int rc = std::system(("rm -rf '" + dir + "'").c_str());
}
