// Turning the PDU records of one captured connection into a replay script.
#include "protos7/replay/script.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "facts.hpp"
#include "protos7/codec/cotp.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::replay {

namespace {

namespace cotp = codec::cotp;
using detail::facts_of_s7;
using detail::s7_facts;

bool is_dt(const stream::record& r) {
  return r.cotp_ok && r.cotp.type == cotp::tpdu_type::dt;
}
bool is_cr(const stream::record& r) {
  return r.cotp_ok && r.cotp.type == cotp::tpdu_type::cr;
}

bool is_setup_job(const stream::record& r) {
  if (!r.has_s7) return false;
  const s7_facts f = facts_of_s7(r.s7);
  return f.s7 && f.rosctr == 1 && f.fn == 0xF0;
}

// CR: TPKT | LI | E0 | dst-ref 0 | src-ref | class 0 | C1 02 calling | C2 02 called | C0 01 size
std::vector<std::byte> synthesized_cr() {
  std::array<std::byte, 64> buf{};
  std::array<std::byte, 16> params{};
  codec::writer pw{params};
  const std::array<std::byte, 2> calling{std::byte{synth_calling_tsap >> 8U},
                                         std::byte{synth_calling_tsap & 0xFFU}};
  const std::array<std::byte, 2> called{std::byte{synth_called_tsap >> 8U},
                                        std::byte{synth_called_tsap & 0xFFU}};
  cotp::write_param(pw, static_cast<std::uint8_t>(cotp::param_code::calling_tsap), calling);
  cotp::write_param(pw, static_cast<std::uint8_t>(cotp::param_code::called_tsap), called);
  cotp::write_param_u8(pw, static_cast<std::uint8_t>(cotp::param_code::tpdu_size),
                       synth_tpdu_size_code);
  std::array<std::byte, 48> tpdu{};
  codec::writer tw{tpdu};
  cotp::connect_fields f;
  f.type = cotp::tpdu_type::cr;
  f.src_ref = synth_src_ref;
  f.variable_part = std::span<const std::byte>(params.data(), pw.size());
  cotp::write_connect(tw, f);
  const auto n = codec::tpkt::encode(std::span<const std::byte>(tpdu.data(), tw.size()), buf);
  return {buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n ? *n : 0)};
}

std::string side_bytes(const capture::side_stream& s) {
  return fmt::format("{} bytes", s.data.size());
}

struct open_request {
  bool cr = false;
  std::uint16_t ref = 0;
  std::uint64_t frame = 0;
  std::size_t record = 0;  // index in the records
  std::string service;
};

}  // namespace

