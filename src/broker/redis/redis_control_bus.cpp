// redis_control_bus: see redis_control_bus.hpp.
#include "broker/redis/redis_control_bus.hpp"

#include "core/log.hpp"

namespace gyre::redis {

redis_control_bus::redis_control_bus(std::shared_ptr<engine_core> core) : core_(std::move(core)) {}

redis_control_bus::~redis_control_bus() {
  stop();
}

void redis_control_bus::start(control_handler& handler, std::string_view node_uid) {
  handler_.store(&handler);
  node_channel_ = core_->node_channel(node_uid);
  core_->set_control_sink(this);
  started_ = true;
  for (size_t i = 0; i < core_->shard_count(); ++i) {
    auto& sub = core_->shard_at(i).pubsub();
    const auto report = [i](status s) {
      if (!s) log::warn("redis: control channels of shard {} not subscribed yet", i);
    };
    sub.subscribe(core_->control_channel(), report);
    sub.subscribe(node_channel_, report);
  }
}

void redis_control_bus::stop() {
  if (!started_) return;
  started_ = false;
  handler_.store(nullptr);
  core_->set_control_sink(nullptr);
  for (size_t i = 0; i < core_->shard_count(); ++i) {
    auto& sub = core_->shard_at(i).pubsub();
    sub.unsubscribe(core_->control_channel());
    sub.unsubscribe(node_channel_);
  }
}

void redis_control_bus::on_message(size_t, std::string_view channel, std::string_view payload) {
  control_handler* h = handler_.load();
  if (h == nullptr) return;
  if (channel == node_channel_ || channel == core_->control_channel()) h->on_control(payload);
}

void redis_control_bus::publish(std::string channel, std::string_view payload) {
  const size_t n = core_->shard_count();
  const size_t i = n <= 1 ? 0 : next_shard_.fetch_add(1, std::memory_order_relaxed) % n;
  core_->shard_at(i).exec(channel, {"PUBLISH", channel, std::string(payload)},
                          [channel](reply&& r) {
                            if (r.is_error())
                              log::debug("redis: control publish on {} failed: {}", channel, r.str);
                          });
}

void redis_control_bus::broadcast(std::string_view payload) {
  publish(core_->control_channel(), payload);
}

void redis_control_bus::send_to(std::string_view node_uid, std::string_view payload) {
  publish(core_->node_channel(node_uid), payload);
}

}  // namespace gyre::redis
