// The NATS broker when its server goes away: nats-server is killed while a node
// publishes, restarted on the same port; the brokers report unhealthy then healthy
// (state callback and healthy()), fail calls fast meanwhile, reconnect, restore their
// subscriptions and deliver again in both directions. Uses its own nats-server.
#include "broker/nats/nats_broker.hpp"

#include <gtest/gtest.h>

#include <atomic>
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
using broker_test::recording_handler;
using test::eventually;

constexpr auto timeout = std::chrono::milliseconds(5000);

struct watched_node {
  watched_node(const config::nats_broker_config& cfg, const nats_engine_options& eo) {
    std::string err;
    b = make_nats_broker(cfg, err, eo);
    EXPECT_NE(b, nullptr) << err;
    if (!b) return;
    b->set_state_callback([this](bool healthy) {
      std::lock_guard lock(mu);
      states.push_back(healthy);
    });
    b->start(h);
  }
  ~watched_node() {
    if (b) b->stop();
  }
  std::vector<bool> seen_states() {
    std::lock_guard lock(mu);
    return states;
  }
  recording_handler h;
  std::unique_ptr<nats_broker> b;
  std::mutex mu;
  std::vector<bool> states;
};

status subscribe(broker& b, const std::string& ch) {
  return await_result<ok_t>([&](status_callback cb) { b.subscribe(ch, std::move(cb)); }, timeout);
}

// Publishes `data` on `from` until `to` has received at least `n` publications of `ch`
// (a reconnected peer may need a moment to have its SUB processed). Bounded.
bool publish_until_received(broker& from, recording_handler& to, const std::string& ch, size_t n,
                            const std::string& data) {
  return eventually(
      [&] {
        publication pub;
        pub.data = data;
        from.publish(ch, std::move(pub), publish_options{}, nullptr);
        return to.wait_publications(ch, n, std::chrono::milliseconds(50));
      },
      std::chrono::seconds(10));
}

TEST(nats_fault, server_restart_reconnects_resubscribes_and_delivers_again) {
  GYRE_REQUIRE_NATS();
  test::nats_test_server server;
  std::string error;
  ASSERT_TRUE(server.start(0, error)) << error;
  const int port = server.port();

  config::nats_broker_config cfg;
  cfg.url_ = server.url();
  cfg.prefix_ = "fault_" + random_epoch();
  cfg.write_timeout_ = std::chrono::milliseconds(500);
  nats_engine_options eo;
  eo.reconnect_wait = std::chrono::milliseconds(100);
  watched_node a(cfg, eo);
  watched_node b(cfg, eo);
  ASSERT_TRUE(a.b && b.b);
  const std::string ch = "events";
  ASSERT_TRUE(subscribe(*a.b, ch).ok());
  ASSERT_TRUE(subscribe(*b.b, ch).ok());

  // A publisher that never stops for the outage; it counts what the broker reports.
  std::atomic<bool> run{true};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::atomic<int> other{0};
  std::atomic<int> outstanding{0};
  std::thread publisher([&] {
    for (int i = 0; run; ++i) {
      if (outstanding.load() < 1000) {
        ++outstanding;
        publication pub;
        pub.data = "p" + std::to_string(i);
        a.b->publish(ch, std::move(pub), publish_options{}, [&](result<publish_outcome> r) {
          if (r.ok()) {
            ++ok;
          } else if (r.error() == errors::internal) {
            ++failed;
          } else {
            ++other;
          }
          --outstanding;
        });
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  ASSERT_TRUE(b.h.wait_publications(ch, 20, timeout)) << "traffic flows before the fault";

  server.stop(/*hard=*/true);
  ASSERT_TRUE(eventually([&] { return !a.b->healthy() && !b.b->healthy(); }))
      << "both brokers notice the loss";
  ASSERT_TRUE(eventually([&] { return failed.load() > 0; })) << "publishes fail fast meanwhile";
  EXPECT_EQ(subscribe(*a.b, "during_outage").error(), errors::internal);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // several reconnect attempts

  ASSERT_TRUE(server.start(port, error)) << error;
  ASSERT_TRUE(
      eventually([&] { return a.b->healthy() && b.b->healthy(); }, std::chrono::seconds(10)))
      << "both brokers reconnect";
  for (auto* n : {&a, &b}) {
    const auto st = n->seen_states();
    ASSERT_GE(st.size(), 2u);
    EXPECT_FALSE(st[0]) << "first change: disconnected";
    EXPECT_TRUE(st.back()) << "last change: connected again";
    EXPECT_GE(n->b->snapshot().reconnects, 1u);
  }

  // The old subscriptions are back: both directions deliver again.
  const size_t b_before = b.h.publications(ch).size();
  ASSERT_TRUE(publish_until_received(*a.b, b.h, ch, b_before + 1, "a after restart"));
  const size_t a_before = a.h.publications(ch).size();
  ASSERT_TRUE(publish_until_received(*b.b, a.h, ch, a_before + 1, "b after restart"));
  run = false;
  publisher.join();
  ASSERT_TRUE(eventually([&] { return outstanding.load() == 0; }));
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(other.load(), 0) << "only errors::internal for a lost connection";

  // New subscriptions work again too.
  ASSERT_TRUE(subscribe(*a.b, "after_restart").ok());
  ASSERT_TRUE(publish_until_received(*b.b, a.h, "after_restart", 1, "fresh"));
}

TEST(nats_fault, stop_while_disconnected_is_bounded) {
  GYRE_REQUIRE_NATS();
  test::nats_test_server server;
  std::string error;
  ASSERT_TRUE(server.start(0, error)) << error;
  config::nats_broker_config cfg;
  cfg.url_ = server.url();
  cfg.prefix_ = "fault_" + random_epoch();
  nats_engine_options eo;
  eo.reconnect_wait = std::chrono::milliseconds(100);
  watched_node a(cfg, eo);
  ASSERT_TRUE(a.b);
  ASSERT_TRUE(subscribe(*a.b, "x").ok());
  server.stop(/*hard=*/true);
  ASSERT_TRUE(eventually([&] { return !a.b->healthy(); }));
  const auto t0 = std::chrono::steady_clock::now();
  a.b->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

}  // namespace
}  // namespace gyre
