// redis_engine: see redis_engine.hpp.
#include "broker/redis/redis_engine.hpp"

#include "broker/redis/engine_core.hpp"
#include "broker/redis/redis_broker.hpp"
#include "broker/redis/redis_control_bus.hpp"
#include "broker/redis/redis_presence.hpp"
#include "config/config.hpp"
#include "core/log.hpp"

namespace gyre::redis {

engine_health::engine_health(std::shared_ptr<engine_core> core) : core_(std::move(core)) {}

bool engine_health::healthy() const {
  return core_->healthy();
}

std::vector<engine_health::shard_status> engine_health::shards() const {
  std::vector<shard_status> out;
  for (auto& [name, ok] : core_->shard_health()) out.push_back({name, ok});
  return out;
}

void engine_health::on_change(std::function<void(size_t, bool)> fn) {
  core_->set_health_handler(std::move(fn));
}

namespace {

std::chrono::seconds whole_seconds(config::duration d, std::chrono::seconds fallback) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d);
  return s.count() > 0 ? s : fallback;
}

}  // namespace

std::unique_ptr<redis_engine> make_redis_engine(const config::redis_config& cfg,
                                                std::string_view key, const engine_options& opts,
                                                bool with_broker, bool with_presence,
                                                std::string& error) {
  topology topo;
  if (!parse_topology(cfg, key, topo, error)) return nullptr;
  if (opts.presence_hash_field_ttl && with_presence) {
    log::warn("{}.presence_hash_field_ttl needs Redis >= 7.4 (HEXPIRE)", key);
  }
  auto core = std::make_shared<engine_core>(topo);
  core->start();
  if (opts.wait_ready) {
    auto timeout = opts.ready_timeout;
    if (timeout.count() == 0) timeout = topo.shards[0].connect_timeout + topo.shards[0].io_timeout;
    std::string why;
    if (!core->wait_ready(timeout, why)) {
      error = std::string(key) + ": " + why;
      return nullptr;
    }
  }
  auto e = std::make_unique<redis_engine>();
  if (with_broker) {
    e->broker = std::make_unique<redis_broker>(core, redis_broker::options{opts.history_use_lists});
    e->control = std::make_unique<redis_control_bus>(core);
  }
  if (with_presence) {
    redis_presence::options po;
    po.ttl = opts.presence_ttl;
    po.user_mapping = opts.presence_user_mapping;
    po.hash_field_ttl = opts.presence_hash_field_ttl;
    e->presence = std::make_unique<redis_presence>(core, po);
  }
  e->health = std::make_shared<engine_health>(core);
  std::string shards;
  for (const auto& s : topo.shards) shards += (shards.empty() ? "" : ", ") + s.display;
  e->description = "redis (" + std::to_string(topo.shards.size()) +
                   (topo.cluster() ? " cluster" : "") + " shard" +
                   (topo.shards.size() == 1 ? "" : "s") + ": " + shards + ")";
  return e;
}

std::unique_ptr<redis_engine> make_redis_engine(const config::engine_redis_config& cfg,
                                                std::string& error) {
  engine_options o;
  o.history_use_lists = cfg.history_use_lists_;
  o.presence_ttl = whole_seconds(cfg.presence_ttl_, std::chrono::seconds(60));
  o.presence_user_mapping = cfg.presence_user_mapping_;
  o.presence_hash_field_ttl = cfg.presence_hash_field_ttl_;
  return make_redis_engine(cfg, "engine.redis", o, true, true, error);
}

std::unique_ptr<redis_engine> make_redis_broker(const config::broker_redis_config& cfg,
                                                std::string& error) {
  engine_options o;
  o.history_use_lists = cfg.history_use_lists_;
  return make_redis_engine(cfg, "broker.redis", o, true, false, error);
}

std::unique_ptr<redis_engine> make_redis_presence(const config::presence_redis_config& cfg,
                                                  std::string& error) {
  engine_options o;
  o.presence_ttl = whole_seconds(cfg.presence_ttl_, std::chrono::seconds(60));
  o.presence_user_mapping = cfg.presence_user_mapping_;
  o.presence_hash_field_ttl = cfg.presence_hash_field_ttl_;
  return make_redis_engine(cfg, "presence_manager.redis", o, false, true, error);
}

}  // namespace gyre::redis
