// The merge rule end to end (docs/design/connection-state-machine.md, "The merge rule"):
// a real client, node and shard, a scripted broker, and EVERY interleaving of the steps a
// recovering subscribe goes through: the node's broker subscription confirmed (or already
// there), publications made, their live deliveries reaching the shard's inbox, the history
// read taken, its answer posted back to the loop, and the loop draining its inbox. For each
// interleaving the client must see what the SDK expects: a subscribe reply with
// `recovered: true` and then every publication it missed or that was made meanwhile, once,
// in offset order, without being unsubscribed.
//
// The PUB/SUB stream of a channel is ordered (broker.hpp), but the merge must not depend
// on the order in which buffered events reach the subscription: in the second family of
// cases the live deliveries made while the subscription is being set up come in any order.
#include <gtest/gtest.h>

#include <functional>

#include "broker/memory/memory_presence.hpp"
#include "hub/hub_fixture.hpp"
#include "hub/scripted_broker.hpp"
#include "protocol/json_object.hpp"

namespace gyre::testing {
namespace {

// What the SDK makes of the client's output: the subscribe reply and the publication
// pushes of channel "c", in order.
struct sdk_view {
  bool replied = false;
  bool recovered = false;
  uint64_t reply_offset = 0;
  std::vector<uint64_t> offsets;   // publications, as the application sees them
  std::vector<std::string> other;  // anything else about "c" (unsubscribe pushes, errors)
  size_t seen = 0;

  void read(const fake_transport& t) {
    for (; seen < t.written.size(); ++seen) {
      std::string_view chunk = t.written[seen];
      while (!chunk.empty()) {
        size_t nl = chunk.find('\n');
        std::string_view line = chunk.substr(0, nl);
        chunk = nl == std::string_view::npos ? std::string_view{} : chunk.substr(nl + 1);
        if (!line.empty()) take(line);
      }
    }
  }

  void take(std::string_view line) {
    auto o = protocol::json_object::parse(line);
    if (!o) {
      other.emplace_back(line);
      return;
    }
    std::optional<protocol::json_object> sub, push, pub;
    uint32_t id = 0;
    o->get("id", id);
    o->get("subscribe", sub);
    o->get("push", push);
    if (id == 2) {
      if (!sub) {
        other.emplace_back(line);
        return;
      }
      replied = true;
      sub->get("recovered", recovered);
      sub->get("offset", reply_offset);
      if (auto raw = sub->raw("publications")) {
        auto items = protocol::split_array(*raw);
        for (const auto& item : *items) {
          uint64_t off = 0;
          if (auto p = protocol::json_object::parse(item)) p->get("offset", off);
          offsets.push_back(off);
        }
      }
      return;
    }
    if (id != 0 || !push) return;  // connect reply, pings
    push->get("pub", pub);
    if (pub) {
      uint64_t off = 0;
      pub->get("offset", off);
      if (replied) offsets.push_back(off);  // the SDK drops pushes before the reply
      return;
    }
    other.emplace_back(line);
  }
};

enum class action : uint8_t { publish, deliver, confirm, take, answer, drain };

struct step {
  action what;
  uint8_t index = 0;  // deliver: which message in flight
};

// One replay of an interleaving, from scratch.
class world {
 public:
  static constexpr uint64_t missed_before = 2;  // offsets 1, 2 exist; the client holds 1

  explicit world(bool node_already_subscribed) {
    config::config c;
    c.client_.insecure_ = true;
    auto& ns = c.channel_.without_namespace_;
    ns.history_size_ = 100;
    ns.history_ttl_ = std::chrono::seconds(300);
    cfg_ = std::make_shared<const config::config>(std::move(c));
    node_ = std::make_unique<node>(cfg_, broker_, presence_, clock_, registry_, 1);
    broker_.start(*node_);
    for (uint64_t i = 0; i < missed_before; ++i) broker_.make_publication("c");
    if (node_already_subscribed) {
      // Another connection of this node holds the channel already.
      other_ = std::make_unique<fake_transport>(loop(), protocol::encoding::json);
      other_->send(R"({"connect":{},"id":1})");
      other_->send(R"({"subscribe":{"channel":"c"},"id":2})");
      broker_.confirm();
      loop().drain_inbox();
    }
    client_ = std::make_unique<fake_transport>(loop(), protocol::encoding::json);
    client_->send(R"({"connect":{},"id":1})");
    client_->send(
        R"({"subscribe":{"channel":"c","recover":true,"offset":1,"epoch":"E1","recoverable":true,"positioned":true},"id":2})");
    pending_ = true;
    view_.read(*client_);
  }

  ~world() {
    client_.reset();
    other_.reset();
    broker_.stop();
  }

  gyre::shard& loop() { return node_->shard_at(0); }

