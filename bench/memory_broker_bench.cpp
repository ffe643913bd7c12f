// Micro-benchmarks of the memory broker's hot paths: publish with and without history
// into 1 and 10,000 channels from 1 and 2 threads, and a recovery-style history read.
// The handler drops what it receives, so the figures are the broker's own cost
// (stripe lock, offset assignment, ring insert, delivery object) plus the caller's
// publication copy. Run: build/bench/memory_broker_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "broker/memory/memory_broker.hpp"

namespace gyre {
namespace {

class discarding_handler final : public broker_event_handler {
 public:
  void on_publication(std::shared_ptr<const delivered_publication> p) override {
    benchmark::DoNotOptimize(p.get());
  }
  void on_join(std::string_view, const client_info&) override {}
  void on_leave(std::string_view, const client_info&) override {}
};

// Shared by the threads of one benchmark run; made in setup(), before the threads start.
discarding_handler handler;
std::unique_ptr<memory_broker> engine;
std::vector<std::string> channels;
const std::string payload = R"({"type":"update","id":123456,"value":"0123456789abcdef0123"})";

void setup(const benchmark::State& state) {
  engine = std::make_unique<memory_broker>(system_clock::instance());
  engine->start(handler);
  channels.clear();
  for (int64_t i = 0; i < state.range(1); ++i)
    channels.push_back("bench:channel:" + std::to_string(i));
}

void teardown(const benchmark::State&) {
  engine->stop();
  engine.reset();
}

publish_options options_for(bool history) {
  publish_options o;
  if (history) {
    o.history_size = 10;
    o.history_ttl_seconds = 300;
    o.history_meta_ttl_seconds = 3600;
  }
  return o;
}

// range(0): 1 = with history; range(1): number of channels.
void publish(benchmark::State& state) {
  const publish_options opts = options_for(state.range(0) != 0);
  const size_t n = channels.size();
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  uint64_t last = 0;
  for (auto _ : state) {
    publication pub;
    pub.data = payload;
    engine->publish(channels[i++ % n], std::move(pub), opts,
                    [&](result<publish_outcome> r) { last = r->position.offset; });
  }
  benchmark::DoNotOptimize(last);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(publish)
    ->ArgNames({"history", "channels"})
    ->ArgsProduct({{0, 1}, {1, 10'000}})
    ->Threads(1)
    ->Threads(2)
    ->Setup(setup)
    ->Teardown(teardown)
    ->UseRealTime();

// A recovery read: the last 5 of 10 retained publications of one channel.
void history_since(benchmark::State& state) {
  const publish_options opts = options_for(true);
  const std::string& ch = channels[0];
  stream_position top;
  for (int i = 0; i < 10; ++i) {
    publication pub;
    pub.data = payload;
    engine->publish(ch, std::move(pub), opts,
                    [&](result<publish_outcome> r) { top = r->position; });
  }
  history_query q;
  q.since = stream_position{top.offset - 5, top.epoch};
  q.limit = -1;
  q.meta_ttl_seconds = 3600;
  size_t got = 0;
  for (auto _ : state) {
    engine->history(ch, q, [&](result<history_page> r) { got += r->publications.size(); });
  }
  benchmark::DoNotOptimize(got);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(history_since)->Args({1, 1})->Setup(setup)->Teardown(teardown);

}  // namespace
}  // namespace gyre

BENCHMARK_MAIN();
