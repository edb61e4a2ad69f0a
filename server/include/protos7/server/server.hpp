// An S7 server: one PLC (its config, memory and CPU state) at one listening address, and the
// connections of its clients. It runs on an event loop (event_loop.hpp): its own (`protos7
// serve`, run()) or one shared with the other PLCs of a plant's shard (plant.hpp).
//
// Per loop round: read what is readable and run it through each connection's session (replies
// are queued, not sent); then plc_memory::commit_group() fdatasyncs every DB file written in the
// round (group commit); then the queued replies are sent. A Write Var acknowledgement therefore
// never leaves before its bytes are on disk. If the sync fails, the connections that wrote in
// that round are closed without their acknowledgements.
//
// Flow control: a connection's requests are processed while fewer of its answers than the
// negotiated Max AmQ calling are waiting to be sent, its queued bytes are under
// config::max_output_per_connection and all connections' under config::max_output_total; the
// bytes already read wait, and the socket is not read, until answers have left (server/README.md).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "protos7/server/config.hpp"
#include "protos7/server/event_loop.hpp"
#include "protos7/server/faults.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/net_address.hpp"
#include "protos7/server/plc_state.hpp"
#include "protos7/server/session.hpp"

namespace protos7::server {

// Sees every connection and its traffic (the web admin's client list and request log). Called on
// the event-loop thread only, so it must not block. `id` is the connection's socket, unique while
// the connection is open (on_close comes before the number can be reused).
class connection_observer {
 public:
  virtual ~connection_observer() = default;
  virtual void on_open(int id, const std::string& peer) = 0;
  // `in`: bytes read from the client; `out`: the replies the session queued for them (they are
  // sent after the round's group commit, or dropped with the connection if that commit fails).
  virtual void on_traffic(int id, std::span<const std::byte> in,
                          std::span<const std::byte> out) = 0;
  virtual void on_close(int id) = 0;
  // What the connection's session decoded and answered, PDU by PDU (session.hpp): observers that
  // look at requests and replies take them from here instead of framing `in`/`out` again.
  // Default: nothing.
  virtual void on_event(int id, const session_event& e) {
    (void)id;
    (void)e;
  }
  // After an epoll round that served clients, once its replies were handed to the kernel (after
  // the group commit): `started` is when the round's epoll_wait returned, `commit` how long the
  // round's plc_memory::commit() took (zero when nothing was written). Default: nothing.
  virtual void on_round(std::chrono::steady_clock::time_point started,
                        std::chrono::steady_clock::duration commit) {
    (void)started;
    (void)commit;
  }
};

// Counters of the event loop, readable from any thread (tests, diagnostics).
struct server_stats {
  std::size_t queued_bytes = 0;          // memory held for unsent replies and unprocessed requests
  std::size_t peak_queued_bytes = 0;     // highest queued_bytes seen
  std::uint64_t loop_rounds = 0;         // epoll rounds run
  std::uint64_t fd_exhausted = 0;        // accept() failing with EMFILE/ENFILE
  std::uint64_t refused = 0;             // connections closed at accept (limits, no fds)
  std::uint64_t frame_timeouts = 0;      // connections closed by --frame-timeout
  std::size_t peak_answers_waiting = 0;  // most answers one connection had queued, not yet sent
  std::uint64_t requests = 0;            // requests answered: COTP CRs, S7 jobs and Userdata
  std::uint64_t pushes = 0;              // pushes queued (push.hpp)
  std::uint64_t pushes_skipped = 0;      // pushes dropped: the connection's output over its bound
};

class server {
 public:
  // A server with an event loop of its own: run() serves it (`protos7 serve`).
  server(const config& cfg, plc_memory& mem);
  // A server on `loop`, shared with other servers (a plant's shard): loop.run() serves it. The
  // loop must outlive the server and must not run while servers are added.
  server(const config& cfg, plc_memory& mem, event_loop& loop);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and listens on every address config::listen_address resolves to (net_address.hpp).
  // Returns 0 or the errno of the failing call (EACCES: port < 1024 without
  // CAP_NET_BIND_SERVICE; EMFILE: RLIMIT_NOFILE is below max_connections + fd_headroom();
  // EADDRNOTAVAIL: an address that is not this host's; EINVAL: a name that does not resolve,
  // listen_error_text() says why).
  [[nodiscard]] int listen();
  // The bound port (the ephemeral one when config.port is 0).
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // Serves until stop() is called (from any thread or a signal handler). Own loop only.
  void run();
  // Stops the loop the server runs on (a shared loop: every server of it).
  void stop() noexcept;
  [[nodiscard]] std::size_t connection_count() const noexcept { return count_.load(); }
  [[nodiscard]] server_stats stats() const noexcept;
  // The CPU's state shared by all sessions: operating mode, clock, protection, identity, block
  // directory (plc_state.hpp). Loop thread only: other threads go through post().
  [[nodiscard]] plc_state& plc() noexcept { return plc_; }
  // This PLC's fault injection (faults.hpp): rules, counters, the faults injected. Loop thread
  // only, like plc(); set the rules before run() or through post().
  [[nodiscard]] fault_engine& faults() noexcept { return faults_; }
  [[nodiscard]] const fault_engine& faults() const noexcept { return faults_; }
  [[nodiscard]] plc_memory& memory() noexcept { return mem_; }
  [[nodiscard]] const config& cfg() const noexcept { return cfg_; }
  // While the loop works for this server, its log lines carry ctx->name and its warnings are
  // kept in ctx (a plant's PLC; log.hpp). Set before the loop runs; ctx must outlive the server.
  void set_log_context(log_context* ctx) noexcept { log_ctx_ = ctx; }
  [[nodiscard]] log_context* log_ctx() const noexcept { return log_ctx_; }

