// Service names for the per-service summary, in Wireshark's wording (s7comm_reference.md §4, §5).
#include <fmt/format.h>

#include <algorithm>
#include <span>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/hex.hpp"
#include "protos7/codec/names.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/s7_peek.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/replay/script.hpp"

namespace protos7::replay {

namespace {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;

// Wireshark's names (codec names.hpp); unknown values by number.
std::string function_name(std::uint8_t fn) {
  const std::string_view n = codec::names::function(fn);
  return n.empty() ? fmt::format("Function 0x{:02x}", fn) : std::string(n);
}

std::string group_name(std::uint8_t g) {
  const std::string_view n = codec::names::userdata_group(g);
  return n.empty() ? fmt::format("Group {}", g) : std::string(n);
}

std::string sub_name(std::uint8_t g, std::uint8_t sub) {
  const std::string_view n = codec::names::userdata_subfunction(g, sub);
  return n.empty() ? fmt::format("Subfunction 0x{:02x}", sub) : std::string(n);
}

std::string tpdu_name(codec::cotp::tpdu_type t) {
  switch (t) {
    case codec::cotp::tpdu_type::cr:
      return "CR";
    case codec::cotp::tpdu_type::cc:
      return "CC";
    case codec::cotp::tpdu_type::dr:
      return "DR";
    case codec::cotp::tpdu_type::dc:
      return "DC";
    case codec::cotp::tpdu_type::er:
      return "ER";
    case codec::cotp::tpdu_type::dt:
      return "DT";
    case codec::cotp::tpdu_type::ed:
      return "ED";
    case codec::cotp::tpdu_type::ea:
      return "EA";
    case codec::cotp::tpdu_type::rj:
      return "RJ";
    case codec::cotp::tpdu_type::ak:
      return "AK";
  }
  return "TPDU";
}

}  // namespace

std::string service_of(std::span<const std::byte> pdu, std::uint16_t& last_szl) {
  const auto m = s7::decode(pdu);
  if (!m) {
    // Name what the header still says, so a malformed request is grouped with its kind.
    codec::reader r{pdu, codec::layer::s7_header};
    const std::uint8_t id = r.u8();
    const std::uint8_t rosctr = r.u8();
    if (r.ok() && id == s7::protocol_id) return fmt::format("S7 ROSCTR {} (malformed)", rosctr);
    return "not S7";
  }
  switch (m->p.hdr.type) {
    case s7::rosctr::job:
    case s7::rosctr::ack_data: {
      std::string name = function_name(m->prm.fn);
      if (m->prm.fn == static_cast<std::uint8_t>(s7::function::pi_service) &&
          m->p.hdr.type == s7::rosctr::job) {
        std::string svc;
        for (std::byte b : m->prm.pi.service_name)
          svc.push_back(static_cast<char>(std::to_integer<unsigned char>(b)));
        name += " " + svc;
      }
      return name;
    }
    case s7::rosctr::ack:
      return "Ack";
    case s7::rosctr::userdata: {
      const ud::param& u = m->ud.prm;
      std::string name =
          fmt::format("Userdata {} / {}", group_name(u.group), sub_name(u.group, u.subfunction));
      if (u.group == static_cast<std::uint8_t>(ud::group::cpu) &&
          u.subfunction == ud::sub::read_szl) {
        if (m->ud.has_data && m->ud.data.payload.size() == 4) {
          const auto q = codec::szl::parse_request(m->ud.data.payload, m->p.origin);
          if (q) last_szl = q->id;
        }
        // A follow-up ("next unit") request carries no SZL-ID: it continues the previous list.
        name += fmt::format(" 0x{:04x}", last_szl);
      }
      return name;
    }
  }
  return "S7";
}

std::string service_of_tpdu(std::span<const std::byte> frame) {
  if (frame.size() <= codec::tpkt::header_size) return "TPKT";
  const auto t = codec::cotp::parse(frame.subspan(codec::tpkt::header_size), frame.data());
  if (!t) return "COTP (malformed)";
  if (t->type == codec::cotp::tpdu_type::cr || t->type == codec::cotp::tpdu_type::cc)
    return "COTP Connect";
  return "COTP " + tpdu_name(t->type);
}

std::string summarize(const pdu_frames& p) {
  if (p.frames.empty()) return "(nothing)";
  if (p.dt) {
    const s7::peek_result head = s7::peek(p.s7);
    if (!head.header || head.protocol_id != s7::protocol_id) {
      // Not S7 at all: show the start of the payload, that is what a reader needs.
      const std::string h = codec::to_hex(
          std::span<const std::byte>(p.s7).first(std::min<std::size_t>(p.s7.size(), 24)));
      return fmt::format("COTP DT with {} bytes that are not an S7 PDU: {}{}", p.s7.size(), h,
                         p.s7.size() > 24 ? "..." : "");
    }
    std::string s = dump::summarize_s7(p.s7);
    if (p.frames.size() > 1) s += fmt::format(" ({} DT segments)", p.frames.size());
    return s;
  }
  const auto& f = p.frames.front();
  if (f.size() <= codec::tpkt::header_size) return "TPKT (no TPDU)";
  const auto t =
      codec::cotp::parse(std::span<const std::byte>(f).subspan(codec::tpkt::header_size), f.data());
  if (!t) return fmt::format("COTP malformed: {}", codec::to_string(t.err().code));
  std::string s = "COTP " + tpdu_name(t->type);
  if (t->type == codec::cotp::tpdu_type::dr) s += fmt::format(" reason=0x{:02x}", t->reason);
  return s;
}

}  // namespace protos7::replay
