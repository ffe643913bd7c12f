// engines: engine selection; see engines.hpp.
#include "app/engines.hpp"

#include "broker/memory/memory_broker.hpp"
#include "broker/memory/memory_presence.hpp"
#include "config/config.hpp"

namespace gyre {

std::unique_ptr<engines> make_engines(const config::config& cfg, clock& clk, std::string& error) {
  auto e = std::make_unique<engines>();
  std::string broker_type = cfg.broker_.enabled_ ? cfg.broker_.type_ : cfg.engine_.type_;
  std::string presence_type = cfg.presence_manager_.enabled_ ? cfg.presence_manager_.type_ : cfg.engine_.type_;
  if (broker_type.empty()) broker_type = "memory";
  if (presence_type.empty()) presence_type = "memory";
  if (broker_type != "memory") {
    error = (cfg.broker_.enabled_ ? "broker.type" : "engine.type") + std::string(": \"") + broker_type +
            "\" is not supported by this build (supported: memory)";
    return nullptr;
  }
  if (presence_type != "memory") {
    error = (cfg.presence_manager_.enabled_ ? "presence_manager.type" : "engine.type") + std::string(": \"") +
            presence_type + "\" is not supported by this build (supported: memory)";
    return nullptr;
  }
  auto mb = std::make_unique<memory_broker>(clk);
  memory_broker* raw = mb.get();
  e->broker = std::move(mb);
  e->presence = std::make_unique<memory_presence>();
  e->control = std::make_unique<loopback_control_bus>();
  e->description = "memory";
  e->maintain_fn = [raw] { raw->sweep(); };
  return e;
}

}  // namespace gyre
