#include "protos7/stream/stream.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <string>

#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/transport.hpp"

namespace protos7::stream {

namespace {

using codec::bytes;

struct keyed {
  std::size_t chunk_index;
  record rec;
};

std::string side_name(int side) {
  return side == 0 ? "client->server" : "server->client";
}

// Frames of captures may use the whole TPKT length; reassembled PDUs are bounded generously
// (a capture is analysed, not trusted: a larger PDU is dropped with a note).
constexpr std::size_t frame_room = codec::tpkt::max_length;
constexpr std::size_t pdu_room = 4 * codec::tpkt::max_length;

// One side of a connection walked through the codec's transport reader (resync on: a capture
// may start mid-frame, have gaps, or carry garbage).
struct side_walker {
  const capture::connection& c;
  int side;
  std::vector<keyed>& out;
  connection_records& cr;
  std::vector<std::byte> frame_buf = std::vector<std::byte>(frame_room);
  std::vector<std::byte> pdu_buf = std::vector<std::byte>(pdu_room);
  codec::transport::stream_reader reader{frame_buf, pdu_buf, resync_options()};
  bool first = true;
  bool resync_next = false;
  std::string pending_skip_why;  // the error that started a skip, noted with its length
  std::uint64_t pending_skip_frame = 0;

  side_walker(const capture::connection& conn, int which, std::vector<keyed>& records, connection_records& recs)
      : c(conn), side(which), out(records), cr(recs) {}

  static codec::transport::options resync_options() {
    codec::transport::options o;
    o.resync = true;
    return o;
  }

  void note_skip(std::uint64_t skipped, std::uint64_t frame) {
    if (skipped == 0) return;
    const std::string why = pending_skip_why.empty() ? "after a capture gap" : pending_skip_why;
    cr.notes.push_back("frame " + std::to_string(pending_skip_why.empty() ? frame : pending_skip_frame) + ": " +
                       std::to_string(skipped) + " bytes that are not a TPKT frame skipped (" + side_name(side) +
                       ", " + why + ")");
    pending_skip_why.clear();
  }

  void on_event(const codec::transport::event& e, std::size_t ci, const capture::chunk& ch) {
    if (e.st == codec::transport::status::error && e.frame.empty()) {  // framing: bytes skipped next
      if (e.err.code == codec::errc::cotp_reassembly_overflow) {
        cr.notes.push_back("frame " + std::to_string(ch.frame) + ": an S7 PDU over " + std::to_string(pdu_room) +
                           " bytes dropped (" + side_name(side) + ")");
        return;
      }
      if (first) cr.start_captured = false;
      note_skip(e.skipped, ch.frame);
      pending_skip_why = std::string(codec::to_string(e.err.code));
      pending_skip_frame = ch.frame;
      resync_next = true;
      return;
    }
    note_skip(e.skipped, ch.frame);
    keyed k{ci, {}};
    record& r = k.rec;
    r.side = side;
    r.frame = ch.frame;
    r.time = ch.time;
    r.stream_offset = static_cast<std::size_t>(e.offset);
    r.tpkt.assign(e.frame.begin(), e.frame.end());
    r.resync = resync_next || e.skipped != 0;
    resync_next = false;
    first = false;
    if (e.st == codec::transport::status::error) {
      r.err = e.err;
    } else {
      // The record owns its frame: the TPDU's views point into that copy.
      const bytes frame{r.tpkt.data(), r.tpkt.size()};
      r.cotp_ok = true;
      r.cotp = *codec::cotp::parse(frame.subspan(codec::tpkt::header_size), frame.data());
      if (e.completes_pdu) {
        r.has_s7 = true;
        r.s7.assign(e.pdu.begin(), e.pdu.end());
        r.segments = e.segments;
        if (e.segments == 1) r.s7_offset_in_frame = r.cotp.user_data_offset;
      }
    }
    out.push_back(std::move(k));
  }

  void walk() {
    const std::vector<std::byte>& d = c.sides[side].data;
    std::size_t pos = 0;
    for (std::size_t ci = 0; ci < c.chunks.size(); ++ci) {
      const capture::chunk& ch = c.chunks[ci];
      if (ch.side != side) continue;
      if (ch.gap_before) {
        if (reader.partial_frame() > 0)
          cr.notes.push_back("frame " + std::to_string(ch.frame) + ": " + std::to_string(reader.partial_frame()) +
                             " bytes of an incomplete TPKT frame dropped before a capture gap (" + side_name(side) + ")");
        reader.gap(ch.begin > pos ? ch.begin - pos : 0);
        pos = ch.begin;
        resync_next = true;
      }
      bytes in{d.data() + pos, ch.end - pos};
      for (;;) {
        const codec::transport::event e = reader.next(in);
        if (e.st == codec::transport::status::need_more) break;
        on_event(e, ci, ch);
      }
      pos = ch.end;
    }
    finish(d.size() - pos);
  }

  void finish(std::size_t unread) {
    const std::size_t rest = reader.partial_frame() + unread;
    if (rest > 0 || !pending_skip_why.empty())
      cr.notes.push_back(std::to_string(rest) + " bytes at the end of the " + side_name(side) +
                         " stream do not form a whole TPKT frame (capture ends mid-PDU)");
    if (reader.partial_pdu() > 0)
      cr.notes.push_back("an S7 PDU of " + std::to_string(reader.partial_pdu()) + " bytes in " + side_name(side) +
                         " never received its last DT segment (EOT)");
  }
};

void walk_side(const capture::connection& c, int side, std::vector<keyed>& out, connection_records& cr) {
  side_walker w{c, side, out, cr};
  w.walk();
}

}  // namespace

std::vector<connection_records> extract(const capture::capture_file& file, const options& opt) {
  std::vector<connection_records> result;
  for (const capture::connection& c : file.connections) {
    if (opt.port != 0 && !capture::involves_port(c, opt.port)) continue;
    connection_records cr;
    cr.conn = &c;
    std::vector<keyed> all;
    walk_side(c, 0, all, cr);
    walk_side(c, 1, all, cr);
    // Capture order: the chunk that completed each frame, then stream order within a chunk.
    std::stable_sort(all.begin(), all.end(), [](const keyed& a, const keyed& b) {
      if (a.chunk_index != b.chunk_index) return a.chunk_index < b.chunk_index;
      return a.rec.stream_offset < b.rec.stream_offset;
    });
    cr.records.reserve(all.size());
    for (keyed& k : all) cr.records.push_back(std::move(k.rec));
    if (!c.start_seen)
      cr.notes.insert(cr.notes.begin(), "the connection's start (SYN) was not captured");
    result.push_back(std::move(cr));
  }
  return result;
}

}  // namespace protos7::stream
