// Unit tests for the Prometheus registry (text rendering, summaries derived from
// histograms, quantile estimates) and the /proc parsers of the process metrics.
#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/process_metrics.hpp"

namespace gyre::metrics {
namespace {

TEST(MetricsRegistry, RendersCounterGaugeHistogramWithLabels) {
  registry r;
  auto& c = r.add_counter("c_total", "A counter.", {"method", "code"});
  c.with({"publish", "1\"0\\2"}).inc(3);
  r.add_gauge("g", "A gauge.").get().set(2.5);
  auto& h = r.add_histogram("h_seconds", "A histogram.", {"method"}, {0.1, 1});
  h.with({"x"}).observe(0.05);
  h.with({"x"}).observe(0.5);
  h.with({"x"}).observe(5);
  std::string t = r.render();
  EXPECT_NE(t.find("# TYPE c_total counter\nc_total{method=\"publish\",code=\"1\\\"0\\\\2\"} 3\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("# TYPE g gauge\ng 2.5\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_bucket{method=\"x\",le=\"0.1\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_bucket{method=\"x\",le=\"1\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_bucket{method=\"x\",le=\"+Inf\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_count{method=\"x\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h_seconds_sum{method=\"x\"} 5.55\n"), std::string::npos) << t;
}

TEST(MetricsRegistry, SummaryViewOfAHistogram) {
  registry r;
  auto& h = r.add_histogram("d_seconds_histogram", "H.", {"method"}, {1, 2, 4});
  r.add_summary_view("d_seconds", "S.", h, {0.5, 0.99});
  for (int i = 0; i < 10; ++i) h.with({"m"}).observe(1.5);  // all in (1, 2]
  std::string t = r.render();
  EXPECT_NE(t.find("# TYPE d_seconds summary\n"), std::string::npos) << t;
  EXPECT_NE(t.find("d_seconds{method=\"m\",quantile=\"0.5\"} 1.5\n"), std::string::npos) << t;
  EXPECT_NE(t.find("d_seconds_sum{method=\"m\"} 15\n"), std::string::npos) << t;
  EXPECT_NE(t.find("d_seconds_count{method=\"m\"} 10\n"), std::string::npos) << t;
  // The histogram itself stays as it was.
  EXPECT_NE(t.find("# TYPE d_seconds_histogram histogram\n"), std::string::npos) << t;
}

TEST(MetricsRegistry, SummaryQuantilesCoverAboutTheLastWindow) {
  using namespace std::chrono;
  registry r;
  auto& h = r.add_histogram("w_histogram", "H.", {}, {1, 2, 4});
  r.add_summary_view("w", "S.", h, {0.5});
  auto t0 = steady_clock::time_point{} + hours(1);
  for (int i = 0; i < 10; ++i) h.get().observe(3);  // old and slow
  EXPECT_NE(r.render_at(t0).find("\nw{quantile=\"0.5\"} 3\n"), std::string::npos)
      << r.render_at(t0);
  // Scrapes every minute for more than a window; then fast observations only.
  for (int m = 1; m <= 11; ++m) r.render_at(t0 + minutes(m));
  for (int i = 0; i < 10; ++i) h.get().observe(0.5);
  // The window's base is a snapshot taken after the slow observations: only the fast
  // ones count.
  std::string t = r.render_at(t0 + minutes(12));
  EXPECT_NE(t.find("\nw{quantile=\"0.5\"} 0.5\n"), std::string::npos) << t;
  // _sum and _count stay cumulative.
  EXPECT_NE(t.find("\nw_count 20\n"), std::string::npos) << t;
  EXPECT_NE(t.find("\nw_sum 35\n"), std::string::npos) << t;
  // A window without observations answers NaN, as a Prometheus summary does.
  for (int m = 13; m <= 30; ++m) r.render_at(t0 + minutes(m));
  t = r.render_at(t0 + minutes(31));
  EXPECT_NE(t.find("\nw{quantile=\"0.5\"} NaN\n"), std::string::npos) << t;
}

TEST(MetricsQuantile, InterpolatesInsideTheBucket) {
  std::vector<double> bounds{1, 2, 4};
  histogram h(bounds);
  EXPECT_TRUE(std::isnan(estimate_quantile(bounds, h.snap(), 0.5)));
  for (int i = 0; i < 4; ++i) h.observe(0.5);  // bucket (0, 1]
  for (int i = 0; i < 4; ++i) h.observe(3);    // bucket (2, 4]
  auto s = h.snap();
  EXPECT_DOUBLE_EQ(estimate_quantile(bounds, s, 0.25), 0.5);
  EXPECT_DOUBLE_EQ(estimate_quantile(bounds, s, 0.5), 1);
  EXPECT_DOUBLE_EQ(estimate_quantile(bounds, s, 0.75), 3);
  h.observe(100);  // +Inf: answers the last bound
  EXPECT_DOUBLE_EQ(estimate_quantile(bounds, h.snap(), 0.999), 4);
}

TEST(ProcessMetrics, ParsesProcStat) {
  // A command name with spaces and a ')' inside.
  std::string stat =
      "1234 (gy re) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 "
      "777 123456789 4321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto s = parse_proc_stat(stat);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->utime_ticks, 250u);
  EXPECT_EQ(s->stime_ticks, 50u);
  EXPECT_EQ(s->start_ticks, 777u);
  EXPECT_EQ(s->vsize_bytes, 123456789u);
  EXPECT_EQ(s->rss_pages, 4321u);
  EXPECT_FALSE(parse_proc_stat("garbage"));
  EXPECT_FALSE(parse_proc_stat("1 (x) S 1 2 3"));
  EXPECT_FALSE(parse_proc_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 a 50 0 0 20 0 9 0 7 1 1"));
}

TEST(ProcessMetrics, ParsesBootTime) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000u);
  EXPECT_FALSE(parse_boot_time("cpu 1\n"));
  EXPECT_FALSE(parse_boot_time("btime x\n"));
}

TEST(ProcessMetrics, CollectorReadsThisProcess) {
  registry r;
  add_process_collector(r);
  std::string t = r.render();
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"})
    EXPECT_NE(t.find(std::string("\n") + name + " "), std::string::npos) << name << "\n" << t;
  EXPECT_NE(t.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
}

}  // namespace
}  // namespace gyre::metrics
