// otlp_exporter: the background side of tracing. Finished spans wait in a bounded queue;
// one thread of its own takes them in batches and POSTs each batch (otlp_encoder.hpp) to
// the collector's /v1/traces with libcurl, blocking only itself.
//
// What holds:
//  * push() never blocks on the network and never waits for the exporter thread beyond a
//    short critical section: when the queue holds max_queue_size spans the span is dropped
//    and counted (gyre_tracing_spans_dropped_total{reason="queue_full"}).
//  * A batch is sent when max_export_batch_size spans wait or schedule_delay passed; one
//    request at a time, each bounded by the exporter timeout. A failed request (connection
//    refused, timeout, non-2xx) drops its spans (reason="export_failed"); nothing is retried
//    (except once at once when a kept-alive connection turns out closed), so a collector that
//    is down costs one failed request per batch.
//  * stop() sends what is queued, for at most one exporter timeout, drops the rest, and
//    joins the thread. push() after stop() drops.
// Threading: push() from any thread; everything else on the owner's thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.hpp"
#include "tracing/exporter_settings.hpp"
#include "tracing/otlp_encoder.hpp"
#include "tracing/span.hpp"

namespace gyre::tracing {

class otlp_exporter {
 public:
  otlp_exporter(exporter_settings settings, resource_info resource, metrics::registry& metrics);
  ~otlp_exporter();
  otlp_exporter(const otlp_exporter&) = delete;
  otlp_exporter& operator=(const otlp_exporter&) = delete;

  void start();
  void push(span&& s);
  void stop();

 private:
  void run();
  // Sends one batch; true when the collector took it.
  bool send(void* curl, const std::vector<span>& batch);

  const exporter_settings settings_;
  const resource_info resource_;
  metrics::counter& exported_;
  metrics::counter& dropped_full_;
  metrics::counter& dropped_failed_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<span> queue_;  // at most settings_.max_queue_size
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace gyre::tracing
