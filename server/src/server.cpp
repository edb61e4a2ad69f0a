#include "protos7/server/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "protos7/server/log.hpp"

namespace protos7::server {

namespace {

using clock_type = std::chrono::steady_clock;

// (EAGAIN == EWOULDBLOCK on Linux; only EAGAIN is tested.)
constexpr std::size_t read_chunk = 16 * 1024;
// Bytes read from one connection per round before the others get their turn.
constexpr std::size_t max_read_per_round = 4 * read_chunk;
// An output queue that has drained keeps at most this much capacity (a burst's scratch is freed).
constexpr std::size_t kept_output_capacity = 4 * 1024;
// accept() failing for want of file descriptors: the listener is not polled for this long (the
// level-triggered registration would otherwise report the waiting client again at once).
constexpr std::chrono::milliseconds fd_exhaustion_pause{100};
// Refused connections and accept() failures are logged aggregated, at most once per interval.
constexpr std::chrono::seconds refusal_report_interval{1};
// See fd_headroom(): fixed part (listeners, SQLite, web admin, logs, the spare descriptor).
constexpr std::size_t fd_fixed_headroom = 128;

// What listen() found missing, for listen_error_text() (written once, before the loop runs).
std::size_t g_fds_needed = 0;
std::size_t g_fds_limit = 0;
std::string g_resolve_error;  // why config::listen_address does not resolve

}  // namespace

struct server::connection {
  int fd = -1;
  session s;
  connection_key key{};
  std::vector<std::byte> out;  // replies not sent yet
  std::size_t out_sent = 0;
  std::vector<std::byte> in;  // requests read but held back by flow control
  std::size_t held = 0;       // memory counted in server::queued_ for this connection
  // Max AmQ: end offsets (in bytes ever queued) of the answers not sent whole yet.
  std::vector<std::uint64_t> answer_ends;
  std::uint64_t queued_total = 0;
  std::uint64_t sent_total = 0;
  clock_type::time_point accepted;
  clock_type::time_point last_activity;
  clock_type::time_point frame_started;  // first byte of the partial frame (--frame-timeout)
  bool close_after_flush = false;
  std::uint32_t events = 0;

