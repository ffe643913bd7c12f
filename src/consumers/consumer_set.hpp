// consumer_set: the enabled `consumers[]` of the configuration, built at start, run on one
// I/O thread of their own (never an event loop or a requests thread; a postgresql consumer
// has a thread of its own for its blocking libpq calls), stopped first at shutdown
// (docs/consumers.md).
//
// Types Gyre runs: redis_stream, nats_jetstream, postgresql. Types accepted in the
// configuration but not run (kafka, google_pub_sub, aws_sqs, azure_service_bus): an enabled one
// refuses the start with a message naming the key.
//
// Threading: create(), start() and stop() from the main thread.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/metrics.hpp"

namespace gyre {
class api_executor;
}

namespace gyre::consumers {

class consumer_set {
 public:
  // nullptr with `error` set when an enabled consumer cannot run.
  static std::unique_ptr<consumer_set> create(const config::config& cfg, api_executor& exec,
                                              const std::string& node_id,
                                              metrics::registry& registry, std::string& error);
  ~consumer_set();
  void start();
  // Stops reading; commands already handed to the executor complete, unacknowledged.
  void stop();

 private:
  consumer_set();
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace gyre::consumers
