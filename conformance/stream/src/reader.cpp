#include "protos7/stream/reader.hpp"

#include <unordered_map>

namespace protos7::stream {

struct reader::impl final : capture::stream_sink {
  struct conn {
    std::size_t index = 0;
    std::unique_ptr<connection_walker> walker;  // null: not selected
    std::uint64_t bytes[2] = {0, 0};
  };

  explicit impl(reader_options o) : opt(std::move(o)) {}

  reader_options opt;
  capture::reader cap;
  const capture::capture_file* loaded = nullptr;
  bool loaded_done = false;
  capture::reader_stats loaded_stats;
  sink* out = nullptr;
  std::size_t next_index = 0;
  std::unordered_map<std::size_t, conn> conns;  // open connections by capture id

  void on_open(std::size_t id, const capture::connection& c) override {
    if (opt.port != 0 && !capture::involves_port(c, opt.port)) return;
    conn& k = conns[id];
    k.index = next_index++;
    const std::size_t index = k.index;
    if (!opt.select || opt.select(index)) {
      k.walker = std::make_unique<connection_walker>(
          [this, index](const record_view& r) { out->on_record(index, r); },
          [this, index](std::string n) { out->on_note(index, n); });
    }
    out->on_connection(index, c);
    if (!c.start_seen && k.walker)
      out->on_note(index, "the connection's start (SYN) was not captured");
  }
  void on_data(std::size_t id, const capture::chunk& ch, std::span<const std::byte> b) override {
    const auto it = conns.find(id);
    if (it == conns.end()) return;
    it->second.bytes[ch.side == 0 ? 0 : 1] = ch.end;
    if (it->second.walker) it->second.walker->feed(ch, b);
  }
  void on_note(std::size_t id, const std::string& n) override {
    const auto it = conns.find(id);
    if (it != conns.end() && it->second.walker) out->on_note(it->second.index, n);
  }
  void on_close(std::size_t id, const capture::connection& c) override {
    const auto it = conns.find(id);
    if (it == conns.end()) return;
    connection_end e;
    e.meta = c;
    e.bytes[0] = it->second.bytes[0];
    e.bytes[1] = it->second.bytes[1];
    if (it->second.walker) {
      it->second.walker->finish();
      e.start_captured = it->second.walker->start_captured();
      e.tail_cut[0] = it->second.walker->tail_cut(0);
      e.tail_cut[1] = it->second.walker->tail_cut(1);
    }
    const std::size_t index = it->second.index;
    conns.erase(it);
    out->on_end(index, e);
  }
  void on_warning(const std::string& w) override { out->on_warning(w); }
};

reader::reader(reader_options opt) : impl_(std::make_unique<impl>(std::move(opt))) {}
reader::~reader() = default;

bool reader::open(const std::string& path, capture::load_error& err) {
  return impl_->cap.open(path, err);
}

bool reader::open_memory(std::span<const std::byte> file_bytes, capture::load_error& err) {
  return impl_->cap.open_memory(file_bytes, err);
}

void reader::open_loaded(const capture::capture_file& file) {
  impl_->loaded = &file;
  capture::reader_stats& s = impl_->loaded_stats;
  s.link_type = file.link_type;
  s.frames = file.frames;
  s.tcp_frames = file.tcp_frames;
  s.ignored_frames = file.ignored_frames;
  s.skipped_frames = file.skipped_frames;
}

bool reader::read(sink& out, std::size_t max_frames) {
  impl_->out = &out;
  if (impl_->loaded != nullptr) {
    if (!impl_->loaded_done) capture::emit(*impl_->loaded, *impl_);
    impl_->loaded_done = true;
    return false;
  }
  return impl_->cap.read(*impl_, max_frames);
}

const capture::reader_stats& reader::stats() const noexcept {
  return impl_->loaded != nullptr ? impl_->loaded_stats : impl_->cap.stats();
}

std::size_t reader::connections() const noexcept {
  return impl_->next_index;
}

}  // namespace protos7::stream
