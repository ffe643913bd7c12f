// Micro-benchmarks of the WebSocket frame layer (transport/ws_frame.hpp): parsing a read
// buffer of many small masked frames (the common case: one JSON command batch per frame),
// unmasking throughput against a byte-at-a-time loop, and header writing.
// Parsing unmasks in place; XOR is its own inverse, so parsing the same buffer again
// restores it and every iteration sees valid masked frames without a copy.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "transport/ws_frame.hpp"

namespace {

using namespace gyre::ws;

// 1000 masked frames of `size` bytes. The key keeps ASCII ASCII, so text frames are valid
// UTF-8 both masked and unmasked.
std::string make_frames(opcode op, size_t size, size_t count = 1000) {
  std::string wire;
  std::string payload(size, 'a');
  for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);
  for (size_t i = 0; i < count; ++i)
    append_client_frame(wire, op, payload, {0x01, 0x02, 0x03, 0x04});
  return wire;
}

void parse_frames(benchmark::State& state, opcode op) {
  std::string wire = make_frames(op, static_cast<size_t>(state.range(0)));
  frame_parser parser;
  size_t events = 0;
  for (auto _ : state) {
    parse_result r = parser.parse(std::span<char>(wire.data(), wire.size()),
                                  [&](const frame_event& e) { events += e.payload.size() > 0; });
    benchmark::DoNotOptimize(r);
    if (r.consumed != wire.size()) state.SkipWithError("parse failed");
  }
  benchmark::DoNotOptimize(events);
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
}

void BM_parse_1000_binary_frames(benchmark::State& state) {
  parse_frames(state, opcode::binary);
}
void BM_parse_1000_text_frames(benchmark::State& state) {
  parse_frames(state, opcode::text);
}
BENCHMARK(BM_parse_1000_binary_frames)->Arg(16)->Arg(64)->Arg(256);
BENCHMARK(BM_parse_1000_text_frames)->Arg(16)->Arg(64)->Arg(256);

void BM_unmask(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    apply_mask(data.data(), data.size(), {0x37, 0xfa, 0x21, 0x3d});
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_unmask)->Arg(16)->Arg(125)->Arg(1024)->Arg(16384)->Arg(65536);

// The textbook loop, for comparison.
void BM_unmask_bytewise(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  const masking_key key = {0x37, 0xfa, 0x21, 0x3d};
  for (auto _ : state) {
    char* p = data.data();
    for (size_t i = 0; i < data.size(); ++i) {
      p[i] = static_cast<char>(p[i] ^ key[i % 4]);
      benchmark::DoNotOptimize(p);  // keep the compiler from vectorizing the reference
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_unmask_bytewise)->Arg(1024)->Arg(65536);

void BM_write_frame_header(benchmark::State& state) {
  char out[max_server_header_size];
  uint64_t len = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(write_frame_header(out, opcode::text, len));
    len = (len + 1237) & 0x3FFFF;  // cycle through the three length encodings
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_write_frame_header);

}  // namespace

BENCHMARK_MAIN();
