#include "protos7/codec/ud_cyclic.hpp"

namespace protos7::codec::s7::cyclic {

namespace {
const std::byte* origin_of(bytes in, const std::byte* origin) noexcept {
  return origin == nullptr ? in.data() : origin;
}
}  // namespace

void write_request_head(writer& w, std::uint8_t item_count, std::uint8_t time_base,
                        std::uint8_t interval) noexcept {
  w.u8(0);
  w.u8(item_count);
  w.u8(time_base);
  w.u8(interval);
}

result<data> parse_data(bytes payload, const std::byte* origin, const data_options& opt) noexcept {
  reader r{payload, origin_of(payload, origin), layer::userdata};
  data d;
  d.reserved = r.u8();
  d.item_count = r.u8();
  if (!r.ok()) return r.err();
  d.items = r.rest();
  reader items{d.items, r.origin(), layer::s7_data};
  parse_data_items(items, d.item_count, data_kind::push, opt);
  if (!items.ok()) return items.err();
  return d;
}

void write_data_head(writer& w, std::uint8_t item_count) noexcept {
  w.u8(0);
  w.u8(item_count);
}

result<unsubscribe> parse_unsubscribe(bytes payload, const std::byte* origin) noexcept {
  reader r{payload, origin_of(payload, origin), layer::userdata};
  if (payload.size() != unsubscribe_length)
    return error{errc::userdata_bad_payload, layer::userdata, r.offset(), 0};
  unsubscribe u;
  u.function = r.u8();
  u.job_id = r.u8();
  return u;
}

void write_unsubscribe(writer& w, const unsubscribe& u) noexcept {
  w.u8(u.function);
  w.u8(u.job_id);
}

}  // namespace protos7::codec::s7::cyclic
