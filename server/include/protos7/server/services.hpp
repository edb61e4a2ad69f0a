// The CPU services beyond the variable services: Userdata (SZL, clock, block functions,
// security, the message service and ALARM query (alarms.hpp), cyclic services (cyclic.hpp),
// and the CPU's error for everything else), block control (upload, download driven by the
// server as a CPU drives it), PI services (P_PROGRAM, _INSE, _DELE, _MODU, _GARB) and PLC
// stop. One `services` object per connection, owned by its session; the shared state is
// plc_state.
//
// Reference for the wire layouts: ../shared/docs/s7comm_reference.md §4.4 and §5, and the
// Wireshark sample captures cited at each function.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protos7/codec/s7.hpp"
#include "protos7/codec/writer.hpp"
#include "protos7/server/alarms.hpp"
#include "protos7/server/config.hpp"
#include "protos7/server/mc7_block.hpp"
#include "protos7/server/plc_state.hpp"

namespace protos7::server {

// Where a service writes its reply: in place, in the connection's output buffer (the session
// frames, checks and segments it there). begin() gives the data block of a reply of `type` whose
// parameter has `param_length` bytes (as long as the negotiated PDU size allows: an empty span
// when the parameter alone fills it); the service writes its data there and calls commit() with
// the header, the parameter and the data's length, or cancel(). One reply at a time.
class pdu_sink {
 public:
  [[nodiscard]] virtual codec::mutable_bytes begin(codec::s7::rosctr type,
                                                   std::size_t param_length) = 0;
  virtual void commit(const codec::s7::header& h, codec::bytes param, std::size_t data_length) = 0;
  virtual void cancel() = 0;
  // A reply whose data is elsewhere: begin, one copy, commit.
  void send(const codec::s7::header& h, codec::bytes param, codec::bytes data);

 protected:
  ~pdu_sink() = default;
};

class push_source;     // push.hpp
class alarm_pusher;    // alarm_push.hpp
class cyclic_service;  // cyclic.hpp
class programmer;      // programmer.hpp
class mode_events;     // mode_events.hpp
class push_sink;
struct push_context;
// Push sources one connection may have (cyclic jobs, variable status, alarm indications, ...).
inline constexpr std::size_t max_push_sources = 8;

class services {
 public:
  services(const config& cfg, plc_state& state);
  ~services();
  services(const services&) = delete;
  services& operator=(const services&) = delete;

  // The connection type of the COTP CR (1 PG, 2 OP, 3 S7 basic); the session tells it.
  void set_connection_type(std::uint8_t t) noexcept { conn_type_ = t; }
  [[nodiscard]] bool legitimated() const noexcept { return legitimated_; }
  // The protection level in force for this connection (1 after the right password).
  [[nodiscard]] std::uint8_t effective_protection() const noexcept;
  // The header error a Write Var gets at the current protection (0: allowed).
  [[nodiscard]] std::uint16_t write_refusal() const noexcept;

  // A Userdata request (already decoded by s7::decode). Always answers.
  void on_userdata(const codec::s7::pdu& p, const codec::s7::ud::message& m, std::uint16_t pdu_size,
                   pdu_sink& out);
  // A job other than Setup Communication / Read Var / Write Var (decoded). Always answers.
  void on_job(const codec::s7::pdu& p, const codec::s7::param& prm, std::uint16_t pdu_size,
              pdu_sink& out);
  // An Ack / Ack_Data from the client. True when it acknowledged one of the server's own jobs
  // (the Download Block / Download Ended jobs of a download); false: nothing expected it.
  bool on_ack(const codec::s7::pdu& p, codec::bytes raw, std::uint16_t pdu_size, pdu_sink& out);

  // Pushes (push.hpp). add_push_source: a source of this connection's pushes (kept by pointer;
  // it must outlive this object; beyond max_push_sources: false). next_push: the earliest due
  // time of the sources (time_point::max(): none). push: runs the due sources.
  bool add_push_source(push_source& s) noexcept;
  [[nodiscard]] std::chrono::steady_clock::time_point next_push() const noexcept;
  void push(const push_context& ctx, push_sink& out);

  // True while this connection runs a download the server drives.
  [[nodiscard]] bool download_active() const noexcept { return dl_.stage != dl_stage::idle; }
  // What this connection subscribed to with the message service (alarm indications).
  [[nodiscard]] const alarm_subscription& alarm_subscriptions() const noexcept { return alarms_; }

 private:
  enum class dl_stage : std::uint8_t { idle, wait_block, wait_ended };
  struct download {
    dl_stage stage = dl_stage::idle;
    std::vector<std::byte> filename;  // the 9 characters of the client's Request Download
    std::uint8_t type = 0;
    std::uint16_t number = 0;
    std::uint32_t load_length = 0;  // from the request's part 2 (0: not given)
    std::uint16_t outstanding = 0;  // PDU reference of our job awaiting its Ack_Data
    std::vector<std::byte> data;
  };
  struct upload {
    std::uint32_t id = 0;
    std::vector<std::byte> block;
    std::size_t offset = 0;
  };

