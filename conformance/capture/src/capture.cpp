// load() / load_memory(): drive libpcap over the file and feed every TCP segment to the
// assembler.

#include "protos7/capture/capture.hpp"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

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

// Reads every record of an opened capture into `out` (whose path is already set).
bool read_all(pcap_t* p, capture_file& out, load_error& err) {
  out.link_type = pcap_datalink(p);
  if (!detail::link_type_supported(out.link_type)) {
    err.message = "unsupported link type " + link_type_text(out.link_type);
    return false;
  }
  detail::assembler assembler(out);
  for (;;) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(p, &header, &data);
    if (rc == PCAP_ERROR_BREAK) break;  // end of file
    if (rc != 1) {
      // A record cut off by the end of the file, or a corrupt block: keep what was read.
      out.ended_early = true;
      detail::add_capped(out.warnings, "capture ends early after frame " +
                                           std::to_string(out.frames) + ": " +
                                           (rc == 0 ? "no packet" : pcap_geterr(p)));
      break;
    }
    const std::uint64_t frame = ++out.frames;
    // The file is opened with nanosecond precision, so tv_usec holds nanoseconds.
    const double time =
        static_cast<double>(header->ts.tv_sec) + static_cast<double>(header->ts.tv_usec) * 1e-9;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                                           header->caplen);
    const detail::decode_result r = detail::decode_frame(out.link_type, bytes, header->len);
    switch (r.kind) {
      case detail::frame_kind::not_tcp: ++out.ignored_frames; break;
      case detail::frame_kind::skipped:
        ++out.skipped_frames;
        detail::add_capped(out.warnings,
                           "frame " + std::to_string(frame) + " skipped: " + r.reason);
        break;
      case detail::frame_kind::tcp:
        if (assembler.add(r.segment, frame, time)) {
          ++out.tcp_frames;
        } else {
          ++out.skipped_frames;
        }
        break;
    }
  }
  assembler.finish();
  return true;
}

}  // namespace

bool load(const std::string& path, capture_file& out, load_error& err) {
  out = capture_file{};
  out.path = path;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  const pcap_handle p(
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf));
  if (!p) {
    err.message = "cannot open " + path + ": " + errbuf;
    return false;
  }
  return read_all(p.get(), out, err);
}

bool load_memory(std::span<const std::byte> file_bytes, capture_file& out, load_error& err) {
  out = capture_file{};
  out.path = "<memory>";
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
  const pcap_handle p(
      pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf));
  if (!p) {
    std::fclose(f);
    err.message = std::string("cannot open <memory>: ") + errbuf;
    return false;
  }
  return read_all(p.get(), out, err);
}

bool involves_port(const connection& c, std::uint16_t port) {
  return c.client.port == port || c.server.port == port;
}

}  // namespace protos7::capture
