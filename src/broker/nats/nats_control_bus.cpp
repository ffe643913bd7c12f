// nats_control_bus: see the header.
#include "broker/nats/nats_control_bus.hpp"

#include <atomic>
#include <utility>

#include "broker/nats/nats_link.hpp"
#include "broker/nats/nats_subject.hpp"
#include "core/log.hpp"

namespace gyre {

nats_control_bus::nats_control_bus(std::unique_ptr<nats_link> link, std::string prefix)
    : link_(std::move(link)), prefix_(std::move(prefix)) {}

nats_control_bus::~nats_control_bus() {
  stop();
}

void nats_control_bus::start(control_handler& handler, std::string_view node_uid) {
  start(handler, node_uid, [url = link_->url()](status st) {
    if (st) {
      log::info("nats: control bus subscribed on {}", url);
    } else {
      log::error("nats: control bus could not subscribe on {}: {}", url, st.error().message);
    }
  });
}

void nats_control_bus::start(control_handler& handler, std::string_view node_uid,
                             status_callback ready) {
  {
    std::lock_guard lock(handler_mu_);
    handler_ = &handler;
  }
  const std::string node_subject = prefix_ + ".node." + std::string(node_uid);
  if (node_uid.empty() || nats_subject::is_wildcard_channel(node_uid) ||
      !nats_subject::is_valid_subject(node_subject)) {
    if (ready) ready(errors::bad_request);
    return;
  }
  // Both confirmations arrive on the link's writer thread, in order; report the first
  // failure or the second success.
  struct join_state {
    std::atomic<int> left{2};
    std::atomic<bool> failed{false};
    status_callback ready;
  };
  auto js = std::make_shared<join_state>();
  js->ready = std::move(ready);
  auto part = [js](status st) {
    if (!st && !js->failed.exchange(true)) {
      if (js->ready) js->ready(st);
      return;
    }
    if (js->left.fetch_sub(1) == 1 && !js->failed.load() && js->ready) js->ready(ok_v);
  };
  auto on_message = [this](std::string_view, std::string_view data) { deliver(data); };
  link_->subscribe("control", prefix_ + ".control", on_message, part);
  link_->subscribe("node", node_subject, on_message, part);
}

void nats_control_bus::stop() {
  link_->stop();
  std::lock_guard lock(handler_mu_);
  handler_ = nullptr;
}

void nats_control_bus::broadcast(std::string_view payload) {
  link_->publish(prefix_ + ".control", std::string(payload), nullptr);
}

void nats_control_bus::send_to(std::string_view node_uid, std::string_view payload) {
  std::string subject = prefix_ + ".node." + std::string(node_uid);
  if (node_uid.empty() || nats_subject::is_wildcard_channel(node_uid) ||
      !nats_subject::is_valid_subject(subject)) {
    log::warn("nats: control message for an invalid node id dropped");
    return;
  }
  link_->publish(std::move(subject), std::string(payload), nullptr);
}

void nats_control_bus::deliver(std::string_view payload) {
  std::lock_guard lock(handler_mu_);
  if (handler_ != nullptr) handler_->on_control(payload);
}

bool nats_control_bus::healthy() const {
  return link_->healthy();
}

void nats_control_bus::set_state_callback(std::function<void(bool healthy)> fn) {
  link_->set_state_callback(std::move(fn));
}

}  // namespace gyre
