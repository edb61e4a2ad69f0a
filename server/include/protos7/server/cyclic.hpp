// Cyclic services (Userdata group 2), as the captured S7-400 answers them
// (wincc_s400_production.pcapng; layouts in codec/ud_cyclic.hpp):
//  - cyclic transfer (0x01) and change-driven transfer (0x05): a job with items (S7ANY, DBREAD)
//    and an interval (time base 100 ms / 1 s / 10 s times a factor). The answer carries the job
//    id as its sequence number (the smallest free one, from 1: frames 22/23, 28-31) and the
//    items' values, encoded as Read Var encodes them (var_items::write_read_item). Then the CPU
//    pushes (type 0, PDU reference 0, sequence = job id, the subfunction of the request that set
//    the job up): cyclic transfer at every interval, change-driven transfer at the interval when
//    a value differs from the last one sent (frames 80-84).
//  - change-driven modify (0x07, sequence = job id): the job takes the request's items and
//    interval, answered and pushed as 0x05 but with subfunction 7 (frames 60/61, 80, 81).
//  - unsubscribe (0x04, function + job id): the job ends; the CPU answers with the job id as its
//    sequence number and the data unit 0A 00 0000 (frames 26/27, 34-37).
//  - no more jobs (the CPU's limit profile.max_cyclic_jobs, SZL 0x0131 index 3 anz, or the
//    connection's max_cyclic_jobs_per_connection): error 0xD805 (s7comm_reference.md §3).
// The jobs of one connection; their pushes leave through push.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "protos7/codec/userdata.hpp"
#include "protos7/server/push.hpp"

namespace protos7::server {

class plc_state;

class cyclic_service final : public push_source {
 public:
  explicit cyclic_service(plc_state& st) noexcept : st_(st) {}
  ~cyclic_service();
  cyclic_service(const cyclic_service&) = delete;
  cyclic_service& operator=(const cyclic_service&) = delete;

  // A group 2 request. Always answers.
  void on_request(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                  std::uint16_t pdu_ref, pdu_sink& out);
  [[nodiscard]] std::size_t jobs() const noexcept { return jobs_.size(); }

  [[nodiscard]] push_clock::time_point next_due() const noexcept override { return next_due_; }
  void push(const push_context& ctx, push_sink& out) override;

 private:
  struct job {
    std::uint8_t id = 0;
    std::uint8_t subfunction = 0;  // of the request that set it up (0x01, 0x05, 0x07)
    std::uint8_t item_count = 0;
    std::chrono::milliseconds interval{100};
    std::vector<std::byte> items;   // the request's variable specifications
    std::vector<std::byte> last;    // the payload last sent (change-driven)
    std::uint64_t writes_seen = 0;  // plc_memory::writes() when `last` was encoded
    push_clock::time_point due;
  };
  void set_up(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
              std::uint16_t pdu_ref, pdu_sink& out);
  void unsubscribe(const codec::s7::ud::param& req, const codec::s7::ud::data_unit& d,
                   std::uint16_t pdu_ref, pdu_sink& out);
  // Writes | reserved | item count | items | of `j` into `area`; nullopt: does not fit.
  [[nodiscard]] std::optional<std::size_t> write_values(const job& j, codec::mutable_bytes area);
  // Answers (response) or pushes (push) the values of `j`; a change-driven job's values are left
  // in scratch_ (the caller keeps them as the last sent once they left).
  enum class sent_as : std::uint8_t { committed, unchanged, no_room };
  sent_as send_values(const job& j, codec::s7::ud::type type, std::uint16_t pdu_ref, pdu_sink& out);
  void push_job(job& j, const push_context& ctx, push_sink& out);
  [[nodiscard]] job* find(std::uint8_t id) noexcept;
  [[nodiscard]] std::uint8_t free_id() const noexcept;
  void reschedule() noexcept;

  plc_state& st_;
  std::vector<job> jobs_;
  std::vector<std::byte> scratch_;  // a change-driven push's payload until it is sent
  push_clock::time_point next_due_ = push_never;
};

}  // namespace protos7::server
