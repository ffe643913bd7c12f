// Tags filter micro-benchmarks: evaluation of a compiled filter against a publication's
// tags (done for every publication delivered to a filtering subscriber) and compilation
// (once per subscribe).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "protocol/tags_filter.hpp"

namespace {

using gyre::tags_map;
using gyre::protocol::compiled_filter;
using gyre::protocol::filter_node;

filter_node leaf(std::string key, std::string cmp, std::string val,
                 std::vector<std::string> vals = {}) {
  filter_node n;
  n.key = std::move(key);
  n.cmp = std::move(cmp);
  n.val = std::move(val);
  n.vals = std::move(vals);
  return n;
}

filter_node op(std::string name, std::vector<filter_node> nodes) {
  filter_node n;
  n.op = std::move(name);
  n.nodes = std::move(nodes);
  return n;
}

// type == "trade" AND symbol in [20 symbols] AND (price > 100.5 OR NOT exists(muted))
filter_node typical_filter() {
  std::vector<std::string> symbols;
  for (int i = 0; i < 20; ++i) symbols.push_back("SYM" + std::to_string(i * 3));
  return op("and",
            {leaf("type", "eq", "trade"), leaf("symbol", "in", "", symbols),
             op("or", {leaf("price", "gt", "100.5"), op("not", {leaf("muted", "ex", "")})})});
}

const tags_map tags = {
    {"type", "trade"}, {"symbol", "SYM42"}, {"price", "101.25"}, {"venue", "XNAS"}, {"muted", "1"}};

void bm_filter_matches(benchmark::State& state) {
  const auto f = compiled_filter::compile(typical_filter());
  for (auto _ : state) benchmark::DoNotOptimize(f->matches(tags));
}

void bm_filter_rejects_early(benchmark::State& state) {
  const auto f = compiled_filter::compile(typical_filter());
  tags_map other = tags;
  other[0].second = "quote";
  for (auto _ : state) benchmark::DoNotOptimize(f->matches(other));
}

void bm_filter_compile(benchmark::State& state) {
  const filter_node n = typical_filter();
  for (auto _ : state) benchmark::DoNotOptimize(compiled_filter::compile(n));
}

BENCHMARK(bm_filter_matches);
BENCHMARK(bm_filter_rejects_early);
BENCHMARK(bm_filter_compile);

}  // namespace

BENCHMARK_MAIN();
