// engines: engine selection; see engines.hpp.
#include "app/engines.hpp"

#include "broker/memory/memory_broker.hpp"
#include "broker/memory/memory_presence.hpp"
#include "broker/nats/nats_broker.hpp"
#include "broker/nats/nats_control_bus.hpp"
#include "broker/nats/nats_factory.hpp"
#include "broker/redis/redis_broker.hpp"
#include "broker/redis/redis_engine.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/redact.hpp"

namespace gyre {

namespace {

// Collects the unhealthy shards of a Redis engine.
void add_health(engines& e, std::shared_ptr<redis::engine_health> health, std::string what) {
  if (!health) return;
  health->on_change([health, what](size_t shard, bool ok) {
    auto shards = health->shards();
    std::string name = shard < shards.size() ? shards[shard].name : std::to_string(shard);
    if (ok)
      log::info("{} {} is available again", what, name);
    else
      log::error("{} {} is unavailable: publications and history calls fail until it is back", what,
                 name);
  });
  auto previous = std::move(e.problems_fn);
  e.problems_fn = [previous, health, what] {
    std::vector<std::string> out = previous ? previous() : std::vector<std::string>{};
    for (const auto& s : health->shards())
      if (!s.healthy) out.push_back(what + " " + s.name + " is unavailable");
    return out;
  };
}

}  // namespace

std::unique_ptr<engines> make_engines(const config::config& cfg, clock& clk, std::string& error) {
  auto e = std::make_unique<engines>();
  const bool separate = cfg.broker_.enabled_ && cfg.presence_manager_.enabled_;
  std::string engine_type = cfg.engine_.type_.empty() ? "memory" : cfg.engine_.type_;
  std::vector<std::string> parts;

  auto use_memory_broker = [&] { e->broker = std::make_unique<memory_broker>(clk); };

  if (!separate) {
    if (engine_type == "memory") {
      use_memory_broker();
      e->presence = std::make_unique<memory_presence>();
      parts.push_back("memory engine");
    } else if (engine_type == "redis") {
      auto r = redis::make_redis_engine(cfg.engine_.redis_, error);
      if (!r) return nullptr;
      e->broker = std::move(r->broker);
      e->presence = std::move(r->presence);
      e->control = std::move(r->control);
      add_health(*e, r->health, "engine.redis");
      parts.push_back(r->description);
      e->keep_alive.push_back(std::shared_ptr<redis::redis_engine>(std::move(r)));
    } else {
      error = "engine.type: unknown engine \"" + engine_type + "\" (memory or redis)";
      return nullptr;
    }
  }

  if (cfg.broker_.enabled_) {
    const std::string& t = cfg.broker_.type_.empty() ? std::string("memory") : cfg.broker_.type_;
    e->control.reset();
    if (t == "memory") {
      use_memory_broker();
      parts.push_back("memory broker");
    } else if (t == "redis") {
      auto r = redis::make_redis_broker(cfg.broker_.redis_, error);
      if (!r) return nullptr;
      e->broker = std::move(r->broker);
      e->control = std::move(r->control);
      add_health(*e, r->health, "broker.redis");
      parts.push_back("broker " + r->description);
      e->keep_alive.push_back(std::shared_ptr<redis::redis_engine>(std::move(r)));
    } else if (t == "nats") {
      auto nb = make_nats_broker(cfg.broker_.nats_, error);
      if (!nb) return nullptr;
      auto bus = make_nats_control_bus(cfg.broker_.nats_, error);
      if (!bus) return nullptr;
      log::info("{}", nats_broker_limitations(cfg.broker_.nats_));
      nb->set_state_callback([url = redact_url_passwords(cfg.broker_.nats_.url_)](bool ok) {
        if (ok)
          log::info("broker.nats: connection to {} restored", url);
        else
          log::error("broker.nats: connection to {} lost: publications fail until it is back", url);
      });
      nats_broker* raw_broker = nb.get();
      nats_control_bus* raw_bus = bus.get();
      auto previous = std::move(e->problems_fn);
      e->problems_fn = [previous, raw_broker, raw_bus,
                        url = redact_url_passwords(cfg.broker_.nats_.url_)] {
        std::vector<std::string> out = previous ? previous() : std::vector<std::string>{};
        if (!raw_broker->healthy()) out.push_back("broker.nats " + url + " is unavailable");
        if (!raw_bus->healthy())
          out.push_back("broker.nats control connection to " + url + " is unavailable");
        return out;
      };
      e->broker = std::move(nb);
      e->control = std::move(bus);
      parts.push_back("nats broker (" + redact_url_passwords(cfg.broker_.nats_.url_) + ")");
    } else {
      error = "broker.type: \"" + t + "\" is not supported by this build (memory, redis, nats)";
      return nullptr;
    }
  }

  if (cfg.presence_manager_.enabled_) {
    const std::string& t =
        cfg.presence_manager_.type_.empty() ? std::string("memory") : cfg.presence_manager_.type_;
    if (t == "memory") {
      e->presence = std::make_unique<memory_presence>();
      parts.push_back("memory presence");
    } else if (t == "redis") {
      auto r = redis::make_redis_presence(cfg.presence_manager_.redis_, error);
      if (!r) return nullptr;
      e->presence = std::move(r->presence);
      add_health(*e, r->health, "presence_manager.redis");
      parts.push_back("presence " + r->description);
      e->keep_alive.push_back(std::shared_ptr<redis::redis_engine>(std::move(r)));
    } else {
      error = "presence_manager.type: \"" + t + "\" is not supported (memory, redis)";
      return nullptr;
    }
  }

  if (!e->control) e->control = std::make_unique<loopback_control_bus>();
  // The final broker decides: a memory engine's broker may have been replaced above.
  if (auto* memory = dynamic_cast<memory_broker*>(e->broker.get()))
    e->maintain_fn = [memory] { memory->sweep(); };
  if (auto* rb = dynamic_cast<redis::redis_broker*>(e->broker.get())) {
    e->use_requests_threads_fn = [rb](const std::vector<boost::asio::io_context*>& ios) {
      rb->use_local_threads(ios);
    };
    e->release_requests_threads_fn = [rb] { rb->release_local_threads(); };
  }
  for (size_t i = 0; i < parts.size(); ++i) e->description += (i ? ", " : "") + parts[i];
  return e;
}

}  // namespace gyre
