// shared_stats: mapping and summing; see shared_stats.hpp.
#include "load/shared_stats.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>

namespace gyre::bench {

shared_area* shared_area::create(uint32_t threads) {
  size_t size = size_for(threads);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  // The mapping is zeroed; construct the atomics in place so their lifetime is formal.
  auto* a = new (p) shared_area{};
  for (uint32_t i = 1; i < threads; ++i) new (&a->threads[i]) thread_stats{};
  a->thread_count = threads;
  return a;
}

stats_snapshot snapshot(const shared_area& area) {
  stats_snapshot s;
  auto ld = [](const counter& c) { return c.load(std::memory_order_relaxed); };
  for (uint32_t i = 0; i < area.thread_count; ++i) {
    const thread_stats& t = area.threads[i];
    s.started += ld(t.started);
    s.ready += ld(t.ready);
    s.failed += ld(t.failed);
    s.lost += ld(t.lost);
    s.open += ld(t.open);
    s.churned += ld(t.churned);
    s.server_closes += ld(t.server_closes);
    if (ld(t.last_close_code)) s.last_close_code = ld(t.last_close_code);
    if (ld(t.last_error_code)) s.last_error_code = ld(t.last_error_code);
    uint64_t fs = ld(t.first_start_ns);
    if (fs && (!s.first_start_ns || fs < s.first_start_ns)) s.first_start_ns = fs;
    s.last_ready_ns = std::max(s.last_ready_ns, ld(t.last_ready_ns));
    s.messages += ld(t.messages);
    s.bytes += ld(t.bytes);
    s.pings += ld(t.pings);
    s.pongs += ld(t.pongs);
    s.replies += ld(t.replies);
    s.reply_errors += ld(t.reply_errors);
    s.samples += ld(t.samples);
    s.bad_samples += ld(t.bad_samples);
    s.last_msg_ns = std::max(s.last_msg_ns, ld(t.last_msg_ns));
    t.latency.snapshot_into(s.latency);
    t.connect.snapshot_into(s.connect);
  }
  return s;
}

}  // namespace gyre::bench
