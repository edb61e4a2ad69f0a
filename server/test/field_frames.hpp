// The S7 PDUs of a field capture by frame number, read at run time from $PROTOS7_FIELD_PCAP_DIR
// (../shared/pcaps/field by default; never copied into the project). Tests use them as the
// requests to send and the answers and pushes to expect, byte for byte.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "protos7/capture/capture.hpp"
#include "protos7/stream/stream.hpp"

namespace p7test {

// frame number -> S7 PDU (the first PDU a frame completes).
using field_pdus = std::map<std::uint64_t, std::vector<std::byte>>;

inline std::string field_capture_path(const std::string& name) {
  const char* env = std::getenv("PROTOS7_FIELD_PCAP_DIR");
  return std::string(env != nullptr ? env : PROTOS7_DEFAULT_FIELD_PCAP_DIR) + "/" + name;
}

// The capture's connections with their S7 records. False (with the reason) when the capture is
// missing or unreadable: the test skips itself.
inline bool load_field_connections(const std::string& name,
                                   std::vector<protos7::stream::connection_records>& out,
                                   std::string& why) {
  const std::string path = field_capture_path(name);
  if (!std::filesystem::exists(path)) {
    why = path + " not found (set PROTOS7_FIELD_PCAP_DIR to the field captures)";
    return false;
  }
  protos7::capture::capture_file file;
  protos7::capture::load_error err;
  if (!protos7::capture::load(path, file, err)) {
    why = err.message;
    return false;
  }
  out = protos7::stream::extract(file);
  return true;
}

// The capture's S7 PDUs by frame number (the first PDU a frame completes).
inline bool load_field_pdus(const std::string& name, field_pdus& out, std::string& why) {
  std::vector<protos7::stream::connection_records> conns;
  if (!load_field_connections(name, conns, why)) return false;
  for (const protos7::stream::connection_records& c : conns)
    for (const protos7::stream::record& r : c.records)
      if (r.has_s7) out.emplace(r.frame, r.s7);
  return true;
}

}  // namespace p7test
