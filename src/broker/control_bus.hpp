// control_bus: node-to-node control messages (engines.md §1 "Controller"): node info
// heartbeats, API actions on connections that may live on other nodes (disconnect,
// unsubscribe, subscribe, refresh) and surveys (channels). The hub encodes and decodes the
// payloads; a bus only carries opaque bytes.
//
// Implementations: a local loopback (single node, memory engine), Redis (PUB/SUB on
// `P.control` and `P.node.<uid>`), NATS (subjects `<prefix>.control`, `<prefix>.node.<uid>`).
//
// Contracts: asynchronous and best effort (at most once, like Centrifugo's). broadcast()
// reaches every node INCLUDING the sender; send_to() reaches one node (possibly the
// sender). The handler may be called on any thread, one message at a time per bus.
#pragma once

#include <string>
#include <string_view>

namespace gyre {

class control_handler {
 public:
  virtual ~control_handler() = default;
  virtual void on_control(std::string_view payload) = 0;
};

class control_bus {
 public:
  virtual ~control_bus() = default;
  // Starts delivering messages for this node (`node_uid`) to `handler`.
  virtual void start(control_handler& handler, std::string_view node_uid) = 0;
  virtual void stop() = 0;
  virtual void broadcast(std::string_view payload) = 0;
  virtual void send_to(std::string_view node_uid, std::string_view payload) = 0;
};

// The single-node bus: everything is delivered straight back to this node's handler.
class loopback_control_bus final : public control_bus {
 public:
  void start(control_handler& handler, std::string_view node_uid) override {
    handler_ = &handler;
    uid_ = std::string(node_uid);
  }
  void stop() override { handler_ = nullptr; }
  void broadcast(std::string_view payload) override {
    if (handler_) handler_->on_control(payload);
  }
  void send_to(std::string_view node_uid, std::string_view payload) override {
    if (handler_ && node_uid == uid_) handler_->on_control(payload);
  }

 private:
  control_handler* handler_ = nullptr;
  std::string uid_;
};

}  // namespace gyre
