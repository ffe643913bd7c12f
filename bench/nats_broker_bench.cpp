// Micro-benchmarks of the NATS broker against a real nats-server on 127.0.0.1 (started
// here; skipped when nats-server is missing):
// - publish: throughput with `window` publishes in flight (1 = one at a time, each
//   waiting for its flush round trip), with and without a local subscription (with one,
//   done also waits for this node's own delivery);
// - cross_instance_latency: node A publishes one publication (with or without a done
//   callback), node B's handler receives it; one at a time; p50/p99 of publish() → B's
//   handler in microseconds;
// - cross_instance_throughput: A publishes pipelined, B must receive everything.
// Payload: a 60-byte JSON publication with client info, as the API sends it.
// Run: build/bench/nats_broker_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/nats/nats_factory.hpp"
#include "broker/nats_test_server.hpp"

namespace gyre {
namespace {

using steady = std::chrono::steady_clock;

const std::string payload = R"({"type":"update","id":123456,"value":"0123456789abcdef0123"})";

test::nats_test_server* server() {
  static test::nats_test_server* s = [] {
    auto* srv = new test::nats_test_server;  // lives for the process, stopped at exit
    std::string error;
    if (!srv->start(0, error)) {
      delete srv;
      return static_cast<test::nats_test_server*>(nullptr);
    }
    // Never destroyed (brokers of a benchmark may still refer to it during static
    // destruction), but the nats-server process must not outlive the benchmark.
    std::atexit([] { server()->stop(); });
    return srv;
  }();
  return s;
}

// Counts deliveries and stamps the last one; wakes a waiter.
class timing_handler final : public broker_event_handler {
 public:
  void on_publication(std::shared_ptr<const delivered_publication>) override {
    const auto now = steady::now();
    std::lock_guard lock(mu_);
    last_ = now;
    ++count_;
    cv_.notify_all();
  }
  void on_join(std::string_view, const client_info&) override {}
  void on_leave(std::string_view, const client_info&) override {}

  // Waits until `n` deliveries; returns the time of the n-th (or of the last on timeout).
  steady::time_point wait(uint64_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return count_ >= n; });
    return last_;
  }
  uint64_t count() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t count_ = 0;
  steady::time_point last_;
};

std::unique_ptr<nats_broker> make_node(broker_event_handler& h) {
  config::nats_broker_config cfg;
  cfg.url_ = server()->url();
  cfg.prefix_ = "bench";
  std::string err;
  auto b = make_nats_broker(cfg, err);
  if (b) b->start(h);
  return b;
}

bool subscribe_sync(broker& b, const std::string& ch) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool ok = false;
  b.subscribe(ch, [&](status st) {
    std::lock_guard lock(mu);
    done = true;
    ok = st.ok();
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait_for(lock, std::chrono::seconds(5), [&] { return done; });
  return ok;
}

publication make_pub() {
  publication p;
  p.data = payload;
  p.info = client_info{"user-42", "3f1c9a70-0b7e-4c2e-9a55-5a1c0c7f0e11", "", ""};
  return p;
}

// Keeps at most `window` publishes in flight.
class window_limiter {
 public:
  explicit window_limiter(int64_t window) : window_(window) {}
  void acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < window_; });
    ++in_flight_;
  }
  void release(bool ok) {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (!ok) ++failures_;
    cv_.notify_all();
  }
  void drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
  }
  int64_t failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t window_;
  int64_t in_flight_ = 0;
  int64_t failures_ = 0;
};

// range(0): publishes in flight; range(1): 1 = this node subscribes to the channel.
void publish(benchmark::State& state) {
  if (server() == nullptr) return state.SkipWithError("nats-server not found");
  timing_handler h;
  auto node = make_node(h);
  if (!node) return state.SkipWithError("cannot connect");
  const std::string ch =
      "bench:publish:" + std::to_string(state.range(0)) + ":" + std::to_string(state.range(1));
  if (state.range(1) != 0 && !subscribe_sync(*node, ch)) {
    return state.SkipWithError("subscribe failed");
  }
  window_limiter window(state.range(0));
  const publication pub = make_pub();
  for (auto _ : state) {
    window.acquire();
    node->publish(ch, pub, publish_options{},
                  [&](result<publish_outcome> r) { window.release(r.ok()); });
  }
  window.drain();
  state.SetItemsProcessed(state.iterations());
  state.counters["failures"] = static_cast<double>(window.failures());
  node->stop();
}
BENCHMARK(publish)
    ->ArgsProduct({{1, 64, 1024}, {0, 1}})
    ->ArgNames({"window", "subscribed"})
    ->UseRealTime();

void cross_instance_latency(benchmark::State& state) {
  if (server() == nullptr) return state.SkipWithError("nats-server not found");
  timing_handler ha;
  timing_handler hb;
  auto a = make_node(ha);
  auto b = make_node(hb);
  if (!a || !b) return state.SkipWithError("cannot connect");
  const std::string ch = "bench:latency";
  if (!subscribe_sync(*b, ch)) return state.SkipWithError("subscribe failed");
  const publication pub = make_pub();
  std::vector<double> us;
  uint64_t n = 0;
  const bool with_done = state.range(0) != 0;
  for (auto _ : state) {
    const auto t0 = steady::now();
    a->publish(ch, pub, publish_options{},
               with_done ? callback<publish_outcome>([](result<publish_outcome>) {}) : nullptr);
    const auto t1 = hb.wait(++n);
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
  a->stop();
  b->stop();
}
BENCHMARK(cross_instance_latency)->Arg(0)->Arg(1)->ArgName("with_done")->UseRealTime();

// A publishes with 1024 in flight; B receives. Items = publications B received.
void cross_instance_throughput(benchmark::State& state) {
  if (server() == nullptr) return state.SkipWithError("nats-server not found");
  timing_handler ha;
  timing_handler hb;
  auto a = make_node(ha);
  auto b = make_node(hb);
  if (!a || !b) return state.SkipWithError("cannot connect");
  const std::string ch = "bench:fanout";
  if (!subscribe_sync(*b, ch)) return state.SkipWithError("subscribe failed");
  window_limiter window(1024);
  const publication pub = make_pub();
  for (auto _ : state) {
    window.acquire();
    a->publish(ch, pub, publish_options{},
               [&](result<publish_outcome> r) { window.release(r.ok()); });
  }
  window.drain();
  hb.wait(static_cast<uint64_t>(state.iterations()));
  state.SetItemsProcessed(static_cast<int64_t>(hb.count()));
  state.counters["lost"] = static_cast<double>(static_cast<int64_t>(state.iterations()) -
                                               static_cast<int64_t>(hb.count()));
  a->stop();
  b->stop();
}
BENCHMARK(cross_instance_throughput)->UseRealTime();

}  // namespace
}  // namespace gyre

BENCHMARK_MAIN();
