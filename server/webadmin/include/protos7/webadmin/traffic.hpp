// The web admin's view of the S7 connections: who is connected (peer, TSAPs, negotiated PDU,
// request counts) and the last requests, decoded (function, items, result).
//
// A passive tap: the server hands it what each connection's session decoded (the CR, each
// request PDU and each reply with the session's own decoding of it: server::session_event), and
// the byte counts; the monitor pairs each request with its reply by PDU reference (header peek
// only) and keeps their bytes in slots allocated once. It frames and decodes nothing again.
// Decoding the items and formatting the log's text happens when the API asks for it, not on the
// request path. The S7 session code is not touched and the monitor never changes what is sent. It
// lives on the event-loop thread: every method is called there (the HTTP side reads it through
// server::post).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_peek.hpp"
#include "protos7/codec/transport.hpp"
#include "protos7/server/server.hpp"

namespace protos7::webadmin {

// Requests kept for the log (the page shows the last ones, the API up to this many).
inline constexpr std::size_t request_log_size = 200;
// Requests awaiting a reply per connection; beyond this the oldest is logged without result
// (replies the server never sent; the server itself holds jobs beyond the negotiated AmQ).
inline constexpr std::size_t max_pending_per_connection = 16;

struct request_record {
  std::uint64_t seq = 0;
  std::chrono::system_clock::time_point time;
  int connection = 0;
  std::string peer;
  std::uint16_t pdu_ref = 0;
  std::string kind;      // "Job" or "Userdata"
  std::string function;  // "Read Var", "Write Var", "Setup Communication", "Read SZL", ...
  std::vector<std::string> items;  // "DB1.DBW0", "P#DB1.DBX0.0 BYTE 4", "SZL 0x0424 index 0x0000"
  std::string result;  // "OK", "item 2: object does not exist (0x0A)", "error 0x8500 ..."
  bool ok = false;
  bool answered = false;
  double duration_ms = 0;
  std::chrono::steady_clock::time_point started;
};

class traffic_monitor final : public server::connection_observer {
 public:
  traffic_monitor();
  ~traffic_monitor() override;
  traffic_monitor(const traffic_monitor&) = delete;
  traffic_monitor& operator=(const traffic_monitor&) = delete;

  void on_open(int id, const std::string& peer) override;
  void on_traffic(int id, std::span<const std::byte> in, std::span<const std::byte> out) override;
  void on_close(int id) override;
  void on_event(int id, const server::session_event& e) override;

  // JSON snapshots (see docs/API.md: GET /api/plc/clients and /api/plc/requests).
  [[nodiscard]] nlohmann::json clients_json() const;
  [[nodiscard]] nlohmann::json requests_json(std::size_t limit) const;
  // Changes whenever a connection opens/closes or a request completes (the event stream
  // compares it to know when to push).
  [[nodiscard]] std::uint64_t generation() const noexcept { return generation_; }
  [[nodiscard]] std::uint64_t total_requests() const noexcept { return total_requests_; }
  [[nodiscard]] std::uint64_t total_connections() const noexcept { return total_connections_; }
  [[nodiscard]] std::size_t open_connections() const noexcept { return conns_.size(); }

 private:
  struct conn;
  struct captured;
  enum class outcome : std::uint8_t { pending, answered, closed, no_reply, not_s7 };
  struct reply_facts {
    bool ok = false;
    std::uint16_t setup_pdu = 0;  // an accepted Setup Communication: the PDU size
  };
  void on_connect_request(conn& c, const codec::cotp::tpdu& t);
  void on_client_pdu(conn& c, const server::session_event& e);
  void on_server_pdu(conn& c, const server::session_event& e);
  captured& take_slot(conn& c);
  void retire(conn& c, std::size_t i, outcome how, std::span<const std::byte> reply,
              std::chrono::steady_clock::time_point at = {});
  [[nodiscard]] reply_facts reply_facts_of(const codec::s7::peek_result& pk, int failed_items,
                                           std::span<const std::byte> pdu);
  [[nodiscard]] static reply_facts reply_facts_of(const codec::s7::message& m, int failed_items);
  // The time of an event: as the server read its bytes, or now when it did not say.
  [[nodiscard]] static std::chrono::steady_clock::time_point time_of(
      const server::session_event& e);
  // The wall-clock time of a steady-clock point (no clock read of its own).
  [[nodiscard]] std::chrono::system_clock::time_point wall(
      std::chrono::steady_clock::time_point t) const;
  [[nodiscard]] static request_record describe(const captured& c);

  // The connection of `id`, or null.
  [[nodiscard]] conn* find(int id) noexcept;

  std::map<int, std::unique_ptr<conn>> conns_;
  std::vector<std::unique_ptr<captured>> log_;  // a ring of request_log_size slots
  std::size_t log_next_ = 0;
  std::size_t log_count_ = 0;
  codec::s7::message scratch_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t generation_ = 0;
  std::uint64_t total_requests_ = 0;
  std::uint64_t total_connections_ = 0;
  std::chrono::system_clock::time_point wall_origin_;
  std::chrono::steady_clock::time_point steady_origin_;
};

// "2024-03-05T12:34:56.789Z"
[[nodiscard]] std::string iso_time(std::chrono::system_clock::time_point t);

}  // namespace protos7::webadmin