  connection(int f, const config& cfg, plc_memory& mem, plc_state& plc, std::uint16_t ref,
             std::string peer)
      : fd(f), s(cfg, mem, plc, ref, std::move(peer)) {}
  [[nodiscard]] std::size_t pending_output() const noexcept { return out.size() - out_sent; }
};

server::server(const config& cfg, plc_memory& mem)
    : cfg_(cfg), mem_(mem), plc_(cfg, mem), read_buf_(read_chunk) {}

server::~server() {
  for (auto& [fd, c] : conns_) ::close(fd);
  for (const int fd : listen_fds_) ::close(fd);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

std::size_t fd_headroom(const plc_memory& mem) noexcept {
  // DB files are open only during a commit, at most max_fds_per_commit at once (memory.hpp).
  (void)mem;
  return fd_fixed_headroom + max_fds_per_commit;
}

std::string listen_error_text(int err, const config& cfg) {
  if (err == EACCES || err == EPERM)
    return fmt::format(
        "cannot listen on {}:{}: {}. Ports below 1024 need privileges: either use an unprivileged "
        "port (e.g. --port 1102) or allow the binary to bind them with "
        "`sudo setcap cap_net_bind_service=+ep $(command -v protos7)`",
        cfg.listen_address, cfg.port, std::strerror(err));
  if (err == EMFILE)
    return fmt::format(
        "--max-connections {} needs about {} file descriptors (the connections plus DB files, "
        "SQLite, "
        "web admin and listeners), but the limit (ulimit -n, RLIMIT_NOFILE) is {}: raise the limit "
        "(e.g. LimitNOFILE= in the systemd unit) or lower --max-connections",
        cfg.max_connections, g_fds_needed, g_fds_limit);
  if (err == EINVAL && !g_resolve_error.empty())
    return fmt::format("cannot listen on {}: {}", cfg.listen_address, g_resolve_error);
  if (err == EADDRINUSE)
    return fmt::format(
        "cannot listen on {} port {}: {} (another protos7 or PLC simulator? stop it or choose "
        "another --port)",
        cfg.listen_address, cfg.port, std::strerror(err));
  return fmt::format("cannot listen on {} port {}: {}", cfg.listen_address, cfg.port,
                     std::strerror(err));
}

server_stats server::stats() const noexcept {
  server_stats st;
  st.queued_bytes = queued_.load();
  st.peak_queued_bytes = peak_queued_.load();
  st.loop_rounds = rounds_.load();
  st.fd_exhausted = fd_exhausted_.load();
  st.refused = refused_.load();
  st.frame_timeouts = frame_timeouts_.load();
  st.peak_answers_waiting = peak_answers_.load();
  return st;
}

int server::listen() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    g_fds_needed = cfg_.max_connections + cfg_.reserved_pg + cfg_.reserved_op + fd_headroom(mem_);
    g_fds_limit = lim.rlim_cur;
    if (g_fds_needed > g_fds_limit) return EMFILE;
  }
  std::vector<sockaddr_storage> addrs;
  g_resolve_error = resolve_listen(cfg_.listen_address, cfg_.port, addrs);
  if (!g_resolve_error.empty()) return EINVAL;
  // One address ("::" included) takes IPv4 too where the system allows (dual stack); several
  // ("localhost": 127.0.0.1 and ::1) are bound each on its own.
  for (sockaddr_storage& a : addrs) {
    if (port_ != 0) reinterpret_cast<sockaddr_in&>(a).sin_port = htons(port_);  // same in v6
    if (const int err = listen_on(a, addrs.size() > 1); err != 0) return err;
  }
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return errno;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return errno;
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  for (const int fd : listen_fds_) {
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return errno;
  }
  ev.data.fd = wake_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) return errno;
  std::string where;
  for (sockaddr_storage& a : addrs) {
    reinterpret_cast<sockaddr_in&>(a).sin_port = htons(port_);
    if (!where.empty()) where += " and ";
    where += address_text(a);
  }
  log(log_level::info,
      "listening on {} (rack {} slot {}, PDU {} max, AmQ {} max, {} connections max)", where,
      cfg_.rack, cfg_.slot, cfg_.pdu_size, cfg_.max_amq, cfg_.max_connections);
  return 0;
}

// Binds one listening socket (port 0: an ephemeral port, then kept for the other addresses).
int server::listen_on(const sockaddr_storage& a, bool v6only) {
  const int fd = ::socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  listen_fds_.push_back(fd);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (a.ss_family == AF_INET6) {
    const int only = v6only ? 1 : 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only);
  }
  const socklen_t len = a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), len) != 0) return errno;
  if (::listen(fd, 64) != 0) return errno;
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  port_ = ntohs(reinterpret_cast<const sockaddr_in&>(bound).sin_port);
  return 0;
}

bool server::is_listener(int fd) const noexcept {
  return std::find(listen_fds_.begin(), listen_fds_.end(), fd) != listen_fds_.end();
}

void server::stop() noexcept {
  stopping_.store(true);
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }
}

bool server::post(std::function<void()> work, std::function<void(bool committed)> done) {
  {
    const std::lock_guard lock{posted_mu_};
    if (!accepting_posts_) return false;
    posted_.push_back({std::move(work), std::move(done)});
  }
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }
  return true;
}

