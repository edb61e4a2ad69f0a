// TCP stream reassembly. See reassembly.hpp for the offset arithmetic.

#include "reassembly.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace protos7::capture::detail {
namespace {

// ISO transport over TCP (RFC 1006 section 6): the port a PLC listens on. Used only to guess
// which side is the client when a connection's start was not captured.
constexpr std::uint16_t iso_tsap_port = 102;

const char* direction_name(int side) {
  return side == 0 ? "client->server" : "server->client";
}

std::string frame_text(std::uint64_t frame) {
  return "frame " + std::to_string(frame);
}

}  // namespace

bool capped(std::size_t& count, std::string& line) {
  if (count < max_notes) {
    ++count;
    return true;
  }
  if (count == max_notes) {
    ++count;
    line = "further lines suppressed (limit of " + std::to_string(max_notes) + ")";
    return true;
  }
  return false;
}

void add_capped(std::vector<std::string>& list, std::string line) {
  std::size_t n = list.size();
  if (capped(n, line)) list.push_back(std::move(line));
}

void assembler::note(conn_state& st, std::string line) {
  if (capped(st.notes, line)) sink_.on_note(st.id, line);
}

void assembler::warn(std::string line) {
  if (capped(warnings_, line)) sink_.on_warning(line);
}

assembler::conn_state* assembler::lookup(const conn_key& key, const tcp_segment& s,
                                         std::uint64_t frame, bool& drop) {
  const bool syn = (s.flags & tcp_syn) != 0;
  const bool ack = (s.flags & tcp_ack) != 0;
  drop = false;
  const auto found = index_.find(key);
  conn_state* st = nullptr;
  if (found != index_.end()) {
    const auto it = state_.find(found->second);
    if (it != state_.end()) st = &it->second;
  }
  bool create = st == nullptr;
  if (st != nullptr && syn && !ack) {
    // A SYN opens a new connection on the same 4-tuple (port reuse) unless it repeats the
    // SYN that opened the current one.
    const bool from_client = s.src == st->client_addr && s.src_port == st->client_port;
    create = !(st->client_syn_seen && from_client && s.seq == st->client_isn);
  }
  if (st == nullptr && found != index_.end() && !(syn && !ack)) {
    drop = true;  // a late segment of a connection already closed (the last ACK, ...)
    return nullptr;
  }
  if (!create) return st;
  if (state_.size() >= max_connections) {
    if (!limit_warned_) {
      limit_warned_ = true;
      warn("connection limit of " + std::to_string(max_connections) + " reached in " +
           frame_text(frame) + "; segments of further connections skipped");
    }
    return nullptr;
  }
  if (st != nullptr) close(*st);  // the port is reused: the old connection is over
  conn_state& fresh = open_connection(s, frame);
  fresh.key = key;
  index_[key] = fresh.id;
  return &fresh;
}

bool assembler::add(const tcp_segment& s, std::uint64_t frame, double time) {
  endpoint_key a{s.src, s.src_port};
  endpoint_key b{s.dst, s.dst_port};
  if (b < a) std::swap(a, b);
  bool drop = false;
  conn_state* st = lookup(conn_key{a, b}, s, frame, drop);
  if (drop) return true;
  if (st == nullptr) return false;
  segment(*st, s, frame, time);
  retire_if_closed(*st);
  return true;
}

assembler::conn_state& assembler::open_connection(const tcp_segment& s, std::uint64_t frame) {
  const bool syn = (s.flags & tcp_syn) != 0;
  const bool ack = (s.flags & tcp_ack) != 0;
  const std::size_t id = next_id_++;
  conn_state& st = state_[id];
  st.id = id;
  connection& c = st.meta;
  std::string why;
  bool sender_is_client = true;
  if (syn && !ack) {
    c.start_seen = true;
  } else if (syn) {
    sender_is_client = false;
    why = "client SYN not captured; roles taken from the SYN-ACK in " + frame_text(frame);
  } else if ((s.src_port == iso_tsap_port) != (s.dst_port == iso_tsap_port)) {
    sender_is_client = s.dst_port == iso_tsap_port;
    why = "connection start not captured; client is the side not using port 102";
  } else {
    why = "connection start not captured; client is the side that sent first (" +
          frame_text(frame) + ")";
  }
  const ip_address& client_addr = sender_is_client ? s.src : s.dst;
  const ip_address& server_addr = sender_is_client ? s.dst : s.src;
  st.client_addr = client_addr;
  st.client_port = sender_is_client ? s.src_port : s.dst_port;
  c.client = endpoint{to_string(client_addr), st.client_port};
  c.server = endpoint{to_string(server_addr), sender_is_client ? s.dst_port : s.src_port};
  c.first_frame = frame;
  c.last_frame = frame;
  sink_.on_open(id, c);
  if (!why.empty()) note(st, std::move(why));
  return st;
}

