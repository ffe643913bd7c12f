// redis_control_bus: node-to-node control messages over Redis PUB/SUB (engines.md §4.2):
// broadcast on `P.control`, direct messages on `P.node.<uid>`. Both channels are
// subscribed on every shard (a publish goes to one shard, round-robin, and is received
// once, from that shard). Payloads are opaque bytes (the hub's controlpb Command).
// At most once, like Centrifugo: a message published while a shard's PUB/SUB connection
// is down is lost.
//
// Threads: any thread; the handler runs on the engine's I/O thread, one message at a
// time. After stop() it is not called.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "broker/control_bus.hpp"
#include "broker/redis/engine_core.hpp"

namespace gyre::redis {

class redis_control_bus final : public control_bus, private message_sink {
 public:
  explicit redis_control_bus(std::shared_ptr<engine_core> core);
  ~redis_control_bus() override;

  void start(control_handler& handler, std::string_view node_uid) override;
  void stop() override;
  void broadcast(std::string_view payload) override;
  void send_to(std::string_view node_uid, std::string_view payload) override;

 private:
  void on_message(size_t shard, std::string_view channel, std::string_view payload) override;
  void publish(std::string channel, std::string_view payload);

  std::shared_ptr<engine_core> core_;
  std::atomic<control_handler*> handler_{nullptr};
  std::string node_channel_;
  std::atomic<size_t> next_shard_{0};
  bool started_ = false;
};

}  // namespace gyre::redis