void server::pause_listener(clock_type::time_point until) {
  listener_paused_until_ = until;
  if (listener_paused_) return;
  listener_paused_ = true;
  for (const int fd : listen_fds_) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void server::resume_listener_if_due(clock_type::time_point now) {
  if (!listener_paused_ || now < listener_paused_until_ || listen_fds_.empty()) return;
  listener_paused_ = false;
  for (const int fd : listen_fds_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

// accept() failed. Out of file descriptors (EMFILE/ENFILE) the waiting client cannot be taken, and
// the level-triggered listener would be reported again at once: the loop would spin at 100 % CPU.
// As libev's documentation recommends, a spare descriptor is given up to accept that client and
// close it at once (it learns that it was refused instead of hanging), and, as nginx does, the
// listener is not polled for a moment. Other errors (ENOBUFS, ENOMEM) pause the listener too.
void server::on_accept_error(int listener, int err) {
  ++accept_failed_;
  accept_errno_ = err;
  if ((err == EMFILE || err == ENFILE) && spare_fd_ >= 0) {
    fd_exhausted_.fetch_add(1);
    ::close(spare_fd_);
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      ++refused_no_fd_;
      refused_.fetch_add(1);
    }
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  } else if (err == EMFILE || err == ENFILE) {
    fd_exhausted_.fetch_add(1);
  }
  pause_listener(clock_type::now() + fd_exhaustion_pause);
}

// Connection limits, checked before anything is allocated for the client. A refused client's
// TCP connection is closed, like a CPU whose connection resources are exhausted.
bool server::admit(const connection_key& key, const std::string& peer) {
  const std::size_t tcp_limit = cfg_.max_connections + cfg_.reserved_pg + cfg_.reserved_op;
  if (conns_.size() >= tcp_limit) evict_unconnected();
  if (conns_.size() >= tcp_limit) {
    ++refused_full_;
  } else if (cfg_.max_connections_per_address != 0 &&
             per_address_[key] >= cfg_.max_connections_per_address) {
    ++refused_address_;
  } else {
    return true;
  }
  refused_.fetch_add(1);
  log(log_level::debug, "{}: refused (connection limits)", peer);
  return false;
}

// All TCP slots taken: the oldest connection that has not even sent its COTP CR makes room (a
// flood of idle connections must not keep an engineering station out; a real client sends its
// CR within a round trip of connecting).
void server::evict_unconnected() {
  connection* oldest = nullptr;
  for (auto& [fd, c] : conns_)
    if (c->s.current_state() == session::state::wait_cr && (oldest == nullptr || c->accepted < oldest->accepted))
      oldest = c.get();
  if (oldest == nullptr) return;
  log(log_level::debug, "{}: closed to make room (no COTP CR yet)", oldest->s.peer());
  ++evicted_;
  close_connection(oldest->fd);
}

void server::report_refusals(clock_type::time_point now, bool force) {
  if (!force && now - last_report_ < refusal_report_interval) return;
  const auto secs = std::chrono::duration<double>(now - last_report_).count();
  last_report_ = now;
  if (refused_full_ + refused_address_ + refused_no_fd_ > 0)
    log(log_level::warn,
        "refused {} connection(s) in the last {:.1f} s: {} with {} connections open "
        "(--max-connections), {} over "
        "{} from one address (--max-connections-per-address), {} out of file descriptors",
        refused_full_ + refused_address_ + refused_no_fd_, secs, refused_full_,
        cfg_.max_connections, refused_address_, cfg_.max_connections_per_address, refused_no_fd_);
  if (accept_failed_ > 0)
    log(log_level::warn,
        "accept failed {} time(s) in the last {:.1f} s (last: {}); new clients wait",
        accept_failed_, secs, std::strerror(accept_errno_));
  refused_full_ = refused_address_ = refused_no_fd_ = accept_failed_ = 0;
}

void server::accept_all(int listener) {
  for (;;) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    const int fd =
        ::accept4(listener, reinterpret_cast<sockaddr*>(&a), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN) on_accept_error(listener, errno);
      return;
    }
    std::string peer = address_text(a);
    const connection_key key = key_of(a);
    if (!admit(key, peer)) {
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::uint16_t ref = next_ref_++;
    if (next_ref_ == 0) next_ref_ = 1;
    auto c = std::make_unique<connection>(fd, cfg_, mem_, plc_, ref, peer);
    c->key = key;
    c->accepted = c->last_activity = clock_type::now();
    c->events = EPOLLIN | EPOLLRDHUP;
    epoll_event ev{};
    ev.events = c->events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      log(log_level::error, "{}: epoll_ctl: {}", peer, std::strerror(errno));
      ::close(fd);
      continue;
    }
    log(log_level::debug, "{}: accepted", peer);
    ++per_address_[key];
    conns_.emplace(fd, std::move(c));
    count_.store(conns_.size());
    if (observer_ != nullptr) observer_->on_open(fd, peer);
  }
}

