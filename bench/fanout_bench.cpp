// Micro-benchmark of the hub's fan-out path: one shard (one event loop) with N connected
// clients subscribed to one channel through fake transports; each iteration publishes one
// event into the shard's inbox and drains it (client::on_event -> outbox -> mark dirty ->
// flush). The fake transport's flush "writes" everything at once (outbox::consume), so
// the figure is the hub's own cost per delivery without the writev system call.
//
// This binary replaces the global operator new/delete with counting versions, so every
// heap allocation made during the timed loop is counted:
//   allocs_per_event     allocations while posting + delivering one event (the encoded
//                        bytes of each wire format are made once per event: 1 or 2),
//   allocs_per_delivery  the same divided by N: 0 per delivery in steady state means
//                        allocs_per_event does not grow with N.
// Building the event (publication + prepared_event, as the broker and node do) is
// counted separately (build_allocs_per_event).
//
// The context lines report sizeof of the per-connection structures (for
// docs/design/fan-out.md). Run: build/bench/fanout_bench
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "broker/memory/memory_broker.hpp"
#include "broker/memory/memory_presence.hpp"
#include "config/loader.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "hub/client.hpp"
#include "hub/client_transport.hpp"
#include "hub/node.hpp"
#include "hub/prepared_event.hpp"
#include "hub/shard.hpp"
#include "load/message_scan.hpp"
#include "transport/ws_connection.hpp"
#include "transport/ws_frame.hpp"

// ---- counting allocator (this binary only) ----------------------------------------------

