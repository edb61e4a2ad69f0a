// A capture file streamed into PDU records: the capture reader (protos7::capture::reader) with
// a connection_walker per S7 connection, handing each record to a sink as a view valid for the
// call. Memory is bounded by the connections open at once, not by the length of the capture.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "protos7/capture/capture.hpp"
#include "protos7/stream/stream.hpp"

namespace protos7::stream {

// What a streamed S7 connection looked like when it ended.
struct connection_end {
  capture::connection meta;  // endpoints, first/last frame, fin/rst, bytes lost (no data)
  bool start_captured = true;
  std::uint64_t bytes[2] = {0, 0};  // payload bytes of each side (holes removed)
  // The side's last bytes do not form a whole TPKT frame (the capture ends mid-frame).
  bool tail_cut[2] = {false, false};
};

// Receives the S7 connections of a capture as it is read. `index` numbers the connections that
// involve the port in order of their first frame, as extract() and `protos7 dump` number them.
class sink {
 public:
  virtual ~sink() = default;
  virtual void on_connection(std::size_t index, const capture::connection& meta) = 0;
  virtual void on_record(std::size_t index, const record_view& r) = 0;
  virtual void on_note(std::size_t index, const std::string& note) = 0;
  virtual void on_end(std::size_t index, const connection_end& e) = 0;
  virtual void on_warning(const std::string& warning) = 0;
};

struct reader_options {
  std::uint16_t port = 102;
  // Which connections (by index) get records; the others are reassembled (their indexes count)
  // but only announced (on_connection, on_end). Empty: all. Used by --shard.
  std::function<bool(std::size_t index)> select;
};

// A capture file streamed into a sink, connection by connection as the frames come.
class reader {
 public:
  explicit reader(reader_options opt = {});
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  bool open(const std::string& path, capture::load_error& err);
  bool open_memory(std::span<const std::byte> file_bytes, capture::load_error& err);
  // A loaded capture (which must outlive the reader), played back (capture::emit) at the first
  // read(): for tests and captures built in memory.
  void open_loaded(const capture::capture_file& file);
  // Reads up to `max_frames` frames; false once the capture is exhausted (every connection
  // ended).
  bool read(sink& out, std::size_t max_frames);
  [[nodiscard]] const capture::reader_stats& stats() const noexcept;
  [[nodiscard]] std::size_t connections() const noexcept;  // S7 connections seen so far

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace protos7::stream