// Max AmQ calling, the per-connection and the total output bounds (server.hpp "Flow control").
// A job counts as answered once its answer has left (been written to the socket) whole.
bool server::can_process(connection& c) const {
  if (c.close_after_flush || blocked_total_ || c.pending_output() >= cfg_.max_output_per_connection)
    return false;
  const std::size_t amq = c.s.current_state() == session::state::ready
                              ? std::max<std::size_t>(c.s.amq_calling(), 1)
                              : 1;
  return c.answer_ends.size() < amq;
}

// Keeps queued_ equal to the memory the connections hold for queued bytes (vector capacities:
// what is really allocated, incl. the scratch a burst of replies left behind).
void server::account(connection& c) {
  const std::size_t now_held = c.out.capacity() + c.in.capacity();
  const std::size_t total = queued_.load() - c.held + now_held;
  c.held = now_held;
  queued_.store(total);
  if (total > peak_queued_.load()) peak_queued_.store(total);
  if (total >= cfg_.max_output_total && !blocked_total_) {
    blocked_total_ = true;
    log(log_level::warn,
        "{} bytes of replies queued for clients that do not read them (at most {}): reading "
        "from no client until they drain",
        total, cfg_.max_output_total);
  }
}

// Runs the session over `in` one answered frame at a time while flow control allows; what is
// left waits in c.in (and the socket is not read meanwhile, update_events()).
void server::consume(connection& c, std::span<const std::byte> in) {
  // The observer sees the bytes processed here and the replies to them as one event, as they
  // arrived (a validator must see two pipelined jobs before the first answer).
  const std::span<const std::byte> all = in;
  const std::size_t queued_before = c.out.size();
  std::size_t used = 0;  // bytes the session took (not those after a close)
  while (!in.empty() && can_process(c)) {
    const std::size_t queued = c.out.size();
    const std::size_t partial = c.s.partial_frame();
    const auto r = c.s.receive_some(in, c.out, 1);
    in = in.subspan(r.consumed);
    used += r.consumed;
    c.queued_total += c.out.size() - queued;
    if (r.replies > 0) c.answer_ends.push_back(c.queued_total);
    if (c.answer_ends.size() > peak_answers_.load()) peak_answers_.store(c.answer_ends.size());
    // A frame began in these bytes (none was pending, or one completed): its deadline starts now.
    if (c.s.partial_frame() > 0 && (partial == 0 || c.s.partial_frame() < partial + r.consumed))
      c.frame_started = clock_type::now();
    if (!r.open) {
      c.close_after_flush = true;
      in = {};
    }
  }
  if (observer_ != nullptr && (used > 0 || c.out.size() > queued_before))
    observer_->on_traffic(c.fd, all.first(used), std::span<const std::byte>(c.out).subspan(queued_before));
  if (!in.empty()) c.in.insert(c.in.end(), in.begin(), in.end());
  account(c);
}

void server::on_readable(connection& c) {
  if (!c.in.empty()) {
    std::vector<std::byte> held;
    held.swap(c.in);
    consume(c, held);
    if (c.in.empty() && held.capacity() <= read_chunk) {
      held.clear();
      c.in.swap(held);  // keep the buffer for the next time
    }
    account(c);
    if (!c.in.empty()) return;
  }
  std::size_t total = 0;
  while (total < max_read_per_round && can_process(c)) {
    const ssize_t n = ::recv(c.fd, read_buf_.data(), read_buf_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      log(log_level::info, "{}: recv: {}", c.s.peer(), std::strerror(errno));
      c.close_after_flush = true;
      c.out.clear();
      c.out_sent = 0;
      return;
    }
    if (n == 0) {
      log(log_level::debug, "{}: peer closed the connection", c.s.peer());
      c.close_after_flush = true;
      return;
    }
    total += static_cast<std::size_t>(n);
    c.last_activity = clock_type::now();
    consume(c, std::span<const std::byte>(read_buf_.data(), static_cast<std::size_t>(n)));
    // A short read drained the socket: do not spend a recv() on EAGAIN (one syscall of the
    // three or four per request at one job in flight). The epoll registration is
    // level-triggered, so bytes or an EOF that arrive meanwhile are reported next round.
    if (static_cast<std::size_t>(n) < read_buf_.size() || !c.in.empty()) return;
  }
}

