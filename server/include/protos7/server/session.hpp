// One S7 connection's protocol state, free of sockets: bytes in, reply bytes out.
//
//   TCP bytes -> tpkt::framer -> cotp::parse -> (CR/DR | DT -> cotp::reassembler) -> S7 PDU
//   S7 PDU -> s7::decode -> Setup Communication / Read Var / Write Var -> reply PDU
//   reply PDU -> s7::decode (self check) -> DT segments of the negotiated TPDU size -> TPKT
//
// The server owns the socket; a session only appends whole TPKT frames to the caller's output
// buffer and says when the connection has to be closed. Replies are written there in place: the
// Read Var data goes from the PLC memory straight to its place in the output buffer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/transport.hpp"
#include "protos7/server/config.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/plc_state.hpp"
#include "protos7/server/push.hpp"
#include "protos7/server/services.hpp"

namespace protos7::server {

// Largest TPKT frame accepted from a client. Class 0 TPDUs are at most 2048 bytes
// (ISO 8073 §13.3.4 b, TPDU size code 11) + 4 bytes of TPKT header; a bigger frame is refused
// (tpkt_frame_too_large) and the connection closed.
inline constexpr std::size_t max_frame_size = 2048 + codec::tpkt::header_size;
// The TPDU size a CPU confirms at most: every capture shows CR C0=0x0A answered with 0x0A
// (s7comm_reading_plc_status.pcap frames 8/9) and 0x09 with 0x09 (libnodave frames 7/8).
inline constexpr std::uint8_t max_tpdu_size_code = 0x0A;
// ISO 8073 §13.3.4 b: without a TPDU size parameter the size is 128.
inline constexpr std::uint8_t default_tpdu_size_code = 0x07;
// DR reason for a CR whose called TSAP is not this CPU's. Class 0 may only use reasons 0-3
// (ISO 8073 §13.5.3 e); 3 = "address unknown". (A real CPU simply resets the TCP connection.)
inline constexpr std::uint8_t refuse_reason = 0x03;
// DR reason when the peer breaks the protocol (reassembly overflow): "reason not specified".
inline constexpr std::uint8_t protocol_error_reason = 0x00;
// DR reason when no connection resource is free: "remote transport entity congestion at connect
// request time" (ISO 8073 table 12, 0x81).
inline constexpr std::uint8_t congestion_reason = 0x81;

class fault_connection;  // faults.hpp

// What a session decoded, as it decoded it, for the server's observers (the web admin's traffic
// view, /metrics): they see each PDU once, already framed, reassembled and parsed, and never
// frame or decode the byte stream again. Views into the session's buffers: valid during the
// call only.
struct session_event {
  enum class kind : std::uint8_t {
    connect_request,  // `cr`: a COTP CR of the client
    connected,        // the CC the session sent
    transport_error,  // bad TPKT framing or COTP TPDU (the connection is closed or refused)
    request,          // `pdu`: a whole PDU of the client; `parsed`: its header (null: not S7)
    reply,            // `pdu`: a reply or push of the session; `decoded`: its self check, or null
  };
  kind what = kind::request;
  const codec::cotp::tpdu* cr = nullptr;
  codec::bytes pdu;
  const codec::s7::pdu* parsed = nullptr;
  const codec::s7::message* decoded = nullptr;
  // A Read Var or Write Var reply: how many of its items the session answered with an error
  // return code, counted as it wrote them (observers need not walk the items again); -1 for
  // every other PDU.
  int failed_items = -1;
  // When the bytes this event comes from arrived (the server's clock of the read that brought
  // them, or of the push; session::set_event_time): zero when not known.
  std::chrono::steady_clock::time_point at{};
};

class session_tap {
 public:
  virtual void on_session_event(const session_event& e) = 0;

 protected:
  ~session_tap() = default;
};

class session {
 public:
  enum class state : std::uint8_t {
    wait_cr,    // TCP accepted, waiting for COTP CR
    connected,  // CC sent, waiting for Setup Communication
    ready,      // PDU size negotiated
    closing,    // a DR/DC was sent or the peer broke the protocol: close after sending
  };

