// The capture reader (a pcap/pcapng file read frame by frame into the assembler), load() /
// load_memory() on top of it, and emit() (a loaded capture played back as reader events).

#include "protos7/capture/capture.hpp"

#include <pcap/pcap.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <tuple>

#include "decode.hpp"
#include "reassembly.hpp"

namespace protos7::capture {
namespace {

struct pcap_closer {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using pcap_handle = std::unique_ptr<pcap_t, pcap_closer>;

// "105 (IEEE802_11: 802.11)": the number as stored, then libpcap's name for it if it has one.
std::string link_type_text(int link_type) {
  std::string text = std::to_string(link_type);
  const char* name = pcap_datalink_val_to_name(link_type);
  const char* description = pcap_datalink_val_to_description(link_type);
  if (name != nullptr && description != nullptr) {
    text += std::string(" (") + name + ": " + description + ")";
  } else if (name != nullptr) {
    text += std::string(" (") + name + ")";
  }
  return text;
}

// Forwards the assembler's events to the sink of the current read() call.
class forwarder final : public stream_sink {
 public:
  stream_sink* to = nullptr;
  void on_open(std::size_t id, const connection& c) override { to->on_open(id, c); }
  void on_data(std::size_t id, const chunk& ch, std::span<const std::byte> b) override {
    to->on_data(id, ch, b);
  }
  void on_note(std::size_t id, const std::string& n) override { to->on_note(id, n); }
  void on_close(std::size_t id, const connection& c) override { to->on_close(id, c); }
  void on_warning(const std::string& w) override { to->on_warning(w); }
};

// Builds a capture_file from the events (load()).
class collector final : public stream_sink {
 public:
  explicit collector(capture_file& out) : out_(out) {}
  void on_open(std::size_t, const connection& c) override { out_.connections.push_back(c); }
  void on_data(std::size_t id, const chunk& ch, std::span<const std::byte> b) override {
    connection& c = out_.connections[id];
    std::vector<std::byte>& data = c.sides[ch.side].data;
    data.insert(data.end(), b.begin(), b.end());
    // One chunk per frame and direction while nothing is lost in between (the bytes a frame
    // made contiguous: its own and those of out-of-order segments it released).
    if (!c.chunks.empty() && c.chunks.back().side == ch.side && c.chunks.back().frame == ch.frame &&
        !ch.gap_before) {
      c.chunks.back().end = ch.end;
      return;
    }
    c.chunks.push_back(ch);
  }
  void on_note(std::size_t id, const std::string& n) override {
    out_.connections[id].notes.push_back(n);
  }
  void on_close(std::size_t id, const connection& meta) override {
    connection& c = out_.connections[id];
    c.last_frame = meta.last_frame;
    for (int side = 0; side < 2; ++side) {
      c.sides[side].bytes_lost = meta.sides[side].bytes_lost;
      c.sides[side].fin = meta.sides[side].fin;
      c.sides[side].rst = meta.sides[side].rst;
    }
    // Chunks of bytes that followed a never-filled hole were delivered late; per direction
    // they are already in stream order with non-decreasing frames, so a stable sort by frame
    // interleaves them correctly without reordering either direction.
    std::stable_sort(c.chunks.begin(), c.chunks.end(),
                     [](const chunk& x, const chunk& y) { return x.frame < y.frame; });
  }
  void on_warning(const std::string& w) override { out_.warnings.push_back(w); }

 private:
  capture_file& out_;
};

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

}  // namespace

struct reader::impl {
  explicit impl(const reader_options& o) : asm_(fwd, o.retire_closed) {}
  forwarder fwd;
  detail::assembler asm_;
  pcap_handle p;
  reader_stats st;
  bool done = false;

  bool start(pcap_t* handle, load_error& err) {
    p.reset(handle);
    st.link_type = pcap_datalink(handle);
    if (!detail::link_type_supported(st.link_type)) {
      err.message = "unsupported link type " + link_type_text(st.link_type);
      p.reset();
      return false;
    }
    return true;
  }

  // Reads one record; false at the end of the file.
  bool one() {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(p.get(), &header, &data);
    if (rc == PCAP_ERROR_BREAK) return false;  // end of file
    if (rc != 1) {
      // A record cut off by the end of the file, or a corrupt block: keep what was read.
      st.ended_early = true;
      asm_.warn("capture ends early after frame " + std::to_string(st.frames) + ": " +
                (rc == 0 ? "no packet" : pcap_geterr(p.get())));
      return false;
    }
    const std::uint64_t frame = ++st.frames;
    // The file is opened with nanosecond precision, so tv_usec holds nanoseconds.
    const double time =
        static_cast<double>(header->ts.tv_sec) + static_cast<double>(header->ts.tv_usec) * 1e-9;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                                           header->caplen);
    const detail::decode_result r = detail::decode_frame(st.link_type, bytes, header->len);
    switch (r.kind) {
      case detail::frame_kind::not_tcp:
        ++st.ignored_frames;
        break;
      case detail::frame_kind::skipped:
        ++st.skipped_frames;
        asm_.warn("frame " + std::to_string(frame) + " skipped: " + r.reason);
        break;
      case detail::frame_kind::tcp:
        if (asm_.add(r.segment, frame, time)) {
          ++st.tcp_frames;
        } else {
          ++st.skipped_frames;
        }
        break;
    }
    return true;
  }
};

reader::reader(const reader_options& opt) : impl_(new impl(opt)) {}
reader::~reader() {
  delete impl_;
}

bool reader::open(const std::string& path, load_error& err) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    err.message = "cannot open " + path + ": " + errbuf;
    return false;
  }
  impl_->st.file_bytes = file_size(path);
  return impl_->start(p, err);
}