void server::flush(connection& c) {
  while (c.out_sent < c.out.size()) {
    const ssize_t n =
        ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      log(log_level::info, "{}: send: {}", c.s.peer(), std::strerror(errno));
      c.out.clear();
      c.out_sent = 0;
      c.close_after_flush = true;
      break;
    }
    c.out_sent += static_cast<std::size_t>(n);
    c.sent_total += static_cast<std::size_t>(n);
  }
  after_flush(c);
}

// Answers sent whole leave the Max AmQ count; a drained queue gives its burst memory back.
void server::after_flush(connection& c) {
  if (c.out_sent == c.out.size()) {
    c.out.clear();
    c.out_sent = 0;
    if (c.out.capacity() > kept_output_capacity) std::vector<std::byte>().swap(c.out);
    c.sent_total = c.queued_total;  // also after an error dropped the queue
  }
  std::size_t answered = 0;
  while (answered < c.answer_ends.size() && c.answer_ends[answered] <= c.sent_total) ++answered;
  c.answer_ends.erase(c.answer_ends.begin(),
                      c.answer_ends.begin() + static_cast<std::ptrdiff_t>(answered));
  account(c);
  if (!c.in.empty() && can_process(c)) ready_.push_back(c.fd);
}

void server::update_events(connection& c) {
  // Held back by flow control, a peer's half-close (RDHUP) must not be reported either: the
  // registration is level-triggered and the loop would spin until the answers drain.
  std::uint32_t want = 0;
  if (c.pending_output() > 0) want |= EPOLLOUT;
  if (c.in.empty() && can_process(c)) want |= EPOLLIN | EPOLLRDHUP;
  if (want == c.events) return;
  c.events = want;
  epoll_event ev{};
  ev.events = want;
  ev.data.fd = c.fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

// The total went back under max_output_total: every connection may be read again.
void server::unblock_all() {
  if (!blocked_total_ || queued_.load() >= cfg_.max_output_total / 4 * 3) return;
  blocked_total_ = false;
  log(log_level::info, "queued replies down to {} bytes: reading from clients again",
      queued_.load());
  for (auto& [fd, c] : conns_) {
    update_events(*c);
    if (!c->in.empty()) ready_.push_back(fd);
  }
}

void server::close_connection(int fd) {
  const auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  if (observer_ != nullptr) observer_->on_close(fd);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  log(log_level::debug, "{}: closed", it->second->s.peer());
  connection& c = *it->second;
  queued_.store(queued_.load() - c.held);
  if (const auto a = per_address_.find(c.key); a != per_address_.end() && --a->second == 0)
    per_address_.erase(a);
  conns_.erase(it);
  count_.store(conns_.size());
}

void server::sweep_timeouts() {
  const auto now = clock_type::now();
  std::vector<int> expired;
  for (auto& [fd, c] : conns_) {
    const bool set_up = c->s.current_state() == session::state::ready;
    if (!set_up && cfg_.setup_timeout.count() > 0 && now - c->accepted > cfg_.setup_timeout) {
      log(log_level::info, "{}: no COTP connection + Setup Communication within {} ms: closed",
          c->s.peer(), cfg_.setup_timeout.count());
      expired.push_back(fd);
    } else if (cfg_.frame_timeout.count() > 0 && c->s.partial_frame() > 0 &&
               now - c->frame_started > cfg_.frame_timeout) {
      log(log_level::info, "{}: TPKT frame not complete within {} ms (--frame-timeout): closed",
          c->s.peer(), cfg_.frame_timeout.count());
      frame_timeouts_.fetch_add(1);
      expired.push_back(fd);
    } else if (cfg_.idle_timeout.count() > 0 && now - c->last_activity > cfg_.idle_timeout) {
      log(log_level::info, "{}: idle for {} ms: closed", c->s.peer(), cfg_.idle_timeout.count());
      expired.push_back(fd);
    }
  }
  for (int fd : expired) close_connection(fd);
  report_refusals(now, false);
  flush_suppressed_logs();
}

// On stop: the listener goes first (clients connecting now get a reset instead of waiting in the
// backlog), then every connection gets what can be sent without waiting and is closed.
void server::shutdown_connections() {
  for (const int fd : listen_fds_) {
    if (!listener_paused_) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
  }
  listen_fds_.clear();
  std::vector<int> fds;
  for (auto& [fd, c] : conns_) {
    flush(*c);
    fds.push_back(fd);
  }
  for (int fd : fds) close_connection(fd);
  report_refusals(clock_type::now(), true);
}

void server::run() {
  std::array<epoll_event, 64> events{};
  auto last_sweep = clock_type::now();
  last_report_ = last_sweep;
  std::vector<int> touched;
  std::vector<int> ready;
  while (!stopping_.load()) {
    rounds_.fetch_add(1);
    int timeout_ms = ready_.empty() ? 200 : 0;
    if (listener_paused_)
      timeout_ms = std::min(timeout_ms, static_cast<int>(fd_exhaustion_pause.count()));
    const int n =
        ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) {
      log(log_level::error, "epoll_wait: {}", std::strerror(errno));
      break;
    }
    const auto round_start = clock_type::now();
    touched.clear();
    const std::uint64_t failures_before = mem_.commit_failures();
    ready.swap(ready_);
    // Connections whose held-back requests may now be processed (flow control released them).
    for (int fd : ready) {
      const auto it = conns_.find(fd);
      if (it == conns_.end()) continue;
      on_readable(*it->second);
      touched.push_back(fd);
    }
    ready.clear();
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      const std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
      if (is_listener(fd)) {
        accept_all(fd);
        continue;
      }
      if (fd == wake_fd_) {
        std::uint64_t count = 0;  // reset the eventfd (stop() and post() write to it)
        [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      const auto it = conns_.find(fd);
      if (it == conns_.end()) continue;
      connection& c = *it->second;
      if ((ev & (EPOLLHUP | EPOLLERR)) != 0 && (c.events & EPOLLIN) == 0) {
        c.close_after_flush =
            true;  // reset or fully closed while not being read: nothing to send to
        c.out.clear();
        c.out_sent = 0;
      } else if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0) {
        on_readable(c);
      }
      touched.push_back(fd);
    }
    commit_round(failures_before);
    for (int fd : touched) {
      const auto it = conns_.find(fd);
      if (it == conns_.end()) continue;
      connection& c = *it->second;
      flush(c);
      if (c.close_after_flush && c.out.empty()) {
        close_connection(fd);
        continue;
      }
      update_events(c);
    }
    if (observer_ != nullptr && !touched.empty()) observer_->on_round(round_start, round_commit_);
    unblock_all();
    const auto now = clock_type::now();
    resume_listener_if_due(now);
    if (now - last_sweep > std::chrono::milliseconds(200)) {
      last_sweep = now;
      sweep_timeouts();
    }
  }
  shutdown_connections();
  std::vector<posted> dropped;
  {
    const std::lock_guard lock{posted_mu_};
    accepting_posts_ = false;
    dropped.swap(posted_);
  }
  for (posted& p : dropped)
    if (p.done) p.done(false);
  log(log_level::info, "stopped");
}

// Work posted by other threads (the web admin) runs here, so its DB writes join the commit.
// Group commit: make this round's DB writes durable before any acknowledgement leaves.
void server::commit_round(std::uint64_t failures_before) {
  std::vector<posted> ran;
  {
    const std::lock_guard lock{posted_mu_};
    ran.swap(posted_);
  }
  for (posted& p : ran)
    if (p.work) p.work();
  const auto commit_start = clock_type::now();
  const bool wrote = mem_.has_uncommitted();
  const bool synced = !wrote || mem_.commit();
  round_commit_ = wrote ? clock_type::now() - commit_start : clock_type::duration::zero();
  // Also a failed commit made earlier in the round (by _INSE or the web admin's work).
  const bool committed = synced && mem_.commit_failures() == failures_before;
  for (posted& p : ran)
    if (p.done) p.done(committed);
  if (!committed) {
    for (auto& [fd, c] : conns_) {
      if (c->s.wrote()) {
        log(log_level::error, "{}: DB sync failed: closing without acknowledging", c->s.peer());
        c->out.clear();
        c->out_sent = 0;
        c->close_after_flush = true;
      }
    }
  }
  for (auto& [fd, c] : conns_) c->s.clear_wrote();
}

}  // namespace protos7::server
