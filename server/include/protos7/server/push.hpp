// Pushes: Userdata PDUs a CPU sends without a request (cyclic and change-driven data, variable
// status results, ALARM/NOTIFY indications, mode transitions).
//
// How a service produces pushes:
//   1. It implements push_source and registers it with its connection's `services`
//      (services::add_push_source, in the services constructor: no allocation, at most
//      max_push_sources per connection).
//   2. next_due() says when it next wants to push (push_never: nothing subscribed). The server
//      keeps the earliest due time of its connections and the event loop wakes for it (epoll
//      timeout), so an interval of 100 ms is kept to a few ms; nothing runs while nobody
//      subscribes, and the Read/Write Var path pays nothing.
//   3. push() is called at (or after) that time, on the loop thread, only on a ready connection
//      (Setup Communication done) and between requests. It writes each push through `out`
//      exactly as a reply (pdu_sink: begin, write the data in place, commit): the session
//      checks it with the strict codec and segments it in DTs of the negotiated TPDU size.
//      After commit(), out.sent() says whether it was queued: a push is never queued beyond the
//      connection's output bound (config::max_output_per_connection); it is then dropped and
//      counted (server_stats::pushes_skipped), and the source keeps what it still owes (e.g. a
//      change not yet sent) for its next due time, which coalesces it with later changes.
//   4. ctx.memory_writes counts every write to the PLC memory (any client, the web admin, a
//      process simulation: plc_memory::writes()): a source watching values compares it with
//      the count it last saw and skips its comparison when nothing was written.
// The pushes leave with the round's replies, after the group commit (event_loop.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "protos7/server/services.hpp"

namespace protos7::server {

using push_clock = std::chrono::steady_clock;
inline constexpr push_clock::time_point push_never = push_clock::time_point::max();

struct push_context {
  push_clock::time_point now;
  std::uint16_t pdu_size = 0;       // negotiated in Setup Communication
  std::uint64_t memory_writes = 0;  // plc_memory::writes() at this call
};

// Where a push is written: a pdu_sink whose commit() may drop the PDU (output bound).
class push_sink : public pdu_sink {
 public:
  // After commit(): true when the push was queued; false when it was dropped (the output is
  // over its bound, or the PDU failed the self check) or cancelled.
  [[nodiscard]] virtual bool sent() const noexcept = 0;

 protected:
  ~push_sink() = default;
};

class push_source {
 public:
  [[nodiscard]] virtual push_clock::time_point next_due() const noexcept = 0;
  virtual void push(const push_context& ctx, push_sink& out) = 0;

 protected:
  ~push_source() = default;
};

}  // namespace protos7::server