  session(const config& cfg, plc_memory& mem, plc_state& plc, std::uint16_t local_ref,
          std::string peer);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Consumes bytes read from the socket and appends the replies to `out`.
  // Returns false when the connection must be closed once `out` has been sent.
  bool receive(std::span<const std::byte> in, std::vector<std::byte>& out);

  struct receive_result {
    std::size_t consumed = 0;  // bytes of `in` taken (the rest is left for a later call)
    std::size_t replies = 0;   // frames that were answered (each appended bytes to `out`)
    bool open = true;          // false: close the connection once `out` has been sent
  };
  // As receive(), but stops before the frame that would be answered beyond `max_replies`: the
  // caller keeps the unconsumed bytes and feeds them again once it wants more answers (flow
  // control by Max AmQ and the output bound, server.cpp). Stops only at frame boundaries.
  receive_result receive_some(std::span<const std::byte> in, std::vector<std::byte>& out,
                              std::size_t max_replies);
  struct push_result {
    std::size_t sent = 0;     // pushes appended to `out`
    std::size_t skipped = 0;  // pushes dropped: `out` would have grown beyond `room` bytes
  };
  // Runs the connection's due push sources (push.hpp) and appends their pushes to `out` as
  // replies are appended (checked, framed in DTs), at most `room` bytes in all. Nothing before
  // Setup Communication or while closing. Call between requests, never within receive().
  push_result push(push_clock::time_point now, std::uint64_t memory_writes,
                   std::vector<std::byte>& out, std::size_t room);
  // The earliest time push() has something to do (push_never: no source is due ever).
  [[nodiscard]] push_clock::time_point next_push() const noexcept {
    return state_ == state::ready ? svc_.next_push() : push_never;
  }
  // Bytes of a TPKT frame that has started but not arrived whole (the server's --frame-timeout).
  [[nodiscard]] std::size_t partial_frame() const noexcept { return reader_.partial_frame(); }

  [[nodiscard]] state current_state() const noexcept { return state_; }
  [[nodiscard]] std::uint16_t pdu_size() const noexcept { return pdu_size_; }
  [[nodiscard]] std::uint16_t amq_calling() const noexcept { return amq_calling_; }
  [[nodiscard]] std::uint16_t amq_called() const noexcept { return amq_called_; }
  [[nodiscard]] std::size_t tpdu_size() const noexcept {
    return codec::cotp::tpdu_size_bytes(tpdu_code_);
  }
  // True when a Write Var of this session changed a DB since the flag was last cleared: its
  // acknowledgement must not leave before plc_memory::commit().
  [[nodiscard]] bool wrote() const noexcept { return wrote_; }
  void clear_wrote() noexcept { wrote_ = false; }
  [[nodiscard]] const std::string& peer() const noexcept { return peer_; }
  // The CPU services of this connection (SZL, clock, blocks, up/download, protection).
  [[nodiscard]] const services& cpu_services() const noexcept { return svc_; }
  [[nodiscard]] services& cpu_services() noexcept { return svc_; }
  // Fault injection (faults.hpp): the engine sets this while it has enabled rules and clears it
  // otherwise; the request path's only cost without rules is the check of this pointer.
  void set_faults(fault_connection* f) noexcept { faults_ = f; }
  // Where the session reports what it decoded and answered (null: nobody; the cost is then one
  // pointer check per PDU).
  void set_tap(session_tap* t) noexcept { tap_ = t; }
  // The time the events reported from now on carry in `at` (the server sets it once per recv()
  // and per push; zero: not known).
  void set_event_time(std::chrono::steady_clock::time_point t) noexcept { event_time_ = t; }

