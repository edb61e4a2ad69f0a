#include "dump.hpp"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "fields.hpp"
#include "protos7/capture/capture.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/stream/stream.hpp"

namespace protos7::dump {

namespace {

using json = nlohmann::ordered_json;

void to_json(const field_list& fl, json& o) {
  // A name seen once is a scalar; seen again, it becomes an array in tree order.
  for (const field& f : fl.fields()) {
    if (f.text_only) continue;
    json v = std::holds_alternative<std::int64_t>(f.value) ? json(std::get<std::int64_t>(f.value))
                                                           : json(std::get<std::string>(f.value));
    auto it = o.find(f.name);
    if (it == o.end()) {
      o[f.name] = std::move(v);
      continue;
    }
    if (!it->is_array()) {
      json arr = json::array();
      arr.push_back(std::move(*it));
      *it = std::move(arr);
    }
    it->push_back(std::move(v));
  }
}

std::string text_value(const field& f) {
  if (std::holds_alternative<std::int64_t>(f.value)) return std::to_string(std::get<std::int64_t>(f.value));
  return "\"" + std::get<std::string>(f.value) + "\"";
}

}  // namespace

int run(const std::vector<std::string>& captures, const dump_options& opt, std::FILE* out, std::FILE* err) {
  int status = 0;
  for (const std::string& path : captures) {
    capture::capture_file file;
    capture::load_error lerr;
    if (!capture::load(path, file, lerr)) {
      fmt::print(err, "protos7 dump: {}\n", lerr.message);
      status = 1;
      continue;
    }
    for (const std::string& w : file.warnings) fmt::print(err, "{}: warning: {}\n", path, w);
    stream::options so;
    so.port = opt.port;
    const auto conns = stream::extract(file, so);
    if (!opt.json) fmt::print(out, "# {}: {} frames, {} S7 connection(s)\n", path, file.frames, conns.size());
    std::size_t conn_index = 0;
    for (const stream::connection_records& cr : conns) {
      const capture::connection& c = *cr.conn;
      if (!opt.json) {
        fmt::print(out, "# connection {}: {}:{} -> {}:{}\n", conn_index, c.client.address, c.client.port,
                   c.server.address, c.server.port);
        for (const std::string& n : cr.notes) fmt::print(out, "#   note: {}\n", n);
      }
      fragment_tracker frags;
      for (const stream::record& r : cr.records) {
        field_list fl;
        describe_tpkt_cotp(r.tpkt, r.cotp_ok ? &r.cotp : nullptr, fl);
        codec::error e = r.err;
        if (r.has_s7) {
          // A PDU inside one frame is decoded in place, so its error offsets count from the frame.
          const bool in_frame = r.s7_offset_in_frame != 0;
          const std::span<const std::byte> pdu =
              in_frame ? std::span<const std::byte>(r.tpkt).subspan(r.s7_offset_in_frame) : std::span<const std::byte>(r.s7);
          const codec::error se =
              describe_s7(pdu, frags.classify(pdu), fl, in_frame ? r.tpkt.data() : nullptr);
          if (se) e = se;
        }
        if (opt.json) {
          json o = json::object();
          o["frame.number"] = r.frame;
          o["protos7.connection"] = conn_index;
          o["protos7.direction"] = r.side == 0 ? "client" : "server";
          to_json(fl, o);
          if (e) {
            o["protos7.error"] = {{"code", std::string(codec::to_string(e.code))},
                                  {"layer", std::string(codec::to_string(e.where))},
                                  {"offset", e.offset}};
          }
          fmt::print(out, "{}\n", o.dump());
        } else {
          const char* dir = r.side == 0 ? "C->S" : "S->C";
          std::string what;
          if (!r.cotp_ok) {
            what = "TPKT/COTP malformed";
          } else if (r.has_s7) {
            what = summarize_s7(r.s7);
          } else {
            what = fmt::format("COTP {}", [&] {
              switch (r.cotp.type) {
                case codec::cotp::tpdu_type::cr: return "CR";
                case codec::cotp::tpdu_type::cc: return "CC";
                case codec::cotp::tpdu_type::dr: return "DR";
                case codec::cotp::tpdu_type::dc: return "DC";
                case codec::cotp::tpdu_type::er: return "ER";
                case codec::cotp::tpdu_type::dt: return r.cotp.eot ? "DT" : "DT (segment, EOT=0)";
                default: return "TPDU";
              }
            }());
          }
          fmt::print(out, "frame {:>6} {} {}\n", r.frame, dir, what);
          for (const field& f : fl.fields())
            fmt::print(out, "    {} = {}\n", f.name,
                       f.text_only ? std::get<std::string>(f.value) : text_value(f));
          if (e) {
            fmt::print(out, "    ERROR {} (layer {}, offset {})\n", codec::to_string(e.code),
                       codec::to_string(e.where), e.offset);
          }
        }
      }
      ++conn_index;
    }
  }
  return status;
}

}  // namespace protos7::dump
