// A model check of what SDK clients see through a node on a Redis-like broker: three
// clients on two loops keep one recovering subscription to one channel while publications
// are made, delivered and read in random orders, node-level subscriptions are confirmed
// late, a last subscriber's unsubscribe reaches the broker late (racing a new subscriber),
// the PUB/SUB connection drops and comes back, position checks run, and clients reconnect.
// The SDK view (tests/unit/hub/recovery_interleaving_test.cpp has the same) must always be
// one gap-free, duplicate-free, ordered stream of offsets per subscription: a lost
// publication must come as a resubscribe (2500) or a recovered:false reply, never as a
// jump or a step back. Fixed seeds: the same runs every time.
#include <gtest/gtest.h>

#include <random>

#include "broker/memory/memory_presence.hpp"
#include "hub/hub_fixture.hpp"
#include "hub/scripted_broker.hpp"
#include "protocol/json_object.hpp"

namespace gyre::testing {
namespace {

// What the runs did, summed (to see that they exercise what they are for).
struct totals {
  uint64_t live = 0, recovered = 0, unsubscribes = 0, replies = 0, reconnects = 0;
} seen_total;

// One SDK-like client of channel "c": subscribes with recovery from its last offset,
// resubscribes after 2500, reconnects after a close.
struct sdk_client {
  std::unique_ptr<fake_transport> t;
  size_t seen = 0;
  bool subscribed = false;
  bool in_flight = false;
  bool has_position = false;
  uint64_t offset = 0;
  std::string epoch;
  uint32_t next_id = 2;
  uint32_t pending_id = 0;
  std::vector<std::string> log;
  std::string violation;

  void open(shard& s) {
    t = std::make_unique<fake_transport>(s, protocol::encoding::json);
    seen = 0;
    subscribed = in_flight = false;
    pending_id = 0;
    t->send(R"({"connect":{},"id":1})");
  }

  void subscribe() {
    std::string cmd = R"({"subscribe":{"channel":"c","recoverable":true,"positioned":true)";
    if (has_position)
      cmd +=
          R"(,"recover":true,"offset":)" + std::to_string(offset) + R"(,"epoch":")" + epoch + "\"";
    pending_id = next_id++;
    cmd += R"(},"id":)" + std::to_string(pending_id) + "}";
    in_flight = true;
    log.push_back("subscribe since " + std::to_string(offset));
    t->send(cmd);
  }

  void take(uint64_t off, const char* how) {
    log.push_back(std::string(how) + " " + std::to_string(off));
    (how[0] == 'l' ? seen_total.live : seen_total.recovered)++;
    if (has_position && off != offset + 1 && violation.empty())
      violation = "offset " + std::to_string(off) + " after " + std::to_string(offset);
    offset = off;
    has_position = true;
  }

  void read() {
    for (; seen < t->written.size(); ++seen) {
      const std::string copy = t->written[seen];  // answering a ping writes into `written`
      std::string_view chunk = copy;
      while (!chunk.empty()) {
        size_t nl = chunk.find('\n');
        std::string_view line = chunk.substr(0, nl);
        chunk = nl == std::string_view::npos ? std::string_view{} : chunk.substr(nl + 1);
        if (!line.empty()) handle(line);
      }
    }
  }

