#include "protos7/client/connection.hpp"

#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7_param.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::client {

namespace cotp = codec::cotp;
namespace s7 = codec::s7;
using codec::bytes;
using codec::writer;

namespace {

// TPDU size asked in the CR: 1024 bytes (code 0x0A), what S7-300 CPUs confirm (server/README).
constexpr std::uint8_t tpdu_size_code = 0x0A;
// Our TSAP: 0x0100, as STEP 7, snap7 and nodes7 send it (local resource 1, rack 0 slot 0).
constexpr std::array<std::byte, 2> calling_tsap{std::byte{0x01}, std::byte{0x00}};
constexpr std::size_t max_frame = 2048 + codec::tpkt::header_size;
// The largest PDU any S7-300/400/1500 CPU negotiates is 960 bytes; room for more.
constexpr std::size_t max_pdu = 4096;

std::string errno_text(const char* what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

std::string address_text(const sockaddr* a) {
  std::array<char, NI_MAXHOST> host{};
  std::array<char, NI_MAXSERV> serv{};
  const socklen_t len = a->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::getnameinfo(a, len, host.data(), host.size(), serv.data(), serv.size(),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "?";
  return a->sa_family == AF_INET6 ? fmt::format("[{}]:{}", host.data(), serv.data())
                                  : fmt::format("{}:{}", host.data(), serv.data());
}

// Connects `fd` to `a` within `timeout`; returns 0 or the errno.
int connect_within(int fd, const addrinfo& a, std::chrono::milliseconds timeout) {
  if (::connect(fd, a.ai_addr, a.ai_addrlen) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  pollfd p{fd, POLLOUT, 0};
  const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n == 0) return ETIMEDOUT;
  if (n < 0) return errno;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

}  // namespace

status parse_endpoint(std::string_view text, endpoint& out, std::uint16_t default_port) {
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return status::failure(
          fmt::format("'{}': an IPv6 address with a port is written [ADDRESS]:PORT", text));
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || rest.size() == 1))
      return status::failure(
          fmt::format("'{}': an IPv6 address with a port is written [ADDRESS]:PORT", text));
    if (!rest.empty()) port = rest.substr(1);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) return status::failure(fmt::format("'{}': give a host name or address", text));
  std::uint16_t p = default_port;
  if (!port.empty()) {
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc{} || end != port.data() + port.size() || p == 0)
      return status::failure(fmt::format("'{}': the port must be a number 1..65535", text));
  }
  out.host = std::string(host);
  out.port = p;
  return {};
}

connection::connection(const endpoint& ep, const options& opt)
    : opt_(opt),
      frame_storage_(max_frame),
      pdu_storage_(max_pdu),
      reader_(frame_storage_, pdu_storage_) {
  connect_tcp(ep);
  try {
    cotp_connect();
    setup_communication();
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

connection::~connection() {
  if (fd_ >= 0) ::close(fd_);
}

void connection::connect_tcp(const endpoint& ep) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(ep.port);
  if (const int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &list); rc != 0)
    throw client_error(failure::unreachable,
                       fmt::format("cannot resolve {}: {}", ep.host, ::gai_strerror(rc)));
  std::string last = "no address";
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last = errno_text("socket");
      continue;
    }
    const int err = connect_within(fd, *a, opt_.timeout);
    if (err == 0) {
      fd_ = fd;
      peer_ = address_text(a->ai_addr);
      break;
    }
    last = fmt::format("{}: {}", address_text(a->ai_addr), std::strerror(err));
    ::close(fd);
  }
  ::freeaddrinfo(list);
  if (fd_ < 0)
    throw client_error(failure::unreachable,
                       fmt::format("cannot connect to {} port {}: {}", ep.host, ep.port, last));
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void connection::send_all(bytes b) {
  while (!b.empty()) {
    const ssize_t n = ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(opt_.timeout.count())) <= 0)
        throw client_error(failure::timeout, fmt::format("{}: send timed out", peer_));
      continue;
    }
    if (n < 0) throw client_error(failure::unreachable, errno_text(peer_.c_str()));
    b = b.subspan(static_cast<std::size_t>(n));
  }
}

// The next TPDU of the peer (a transport error is a protocol failure).
codec::transport::event connection::next_event() {
  const auto deadline = std::chrono::steady_clock::now() + opt_.timeout;
  for (;;) {
    const codec::transport::event e = reader_.next(pending_);
    if (e.st == codec::transport::status::error)
      throw client_error(failure::protocol,
                         fmt::format("{} sent a malformed frame: {} at offset {}", peer_,
                                     codec::to_string(e.err.code), e.err.offset));
    if (e.st == codec::transport::status::tpdu) return e;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0)
      throw client_error(failure::timeout,
                         fmt::format("{}: no answer within {} ms", peer_, opt_.timeout.count()));
    in_buf_.resize(16 * 1024);
    const ssize_t n = ::recv(fd_, in_buf_.data(), in_buf_.size(), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0)
      throw client_error(failure::unreachable,
                         fmt::format("{} closed the connection{}", peer_,
                                     n < 0 ? fmt::format(" ({})", std::strerror(errno)) : ""));
    pending_ = bytes{in_buf_.data(), static_cast<std::size_t>(n)};
  }
}

