// Codec throughput: decode + validate, and encode, per PDU.
//
//   ./build-release/bench/codec_bench --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
//
// Inputs: every TPKT frame of s7comm_varservice_libnodavedemo_bench.pcap (10 k PDUs of a real
// libnodave session), and synthetic Read Var jobs of 1 and 20 S7ANY items.
#include <benchmark/benchmark.h>

#include <array>
#include <vector>

#include "protos7/codec/cotp.hpp"
#include "protos7/codec/s7.hpp"
#include "protos7/codec/tpkt.hpp"
#include "protos7/stream/corpus.hpp"

namespace {

using namespace protos7::codec;

// TPKT + COTP DT + S7 Read Var job with `n` DB items.
std::vector<std::byte> read_var_job(std::size_t n) {
  std::vector<s7::any_address> items;
  for (std::size_t i = 0; i < n; ++i)
    items.push_back({static_cast<std::uint8_t>(s7::transport_size::byte), 4, 1, 0x84,
                     static_cast<std::uint32_t>(i * 4 * 8)});
  std::array<std::byte, 1024> param{};
  writer pw{param};
  s7::write_var_job(pw, s7::function::read_var, items);
  std::vector<std::byte> out(4 + 3 + 10 + pw.size());
  writer w{out};
  tpkt::write_header(w, 3 + 10 + pw.size());
  cotp::write_dt_header(w, true);
  s7::header h;
  h.type = s7::rosctr::job;
  h.pdu_ref = 7;
  h.param_length = static_cast<std::uint16_t>(pw.size());
  s7::write_header(w, h);
  w.raw(std::span<const std::byte>(param.data(), pw.size()));
  return out;
}

// Decode and validate one TPKT frame down to every item; returns a value to keep it alive.
std::size_t decode_frame(std::span<const std::byte> frame) {
  const auto t = tpkt::parse(frame);
  if (!t) return 0;
  const auto tp = cotp::parse(t->payload, frame.data());
  if (!tp || tp->type != cotp::tpdu_type::dt || tp->user_data.empty()) return 1;
  static s7::message msg;  // reused, as the server reuses its per-connection message
  if (s7::decode(tp->user_data, msg, frame.data())) return 2;
  const s7::message* m = &msg;
  std::size_t n = 3;
  if (m->p.hdr.type == s7::rosctr::job) {
    s7::var_spec_iterator it = m->prm.var_specs(m->p.origin);
    s7::var_spec v;
    while (it.next(v)) n += v.any.count;
  } else if (m->prm.fn == 0x04) {
    s7::data_item_iterator it{m->p.data, m->prm.item_count, m->p.origin};
    s7::data_item d;
    while (it.next(d)) n += d.data.size();
  }
  return n;
}

void BM_decode_read_var_job(benchmark::State& state) {
  const auto job = read_var_job(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(decode_frame(job));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_decode_read_var_job)->Arg(1)->Arg(20);

void BM_encode_read_var_job(benchmark::State& state) {
  std::vector<s7::any_address> items;
  for (std::int64_t i = 0; i < state.range(0); ++i)
    items.push_back({2, 4, 1, 0x84, static_cast<std::uint32_t>(i * 32)});
  std::array<std::byte, 1024> out{};
  for (auto _ : state) {
    writer w{out};
    tpkt::write_header(w, 3 + 10 + 2 + 12 * items.size());
    cotp::write_dt_header(w, true);
    s7::header h;
    h.pdu_ref = 7;
    h.param_length = static_cast<std::uint16_t>(2 + 12 * items.size());
    s7::write_header(w, h);
    s7::write_var_job(w, s7::function::read_var, items);
    benchmark::DoNotOptimize(w.finish());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_encode_read_var_job)->Arg(1)->Arg(20);

const std::vector<protos7::stream::sample_frame>& bench_frames() {
  static const std::vector<protos7::stream::sample_frame> frames = [] {
    std::vector<protos7::stream::sample_frame> f;
    std::string err;
    protos7::stream::load_frames(protos7::stream::pcap_dir(PROTOS7_DEFAULT_PCAP_DIR),
                                 {"s7comm_varservice_libnodavedemo_bench.pcap"}, f, err);
    return f;
  }();
  return frames;
}

// Per PDU, over the whole libnodave bench capture (Setup, Read Var jobs and responses).
void BM_decode_bench_capture(benchmark::State& state) {
  const auto& frames = bench_frames();
  if (frames.empty()) {
    state.SkipWithError("capture not found: set PROTOS7_PCAP_DIR");
    return;
  }
  for (auto _ : state)
    for (const auto& f : frames) benchmark::DoNotOptimize(decode_frame(f.tpkt));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(frames.size()));
}
BENCHMARK(BM_decode_bench_capture);

// Re-encoding every S7 PDU of the capture (header + blocks) into a buffer, per PDU.
void BM_encode_bench_capture(benchmark::State& state) {
  const auto& frames = bench_frames();
  if (frames.empty()) {
    state.SkipWithError("capture not found: set PROTOS7_PCAP_DIR");
    return;
  }
  std::vector<s7::pdu> pdus;
  for (const auto& f : frames) {
    const auto t = tpkt::parse(f.tpkt);
    if (!t) continue;
    const auto tp = cotp::parse(t->payload);
    if (!tp || tp->user_data.empty()) continue;
    const auto p = s7::parse(tp->user_data);
    if (p) pdus.push_back(*p);
  }
  std::array<std::byte, 2048> out{};
  for (auto _ : state)
    for (const s7::pdu& p : pdus) benchmark::DoNotOptimize(s7::encode(p.hdr, p.param, p.data, out));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(pdus.size()));
}
BENCHMARK(BM_encode_bench_capture);

}  // namespace

BENCHMARK_MAIN();
