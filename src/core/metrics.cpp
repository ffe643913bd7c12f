// Prometheus registry and text rendering; see metrics.hpp.
#include "core/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace gyre::metrics {

histogram::histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {
  for (size_t i = 0; i <= bounds.size(); ++i) buckets_[i].store(0);
}

void histogram::observe(double v) {
  size_t i =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

histogram::snapshot histogram::snap() const {
  snapshot s;
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(acc);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  s.count = acc;
  return s;
}

family<counter>& registry::add_counter(std::string name, std::string help,
                                       std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  counters_.push_back(
      std::make_unique<family<counter>>(std::move(name), std::move(help), std::move(labels)));
  return *counters_.back();
}

family<gauge>& registry::add_gauge(std::string name, std::string help,
                                   std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  gauges_.push_back(
      std::make_unique<family<gauge>>(std::move(name), std::move(help), std::move(labels)));
  return *gauges_.back();
}

family<histogram>& registry::add_histogram(std::string name, std::string help,
                                           std::vector<std::string> labels,
                                           std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  histograms_.push_back(std::make_unique<family<histogram>>(std::move(name), std::move(help),
                                                            std::move(labels), std::move(bounds)));
  return *histograms_.back();
}

family<histogram>* registry::find_histogram(std::string_view name) {
  std::lock_guard lock(mu_);
  for (auto& h : histograms_)
    if (h->name() == name) return h.get();
  return nullptr;
}

void registry::add_collector(collector c) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(c));
}

void registry::add_summary_view(std::string name, std::string help, const family<histogram>& source,
                                std::vector<double> quantiles) {
  std::lock_guard lock(mu_);
  summaries_.push_back({std::move(name), std::move(help), &source, std::move(quantiles)});
}

double estimate_quantile(const std::vector<double>& bounds, const histogram::snapshot& s,
                         double q) {
  if (s.count == 0 || s.cumulative.empty()) return std::nan("");
  double rank = q * static_cast<double>(s.count);
  size_t i = 0;
  while (i + 1 < s.cumulative.size() && static_cast<double>(s.cumulative[i]) < rank) ++i;
  if (i >= bounds.size()) return bounds.empty() ? std::nan("") : bounds.back();
  double lower = i == 0 ? 0 : bounds[i - 1];
  double below = i == 0 ? 0 : static_cast<double>(s.cumulative[i - 1]);
  double in_bucket = static_cast<double>(s.cumulative[i]) - below;
  if (in_bucket <= 0) return bounds[i];
  return lower + (bounds[i] - lower) * ((rank - below) / in_bucket);
}

namespace {

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    out.append(buf, r.ptr);
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void append_labels(std::string& out, const std::vector<std::pair<std::string, std::string>>& l) {
  if (l.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    append_label_value(out, v);
    out += '"';
  }
  out += '}';
}

std::vector<std::pair<std::string, std::string>> zip(const std::vector<std::string>& names,
                                                     const label_values& values) {
  std::vector<std::pair<std::string, std::string>> l;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i)
    l.emplace_back(names[i], values[i]);
  return l;
}

void header(std::string& out, const std::string& name, const std::string& help,
            std::string_view type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " ";
  out += type;
  out += '\n';
}

}  // namespace

std::string registry::render() const {
  return render_at(std::chrono::steady_clock::now());
}

namespace {

// The observations of `cur` after `base` (both cumulative).
histogram::snapshot since(const histogram::snapshot& cur, const histogram::snapshot& base) {
  histogram::snapshot d = cur;
  for (size_t i = 0; i < d.cumulative.size() && i < base.cumulative.size(); ++i)
    d.cumulative[i] -= std::min(d.cumulative[i], base.cumulative[i]);
  d.count = d.cumulative.empty() ? 0 : d.cumulative.back();
  d.sum = cur.sum - base.sum;
  return d;
}

}  // namespace

std::string registry::render_at(std::chrono::steady_clock::time_point now) const {
  std::string out;
  std::vector<collected_family> collected;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : counters_) {
      header(out, f->name(), f->help(), "counter");
      f->for_each([&](const label_values& lv, const counter& c) {
        out += f->name();
        append_labels(out, zip(f->labels(), lv));
        out += ' ';
        append_number(out, static_cast<double>(c.value()));
        out += '\n';
      });
    }
    for (const auto& f : gauges_) {
      header(out, f->name(), f->help(), "gauge");
      f->for_each([&](const label_values& lv, const gauge& g) {
        out += f->name();
        append_labels(out, zip(f->labels(), lv));
        out += ' ';
        append_number(out, g.value());
        out += '\n';
      });
    }
    for (const auto& f : histograms_) {
      header(out, f->name(), f->help(), "histogram");
      f->for_each([&](const label_values& lv, const histogram& h) {
        auto s = h.snap();
        auto base = zip(f->labels(), lv);
        for (size_t i = 0; i <= f->bounds().size(); ++i) {
          auto l = base;
          std::string le;
          if (i < f->bounds().size())
            append_number(le, f->bounds()[i]);
          else
            le = "+Inf";
          l.emplace_back("le", le);
          out += f->name() + "_bucket";
          append_labels(out, l);
          out += ' ';
          append_number(out, static_cast<double>(s.cumulative[i]));
          out += '\n';
        }
        out += f->name() + "_sum";
        append_labels(out, base);
        out += ' ';
        append_number(out, s.sum);
        out += '\n' + f->name() + "_count";
        append_labels(out, base);
        out += ' ';
        append_number(out, static_cast<double>(s.count));
        out += '\n';
      });
    }
    for (const auto& v : summaries_) {
      header(out, v.name, v.help, "summary");
      v.source->for_each([&](const label_values& lv, const histogram& h) {
        auto s = h.snap();
        auto base = zip(v.source->labels(), lv);
        // Keep a snapshot now and then; the newest one at least a window old is the base
        // of the window (none yet: every observation since start).
        auto& past = v.past[lv];
        const auto step = summary_window / (summary_snapshots - 1);
        if (past.empty() || now - past.back().first >= step) past.emplace_back(now, s);
        while (past.size() >= 2 && past[1].first <= now - summary_window) past.erase(past.begin());
        while (past.size() > summary_snapshots) past.erase(past.begin());
        histogram::snapshot window =
            past.front().first <= now - summary_window ? since(s, past.front().second) : s;
        for (double q : v.quantiles) {
          auto l = base;
          std::string qs;
          append_number(qs, q);
          l.emplace_back("quantile", qs);
          out += v.name;
          append_labels(out, l);
          out += ' ';
          append_number(out, estimate_quantile(v.source->bounds(), window, q));
          out += '\n';
        }
        out += v.name + "_sum";
        append_labels(out, base);
        out += ' ';
        append_number(out, s.sum);
        out += '\n' + v.name + "_count";
        append_labels(out, base);
        out += ' ';
        append_number(out, static_cast<double>(s.count));
        out += '\n';
      });
    }
    for (const auto& c : collectors_) c(collected);
  }
  for (const auto& fam : collected) {
    header(out, fam.name, fam.help, fam.type == kind::counter ? "counter" : "gauge");
    for (const auto& s : fam.samples) {
      out += s.name.empty() ? fam.name : s.name;
      append_labels(out, s.labels);
      out += ' ';
      append_number(out, s.value);
      out += '\n';
    }
  }
  return out;
}

std::vector<double> default_latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

}  // namespace gyre::metrics