void assembler::segment(conn_state& st, const tcp_segment& s, std::uint64_t frame, double time) {
  connection& c = st.meta;
  const int side = (s.src == st.client_addr && s.src_port == st.client_port) ? 0 : 1;
  direction& d = st.dir[side];
  side_stream& ss = c.sides[side];
  const bool syn = (s.flags & tcp_syn) != 0;
  const bool ack = (s.flags & tcp_ack) != 0;
  c.last_frame = frame;

  // SYN occupies one sequence number before the first data byte.
  std::uint32_t data_seq = s.seq;
  if (syn) {
    data_seq = s.seq + 1;
    if (side == 0 && !ack) {
      if (st.client_syn_seen) {
        note(st, "SYN retransmission in " + frame_text(frame));
      } else {
        st.client_syn_seen = true;
        st.client_isn = s.seq;
      }
    } else if (side == 1 && ack) {
      if (st.syn_ack_seen) note(st, "SYN-ACK retransmission in " + frame_text(frame));
      st.syn_ack_seen = true;
    }
    // A SYN-ACK acknowledges the client's ISN + 1: the client's first data byte, even
    // when the client's SYN itself was not captured.
    direction& peer = st.dir[1 - side];
    if (ack && !peer.initialized) {
      peer.initialized = true;
      peer.next_seq = s.ack;
    }
  }
  if (!d.initialized) {
    // Without a SYN the first segment seen defines where the stream starts.
    d.initialized = true;
    d.next_seq = data_seq;
  }
  if ((s.flags & tcp_rst) != 0 && !ss.rst) {
    ss.rst = true;
    note(st,
         std::string("RST from ") + (side == 0 ? "client" : "server") + " in " + frame_text(frame));
  }
  if (ack) release_acked_hole(st, 1 - side, s.ack);
  const std::int64_t off =
      static_cast<std::int64_t>(d.next_off) + static_cast<std::int32_t>(data_seq - d.next_seq);
  if (!s.payload.empty() || s.missing != 0) {
    add_data(st, side, off, s.payload, s.missing, frame, time);
  }
  if ((s.flags & tcp_fin) != 0 && !ss.fin) {
    ss.fin = true;
    note(st,
         std::string("FIN from ") + (side == 0 ? "client" : "server") + " in " + frame_text(frame));
    const std::int64_t end = off + static_cast<std::int64_t>(s.payload.size() + s.missing);
    if (end >= 0) {
      d.fin_known = true;
      d.fin_off = static_cast<std::uint64_t>(end);
    }
  }
}

void assembler::add_data(conn_state& st, int side, std::int64_t off,
                         std::span<const std::byte> bytes, std::uint64_t missing,
                         std::uint64_t frame, double time) {
  const direction& d = st.dir[side];
  const auto next = static_cast<std::int64_t>(d.next_off);
  const auto captured_end = off + static_cast<std::int64_t>(bytes.size());
  const auto full_end = captured_end + static_cast<std::int64_t>(missing);
  if (full_end <= next) {
    if (off < 0) {
      note(st, "segment in " + frame_text(frame) + " precedes the start of the " +
                   direction_name(side) + " stream; dropped");
    } else {
      note(st, "retransmission in " + frame_text(frame) + " (" + direction_name(side) + ", " +
                   std::to_string(bytes.size() + missing) + " bytes)");
    }
    return;
  }
  if (off < next) {
    // Overlap with bytes already delivered: the first-received bytes win, as in Wireshark.
    const auto overlap = static_cast<std::uint64_t>(next - off);
    note(st, "segment in " + frame_text(frame) + " overlaps " + std::to_string(overlap) +
                 " already received bytes (" + direction_name(side) + ")");
    if (overlap >= bytes.size()) {
      missing -= overlap - bytes.size();
      bytes = {};
    } else {
      bytes = bytes.subspan(static_cast<std::size_t>(overlap));
    }
    off = next;
  }
  if (off == next) {
    append(st, side, bytes, frame, time);
    if (missing != 0) {
      // The snapshot length cut this frame: its tail can never be recovered (a later
      // retransmission of it would be cut too), so declare it lost right away.
      skip(st, side, missing);
      note(st, std::to_string(missing) + " bytes of TCP payload in " + frame_text(frame) +
                   " not captured (snapshot length); counted as lost (" + direction_name(side) +
                   ")");
    }
    drain(st, side, frame, time);
    return;
  }
  buffer_ahead(st, side, off, bytes, frame, time);
}

