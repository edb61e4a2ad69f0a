#include "protos7/stream/stream.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <string>

#include "protos7/codec/tpkt.hpp"

namespace protos7::stream {

namespace {

using codec::bytes;

struct keyed {
  std::size_t chunk_index;
  record rec;
};

// Next offset in [from, end) where a plausible TPKT header starts (03 00, length >= 7): the
// 4 header bytes alone pass the codec's header check (tpkt::measure says need_more or complete).
std::size_t find_tpkt(const std::vector<std::byte>& d, std::size_t from, std::size_t end) {
  for (std::size_t i = from; i + codec::tpkt::header_size <= end; ++i) {
    const bytes header{d.data() + i, codec::tpkt::header_size};
    if (codec::tpkt::measure(header).status != codec::tpkt::frame_status::invalid) return i;
  }
  return end;
}

std::string side_name(int side) {
  return side == 0 ? "client->server" : "server->client";
}

void walk_side(const capture::connection& c, int side, std::vector<keyed>& out,
               connection_records& cr) {
  const std::vector<std::byte>& d = c.sides[side].data;
  std::size_t pos = 0;
  bool first = true;
  bool resync_next = false;
  std::vector<std::byte> reasm;  // DT segments of the S7 PDU being assembled
  std::size_t segs = 0;

  for (std::size_t ci = 0; ci < c.chunks.size(); ++ci) {
    const capture::chunk& ch = c.chunks[ci];
    if (ch.side != side) continue;
    if (ch.gap_before) {
      if (pos < ch.begin) {
        cr.notes.push_back("frame " + std::to_string(ch.frame) + ": " +
                           std::to_string(ch.begin - pos) +
                           " bytes of an incomplete TPKT frame dropped before a capture gap (" +
                           side_name(side) + ")");
      }
      pos = ch.begin;
      reasm.clear();
      segs = 0;
      resync_next = true;
    }
    const std::size_t avail = ch.end;
    while (pos < avail) {
      const codec::tpkt::measure_result m =
          codec::tpkt::measure(bytes{d.data() + pos, avail - pos});
      if (m.status == codec::tpkt::frame_status::need_more) break;
      if (m.status == codec::tpkt::frame_status::invalid) {
        const std::size_t next = find_tpkt(d, pos + 1, avail);
        if (first) cr.start_captured = false;
        cr.notes.push_back("frame " + std::to_string(ch.frame) + ": " + std::to_string(next - pos) +
                           " bytes that are not a TPKT frame skipped (" + side_name(side) + ", " +
                           std::string(codec::to_string(m.err.code)) + ")");
        pos = next;
        resync_next = true;
        continue;
      }
      keyed k{ci, {}};
      record& r = k.rec;
      r.side = side;
      r.frame = ch.frame;
      r.time = ch.time;
      r.stream_offset = pos;
      r.tpkt.assign(d.begin() + static_cast<std::ptrdiff_t>(pos),
                    d.begin() + static_cast<std::ptrdiff_t>(pos + m.frame_size));
      r.resync = resync_next;
      resync_next = false;
      first = false;
      pos += m.frame_size;

      const bytes frame{r.tpkt.data(), r.tpkt.size()};
      const auto t = codec::cotp::parse(frame.subspan(codec::tpkt::header_size), frame.data());
      if (!t) {
        r.err = t.err();
      } else {
        r.cotp_ok = true;
        r.cotp = *t;
        if (r.cotp.type == codec::cotp::tpdu_type::dt) {
          reasm.insert(reasm.end(), r.cotp.user_data.begin(), r.cotp.user_data.end());
          ++segs;
          if (r.cotp.eot) {
            r.has_s7 = true;
            r.s7 = std::move(reasm);
            r.segments = segs;
            if (r.s7.size() == r.cotp.user_data.size())
              r.s7_offset_in_frame = r.cotp.user_data_offset;
            reasm.clear();
            segs = 0;
          }
        }
      }
      out.push_back(std::move(k));
    }
  }
  if (pos < d.size()) {
    cr.notes.push_back(std::to_string(d.size() - pos) + " bytes at the end of the " +
                       side_name(side) +
                       " stream do not form a whole TPKT frame (capture ends mid-PDU)");
  }
  if (!reasm.empty()) {
    cr.notes.push_back("an S7 PDU of " + std::to_string(reasm.size()) + " bytes in " +
                       side_name(side) + " never received its last DT segment (EOT)");
  }
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
