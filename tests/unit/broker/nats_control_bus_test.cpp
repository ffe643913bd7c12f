// The NATS control bus across two instances on a real nats-server: broadcast reaches
// every node including the sender, send_to reaches one node (possibly the sender), the
// payload is opaque bytes on `<prefix>.control` / `<prefix>.node.<uid>`, nothing is
// delivered after stop().
#include "broker/nats/nats_control_bus.hpp"

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/broker_suite.hpp"
#include "broker/nats/nats_factory.hpp"
#include "broker/nats_test_env.hpp"
#include "core/random.hpp"

namespace gyre {
namespace {

using broker_test::await_result;
using test::shared_nats_config;

constexpr auto timeout = std::chrono::milliseconds(5000);

class recording_control final : public control_handler {
 public:
  void on_control(std::string_view payload) override {
    std::lock_guard lock(mu_);
    got_.emplace_back(payload);
    cv_.notify_all();
  }
  bool wait(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return got_.size() >= n; });
  }
  std::vector<std::string> got() {
    std::lock_guard lock(mu_);
    return got_;
  }
  // The two subjects are two subscriptions: no order between them.
  std::vector<std::string> got_sorted() {
    auto v = got();
    std::sort(v.begin(), v.end());
    return v;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> got_;
};

struct bus_node {
  explicit bus_node(std::string id) : uid(std::move(id)) {
    std::string err;
    bus = make_nats_control_bus(shared_nats_config(), err);
    EXPECT_NE(bus, nullptr) << err;
    if (!bus) return;
    ready = await_result<ok_t>([&](status_callback cb) { bus->start(h, uid, cb); }, timeout);
  }
  ~bus_node() {
    if (bus) bus->stop();
  }
  std::string uid;
  recording_control h;
  std::unique_ptr<nats_control_bus> bus;
  status ready = errors::internal;
};

class nats_control_bus_test : public ::testing::Test {
 protected:
  void SetUp() override { GYRE_REQUIRE_NATS(); }
};

TEST_F(nats_control_bus_test, broadcast_reaches_every_node_including_the_sender) {
  bus_node a("node-a-" + random_epoch());
  bus_node b("node-b-" + random_epoch());
  ASSERT_TRUE(a.ready.ok());
  ASSERT_TRUE(b.ready.ok());
  const std::string payload("\x08\x01\x12\x00 binary\xff", 13);
  a.bus->broadcast(payload);
  ASSERT_TRUE(a.h.wait(1));
  ASSERT_TRUE(b.h.wait(1));
  EXPECT_EQ(a.h.got()[0], payload);
  EXPECT_EQ(b.h.got()[0], payload);
}

TEST_F(nats_control_bus_test, send_to_reaches_one_node) {
  bus_node a("node-a-" + random_epoch());
  bus_node b("node-b-" + random_epoch());
  ASSERT_TRUE(a.ready.ok());
  ASSERT_TRUE(b.ready.ok());
  a.bus->send_to(b.uid, "for b");
  a.bus->send_to(a.uid, "for a");
  a.bus->send_to("nobody", "lost");
  a.bus->send_to("bad uid", "dropped");
  a.bus->send_to(b.uid, "barrier b");  // same subject, same publisher: arrives after
  a.bus->send_to(a.uid, "barrier a");
  ASSERT_TRUE(a.h.wait(2));
  ASSERT_TRUE(b.h.wait(2));
  EXPECT_EQ(a.h.got(), (std::vector<std::string>{"for a", "barrier a"}));
  EXPECT_EQ(b.h.got(), (std::vector<std::string>{"for b", "barrier b"}));
}

TEST_F(nats_control_bus_test, subjects_are_centrifugos) {
  const auto cfg = shared_nats_config();
  bus_node a("node-a-" + random_epoch());
  ASSERT_TRUE(a.ready.ok());
  // A plain client standing for a Centrifugo node publishes on the documented subjects.
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, test::shared_nats()->url().c_str()), NATS_OK);
  const std::string control = cfg.prefix_ + ".control";
  const std::string node = cfg.prefix_ + ".node." + a.uid;
  ASSERT_EQ(natsConnection_PublishString(nc, control.c_str(), "all"), NATS_OK);
  ASSERT_EQ(natsConnection_PublishString(nc, node.c_str(), "one"), NATS_OK);
  ASSERT_EQ(natsConnection_FlushTimeout(nc, 2000), NATS_OK);
  natsConnection_Destroy(nc);
  ASSERT_TRUE(a.h.wait(2));
  EXPECT_EQ(a.h.got_sorted(), (std::vector<std::string>{"all", "one"}));
}

TEST_F(nats_control_bus_test, invalid_node_id_fails_start) {
  std::string err;
  auto bus = make_nats_control_bus(shared_nats_config(), err);
  ASSERT_NE(bus, nullptr) << err;
  recording_control h;
  auto st = await_result<ok_t>([&](status_callback cb) { bus->start(h, "a b", cb); }, timeout);
  EXPECT_EQ(st.error(), errors::bad_request);
  bus->stop();
}

TEST_F(nats_control_bus_test, nothing_is_delivered_after_stop) {
  bus_node a("node-a-" + random_epoch());
  bus_node b("node-b-" + random_epoch());
  ASSERT_TRUE(a.ready.ok());
  ASSERT_TRUE(b.ready.ok());
  b.bus->stop();
  EXPECT_FALSE(b.bus->healthy());
  a.bus->broadcast("after");
  ASSERT_TRUE(a.h.wait(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(b.h.got().empty());
  b.bus->broadcast("from a stopped bus");  // dropped, no crash
}

}  // namespace
}  // namespace gyre
