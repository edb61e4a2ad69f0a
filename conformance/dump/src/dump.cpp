#include "protos7/dump/dump.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_map>

#include "protos7/capture/capture.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/dump/fields.hpp"
#include "protos7/stream/reader.hpp"

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
  if (std::holds_alternative<std::int64_t>(f.value))
    return std::to_string(std::get<std::int64_t>(f.value));
  return "\"" + std::get<std::string>(f.value) + "\"";
}

// The text or JSON lines of one record.
void print_record(const stream::record_view& r, std::size_t conn_index, fragment_tracker& frags,
                  bool as_json, std::FILE* out) {
  field_list fl;
  describe_tpkt_cotp(r.tpkt, r.cotp_ok ? &r.cotp : nullptr, fl);
  codec::error e = r.err;
  if (r.has_s7) {
    // A PDU inside one frame is decoded in place, so its error offsets count from the frame.
    const bool in_frame = r.s7_offset_in_frame != 0;
    const std::span<const std::byte> pdu = in_frame ? r.tpkt.subspan(r.s7_offset_in_frame) : r.s7;
    const codec::error se =
        describe_s7(pdu, frags.classify(pdu), fl, in_frame ? r.tpkt.data() : nullptr);
    if (se) e = se;
  }
  if (as_json) {
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
    return;
  }
  const char* dir = r.side == 0 ? "C->S" : "S->C";
  std::string what;
  if (!r.cotp_ok) {
    what = "TPKT/COTP malformed";
  } else if (r.has_s7) {
    what = summarize_s7(r.s7);
  } else {
    what = fmt::format("COTP {}", [&] {
      switch (r.cotp.type) {
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
          return r.cotp.eot ? "DT" : "DT (segment, EOT=0)";
        default:
          return "TPDU";
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

// Prints the records of one capture as they are read. Text: a connection's header when it first
// shows up, "# connection N" again whenever the records switch to another connection.
class printer final : public stream::sink {
 public:
  printer(const dump_options& opt, const std::string& path, std::size_t base, std::FILE* out,
          std::FILE* err)
      : opt_(opt), path_(path), base_(base), out_(out), err_(err) {}
  void on_connection(std::size_t index, const capture::connection& c) override {
    if (!opt_.shard.takes(base_ + index)) return;
    ++shown_;
    conns_[index] = std::make_unique<fragment_tracker>();
    if (opt_.json) return;
    fmt::print(out_, "# connection {}: {}:{} -> {}:{}\n", index, c.client.address, c.client.port,
               c.server.address, c.server.port);
    current_ = index;
  }
  void on_record(std::size_t index, const stream::record_view& r) override {
    switch_to(index);
    ++records_;
    print_record(r, index, *conns_.at(index), opt_.json, out_);
  }
  void on_note(std::size_t index, const std::string& n) override {
    if (opt_.json) return;
    switch_to(index);
    fmt::print(out_, "#   note: {}\n", n);
  }
  void on_end(std::size_t index, const stream::connection_end&) override { conns_.erase(index); }
  void on_warning(const std::string& w) override {
    fmt::print(err_, "{}: warning: {}\n", path_, w);
  }
  [[nodiscard]] std::size_t shown() const { return shown_; }
  [[nodiscard]] std::uint64_t records() const { return records_; }

 private:
  void switch_to(std::size_t index) {
    if (opt_.json || index == current_) return;
    current_ = index;
    fmt::print(out_, "# connection {}\n", index);
  }
  const dump_options& opt_;
  const std::string& path_;
  std::size_t base_;
  std::FILE* out_;
  std::FILE* err_;
  std::size_t current_ = SIZE_MAX;
  std::size_t shown_ = 0;
  std::uint64_t records_ = 0;
  // The split-answer tracker of each open connection.
  std::unordered_map<std::size_t, std::unique_ptr<fragment_tracker>> conns_;
};

std::uint64_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

}  // namespace

int run(const std::vector<std::string>& captures, const dump_options& opt, std::FILE* out,
        std::FILE* err) {
  int status = 0;
  stream::progress bar{err, "protos7 dump", opt.progress};
  std::uint64_t total = 0;
  for (const std::string& path : captures) total += file_bytes(path);
  bar.set_total_bytes(total);
  std::uint64_t done = 0;
  std::uint64_t records = 0;
  std::size_t base = 0;  // connections of the earlier captures (--shard counts over all)
  for (const std::string& path : captures) {
    stream::reader rd{
        stream::reader_options{opt.port, [&](std::size_t i) { return opt.shard.takes(base + i); }}};
    capture::load_error lerr;
    if (!rd.open(path, lerr)) {
      fmt::print(err, "protos7 dump: {}\n", lerr.message);
      status = 1;
      continue;
    }
    if (!opt.json) fmt::print(out, "# {}\n", path);
    printer p{opt, path, base, out, err};
    while (rd.read(p, 1024)) {
      if (!bar.due()) continue;
      bar.set_done_bytes(done + rd.stats().file_offset);
      bar.print(fmt::format("{} frames, {} records", stream::progress::grouped(rd.stats().frames),
                            stream::progress::grouped(records + p.records())),
                rd.stats().frames, "frames");
    }
    done += rd.stats().file_bytes;
    records += p.records();
    if (!opt.json)
      fmt::print(out, "# {}: {} frames, {} S7 connection(s){}\n", path, rd.stats().frames,
                 rd.connections(),
                 opt.shard.all()
                     ? std::string()
                     : fmt::format(" ({} of them in shard {})", p.shown(), opt.shard.to_string()));
    base += rd.connections();
  }
  bar.finish();
  return status;
}

}  // namespace protos7::dump
