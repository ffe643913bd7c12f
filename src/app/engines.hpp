// engines: builds the broker, presence manager and control bus that the configuration asks
// for (engine.type, broker.*, presence_manager.*), as Centrifugo selects them: the engine
// provides both halves unless both are configured separately; an enabled `broker` or
// `presence_manager` section replaces its half. Control messages go through the broker
// when it can carry them (Redis), else stay local. Only app/ sees concrete engine classes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.hpp"
#include "broker/control_bus.hpp"
#include "broker/presence_manager.hpp"
#include "core/clock.hpp"

namespace boost::asio {
class io_context;
}

namespace gyre {

namespace config {
struct config;
}

struct engines {
  std::unique_ptr<gyre::broker> broker;
  std::unique_ptr<gyre::presence_manager> presence;
  std::unique_ptr<gyre::control_bus> control;
  std::string description;
  // Periodic maintenance (memory history expiry sweeps); called about once a second.
  std::function<void()> maintain_fn;
  // Parts that are down right now ("redis shard 0 (…)"); empty when all is well.
  std::function<std::vector<std::string>()> problems_fn;
  // Gives the broker the requests threads' io_contexts (the Redis broker opens a data
  // connection per requests thread: docs/design/api-threading.md §5). The broker stops
  // using them in its stop() or release_requests_threads(), one of which must come before
  // they are destroyed.
  std::function<void(const std::vector<boost::asio::io_context*>&)> use_requests_threads_fn;
  std::function<void()> release_requests_threads_fn;
  // Keeps engine objects (health trackers, …) alive for the engines' lifetime.
  std::vector<std::shared_ptr<void>> keep_alive;

  void use_requests_threads(const std::vector<boost::asio::io_context*>& ios) {
    if (use_requests_threads_fn) use_requests_threads_fn(ios);
  }
  void release_requests_threads() {
    if (release_requests_threads_fn) release_requests_threads_fn();
  }
  void maintain() {
    if (maintain_fn) maintain_fn();
  }
  std::vector<std::string> problems() const {
    return problems_fn ? problems_fn() : std::vector<std::string>{};
  }
};

// Returns null and sets `error` (naming the config key) when the engines cannot be built;
// a network engine that cannot reach its servers at start-up is such an error.
std::unique_ptr<engines> make_engines(const config::config& cfg, clock& clk, std::string& error);

}  // namespace gyre