 private:
  friend struct session_sink;
  friend struct session_push_sink;
  friend class fault_connection;  // answers, closes and clamps on a fault rule's behalf
  using bytes = codec::bytes;
  void on_transport_error(const codec::transport::event& e, std::vector<std::byte>& out);
  void on_tpdu(const codec::transport::event& e, std::vector<std::byte>& out);
  void process_tpdu(const codec::transport::event& e, std::vector<std::byte>& out);
  void on_connect_request(const codec::cotp::tpdu& cr, std::vector<std::byte>& out);
  // Answers the CR with a DR carrying `reason` and closes for `why`.
  void refuse_connect(const codec::cotp::tpdu& cr, std::uint8_t reason, const char* why,
                      std::vector<std::byte>& out);
  // Sends the CC for `cr` (false when it does not fit: the session is closed).
  bool send_connect_confirm(const codec::cotp::tpdu& cr, std::vector<std::byte>& out);
  void on_pdu(bytes pdu, std::vector<std::byte>& out);
  void on_job(const codec::s7::pdu& p, bytes raw, std::vector<std::byte>& out);
  void on_userdata(const codec::s7::pdu& p, std::vector<std::byte>& out);
  void setup_communication(const codec::s7::header& req, const codec::s7::setup_communication& s,
                           std::vector<std::byte>& out);
  void read_var(const codec::s7::header& req, const codec::s7::param& prm, const std::byte* origin,
                std::vector<std::byte>& out);
  void write_var(const codec::s7::header& req, const codec::s7::param& prm, const codec::s7::pdu& p,
                 std::vector<std::byte>& out);
  // Job answered as a whole with a header error: Ack_Data with an empty Read/Write Var
  // parameter (function, 0 items) for those two functions, otherwise an Ack.
  void reply_error(const codec::s7::header& req, std::uint8_t fn, std::uint16_t error,
                   std::vector<std::byte>& out);
  // Replies are written in place in `out` (session.cpp, "Replies"): begin_reply() gives the data
  // block, commit_reply() writes the header and parameter in front of it, checks the PDU and
  // frames it; cancel_reply() drops it.
  codec::mutable_bytes begin_reply(std::vector<std::byte>& out, codec::s7::rosctr type,
                                   std::size_t param_length);
  void commit_reply(const codec::s7::header& h, bytes param, std::size_t data_length);
  void cancel_reply();
  void frame_in_place(std::size_t pdu_length);
  void send_pdu(const codec::s7::header& h, bytes param, bytes data, std::vector<std::byte>& out);
  void send_tpdu(bytes tpdu, std::vector<std::byte>& out);
  void disconnect(std::uint8_t reason, std::vector<std::byte>& out);
  void close(std::string_view why);

  const config& cfg_;
  plc_memory& mem_;
  plc_state& plc_;
  services svc_;
  std::uint8_t conn_type_ = 0;  // COTP connection type once connected (counted in plc_state)
  std::uint16_t local_ref_;
  std::uint16_t peer_ref_ = 0;
  std::string peer_;
  state state_ = state::wait_cr;
  std::uint8_t tpdu_code_ = default_tpdu_size_code;
  std::uint16_t pdu_size_ = 0;
  std::uint16_t amq_calling_ = 0;
  std::uint16_t amq_called_ = 0;
  bool wrote_ = false;

  std::vector<std::byte> frame_buf_;
  std::vector<std::byte> reassembly_buf_;
  // The reply being written in place: its output buffer (null: none), where its first TPKT
  // header goes, its type and parameter length.
  std::vector<std::byte>* reply_out_ = nullptr;
  std::size_t reply_base_ = 0;
  codec::s7::rosctr reply_type_ = codec::s7::rosctr::ack_data;
  std::size_t reply_param_length_ = 0;
  int reply_failed_items_ = -1;  // session_event::failed_items of the reply being written
  codec::transport::stream_reader reader_;        // TPKT framing, COTP, DT reassembly
  codec::s7::param job_;                          // the job being answered (decoded once, reused)
  plc_state::slot slot_ = plc_state::slot::none;  // the CPU's connection resource held
  codec::s7::message check_msg_;                  // the reply's self check (reused)
  fault_connection* faults_ = nullptr;
  session_tap* tap_ = nullptr;
  std::chrono::steady_clock::time_point event_time_{};
  void report(session_event e) {
    if (tap_ == nullptr) return;
    e.at = event_time_;
    tap_->on_session_event(e);
  }
};

}  // namespace protos7::server