  // Steps possible now. With `any_order` a delivery may overtake older ones until the read's
  // answer is posted, and the answer waits until no overtaken delivery is still in flight:
  // every reordered event is then buffered, which is what the merge is for (after the
  // subscribe reply the live path needs the broker's order).
  std::vector<step> enabled(uint64_t publications, bool any_order) const {
    std::vector<step> v;
    if (published_ < publications) v.push_back({action::publish});
    const auto& flying = broker_.in_flight;
    const size_t choices =
        any_order && !answered_ ? flying.size() : std::min<size_t>(flying.size(), 1);
    for (size_t i = 0; i < choices; ++i) v.push_back({action::deliver, static_cast<uint8_t>(i)});
    if (!broker_.confirmations.empty()) v.push_back({action::confirm});
    if (broker_.can_take()) v.push_back({action::take});
    const bool overtaken_in_flight = !flying.empty() && flying.front()->pub.offset < max_delivered_;
    if (broker_.can_answer() && !overtaken_in_flight) v.push_back({action::answer});
    if (pending_) v.push_back({action::drain});
    return v;
  }

  void apply(step s) {
    switch (s.what) {
      case action::publish:
        broker_.make_publication("c");
        ++published_;
        break;
      case action::deliver:
        max_delivered_ = std::max(max_delivered_, broker_.in_flight[s.index]->pub.offset);
        broker_.deliver(s.index);
        pending_ = true;
        break;
      case action::confirm:
        broker_.confirm();
        pending_ = true;
        break;
      case action::take:
        broker_.take();
        break;
      case action::answer:
        answered_ = true;
        broker_.answer();
        pending_ = true;
        break;
      case action::drain:
        loop().drain_inbox();
        pending_ = false;
        break;
    }
    view_.read(*client_);
  }

  const sdk_view& view() const { return view_; }
  uint64_t published() const { return published_; }

 private:
  manual_clock clock_;
  metrics::registry registry_;
  std::shared_ptr<const config::config> cfg_;
  scripted_broker broker_;
  memory_presence presence_{memory_presence::options{1}};
  std::unique_ptr<node> node_;
  std::unique_ptr<fake_transport> other_;
  std::unique_ptr<fake_transport> client_;
  sdk_view view_;
  uint64_t published_ = 0;
  uint64_t max_delivered_ = 0;
  bool answered_ = false;
  bool pending_ = false;  // something may wait in the shard's inbox
};

std::string describe(const std::vector<step>& seq) {
  static const char* names[] = {"publish",   "deliver",     "confirm",
                                "take-read", "answer-read", "drain"};
  std::string s;
  for (const step& st : seq) {
    s += names[static_cast<int>(st.what)];
    if (st.what == action::deliver && st.index) s += "#" + std::to_string(st.index);
    s += " ";
  }
  return s;
}

struct exploration {
  uint64_t publications;
  bool node_already_subscribed;
  bool any_order;
  size_t complete = 0;
  std::string first_failure;

  // Depth-first over every interleaving. A world cannot be copied, so every branch but the
  // last replays its prefix in a fresh world, and the last one goes on in `w`.
  void explore(world& w, std::vector<step>& seq) {
    if (!first_failure.empty()) return;
    auto next = w.enabled(publications, any_order);
    if (next.empty()) {
      ++complete;
      check(w, seq);
      return;
    }
    for (size_t i = 0; i < next.size(); ++i) {
      seq.push_back(next[i]);
      if (i + 1 < next.size()) {
        world fresh(node_already_subscribed);
        for (const step& s : seq) fresh.apply(s);
        explore(fresh, seq);
      } else {
        w.apply(next[i]);
        explore(w, seq);
      }
      seq.pop_back();
    }
  }

  void check(const world& w, const std::vector<step>& seq) {
    const sdk_view& v = w.view();
    std::vector<uint64_t> want;
    for (uint64_t o = 2; o <= world::missed_before + publications; ++o) want.push_back(o);
    std::string why;
    if (!v.replied)
      why = "no subscribe reply";
    else if (!v.recovered)
      why = "not recovered";
    else if (v.reply_offset != 1)
      why = "reply offset " + std::to_string(v.reply_offset);
    else if (v.offsets != want)
      why = "publications out of order, missing or repeated";
    else if (!v.other.empty())
      why = "unexpected: " + v.other.front();
    if (why.empty()) return;
    std::string got;
    for (uint64_t o : v.offsets) got += std::to_string(o) + " ";
    first_failure = why + "\n  received: " + got + "\n  interleaving: " + describe(seq);
  }
};

void run(uint64_t publications, bool node_already_subscribed, bool any_order) {
  exploration e{publications, node_already_subscribed, any_order};
  std::vector<step> seq;
  world w(node_already_subscribed);
  e.explore(w, seq);
  EXPECT_EQ(e.first_failure, "");
  EXPECT_GT(e.complete, 0u);
  std::printf(
      "[ info     ] %zu interleavings (%llu publications, node %s subscribed, %s deliveries)\n",
      e.complete, static_cast<unsigned long long>(publications),
      node_already_subscribed ? "already" : "not yet", any_order ? "reordered" : "ordered");
}

TEST(recovery_interleavings, every_interleaving_with_the_channel_new_on_the_node) {
  run(3, false, false);
}

TEST(recovery_interleavings, every_interleaving_with_the_channel_already_delivered_to_the_node) {
  run(3, true, false);
}

TEST(recovery_interleavings, buffered_deliveries_in_any_order_merge_by_offset) {
  run(3, false, true);
  run(3, true, true);
}

}  // namespace
}  // namespace gyre::testing