namespace {
std::atomic<uint64_t> g_allocs{0};

void* counted_alloc(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* counted_aligned(std::size_t n, std::align_val_t al) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  std::size_t a = static_cast<std::size_t>(al);
  std::size_t size = (n + a - 1) / a * a;
  if (void* p = std::aligned_alloc(a, size ? size : a)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) {
  return counted_alloc(n);
}
void* operator new[](std::size_t n) {
  return counted_alloc(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new(std::size_t n, std::align_val_t al) {
  return counted_aligned(n, al);
}
void* operator new[](std::size_t n, std::align_val_t al) {
  return counted_aligned(n, al);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace gyre {
namespace {

const std::string payload =
    R"({"ts":1700000000000000,"seq":12345,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})";

// A transport whose writes always succeed at once.
class fake_transport final : public client_transport {
 public:
  explicit fake_transport(shard& s) : shard_(s) {}
  void bind(client* c) { client_ = c; }
  std::string_view name() const override { return "fake"; }
  protocol::push_envelope envelope() const override { return protocol::push_envelope::reply; }
  void flush() override {
    outbox& ob = client_->out();
    bytes_ += ob.unwritten_bytes();
    ob.consume(ob.unwritten_bytes(), shard_.pool());
  }
  void close(disconnect) override { closed_ = true; }
  void discard_queued() override { client_->out().clear(shard_.pool()); }
  void input_ready() override {}
  void destroy() override {}
  std::string_view request_header(std::string_view) const override { return {}; }
  bool closed() const { return closed_; }

 private:
  shard& shard_;
  client* client_ = nullptr;
  uint64_t bytes_ = 0;
  bool closed_ = false;
};

std::shared_ptr<const config::config> bench_config() {
  config::load_options lo;
  lo.path_.clear();
  lo.dotenv_path_.clear();
  lo.use_env_ = false;
  auto r = config::load_text(R"({"client":{"insecure":true},"log":{"level":"error"}})",
                             config::file_format::json, lo);
  if (!r.ok()) std::abort();
  return std::make_shared<const config::config>(std::move(r.config_));
}

// N clients on one shard, connected and subscribed to "bench" through their own
// commands (connect + subscribe in one frame, as the JS SDK sends them).
struct hub_fixture {
  std::shared_ptr<const config::config> cfg = bench_config();
  memory_broker broker{system_clock::instance()};
  memory_presence presence;
  metrics::registry registry;
  std::unique_ptr<node> hub;
  std::vector<std::unique_ptr<fake_transport>> transports;
  std::vector<std::unique_ptr<client>> clients;

  // mix: 0 = all JSON, 1 = all Protobuf, 2 = alternating.
  hub_fixture(size_t n, int mix) {
    hub = std::make_unique<node>(cfg, broker, presence, system_clock::instance(), registry, 1);
    broker.start(*hub);
    shard& s = hub->shard_at(0);
    s.set_loop_thread(std::this_thread::get_id());
    std::string json_frame, proto_frame;
    bench::json_connect(json_frame, 1, "");
    json_frame += '\n';
    bench::json_subscribe(json_frame, 2, "bench");
    bench::proto_connect(proto_frame, 1, "");
    bench::proto_subscribe(proto_frame, 2, "bench");
    json_frame.append(protocol::decode_padding, '\0');
    proto_frame.append(protocol::decode_padding, '\0');
    for (size_t i = 0; i < n; ++i) {
      bool proto = mix == 1 || (mix == 2 && i % 2 == 1);
      auto t = std::make_unique<fake_transport>(s);
      auto c = std::make_unique<client>(
          s, *t, proto ? protocol::encoding::protobuf : protocol::encoding::json);
      t->bind(c.get());
      const std::string& f = proto ? proto_frame : json_frame;
      c->on_frame(std::string_view(f.data(), f.size() - protocol::decode_padding));
      transports.push_back(std::move(t));
      clients.push_back(std::move(c));
      if (i % 256 == 255) s.drain_inbox();
    }
    s.drain_inbox();
    s.flush_dirty();
  }
  ~hub_fixture() {
    for (auto& c : clients) c->on_transport_closed();
    clients.clear();
    transports.clear();
    hub.reset();
  }
  shard& sh() { return hub->shard_at(0); }
};

std::shared_ptr<const prepared_event> make_event(uint64_t seq) {
  auto p = std::make_shared<delivered_publication>();
  p->channel = "bench";
  p->pub.data = payload;
  p->pub.data[7] = static_cast<char>('0' + seq % 10);  // every event a little different
  return std::make_shared<const prepared_event>(std::move(p));
}

void BM_FanoutDeliver(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const int mix = static_cast<int>(state.range(1));
  hub_fixture f(n, mix);
  shard& s = f.sh();
  if (s.local_subscriber_count("bench") != n) {
    state.SkipWithError("not every client subscribed");
    return;
  }
  // Warm up: chunk pool, dirty list, inbox vectors and outbox rings reach steady state.
  for (uint64_t i = 0; i < 64; ++i) {
    s.post_event(make_event(i));
    s.drain_inbox();
  }
  uint64_t fanout_allocs = 0, build_allocs = 0, seq = 64;
  for (auto _ : state) {
    uint64_t a0 = g_allocs.load(std::memory_order_relaxed);
    auto ev = make_event(seq++);
    uint64_t a1 = g_allocs.load(std::memory_order_relaxed);
    s.post_event(std::move(ev));
    s.drain_inbox();
    uint64_t a2 = g_allocs.load(std::memory_order_relaxed);
    build_allocs += a1 - a0;
    fanout_allocs += a2 - a1;
  }
  const double iters = static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["ns_per_delivery"] = benchmark::Counter(
      iters * static_cast<double>(n), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["allocs_per_event"] = static_cast<double>(fanout_allocs) / iters;
  state.counters["allocs_per_delivery"] =
      static_cast<double>(fanout_allocs) / (iters * static_cast<double>(n));
  state.counters["build_allocs_per_event"] = static_cast<double>(build_allocs) / iters;
  state.SetLabel(mix == 0 ? "json" : mix == 1 ? "protobuf" : "json+protobuf");
}
BENCHMARK(BM_FanoutDeliver)
    ->ArgNames({"subs", "mix"})
    ->Args({1, 0})
    ->Args({100, 0})
    ->Args({1000, 0})
    ->Args({10000, 0})
    ->Args({1000, 1})
    ->Args({10000, 1})
    ->Args({1000, 2})
    ->Args({10000, 2})
    ->Unit(benchmark::kMicrosecond);

// Sizes of what every connection carries, for the design note.
void report_sizes() {
  benchmark::AddCustomContext("sizeof(ws_connection)", std::to_string(sizeof(ws_connection)));
  benchmark::AddCustomContext("sizeof(client)", std::to_string(sizeof(client)));
  benchmark::AddCustomContext("sizeof(outbox)", std::to_string(sizeof(outbox)));
  benchmark::AddCustomContext("sizeof(subscription)", std::to_string(sizeof(subscription)));
  benchmark::AddCustomContext("sizeof(timer_node)", std::to_string(sizeof(timer_node)));
  benchmark::AddCustomContext("sizeof(ws::frame_parser)", std::to_string(sizeof(ws::frame_parser)));
  benchmark::AddCustomContext("sizeof(out_chunk)", std::to_string(sizeof(out_chunk)));
}

}  // namespace
}  // namespace gyre

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  gyre::report_sizes();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
