// nats_control_bus: node-to-node control messages over NATS (engines.md §1, §5), as
// Centrifugo's NATS broker carries them: broadcast() publishes to `<prefix>.control`,
// which every node (the sender included) subscribes to; send_to(uid) publishes to
// `<prefix>.node.<uid>`, which only that node subscribes to. Payloads are opaque bytes.
//
// Order: messages from one sender on one subject (all its broadcasts; all its send_to to
// one node) arrive in the order sent. There is no order between a broadcast and a
// send_to: the two subjects are two subscriptions, delivered by different threads (as in
// Centrifugo, where each NATS subscription has its own goroutine).
//
// At most once: messages published while disconnected, or before the receiver's
// subscriptions are active, are lost (start's `ready` tells when this node's are).
//
// Threads: methods may be called from any thread and never block on I/O. The handler
// runs on a cnats delivery thread, one message at a time (a mutex serialises the two
// subscriptions). stop() waits for a handler call in progress; no call follows it.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "broker/broker.hpp"
#include "broker/control_bus.hpp"

namespace gyre {

class nats_link;

class nats_control_bus final : public control_bus {
 public:
  // Takes a connected link (see make_nats_control_bus in nats_factory.hpp).
  nats_control_bus(std::unique_ptr<nats_link> link, std::string prefix);
  ~nats_control_bus() override;

  nats_control_bus(const nats_control_bus&) = delete;
  nats_control_bus& operator=(const nats_control_bus&) = delete;

  // Logs when the subscriptions are active or failed.
  void start(control_handler& handler, std::string_view node_uid) override;
  // `ready` runs once both subscriptions are active on the server (or one failed).
  void start(control_handler& handler, std::string_view node_uid, status_callback ready);
  void stop() override;
  void broadcast(std::string_view payload) override;
  void send_to(std::string_view node_uid, std::string_view payload) override;

  bool healthy() const;
  // Runs on a cnats thread at each connection state change; set it before start().
  void set_state_callback(std::function<void(bool healthy)> fn);

 private:
  void deliver(std::string_view payload);

  std::unique_ptr<nats_link> link_;
  const std::string prefix_;
  std::mutex handler_mu_;  // one message at a time
  control_handler* handler_ = nullptr;
};

}  // namespace gyre
