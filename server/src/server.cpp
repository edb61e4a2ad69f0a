#include "protos7/server/server.hpp"

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
#include <cerrno>
#include <cstring>

#include "protos7/server/log.hpp"

namespace protos7::server {

namespace {

using clock_type = std::chrono::steady_clock;

// (EAGAIN == EWOULDBLOCK on Linux; only EAGAIN is tested.)
// Bytes read from one connection per round before the others get their turn (4 reads of the
// loop's 16 KiB buffer, event_loop.cpp).
constexpr std::size_t max_read_per_round = std::size_t{64} * 1024;
// Requests held back by flow control keep their buffer for the next time up to this size.
constexpr std::size_t kept_input_capacity = std::size_t{16} * 1024;
// An output queue that has drained keeps at most this much capacity (a burst's scratch is freed).
constexpr std::size_t kept_output_capacity = std::size_t{4} * 1024;
// accept() failing for want of file descriptors: the listener is not polled for this long (the
// level-triggered registration would otherwise report the waiting client again at once).
constexpr std::chrono::milliseconds fd_exhaustion_pause{100};
// Refused connections and accept() failures are logged aggregated, at most once per interval.
constexpr std::chrono::seconds refusal_report_interval{1};
// Connection timeouts are checked this often.
constexpr std::chrono::milliseconds sweep_interval{200};
// See fd_headroom(): fixed part (listeners, SQLite, web admin, logs, the spare descriptor).
constexpr std::size_t fd_fixed_headroom = 128;

// What listen() found missing, for listen_error_text() (written once, before the loop runs).
std::size_t g_fds_needed = 0;
std::size_t g_fds_limit = 0;

// Closing this socket sends a TCP RST instead of a FIN (SO_LINGER with a zero timeout).
void reset_socket(int fd) {
  const linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

std::string g_resolve_error;  // why config::listen_address does not resolve

}  // namespace

struct server::connection final : session_tap {
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
  std::unique_ptr<fault_connection> fx;  // fault injection (after `s`: it refers to it)

  connection_observer* const* observer;  // the server's (it may be set or replaced later)

