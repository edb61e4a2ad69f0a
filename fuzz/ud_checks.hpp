// Invariants of the Userdata payload layouts of ud_tis.hpp, ud_alarm.hpp and ud_cyclic.hpp, run
// by check_payload_helpers (s7_checks.hpp) on every Userdata payload, whatever group it names:
// the readers must be safe on any bytes, their errors well formed, their views inside the
// payload, their iterators must walk exactly what the parse accepted, and where a writer exists
// write(parse(b)) == b.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_common.hpp"
#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/ud_alarm.hpp"
#include "protos7/codec/ud_cyclic.hpp"
#include "protos7/codec/ud_tis.hpp"

namespace protos7::fuzz {

namespace ud_c = protos7::codec;
namespace ud_s7 = protos7::codec::s7;

// `write` into a buffer of `expect`'s size gives `expect` back.
template <class Write>
bool writes_back(Write&& write, bytes expect) {
  std::vector<std::byte> out(expect.size());
  ud_c::writer w{ud_c::mutable_bytes{out.data(), out.size()}};
  write(w);
  const auto n = w.finish();
  return n.ok() && *n == expect.size() && same(bytes{out.data(), out.size()}, expect);
}

template <class T>
void check_result(const ud_c::result<T>& r, std::size_t origin_size) {
  if (!r) FUZZ_CHECK(well_formed(r.err(), origin_size));
}

inline void check_tis_lists(bytes data, const std::byte* origin, std::size_t origin_size) {
  namespace tis = ud_s7::tis;
  for (const tis::list_kind kind :
       {tis::list_kind::addresses, tis::list_kind::values, tis::list_kind::addresses_and_values,
        tis::list_kind::return_codes}) {
    const auto l = tis::parse_item_list(data, kind, origin);
    check_result(l, origin_size);
    if (!l) continue;
    FUZZ_CHECK(l->addresses.size() ==
               (kind == tis::list_kind::addresses || kind == tis::list_kind::addresses_and_values
                    ? std::size_t{l->count} * tis::item_address_length
                    : 0));
    tis::address_iterator ai{l->addresses, origin};
    tis::item_address a;
    std::size_t n = 0;
    while (ai.next(a)) ++n;
    FUZZ_CHECK(n * tis::item_address_length == l->addresses.size());
    tis::value_iterator vi{l->values, origin};
    tis::item_value v;
    n = 0;
    while (vi.next(v)) {
      FUZZ_CHECK(within(v.data, l->values));
      ++n;
    }
    if (!l->values.empty()) FUZZ_CHECK(n == l->count);
    if (kind == tis::list_kind::return_codes) FUZZ_CHECK(l->return_codes.size() == l->count);
  }
}

inline void check_tis(bytes payload, const std::byte* origin, std::size_t origin_size) {
  namespace tis = ud_s7::tis;
  const auto f = tis::parse_frame(payload, origin);
  check_result(f, origin_size);
  if (f) {
    FUZZ_CHECK(within(f->param, payload) && within(f->data, payload));
    FUZZ_CHECK(f->param.size() + f->data.size() + tis::frame_head_length == payload.size());
    FUZZ_CHECK(
        writes_back([&](ud_c::writer& w) { tis::write_frame(w, f->param, f->data); }, payload));
  }
  const auto jp = tis::parse_job_param(payload, origin);
  check_result(jp, origin_size);
  if (jp) FUZZ_CHECK(writes_back([&](ud_c::writer& w) { tis::write_job_param(w, *jp); }, payload));
  const auto rp = tis::parse_response_param(payload, origin);
  FUZZ_CHECK(rp.ok() == (payload.size() == tis::response_param_length));
  check_tis_lists(payload, origin, origin_size);
  for (const std::uint8_t sub : {tis::sub::enable_job, tis::sub::delete_job, tis::sub::flash_led}) {
    const auto j = tis::parse_job_ref(sub, payload, origin);
    check_result(j, origin_size);
    if (j)
      FUZZ_CHECK(writes_back([&](ud_c::writer& w) { tis::write_job_ref(w, sub, *j); }, payload));
  }
  const auto jl = tis::parse_job_list(payload, origin);
  FUZZ_CHECK(jl.ok() == (payload.size() % tis::job_entry_length == 0));
  check_result(tis::parse_replace_job(payload, origin), origin_size);
  for (const bool v2 : {false, true}) {
    const auto b = tis::parse_block_status_request(v2, payload, origin);
    check_result(b, origin_size);
    if (!b) continue;
    tis::block_status_line l;
    std::size_t n = 0;
    while (tis::block_status_line_at(*b, n, l)) ++n;
    FUZZ_CHECK(n == b->line_count);
    FUZZ_CHECK(
        writes_back([&](ud_c::writer& w) { tis::write_block_status_request(w, *b); }, payload));
  }
}

inline void check_alarm_messages(bytes payload, const std::byte* origin, std::size_t origin_size) {
  namespace alarm = ud_s7::alarm;
  for (const std::uint8_t sub : {alarm::sub::alarm8_ind, alarm::sub::scan_ind,
                                 alarm::sub::alarm_query, alarm::sub::notify_ind}) {
    for (const std::uint8_t type : std::array<std::uint8_t, 3>{0, 4, 8}) {
      const auto m = alarm::parse_message(sub, type, payload, origin, ud_s7::item_options{true});
      check_result(m, origin_size);
      if (!m || m->answer) continue;
      FUZZ_CHECK(within(m->objects, payload));
      alarm::object_iterator it{*m, origin};
      alarm::object o;
      std::size_t n = 0;
      while (it.next(o)) {
        FUZZ_CHECK(within(o.body, payload) && within(o.values, payload));
        ++n;
      }
      FUZZ_CHECK(n == m->object_count);
    }
  }
  const auto q = alarm::parse_query_answer(payload, origin);
  check_result(q, origin_size);
  if (q) {
    alarm::dataset_iterator it{*q, origin};
    alarm::query_dataset d;
    std::size_t bytes_walked = 0;
    while (it.next(d))
      bytes_walked += 12 + d.timestamp_coming.size() + d.value_coming.size() +
                      d.timestamp_going.size() + d.value_going.size();
    FUZZ_CHECK(bytes_walked == q->datasets.size());
  }
}

inline void check_alarm(bytes payload, const std::byte* origin, std::size_t origin_size) {
  namespace alarm = ud_s7::alarm;
  const auto s = alarm::parse_subscription(payload, origin);
  check_result(s, origin_size);
  if (s)
    FUZZ_CHECK(writes_back([&](ud_c::writer& w) { alarm::write_subscription(w, *s); }, payload));
  const auto a = alarm::parse_subscription_answer(payload, origin);
  check_result(a, origin_size);
  if (a)
    FUZZ_CHECK(
        writes_back([&](ud_c::writer& w) { alarm::write_subscription_answer(w, *a); }, payload));
  const auto d = alarm::parse_diagnostic_message(payload, origin);
  FUZZ_CHECK(d.ok() == (payload.size() == alarm::diagnostic_message_length));
  if (d)
    FUZZ_CHECK(
        writes_back([&](ud_c::writer& w) { alarm::write_diagnostic_message(w, *d); }, payload));
  check_alarm_messages(payload, origin, origin_size);
}

inline void check_cyclic(bytes payload, const std::byte* origin, std::size_t origin_size) {
  namespace cyclic = ud_s7::cyclic;
  const auto d = cyclic::parse_data(payload, origin);
  check_result(d, origin_size);
  if (d) {
    ud_s7::data_item_iterator it{d->items, d->item_count, origin};
    ud_s7::data_item item;
    std::size_t n = 0;
    while (it.next(item)) ++n;
    FUZZ_CHECK(n == d->item_count);
  }
  const auto u = cyclic::parse_unsubscribe(payload, origin);
  FUZZ_CHECK(u.ok() == (payload.size() == cyclic::unsubscribe_length));
  if (u)
    FUZZ_CHECK(writes_back([&](ud_c::writer& w) { cyclic::write_unsubscribe(w, *u); }, payload));
}

inline void check_ud_layouts(bytes payload, const std::byte* origin, std::size_t origin_size) {
  check_tis(payload, origin, origin_size);
  check_alarm(payload, origin, origin_size);
  check_cyclic(payload, origin, origin_size);
}

}  // namespace protos7::fuzz