  void handle(std::string_view line) {
    if (line == "{}") return t->send("{}");  // ping: pong
    auto o = protocol::json_object::parse(line);
    if (!o) return;
    uint32_t id = 0;
    o->get("id", id);
    std::optional<protocol::json_object> sub, push, err;
    o->get("subscribe", sub);
    o->get("push", push);
    o->get("error", err);
    if (id != 0 && id == pending_id) {
      in_flight = false;
      if (err || !sub) return;
      bool recovered = false;
      sub->get("recovered", recovered);
      sub->get("offset", offset);
      sub->get("epoch", epoch);
      has_position = true;  // recovered: the client's own position; otherwise the top
      subscribed = true;
      seen_total.replies++;
      log.push_back(std::string("reply recovered=") + (recovered ? "1" : "0") +
                    " offset=" + std::to_string(offset));
      if (auto raw = sub->raw("publications")) {
        auto items = protocol::split_array(*raw);
        for (const auto& item : *items) {
          uint64_t off = 0;
          if (auto p = protocol::json_object::parse(item)) p->get("offset", off);
          take(off, "recovered");
        }
      }
      return;
    }
    if (!push || !subscribed) return;
    std::optional<protocol::json_object> pub, unsub;
    push->get("pub", pub);
    push->get("unsubscribe", unsub);
    if (pub) {
      uint64_t off = 0;
      pub->get("offset", off);
      take(off, "live");
    } else if (unsub) {
      uint32_t code = 0;
      unsub->get("code", code);
      log.push_back("unsubscribe " + std::to_string(code));
      seen_total.unsubscribes++;
      subscribed = false;
    }
  }
};

void run(uint64_t seed) {
  std::mt19937_64 rng(seed);
  manual_clock clock;
  metrics::registry registry;
  config::config c;
  c.client_.insecure_ = true;
  auto& ns = c.channel_.without_namespace_;
  ns.history_size_ = 1000;
  ns.history_ttl_ = std::chrono::seconds(300);
  auto cfg = std::make_shared<const config::config>(std::move(c));
  scripted_broker b;
  b.deferred_unsubscribe = true;
  memory_presence presence{memory_presence::options{1}};
  node n(cfg, b, presence, clock, registry, 2);  // no loop thread: engine callbacks are posted
  b.start(n);
  std::vector<sdk_client> clients(3);
  std::vector<std::unique_ptr<fake_transport>> closed;  // kept until their callbacks ran
  for (size_t i = 0; i < clients.size(); ++i) clients[i].open(n.shard_at(i % 2));

  auto reconnect = [&](sdk_client& s) {
    if (!s.t->closed()) s.t->close(disconnects::connection_closed);
    closed.push_back(std::move(s.t));
    s.log.push_back("reconnect");
    seen_total.reconnects++;
    s.open(n.shard_at(rng() % 2));
  };

  for (int step = 0; step < 500; ++step) {
    switch (rng() % 12) {
      case 0:
        if (b.streams["c"].top < 40) b.make_publication("c");
        break;
      case 1:
        if (!b.in_flight.empty()) b.deliver();
        break;
      case 2:
        if (!b.confirmations.empty()) b.confirm();
        break;
      case 3:
        if (b.can_take()) b.take();
        break;
      case 4:
        if (b.can_answer()) b.answer();
        break;
      case 5:
        n.shard_at(rng() % 2).drain_inbox();
        break;
      case 6: {
        sdk_client& s = clients[rng() % clients.size()];
        s.read();
        if (s.t->close_code) reconnect(s);
        if (!s.subscribed && !s.in_flight) s.subscribe();
        break;
      }
      case 7:
        if (rng() % 8 == 0) reconnect(clients[rng() % clients.size()]);
        break;
      case 8:
        clock.advance_ms(2000);  // position checks (40 s without publications), pings
        for (unsigned k = 0; k < 2; ++k) n.shard_at(k).tick(clock.now_mono_ms());
        break;
      case 9:
        if (!b.unsubscribes.empty()) b.apply_unsubscribe();
        break;
      case 10:
        if (rng() % 10 == 0) {
          if (b.dropped.empty())
            b.drop_pubsub();
          else
            b.restore_pubsub();
        }
        break;
      default:
        break;
    }
    for (auto& s : clients) {
      s.read();
      if (!s.violation.empty()) {
        std::string history;
        for (const auto& l : s.log) history += "  " + l + "\n";
        FAIL() << "seed " << seed << ": " << s.violation << "\n" << history;
      }
    }
  }
  // Let everything in flight finish before the connections go.
  b.restore_pubsub();
  for (auto& s : clients) s.t->close(disconnects::connection_closed);
  for (int round = 0; round < 50; ++round) {
    while (!b.confirmations.empty()) b.confirm();
    while (!b.unsubscribes.empty()) b.apply_unsubscribe();
    while (b.can_take()) b.take();
    while (b.can_answer()) b.answer();
    for (unsigned k = 0; k < 2; ++k) n.shard_at(k).drain_inbox();
  }
  b.stop();
}

TEST(hub_model, sdk_clients_see_ordered_gap_free_streams_through_broker_faults_and_reconnects) {
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    run(seed);
    if (::testing::Test::HasFailure()) return;
  }
  // The runs do what they are for (not a check of the random draws, a check of the harness).
  EXPECT_GT(seen_total.live, 1000u);
  EXPECT_GT(seen_total.recovered, 1000u);
  EXPECT_GT(seen_total.unsubscribes, 10u);
  EXPECT_GT(seen_total.reconnects, 50u);
  std::printf(
      "[ info     ] %llu live, %llu recovered publications, %llu replies, %llu resubscribes "
      "(2500), %llu reconnects\n",
      static_cast<unsigned long long>(seen_total.live),
      static_cast<unsigned long long>(seen_total.recovered),
      static_cast<unsigned long long>(seen_total.replies),
      static_cast<unsigned long long>(seen_total.unsubscribes),
      static_cast<unsigned long long>(seen_total.reconnects));
}

}  // namespace
}  // namespace gyre::testing
