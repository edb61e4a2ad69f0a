#include "protos7/codec/transport.hpp"

#include <array>

namespace protos7::codec::transport {

stream_reader::stream_reader(std::span<std::byte> frame_storage, std::span<std::byte> pdu_storage,
                             const options& opt) noexcept
    : frame_storage_(frame_storage),
      pdu_storage_(pdu_storage),
      framer_(frame_storage, opt.tpkt),
      reassembler_(pdu_storage),
      opt_(opt) {}

// Drops bytes up to the first offset whose (up to 4) bytes could start a TPKT frame: first
// the carried bytes of a header that failed, then the input.
void stream_reader::skip_to_header(bytes& in) noexcept {
  while (carry_len_ > 0) {
    std::array<std::byte, tpkt::header_size> head{};
    std::size_t n = 0;
    for (; n < carry_len_; ++n) head[n] = carry_[n];
    for (std::size_t i = 0; n < head.size() && i < in.size(); ++i) head[n++] = in[i];
    if (tpkt::measure(bytes{head.data(), n}, opt_.tpkt).status != tpkt::frame_status::invalid) {
      // A plausible header starts in the carried bytes: they go to the framer first.
      frame_start_ = consumed_ - carry_len_;
      bytes carried{carry_.data(), carry_len_};
      carry_len_ = 0;
      resyncing_ = false;
      const tpkt::framer::next_result r = framer_.next(carried);  // < 4 bytes: buffered
      (void)r;
      return;
    }
    for (std::size_t i = 1; i < carry_len_; ++i) carry_[i - 1] = carry_[i];
    --carry_len_;
    ++skipped_;
  }
  std::size_t i = 0;
  for (; i < in.size(); ++i) {
    const std::size_t n = in.size() - i < tpkt::header_size ? in.size() - i : tpkt::header_size;
    if (tpkt::measure(in.subspan(i, n), opt_.tpkt).status != tpkt::frame_status::invalid) break;
  }
  in = in.subspan(i);
  consumed_ += i;
  skipped_ += i;
  if (!in.empty()) resyncing_ = false;
}

// After a bad header: its bytes after the first are scanned again (resync), or nothing is.
void stream_reader::after_bad_header(bytes& in, bool header_in_input) noexcept {
  framer_.reset();
  reassembler_.reset();
  if (!opt_.resync) {
    broken_ = true;
    return;
  }
  resyncing_ = true;
  ++skipped_;  // the bad header's first byte
  if (header_in_input) {
    in = in.subspan(1);
    ++consumed_;
    return;
  }
  // The header was assembled from earlier reads: its bytes are in the framer's storage.
  carry_len_ = 0;
  for (std::size_t i = 1; i < buffered_header_ && carry_len_ < carry_.size(); ++i)
    carry_[carry_len_++] = frame_storage_[i];
}

event stream_reader::next(bytes& in) noexcept {
  event ev;
  if (broken_) {
    consumed_ += in.size();
    in = {};
    return ev;
  }
  if (resyncing_) skip_to_header(in);
  if (resyncing_) return ev;  // all input skipped
  if (framer_.buffered() == 0) frame_start_ = consumed_;
  const bool header_in_input = framer_.buffered() == 0;
  const std::size_t before = in.size();
  const tpkt::framer::next_result r = framer_.next(in);
  consumed_ += before - in.size();
  buffered_header_ =
      framer_.buffered() < tpkt::header_size ? framer_.buffered() : tpkt::header_size;
  ev.offset = frame_start_;
  if (r.status == tpkt::frame_status::need_more) return ev;
  ev.skipped = skipped_;
  skipped_ = 0;
  if (r.status == tpkt::frame_status::invalid) {
    ev.st = status::error;
    ev.err = r.err;
    after_bad_header(in, header_in_input && before == in.size());
    return ev;
  }
  event out = on_frame(r.frame);
  out.skipped = ev.skipped;
  out.offset = frame_start_;
  return out;
}

event stream_reader::on_frame(bytes frame) noexcept {
  event ev;
  ev.frame = frame;
  const auto t = cotp::parse(frame.subspan(tpkt::header_size), frame.data(), opt_.cotp);
  if (!t) {
    ev.st = status::error;
    ev.err = t.err();
    return ev;
  }
  ev.st = status::tpdu;
  ev.tpdu = *t;
  if (t->type != cotp::tpdu_type::dt) return ev;
  const std::size_t segments = reassembler_.segments() + 1;
  const cotp::reassembler::feed_result fr = reassembler_.feed(*t);
  if (fr.st == cotp::reassembler::status::overflow) {
    ev.st = status::error;
    ev.err = error{errc::cotp_reassembly_overflow, layer::cotp,
                   static_cast<std::uint32_t>(tpkt::header_size), 0};
    return ev;
  }
  if (fr.st == cotp::reassembler::status::complete) {
    ev.completes_pdu = true;
    ev.pdu = fr.pdu;
    ev.segments = segments;
  }
  return ev;
}

void stream_reader::gap(std::uint64_t n) noexcept {
  consumed_ += n;
  carry_len_ = 0;
  framer_.reset();
  reassembler_.reset();
  if (opt_.resync)
    resyncing_ = true;
  else
    broken_ = true;
}

void stream_reader::limit_pdu(std::size_t n) noexcept {
  reassembler_ =
      cotp::reassembler(pdu_storage_.first(n < pdu_storage_.size() ? n : pdu_storage_.size()));
}

void stream_reader::reset() noexcept {
  skipped_ = 0;
  carry_len_ = 0;
  framer_.reset();
  reassembler_.reset();
  resyncing_ = false;
  broken_ = false;
}

void write_tpdu(writer& w, bytes tpdu) noexcept {
  tpkt::write_header(w, tpdu.size());
  w.raw(tpdu);
}

void write_dt_segments(writer& w, bytes pdu, std::size_t segment_payload) noexcept {
  // The largest TPKT frame (RFC 1006: a 16-bit length) minus its header and the DT header.
  constexpr std::size_t max_payload = 0xFFFF - tpkt::header_size - cotp::dt_header_size;
  if (segment_payload == 0 || segment_payload > max_payload) {
    w.range_error();
    return;
  }
  do {
    const std::size_t len = pdu.size() < segment_payload ? pdu.size() : segment_payload;
    tpkt::write_header(w, cotp::dt_header_size + len);
    cotp::write_dt_header(w, len == pdu.size());
    w.raw(pdu.first(len));
    pdu = pdu.subspan(len);
  } while (!pdu.empty());
}

}  // namespace protos7::codec::transport
