// Test harness: an in-process server on 127.0.0.1 with an ephemeral port, and a small blocking
// client that speaks TPKT/COTP/S7 with the codec's encoders.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/server.hpp"

namespace p7test {

namespace cotp = protos7::codec::cotp;
namespace s7 = protos7::codec::s7;
using protos7::codec::writer;
using buf = std::vector<std::byte>;

inline buf hex(std::string_view h) {
  buf out;
  int hi = -1;
  for (char c : h) {
    int v = -1;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

inline std::string to_hex(std::span<const std::byte> b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::byte x : b) {
    s += digits[std::to_integer<unsigned>(x) >> 4U];
    s += digits[std::to_integer<unsigned>(x) & 15U];
  }
  return s;
}

inline std::uint8_t u8(std::byte b) {
  return std::to_integer<std::uint8_t>(b);
}

// A RAM-only DB filled with a pattern (byte i = i & 0xFF) unless zero is set.
inline std::unique_ptr<protos7::server::data_block> ram_db(std::uint16_t n, std::size_t size,
                                                           bool zero = false) {
  std::vector<std::byte> b(size);
  if (!zero)
    for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::byte>(i & 0xFFU);
  return std::make_unique<protos7::server::data_block>(n, std::move(b), "");
}

// The server on its own thread.
class running_server {
 public:
  explicit running_server(protos7::server::config cfg = {})
      : cfg_(std::move(cfg)), mem_(cfg_.areas) {
    cfg_.port = 0;
    cfg_.listen_address = "127.0.0.1";
    cfg_.abort_on_bad_reply = true;  // every reply must decode with s7::decode
    protos7::server::set_log_level(std::getenv("PROTOS7_TEST_LOG") != nullptr
                                       ? protos7::server::log_level::trace
                                       : protos7::server::log_level::off);
    mem_.add_db(ram_db(1, 256));
    mem_.add_db(ram_db(2, 64, true));
    mem_.add_db(ram_db(3, 65536));
  }
  void start() {
    srv_ = std::make_unique<protos7::server::server>(cfg_, mem_);
    ASSERT_EQ(srv_->listen(), 0);
    thread_ = std::thread([this] { srv_->run(); });
  }
  ~running_server() {
    if (srv_) srv_->stop();
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] std::uint16_t port() const { return srv_->port(); }
  protos7::server::config& cfg() { return cfg_; }
  protos7::server::plc_memory& mem() { return mem_; }
  protos7::server::server& srv() { return *srv_; }

 private:
  protos7::server::config cfg_;
  protos7::server::plc_memory mem_;
  std::unique_ptr<protos7::server::server> srv_;
  std::thread thread_;
};

class client {
 public:
  // `rcvbuf`: SO_RCVBUF set before connecting (0: the default); `source`: local IPv4 address to
  // connect from (127.0.0.2 is another client address on loopback).
  explicit client(std::uint16_t port, int rcvbuf = 0, const char* source = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (source != nullptr) {
      sockaddr_in l{};
      l.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &l.sin_addr);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&l), sizeof l);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~client() {
    if (fd_ >= 0) ::close(fd_);
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  [[nodiscard]] bool connected() const { return ok_; }

  void send_raw(std::span<const std::byte> b) const {
    std::size_t done = 0;
    while (done < b.size()) {
      const ssize_t n = ::send(fd_, b.data() + done, b.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  }

  // Reads exactly n bytes; nullopt on EOF / timeout.
  std::optional<buf> read_exact(std::size_t n, int timeout_ms = 3000) const {
    buf out(n);
    std::size_t got = 0;
    while (got < n) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
      const ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) return std::nullopt;
      got += static_cast<std::size_t>(r);
    }
    return out;
  }

  // One TPKT frame.
  std::optional<buf> read_frame(int timeout_ms = 3000) const {
    auto h = read_exact(4, timeout_ms);
    if (!h) return std::nullopt;
    const std::size_t len = (std::size_t{u8((*h)[2])} << 8U) | u8((*h)[3]);
    if (len < 4) return std::nullopt;
    auto rest = read_exact(len - 4, timeout_ms);
    if (!rest) return std::nullopt;
    h->insert(h->end(), rest->begin(), rest->end());
    return h;
  }

  // True when the server closed the connection (EOF) within the timeout.
  [[nodiscard]] bool closed_by_peer(int timeout_ms = 3000) const {
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return false;
      std::array<std::byte, 512> tmp{};
      const ssize_t r = ::recv(fd_, tmp.data(), tmp.size(), 0);
      if (r <= 0) return true;
    }
  }

  // The S7 PDU of the next DT sequence (segments reassembled), checking each TPDU.
  std::optional<buf> read_pdu(int timeout_ms = 3000) const {
    buf pdu;
    for (;;) {
      auto f = read_frame(timeout_ms);
      if (!f) return std::nullopt;
      const auto t = cotp::parse(std::span<const std::byte>(*f).subspan(4));
      if (!t || t->type != cotp::tpdu_type::dt) return std::nullopt;
      pdu.insert(pdu.end(), t->user_data.begin(), t->user_data.end());
      if (t->eot) return pdu;
    }
  }

  void send_tpdu(std::span<const std::byte> tpdu) const {
    buf f(4);
    writer w{f};
    protos7::codec::tpkt::write_header(w, tpdu.size());
    f.insert(f.end(), tpdu.begin(), tpdu.end());
    send_raw(f);
  }

  void send_pdu(std::span<const std::byte> pdu, bool eot = true) const {
    buf t{std::byte{0x02}, std::byte{0xF0},
          std::byte{static_cast<std::uint8_t>(eot ? 0x80 : 0x00)}};
    t.insert(t.end(), pdu.begin(), pdu.end());
    send_tpdu(t);
  }

  // COTP CR with the given called TSAP (and a TPDU size code); returns the answer TPDU.
  std::optional<buf> connect_request(std::uint16_t called_tsap, std::uint8_t tpdu_code = 0x0A,
                                     std::uint16_t src_ref = 0x000F) const {
    buf params(32);
    writer pw{params};
    const std::array<std::byte, 2> calling{std::byte{0x01}, std::byte{0x00}};
    const std::array<std::byte, 2> called{
        std::byte{static_cast<std::uint8_t>(called_tsap >> 8U)},
        std::byte{static_cast<std::uint8_t>(called_tsap & 0xFFU)}};
    cotp::write_param(pw, 0xC1, calling);
    cotp::write_param(pw, 0xC2, called);
    if (tpdu_code != 0) cotp::write_param_u8(pw, 0xC0, tpdu_code);
    params.resize(*pw.finish());
    buf t(64);
    writer w{t};
    cotp::write_connect(w, {cotp::tpdu_type::cr, 0, src_ref, 0, params});
    t.resize(*w.finish());
    send_tpdu(t);
    auto f = read_frame();
    if (!f) return std::nullopt;
    return buf(f->begin() + 4, f->end());
  }

  // S7 job PDU from param and data blocks.
  static buf job(std::uint16_t pdu_ref, std::span<const std::byte> param,
                 std::span<const std::byte> data = {}) {
    buf out(12 + param.size() + data.size() + 16);
    s7::header h;
    h.type = s7::rosctr::job;
    h.pdu_ref = pdu_ref;
    const auto n = s7::encode(h, param, data, out);
    out.resize(*n);
    return out;
  }

  // Setup Communication; returns the negotiated (pdu, amq calling, amq called).
  std::optional<s7::setup_communication> setup(std::uint16_t pdu, std::uint16_t amq_calling = 1,
                                               std::uint16_t amq_called = 1) const {
    buf prm(8);
    writer w{prm};
    s7::write_setup_communication(w, {0, amq_calling, amq_called, pdu});
    send_pdu(job(0xFFFF, prm));
    auto r = read_pdu();
    if (!r) return std::nullopt;
    const auto m = s7::decode(*r);
    if (!m || m->p.hdr.type != s7::rosctr::ack_data) return std::nullopt;
    return m->prm.setup;
  }

  // COTP connect (rack 0 slot 2 by default) + Setup Communication.
  bool open(std::uint16_t pdu = 480, std::uint16_t amq = 1, std::uint8_t rack = 0,
            std::uint8_t slot = 2) {
    const auto cc = connect_request(cotp::make_s7_tsap(1, rack, slot));
    if (!cc) return false;
    const auto t = cotp::parse(*cc);
    if (!t || t->type != cotp::tpdu_type::cc) return false;
    return setup(pdu, amq, amq).has_value();
  }

  // Sends a job and returns the raw reply PDU.
  std::optional<buf> transact(std::span<const std::byte> pdu) const {
    send_pdu(pdu);
    return read_pdu();
  }

  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

// Read Var / Write Var job parameter from S7ANY addresses.
inline buf var_param(s7::function fn, std::span<const s7::any_address> items) {
  buf p(2 + items.size() * 12 + 8);
  writer w{p};
  s7::write_var_job(w, fn, items);
  p.resize(*w.finish());
  return p;
}

inline s7::any_address any(std::uint8_t tsize, std::uint16_t count, std::uint8_t area,
                           std::uint16_t db, std::uint32_t byte, std::uint8_t bit = 0) {
  return {tsize, count, db, area, byte * 8U + bit};
}

// Write Var data block from (tsize, data) pairs, with fill bytes.
struct wdata {
  std::uint8_t tsize;
  buf data;
  std::optional<std::uint16_t> length;  // override the length field
};
inline buf write_data(std::span<const wdata> items) {
  buf out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    std::uint16_t len = static_cast<std::uint16_t>(it.data.size());
    if (it.tsize == 0x04 || it.tsize == 0x05) len = static_cast<std::uint16_t>(len * 8);
    if (it.tsize == 0x03) len = 1;
    if (it.length) len = *it.length;
    out.push_back(std::byte{0x00});
    out.push_back(std::byte{it.tsize});
    out.push_back(static_cast<std::byte>(len >> 8U));
    out.push_back(static_cast<std::byte>(len & 0xFFU));
    out.insert(out.end(), it.data.begin(), it.data.end());
    if ((it.data.size() & 1U) != 0 && i + 1 != items.size()) out.push_back(std::byte{0});
  }
  return out;
}

// Read SZL (Userdata CPU functions, subfunction 1) built with the codec's writers.
inline buf read_szl_request(std::uint16_t ref, std::uint16_t id, std::uint16_t index) {
  namespace ud = protos7::codec::s7::ud;
  ud::param prm;
  prm.length = 4;
  prm.method = ud::method_request;
  prm.type = static_cast<std::uint8_t>(ud::type::request);
  prm.group = static_cast<std::uint8_t>(ud::group::cpu);
  prm.subfunction = ud::sub::read_szl;
  buf p(8), req(4), d(8);
  writer pw{p};
  ud::write_param(pw, prm);
  writer rw{req};
  protos7::codec::szl::write_request(rw, {id, index});
  writer dw{d};
  ud::write_data_unit(dw, 0xFF, 0x09, req);
  buf out(64);
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = ref;
  out.resize(*s7::encode(h, p, d, out));
  return out;
}

// Decoded Read Var answer items.
struct read_item {
  std::uint8_t rc;
  std::uint8_t tsize;
  std::uint16_t length;
  buf data;
};
inline std::vector<read_item> read_items(const buf& reply) {
  std::vector<read_item> out;
  const auto m = s7::decode(reply);
  if (!m) return out;
  s7::data_item_iterator it{m->p.data, m->prm.item_count, reply.data()};
  s7::data_item d;
  while (it.next(d))
    out.push_back({d.return_code, d.tsize, d.length, buf(d.data.begin(), d.data.end())});
  return out;
}

}  // namespace p7test
