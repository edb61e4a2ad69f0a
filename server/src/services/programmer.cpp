// Programmer commands (programmer.hpp; the rules and their evidence: docs/PROGRAMMER.md).
#include "protos7/server/programmer.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include "protos7/server/log.hpp"
#include "protos7/server/var_items.hpp"

namespace protos7::server {

namespace tis = codec::s7::tis;
namespace ud = codec::s7::ud;
using codec::bytes;
using codec::writer;

namespace {

// The parameter of every captured answer with data and of every push: 01 00 and the number of
// items (readVarTab frame 7: 0100 0002 before 2 values; readDiagData frame 14: 0100 0001 before
// a job list of 1 job; frame 28, block status: 0100 0001).
constexpr std::uint16_t response_param1 = 0x0100;
// A response telegram: S7 header 10 + parameter 12 + data unit head 4 + the payload.
constexpr std::size_t telegram_overhead = 26;

location locate(const tis_place& p, plc_memory& mem, const plc_state& st) {
  if (p.area == 0x84 && st.db_hidden(p.db)) return location{ud::rc_none, {}, nullptr, 0};
  if (p.length == 0) return location{0x05, {}, nullptr, 0};
  return mem.locate(p.area, p.db, p.offset, p.length);
}

std::optional<std::size_t> size_of(const codec::result<std::size_t>& r) {
  return r ? std::optional<std::size_t>{*r} : std::nullopt;
}

// The size of one value in a push: head 4, the data, a fill byte after odd data.
std::size_t value_size(std::size_t n) {
  return 4U + n + (n & 1U);
}

}  // namespace

// --- Addresses and push builders ----------------------------------------------------------------

std::optional<tis_place> tis_place_of(const tis::item_address& a) noexcept {
  tis_place p;
  p.db = a.db;
  if (a.area == 0x54 || a.area == 0x64) {  // timers, counters: a word each
    p.area = a.area == 0x54 ? 0x1D : 0x1C;
    p.offset = std::size_t{a.start} * 2U;
    p.length = std::size_t{a.count_or_bit} * 2U;
    return p;
  }
  static constexpr std::array<std::uint8_t, 8> areas{0x83, 0x81, 0x82, 0x80, 0, 0, 0, 0x84};
  static constexpr std::array<std::size_t, 4> widths{0, 1, 2, 4};
  const unsigned memory = a.area >> 4U, width = a.area & 0x0FU;
  if (memory >= areas.size() || areas[memory] == 0 || width >= widths.size()) return std::nullopt;
  p.area = areas[memory];
  p.offset = a.start;
  p.bit = a.bit_area();
  p.bit_no = a.count_or_bit;
  p.length = p.bit ? 1 : std::size_t{a.count_or_bit} * widths[width];
  if (p.bit && p.bit_no > 7) return std::nullopt;
  return p;
}

ud::param tis_push_param(std::uint8_t subfunction, std::uint8_t number) noexcept {
  ud::param p;
  p.method = ud::method_response;
  p.type = static_cast<std::uint8_t>(ud::type::push);
  p.group = static_cast<std::uint8_t>(ud::group::programmer);
  p.subfunction = subfunction;
  p.seq = number;
  p.extended = true;
  p.last_data_unit = ud::last_unit_yes;
  return p;
}

std::size_t variable_status_push_size(const tis::item_list& addresses) {
  std::size_t n = tis::frame_head_length + tis::response_param_length + 2;
  tis::address_iterator it{addresses.addresses, nullptr};
  tis::item_address a;
  while (it.next(a)) n += value_size(tis_place_of(a).value_or(tis_place{}).length);
  return n;
}

std::optional<std::size_t> write_variable_status_push(codec::mutable_bytes out,
                                                      const tis::item_list& addresses,
                                                      plc_memory& mem, const plc_state& st) {
  std::array<std::byte, 1024> data{};
  writer dw{data};
  tis::write_item_count(dw, addresses.count);
  tis::address_iterator it{addresses.addresses, nullptr};
  tis::item_address a;
  while (it.next(a)) {
    const auto pl = tis_place_of(a);
    const tis_place p = pl.value_or(tis_place{});
    const location loc = pl ? locate(p, mem, st) : location{0x05, {}, nullptr, 0};
    if (loc.return_code != ud::rc_ok) {
      tis::write_item_value(dw, loc.return_code, 0, {});
    } else if (p.bit) {
      const auto v =
          static_cast<std::uint8_t>((std::to_integer<unsigned>(loc.ram[0]) >> p.bit_no) & 1U);
      const std::array<std::byte, 1> b{std::byte{v}};
      tis::write_item_value(dw, ud::rc_ok, ud::ts_octet, b);
    } else {
      tis::write_item_value(dw, ud::rc_ok, ud::ts_octet, loc.ram);
    }
  }
  const auto n = dw.finish();
  if (!n) return std::nullopt;
  std::array<std::byte, tis::response_param_length> prm{};
  writer pw{prm};
  tis::write_response_param(pw, {response_param1, addresses.count});
  writer w{out};
  tis::write_frame(w, prm, bytes{data.data(), *n});
  return size_of(w.finish());
}

std::optional<std::size_t> write_block_status_push(codec::mutable_bytes out,
                                                   const tis::block_status_push& b) {
  std::array<std::byte, 1024> data{};
  writer dw{data};
  tis::write_block_status_push(dw, b);
  const auto n = dw.finish();
  if (!n) return std::nullopt;
  std::array<std::byte, tis::response_param_length> prm{};
  writer pw{prm};
  tis::write_response_param(pw, {response_param1, 1});
  writer w{out};
  tis::write_frame(w, prm, bytes{data.data(), *n});
  return size_of(w.finish());
}

// --- The job service ----------------------------------------------------------------------------

programmer::programmer(plc_state& st) : st_(st), owner_(st.new_connection_id()) {}

programmer::~programmer() {
  st_.remove_test_jobs_of(owner_);
}

push_clock::time_point programmer::next_due() const noexcept {
  return due_;
}

void programmer::push(const push_context& ctx, push_sink& out) {
  due_ = push_never;
  for (test_job& j : st_.test_jobs()) {
    for (; j.owner == owner_ && j.pushes_owed > 0; --j.pushes_owed) {
      if (!send_push(j, out)) {
        due_ = ctx.now + std::chrono::milliseconds{10};  // dropped at the output bound: later
        return;
      }
    }
  }
}

// The push PDU: parameter (tis_push_param), data unit FF 09 len, the job's results.
bool programmer::send_push(const test_job& j, push_sink& out) {
  const codec::mutable_bytes area = out.begin(codec::s7::rosctr::userdata, ud::long_param_length);
  if (area.size() < ud::data_unit_head_length) {
    out.cancel();
    return false;
  }
  const std::size_t n = trigger(j, area.subspan(ud::data_unit_head_length));
  if (n == 0) {  // nothing to push (block status); the job is idle now
    out.cancel();
    return true;
  }
  std::array<std::byte, ud::long_param_length> prm{};
  writer pw{prm};
  ud::write_param(pw, tis_push_param(j.function, j.number));
  writer dw{area.first(ud::data_unit_head_length)};
  ud::write_data_unit_head(dw, ud::rc_ok, ud::ts_octet, n);
  codec::s7::header h;
  h.type = codec::s7::rosctr::userdata;
  h.pdu_ref = 0;  // PLC-initiated (readVarTab frame 7)
  out.commit(h, prm, ud::data_unit_head_length + n);
  return out.sent();
}

tis_answer programmer::error(std::uint16_t code) const {
  tis_answer a;
  a.error = code;
  a.seq = st_.free_job_number();
  return a;
}

tis_answer programmer::handle(std::uint8_t subfunction, bytes payload, const tis_rights& r,
                              codec::mutable_bytes out) {
  switch (subfunction) {
    case tis::sub::variable_status:
    case tis::sub::block_status_v2:
    case tis::sub::modify_variable:
      return set_up(subfunction, payload, r);
    case tis::sub::enable_job:
    case tis::sub::disable_job:
      return enable(subfunction, payload);
    case tis::sub::delete_job:
      return remove(payload);
    case tis::sub::replace_job:
      return replace(payload, r);
    case tis::sub::read_job_list:
      return job_list(payload, out);
    case tis::sub::flash_led:
      return flash_led(payload);
    case tis::sub::force:
    case tis::sub::breakpoint:
      return refuse_debugging(subfunction, r);
    default:
      log(log_level::info, "programmer command 0x{:02X}: not supported, error 0x{:04X}",
          subfunction, tis_error::not_supported);
      return error(tis_error::not_supported);
  }
}

// Whether job `sub` of frame `f` can be set up: 0 or the CPU's error.
std::uint16_t programmer::check_job(std::uint8_t sub, const tis::frame& f,
                                    const tis_rights& r) const {
  const auto prm = tis::parse_job_param(f.param, nullptr);
  if (!prm || prm->size < tis::job_param_trigger) return tis_error::param_coding;
  if (sub == tis::sub::modify_variable && r.protection >= 2) return tis_error::protection;
  if (sub == tis::sub::block_status_v2) {
    if (prm->size < tis::job_param_block) return tis_error::param_coding;
    return tis::parse_block_status_request(true, f.data, nullptr) ? 0 : tis_error::data_coding;
  }
  const auto kind = sub == tis::sub::modify_variable ? tis::list_kind::addresses_and_values
                                                     : tis::list_kind::addresses;
  const auto items = tis::parse_item_list(f.data, kind, nullptr);
  if (!items || items->count == 0) return tis_error::data_coding;
  tis::address_iterator it{items->addresses, nullptr};
  tis::item_address a;
  while (it.next(a))
    if (!tis_place_of(a)) return tis_error::tag_address;
  const std::size_t push =
      sub == tis::sub::modify_variable
          ? tis::frame_head_length + tis::response_param_length + 3U + items->count
          : variable_status_push_size(*items);
  return push + telegram_overhead > r.pdu_size ? tis_error::result_too_long : std::uint16_t{0};
}

tis_answer programmer::set_up(std::uint8_t sub, bytes payload, const tis_rights& r) {
  const auto f = tis::parse_frame(payload, nullptr);
  if (!f) return error(tis_error::job_length);
  if (const std::uint16_t e = check_job(sub, *f, r); e != 0) return error(e);
  test_job* j = st_.add_test_job(sub, owner_);
  if (j == nullptr) return error(tis_error::job_list_full);
  j->param.assign(f->param.begin(), f->param.end());
  j->data.assign(f->data.begin(), f->data.end());
  tis_answer a;
  a.seq = j->number;
  log(log_level::debug, "programmer command 0x{:02X}: job {} set up", sub, j->number);
  return a;
}

tis_answer programmer::enable(std::uint8_t sub, bytes payload) {
  const auto f = tis::parse_frame(payload, nullptr);
  if (!f) return error(tis_error::job_length);
  const auto ref = tis::parse_job_ref(sub, f->data, nullptr);
  if (!ref) return error(tis_error::data_coding);
  test_job* j = st_.find_test_job(ref->seq);
  if (j == nullptr || j->function != ref->function) return error(tis_error::job_not_found);
  if (j->owner != owner_) return error(tis_error::other_connection);
  // The captured jobs trigger once, at their Enable job, and are idle again: disabling one then
  // finds no running job (readVarTab frames 527-545: 0xD0A5, the push coming all the same).
  if (sub == tis::sub::disable_job) return error(tis_error::job_not_found);
  tis_answer a;
  a.seq = st_.free_job_number();
  if (j->pushes_owed < 0xFF) ++j->pushes_owed;  // one push per Enable job
  due_ = push_clock::time_point{};              // at once: the loop sends it after this answer
  return a;
}

tis_answer programmer::remove(bytes payload) {
  const auto f = tis::parse_frame(payload, nullptr);
  if (!f) return error(tis_error::job_length);
  const auto ref = tis::parse_job_ref(tis::sub::delete_job, f->data, nullptr);
  if (!ref) return error(tis_error::data_coding);
  test_job* j = st_.find_test_job(ref->seq);
  if (j == nullptr || j->function != ref->function) return error(tis_error::job_not_found);
  if (j->owner != owner_) return error(tis_error::other_connection);
  tis_answer a;
  a.seq = st_.free_job_number();  // before the job goes: readVarTab frame 548 answers 3, not 2
  st_.remove_test_job(ref->seq);
  return a;
}

tis_answer programmer::replace(bytes payload, const tis_rights& r) {
  const auto f = tis::parse_frame(payload, nullptr);
  if (!f) return error(tis_error::job_length);
  const auto rj = tis::parse_replace_job(f->data, nullptr);
  if (!rj) return error(tis_error::data_coding);
  test_job* j = st_.find_test_job(rj->seq);
  if (j == nullptr || j->function != rj->function) return error(tis_error::job_not_found);
  if (j->owner != owner_) return error(tis_error::other_connection);
  if (const std::uint16_t e = check_job(j->function, rj->job, r); e != 0) return error(e);
  j->param.assign(rj->job.param.begin(), rj->job.param.end());
  j->data.assign(rj->job.data.begin(), rj->job.data.end());
  j->pushes_owed = 0;
  tis_answer a;
  a.seq = st_.free_job_number();
  return a;
}

// Read job list: every job of the CPU and the request itself, numbered as a job would be
// (readDiagData frames 13 / 14: 0004 0004 0100 0001 | 10 03 0000).
tis_answer programmer::job_list(bytes payload, codec::mutable_bytes out) {
  const auto f = tis::parse_frame(payload, nullptr);
  if (!f) return error(tis_error::job_length);
  if (f->data.size() != tis::read_job_list_request_length) return error(tis_error::data_coding);
  const std::uint8_t self = st_.free_job_number();
  std::array<std::byte, 1024> data{};
  writer dw{data};
  bool listed = false;
  std::uint16_t count = 0;
  for (const test_job& j : st_.test_jobs()) {
    if (!listed && self != 0 && j.number > self) {
      tis::write_job_entry(dw, {tis::sub::read_job_list, self, 0});
      listed = true;
      ++count;
    }
    tis::write_job_entry(dw, {j.function, j.number, 0});
    ++count;
  }
  if (!listed && self != 0) {
    tis::write_job_entry(dw, {tis::sub::read_job_list, self, 0});
    ++count;
  }
  std::array<std::byte, tis::response_param_length> prm{};
  writer pw{prm};
  tis::write_response_param(pw, {response_param1, count});
  writer w{out};
  tis::write_frame(w, prm, bytes{data.data(), dw.size()});
  const auto n = w.finish();
  if (!n || !dw.finish()) return error(tis_error::result_too_long);
  tis_answer a;
  a.seq = self;
  a.rc = ud::rc_ok;
  a.length = *n;
  return a;
}

tis_answer programmer::flash_led(bytes payload) {
  if (!tis::parse_frame(payload, nullptr)) return error(tis_error::job_length);
  st_.note_flash_led();
  log(log_level::info, "Flash LED (programmer command 0x16)");
  return error(0);
}

// Force and breakpoints change what the program does: refused at protection level 2 or 3
// without the password (0xD0A1), breakpoints in STOP and both with the mode selector at RUN
// (0xD081, "not permitted in current mode"); otherwise 0xD003 (protos7 runs no program to force
// or halt).
tis_answer programmer::refuse_debugging(std::uint8_t sub, const tis_rights& r) {
  std::uint16_t e = tis_error::not_supported;
  if (r.protection >= 2)
    e = tis_error::protection;
  else if (st_.mode_selector() == 1 ||
           (sub == tis::sub::breakpoint && st_.mode() != operating_mode::run))
    e = tis_error::mode;
  log(log_level::info, "programmer command 0x{:02X} ({}): refused with 0x{:04X}", sub,
      sub == tis::sub::force ? "force" : "breakpoint", e);
  return error(e);
}

// --- Triggers -----------------------------------------------------------------------------------

std::size_t programmer::trigger(const test_job& j, codec::mutable_bytes out) {
  if (j.function == tis::sub::modify_variable) return modify(j, out);
  if (j.function != tis::sub::variable_status) return 0;
  const auto items = tis::parse_item_list(j.data, tis::list_kind::addresses, nullptr);
  if (!items) return 0;
  return write_variable_status_push(out, *items, st_.memory(), st_).value_or(0);
}

// Modify variable at its trigger: each value written as Write Var writes it, the push carries a
// return code per item (| count | codes | fill |).
std::size_t programmer::modify(const test_job& j, codec::mutable_bytes out) {
  const auto items = tis::parse_item_list(j.data, tis::list_kind::addresses_and_values, nullptr);
  if (!items) return 0;
  std::array<std::byte, 256> codes{};
  tis::address_iterator ai{items->addresses, nullptr};
  tis::value_iterator vi{items->values, nullptr};
  tis::item_address a;
  tis::item_value v;
  std::size_t i = 0;
  while (i < codes.size() && ai.next(a) && vi.next(v)) {
    const auto pl = tis_place_of(a);
    const tis_place p = pl.value_or(tis_place{});
    location loc = pl ? locate(p, st_.memory(), st_) : location{0x05, {}, nullptr, 0};
    std::uint8_t rc = loc.return_code;
    if (rc == ud::rc_ok && v.data.size() != loc.ram.size())
      rc = codec::s7::return_code::type_inconsistent;
    if (rc == ud::rc_ok && (p.area == 0x1C || p.area == 0x1D))
      rc = var_items::check_counter_timer_write(v.data);
    if (rc == ud::rc_ok && p.bit) {
      const auto mask = static_cast<std::uint8_t>(1U << p.bit_no);
      const auto old = std::to_integer<std::uint8_t>(loc.ram[0]);
      const bool set = std::to_integer<unsigned>(v.data[0]) != 0;
      const std::array<std::byte, 1> nb{
          std::byte{static_cast<std::uint8_t>(set ? old | mask : old & ~mask)}};
      if (!st_.memory().write(loc, nb)) rc = codec::s7::return_code::hardware_error;
    } else if (rc == ud::rc_ok && !st_.memory().write(loc, v.data)) {
      rc = codec::s7::return_code::hardware_error;
    }
    codes[i++] = std::byte{rc};
  }
  std::array<std::byte, 260> data{};
  writer dw{data};
  tis::write_return_codes(dw, bytes{codes.data(), i});
  std::array<std::byte, tis::response_param_length> prm{};
  writer pw{prm};
  tis::write_response_param(pw, {response_param1, static_cast<std::uint16_t>(i)});
  writer w{out};
  tis::write_frame(w, prm, bytes{data.data(), dw.size()});
  return size_of(w.finish()).value_or(0);
}

}  // namespace protos7::server
