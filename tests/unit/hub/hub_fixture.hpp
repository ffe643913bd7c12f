// A node with the memory engine, shards without event loops (the test drains inboxes
// itself), and clients behind fake transports that record what the server writes.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "broker/memory/memory_broker.hpp"
#include "broker/memory/memory_presence.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "hub/client.hpp"
#include "hub/client_transport.hpp"
#include "hub/node.hpp"
#include "hub/shard.hpp"
#include "protocol/codec.hpp"

namespace gyre::testing {

// A transport that "writes" everything the client queues into `written`.
class fake_transport final : public client_transport {
 public:
  fake_transport(shard& s, protocol::encoding enc) : shard_(s), client_(s, *this, enc) {}
  ~fake_transport() override {
    if (!closed_) client_.on_transport_closed();
  }

  std::string_view name() const override { return "websocket"; }
  protocol::push_envelope envelope() const override { return protocol::push_envelope::reply; }
  void flush() override {
    if (stuck) return;  // a peer that reads nothing
    outbox& ob = client_.out();
    // Like ws_connection: once all is written, what a client behind held back follows.
    while (!ob.empty() || (client_.holding_back() && client_.release_held())) {
      max_queued = std::max(max_queued, ob.queued_bytes());
      out_chunk* c = ob.front();
      if (!c->is_frame) written.emplace_back(c->view().substr(ob.front_offset()));
      chunk_ptrs.push_back(c->bytes.data());
      ob.consume(c->bytes.size() - ob.front_offset(), shard_.pool());
    }
  }
  void close(disconnect d) override {
    if (!stuck) flush();
    if (close_code == 0) close_code = d.code;
    // A lingering peer does not answer the close frame: only the client's drop (3000) ends it.
    if (linger && d.code != disconnects::connection_closed.code) return;
    if (!closed_) {
      closed_ = true;
      client_.on_transport_closed();
    }
  }
  void discard_queued() override { client_.out().clear(shard_.pool()); }
  void destroy() override {}
  void input_ready() override {}
  // Every request header has the value `header` (client.user_id_http_header tests).
  std::string_view request_header(std::string_view) const override { return header; }

  // Sends one frame of commands (padding added), in a read turn of its own.
  void send(std::string frame) {
    frame.reserve(frame.size() + protocol::decode_padding);
    client_.begin_turn();
    client_.on_frame(frame);
    shard_.flush_dirty();
  }
  std::string all() const {
    std::string s;
    for (const auto& w : written) s += w;
    return s;
  }
  bool saw(std::string_view needle) const { return all().find(needle) != std::string::npos; }

  gyre::client& client() { return client_; }
  std::vector<std::string> written;
  std::vector<const char*> chunk_ptrs;  // identity of every chunk written
  size_t max_queued = 0;                // the most queued bytes a flush found
  uint32_t close_code = 0;
  bool stuck = false;
  bool linger = false;
  std::string header;
  bool closed() const { return closed_; }

 private:
  shard& shard_;
  gyre::client client_;
  bool closed_ = false;
};

class hub_fixture : public ::testing::Test {
 protected:
  explicit hub_fixture(unsigned shards = 2) : shard_count_(shards) {}

  void SetUp() override { start(make_config()); }
  void TearDown() override {
    transports_.clear();
    if (node_) broker_->stop();
  }

  virtual config::config make_config() {
    config::config c;
    c.client_.insecure_ = true;
    auto& ns = c.channel_.without_namespace_;
    ns.history_size_ = 100;
    ns.history_ttl_ = std::chrono::seconds(300);
    ns.presence_ = true;
    return c;
  }

  void start(config::config c) {
    cfg_ = std::make_shared<const config::config>(std::move(c));
    broker_ = std::make_unique<memory_broker>(clock_);
    presence_ = std::make_unique<memory_presence>();
    node_ = std::make_unique<node>(cfg_, *broker_, *presence_, clock_, registry_, shard_count_);
    for (unsigned i = 0; i < shard_count_; ++i)
      node_->shard_at(i).set_loop_thread(std::this_thread::get_id());
    broker_->start(*node_);
  }

  fake_transport& connect(unsigned shard_index = 0,
                          protocol::encoding enc = protocol::encoding::json,
                          std::string connect_json = R"({"connect":{},"id":1})") {
    transports_.push_back(std::make_unique<fake_transport>(node_->shard_at(shard_index), enc));
    fake_transport& t = *transports_.back();
    t.send(std::move(connect_json));
    return t;
  }

  // Runs every shard's inbox (and the deferred work it causes).
  void drain() {
    for (int round = 0; round < 3; ++round)
      for (unsigned i = 0; i < shard_count_; ++i) node_->shard_at(i).drain_inbox();
  }

  result<publish_outcome> publish(const std::string& channel, std::string data,
                                  publish_options opts = {}) {
    std::optional<result<publish_outcome>> out;
    publication p;
    p.data = std::move(data);
    if (opts.history_size == 0)
      opts = node_->publish_options_for(cfg_->channel_.without_namespace_, *cfg_);
    broker_->publish(channel, std::move(p), opts,
                     [&](result<publish_outcome> r) { out = std::move(r); });
    return *out;
  }

  unsigned shard_count_;
  manual_clock clock_;
  metrics::registry registry_;
  std::shared_ptr<const config::config> cfg_;
  std::unique_ptr<memory_broker> broker_;
  std::unique_ptr<memory_presence> presence_;
  std::unique_ptr<node> node_;
  std::vector<std::unique_ptr<fake_transport>> transports_;
};

}  // namespace gyre::testing