  connection(int f, const config& cfg, plc_memory& mem, plc_state& plc, std::uint16_t ref,
             std::string peer, connection_observer* const* obs)
      : fd(f), s(cfg, mem, plc, ref, std::move(peer)), observer(obs) {
    s.set_tap(this);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() = default;
  void on_session_event(const session_event& e) override {
    if (*observer != nullptr) (*observer)->on_event(fd, e);
  }
  // Events carry the time their bytes were read, or the push was made: one clock read per
  // recv() times every event of its requests.
  void set_event_time(clock_type::time_point t) noexcept { s.set_event_time(t); }
  [[nodiscard]] std::size_t pending_output() const noexcept { return out.size() - out_sent; }
};

server::server(const config& cfg, plc_memory& mem)
    : cfg_(cfg),
      mem_(mem),
      plc_(cfg, mem),
      faults_(cfg.profile != nullptr ? cfg.profile->name : std::string()),
      own_loop_(std::make_unique<event_loop>()),
      loop_(own_loop_.get()),
      tag_(loop_->attach(*this)) {}

server::server(const config& cfg, plc_memory& mem, event_loop& loop)
    : cfg_(cfg),
      mem_(mem),
      plc_(cfg, mem),
      faults_(cfg.profile != nullptr ? cfg.profile->name : std::string()),
      loop_(&loop),
      tag_(loop.attach(*this)) {}

server::~server() {
  for (auto& [fd, c] : conns_) ::close(fd);
  for (const int fd : listen_fds_) ::close(fd);
}

std::uint64_t server::tagged(int fd) const noexcept {
  return (std::uint64_t{tag_} << 32U) | static_cast<std::uint32_t>(fd);
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
  st.requests = requests_.load(std::memory_order_relaxed);
  st.pushes = pushes_.load(std::memory_order_relaxed);
  st.pushes_skipped = pushes_skipped_.load(std::memory_order_relaxed);
  return st;
}

int server::listen() {
  rlimit lim{};
  if (own_loop_ && ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    g_fds_needed = cfg_.max_connections + cfg_.reserved_pg + cfg_.reserved_op + fd_headroom(mem_);
    g_fds_limit = lim.rlim_cur;
    if (g_fds_needed > g_fds_limit) return EMFILE;
  }
  if (own_loop_)
    if (const int err = own_loop_->open(); err != 0) return err;
  std::vector<sockaddr_storage> addrs;
  if (const status s = resolve_listen(cfg_.listen_address, cfg_.port, addrs); !s) {
    g_resolve_error = s.why();
    return EINVAL;
  }
  g_resolve_error.clear();
  // One address ("::" included) takes IPv4 too where the system allows (dual stack); several
  // ("localhost": 127.0.0.1 and ::1) are bound each on its own.
  for (sockaddr_storage& a : addrs) {
    if (port_ != 0) reinterpret_cast<sockaddr_in&>(a).sin_port = htons(port_);  // same in v6
    if (const int err = listen_on(a, addrs.size() > 1); err != 0) return err;
  }
  for (const int fd : listen_fds_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tagged(fd);
    if (::epoll_ctl(loop_->epoll_fd(), EPOLL_CTL_ADD, fd, &ev) != 0) return errno;
  }
  std::string where;
  for (sockaddr_storage& a : addrs) {
    reinterpret_cast<sockaddr_in&>(a).sin_port = htons(port_);
    if (!where.empty()) where += " and ";
    where += address_text(a);
  }
  // A plant logs one line for all its PLCs (plant.cpp).
  log(own_loop_ ? log_level::info : log_level::debug,
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

void server::run() {
  if (own_loop_) own_loop_->run();
}

void server::stop() noexcept {
  loop_->stop();
}

bool server::post(std::function<void()> work, std::function<void(bool committed)> done) {
  {
    const std::lock_guard lock{posted_mu_};
    if (!accepting_posts_) return false;
    posted_.push_back({std::move(work), std::move(done)});
    has_posted_.store(true);
  }
  loop_->notify_posted(tag_);
  return true;
}

void server::update_listener(int op) {
  for (const int fd : listen_fds_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tagged(fd);
    ::epoll_ctl(loop_->epoll_fd(), op, fd, &ev);
  }
}

void server::pause_listener(clock_type::time_point until) {
  listener_paused_until_ = until;
  if (listener_paused_) return;
  listener_paused_ = true;
  update_listener(EPOLL_CTL_DEL);
}

void server::resume_listener_if_due(clock_type::time_point now) {
  if (!listener_paused_ || now < listener_paused_until_ || listen_fds_.empty()) return;
  listener_paused_ = false;
  update_listener(EPOLL_CTL_ADD);
}

// accept() failed. Out of file descriptors (EMFILE/ENFILE) the waiting client cannot be taken, and
// the level-triggered listener would be reported again at once: the loop would spin at 100 % CPU.
// As libev's documentation recommends, a spare descriptor is given up to accept that client and
// close it at once (it learns that it was refused instead of hanging), and, as nginx does, the
// listener is not polled for a moment. Other errors (ENOBUFS, ENOMEM) pause the listener too.
void server::on_accept_error(int listener, int err) {
  ++accept_failed_;
  accept_errno_ = err;
  int& spare_fd = loop_->spare_fd_;
  if ((err == EMFILE || err == ENFILE) && spare_fd >= 0) {
    fd_exhausted_.fetch_add(1);
    ::close(spare_fd);
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      ++refused_no_fd_;
      refused_.fetch_add(1);
    }
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
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
    if (c->s.current_state() == session::state::wait_cr &&
        (oldest == nullptr || c->accepted < oldest->accepted))
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
    if (faults_.active() && faults_.refuse(fd, peer, ipv4_of(key))) {
      reset_socket(fd);  // a fault rule refuses it: reset, as a CPU out of resources does
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::uint16_t ref = next_ref_++;
    if (next_ref_ == 0) next_ref_ = 1;
    auto c = std::make_unique<connection>(fd, cfg_, mem_, plc_, ref, peer, &observer_);
    c->fx = faults_.attach(c->s, fd, peer, ipv4_of(key));
    c->key = key;
    c->accepted = c->last_activity = clock_type::now();
    c->set_event_time(c->accepted);
    c->events = EPOLLIN | EPOLLRDHUP;
    epoll_event ev{};
    ev.events = c->events;
    ev.data.u64 = tagged(fd);
    if (::epoll_ctl(loop_->epoll_fd(), EPOLL_CTL_ADD, fd, &ev) != 0) {
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
    if (r.replies > 0) {
      c.answer_ends.push_back(c.queued_total);
      // Written by this thread only: a plain increment, no locked instruction per request.
      requests_.store(requests_.load(std::memory_order_relaxed) + r.replies,
                      std::memory_order_relaxed);
    }
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
    observer_->on_traffic(c.fd, all.first(used),
                          std::span<const std::byte>(c.out).subspan(queued_before));
  if (!in.empty()) c.in.insert(c.in.end(), in.begin(), in.end());
  account(c);
}

void server::on_readable(connection& c) {
  if (!c.in.empty()) {
    std::vector<std::byte> held;
    held.swap(c.in);
    consume(c, held);
    if (c.in.empty() && held.capacity() <= kept_input_capacity) {
      held.clear();
      c.in.swap(held);  // keep the buffer for the next time
    }
    account(c);
    if (!c.in.empty()) return;
  }
  const std::span<std::byte> buf = loop_->read_buffer();
  std::size_t total = 0;
  while (total < max_read_per_round && can_process(c)) {
    const ssize_t n = ::recv(c.fd, buf.data(), buf.size(), 0);
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
    c.set_event_time(c.last_activity);
    consume(c, std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
    // A short read drained the socket: do not spend a recv() on EAGAIN (one syscall of the
    // three or four per request at one job in flight). The epoll registration is
    // level-triggered, so bytes or an EOF that arrive meanwhile are reported next round.
    if (static_cast<std::size_t>(n) < buf.size() || !c.in.empty()) return;
  }
}

void server::flush(connection& c) {
  while (c.out_sent < c.out.size()) {
    std::size_t len = c.out.size() - c.out_sent;
    // A fault's output gate: held (delay), or sent in pieces (TCP segments, trickle).
    if (c.fx->gated() && (len = c.fx->sendable(c.out_sent, len, clock_type::now())) == 0) break;
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, len, MSG_NOSIGNAL);
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
    if (c.fx->gated()) c.fx->sent(c.out_sent, clock_type::now());
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
  if (!c.in.empty() && can_process(c)) {
    ready_.push_back(c.fd);
    schedule();
  }
}

// Held-back requests wait for the next round, which the loop runs without waiting for events.
void server::schedule() {
  if (scheduled_) return;
  scheduled_ = true;
  loop_->schedule(*this);
}

void server::update_events(connection& c) {
  // Held back by flow control, a peer's half-close (RDHUP) must not be reported either: the
  // registration is level-triggered and the loop would spin until the answers drain.
  std::uint32_t want = 0;
  if (c.pending_output() > 0 && !(c.fx->gated() && c.fx->waiting(c.out_sent, clock_type::now())))
    want |= EPOLLOUT;
  if (c.in.empty() && can_process(c)) want |= EPOLLIN | EPOLLRDHUP;
  if (want == c.events) return;
  c.events = want;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = tagged(c.fd);
  ::epoll_ctl(loop_->epoll_fd(), EPOLL_CTL_MOD, c.fd, &ev);
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
  if (!ready_.empty()) schedule();
}

void server::close_connection(int fd) {
  const auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  if (observer_ != nullptr) observer_->on_close(fd);
  ::epoll_ctl(loop_->epoll_fd(), EPOLL_CTL_DEL, fd, nullptr);
  if (it->second->fx->reset_on_close()) reset_socket(fd);
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
}

// The epoll timeout that wakes the loop when the first reply held by a fault may leave.
int server::gate_timeout(int timeout_ms) const {
  const auto w = faults_.next_wake();
  if (!w) return timeout_ms;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*w - clock_type::now()).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, timeout_ms));
}

// On stop: the listener goes first (clients connecting now get a reset instead of waiting in the
// backlog), then every connection gets what can be sent without waiting and is closed.
void server::shutdown_connections() {
  for (const int fd : listen_fds_) {
    if (!listener_paused_) {
      epoll_event ev{};
      ::epoll_ctl(loop_->epoll_fd(), EPOLL_CTL_DEL, fd, &ev);
    }
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

// --- one loop round (event_loop.cpp calls these in this order) ---

void server::join_round() {
  if (in_round_) return;
  in_round_ = true;
  round_start_ = clock_type::now();
  rounds_.fetch_add(1);
  // A commit that fails in this round (here, in _INSE or in posted work) fails its answers.
  failures_before_ = mem_.commit_failures();
  loop_->join(*this);
}

// Connections whose held-back requests may now be processed (flow control released them).
void server::run_ready() {
  scheduled_ = false;
  join_round();
  ready_taken_.swap(ready_);
  for (int fd : ready_taken_) {
    const auto it = conns_.find(fd);
    if (it == conns_.end()) continue;
    on_readable(*it->second);
    touched_.push_back(fd);
  }
  ready_taken_.clear();
}

void server::run_gated(clock_type::time_point now) {
  for (const fault_connection* fx : faults_.gated()) {
    const auto w = fx->wake();
    if (!w || *w > now) continue;
    join_round();
    touched_.push_back(fx->id());
  }
}

void server::on_event(int fd, std::uint32_t ev) {
  join_round();
  if (is_listener(fd)) {
    accept_all(fd);
    return;
  }
  const auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  connection& c = *it->second;
  if ((ev & (EPOLLHUP | EPOLLERR)) != 0 && (c.events & EPOLLIN) == 0) {
    c.close_after_flush = true;  // reset or fully closed while not being read: nothing to send to
    c.out.clear();
    c.out_sent = 0;
  } else if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0) {
    on_readable(c);
  }
  touched_.push_back(fd);
}

// Work posted by other threads (the web admin) runs here, so its DB writes join the commit.
void server::run_posted() {
  if (!has_posted_.load()) return;  // no lock on the request path
  {
    const std::lock_guard lock{posted_mu_};
    ran_.swap(posted_);  // ran_ is empty: end_round() cleared it
    has_posted_.store(false);
  }
  for (posted& p : ran_)
    if (p.work) p.work();
}

// After the group commit (event_loop::commit_round): the round's answers leave, or, when a sync
// failed, the connections that wrote are closed without theirs.
void server::end_round() {
  in_round_ = false;
  const bool committed = mem_.commit_failures() == failures_before_;
  for (posted& p : ran_)
    if (p.done) p.done(committed);
  ran_.clear();
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
  for (int fd : touched_) {
    const auto it = conns_.find(fd);
    if (it == conns_.end()) continue;
    connection& c = *it->second;
    flush(c);
    if (c.close_after_flush && c.out.empty()) {
      close_connection(fd);
      continue;
    }
    update_events(c);
    note_push_due(c.s.next_push());  // a request may have set up a subscription
  }
  if (observer_ != nullptr && !touched_.empty()) observer_->on_round(round_start_, round_commit_);
  touched_.clear();
  unblock_all();
}

void server::note_push_due(clock_type::time_point due) {
  if (due >= next_push_) return;
  next_push_ = due;
  loop_->note_push_due(due);
}

// Pushes due at `now` (push.hpp), appended to each ready connection's output within its bound
// (config::max_output_per_connection; nothing while all output is over max_output_total).
void server::run_pushes(clock_type::time_point now) {
  if (now < next_push_) {
    loop_->note_push_due(next_push_);
    return;
  }
  next_push_ = clock_type::time_point::max();
  for (auto& [fd, cp] : conns_) {
    connection& c = *cp;
    if (c.s.next_push() > now || c.close_after_flush) {
      note_push_due(c.s.next_push());
      continue;
    }
    join_round();
    const std::size_t pending = c.pending_output();
    const std::size_t bound = blocked_total_ ? 0 : cfg_.max_output_per_connection;
    const std::size_t before = c.out.size();
    c.set_event_time(now);
    const session::push_result r =
        c.s.push(now, mem_.writes(), c.out, bound > pending ? bound - pending : 0);
    c.queued_total += c.out.size() - before;
    pushes_.store(pushes_.load(std::memory_order_relaxed) + r.sent, std::memory_order_relaxed);
    pushes_skipped_.store(pushes_skipped_.load(std::memory_order_relaxed) + r.skipped,
                          std::memory_order_relaxed);
    if (observer_ != nullptr && c.out.size() > before)
      observer_->on_traffic(fd, {}, std::span<const std::byte>(c.out).subspan(before));
    account(c);
    touched_.push_back(fd);
    note_push_due(c.s.next_push());
  }
}

void server::tick(clock_type::time_point now) {
  resume_listener_if_due(now);
  if (now - last_sweep_ < sweep_interval) return;
  if (last_sweep_ == clock_type::time_point{}) last_report_ = now;
  last_sweep_ = now;
  sweep_timeouts();
}

void server::shut_down() {
  shutdown_connections();
  std::vector<posted> dropped;
  {
    const std::lock_guard lock{posted_mu_};
    accepting_posts_ = false;
    dropped.swap(posted_);
    has_posted_.store(false);
  }
  for (posted& p : dropped)
    if (p.done) p.done(false);
  log(own_loop_ ? log_level::info : log_level::debug, "stopped");
}

}  // namespace protos7::server
