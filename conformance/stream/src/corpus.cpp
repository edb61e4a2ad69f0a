#include "protos7/stream/corpus.hpp"

#include <cstdlib>

#include "protos7/capture/capture.hpp"
#include "protos7/stream/stream.hpp"

namespace protos7::stream {

std::string pcap_dir(const std::string& fallback) {
  const char* env = std::getenv("PROTOS7_PCAP_DIR");
  return (env != nullptr && *env != '\0') ? std::string(env) : fallback;
}

const std::vector<std::string>& wireshark_samples() {
  static const std::vector<std::string> files = {
      "s7comm_downloading_block_db1.pcap",    "s7comm_program_blocklist_onlineview.pcap",
      "s7comm_reading_plc_status.pcap",       "s7comm_reading_setting_plc_time.pcap",
      "s7comm_varservice_libnodavedemo.pcap", "s7comm_varservice_libnodavedemo_bench.pcap"};
  return files;
}

bool load_frames(const std::string& dir, const std::vector<std::string>& files,
                 std::vector<sample_frame>& out, std::string& error) {
  for (const std::string& f : files) {
    capture::capture_file file;
    capture::load_error err;
    if (!capture::load(dir + "/" + f, file, err)) {
      error = err.message;
      return false;
    }
    for (const connection_records& cr : extract(file)) {
      for (const record& r : cr.records) out.push_back({f, r.tpkt});
    }
  }
  return true;
}

}  // namespace protos7::stream
