// `protos7 replay` against protos7 itself, in the same process: a server on 127.0.0.1 with an
// ephemeral port on its own thread, serving a profile from RAM (no storage, no web admin), and
// the replay CLI modes around it:
//
//   protos7 replay CAPTURE...                     in-process server, bundled profile
//   protos7 replay CAPTURE... --profile FILE      in-process server, that profile
//   protos7 replay CAPTURE... --learn             in-process server, for each capture the
//                                                 profile learned from that capture
//   protos7 replay CAPTURE... --target HOST:PORT  any running S7 server (protos7::replay alone)
//
// In-process, every capture gets a fresh server (the state a capture leaves behind, e.g. a
// downloaded DB or written memory, does not leak into the next capture), like the captured CPU
// had the state of the profile when each capture began.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "protos7/replay/report.hpp"
#include "protos7/server/config.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/profile.hpp"

namespace protos7::server {
class server;
class plc_memory;
class connection_observer;
}  // namespace protos7::server

namespace protos7::learn {

struct inproc_options {
  // I/Q/M sizes: large enough for any learned memory (the profile's limits are for PDU and AmQ).
  server::area_sizes areas{65536, 65536, 65536, 256, 256};
  server::log_level level = server::log_level::off;
  // The DBs of the sample PLC `protos7 serve` creates without flags (DB1, DB2, DB200, from the
  // embedded SQLite seed), for a profile that declares no DBs of its own (the bundled one).
  bool sample_dbs = true;
  // Sees every connection's traffic (e.g. a capture_recorder, pcap_writer.hpp: a test records
  // a session with protos7 as `protos7 serve --capture` does); called on the server's thread.
  server::connection_observer* observer = nullptr;
};

// A protos7 server serving `profile` from RAM until destroyed. The profile's limits (PDU size,
// Max AmQ, connections) configure it as `protos7 serve --profile` does; its `dbs` and `memory`
// are loaded into RAM. Timeouts are off (a replay may pause for a long --timeout).
class inproc_server {
 public:
  // Throws profile_error (memory that does not fit) or std::runtime_error (cannot listen).
  explicit inproc_server(std::shared_ptr<const server::plc_profile> profile,
                         const inproc_options& opt = {});
  ~inproc_server();
  inproc_server(const inproc_server&) = delete;
  inproc_server& operator=(const inproc_server&) = delete;
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  server::config cfg_;
  std::unique_ptr<server::plc_memory> mem_;
  std::unique_ptr<server::server> srv_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

struct replay_cli_options {
  replay::cli_options replay;      // --target empty: in-process
  std::string profile;             // --profile FILE
  bool learn = false;              // --learn: each capture against a profile learned from it
  std::string save_profile;        // --save-profile FILE: with --learn and one capture
  std::string server_log = "off";  // --server-log LEVEL: the in-process server's log on stderr
};

// `protos7 replay` with the in-process modes. Exit status (exit_codes.hpp): 0 every answer exact
// or equivalent, 1 some answer differs (replay::run_cli); 64 options that exclude each other;
// 65 a profile that does not load, a capture nothing could be learned from or compared;
// 73 --save-profile cannot be written.
int run_replay_cli(const std::vector<std::string>& captures, const replay_cli_options& o,
                   std::FILE* out, std::FILE* err);

}  // namespace protos7::learn
