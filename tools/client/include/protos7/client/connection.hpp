// A blocking S7 client connection: TCP (IPv4, IPv6, host names), COTP CR/CC, Setup
// Communication, then one request at a time. Every byte sent is built by the codec's writers and
// every byte received is read by the codec's transport reader and parsed strictly; the client
// answers nothing itself (`protos7 client`, `protos7 health`).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "protos7/codec/s7.hpp"
#include "protos7/codec/transport.hpp"
#include "protos7/status.hpp"

namespace protos7::client {

// Why a request failed; the CLI maps each to its exit status.
enum class failure : std::uint8_t {
  unreachable,  // no TCP connection (refused, no route, name unknown), or it was closed
  timeout,      // no answer within options::timeout
  refused,      // the PLC said no: COTP DR to the CR, an S7 error in the answer
  protocol,     // the peer sent bytes that are not a valid answer
};

class client_error : public std::runtime_error {
 public:
  client_error(failure kind, const std::string& what, std::uint16_t code = 0)
      : std::runtime_error(what), kind_(kind), code_(code) {}
  [[nodiscard]] failure kind() const noexcept { return kind_; }
  // refused: the S7 error the PLC answered with (header error class and code, or the Userdata
  // error code); 0 otherwise.
  [[nodiscard]] std::uint16_t code() const noexcept { return code_; }

 private:
  failure kind_;
  std::uint16_t code_;
};

struct endpoint {
  std::string host;
  std::uint16_t port = 102;
};

// "HOST", "HOST:PORT", "[IPV6]:PORT" or a bare IPv6 address ("::1"): fills `out` (the port
// stays `default_port` when none is given), or says why `text` is not one.
[[nodiscard]] status parse_endpoint(std::string_view text, endpoint& out,
                                    std::uint16_t default_port = 102);

struct options {
  std::uint8_t rack = 0;
  std::uint8_t slot = 2;
  std::uint8_t connection_type = 0x01;      // PG (0x02 OP, 0x03 S7 basic)
  std::uint16_t pdu_size = 480;             // asked in Setup Communication
  std::chrono::milliseconds timeout{5000};  // connect, and each answer
};

class connection {
 public:
  // Connects to the first address of `ep` that accepts, then COTP and Setup Communication.
  // Throws client_error.
  connection(const endpoint& ep, const options& opt);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  [[nodiscard]] std::uint16_t pdu_size() const noexcept { return pdu_size_; }
  // "192.168.0.1:102" / "[::1]:102": the address the connection was made to.
  [[nodiscard]] const std::string& peer() const noexcept { return peer_; }

  // Sends one PDU of type `type` (Job or Userdata) with the next PDU reference and returns the
  // answer with that reference (views into storage valid until the next request). Answers with
  // another reference are skipped. Throws client_error (timeout, unreachable, protocol).
  [[nodiscard]] codec::s7::pdu request(codec::s7::rosctr type, codec::bytes param,
                                       codec::bytes data);

 private:
  void connect_tcp(const endpoint& ep);
  void cotp_connect();
  void setup_communication();
  void send_all(codec::bytes b);
  [[nodiscard]] codec::transport::event next_event();

  options opt_;
  int fd_ = -1;
  std::string peer_;
  std::uint16_t pdu_size_ = 0;
  std::uint16_t next_ref_ = 1;
  std::size_t tpdu_size_ = 128;
  std::vector<std::byte> frame_storage_;
  std::vector<std::byte> pdu_storage_;
  std::vector<std::byte> answer_;  // the last answer PDU (owned copy)
  std::vector<std::byte> in_buf_;  // bytes read, not yet given to the reader
  codec::bytes pending_;           // the unread part of in_buf_
  codec::transport::stream_reader reader_;
};

}  // namespace protos7::client