  void userdata_reply(const codec::s7::ud::param& req, std::uint8_t seq, std::uint16_t error,
                      std::uint8_t rc, codec::bytes payload, std::uint16_t pdu_ref, pdu_sink& out,
                      std::uint8_t dur = 0, bool more = false);
  // Commits a Userdata response whose payload (`payload_length` bytes) was written in place after
  // the data unit head in `area` (what pdu_sink::begin gave).
  void userdata_commit(const codec::s7::ud::param& req, std::uint8_t seq, std::uint16_t error,
                       std::uint8_t rc, codec::mutable_bytes area, std::size_t payload_length,
                       std::uint16_t pdu_ref, pdu_sink& out, std::uint8_t dur = 0,
                       bool more = false);
  // An answer written in place in `area` (`size` bytes, `room` of them fit one telegram): sent
  // whole, or its first `room` bytes with "more follows" and the rest kept for the client's
  // "next" requests (written again whole into pending_ by `rewrite`).
  template <class Rewrite>
  void send_answer(const codec::s7::ud::param& req, std::uint8_t seq, codec::mutable_bytes area,
                   std::size_t size, std::size_t room, std::uint16_t pdu_ref, pdu_sink& out,
                   Rewrite&& rewrite);
  bool dispatch_userdata(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                         std::uint16_t pdu_ref, std::uint16_t pdu_size, pdu_sink& out);
  void next_part(const codec::s7::ud::param& req, std::uint16_t pdu_ref, std::uint16_t pdu_size,
                 pdu_sink& out);
  void list_blocks_of_type(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                           std::uint16_t pdu_ref, std::uint16_t pdu_size, pdu_sink& out);
  void block_info(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                  std::uint16_t pdu_ref, pdu_sink& out);
  void read_szl(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                std::uint16_t pdu_ref, std::uint16_t pdu_size, pdu_sink& out);
  void block_function(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                      std::uint16_t pdu_ref, std::uint16_t pdu_size, pdu_sink& out);
  void message_service(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                       std::uint16_t pdu_ref, pdu_sink& out);
  void alarm_query(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                   std::uint16_t pdu_ref, std::uint16_t pdu_size, pdu_sink& out);
  void time_function(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                     std::uint16_t pdu_ref, pdu_sink& out);
  void security(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                std::uint16_t pdu_ref, pdu_sink& out);
  void programmer_command(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                          std::uint16_t pdu_ref, std::uint16_t pdu_size, pdu_sink& out);

  // The error answer to a job: an Ack_Data with `param` (or, `type` ack, an Ack without one).
  static void job_error(const codec::s7::header& req, codec::bytes param, std::uint16_t error,
                        pdu_sink& out, codec::s7::rosctr type = codec::s7::rosctr::ack_data);
  void ack(const codec::s7::header& req, codec::bytes param, codec::bytes data, pdu_sink& out);
  void request_download(const codec::s7::pdu& p, const codec::s7::param& prm, pdu_sink& out);
  void send_download_job(codec::s7::function fn, std::uint16_t error, pdu_sink& out);
  void start_upload(const codec::s7::pdu& p, const codec::s7::param& prm, pdu_sink& out);
  void upload_block(const codec::s7::pdu& p, const codec::s7::param& prm, std::uint16_t pdu_size,
                    pdu_sink& out);
  void end_upload(const codec::s7::pdu& p, const codec::s7::param& prm, pdu_sink& out);
  void pi_service(const codec::s7::pdu& p, const codec::s7::param& prm, pdu_sink& out);
  // _INSE / _INS2 (insert) or _DELE (`remove`) of the blocks a PI parameter block lists: 0, or
  // the error of the first that fails (the ones before it stay done, as on a CPU).
  s7_error pi_block_list(bool remove, codec::bytes param_block);
  void plc_stop(const codec::s7::pdu& p, const codec::s7::param& prm, pdu_sink& out);

  const config& cfg_;
  plc_state& st_;
  std::uint8_t conn_type_ = 1;
  bool legitimated_ = false;
  // A Userdata answer longer than one telegram (SZL, List blocks of type): the whole answer and
  // how much of it was sent; the buffer keeps its capacity for the next one.
  struct pending_ud {
    bool active = false;
    std::uint8_t group = 0, subfunction = 0, seq = 0, dur = 0;
    std::vector<std::byte> answer;
    std::size_t sent = 0;
  } pending_;
  alarm_subscription alarms_;                 // the message service subscription of this connection
  std::unique_ptr<alarm_pusher> alarm_push_;  // its indications (a push source)
  download dl_;
  std::vector<upload> uploads_;
  static constexpr std::size_t max_parallel_uploads = 4;
  static constexpr std::uint32_t first_upload_id = 7;
  [[nodiscard]] std::uint32_t free_upload_id() const;
  static void refuse_upload(const codec::s7::header& req, std::uint16_t error, pdu_sink& out);
  std::uint16_t next_job_ref_ = 0x0100;
  std::unique_ptr<cyclic_service> cyclic_;  // group 2, made at the first request
  std::array<push_source*, max_push_sources> push_sources_{};
  std::size_t push_source_count_ = 0;
  // Programmer commands (Userdata group 1) and this connection's jobs; the pushes of mode
  // changes. Push sources (push.hpp, which includes this header: held by pointer).
  std::unique_ptr<programmer> tis_;
  std::unique_ptr<mode_events> mode_events_;
};

// --- SZL ---
struct szl_context {
  std::uint16_t pdu_size = 0;  // the configured (largest) PDU size
  std::uint8_t effective_protection = 1;
};
// Writes the whole answer payload of "Read SZL" for (id, index) into `out`: SZL-ID, index,
// LENTHDR, N_DR, records. Returns its size, which is larger than `out` when it did not fit (the
// bytes that fit are written: the first telegram of a longer answer). nullopt: the CPU's error
// (0xD402). Allocates nothing.
[[nodiscard]] std::optional<std::size_t> write_szl(const plc_state& st, std::uint16_t id,
                                                   std::uint16_t index, const szl_context& ctx,
                                                   codec::mutable_bytes out);
// The SZL-IDs the server answers (the records of SZL 0x0000), sorted as the CPU sorts them.
[[nodiscard]] std::vector<std::uint16_t> szl_ids(const plc_state& st);

}  // namespace protos7::server