bool reader::open_memory(std::span<const std::byte> file_bytes, load_error& err) {
  if (file_bytes.empty()) {
    // fmemopen() rejects a zero-length buffer.
    err.message = "cannot open <memory>: empty buffer";
    return false;
  }
  // fmemopen() takes a non-const pointer because it can open for writing; "rb" never writes.
  FILE* f = fmemopen(const_cast<void*>(static_cast<const void*>(file_bytes.data())),
                     file_bytes.size(), "rb");
  if (f == nullptr) {
    err.message = std::string("cannot open <memory>: ") + std::strerror(errno);
    return false;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // On success the pcap_t owns `f` (pcap_close() closes it); on failure it is still ours.
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    std::fclose(f);
    err.message = std::string("cannot open <memory>: ") + errbuf;
    return false;
  }
  impl_->st.file_bytes = file_bytes.size();
  return impl_->start(p, err);
}

bool reader::read(stream_sink& sink, std::size_t max_frames) {
  if (impl_->done || !impl_->p) return false;
  impl_->fwd.to = &sink;
  for (std::size_t i = 0; i < max_frames; ++i) {
    if (impl_->one()) continue;
    impl_->asm_.finish();
    impl_->done = true;
    break;
  }
  if (std::FILE* f = pcap_file(impl_->p.get()); f != nullptr) {
    const long at = std::ftell(f);
    if (at >= 0) impl_->st.file_offset = static_cast<std::uint64_t>(at);
  }
  if (impl_->done) impl_->st.file_offset = impl_->st.file_bytes;
  return !impl_->done;
}

const reader_stats& reader::stats() const noexcept {
  return impl_->st;
}
std::size_t reader::open_connections() const noexcept {
  return impl_->asm_.open_connections();
}

namespace {

bool read_all(reader& r, capture_file& out) {
  collector c{out};
  while (r.read(c, 4096)) {
  }
  const reader_stats& s = r.stats();
  out.link_type = s.link_type;
  out.frames = s.frames;
  out.tcp_frames = s.tcp_frames;
  out.ignored_frames = s.ignored_frames;
  out.skipped_frames = s.skipped_frames;
  out.ended_early = s.ended_early;
  return true;
}

}  // namespace

bool load(const std::string& path, capture_file& out, load_error& err) {
  out = capture_file{};
  out.path = path;
  reader r{reader_options{.retire_closed = false}};
  if (!r.open(path, err)) return false;
  return read_all(r, out);
}

bool load_memory(std::span<const std::byte> file_bytes, capture_file& out, load_error& err) {
  out = capture_file{};
  out.path = "<memory>";
  reader r{reader_options{.retire_closed = false}};
  if (!r.open_memory(file_bytes, err)) return false;
  return read_all(r, out);
}

bool involves_port(const connection& c, std::uint16_t port) {
  return c.client.port == port || c.server.port == port;
}

namespace {

// A connection without its bytes, chunks and notes (what the reader's events carry).
connection meta_of(const connection& c) {
  connection meta;
  meta.client = c.client;
  meta.server = c.server;
  meta.start_seen = c.start_seen;
  meta.first_frame = c.first_frame;
  meta.last_frame = c.last_frame;
  for (int side = 0; side < 2; ++side) {
    meta.sides[side].bytes_lost = c.sides[side].bytes_lost;
    meta.sides[side].fin = c.sides[side].fin;
    meta.sides[side].rst = c.sides[side].rst;
  }
  return meta;
}

}  // namespace

void emit(const capture_file& file, stream_sink& sink) {
  for (const std::string& w : file.warnings) sink.on_warning(w);
  // (frame, kind, connection, chunk): kind 0 opens, 1 delivers a chunk, 2 closes.
  std::vector<std::tuple<std::uint64_t, int, std::size_t, std::size_t>> events;
  for (std::size_t id = 0; id < file.connections.size(); ++id) {
    const connection& c = file.connections[id];
    events.emplace_back(c.first_frame, 0, id, 0);
    for (std::size_t k = 0; k < c.chunks.size(); ++k)
      events.emplace_back(c.chunks[k].frame, 1, id, k);
    events.emplace_back(std::max(c.last_frame, c.first_frame), 2, id, 0);
  }
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a), std::get<2>(a)) <
           std::tie(std::get<0>(b), std::get<1>(b), std::get<2>(b));
  });
  for (const auto& [frame, kind, id, k] : events) {
    const connection& c = file.connections[id];
    if (kind == 0) {
      sink.on_open(id, meta_of(c));
    } else if (kind == 1) {
      const chunk& ch = c.chunks[k];
      const auto& data = c.sides[ch.side].data;
      sink.on_data(id, ch, std::span<const std::byte>(data).subspan(ch.begin, ch.end - ch.begin));
    } else {
      for (const std::string& n : c.notes) sink.on_note(id, n);
      const connection meta = meta_of(c);
      sink.on_close(id, meta);
    }
  }
}

}  // namespace protos7::capture