void connection::cotp_connect() {
  std::array<std::byte, 2> called{};
  writer tw{called};
  tw.u16be(cotp::make_s7_tsap(opt_.connection_type, opt_.rack, opt_.slot));
  std::array<std::byte, 16> params{};
  writer pw{params};
  cotp::write_param_u8(pw, static_cast<std::uint8_t>(cotp::param_code::tpdu_size), tpdu_size_code);
  cotp::write_param(pw, static_cast<std::uint8_t>(cotp::param_code::calling_tsap), calling_tsap);
  cotp::write_param(pw, static_cast<std::uint8_t>(cotp::param_code::called_tsap), called);
  std::array<std::byte, 32> cr{};
  writer cw{cr};
  cotp::write_connect(cw, {cotp::tpdu_type::cr, 0, 0x0001, 0x00, bytes{params.data(), pw.size()}});
  std::array<std::byte, 40> frame{};
  writer fw{frame};
  codec::tpkt::write_header(fw, cw.size());
  fw.raw(bytes{cr.data(), cw.size()});
  const auto n = fw.finish();
  if (!n) throw client_error(failure::protocol, "BUG: the COTP CR does not encode");
  send_all(bytes{frame.data(), *n});
  for (;;) {
    const codec::transport::event e = next_event();
    if (e.tpdu.type == cotp::tpdu_type::dr)
      throw client_error(failure::refused,
                         fmt::format("{} refused the COTP connection (DR reason 0x{:02X}): is it a "
                                     "CPU at rack {} slot {}?",
                                     peer_, e.tpdu.reason, opt_.rack, opt_.slot));
    if (e.tpdu.type != cotp::tpdu_type::cc) continue;
    const std::uint8_t code =
        e.tpdu.params.tpdu_size_code == 0 ? std::uint8_t{7} : e.tpdu.params.tpdu_size_code;
    tpdu_size_ = cotp::tpdu_size_bytes(std::min(code, tpdu_size_code));
    return;
  }
}

void connection::setup_communication() {
  std::array<std::byte, s7::setup_communication_length> prm{};
  writer w{prm};
  s7::write_setup_communication(w, {0, 1, 1, opt_.pdu_size});
  pdu_size_ = opt_.pdu_size;  // until the answer: what we ask
  const s7::pdu p = request(s7::rosctr::job, prm, {});
  const auto a = s7::parse_ack_data(p);
  if (!a || a->fn != static_cast<std::uint8_t>(s7::function::setup_communication))
    throw client_error(failure::protocol,
                       fmt::format("{}: the answer to Setup Communication is not one", peer_));
  if (p.hdr.error() != 0)
    throw client_error(failure::refused, fmt::format("{} refused Setup Communication (error "
                                                     "0x{:04X})",
                                                     peer_, p.hdr.error()));
  pdu_size_ = std::min(a->setup.pdu_length, opt_.pdu_size);
  if (pdu_size_ < 240)
    throw client_error(failure::protocol,
                       fmt::format("{} negotiated a PDU of {} bytes", peer_, pdu_size_));
  reader_.limit_pdu(pdu_size_);
}

s7::pdu connection::request(s7::rosctr type, bytes param, bytes data) {
  s7::header h;
  h.type = type;
  h.pdu_ref = next_ref_++;
  if (next_ref_ == 0) next_ref_ = 1;
  std::vector<std::byte> pdu(s7::long_header_size + param.size() + data.size());
  const auto n = s7::encode(h, param, data, pdu);
  if (!n || *n > pdu_size_)
    throw client_error(failure::refused,
                       fmt::format("the request needs {} bytes, more than the PDU size {}",
                                   n ? *n : pdu.size(), pdu_size_));
  bytes rest{pdu.data(), *n};
  std::vector<std::byte> frames;
  do {
    const std::size_t len = std::min(tpdu_size_ - 3, rest.size());
    std::array<std::byte, codec::tpkt::header_size + 3> head{};
    writer hw{head};
    codec::tpkt::write_header(hw, 3 + len);
    cotp::write_dt_header(hw, len == rest.size());
    frames.insert(frames.end(), head.begin(), head.end());
    frames.insert(frames.end(), rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(len));
    rest = rest.subspan(len);
  } while (!rest.empty());
  send_all(frames);
  for (;;) {
    const codec::transport::event e = next_event();
    if (e.tpdu.type == cotp::tpdu_type::dr)
      throw client_error(failure::unreachable, fmt::format("{} disconnected (COTP DR reason "
                                                           "0x{:02X})",
                                                           peer_, e.tpdu.reason));
    if (e.tpdu.type != cotp::tpdu_type::dt || !e.completes_pdu) continue;
    const auto a = s7::parse(e.pdu);
    if (!a)
      throw client_error(failure::protocol,
                         fmt::format("{} answered with a malformed S7 PDU: {} at offset {}", peer_,
                                     codec::to_string(a.err().code), a.err().offset));
    if (a->hdr.pdu_ref != h.pdu_ref) continue;
    answer_.assign(e.pdu.begin(), e.pdu.end());
    return *s7::parse(answer_);
  }
}

}  // namespace protos7::client
