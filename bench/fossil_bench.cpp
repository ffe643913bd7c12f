// Fossil delta micro-benchmarks: encoding (the server's per-publication cost, once per
// publication for all delta subscribers), decoding and the checksum, on JSON documents of
// ~1 KB, ~10 KB and ~100 KB with a small change (a counter and one field). Throughput is
// reported over the target size; `delta_bytes` is the size of the produced patch.
#include <benchmark/benchmark.h>

#include <string>

#include "protocol/fossil.hpp"

namespace {

using gyre::protocol::delta_alignment;

std::string json_doc(int items, int counter, const char* status) {
  std::string s = "{\"channel\":\"prices\",\"seq\":" + std::to_string(counter) + ",\"status\":\"" +
                  status + "\",\"rows\":[";
  for (int i = 0; i < items; ++i) {
    if (i) s += ',';
    s += "{\"id\":" + std::to_string(100000 + i) + ",\"symbol\":\"SYM" + std::to_string(i) +
         "\",\"bid\":" + std::to_string(100 + i % 37) + "." + std::to_string(i % 100) +
         ",\"ask\":" + std::to_string(101 + i % 37) + ".05,\"open\":true}";
  }
  return s + "]}";
}

// Documents of about `kb` kilobytes: the previous and the next publication.
struct doc_pair {
  std::string source;
  std::string target;
};

doc_pair docs(int kb) {
  const int items = kb * 1024 / 80;
  doc_pair d{json_doc(items, 41, "open"), json_doc(items, 42, "busy")};
  // Also change one row in the middle.
  const size_t at = d.target.find("\"bid\":", d.target.size() / 2);
  d.target.replace(at + 6, 3, "999");
  return d;
}

void bm_delta(benchmark::State& state, delta_alignment alignment) {
  const doc_pair d = docs(static_cast<int>(state.range(0)));
  size_t delta_size = 0;
  for (auto _ : state) {
    std::string delta = gyre::protocol::fossil_delta(d.source, d.target, alignment);
    delta_size = delta.size();
    benchmark::DoNotOptimize(delta);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.target.size()));
  state.counters["target_bytes"] = static_cast<double>(d.target.size());
  state.counters["delta_bytes"] = static_cast<double>(delta_size);
}

void bm_fossil_delta(benchmark::State& state) {
  bm_delta(state, delta_alignment::bytes);
}
void bm_fossil_delta_utf8(benchmark::State& state) {
  bm_delta(state, delta_alignment::utf8);
}

void bm_fossil_delta_unrelated(benchmark::State& state) {
  // Worst realistic case: nothing in common, every probe position is hashed and looked up.
  const int kb = static_cast<int>(state.range(0));
  const std::string source = json_doc(kb * 1024 / 80, 1, "a");
  std::string target = source;
  for (size_t i = 0; i < target.size(); ++i) target[i] = static_cast<char>('a' + (i * 7919) % 26);
  for (auto _ : state) benchmark::DoNotOptimize(gyre::protocol::fossil_delta(source, target));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * target.size()));
}

void bm_fossil_apply(benchmark::State& state) {
  const doc_pair d = docs(static_cast<int>(state.range(0)));
  const std::string delta = gyre::protocol::fossil_delta(d.source, d.target);
  for (auto _ : state) benchmark::DoNotOptimize(gyre::protocol::fossil_apply(d.source, delta));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.target.size()));
}

void bm_fossil_checksum(benchmark::State& state) {
  const doc_pair d = docs(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(gyre::protocol::fossil_checksum(d.target));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.target.size()));
}

BENCHMARK(bm_fossil_delta)->Arg(1)->Arg(10)->Arg(100);
BENCHMARK(bm_fossil_delta_utf8)->Arg(1)->Arg(10)->Arg(100);
BENCHMARK(bm_fossil_delta_unrelated)->Arg(1)->Arg(10);
BENCHMARK(bm_fossil_apply)->Arg(1)->Arg(10)->Arg(100);
BENCHMARK(bm_fossil_checksum)->Arg(10);

}  // namespace

BENCHMARK_MAIN();
