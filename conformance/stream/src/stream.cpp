#include "protos7/stream/stream.hpp"

#include <algorithm>
#include <span>
#include <string>
#include <unordered_map>

#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/transport.hpp"

namespace protos7::stream {

namespace {

using codec::bytes;

std::string side_name(int side) {
  return side == 0 ? "client->server" : "server->client";
}

// Frames of captures may use the whole TPKT length; reassembled PDUs are bounded generously
// (a capture is analysed, not trusted: a larger PDU is dropped with a note).
constexpr std::size_t frame_room = codec::tpkt::max_length;
constexpr std::size_t pdu_room = 4 * codec::tpkt::max_length;

codec::transport::options resync_options() {
  codec::transport::options o;
  o.resync = true;
  return o;
}

// The COTP TPDU of a TPKT frame the transport reader accepted (its views point into `frame`).
codec::cotp::tpdu tpdu_of(bytes frame) {
  return *codec::cotp::parse(frame.subspan(codec::tpkt::header_size), frame.data());
}

}  // namespace

// --- Records -------------------------------------------------------------------------------------

record::record(const record_view& v)
    : side(v.side),
      frame(v.frame),
      time(v.time),
      stream_offset(v.stream_offset),
      tpkt(v.tpkt.begin(), v.tpkt.end()),
      cotp_ok(v.cotp_ok),
      has_s7(v.has_s7),
      s7(v.s7.begin(), v.s7.end()),
      segments(v.segments),
      s7_offset_in_frame(v.s7_offset_in_frame),
      err(v.err),
      resync(v.resync) {
  if (cotp_ok) cotp = tpdu_of(tpkt);
}

record::record(const record& o) : record(o.view()) {}

record& record::operator=(const record& o) {
  if (this != &o) *this = record(o.view());
  return *this;
}

record_view record::view() const {
  record_view v;
  v.side = side;
  v.frame = frame;
  v.time = time;
  v.stream_offset = stream_offset;
  v.tpkt = tpkt;
  v.cotp_ok = cotp_ok;
  v.cotp = cotp;
  v.has_s7 = has_s7;
  v.s7 = s7;
  v.segments = segments;
  v.s7_offset_in_frame = s7_offset_in_frame;
  v.err = err;
  v.resync = resync;
  return v;
}

// --- One direction of a connection -------------------------------------------------------------

struct connection_walker::side {
  int which;
  record_fn& on_record;
  note_fn& on_note;
  // Not value-initialized: pages the reader never touches are never resident, so a connection
  // whose frames and PDUs are small costs little memory however large the reader may need.
  std::unique_ptr<std::byte[]> frame_buf{new std::byte[frame_room]};
  std::unique_ptr<std::byte[]> pdu_buf{new std::byte[pdu_room]};
  codec::transport::stream_reader reader{std::span<std::byte>(frame_buf.get(), frame_room),
                                         std::span<std::byte>(pdu_buf.get(), pdu_room),
                                         resync_options()};
  bool first = true;
  bool start_captured = true;
  bool resync_next = false;
  std::string pending_skip_why;  // the error that started a skip, noted with its length
  std::uint64_t pending_skip_frame = 0;
  std::size_t pos = 0;  // end of the last chunk fed

  side(int w, record_fn& r, note_fn& n) : which(w), on_record(r), on_note(n) {}

  void note_skip(std::uint64_t skipped, std::uint64_t frame) {
    if (skipped == 0) return;
    const std::string why = pending_skip_why.empty() ? "after a capture gap" : pending_skip_why;
    on_note("frame " + std::to_string(pending_skip_why.empty() ? frame : pending_skip_frame) +
            ": " + std::to_string(skipped) + " bytes that are not a TPKT frame skipped (" +
            side_name(which) + ", " + why + ")");
    pending_skip_why.clear();
  }

