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
  param prm;        // Job / Ack_Data
  ud::message ud;   // Userdata
};

struct decode_options {
  options header{};
  param_options params{};
};

// Errors: every error of s7::parse, parse_job, parse_ack_data and ud::parse.
[[nodiscard]] inline result<message> decode(bytes in, const std::byte* origin = nullptr,
                                            const decode_options& opt = {}) noexcept {
  const auto p = parse(in, origin, opt.header);
  if (!p) return p.err();
  message m;
  m.p = *p;
  switch (m.p.hdr.type) {
    case rosctr::job: {
      const auto prm = parse_job(m.p, opt.params);
      if (!prm) return prm.err();
      m.prm = *prm;
      break;
    }
    case rosctr::ack_data: {
      const auto prm = parse_ack_data(m.p, opt.params);
      if (!prm) return prm.err();
      m.prm = *prm;
      break;
    }
    case rosctr::userdata: {
      const auto u = ud::parse(m.p);
      if (!u) return u.err();
      m.ud = *u;
      break;
    }
    case rosctr::ack:
      break;
  }
  return m;
}

}  // namespace protos7::codec::s7