  // --- Hooks for components on other threads (server/webadmin). The core stays single-threaded:
  // they never touch plc_memory or connections themselves, they post work to the loop thread.
  //
  // Queues `work` for the loop thread. It runs in the next epoll round after that round's reads
  // and before its group commit, so the DB writes it makes are synced together with the round's
  // S7 writes; `done(committed)` then runs on the loop thread after the commit (false: the sync
  // failed, its writes are not durable). Thread-safe. Returns false and queues nothing once run()
  // has returned; work still queued then is not run and gets done(false).
  bool post(std::function<void()> work, std::function<void(bool committed)> done = {});
  // Set before run(); called on the loop thread.
  void set_observer(connection_observer* o) noexcept { observer_ = o; }
  // The observer set (to chain it with others, e.g. observer_fanout in pcap_writer.hpp).
  [[nodiscard]] connection_observer* observer() const noexcept { return observer_; }

 private:
  struct posted {
    std::function<void()> work;
    std::function<void(bool)> done;
  };
  struct connection;
  friend class event_loop;
  using clock_type = std::chrono::steady_clock;
  using connection_key = peer_key;  // the client's address (net_address.hpp)

  // --- one loop round, called by event_loop (server.cpp) ---
  void join_round();                            // takes part in the round (first call of a round)
  void run_ready();                             // requests flow control released (scheduled)
  void run_gated(clock_type::time_point now);   // replies a fault held back whose time has come
  void on_event(int fd, std::uint32_t events);  // the listener or a connection
  void run_posted();                            // work other threads posted
  void end_round();                             // after the group commit: acknowledge or close
  void tick(clock_type::time_point now);        // timeouts, a paused listener
  void run_pushes(clock_type::time_point now);  // the connections' due pushes (push.hpp)
  void note_push_due(clock_type::time_point due);
  void shut_down();  // the loop stops
  void schedule();
  [[nodiscard]] std::uint64_t tagged(int fd) const noexcept;  // epoll data word of `fd`

  [[nodiscard]] int listen_on(const sockaddr_storage& a, bool v6only);
  [[nodiscard]] bool is_listener(int fd) const noexcept;
  void accept_all(int listener);
  void on_accept_error(int listener, int err);
  [[nodiscard]] bool admit(const connection_key& key, const std::string& peer);
  void evict_unconnected();
  void pause_listener(clock_type::time_point until);
  void resume_listener_if_due(clock_type::time_point now);
  void report_refusals(clock_type::time_point now, bool force);
  void on_readable(connection& c);
  [[nodiscard]] bool can_process(connection& c) const;
  void consume(connection& c, std::span<const std::byte> in);
  void account(connection& c);
  void after_flush(connection& c);
  void unblock_all();
  void shutdown_connections();
  void flush(connection& c);
  void close_connection(int fd);
  void update_events(connection& c);
  void sweep_timeouts();
  int gate_timeout(int timeout_ms) const;
  void update_listener(int op);

