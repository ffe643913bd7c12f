// redis_engine: the public face of the Redis engine for app/ — factory functions that
// build the broker, presence manager and control bus of one Redis engine from a <Redis>
// config block, plus its health. Nothing of Asio, hiredis or Protobuf shows here.
//
// One engine = one set of shards and one I/O thread, shared by its three parts (each
// holds it; it stops when the last part is destroyed). With `engine.type: redis` one
// engine serves all three; `broker.redis` / `presence_manager.redis` build separate
// engines when those blocks are enabled.
//
// Start-up: by default the factory waits until every shard answers (connect_timeout +
// io_timeout at most) and fails with the shard's address and the reason in the message
// ("AUTH failed: WRONGPASS ...", "TLS handshake: certificate verify failed ..."), as
// Centrifugo refuses to start against an unreachable Redis. Later outages are survived:
// connections reconnect with backoff, PUB/SUB channels are subscribed again, health
// reports it.
//
// Nothing periodic needs calling: expiry is Redis' job (TTLs, presence ZSET cleanup on
// read), and the engine runs its own timers on its I/O thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.hpp"
#include "broker/control_bus.hpp"
#include "broker/presence_manager.hpp"

namespace gyre::config {
struct redis_config;
struct engine_redis_config;
struct broker_redis_config;
struct presence_redis_config;
}  // namespace gyre::config

namespace gyre::redis {

class engine_core;

// Health of one engine's shards, for /health and metrics. Thread-safe.
class engine_health {
 public:
  explicit engine_health(std::shared_ptr<engine_core> core);
  // Every shard's data and PUB/SUB connections are up.
  bool healthy() const;
  struct shard_status {
    std::string name;  // "shard 0 (redis://127.0.0.1:6379)"
    bool healthy = false;
  };
  std::vector<shard_status> shards() const;
  // Runs on the engine's I/O thread whenever a shard goes up or down (must not block).
  void on_change(std::function<void(size_t shard, bool healthy)> fn);

 private:
  std::shared_ptr<engine_core> core_;
};

struct engine_options {
  bool history_use_lists = false;
  std::chrono::seconds presence_ttl{60};
  bool presence_user_mapping = false;
  bool presence_hash_field_ttl = false;
  // Wait for every shard at start and fail when one is unreachable.
  bool wait_ready = true;
  // 0 = connect_timeout + io_timeout of the first shard.
  std::chrono::milliseconds ready_timeout{0};
};

struct redis_engine {
  std::unique_ptr<gyre::broker> broker;              // null when not requested
  std::unique_ptr<gyre::presence_manager> presence;  // null when not requested
  std::unique_ptr<gyre::control_bus> control;        // comes with the broker
  std::shared_ptr<engine_health> health;
  std::string description;  // for the start-up log: "redis (2 shards: ...)"
};

// The general form: `key` is the block's config path, used in every error message.
std::unique_ptr<redis_engine> make_redis_engine(const config::redis_config& cfg,
                                                std::string_view key, const engine_options& opts,
                                                bool with_broker, bool with_presence,
                                                std::string& error);

// `engine.type: redis`: broker + control bus + presence manager on `engine.redis`.
std::unique_ptr<redis_engine> make_redis_engine(const config::engine_redis_config& cfg,
                                                std::string& error);
// `broker.enabled` + `broker.type: redis`: broker + control bus on `broker.redis`.
std::unique_ptr<redis_engine> make_redis_broker(const config::broker_redis_config& cfg,
                                                std::string& error);
// `presence_manager.enabled` + `type: redis`: presence on `presence_manager.redis`.
std::unique_ptr<redis_engine> make_redis_presence(const config::presence_redis_config& cfg,
                                                  std::string& error);

}  // namespace gyre::redis
