// `protos7 dump`: every TPKT/COTP/S7 PDU of a capture, decoded by the codec.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "protos7/stream/progress.hpp"
#include "protos7/stream/shard.hpp"

namespace protos7::dump {

struct dump_options {
  bool json = false;  // one JSON object per PDU (Wireshark field names) instead of text
  std::uint16_t port = 102;
  stream::shard shard;  // --shard I/N: only the connections of that share
  stream::progress::mode progress = stream::progress::mode::off;
};

// Dumps each capture to `out` as it is read (records in capture order, every connection
// interleaved as the frames come, like tshark; memory does not grow with the capture); problems
// go to `err`. Returns 0 when every capture could be read, 1 when any could not (the others are
// still dumped). Malformed PDUs are printed with their error and do not change the exit status:
// they are what the tool is for.
int run(const std::vector<std::string>& captures, const dump_options& opt, std::FILE* out,
        std::FILE* err);

}  // namespace protos7::dump
