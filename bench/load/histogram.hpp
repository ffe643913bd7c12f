// histogram: a fixed-size log-linear histogram of non-negative integers (microseconds in
// gyre-bench), in the manner of HdrHistogram: values below 64 have a bucket each; above,
// every power of two is split into 32 buckets, so a recorded value is known to within
// 1/32 (~3 %). It covers 0 .. 2^40 (12 days in microseconds) in 1,152 buckets.
//
// Two forms share the bucket layout:
//   - shared_histogram: lives in the load tool's shared memory; one thread (in one worker
//     process) records into it with plain relaxed load/store pairs (no lock prefix, no
//     allocation) while the coordinator process reads it concurrently;
//   - histogram: an ordinary value, built by summing snapshots; percentiles are read here.
// Interval figures come from differences of snapshots: recorders never reset anything.
//
// Invariant: bucket_of(v) is monotonic in v and lower_bound(bucket_of(v)) <= v.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace gyre::bench {

inline constexpr size_t hist_linear = 64;     // values 0..63: one bucket each
inline constexpr unsigned hist_sub_bits = 5;  // 32 buckets per power of two above
inline constexpr unsigned hist_max_exp = 40;  // values up to 2^40 - 1
inline constexpr size_t hist_buckets =
    hist_linear + (hist_max_exp - 6) * (size_t{1} << hist_sub_bits);

constexpr size_t hist_bucket_of(uint64_t v) {
  if (v < hist_linear) return static_cast<size_t>(v);
  unsigned e = 63u - static_cast<unsigned>(std::countl_zero(v));  // highest set bit, >= 6
  if (e >= hist_max_exp) return hist_buckets - 1;
  unsigned shift = e - hist_sub_bits;  // v >> shift is in [32, 64)
  return hist_linear + (e - 6) * (size_t{1} << hist_sub_bits) +
         static_cast<size_t>((v >> shift) - (uint64_t{1} << hist_sub_bits));
}

constexpr uint64_t hist_lower_bound(size_t b) {
  if (b < hist_linear) return b;
  size_t k = b - hist_linear;
  unsigned e = static_cast<unsigned>(k >> hist_sub_bits) + 6;
  uint64_t mant = (k & ((size_t{1} << hist_sub_bits) - 1)) + (uint64_t{1} << hist_sub_bits);
  return mant << (e - hist_sub_bits);
}

constexpr uint64_t hist_upper_bound(size_t b) {
  return b + 1 < hist_buckets ? hist_lower_bound(b + 1) - 1 : ~uint64_t{0};
}

struct histogram {
  std::array<uint64_t, hist_buckets> counts{};
  uint64_t total = 0;
  uint64_t max = 0;  // exact maximum recorded (upper bound of the bucket for snapshots)

  void record(uint64_t v) {
    ++counts[hist_bucket_of(v)];
    ++total;
    max = std::max(max, v);
  }
  void add(const histogram& o) {
    for (size_t i = 0; i < hist_buckets; ++i) counts[i] += o.counts[i];
    total += o.total;
    max = std::max(max, o.max);
  }
  // this - o, for two snapshots of the same monotonic recorder (o taken first).
  histogram minus(const histogram& o) const {
    histogram r;
    for (size_t i = 0; i < hist_buckets; ++i) {
      r.counts[i] = counts[i] - o.counts[i];
      r.total += r.counts[i];
      if (r.counts[i]) r.max = hist_upper_bound(i);
    }
    return r;
  }
  // The value at quantile q (0..1): the upper bound of the bucket holding it, capped
  // at the maximum. 0 when empty.
  uint64_t quantile(double q) const {
    if (total == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total));
    if (rank >= total) rank = total - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < hist_buckets; ++i) {
      seen += counts[i];
      if (seen > rank) return std::min(hist_upper_bound(i), max ? max : hist_upper_bound(i));
    }
    return max;
  }
  double mean() const {
    if (total == 0) return 0;
    double s = 0;
    for (size_t i = 0; i < hist_buckets; ++i)
      if (counts[i])
        s += static_cast<double>(counts[i]) *
             (static_cast<double>(hist_lower_bound(i)) + static_cast<double>(hist_upper_bound(i))) /
             2;
    return s / static_cast<double>(total);
  }
};

// Single-writer histogram in shared memory (see the top of the file).
struct shared_histogram {
  std::atomic<uint64_t> counts[hist_buckets];
  std::atomic<uint64_t> max;

  void record(uint64_t v) {
    auto& c = counts[hist_bucket_of(v)];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (v > max.load(std::memory_order_relaxed)) max.store(v, std::memory_order_relaxed);
  }
  void snapshot_into(histogram& h) const {
    for (size_t i = 0; i < hist_buckets; ++i) {
      uint64_t c = counts[i].load(std::memory_order_relaxed);
      h.counts[i] += c;
      h.total += c;
    }
    h.max = std::max(h.max, max.load(std::memory_order_relaxed));
  }
};

static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "shared memory counters need lock-free atomics");

}  // namespace gyre::bench
