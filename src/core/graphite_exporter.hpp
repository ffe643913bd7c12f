// graphite_exporter: every `interval`, takes a snapshot of the metric registry, turns it
// into Graphite plaintext lines (graphite.hpp) and sends them over TCP to
// `graphite.host`:`graphite.port` (option `graphite.*`).
//
// Threading: one background thread of its own does everything (name resolution, connect,
// send), so no event loop ever waits on the Graphite server. `snapshot` is called on that
// thread and must be thread-safe (registry::render is).
//
// Failures: the connection is kept open between rounds; a refused connection, a write
// error or a receiver that closed its side drops it, and the next round connects again.
// Lines not sent yet wait in a buffer of at most `max_buffer` bytes (oldest lines dropped
// first, whole lines only), so a receiver that is down for a while gets the recent
// rounds, with their own timestamps, when it comes back, and memory stays bounded.
// Connect and send each give up after `io_timeout`. State changes (lost, connected
// again) are logged once each, not once per round.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/graphite.hpp"

namespace gyre::graphite {

struct exporter_options {
  std::string host = "localhost";
  uint16_t port = 2003;
  std::chrono::milliseconds interval{10000};
  naming names;
  // 4 MiB: several minutes of rounds of a node with a few thousand series.
  size_t max_buffer = 4u << 20;
  std::chrono::milliseconds io_timeout{1000};
};

class exporter {
 public:
  exporter(exporter_options o, std::function<std::string()> snapshot);
  ~exporter();
  exporter(const exporter&) = delete;
  exporter& operator=(const exporter&) = delete;

  void start();
  // Stops the thread (at most about two io_timeouts when it is connecting or sending);
  // unsent lines are dropped.
  void stop();

 private:
  void run();
  void round();
  bool connect_now();
  bool peer_closed() const;
  void drop_connection(const std::string& why);

  const exporter_options o_;
  const std::function<std::string()> snapshot_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  // Only the exporter thread touches these.
  int fd_ = -1;
  std::string pending_;
  bool failing_ = false;
};

}  // namespace gyre::graphite
