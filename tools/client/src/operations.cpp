#include "protos7/client/operations.hpp"

#include <fmt/format.h>

#include <array>
#include <string_view>
#include <utility>

#include "protos7/codec/s7_data.hpp"
#include "protos7/codec/s7_param.hpp"
#include "protos7/codec/szl.hpp"
#include "protos7/codec/writer.hpp"

namespace protos7::client {

namespace s7 = codec::s7;
namespace ud = codec::s7::ud;
using codec::bytes;
using codec::writer;

namespace {

// Buffers sized by running the writer over nothing first (its counting mode).
template <class Fn>
std::vector<std::byte> encoded(Fn&& write) {
  writer count{{}};
  write(count);
  std::vector<std::byte> out(count.size());
  writer w{out};
  write(w);
  if (!w.finish()) throw client_error(failure::refused, "a value does not fit its field");
  return out;
}

[[noreturn]] void refused(const connection& c, std::string_view what, std::uint16_t code) {
  throw client_error(failure::refused,
                     fmt::format("{} refused {}: error 0x{:04X}", c.peer(), what, code), code);
}

[[noreturn]] void malformed(const connection& c, std::string_view what, const codec::error& e) {
  throw client_error(failure::protocol,
                     fmt::format("{}: malformed answer to {}: {} at offset {}", c.peer(), what,
                                 codec::to_string(e.code), e.offset));
}

// A job's Ack_Data, decoded (a header error is a refusal); views valid until the next request.
struct ack {
  s7::pdu p;
  s7::param prm;
};
ack job(connection& c, std::string_view what, bytes param, bytes data) {
  const s7::pdu p = c.request(s7::rosctr::job, param, data);
  if (p.hdr.type != s7::rosctr::ack_data && p.hdr.type != s7::rosctr::ack)
    throw client_error(failure::protocol, fmt::format("{} answered {} with ROSCTR {}", c.peer(),
                                                      what, static_cast<unsigned>(p.hdr.type)));
  if (p.hdr.error() != 0) refused(c, what, p.hdr.error());
  const auto a = s7::parse_ack_data(p);
  if (!a) malformed(c, what, a.err());
  return {p, *a};
}

// A Userdata request (group, subfunction, payload) and the response's data unit.
struct ud_answer {
  ud::param prm;
  ud::data_unit data;
};
ud_answer userdata(connection& c, std::string_view what, const ud::param& req, bytes payload,
                   std::uint8_t rc = 0xFF, std::uint8_t tsize = 0x09) {
  const auto prm = encoded([&](writer& w) { ud::write_param(w, req); });
  const auto data = encoded([&](writer& w) { ud::write_data_unit(w, rc, tsize, payload); });
  const s7::pdu p = c.request(s7::rosctr::userdata, prm, data);
  const auto m = ud::parse(p);
  if (!m) malformed(c, what, m.err());
  if (m->prm.error_code != 0) refused(c, what, m->prm.error_code);
  if (!m->has_data)
    throw client_error(failure::protocol, fmt::format("{}: no data in the answer "
                                                      "to {}",
                                                      c.peer(), what));
  return {m->prm, m->data};
}

ud::param ud_request(ud::group g, std::uint8_t sub) {
  ud::param p;
  p.length = 4;
  p.method = ud::method_request;
  p.type = static_cast<std::uint8_t>(ud::type::request);
  p.group = static_cast<std::uint8_t>(g);
  p.subfunction = sub;
  return p;
}

// The request for the next part of a split Userdata answer (frames 19/20 of
// s7comm_reading_plc_status.pcap: method 0x12, the answer's sequence number and data unit
// reference, data 0A 00 0000).
ud::param ud_next(const ud::param& answer) {
  ud::param p = answer;
  p.length = 8;
  p.method = ud::method_response;
  p.type = static_cast<std::uint8_t>(ud::type::request);
  p.extended = true;
  p.last_data_unit = ud::last_unit_yes;
  p.error_code = 0;
  return p;
}

// All parts of a Userdata answer: the first's payload, then each follow-up's.
std::vector<std::byte> all_parts(connection& c, std::string_view what, const ud::param& req,
                                 bytes payload) {
  ud_answer a = userdata(c, what, req, payload);
  std::vector<std::byte> out(a.data.payload.begin(), a.data.payload.end());
  for (std::size_t parts = 1; a.prm.last_data_unit != ud::last_unit_yes; ++parts) {
    if (parts > 1000)
      throw client_error(failure::protocol, fmt::format("{}: {} never ends", c.peer(), what));
    a = userdata(c, what, ud_next(a.prm), {}, 0x0A, 0x00);
    out.insert(out.end(), a.data.payload.begin(), a.data.payload.end());
  }
  return out;
}

}  // namespace

std::vector<item_result> read_var(connection& c, std::span<const s7::any_address> items) {
  const auto prm = encoded([&](writer& w) { s7::write_var_job(w, s7::function::read_var, items); });
  const ack a = job(c, "Read Var", prm, {});
  std::vector<item_result> out;
  s7::data_item_iterator it{a.p.data, a.prm.item_count, a.p.origin};
  s7::data_item d;
  while (it.next(d)) out.push_back({d.return_code, {d.data.begin(), d.data.end()}});
  if (out.size() != items.size())
    throw client_error(failure::protocol, fmt::format("{} answered {} items for {}", c.peer(),
                                                      out.size(), items.size()));
  return out;
}

std::vector<std::uint8_t> write_var(connection& c, std::span<const s7::any_address> items,
                                    std::span<const std::vector<std::byte>> data) {
  const auto prm =
      encoded([&](writer& w) { s7::write_var_job(w, s7::function::write_var, items); });
  const auto body = encoded([&](writer& w) {
    for (std::size_t i = 0; i < items.size(); ++i)
      s7::write_data_item(w, s7::return_code::reserved, s7::data_tsize_for(items[i].tsize), data[i],
                          i + 1 == items.size());
  });
  const ack a = job(c, "Write Var", prm, body);
  // Write Var Ack_Data: one return code per item (checked by parse_ack_data).
  std::vector<std::uint8_t> codes;
  codec::reader r{a.p.data, codec::layer::s7_data};
  while (!r.empty()) codes.push_back(r.u8());
  if (codes.size() != items.size())
    throw client_error(failure::protocol, fmt::format("{} answered {} items for {}", c.peer(),
                                                      codes.size(), items.size()));
  return codes;
}

std::string return_code_text(std::uint8_t rc) {
  namespace r = s7::return_code;
  switch (rc) {
    case r::success:
      return "success (0xFF)";
    case r::hardware_error:
      return "hardware fault (0x01)";
    case r::access_denied:
      return "access denied (0x03)";
    case r::invalid_address:
      return "invalid address (0x05)";
    case r::type_not_supported:
      return "data type not supported (0x06)";
    case r::type_inconsistent:
      return "data type inconsistent (0x07)";
    case r::object_does_not_exist:
      return "object does not exist (0x0A)";
    default:
      return fmt::format("return code 0x{:02X}", rc);
  }
}

szl_answer read_szl(connection& c, std::uint16_t id, std::uint16_t index) {
  const auto req = encoded([&](writer& w) { codec::szl::write_request(w, {id, index}); });
  const auto whole = all_parts(c, fmt::format("Read SZL 0x{:04X}", id),
                               ud_request(ud::group::cpu, ud::sub::read_szl), req);
  const auto h = codec::szl::parse_response(whole, whole.data(), true);
  if (!h) malformed(c, "Read SZL", h.err());
  return {
      h->id, h->index, h->record_length, h->record_count, {h->records.begin(), h->records.end()}};
}

std::vector<block_type_count> list_blocks(connection& c) {
  const ud_answer a =
      userdata(c, "List blocks", ud_request(ud::group::block, ud::sub::list_blocks), {});
  std::vector<block_type_count> out;
  ud::block_count bc;
  for (std::size_t i = 0; ud::block_count_at(a.data.payload, i, bc); ++i)
    out.push_back({bc.block_type, bc.count});
  return out;
}

std::vector<ud::block_entry> list_blocks_of_type(connection& c, std::uint8_t type) {
  const auto req = encoded([&](writer& w) { ud::write_block_type_request(w, type); });
  std::vector<std::byte> all;
  try {
    all = all_parts(c, "List blocks of type",
                    ud_request(ud::group::block, ud::sub::list_blocks_of_type), req);
  } catch (const client_error& e) {
    // "No (further) block available": the CPU's answer for a type without blocks.
    if (e.code() == s7::error_code::no_further_block) return {};
    throw;
  }
  std::vector<ud::block_entry> out;
  ud::block_entry be;
  for (std::size_t i = 0; ud::block_entry_at(all, i, be); ++i) out.push_back(be);
  return out;
}

std::vector<std::byte> upload(connection& c, std::uint8_t type, std::uint32_t number) {
  s7::block_control bc;
  const auto name = encoded([&](writer& w) { s7::write_block_filename(w, {type, number, 'P'}); });
  bc.filename.raw = name;
  const auto start =
      encoded([&](writer& w) { s7::write_block_control_job(w, s7::function::start_upload, bc); });
  bc.upload_id = job(c, "Start upload", start, {}).prm.block.upload_id;
  std::vector<std::byte> block;
  for (bool more = true; more;) {
    const auto next =
        encoded([&](writer& w) { s7::write_block_control_job(w, s7::function::upload, bc); });
    const ack a = job(c, "Upload", next, {});
    const auto d = s7::parse_block_data(a.p.data, a.p.origin);
    if (!d) malformed(c, "Upload", d.err());
    block.insert(block.end(), d->payload.begin(), d->payload.end());
    more = (a.prm.block.status & 0x01U) != 0;
    if (block.size() > 16U * 1024U * 1024U)
      throw client_error(failure::protocol, fmt::format("{}: the upload never ends", c.peer()));
  }
  const auto end =
      encoded([&](writer& w) { s7::write_block_control_job(w, s7::function::end_upload, bc); });
  (void)job(c, "End upload", end, {});
  return block;
}

namespace {
constexpr std::pair<std::string_view, std::uint8_t> block_types[] = {
    {"OB", 0x08},  {"DB", 0x0A}, {"SDB", 0x0B}, {"FC", 0x0C},
    {"SFC", 0x0D}, {"FB", 0x0E}, {"SFB", 0x0F},
};
}  // namespace

std::uint8_t block_type_code(std::string_view name) noexcept {
  for (const auto& [n, code] : block_types) {
    bool same = n.size() == name.size();
    for (std::size_t i = 0; same && i < n.size(); ++i)
      same = (name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]) == n[i];
    if (same) return code;
  }
  return 0;
}

std::string_view block_type_name(std::uint8_t type) noexcept {
  for (const auto& [n, code] : block_types)
    if (code == type) return n;
  return {};
}

}  // namespace protos7::client
