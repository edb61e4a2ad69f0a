// One call that decodes and validates a whole S7 PDU: header, then the parameter and data
// blocks as the ROSCTR and function define them. This is what the server, the dump tool, the
// fuzzers and the benchmarks use; the per-layer headers stay usable on their own.
#pragma once

#include "protos7/codec/s7_header.hpp"
#include "protos7/codec/s7_param.hpp"
#include "protos7/codec/userdata.hpp"

namespace protos7::codec::s7 {

struct message {
  pdu p;
  param prm;       // Job / Ack_Data
  ud::message ud;  // Userdata
};

struct decode_options {
  options header{};
  param_options params{};
};

// Decodes into `out` (which the caller may reuse across PDUs; nothing is copied).
// Errors: every error of s7::parse, parse_job, parse_ack_data and ud::parse.
[[nodiscard]] inline error decode(bytes in, message& out, const std::byte* origin = nullptr,
                                  const decode_options& opt = {}) noexcept {
  const auto p = parse(in, origin, opt.header);
  if (!p) return p.err();
  out.p = *p;
  switch (out.p.hdr.type) {
    case rosctr::job:
      return parse_job(out.p, out.prm, opt.params);
    case rosctr::ack_data:
      return parse_ack_data(out.p, out.prm, opt.params);
    case rosctr::userdata: {
      const auto u = ud::parse(out.p);
      if (!u) return u.err();
      out.ud = *u;
      return {};
    }
    case rosctr::ack:
      return {};
  }
  return {};
}

// Same, returning the message by value (convenient where speed does not matter).
[[nodiscard]] inline result<message> decode(bytes in, const std::byte* origin = nullptr,
                                            const decode_options& opt = {}) noexcept {
  message m;
  if (const error e = decode(in, m, origin, opt)) return e;
  return m;
}

}  // namespace protos7::codec::s7
