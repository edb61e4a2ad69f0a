// Metrics of `protos7 serve` in the Prometheus text format (version 0.0.4), served by ops_http:
// connections, requests and errors per S7 function, a latency histogram, the group commit's and
// each fdatasync's time, and the process's own figures.
//
// The counts come from watching the traffic (a connection_observer, like the web admin's traffic
// view): each connection's bytes in both directions go through the codec's transport reader, each
// request PDU is counted by its function and each answer is matched to its request by PDU
// reference, so nothing in the request path changes. Latency is the server's part of a request's
// round trip: from the end of the epoll wait that reported the request to its answer handed to
// the kernel, group commit included (a request held back by flow control counts from the round
// that processed it). Counters are atomics written on the event-loop thread (and, for fsync, on
// the sync threads) and read by the HTTP thread; nothing allocates per request.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "protos7/server/memory.hpp"
#include "protos7/server/server.hpp"

namespace protos7::server {

// A histogram with fixed upper bounds (seconds); observe() from any thread.
class histogram {
 public:
  explicit histogram(std::span<const double> bounds);
  void observe(std::chrono::nanoseconds d, std::uint64_t times = 1) noexcept;
  // Appends `name`_bucket{le=...} (cumulative), `name`_sum and `name`_count.
  void render(std::string& out, std::string_view name) const;
  [[nodiscard]] std::uint64_t count() const noexcept { return count_.load(); }

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // one per bound, then +Inf
  std::atomic<std::uint64_t> sum_ns_{0};
  std::atomic<std::uint64_t> count_{0};
};

// Functions the request counters are labelled with (the label value is the name).
enum class request_kind : std::uint8_t {
  setup_communication,
  read_var,
  write_var,
  request_download,
  download_block,
  download_ended,
  start_upload,
  upload,
  end_upload,
  pi_service,
  plc_stop,
  other_job,
  read_szl,
  message_service,
  list_blocks,
  list_blocks_of_type,
  block_info,
  password,
  read_clock,
  set_clock,
  cyclic,
  other_userdata,
  count_  // not a kind: the number of kinds
};
[[nodiscard]] std::string_view request_kind_name(request_kind k) noexcept;

class metrics final : public connection_observer {
 public:
  metrics();
  ~metrics() override;
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  // connection_observer (event-loop thread).
  void on_open(int id, const std::string& peer) override;
  void on_traffic(int id, std::span<const std::byte> in, std::span<const std::byte> out) override;
  void on_close(int id) override;
  void on_event(int id, const session_event& e) override;
  void on_round(std::chrono::steady_clock::time_point started,
                std::chrono::steady_clock::duration commit) override;

  // Times every fdatasync `mem` makes from now on (wrapping the one it calls). One metrics object
  // per process times syncs (the hook is a plain function pointer).
  void time_syncs(plc_memory& mem);

  // The whole exposition, with the server's own counters (any thread).
  [[nodiscard]] std::string render(const server& srv) const;

  // For tests: requests and errors counted so far of one kind.
  [[nodiscard]] std::uint64_t requests(request_kind k) const noexcept;
  [[nodiscard]] std::uint64_t errors(request_kind k) const noexcept;

 private:
  struct connection;
  void on_request(connection& c, std::span<const std::byte> pdu);
  // `failed_items`: session_event::failed_items (-1: the items are walked here).
  void on_answer(connection& c, std::span<const std::byte> pdu, const codec::s7::message* decoded,
                 int failed_items);

  static constexpr std::size_t kinds = static_cast<std::size_t>(request_kind::count_);
  std::array<std::atomic<std::uint64_t>, kinds> requests_{};
  std::array<std::atomic<std::uint64_t>, kinds> errors_{};
  std::array<std::atomic<std::uint64_t>, kinds> item_errors_{};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> closed_{0};
  std::atomic<std::uint64_t> protocol_errors_{0};  // bytes that do not decode, either way
  histogram latency_;
  histogram commit_;
  std::uint64_t answered_this_round_ = 0;             // loop thread only
  std::map<int, std::unique_ptr<connection>> conns_;  // loop thread only
  std::chrono::system_clock::time_point started_;
};

}  // namespace protos7::server
