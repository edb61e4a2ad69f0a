// Durability: a Write Var acknowledged to the client is in DB<n>.bin even when the server is
// killed with SIGKILL right after.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "protos7/server/app.hpp"
#include "protos7/server/storage.hpp"
#include "test_client.hpp"

using namespace p7test;

TEST(durability, acknowledged_writes_survive_kill_9) {
  std::string t = "/tmp/protos7-dur-XXXXXX";
  const std::string dir = ::mkdtemp(t.data());
  {
    const std::vector<std::byte> zeros(65536);
    protos7::server::write_file_atomically(dir + "/DB9.bin", zeros);
  }
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The server process: storage from the directory, port reported through the pipe.
    ::close(pipefd[0]);
    protos7::server::set_log_level(protos7::server::log_level::off);
    protos7::server::serve_options opt;
    opt.db_bin_path = dir;
    opt.data_dir = dir;
    opt.cfg.port = 0;
    opt.cfg.listen_address = "127.0.0.1";
    protos7::server::plc_memory mem(opt.cfg.areas);
    try {
      protos7::server::prepare_storage(opt, mem);
    } catch (...) {
      ::_exit(3);
    }
    protos7::server::server srv(opt.cfg, mem);
    if (srv.listen() != 0) ::_exit(4);
    const std::uint16_t port = srv.port();
    if (::write(pipefd[1], &port, sizeof port) != sizeof port) ::_exit(5);
    srv.run();
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::uint16_t port = 0;
  ASSERT_EQ(::read(pipefd[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  ::close(pipefd[0]);

  std::vector<std::uint32_t> acked;
  {
    client c{port};
    ASSERT_TRUE(c.open(480, 4));
    // Keep up to 4 writes in flight; each write puts value i+1 at its own offset i*4.
    constexpr std::uint32_t total = 3000;
    std::uint32_t sent = 0;
    const auto send_one = [&] {
      const std::array items{any(6, 1, 0x84, 9, sent * 4)};
      const std::uint32_t v = sent + 1;
      const std::array data{wdata{0x04,
                                  buf{std::byte(v >> 24U), std::byte((v >> 16U) & 0xFFU),
                                      std::byte((v >> 8U) & 0xFFU), std::byte(v & 0xFFU)},
                                  {}}};
      c.send_pdu(client::job(static_cast<std::uint16_t>(sent),
                             var_param(s7::function::write_var, items), write_data(data)));
      ++sent;
    };
    for (int i = 0; i < 4; ++i) send_one();
    const std::uint32_t kill_after = 400 + static_cast<std::uint32_t>(::getpid() % 200);
    while (acked.size() < total) {
      const auto r = c.read_pdu();
      ASSERT_TRUE(r);
      const auto m = s7::decode(*r);
      ASSERT_TRUE(m);
      ASSERT_EQ(m->p.data.size(), 1U);
      ASSERT_EQ(u8(m->p.data[0]), 0xFF);
      acked.push_back(m->p.hdr.pdu_ref);
      if (acked.size() == kill_after) {
        // Writes are still in flight: kill the server mid-stream.
        ::kill(child, SIGKILL);
        break;
      }
      if (sent < total) send_one();
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  std::ifstream f(dir + "/DB9.bin", std::ios::binary);
  const std::string bin{std::istreambuf_iterator<char>(f), {}};
  ASSERT_EQ(bin.size(), 65536U);
  for (const std::uint32_t i : acked) {
    const auto at = static_cast<std::size_t>(i) * 4;
    const std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(bin[at])} << 24U) |
                            (std::uint32_t{static_cast<unsigned char>(bin[at + 1])} << 16U) |
                            (std::uint32_t{static_cast<unsigned char>(bin[at + 2])} << 8U) |
                            std::uint32_t{static_cast<unsigned char>(bin[at + 3])};
    ASSERT_EQ(v, i + 1) << "acknowledged write " << i << " lost";
  }
  EXPECT_GE(acked.size(), 400U);
  [[maybe_unused]] const int rc = std::system(("rm -rf '" + dir + "'").c_str());
}