  void on_event(const codec::transport::event& e, const capture::chunk& ch) {
    if (e.st == codec::transport::status::error && e.frame.empty()) {  // framing: bytes skipped
      if (e.err.code == codec::errc::cotp_reassembly_overflow) {
        on_note("frame " + std::to_string(ch.frame) + ": an S7 PDU over " +
                std::to_string(pdu_room) + " bytes dropped (" + side_name(which) + ")");
        return;
      }
      if (first) start_captured = false;
      note_skip(e.skipped, ch.frame);
      pending_skip_why = std::string(codec::to_string(e.err.code));
      pending_skip_frame = ch.frame;
      resync_next = true;
      return;
    }
    note_skip(e.skipped, ch.frame);
    record_view r;
    r.side = which;
    r.frame = ch.frame;
    r.time = ch.time;
    r.stream_offset = static_cast<std::size_t>(e.offset);
    r.tpkt = e.frame;
    r.resync = resync_next || e.skipped != 0;
    resync_next = false;
    first = false;
    if (e.st == codec::transport::status::error) {
      r.err = e.err;
    } else {
      r.cotp_ok = true;
      r.cotp = e.tpdu;
      if (e.completes_pdu) {
        r.has_s7 = true;
        r.s7 = e.pdu;
        r.segments = e.segments;
        if (e.segments == 1) r.s7_offset_in_frame = r.cotp.user_data_offset;
      }
    }
    on_record(r);
  }

  void feed(const capture::chunk& ch, bytes in) {
    if (ch.gap_before) {
      if (reader.partial_frame() > 0)
        on_note("frame " + std::to_string(ch.frame) + ": " +
                std::to_string(reader.partial_frame()) +
                " bytes of an incomplete TPKT frame dropped before a capture gap (" +
                side_name(which) + ")");
      reader.gap(ch.begin > pos ? ch.begin - pos : 0);
      resync_next = true;
    }
    for (;;) {
      const codec::transport::event e = reader.next(in);
      if (e.st == codec::transport::status::need_more) break;
      on_event(e, ch);
    }
    pos = ch.end;
  }

  bool tail_cut = false;

  void finish() {
    const std::size_t rest = reader.partial_frame();
    tail_cut = rest > 0 || !pending_skip_why.empty();
    if (tail_cut)
      on_note(std::to_string(rest) + " bytes at the end of the " + side_name(which) +
              " stream do not form a whole TPKT frame (capture ends mid-PDU)");
    if (reader.partial_pdu() > 0)
      on_note("an S7 PDU of " + std::to_string(reader.partial_pdu()) + " bytes in " +
              side_name(which) + " never received its last DT segment (EOT)");
  }
};

connection_walker::connection_walker(record_fn on_record, note_fn on_note)
    : on_record_(std::move(on_record)), on_note_(std::move(on_note)) {
  sides_[0] = std::make_unique<side>(0, on_record_, on_note_);
  sides_[1] = std::make_unique<side>(1, on_record_, on_note_);
}

connection_walker::~connection_walker() = default;

void connection_walker::feed(const capture::chunk& ch, std::span<const std::byte> bytes) {
  sides_[ch.side == 0 ? 0 : 1]->feed(ch, bytes);
}

void connection_walker::finish() {
  sides_[0]->finish();
  sides_[1]->finish();
}

bool connection_walker::tail_cut(int which) const noexcept {
  return sides_[which == 0 ? 0 : 1]->tail_cut;
}

bool connection_walker::start_captured() const noexcept {
  return sides_[0]->start_captured && sides_[1]->start_captured;
}

// --- extract() -----------------------------------------------------------------------------------

std::vector<connection_records> extract(const capture::capture_file& file, const options& opt) {
  std::vector<connection_records> result;
  for (const capture::connection& c : file.connections) {
    if (opt.port != 0 && !capture::involves_port(c, opt.port)) continue;
    connection_records cr;
    cr.conn = &c;
    {
      connection_walker w{[&](const record_view& r) { cr.records.emplace_back(r); },
                          [&](std::string n) { cr.notes.push_back(std::move(n)); }};
      for (const capture::chunk& ch : c.chunks) {
        const auto& d = c.sides[ch.side].data;
        w.feed(ch, std::span<const std::byte>(d).subspan(ch.begin, ch.end - ch.begin));
      }
      w.finish();
      cr.start_captured = w.start_captured();
    }
    if (!c.start_seen)
      cr.notes.insert(cr.notes.begin(), "the connection's start (SYN) was not captured");
    result.push_back(std::move(cr));
  }
  return result;
}

}  // namespace protos7::stream
