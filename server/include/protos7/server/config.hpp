// Configuration of the protos7 server (filled by `protos7 serve` or by tests).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace protos7::server {

struct plc_profile;

// PDU sizes an S7-300/400 CPU offers in Setup Communication (240 in the captured S7-300,
// s7comm_reading_plc_status.pcap frame 11; 480 and 960 on larger CPUs / snap7).
inline constexpr std::uint16_t min_pdu_size = 240;
inline constexpr std::uint16_t max_pdu_size = 960;

struct area_sizes {
  std::size_t inputs = 1024;   // bytes of the process image of inputs (I / E, area 0x81)
  std::size_t outputs = 1024;  // bytes of the process image of outputs (Q / A, area 0x82)
  std::size_t flags = 2048;    // bytes of bit memory (M, area 0x83)
  std::size_t counters = 256;  // number of counters (C / Z, area 0x1C), 2 bytes each
  std::size_t timers = 256;    // number of timers (T, area 0x1D), 2 bytes each
};

struct config {
  std::string listen_address = "0.0.0.0";
  std::uint16_t port = 102;  // RFC 1006 ISO-on-TCP; 0 = ephemeral (tests)
  std::size_t max_connections = 32;
  // Connection resources reserved for a PG (programming device) and an OP (operator panel), as
  // a CPU reserves them (SZL 0x0132 index 1 res_pg / res_os; every S7-300 capture shows 1 and 1):
  // when the max_connections general ones are taken, a PG or OP connection still gets in.
  std::size_t reserved_pg = 1;
  std::size_t reserved_op = 1;

  // COTP: the called TSAP a client must ask for (low byte rack * 32 + slot).
  std::uint8_t rack = 0;
  std::uint8_t slot = 2;

  // S7 Setup Communication.
  std::uint16_t pdu_size = 480;  // 240, 480 or 960
  std::uint16_t max_amq = 8;     // jobs in flight offered per direction

  // Timeouts; zero disables. A connection that has not completed COTP + Setup Communication
  // within setup_timeout is dropped, any connection silent for idle_timeout is dropped.
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds setup_timeout{10'000};
  // A TPKT frame whose first byte has arrived must be complete within frame_timeout, otherwise the
  // connection is dropped: the idle timeout counts any byte, so a client dripping one byte per
  // minute would hold its slot forever (issue #16). 10 s is far above what a whole 2 KiB frame
  // takes on any link a PLC is reached over.
  std::chrono::milliseconds frame_timeout{10'000};
  // Connections one client address may hold at once; 0 = no limit. An HMI, SCADA server or
  // engineering station opens 1 to 4 connections; 16 leaves room for a few of them behind one NAT
  // while half of the default 32 slots stay free for other addresses.
  std::size_t max_connections_per_address = 16;
  // Memory for replies waiting to be sent (and requests read but not yet processed): per
  // connection, and in total over all connections. Above either, requests are not processed (and
  // the socket not read) until the client has read its answers; see server.cpp.
  std::size_t max_output_per_connection = std::size_t{64} * 1024;
  std::size_t max_output_total = std::size_t{32} * 1024 * 1024;

  area_sizes areas;

  // The PLC profile (identity, SZL records, block directory, protection, clock; docs/PROFILE.md).
  // Null: the bundled S7-300 profile. The server's plc_state is built from it.
  std::shared_ptr<const plc_profile> profile;
  // Where a DB downloaded by a client (Request Download ... PI-Service _INSE) is stored as
  // DB<n>.bin; empty: such DBs live in RAM only (tests).
  std::string db_bin_dir;

  // The web admin `protos7 serve` starts next to the S7 server (server/webadmin, docs/API.md);
  // serve_options::disable_webadmin (--flags.disable-webadmin) turns it off.
  std::string webadmin_listen = "127.0.0.1:8080";  // --webadmin-listen HOST:PORT
  // --webadmin-token-file / PROTOS7_WEBADMIN_TOKEN (never a command-line value: ps shows those);
  // empty: generated at start and printed as a URL to open (issue #16).
  std::string webadmin_token;
  bool webadmin_no_auth = false;  // --webadmin-no-auth: no token (loopback addresses only)

  // Every reply is decoded again with s7::decode before it is sent; when this is set a reply
  // that does not decode aborts the process (tests), otherwise it is logged and dropped.
  bool abort_on_bad_reply = false;
  // Decode every reply with the strict codec before it is sent (a reply the server would reject
  // itself is never sent: the connection is closed and a BUG logged). On by default; off only to
  // measure what it costs (`serve --no-reply-check`, bench/run_vs_snap7.sh).
  bool check_replies = true;
};

}  // namespace protos7::server
