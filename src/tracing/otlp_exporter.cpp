// otlp_exporter: see otlp_exporter.hpp.
#include "tracing/otlp_exporter.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>

#include "core/log.hpp"

namespace gyre::tracing {

namespace {

size_t discard_body(char*, size_t size, size_t n, void*) {
  return size * n;
}

metrics::family<metrics::counter>& dropped_family(metrics::registry& m) {
  return m.add_counter("gyre_tracing_spans_dropped_total",
                       "Spans not exported: the queue was full (queue_full) or the collector "
                       "did not take them (export_failed).",
                       {"reason"});
}

}  // namespace

otlp_exporter::otlp_exporter(exporter_settings settings, resource_info resource,
                             metrics::registry& metrics)
    : settings_(std::move(settings)),
      resource_(std::move(resource)),
      exported_(metrics
                    .add_counter("gyre_tracing_spans_exported_total",
                                 "Spans the OTLP collector accepted.")
                    .with({})),
      dropped_full_(dropped_family(metrics).with({"queue_full"})),
      dropped_failed_(dropped_family(metrics).with({"export_failed"})) {
  queue_.reserve(settings_.max_queue_size);
}

otlp_exporter::~otlp_exporter() {
  stop();
}

void otlp_exporter::start() {
  // Once per process, before the thread uses libcurl (curl_global_init is not thread-safe).
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!curl_ready) log::error("tracing: libcurl failed to initialise; spans will be dropped");
  thread_ = std::thread([this] { run(); });
}

void otlp_exporter::push(span&& s) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= settings_.max_queue_size) {
      dropped_full_.inc();
      return;
    }
    queue_.push_back(std::move(s));
    wake = queue_.size() == settings_.max_export_batch_size;
  }
  if (wake) wake_.notify_one();
}

void otlp_exporter::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopping_ = true;
    stopped_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void otlp_exporter::run() {
  CURL* curl = curl_easy_init();
  std::vector<span> batch;
  batch.reserve(settings_.max_export_batch_size);
  std::chrono::steady_clock::time_point drain_deadline{};
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait_for(lock, settings_.schedule_delay,
                   [&] { return stopping_ || queue_.size() >= settings_.max_export_batch_size; });
    if (stopping_ && drain_deadline == std::chrono::steady_clock::time_point{})
      drain_deadline = std::chrono::steady_clock::now() + settings_.timeout;
    if (queue_.empty()) {
      if (stopping_) break;
      continue;
    }
    if (stopping_ && std::chrono::steady_clock::now() >= drain_deadline) {
      dropped_failed_.inc(queue_.size());
      queue_.clear();
      break;
    }
    const size_t n = std::min(queue_.size(), settings_.max_export_batch_size);
    batch.assign(std::make_move_iterator(queue_.begin()),
                 std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(n)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    lock.unlock();
    if (curl && send(curl, batch))
      exported_.inc(batch.size());
    else
      dropped_failed_.inc(batch.size());
    batch.clear();
    lock.lock();
  }
  lock.unlock();
  if (curl) curl_easy_cleanup(curl);
}

bool otlp_exporter::send(void* handle, const std::vector<span>& batch) {
  CURL* curl = static_cast<CURL*>(handle);
  std::string body;
  encode_export_request(body, resource_, batch);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/x-protobuf");
  for (const auto& [k, v] : settings_.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, settings_.endpoint.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &discard_body);
  CURLcode rc = curl_easy_perform(curl);
  // A kept-alive connection the collector closed while idle fails at once (nothing sent or
  // nothing received); one more try opens a fresh one.
  if (rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR)
    rc = curl_easy_perform(curl);
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  static log::limiter failures(1);
  if (rc != CURLE_OK) {
    log::limited(failures, spdlog::level::warn,
                 "tracing: exporting {} spans to {} failed: {}; they are dropped", batch.size(),
                 settings_.endpoint, curl_easy_strerror(rc));
    return false;
  }
  if (status < 200 || status > 299) {
    log::limited(failures, spdlog::level::warn,
                 "tracing: the collector at {} answered {} to {} spans; they are dropped",
                 settings_.endpoint, status, batch.size());
    return false;
  }
  return true;
}

}  // namespace gyre::tracing
