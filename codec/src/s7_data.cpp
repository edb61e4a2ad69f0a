#include "protos7/codec/s7_data.hpp"

#include "protos7/codec/s7_item.hpp"

namespace protos7::codec::s7 {

namespace {

// Reads one item at `r`; `last` says whether a fill byte may follow.
void read_item(reader& r, data_item& it, bool last, data_kind kind,
               const data_options& opt) noexcept {
  it.offset = r.offset();
  if (r.remaining() < 4) {
    r.fail(r.empty() ? errc::param_item_count_mismatch : errc::data_item_truncated);
    return;
  }
  it.return_code = r.u8();
  it.tsize = r.u8();
  it.length = r.u16be();
  if (!is_known_return_code(it.return_code)) {
    r.fail_at(errc::data_bad_return_code, it.offset);
    return;
  }
  if (kind == data_kind::write_request && it.return_code != return_code::reserved &&
      it.return_code != return_code::success) {
    r.fail_at(errc::data_bad_return_code, it.offset);
    return;
  }
  const bool carries_data =
      it.return_code == return_code::success || it.return_code == return_code::reserved;
  if (!carries_data) {
    // An error item is rc, 0x00, 0x0000: it carries no data and is never padded.
    if (it.length != 0) r.fail_at(errc::data_error_item_has_data, it.offset + 2);
    it.data = {};
    it.has_fill = false;
    return;
  }
  if (!is_known_data_tsize(it.tsize) || it.tsize == 0) {
    r.fail_at(errc::data_bad_transport_size, it.offset + 1);
    return;
  }
  const std::size_t n = data_bytes(it.tsize, it.length);
  if (r.remaining() < n) {
    r.fail_at(errc::data_item_truncated, it.offset + 2);
    return;
  }
  it.data = r.take(n);
  it.has_fill = false;
  if ((n & 1U) != 0 && !last) {
    if (r.empty()) {
      if (!opt.allow_missing_fill) r.fail(errc::data_fill_missing);
      return;
    }
    const std::uint32_t at = r.offset();
    const std::uint8_t fill = r.peek_u8();
    if (fill != 0 && !opt.allow_nonzero_fill) {
      // Without the leniency a non-zero byte here is a wrong fill byte; with it, it may be
      // the next item's return code.
      if (!opt.allow_missing_fill) r.fail_at(errc::data_fill_nonzero, at);
      return;
    }
    r.skip(1);
    it.has_fill = true;
  }
}

}  // namespace

void read_data_items(reader& r, std::size_t count, data_kind kind,
                     const data_options& opt) noexcept {
  data_item it;
  for (std::size_t i = 0; i < count && r.ok(); ++i) read_item(r, it, i + 1 == count, kind, opt);
}

void parse_data_items(reader& r, std::size_t count, data_kind kind,
                      const data_options& opt) noexcept {
  read_data_items(r, count, kind, opt);
  if (r.ok() && !r.empty()) r.fail(errc::trailing_bytes);
}

bool data_item_iterator::next(data_item& out) noexcept {
  if (index_ >= count_) return false;
  reader r{data_, origin_, layer::s7_data};
  read_item(r, out, index_ + 1 == count_, data_kind::push, opt_);
  if (!r.ok()) {
    index_ = count_;
    return false;
  }
  ++index_;
  data_ = r.rest();
  return true;
}

void write_data_item(writer& w, std::uint8_t rc, std::uint8_t tsize, bytes data,
                     bool last) noexcept {
  w.u8(rc);
  if (rc != return_code::success && rc != return_code::reserved) {
    w.u8(0);
    w.u16be(0);
    return;
  }
  w.u8(tsize);
  const std::size_t n = data.size();
  // A BIT item's length field counts bits and its data holds one bit in one byte, so only 0 or 1
  // byte can be said (a reader would take n bits for ceil(n / 8) bytes); the other bit-counted
  // sizes count 8 bits a byte.
  std::size_t field = n;
  if (tsize == static_cast<std::uint8_t>(data_tsize::bit)) {
    if (n > 1) w.range_error();
  } else if (length_in_bits(tsize)) {
    field = n * 8U;
  }
  if (field > 0xFFFF) w.range_error();
  w.u16be(static_cast<std::uint16_t>(field & 0xFFFFU));
  w.raw(data);
  if ((n & 1U) != 0 && !last) w.u8(0);
}

void write_data_item(writer& w, const data_item& d, bool last) noexcept {
  w.u8(d.return_code);
  w.u8(d.tsize);
  w.u16be(d.length);
  w.raw(d.data);
  if ((d.data.size() & 1U) != 0 && !last) w.u8(0);
}

void write_dbread_answer_head(writer& w, std::size_t data_length) noexcept {
  if (data_length > 0xFFFF) w.range_error();
  w.u8(return_code::success);
  w.u8(dbread_answer_tsize);
  w.u16be(static_cast<std::uint16_t>(data_length & 0xFFFFU));
}

void write_dbread_area(writer& w, std::uint8_t rc, bytes data) noexcept {
  w.u8(rc);
  if (rc == return_code::success) w.raw(data);
}

void write_fill(writer& w, std::size_t data_length, bool last) noexcept {
  if ((data_length & 1U) != 0 && !last) w.u8(0);
}

bool dbread_answer_at(bytes item_data, const var_spec& request, std::size_t index,
                      dbread_area_answer& out) noexcept {
  if (index >= request.dbread_count) return false;
  reader r{item_data, layer::s7_data};
  dbread_area a;
  bool found = false;
  for (std::size_t i = 0; dbread_at(request, i, a); ++i) {
    const std::uint8_t rc = r.u8();
    const bytes data = rc == return_code::success ? r.take(a.length) : bytes{};
    if (!r.ok()) return false;
    if (i == index) {
      out.return_code = rc;
      out.data = data;
      found = true;
    }
  }
  return found && r.empty();
}

}  // namespace protos7::codec::s7