  const config& cfg_;
  plc_memory& mem_;
  plc_state plc_;                         // before conns_: sessions report their closing to it
  fault_engine faults_;                   // before conns_: their fault_connections detach from it
  std::unique_ptr<event_loop> own_loop_;  // `protos7 serve`; null on a shared loop
  event_loop* loop_;
  log_context* log_ctx_ = nullptr;
  std::vector<int> listen_fds_;           // one per address of config::listen_address
  clock_type::time_point round_start_{};  // this round's start and commit time (on_round)
  clock_type::duration round_commit_{};
  std::atomic<std::size_t> count_{0};
  std::map<int, std::unique_ptr<connection>> conns_;
  // The current round: the commit failures before it, the connections touched.
  std::uint64_t failures_before_ = 0;
  std::vector<int> touched_;
  std::vector<int> ready_taken_;
  clock_type::time_point last_sweep_{};
  clock_type::time_point listener_paused_until_{};
  std::unordered_map<connection_key, std::size_t, peer_key_hash> per_address_;
  std::vector<int> ready_;  // connections with unprocessed requests that may now be processed
  // Refusals since the last report (logged aggregated, once per second at most).
  std::uint64_t refused_full_ = 0;
  std::uint64_t evicted_ = 0;  // connections closed to make room before their COTP CR
  std::uint64_t refused_address_ = 0;
  std::uint64_t refused_no_fd_ = 0;
  std::uint64_t accept_failed_ = 0;
  clock_type::time_point last_report_{};
  std::atomic<std::size_t> queued_{0};
  std::atomic<std::size_t> peak_queued_{0};
  std::atomic<std::uint64_t> rounds_{0};
  std::atomic<std::uint64_t> fd_exhausted_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> frame_timeouts_{0};
  std::atomic<std::size_t> peak_answers_{0};
  std::atomic<std::uint64_t> requests_{0};  // written by the loop only
  std::atomic<std::uint64_t> pushes_{0};    // written by the loop only
  std::atomic<std::uint64_t> pushes_skipped_{0};
  clock_type::time_point next_push_ = clock_type::time_point::max();  // earliest due push
  std::mutex
      posted_mu_;  // guards posted_ and accepting_posts_ (the only state shared with other threads)
  std::vector<posted> posted_;
  std::vector<posted> ran_;              // the posted work of the current round (loop thread)
  std::atomic<bool> has_posted_{false};  // posted_ is not empty: checked without the lock
  connection_observer* observer_ = nullptr;
  // The small members, together (no padding between the larger ones above).
  std::uint32_t tag_ = 0;  // this server's tag on the loop (epoll data, high 32 bits)
  int accept_errno_ = 0;
  std::uint16_t port_ = 0;
  std::uint16_t next_ref_ = 1;
  bool round_wrote_ = false;      // its memory was in this round's group commit
  bool in_round_ = false;         // taking part in the current round
  bool scheduled_ = false;        // on the loop's list for the next round (ready_ not empty)
  bool listener_paused_ = false;  // until listener_paused_until_
  bool blocked_total_ = false;    // queued bytes above max_output_total: nobody is read
  bool accepting_posts_ = true;   // guarded by posted_mu_
};

// File descriptors the process needs besides the S7 connections: one per DB file, the DBs a
// client may still download, SQLite, the web admin's connections and listeners, logs, captures.
[[nodiscard]] std::size_t fd_headroom(const plc_memory& mem) noexcept;

// Human text for a failing listen(): for EACCES names both fixes; for EMFILE (listen() refuses a
// --max-connections the file descriptor limit cannot serve) the limit and what to change.
[[nodiscard]] std::string listen_error_text(int err, const config& cfg);

}  // namespace protos7::server
