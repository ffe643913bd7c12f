// engines: builds the broker and presence manager that the configuration asks for
// (engine.type, broker.*, presence_manager.*). Only app/ sees concrete engine classes.
#pragma once

#include <memory>
#include <string>

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
  // Periodic maintenance (history expiry sweeps); called about once a second.
  std::function<void()> maintain_fn;
  void maintain() {
    if (maintain_fn) maintain_fn();
  }
};

// Returns null and sets `error` (naming the config key) when the engines cannot be built.
std::unique_ptr<engines> make_engines(const config::config& cfg, clock& clk, std::string& error);

}  // namespace gyre
