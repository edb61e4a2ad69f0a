// protos7::learn - derives a PLC profile (docs/PROFILE.md) from captures of a real CPU's answers.
//
//   protos7 learn CAPTURE... -o PROFILE
//
// Every S7 connection of every capture is decoded (protos7::capture + protos7::stream, the same
// reassembly `protos7 dump` and `protos7 replay` use), each request is paired with the CPU's
// answer, and the profile is filled from the answers:
//
//   what                               from
//   limits.pdu_size, max_amq           Setup Communication Ack_Data (largest granted); the PDU
//                                      and connection limit of SZL 0x0131 index 1
//   identity, SZL records              every Read SZL answer (split answers reassembled), by
//                                      (SZL-ID, index); full lists 0x00nn and headers 0x0Fnn
//                                      answer any index; identity strings from 0x0011 / 0x001C
//   protection, mode selector          SZL 0x0132 index 4; operating mode: SZL 0x0424
//   clock                              Read clock answers against the capture's time stamps
//                                      (time_base utc + offset); else SZL 0x0424's time stamp
//   blocks                             List blocks (counts), List blocks of type (numbers, flags,
//                                      language, the CPU's order), Get block info
//   dbs, memory                        the DBs listed, described or accessed; the bytes of Read
//                                      Var answers and of acknowledged Write Var requests
//
// The profile is the CPU's state at the start of the capture: a block a client downloads during
// the capture (Request download ... PI-Service _INSE) is not in it, and what the capture shows of
// it afterwards is left out; memory keeps the first value each byte was seen with (a byte a client
// wrote before anyone read it is not known). When the same request gets different answers
// (clock time stamps, bytes the PLC's program changes, LED states) the first answer is kept and
// a note says where it varies. What no answer shows is not invented, except where the profile
// needs a value: block numbers of a type whose count was listed but not its blocks (placeholders,
// noted), DB sizes never seen (2 bytes, noted), a password for protection level 2/3 (noted).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "protos7/capture/capture.hpp"
#include "protos7/server/profile.hpp"
#include "protos7/stream/progress.hpp"

namespace protos7::learn {

struct options {
  std::uint16_t port = 102;  // TCP port of the S7 connections in the captures (0: every one)
  std::string name;          // profile name; default "learned from <first capture>"
  // learn_files(): a progress line on stderr (the captures are read as streams: memory is bounded
  // by the open connections and by what is learned, the PLC's memory, not by the captures' size).
  stream::progress::mode progress = stream::progress::mode::off;
  // run_cli: learn from a capture that ends in the middle of a record (otherwise an error).
  bool allow_truncated = false;
};

struct learned {
  server::plc_profile profile;
  // What was learned from where, what varies, what could not be learned. One line each.
  std::vector<std::string> notes;
  // Captures that could not be read at all ("path: why").
  std::vector<std::string> errors;
  // Captures that end in the middle of a record ("path: the loader's warning"): what followed is
  // not in the profile.
  std::vector<std::string> truncated;
  // Where each profile entry came from ("s7comm_reading_plc_status.pcap frame 59"), keyed
  // "szl:0x0011:any", "szl:0x0131:0x0001", "block:SFC:0", "db:1", "memory:M:-:0" / "memory:DB:1:0".
  std::map<std::string, std::string> sources;
  // Bytes the PLC's program changed between client accesses (area name, DB, offset), each with
  // the number of different values seen. Kept at their first value in the profile.
  std::vector<std::string> volatile_memory;
  std::size_t captures = 0;     // captures read
  std::size_t connections = 0;  // S7 connections decoded
  std::size_t answers = 0;      // answers of the CPU paired with their requests
};

// Learns from capture files. Never throws on bad input: unreadable files are listed in `errors`.
[[nodiscard]] learned learn_files(const std::vector<std::string>& paths, const options& opt = {});
// Same, from captures already loaded (tests).
[[nodiscard]] learned learn_loaded(const std::vector<const capture::capture_file*>& files,
                                   const options& opt = {});

// The profile as JSON (server::profile_to_json) with each entry's "source" and the notes as the
// top-level "comment". parse_profile() reads it back.
[[nodiscard]] std::string to_json(const learned& l);

// `protos7 learn CAPTURE... -o PROFILE`: writes the profile (to stdout when `output` is "-"),
// prints a summary and the notes to `err`. Exit status (exit_codes.hpp): 0; 65 (data error) when
// a capture cannot be read, ends in the middle of a record (unless opt.allow_truncated) or holds
// no answer of a CPU, and nothing is written then; 73 when the output cannot be written; 70 when
// the learned profile does not load back (a bug).
int run_cli(const std::vector<std::string>& captures, const std::string& output, const options& opt,
            std::FILE* out, std::FILE* err);

}  // namespace protos7::learn