// Ahead of the expected byte: hold until the hole before it fills. A cut tail of such a segment
// becomes an ordinary hole. One note per hole (when it opens), not per segment buffered behind
// it: a long outage would otherwise fill the note list and push out the gap report that matters.
void assembler::buffer_ahead(conn_state& st, int side, std::int64_t off,
                             std::span<const std::byte> bytes, std::uint64_t frame, double time) {
  direction& d = st.dir[side];
  if (d.pending.empty()) {
    note(st, "out-of-order segment in " + frame_text(frame) + " (" + direction_name(side) +
                 "): " + std::to_string(static_cast<std::uint64_t>(off) - d.next_off) +
                 " bytes missing before it");
  }
  buffer(st, side, static_cast<std::uint64_t>(off), bytes, frame, time);
  if (d.pending_bytes > max_out_of_order_bytes || d.pending.size() > max_out_of_order_segments) {
    if (!d.limit_noted) {
      d.limit_noted = true;
      note(st, std::string("out-of-order buffer limit reached in ") + frame_text(frame) + " (" +
                   direction_name(side) +
                   "); holes before buffered data are "
                   "declared lost from now on");
    }
    while (d.pending_bytes > max_out_of_order_bytes ||
           d.pending.size() > max_out_of_order_segments) {
      resume_after_hole(st, side, "buffer limit");
    }
  }
}

void assembler::append(conn_state& st, int side, std::span<const std::byte> bytes,
                       std::uint64_t frame, double time) {
  if (bytes.empty()) return;
  direction& d = st.dir[side];
  chunk ch;
  ch.side = side;
  ch.frame = frame;
  ch.time = time;
  ch.begin = d.delivered;
  ch.end = d.delivered + bytes.size();
  ch.gap_before = d.lost_since_chunk != 0;
  ch.lost_before = d.lost_since_chunk;
  d.lost_since_chunk = 0;
  d.delivered += bytes.size();
  d.last_frame = frame;
  d.last_time = time;
  d.next_off += bytes.size();
  d.next_seq += static_cast<std::uint32_t>(bytes.size());
  sink_.on_data(st.id, ch, bytes);
}

void assembler::skip(conn_state& st, int side, std::uint64_t n) {
  direction& d = st.dir[side];
  st.meta.sides[side].bytes_lost += n;
  d.lost_since_chunk += n;
  d.next_off += n;
  d.next_seq += static_cast<std::uint32_t>(n & 0xffffffffu);
}

void assembler::buffer(conn_state& st, int side, std::uint64_t off,
                       std::span<const std::byte> bytes, std::uint64_t frame, double time) {
  direction& d = st.dir[side];
  auto& pending = d.pending;
  const std::uint64_t end = off + bytes.size();
  std::uint64_t cur = off;
  std::uint64_t kept = 0;
  // Store only the parts of [off, end) that no buffered segment covers yet, so the map stays
  // free of overlaps and first-received bytes win.
  auto it = pending.upper_bound(off);
  if (it != pending.begin()) {
    const auto prev = std::prev(it);
    cur = std::max(cur, std::min(end, prev->first + prev->second.bytes.size()));
  }
  const auto keep = [&](std::uint64_t from, std::uint64_t to) {
    const std::uint64_t start = from - off;
    const std::uint64_t count = to - from;
    const auto piece =
        bytes.subspan(static_cast<std::size_t>(start), static_cast<std::size_t>(count));
    pending.emplace_hint(it, from, pending_segment{{piece.begin(), piece.end()}, frame, time});
    d.pending_bytes += piece.size();
    kept += piece.size();
  };
  while (cur < end) {
    if (it == pending.end() || it->first >= end) {
      keep(cur, end);
      break;
    }
    if (it->first > cur) keep(cur, it->first);
    cur = std::max(cur, std::min(end, it->first + it->second.bytes.size()));
    ++it;
  }
  if (kept < bytes.size()) {
    note(st, "segment in " + frame_text(frame) + " overlaps " +
                 std::to_string(bytes.size() - kept) + " buffered out-of-order bytes (" +
                 direction_name(side) + ")");
  }
}

