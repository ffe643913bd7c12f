// Conflation (docs/design/conflation.md): the held-back store on its own (latest per key,
// bounded by the keys), then a client in a gyre_conflation namespace whose peer stops
// reading: it is not disconnected, holds one publication per channel, and once it reads
// again gets the latest of each with offsets that show the skip; a plain namespace's
// subscriber is disconnected with 3008 instead; joins, unsubscribes and delta bases.
#include "hub/conflation.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "hub/hub_fixture.hpp"

namespace gyre::testing {
namespace {

// ---------------------------------------------------------------------------- the store

using store = latest_per_key<int, std::string>;

std::vector<std::pair<int, std::string>> take_all(store& s) {
  std::vector<std::pair<int, std::string>> out;
  s.take([&](int k, std::string&& v) {
    out.emplace_back(k, std::move(v));
    return true;
  });
  return out;
}

TEST(latest_per_key, keeps_only_the_latest_value_of_each_key_in_first_held_order) {
  store s;
  EXPECT_FALSE(s.put(1, "a1"));
  EXPECT_FALSE(s.put(2, "b1"));
  EXPECT_TRUE(s.put(1, "a2")) << "a replacement reports the skip";
  EXPECT_TRUE(s.put(1, "a3"));
  EXPECT_FALSE(s.put(3, "c1"));
  EXPECT_EQ(s.size(), 3u);
  using kv = std::pair<int, std::string>;
  EXPECT_EQ(take_all(s), (std::vector<kv>{{1, "a3"}, {2, "b1"}, {3, "c1"}}));
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.contains(1));
  EXPECT_FALSE(s.put(1, "a4")) << "after a take, a key starts afresh";
}

TEST(latest_per_key, holds_one_entry_per_key_whatever_the_number_of_values) {
  store s;
  for (int i = 0; i < 10000; ++i) s.put(i % 7, std::to_string(i));
  EXPECT_EQ(s.size(), 7u);
  auto all = take_all(s);
  ASSERT_EQ(all.size(), 7u);
  for (const auto& [k, v] : all) EXPECT_EQ(std::stoi(v) % 7, k);
  EXPECT_EQ(all[0].second, "9996");
}

TEST(latest_per_key, erase_drops_a_key_and_keeps_the_others_reachable) {
  store s;
  for (int k = 0; k < 5; ++k) s.put(k, "v" + std::to_string(k));
  s.erase(1);
  s.erase(42);  // absent: nothing happens
  EXPECT_EQ(s.size(), 4u);
  EXPECT_FALSE(s.contains(1));
  EXPECT_TRUE(s.put(4, "v4b")) << "the entry moved into the erased slot is still found";
  s.erase(4);
  s.erase(0);
  EXPECT_EQ(s.size(), 2u);
  auto all = take_all(s);
  std::map<int, std::string> got(all.begin(), all.end());
  EXPECT_EQ(got, (std::map<int, std::string>{{2, "v2"}, {3, "v3"}}));
}

TEST(latest_per_key, a_partial_take_leaves_the_rest_in_order_and_findable) {
  store s;
  for (int k = 0; k < 5; ++k) s.put(k, "v" + std::to_string(k));
  int taken = 0;
  s.take([&](int, std::string&&) { return ++taken < 2; });
  EXPECT_EQ(taken, 2) << "the entry that answered false is taken too";
  EXPECT_EQ(s.size(), 3u);
  EXPECT_FALSE(s.contains(0));
  EXPECT_FALSE(s.contains(1));
  EXPECT_TRUE(s.put(3, "v3b"));
  using kv = std::pair<int, std::string>;
  EXPECT_EQ(take_all(s), (std::vector<kv>{{2, "v2"}, {3, "v3b"}, {4, "v4"}}));
}

TEST(latest_per_key, behind_threshold_is_half_the_queue_limit) {
  EXPECT_EQ(behind_threshold(1 << 20), size_t{1} << 19);
  EXPECT_EQ(behind_threshold(1000), 500u);
}

// ---------------------------------------------------------------------------- in the hub

struct pub_seen {
  std::string channel;
  std::string data;  // as written
  uint64_t offset;
  bool delta;
};

// Every publication push in `all`, in order.
std::vector<pub_seen> publications(const std::string& all) {
  static const std::regex re(
      R"re("push":\{"channel":"([^"]+)","pub":\{"data":(.*?),"offset":(\d+)(,"delta":true)?)re");
  std::vector<pub_seen> out;
  for (auto it = std::sregex_iterator(all.begin(), all.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back({(*it)[1], (*it)[2], std::stoull((*it)[3]), (*it)[4].matched});
  return out;
}

constexpr size_t queue_limit = 2000;

class conflation_hub : public hub_fixture {
 protected:
  conflation_hub() : hub_fixture(1) {}

  config::config make_config() override {
    config::config c = hub_fixture::make_config();
    c.client_.queue_max_size_ = queue_limit;
    c.channel_.without_namespace_.gyre_conflation_ = true;
    c.channel_.without_namespace_.allowed_delta_types_ = {"fossil"};
    return c;
  }
  shard& loop() { return node_->shard_at(0); }

  // A connected client subscribed to `channels` whose peer then stops reading.
  fake_transport& stuck_subscriber(const std::vector<std::string>& channels, bool delta = false) {
    fake_transport& t = connect();
    int id = 2;
    for (const auto& ch : channels)
      t.send(R"({"subscribe":{"channel":")" + ch + R"(")" + (delta ? R"(,"delta":"fossil")" : "") +
             R"(},"id":)" + std::to_string(id++) + "}");
    for (const auto& ch : channels) EXPECT_TRUE(t.client().is_subscribed(ch)) << t.all();
    t.written.clear();
    t.stuck = true;
    return t;
  }

  // `rounds` publications to each channel (data = round), each drained on its own.
  void publish_rounds(const std::vector<std::string>& channels, int rounds, size_t pad = 0) {
    for (int r = 1; r <= rounds; ++r) {
      for (const auto& ch : channels)
        ASSERT_TRUE(publish(ch, pad ? R"(")" + std::to_string(r) + std::string(pad, ' ') + R"(")"
                                    : std::to_string(r)));
      drain();
    }
  }
};

TEST_F(conflation_hub,
       a_subscriber_behind_is_kept_and_gets_the_latest_of_each_channel_with_the_skip_visible) {
  const std::vector<std::string> channels = {"a", "b", "c"};
  fake_transport& t = stuck_subscriber(channels);
  publish_rounds(channels, 200);
  EXPECT_EQ(t.close_code, 0u) << "not disconnected";
  EXPECT_TRUE(t.client().holding_back());
  EXPECT_EQ(loop().counters().conflating.load(), 1);
  // The queue stays near the threshold: it does not grow with the publications.
  EXPECT_LE(t.client().out().queued_bytes(), behind_threshold(queue_limit) + 200);
  EXPECT_FALSE(t.client().over_queue_limit());
  const uint64_t skipped = loop().counters().conflated.load();
  EXPECT_GT(skipped, 500u);

  t.stuck = false;
  t.flush();
  auto pubs = publications(t.all());
  std::map<std::string, std::vector<pub_seen>> per;
  for (const auto& p : pubs) per[p.channel].push_back(p);
  ASSERT_EQ(per.size(), 3u) << t.all();
  for (const auto& ch : channels) {
    const auto& seen = per[ch];
    ASSERT_FALSE(seen.empty());
    // In order, the data matching the offset, ending with the latest: 200.
    bool jumped = false;
    for (size_t i = 0; i < seen.size(); ++i) {
      EXPECT_EQ(seen[i].data, std::to_string(seen[i].offset));
      if (i > 0) {
        EXPECT_GT(seen[i].offset, seen[i - 1].offset);
        jumped |= seen[i].offset > seen[i - 1].offset + 1;
      }
    }
    EXPECT_TRUE(jumped) << ch << ": the offsets must show the skip";
    EXPECT_EQ(seen.back().offset, 200u) << ch;
  }
  EXPECT_EQ(pubs.size() + skipped, 600u) << "every publication was either sent or skipped";
  // Caught up: the state is gone and publications flow directly again.
  EXPECT_FALSE(t.client().holding_back());
  EXPECT_EQ(loop().counters().conflating.load(), 0);
  t.written.clear();
  publish_rounds({"a"}, 1);
  EXPECT_EQ(publications(t.all()).size(), 1u);
  EXPECT_EQ(t.close_code, 0u);
}

TEST_F(conflation_hub, held_publications_are_released_at_most_half_a_queue_at_a_time) {
  std::vector<std::string> channels;
  for (int i = 0; i < 40; ++i) channels.push_back("ch" + std::to_string(i));
  fake_transport& t = stuck_subscriber(channels);
  publish_rounds(channels, 5);  // 40 held publications: several times half the limit
  ASSERT_TRUE(t.client().holding_back());
  t.stuck = false;
  t.max_queued = 0;
  t.flush();
  // The queue never held more than the threshold and one publication...
  EXPECT_LE(t.max_queued, behind_threshold(queue_limit) + 200);
  EXPECT_FALSE(t.client().holding_back());
  // ...and every channel still ends with its latest publication.
  std::map<std::string, uint64_t> last;
  for (const auto& p : publications(t.all())) last[p.channel] = p.offset;
  ASSERT_EQ(last.size(), channels.size());
  for (const auto& [ch, offset] : last) EXPECT_EQ(offset, 5u) << ch;
  EXPECT_EQ(t.close_code, 0u);
}

TEST_F(conflation_hub, a_subscriber_that_falls_behind_again_is_conflated_again) {
  fake_transport& t = stuck_subscriber({"a"});
  for (int episode = 1; episode <= 3; ++episode) {
    t.stuck = true;
    publish_rounds({"a"}, 100);  // offsets (episode-1)*100+1 .. episode*100
    ASSERT_TRUE(t.client().holding_back()) << episode;
    t.stuck = false;
    t.flush();
    auto pubs = publications(t.all());
    ASSERT_FALSE(pubs.empty());
    EXPECT_EQ(pubs.back().offset, static_cast<uint64_t>(episode * 100)) << episode;
    EXPECT_FALSE(t.client().holding_back()) << episode;
  }
  EXPECT_EQ(loop().counters().conflating.load(), 0);
  EXPECT_EQ(t.close_code, 0u);
}

TEST_F(conflation_hub, a_reading_subscriber_gets_every_publication) {
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"a"},"id":2})");
  t.written.clear();
  publish_rounds({"a"}, 300);
  auto pubs = publications(t.all());
  ASSERT_EQ(pubs.size(), 300u);
  for (size_t i = 0; i < pubs.size(); ++i) EXPECT_EQ(pubs[i].offset, i + 1);
  EXPECT_EQ(loop().counters().conflated.load(), 0u);
  EXPECT_FALSE(t.client().holding_back());
}

TEST_F(conflation_hub, without_the_option_the_same_subscriber_is_disconnected_as_slow) {
  config::config c = make_config();
  c.channel_.without_namespace_.gyre_conflation_ = false;
  TearDown();
  start(c);
  fake_transport& t = stuck_subscriber({"a", "b", "c"});
  publish_rounds({"a", "b", "c"}, 200);
  EXPECT_EQ(t.close_code, disconnects::slow.code);
  EXPECT_FALSE(t.client().holding_back());
  EXPECT_EQ(loop().counters().conflated.load(), 0u);
}

TEST_F(conflation_hub, the_held_publication_of_an_unsubscribed_channel_is_dropped) {
  fake_transport& t = stuck_subscriber({"a", "b"});
  publish_rounds({"a", "b"}, 100);
  ASSERT_TRUE(t.client().holding_back());
  t.send(R"({"unsubscribe":{"channel":"a"},"id":10})");  // the peer still writes
  t.stuck = false;
  t.flush();
  std::string all = t.all();
  size_t reply = all.find(R"({"id":10,"unsubscribe":{}})");
  ASSERT_NE(reply, std::string::npos) << all;
  for (const auto& p : publications(all.substr(reply))) EXPECT_NE(p.channel, "a") << all;
  auto pubs = publications(all);
  ASSERT_FALSE(pubs.empty());
  EXPECT_EQ(pubs.back().channel, "b");
  EXPECT_EQ(pubs.back().offset, 100u);
  EXPECT_FALSE(t.client().holding_back());
  EXPECT_EQ(loop().counters().conflating.load(), 0);
}

TEST_F(conflation_hub, joins_and_leaves_are_never_held_back) {
  config::config c = make_config();
  c.channel_.without_namespace_.join_leave_ = true;
  c.channel_.without_namespace_.force_push_join_leave_ = true;
  TearDown();
  start(c);
  fake_transport& t = stuck_subscriber({"a"});
  publish_rounds({"a"}, 100);
  ASSERT_TRUE(t.client().holding_back());
  const size_t queued = t.client().out().size();
  fake_transport& other = connect();
  other.send(R"({"subscribe":{"channel":"a"},"id":2})");
  drain();
  EXPECT_EQ(t.client().out().size(), queued + 1) << "the join is queued, not held";
  t.stuck = false;
  t.flush();
  std::string all = t.all();
  size_t join = all.find(R"("join":)");
  ASSERT_NE(join, std::string::npos) << all;
  // The held publication follows what was queued before it, the join included.
  size_t last = all.find(R"("offset":100)");
  ASSERT_NE(last, std::string::npos) << all;
  EXPECT_LT(join, last);
}

TEST_F(conflation_hub, a_delta_subscriber_gets_the_full_payload_after_a_skip) {
  config::config c = make_config();
  c.channel_.without_namespace_.delta_publish_ = true;
  TearDown();
  start(c);
  fake_transport& t = stuck_subscriber({"a"}, /*delta=*/true);
  publish_rounds({"a"}, 100, /*pad=*/400);
  ASSERT_TRUE(t.client().holding_back());
  t.stuck = false;
  t.flush();
  auto pubs = publications(t.all());
  ASSERT_GE(pubs.size(), 2u) << t.all();
  EXPECT_EQ(pubs.back().offset, 100u);
  EXPECT_FALSE(pubs.back().delta) << "its base (the previous publication) was skipped";
  // Before the skip the subscriber got patches; after it, the next one is a patch against
  // the publication it was sent in full.
  EXPECT_TRUE(pubs[pubs.size() - 2].delta) << t.all();
  publish_rounds({"a"}, 1, 400);
  auto next = publications(t.all());
  ASSERT_EQ(next.size(), pubs.size() + 1);
  EXPECT_EQ(next.back().offset, 101u);
  EXPECT_TRUE(next.back().delta) << t.all();
}

TEST_F(conflation_hub, a_closed_connection_releases_what_it_held) {
  fake_transport& t = stuck_subscriber({"a", "b"});
  publish_rounds({"a", "b"}, 100);
  ASSERT_TRUE(t.client().holding_back());
  EXPECT_EQ(loop().counters().conflating.load(), 1);
  t.close(disconnects::connection_closed);
  EXPECT_FALSE(t.client().holding_back());
  EXPECT_EQ(loop().counters().conflating.load(), 0);
}

}  // namespace
}  // namespace gyre::testing
