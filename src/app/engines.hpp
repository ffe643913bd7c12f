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
  // Keeps engine objects (health trackers, …) alive for the engines' lifetime.
  std::vector<std::shared_ptr<void>> keep_alive;

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
