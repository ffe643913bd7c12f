// redis_address: address forms, topology selection and the placement functions that must
// agree with Centrifugo (jump hash of FNV-1a-64, CRC16 cluster slots).
#include "broker/redis/redis_address.hpp"

#include <gtest/gtest.h>

namespace gyre::redis {
namespace {

shard_spec parse_ok(std::string_view entry, shard_kind hint = shard_kind::standalone) {
  shard_spec s;
  std::string error;
  EXPECT_TRUE(parse_address(entry, hint, s, error)) << entry << ": " << error;
  return s;
}

TEST(redis_address, host_port_and_urls) {
  auto s = parse_ok("127.0.0.1:6380");
  ASSERT_EQ(s.seeds.size(), 1u);
  EXPECT_EQ(s.seeds[0].host, "127.0.0.1");
  EXPECT_EQ(s.seeds[0].port, 6380);
  EXPECT_EQ(s.kind, shard_kind::standalone);

  s = parse_ok("redis://user:p%40ss@example.org:6390/3?io_timeout=2s&connect_timeout=300ms");
  EXPECT_EQ(s.user, "user");
  EXPECT_EQ(s.password, "p@ss");
  EXPECT_EQ(s.db, 3);
  EXPECT_EQ(s.seeds[0].to_string(), "example.org:6390");
  EXPECT_EQ(s.io_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(s.connect_timeout, std::chrono::milliseconds(300));
  EXPECT_EQ(s.display.find("p%40ss"), std::string::npos) << "password is not logged";

  s = parse_ok("rediss://localhost");
  EXPECT_TRUE(s.tls.enabled);
  EXPECT_EQ(s.seeds[0].port, 6379);

  s = parse_ok("tcp://[::1]:7000");
  EXPECT_EQ(s.seeds[0].host, "::1");
  EXPECT_EQ(s.seeds[0].port, 7000);

  s = parse_ok("unix:///var/run/redis.sock?db=2");
  EXPECT_TRUE(s.seeds[0].is_unix());
  EXPECT_EQ(s.seeds[0].path, "/var/run/redis.sock");
  EXPECT_EQ(s.db, 2);

  s = parse_ok(
      "redis+sentinel://s1:26379?sentinel_master_name=mymaster&addr=s2:26380&sentinel_password=x");
  EXPECT_EQ(s.kind, shard_kind::sentinel);
  ASSERT_EQ(s.seeds.size(), 2u);
  EXPECT_EQ(s.seeds[1].to_string(), "s2:26380");
  EXPECT_EQ(s.sentinel_master_name, "mymaster");
  EXPECT_EQ(s.sentinel_password, "x");

  s = parse_ok("redis+cluster://n1:7000?addr=n2:7001&addr=n3:7002");
  EXPECT_EQ(s.kind, shard_kind::cluster);
  EXPECT_EQ(s.seeds.size(), 3u);

  s = parse_ok("n1:7000, n2:7001", shard_kind::cluster);
  EXPECT_EQ(s.seeds.size(), 2u);
}

TEST(redis_address, bad_entries_are_rejected_with_the_key) {
  config::redis_config cfg;
  topology t;
  std::string error;
  cfg.address_ = {"127.0.0.1:6379", "redis://h:99999"};
  EXPECT_FALSE(parse_topology(cfg, "engine.redis", t, error));
  EXPECT_NE(error.find("engine.redis.address[1]"), std::string::npos) << error;
  EXPECT_NE(error.find("99999"), std::string::npos) << error;

  cfg.address_ = {"foo://h:1"};
  EXPECT_FALSE(parse_topology(cfg, "broker.redis", t, error));
  EXPECT_NE(error.find("broker.redis.address[0]"), std::string::npos) << error;

  cfg.address_ = {"redis+sentinel://h:26379"};
  EXPECT_FALSE(parse_topology(cfg, "engine.redis", t, error));
  EXPECT_NE(error.find("sentinel_master_name"), std::string::npos) << error;

  cfg.address_ = {"redis://h:1?nope=1"};
  EXPECT_FALSE(parse_topology(cfg, "engine.redis", t, error));
  EXPECT_NE(error.find("nope"), std::string::npos) << error;
}

// Logs, health and errors show an address through redact_url_passwords (core/redact.hpp):
// the Sentinel password in the query and a password holding '@' are hidden too.
TEST(redis_address, secrets_never_reach_the_display_or_errors) {
  auto s =
      parse_ok("redis+sentinel://u:pw1@h:26379?sentinel_master_name=m&sentinel_password=pw2&db=1");
  EXPECT_EQ(s.sentinel_password, "pw2");
  EXPECT_EQ(s.display,
            "redis+sentinel://u:***@h:26379?sentinel_master_name=m&sentinel_password=***&db=1");
  s = parse_ok("redis://u:p@ss@h:6379");
  EXPECT_EQ(s.password, "p@ss");
  EXPECT_EQ(s.display, "redis://u:***@h:6379");

  config::redis_config cfg;
  topology t;
  std::string error;
  cfg.address_ = {"redis://u:p@ss@h:99999"};
  EXPECT_FALSE(parse_topology(cfg, "engine.redis", t, error));
  EXPECT_NE(error.find("redis://u:***@h:99999"), std::string::npos) << error;
  EXPECT_EQ(error.find("ss@"), std::string::npos) << error;
}

TEST(redis_address, cluster_beats_sentinel_beats_address) {
  config::redis_config cfg;
  cfg.address_ = {"a:1", "b:2"};
  topology t;
  std::string error;
  ASSERT_TRUE(parse_topology(cfg, "engine.redis", t, error)) << error;
  EXPECT_EQ(t.shards.size(), 2u);
  EXPECT_FALSE(t.cluster());
  cfg.sentinel_address_ = {"s1:26379,s2:26379"};
  cfg.sentinel_master_name_ = "m";
  ASSERT_TRUE(parse_topology(cfg, "engine.redis", t, error)) << error;
  ASSERT_EQ(t.shards.size(), 1u);
  EXPECT_EQ(t.shards[0].kind, shard_kind::sentinel);
  EXPECT_EQ(t.shards[0].seeds.size(), 2u);
  cfg.cluster_address_ = {"c1:7000,c2:7001"};
  ASSERT_TRUE(parse_topology(cfg, "engine.redis", t, error)) << error;
  EXPECT_TRUE(t.cluster());
  EXPECT_EQ(t.shards[0].seeds.size(), 2u);
}

TEST(redis_address, jump_hash_of_fnv1a_matches_the_reference_algorithm) {
  // Expected values computed with an independent (Python) transcription of engines.md §4.1.
  EXPECT_EQ(fnv1a64("chat"), 17483973832482698379ULL);
  EXPECT_EQ(fnv1a64(""), 14695981039346656037ULL);
  struct tc {
    const char* ch;
    size_t n2, n3, n5, n16;
  };
  for (const tc& t :
       {tc{"chat", 0, 0, 4, 4}, tc{"news:1", 0, 0, 0, 0}, tc{"", 1, 1, 1, 13},
        tc{"user#42", 1, 2, 2, 13}, tc{"a_long_channel_name_for_testing", 1, 1, 3, 6}}) {
    EXPECT_EQ(shard_index(t.ch, 2), t.n2) << t.ch;
    EXPECT_EQ(shard_index(t.ch, 3), t.n3) << t.ch;
    EXPECT_EQ(shard_index(t.ch, 5), t.n5) << t.ch;
    EXPECT_EQ(shard_index(t.ch, 16), t.n16) << t.ch;
    EXPECT_EQ(shard_index(t.ch, 1), 0u);
  }
}

TEST(redis_address, cluster_slots_use_crc16_and_hash_tags) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(cluster_slot("foo"), 12182);  // the example of the Redis Cluster spec
  EXPECT_EQ(cluster_slot("centrifugo.stream.{chat}"), cluster_slot("chat"));
  EXPECT_EQ(cluster_slot("centrifugo.client.{chat}"), cluster_slot("centrifugo.result.{chat}.k"));
  EXPECT_EQ(cluster_slot("a{}b"), cluster_slot("a{}b")) << "empty tag: the whole key";
}

}  // namespace
}  // namespace gyre::redis
