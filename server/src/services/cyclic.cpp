// Cyclic services (Userdata group 2): cyclic.hpp. Frame numbers are those of
// wincc_s400_production.pcapng (../shared/pcaps/field).
#include "protos7/server/cyclic.hpp"

#include <algorithm>
#include <array>

#include "protos7/codec/ud_cyclic.hpp"
#include "protos7/server/log.hpp"
#include "protos7/server/plc_state.hpp"
#include "protos7/server/profile.hpp"
#include "protos7/server/var_items.hpp"

namespace protos7::server {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
namespace cyc = codec::s7::cyclic;
using codec::writer;

namespace {

ud::param answer_param(ud::type type, std::uint8_t sub, std::uint8_t seq, std::uint16_t error) {
  ud::param p;
  p.method = ud::method_response;
  p.type = static_cast<std::uint8_t>(type);
  p.group = static_cast<std::uint8_t>(ud::group::cyclic);
  p.subfunction = sub;
  p.seq = seq;
  p.extended = true;
  p.last_data_unit = ud::last_unit_yes;
  p.error_code = error;
  return p;
}

// An answer without values: `error` in the parameter (0: none), data unit 0A 00 0000.
void reply_none(const ud::param& req, std::uint8_t seq, std::uint16_t error, std::uint16_t pdu_ref,
                pdu_sink& out) {
  std::array<std::byte, ud::long_param_length> prm{};
  writer pw{prm};
  ud::write_param(pw, answer_param(ud::type::response, req.subfunction, seq, error));
  std::array<std::byte, ud::data_unit_head_length> data{};
  writer dw{data};
  ud::write_data_unit(dw, ud::rc_none, 0, {});
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = pdu_ref;
  out.send(h, prm, data);
}

// Time base (0: 100 ms, 1: 1 s, 2: 10 s) times the factor; zero: not a valid interval.
std::chrono::milliseconds interval_of(std::uint8_t timebase, std::uint8_t factor) {
  return std::chrono::milliseconds{cyc::interval_ms(timebase, factor)};
}

}  // namespace

cyclic_service::~cyclic_service() {
  for (std::size_t i = 0; i < jobs_.size(); ++i) st_.cyclic_job_removed();
}

void cyclic_service::on_request(const ud::param& req, const ud::data_unit& d, std::uint16_t pdu_ref,
                                pdu_sink& out) {
  if (cyc::carries_items(req.subfunction)) {
    set_up(req, d, pdu_ref, out);
  } else if (req.subfunction == cyc::sub::unsubscribe) {
    unsubscribe(req, d, pdu_ref, out);
  } else {
    // RDREC (0x08) and unknown subfunctions: the CPU's error for an unsupported function.
    log(log_level::info, "cyclic services: subfunction 0x{:02X} not supported, error 0x8104",
        req.subfunction);
    reply_none(req, req.seq, s7::error_code::not_implemented, pdu_ref, out);
  }
}

cyclic_service::job* cyclic_service::find(std::uint8_t id) noexcept {
  const auto it =
      std::find_if(jobs_.begin(), jobs_.end(), [&](const job& j) { return j.id == id; });
  return it == jobs_.end() ? nullptr : &*it;
}

// The smallest id no job has (frames 28-31: after job 1 ended the next jobs got 1, then 2).
std::uint8_t cyclic_service::free_id() const noexcept {
  for (unsigned id = 1; id <= 0xFF; ++id)
    if (std::none_of(jobs_.begin(), jobs_.end(), [&](const job& j) { return j.id == id; }))
      return static_cast<std::uint8_t>(id);
  return 0;
}

void cyclic_service::reschedule() noexcept {
  next_due_ = push_never;
  for (const job& j : jobs_) next_due_ = std::min(next_due_, j.due);
}

void cyclic_service::set_up(const ud::param& req, const ud::data_unit& d, std::uint16_t pdu_ref,
                            pdu_sink& out) {
  const auto r = ud::parse_cyclic_request(d.payload, nullptr);
  const auto interval = r ? interval_of(r->timebase, r->interval) : std::chrono::milliseconds{0};
  if (!r || interval.count() == 0) {
    log(log_level::info, "cyclic services: malformed request (subfunction 0x{:02X}): 0xD405",
        req.subfunction);
    reply_none(req, req.seq, s7::error_code::service_syntax_error, pdu_ref, out);
    return;
  }
  const bool modify = req.subfunction == cyc::sub::change_driven_modify;
  job* old = modify ? find(req.seq) : nullptr;
  if (modify && old == nullptr) {
    reply_none(req, req.seq, 0, pdu_ref, out);  // no such job: as an unsubscribe of it
    return;
  }
  const plc_profile& prof = st_.profile();
  if (!modify && (jobs_.size() >= prof.max_cyclic_jobs_per_connection ||
                  st_.cyclic_jobs() >= prof.max_cyclic_jobs || free_id() == 0)) {
    log(log_level::info, "cyclic services: no more jobs ({} here, {} on the CPU): 0xD805",
        jobs_.size(), st_.cyclic_jobs());
    reply_none(req, req.seq, s7::error_code::no_more_cyclic_jobs, pdu_ref, out);
    return;
  }
  job j;
  j.id = modify ? old->id : free_id();
  j.subfunction = req.subfunction;
  j.item_count = r->item_count;
  j.interval = interval;
  j.items.assign(r->items.begin(), r->items.end());
  j.writes_seen = st_.memory().writes();
  if (send_values(j, ud::type::response, pdu_ref, out) == sent_as::no_room) {
    // Values beyond the PDU size: refused as Read Var refuses them (0x8500).
    reply_none(req, req.seq, s7::error_code::wrong_frames, pdu_ref, out);
    return;
  }
  if (j.subfunction != cyc::sub::cyclic_transfer) j.last.swap(scratch_);
  j.due = push_clock::now() + interval;
  if (modify) {
    *old = std::move(j);
  } else {
    jobs_.push_back(std::move(j));
    st_.cyclic_job_added();
  }
  reschedule();
}

void cyclic_service::unsubscribe(const ud::param& req, const ud::data_unit& d,
                                 std::uint16_t pdu_ref, pdu_sink& out) {
  const auto u = cyc::parse_unsubscribe(d.payload, nullptr);
  if (!u) {
    reply_none(req, req.seq, s7::error_code::service_syntax_error, pdu_ref, out);
    return;
  }
  const auto it =
      std::find_if(jobs_.begin(), jobs_.end(), [&](const job& j) { return j.id == u->job_id; });
  if (it != jobs_.end()) {
    jobs_.erase(it);
    st_.cyclic_job_removed();
    reschedule();
  }
  // The captured CPU answers 0A 00 0000 with the job id as sequence number, and the id is free
  // again (frames 26/27, then 28/29 set up job 1 anew).
  reply_none(req, u->job_id, 0, pdu_ref, out);
}

std::optional<std::size_t> cyclic_service::write_values(const job& j, codec::mutable_bytes area) {
  writer w{area};
  cyc::write_data_head(w, j.item_count);
  s7::var_spec_iterator it{j.items, j.item_count, nullptr};
  s7::var_spec v;
  std::size_t i = 0;
  while (it.next(v)) var_items::write_read_item(w, v, st_.memory(), st_, ++i == j.item_count);
  const auto n = w.finish();
  if (!n) return std::nullopt;
  return *n;
}

cyclic_service::sent_as cyclic_service::send_values(const job& j, ud::type type,
                                                    std::uint16_t pdu_ref, pdu_sink& out) {
  const codec::mutable_bytes area = out.begin(s7::rosctr::userdata, ud::long_param_length);
  const auto n = area.size() < ud::data_unit_head_length
                     ? std::nullopt
                     : write_values(j, area.subspan(ud::data_unit_head_length));
  if (!n) {
    out.cancel();
    return sent_as::no_room;
  }
  writer dw{area.first(ud::data_unit_head_length)};
  ud::write_data_unit_head(dw, ud::rc_ok, ud::ts_octet, *n);
  if (j.subfunction != cyc::sub::cyclic_transfer) {
    // Change-driven: only values that differ from the last ones sent are pushed.
    const codec::bytes values = area.subspan(ud::data_unit_head_length, *n);
    if (type == ud::type::push &&
        std::equal(values.begin(), values.end(), j.last.begin(), j.last.end())) {
      out.cancel();
      return sent_as::unchanged;
    }
    scratch_.assign(values.begin(), values.end());
  }
  std::array<std::byte, ud::long_param_length> prm{};
  writer pw{prm};
  ud::write_param(pw, answer_param(type, j.subfunction, j.id, 0));
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = pdu_ref;
  out.commit(h, prm, ud::data_unit_head_length + *n);
  return sent_as::committed;
}

void cyclic_service::push_job(job& j, const push_context& ctx, push_sink& out) {
  const bool change_driven = j.subfunction != cyc::sub::cyclic_transfer;
  // Nothing written to the memory since the last values were encoded: none can differ.
  if (change_driven && ctx.memory_writes == j.writes_seen) return;
  switch (send_values(j, ud::type::push, 0, out)) {
    case sent_as::no_room:
      log(log_level::warn, "cyclic job {}: values do not fit the PDU size {}: not pushed", j.id,
          ctx.pdu_size);
      return;
    case sent_as::unchanged:
      j.writes_seen = ctx.memory_writes;
      return;
    case sent_as::committed:
      // Dropped at the output bound: the change is still owed, pushed at the next interval.
      if (!out.sent()) return;
      if (change_driven) j.last.swap(scratch_);
      j.writes_seen = ctx.memory_writes;
      return;
  }
}

void cyclic_service::push(const push_context& ctx, push_sink& out) {
  for (job& j : jobs_) {
    if (j.due > ctx.now) continue;
    push_job(j, ctx, out);
    j.due += j.interval;
    if (j.due <= ctx.now) j.due = ctx.now + j.interval;  // late: no burst to catch up
  }
  reschedule();
}

}  // namespace protos7::server
