// otlp_exporter and tracer: spans reach a collector (a one-request-at-a-time HTTP listener
// on 127.0.0.1 in this test) as decodable OTLP requests; a full queue and a collector that
// is down drop spans and count them, without blocking the caller.
#include "tracing/otlp_exporter.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "tracing/otlp_trace.pb.h"
#include "tracing/tracer.hpp"

namespace gyre::tracing {
namespace {

// Accepts connections on 127.0.0.1, reads HTTP requests with a Content-Length body and
// answers 200; keeps the decoded bodies.
class fake_collector {
 public:
  fake_collector() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 4);
    thread_ = std::thread([this] { run(); });
  }
  ~fake_collector() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  size_t spans() {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& r : requests_)
      for (const auto& rs : r.resource_spans())
        for (const auto& ss : rs.scope_spans()) n += static_cast<size_t>(ss.spans_size());
    return n;
  }
  std::vector<gyre::otlp::ExportRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::string last_head() {
    std::lock_guard lock(mu_);
    return head_;
  }

 private:
  void run() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      for (int rounds = 0; rounds < 100000; ++rounds) {
        size_t end = in.find("\r\n\r\n");
        if (end != std::string::npos) {
          size_t cl = in.find("Content-Length: ");
          size_t n = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
          if (in.size() >= end + 4 + n) {
            gyre::otlp::ExportRequest r;
            bool ok = r.ParseFromString(in.substr(end + 4, n));
            {
              std::lock_guard lock(mu_);
              head_ = in.substr(0, end);
              if (ok) requests_.push_back(r);
            }
            in.erase(0, end + 4 + n);
            const char* reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
            if (::write(c, reply, strlen(reply)) < 0) break;
            continue;
          }
        }
        ssize_t got = ::read(c, buf, sizeof buf);
        if (got <= 0) break;
        in.append(buf, static_cast<size_t>(got));
      }
      ::close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<gyre::otlp::ExportRequest> requests_;
  std::string head_;
  std::thread thread_;
};

double counter(metrics::registry& m, const std::string& line) {
  std::string text = "\n" + m.render();
  size_t at = text.find("\n" + line + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + line.size() + 2));
}

TEST(OtlpExporter, ExportsBatchesToTheCollector) {
  fake_collector col;
  exporter_settings s;
  s.endpoint = "http://127.0.0.1:" + std::to_string(col.port()) + "/v1/traces";
  s.headers = {{"x-token", "t"}};
  s.schedule_delay = std::chrono::milliseconds(20);
  s.max_export_batch_size = 3;
  metrics::registry m;
  tracer t({true, false}, s, resource_info{{{"service.name", "svc"}}, "gyre", "1"}, m);
  t.start();
  auto parent = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  for (int i = 0; i < 7; ++i) {
    span sp = t.start("op" + std::to_string(i), span_kind::server, &*parent);
    sp.set_int("i", i);
    t.end(std::move(sp));
  }
  // Bounded wait: at most 10 s for the 7 spans.
  for (int i = 0; i < 1000 && col.spans() < 7; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  t.stop();
  EXPECT_EQ(col.spans(), 7u);
  const auto requests = col.requests();
  for (const auto& r : requests) EXPECT_LE(r.resource_spans(0).scope_spans(0).spans_size(), 3);
  ASSERT_FALSE(requests.empty());
  const auto& first = requests[0].resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(first.name(), "op0");
  EXPECT_EQ(first.trace_id(), std::string(reinterpret_cast<const char*>(parent->trace.data()), 16));
  EXPECT_EQ(first.parent_span_id(),
            std::string(reinterpret_cast<const char*>(parent->span.data()), 8));
  EXPECT_NE(col.last_head().find("x-token: t"), std::string::npos);
  EXPECT_NE(col.last_head().find("application/x-protobuf"), std::string::npos);
  EXPECT_EQ(counter(m, "gyre_tracing_spans_exported_total"), 7);
}

TEST(OtlpExporter, NotSampledParentIsNotRecorded) {
  exporter_settings s;
  s.endpoint = "http://127.0.0.1:9/v1/traces";
  metrics::registry m;
  tracer t({true, false}, s, resource_info{}, m);
  auto parent = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  span sp = t.start("x", span_kind::server, &*parent);
  EXPECT_FALSE(sp.recording);
  EXPECT_FALSE(t.start_child("y", span_kind::internal, sp).recording);
  t.end(std::move(sp));  // dropped silently: not counted
  t.stop();
  EXPECT_EQ(counter(m, "gyre_tracing_spans_dropped_total{reason=\"queue_full\"}"), 0);
  EXPECT_EQ(counter(m, "gyre_tracing_spans_dropped_total{reason=\"export_failed\"}"), 0);
}

TEST(OtlpExporter, CollectorDownAndFullQueueDropAndCount) {
  // A port nobody listens on: bind one, close it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  exporter_settings s;
  s.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/v1/traces";
  s.max_queue_size = 4;
  s.max_export_batch_size = 4;
  s.schedule_delay = std::chrono::milliseconds(100000);  // only a full batch or stop() sends
  s.timeout = std::chrono::milliseconds(2000);
  metrics::registry m;
  tracer t({true, false}, s, resource_info{}, m);
  // Not started: nothing takes from the queue, so the fifth and sixth spans find it full.
  for (int i = 0; i < 6; ++i) t.end(t.start("op", span_kind::server));
  EXPECT_EQ(counter(m, "gyre_tracing_spans_dropped_total{reason=\"queue_full\"}"), 2);
  t.start();
  t.stop();  // the 4 queued spans fail to export: connection refused
  EXPECT_EQ(counter(m, "gyre_tracing_spans_dropped_total{reason=\"export_failed\"}"), 4);
  EXPECT_EQ(counter(m, "gyre_tracing_spans_exported_total"), 0);
}

}  // namespace
}  // namespace gyre::tracing
