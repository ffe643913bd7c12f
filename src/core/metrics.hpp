// metrics: a small Prometheus registry (text exposition format 0.0.4).
//
// Two kinds of sources:
// - owned metrics (counter, gauge, histogram families with labels) updated with relaxed
//   atomics, for things that happen at API or command rate;
// - collectors: callbacks run at scrape time that read state kept elsewhere, for
//   per-event-loop counters on the delivery path (no shared cache line is written per
//   delivered message; the scrape sums the loops).
//
// Threading: families and children may be used from any thread. Children are created on
// first use of a label set and never destroyed, so pointers to them stay valid; label
// cardinality must therefore be bounded by the caller (methods, codes, transports).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gyre::metrics {

using label_values = std::vector<std::string>;

class counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d) {
    double cur = v_.load(std::memory_order_relaxed);
    while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
  }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class histogram {
 public:
  explicit histogram(const std::vector<double>& bounds);
  void observe(double v);
  // Cumulative counts per bound (last = +Inf), sum and count.
  struct snapshot {
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  snapshot snap() const;

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

enum class kind { counter, gauge, histogram };

// A metric with a fixed set of label names; children per label-value tuple.
template <typename T>
class family {
 public:
  family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}

  T& with(const label_values& values) {
    std::lock_guard lock(mu_);
    auto it = children_.find(values);
    if (it == children_.end()) it = children_.emplace(values, make()).first;
    return *it->second;
  }
  T& get() { return with({}); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labels() const { return labels_; }
  const std::vector<double>& bounds() const { return bounds_; }

  template <typename F>
  void for_each(F&& f) const {
    std::lock_guard lock(mu_);
    for (const auto& [k, v] : children_) f(k, *v);
  }

 private:
  std::unique_ptr<T> make() {
    if constexpr (std::is_same_v<T, histogram>)
      return std::make_unique<T>(bounds_);
    else
      return std::make_unique<T>();
  }

  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<label_values, std::unique_ptr<T>> children_;
};

// What a collector emits at scrape time.
struct sample {
  std::string name;  // full metric name
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};
struct collected_family {
  std::string name;
  std::string help;
  kind type = kind::gauge;
  std::vector<sample> samples;
};
using collector = std::function<void(std::vector<collected_family>&)>;

class registry {
 public:
  family<counter>& add_counter(std::string name, std::string help,
                               std::vector<std::string> labels = {});
  family<gauge>& add_gauge(std::string name, std::string help,
                           std::vector<std::string> labels = {});
  family<histogram>& add_histogram(std::string name, std::string help,
                                   std::vector<std::string> labels, std::vector<double> bounds);
  void add_collector(collector c);
  // The histogram family registered as `name`, nullptr if none (a second user of a family
  // that another component registers, e.g. the API duration by protocol).
  family<histogram>* find_histogram(std::string_view name);
  // Exposes `source` a second time as a summary named `name` (Centrifugo keeps such
  // summaries next to its histograms for older dashboards that read {quantile=...}). The
  // quantiles are estimated at scrape time from the histogram's buckets, by linear
  // interpolation, over the observations of about the last `summary_window` (the
  // difference to a bucket snapshot kept from an earlier scrape; at most
  // summary_snapshots of them per label set); _sum and _count are exact and cumulative.
  // Nothing is added to the observing path.
  void add_summary_view(std::string name, std::string help, const family<histogram>& source,
                        std::vector<double> quantiles);

  // Renders every metric in the Prometheus text format.
  std::string render() const;
  // The same at a given time (tests).
  std::string render_at(std::chrono::steady_clock::time_point now) const;

  static constexpr std::chrono::seconds summary_window{600};
  static constexpr size_t summary_snapshots = 6;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<family<counter>>> counters_;
  std::vector<std::unique_ptr<family<gauge>>> gauges_;
  std::vector<std::unique_ptr<family<histogram>>> histograms_;
  std::vector<collector> collectors_;
  struct summary_view {
    std::string name, help;
    const family<histogram>* source;
    std::vector<double> quantiles;
    // Per label set: snapshots taken at earlier scrapes, oldest first, one per
    // summary_window / (summary_snapshots - 1) at most.
    using stamped = std::pair<std::chrono::steady_clock::time_point, histogram::snapshot>;
    mutable std::map<label_values, std::vector<stamped>> past;
  };
  std::vector<summary_view> summaries_;
};

// The q-quantile (0..1) of a histogram snapshot, interpolated linearly inside the bucket
// that holds it (the first bucket starts at 0; a rank in +Inf answers the last bound).
// NaN without observations.
double estimate_quantile(const std::vector<double>& bounds, const histogram::snapshot& s, double q);

// Default latency buckets (seconds), as Prometheus client libraries use.
std::vector<double> default_latency_buckets();

}  // namespace gyre::metrics