bool assembler::deliver_first(conn_state& st, int side, std::uint64_t frame, double time) {
  direction& d = st.dir[side];
  if (d.pending.empty() || d.pending.begin()->first > d.next_off) return false;
  auto node = d.pending.extract(d.pending.begin());
  const std::vector<std::byte>& bytes = node.mapped().bytes;
  d.pending_bytes -= bytes.size();
  const std::uint64_t stale = d.next_off - node.key();
  if (stale < bytes.size()) {
    append(st, side, std::span(bytes).subspan(static_cast<std::size_t>(stale)), frame, time);
  }
  return true;
}

void assembler::drain(conn_state& st, int side, std::uint64_t frame, double time) {
  while (deliver_first(st, side, frame, time)) {
  }
}

void assembler::resume_after_hole(conn_state& st, int side, const std::string& why) {
  direction& d = st.dir[side];
  if (d.pending.empty()) return;
  const auto first = d.pending.begin();
  const std::uint64_t hole = first->first - d.next_off;
  // The bytes behind the hole never became contiguous, so no frame completed them: attribute
  // each to the frame that carried it, but keep the direction's frames non-decreasing.
  const std::uint64_t next_frame = std::max(first->second.frame, d.last_frame);
  if (hole != 0) {
    skip(st, side, hole);
    note(st, "gap of " + std::to_string(hole) + " bytes in " + direction_name(side) + " before " +
                 frame_text(next_frame) + " (" + why + ")");
  }
  for (;;) {
    if (d.pending.empty()) break;
    const pending_segment& seg = d.pending.begin()->second;
    const bool later = seg.frame >= d.last_frame;
    if (!deliver_first(st, side, later ? seg.frame : d.last_frame,
                       later ? seg.time : d.last_time)) {
      break;
    }
  }
}

// The receiver acknowledged every byte of the hole before the first buffered segment of `side`:
// it has them, so no retransmission will fill the hole; the capture missed them (Wireshark's
// "ACKed unseen segment", e.g. the 7-byte empty DT before each request of the TIA Portal and
// WinCC field captures). The hole is declared lost now, one note per hole, and the data behind
// it delivered before the acknowledging segment's own data (a request before its answer),
// instead of waiting for the end of the connection.
void assembler::release_acked_hole(conn_state& st, int side, std::uint32_t ack_seq) {
  direction& d = st.dir[side];
  while (d.initialized && !d.pending.empty()) {
    const std::int64_t acked =
        static_cast<std::int64_t>(d.next_off) + static_cast<std::int32_t>(ack_seq - d.next_seq);
    if (acked < static_cast<std::int64_t>(d.pending.begin()->first)) return;
    const std::size_t before = d.pending.size();
    resume_after_hole(st, side, "the receiver acknowledged it");
    if (d.pending.size() == before) return;
  }
}

void assembler::close(conn_state& st) {
  for (int side = 0; side < 2; ++side) {
    direction& d = st.dir[side];
    while (!d.pending.empty()) resume_after_hole(st, side, "never filled");
    if (d.fin_known && d.fin_off > d.next_off) {
      const std::uint64_t lost = d.fin_off - d.next_off;
      skip(st, side, lost);
      note(st, std::to_string(lost) + " bytes lost at the end of " + direction_name(side) +
                   " (before its FIN)");
    }
  }
  const std::size_t id = st.id;
  sink_.on_close(id, st.meta);
  state_.erase(id);
}

// With retire_closed: a connection both sides finished (FIN, with every byte before it
// delivered) or one side reset is closed now; its 4-tuple is remembered for a while so that
// its last ACKs do not open a connection without a start.
void assembler::retire_if_closed(conn_state& st) {
  if (!retire_) return;
  const connection& c = st.meta;
  const bool reset = c.sides[0].rst || c.sides[1].rst;
  const auto finished = [&](int side) {
    const direction& d = st.dir[side];
    return c.sides[side].fin && d.pending.empty() && (!d.fin_known || d.fin_off <= d.next_off);
  };
  if (!reset && !(finished(0) && finished(1))) return;
  tombstones_.emplace_back(st.key, st.id);
  close(st);
  while (tombstones_.size() > max_tombstones) {
    const auto& [key, id] = tombstones_.front();
    const auto it = index_.find(key);
    if (it != index_.end() && it->second == id) index_.erase(it);
    tombstones_.pop_front();
  }
}

void assembler::finish() {
  std::vector<std::size_t> open;
  open.reserve(state_.size());
  for (const auto& [id, st] : state_) open.push_back(id);
  std::sort(open.begin(), open.end());
  for (std::size_t id : open) close(state_.at(id));
}

}  // namespace protos7::capture::detail