script build_script(const stream::connection_records& cr) {
  script s;
  const capture::connection& c = *cr.conn;
  const std::vector<stream::record>& recs = cr.records;
  for (const std::string& n : c.notes) s.notes.push_back(n);
  for (const std::string& n : cr.notes) s.notes.push_back(n);

  if (recs.empty()) {
    if (c.sides[0].data.empty() && c.sides[1].data.empty()) {
      s.skip_reason = "no payload: the TCP connection carried no data (e.g. an unanswered SYN)";
    } else {
      s.skip_reason =
          fmt::format("not ISO-on-TCP: no TPKT frame in the payload (client {}, server {})",
                      side_bytes(c.sides[0]), side_bytes(c.sides[1]));
    }
    return s;
  }
  bool any_data = false;
  bool any_s7 = false;
  int first_byte = -1;
  for (const stream::record& r : recs) {
    if (!r.has_s7) continue;
    any_data = true;
    if (facts_of_s7(r.s7).s7) {
      any_s7 = true;
    } else if (first_byte < 0) {
      codec::reader head{r.s7, codec::layer::s7_header};  // the would-be protocol id
      const std::uint8_t id = head.u8();
      if (head.ok()) first_byte = id;
    }
  }
  if (any_data && !any_s7) {
    s.skip_reason = fmt::format(
        "not S7comm: the COTP data carries no S7 PDU (first payload byte 0x{:02x}, S7comm starts "
        "with 0x32; "
        "other ISO-on-TCP protocols such as MMS also use port 102)",
        first_byte < 0 ? 0 : first_byte);
    return s;
  }

  // Where the replay starts: the CR, else the first Setup communication (a CR is synthesized).
  std::size_t start = recs.size();
  bool synth = false;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    if (recs[i].side == 0 && is_cr(recs[i])) {
      start = i;
      break;
    }
  }
  if (start == recs.size()) {
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::size_t group_first = none;  // first DT segment of the client PDU being assembled
    for (std::size_t i = 0; i < recs.size() && start == recs.size(); ++i) {
      const stream::record& r = recs[i];
      if (r.side != 0) continue;
      if (!is_dt(r) || r.resync) group_first = none;
      if (is_dt(r) && group_first == none) group_first = i;
      if (r.has_s7) {
        if (is_setup_job(r)) start = group_first == none ? i : group_first;
        group_first = none;
      }
    }
    if (start == recs.size()) {
      s.skip_reason =
          "neither a COTP CR nor an S7 Setup communication was captured (the capture starts "
          "mid-session): "
          "there is no point from which the session can be rebuilt";
      return s;
    }
    synth = true;
  }
  if (start > 0) {
    s.notes.push_back(
        fmt::format("replay starts at frame {}: the {} PDU record(s) before it (frames {}-{}) are "
                    "skipped",
                    recs[start].frame, start, recs.front().frame, recs[start - 1].frame));
  }

  std::vector<open_request> open;
  if (synth) {
    s.notes.push_back(
        fmt::format("no COTP CR captured: a CR was synthesized (src-ref 0x{:04x}, calling TSAP "
                    "0x{:04x}, called TSAP 0x{:04x} = "
                    "PG to rack 0 slot 2, TPDU size 1024); the replay continues with the Setup "
                    "communication in frame {}",
                    synth_src_ref, synth_calling_tsap, synth_called_tsap, recs[start].frame));
    send_step st;
    st.tpkt = synthesized_cr();
    s.sends.push_back(std::move(st));
    s.steps.push_back({true, 0});
    expectation e;
    e.kind = match_kind::tpdu;
    e.service = "COTP Connect";
    e.compare = false;
    e.absorb_note = "answer to the synthesized CR (no CC captured, not compared)";
    s.expects.push_back(std::move(e));
  }

  std::vector<std::size_t> group;  // send steps of the client PDU being assembled
  std::size_t group_bytes = 0;
  std::vector<std::size_t> sgroup;  // records of the server PDU being assembled
  std::uint16_t last_szl = 0;
  std::map<std::uint16_t, std::size_t> initiated_by_ref;     // captured PLC ref -> expectation
  std::array<std::optional<std::size_t>, 16> last_fragment;  // per Userdata group

  for (std::size_t i = start; i < recs.size(); ++i) {
    const stream::record& r = recs[i];
    if (r.side == 0) {
      send_step st;
      st.frame = r.frame;
      st.tpkt = r.tpkt;
      const std::size_t si = s.sends.size();
      if (r.resync) {
        group.clear();
        group_bytes = 0;
      }
      if (is_dt(r)) {
        st.payload_offset = r.tpkt.size() - r.cotp.user_data.size();
        st.pdu_offset = group_bytes;
        group_bytes += r.cotp.user_data.size();
        group.push_back(si);
      } else {
        group.clear();
        group_bytes = 0;
        if (is_cr(r)) open.push_back({true, 0, r.frame, i, "COTP Connect"});
      }
      s.sends.push_back(std::move(st));
      s.steps.push_back({true, si});
      if (!r.has_s7) continue;

      client_pdu p;
      p.frame = r.frame;
      p.sends = group;
      const auto pi = static_cast<std::ptrdiff_t>(s.pdus.size());
      for (std::size_t g : group) s.sends[g].pdu = pi;
      group.clear();
      group_bytes = 0;
      const s7_facts f = facts_of_s7(r.s7);
      p.service = f.s7 ? service_of(r.s7, last_szl) : "not S7";
      if (f.is_request()) {
        open.push_back({false, f.pdu_ref, r.frame, i, p.service});
        // A follow-up request for the next unit of a split Userdata answer echoes the sequence
        // number (and, if it does, the data unit reference) the PLC gave that answer.
        if (f.rosctr == 7 && f.extended) {
          const auto& lf = last_fragment[f.group & 0x0FU];
          if (lf) {
            const s7_facts rf = facts_of_s7(s.expects[*lf].pdu.s7);
            if (rf.seq == f.seq)
              p.patches.push_back({pdu_patch::what::ud_seq, f.param_offset + 7, *lf, f.seq});
            if (rf.data_unit_ref != 0 && rf.data_unit_ref == f.data_unit_ref) {
              p.patches.push_back(
                  {pdu_patch::what::ud_data_unit_ref, f.param_offset + 8, *lf, f.data_unit_ref});
            }
          }
        }
      } else if (f.is_response()) {
        // The client answers a PDU the PLC initiated (Ack_Data to a Download block Job).
        const auto it = initiated_by_ref.find(f.pdu_ref);
        if (it != initiated_by_ref.end()) {
          p.has_dependency = true;
          p.depends_on = it->second;
          p.patches.push_back({pdu_patch::what::pdu_ref, 4, it->second, f.pdu_ref});
          p.service = s.expects[it->second].service;
        }
      }
      s.pdus.push_back(std::move(p));
      continue;
    }

    // Server side: what the target should send.
    if (r.resync) sgroup.clear();
    if (is_dt(r)) {
      sgroup.push_back(i);
      if (!r.has_s7) continue;
    }
    expectation e;
    e.frame = r.frame;
    if (is_dt(r)) {
      e.pdu.dt = true;
      for (std::size_t k : sgroup) e.pdu.frames.push_back(recs[k].tpkt);
      e.pdu.s7 = r.s7;
      sgroup.clear();
      const s7_facts f = facts_of_s7(r.s7);
      if (f.is_response()) {
        e.kind = match_kind::by_ref;
        e.pdu_ref = f.pdu_ref;
        const auto it = std::find_if(open.begin(), open.end(), [&](const open_request& o) {
          return !o.cr && o.ref == f.pdu_ref;
        });
        if (it == open.end()) {
          s.notes.push_back(fmt::format(
              "frame {}: answer (pduref {}) to no replayed request (its request was not "
              "captured or was lost in a capture gap): not compared",
              r.frame, f.pdu_ref));
          continue;
        }
        e.request_frame = it->frame;
        e.service = it->service;
        open.erase(it);
        if (f.rosctr == 7 && f.extended) {
          e.fragmented = f.last_data_unit == 0x01;
          if (e.fragmented) {
            last_fragment[f.group & 0x0FU] = s.expects.size();
          } else {
            last_fragment[f.group & 0x0FU].reset();
          }
        }
      } else if (f.is_initiated()) {
        e.kind = match_kind::initiated;
        e.pdu_ref = f.pdu_ref;
        std::uint16_t unused = 0;
        e.service = service_of(r.s7, unused) + (f.rosctr == 1 ? " (PLC job)" : " (PLC push)");
        initiated_by_ref[f.pdu_ref] = s.expects.size();
      } else {
        e.kind = match_kind::other_data;
        e.service = "COTP data (not S7)";
      }
    } else {
      e.kind = match_kind::tpdu;
      e.pdu.frames.push_back(r.tpkt);
      e.service = service_of_tpdu(r.tpkt);
      const auto it =
          std::find_if(open.begin(), open.end(), [](const open_request& o) { return o.cr; });
      if (it != open.end()) {
        e.request_frame = it->frame;
        open.erase(it);
      }
    }
    s.steps.push_back({false, s.expects.size()});
    s.expects.push_back(std::move(e));
  }

  // Client DT segments that never became a whole PDU (a gap, or the capture ends): sending them
  // would glue their bytes onto the next PDU at the target. Empty ones (Step 7's empty DT after
  // each answer) are harmless and go out as captured.
  for (send_step& st : s.sends) {
    if (st.pdu >= 0 || st.payload_offset == 0 || st.payload_offset >= st.tpkt.size()) continue;
    s.notes.push_back(
        fmt::format("frame {}: {} bytes of a client S7 PDU whose last DT segment was not captured; "
                    "not sent",
                    st.frame, st.tpkt.size() - st.payload_offset));
    st.tpkt.clear();
  }

  // Requests without a captured answer: unknowable (capture gap, capture ends) or really none.
  const bool closed = c.sides[0].fin || c.sides[0].rst || c.sides[1].fin || c.sides[1].rst;
  std::size_t server_end = 0;
  for (const stream::record& r : recs) {
    if (r.side == 1) server_end = std::max(server_end, r.stream_offset + r.tpkt.size());
  }
  const bool server_tail_lost = server_end < c.sides[1].data.size() || !sgroup.empty();
  for (const open_request& o : open) {
    std::string why;
    for (std::size_t k = o.record + 1; k < recs.size() && why.empty(); ++k) {
      if (recs[k].side == 1 && recs[k].resync) {
        why = fmt::format("server bytes were lost or skipped before frame {}", recs[k].frame);
      }
    }
    if (why.empty() && server_tail_lost) why = "the capture ends in the middle of a server PDU";
    if (why.empty() && c.sides[1].bytes_lost > 0)
      why = "server bytes were lost at the end of the capture";
    if (why.empty() && !closed) why = "the capture ends before the answer";
    if (why.empty()) {
      s.notes.push_back(
          fmt::format("frame {}: the captured PLC did not answer this {} before the connection "
                      "closed; an answer from the target is reported as unexpected",
                      o.frame, o.service));
      continue;
    }
    expectation e;
    e.kind = o.cr ? match_kind::tpdu : match_kind::by_ref;
    e.pdu_ref = o.ref;
    e.request_frame = o.frame;
    e.service = o.service;
    e.compare = false;
    e.absorb_note = fmt::format("answer to frame {} not compared: {}", o.frame, why);
    s.expects.push_back(std::move(e));
  }

  s.replayable = std::any_of(s.sends.begin(), s.sends.end(),
                             [](const send_step& st) { return !st.tpkt.empty(); });
  if (!s.replayable) s.skip_reason = "no client frame to send";
  return s;
}

}  // namespace protos7::replay
