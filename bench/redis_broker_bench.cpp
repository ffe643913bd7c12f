// redis_broker_bench: the Redis broker against a real redis-server it starts on a free
// loopback port (no persistence).
// - publish throughput, pipelined: a batch of publications is issued without waiting,
//   then all completions are awaited (the engine writes whatever is queued in one write);
//   without history (PUBLISH), with history (Lua script: stream + meta + publish), and with
//   history on a channel this node subscribes to (the completion then also waits for the
//   publication to come back through PUB/SUB and the handler).
// - publish one at a time (await each): the round-trip bound.
// - cross-node delivery latency: node A publishes, node B (another engine on the same
//   Redis) receives it through PUB/SUB; one publication in flight at a time.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "broker/redis/redis_engine.hpp"
#include "broker/redis_test_server.hpp"
#include "config/blocks.hpp"
#include "core/log.hpp"

namespace gyre {
namespace {

redis_test::server& redis() {
  static redis_test::server s;
  static bool started = [] {
    spdlog::set_level(spdlog::level::warn);
    return s.start();
  }();
  if (!started) std::abort();
  return s;
}

std::unique_ptr<redis::redis_engine> engine() {
  config::redis_config cfg;
  cfg.address_ = {redis().address()};
  std::string error;
  auto e = redis::make_redis_engine(cfg, "engine.redis", {}, true, true, error);
  if (!e) {
    fprintf(stderr, "engine: %s\n", error.c_str());
    std::abort();
  }
  return e;
}

class counting_handler final : public broker_event_handler {
 public:
  void on_publication(std::shared_ptr<const delivered_publication>) override {
    std::lock_guard lock(mu);
    ++count;
    cv.notify_all();
  }
  void on_join(std::string_view, const client_info&) override {}
  void on_leave(std::string_view, const client_info&) override {}
  void wait_for(uint64_t n) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return count >= n; });
  }
  std::mutex mu;
  std::condition_variable cv;
  uint64_t count = 0;
};

struct completion {
  std::mutex mu;
  std::condition_variable cv;
  int64_t left = 0;
  int64_t failed = 0;
  void done(bool ok) {
    std::lock_guard lock(mu);
    if (!ok) ++failed;
    if (--left == 0) cv.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return left == 0; });
  }
};

publish_options opts_for(bool history) {
  publish_options o;
  if (history) {
    o.history_size = 100;
    o.history_ttl_seconds = 60;
    o.history_meta_ttl_seconds = 3600;
  }
  return o;
}

// Arg 0: history (0/1); arg 1: subscribed (0/1). Batches of 1000 publications.
void BM_publish_pipelined(benchmark::State& state) {
  const bool history = state.range(0) != 0;
  const bool subscribed = state.range(1) != 0;
  auto e = engine();
  counting_handler h;
  e->broker->start(h);
  const std::string ch = "bench_pipelined";
  if (subscribed) {
    completion c;
    c.left = 1;
    e->broker->subscribe(ch, [&](status s) { c.done(s.ok()); });
    c.wait();
  }
  const auto o = opts_for(history);
  constexpr int batch = 1000;
  int64_t failed = 0;
  for (auto _ : state) {
    completion c;
    c.left = batch;
    for (int i = 0; i < batch; ++i) {
      publication p;
      p.data = R"({"n":12345,"text":"a typical small JSON payload"})";
      e->broker->publish(ch, std::move(p), o, [&c](result<publish_outcome> r) { c.done(r.ok()); });
    }
    c.wait();
    failed += c.failed;
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["failed"] = static_cast<double>(failed);
  e->broker->stop();
}
BENCHMARK(BM_publish_pipelined)
    ->ArgNames({"history", "subscribed"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_publish_await_each(benchmark::State& state) {
  const bool history = state.range(0) != 0;
  auto e = engine();
  const auto o = opts_for(history);
  for (auto _ : state) {
    completion c;
    c.left = 1;
    publication p;
    p.data = "x";
    e->broker->publish("bench_await", std::move(p), o,
                       [&c](result<publish_outcome> r) { c.done(r.ok()); });
    c.wait();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_publish_await_each)
    ->ArgName("history")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_cross_node_latency(benchmark::State& state) {
  const bool history = state.range(0) != 0;
  auto a = engine();
  auto b = engine();
  counting_handler hb;
  b->broker->start(hb);
  const std::string ch = "bench_cross";
  {
    completion c;
    c.left = 1;
    b->broker->subscribe(ch, [&](status s) { c.done(s.ok()); });
    c.wait();
  }
  const auto o = opts_for(history);
  uint64_t expected = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    publication p;
    p.data = "ping";
    a->broker->publish(ch, std::move(p), o, nullptr);
    hb.wait_for(++expected);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  b->broker->stop();
}
BENCHMARK(BM_cross_node_latency)
    ->ArgName("history")
    ->Arg(0)
    ->Arg(1)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace gyre

BENCHMARK_MAIN();
