// consumers[]: the typed blocks (redis_stream, nats_jetstream, postgresql) with
// Centrifugo's keys and defaults, environment variables, and the checks of an enabled
// consumer (errors name the key; a disabled one is checked for name and type only).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config_test_util.hpp"
#include "config/validate.hpp"

namespace gyre::config {
namespace {

using namespace std::chrono_literals;
using test::load_json;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(consumers_config, redis_stream_keys_and_defaults) {
  auto r = load_json(R"({"consumers": [{"name": "rs", "enabled": true, "type": "redis_stream",
      "redis_stream": {"address": ["redis://127.0.0.1:6390"], "streams": ["s1", "s2"],
                       "consumer_group": "g", "num_workers": 2,
                       "publication_data_mode": {"enabled": true, "channels_value": "ch"}}}]})");
  ASSERT_TRUE(r.ok()) << r.error_;
  const auto& c = r.config_.consumers_.at(0).redis_stream_;
  EXPECT_EQ(c.address_, std::vector<std::string>{"redis://127.0.0.1:6390"});
  EXPECT_EQ(c.streams_, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(c.consumer_group_, "g");
  EXPECT_EQ(c.num_workers_, 2);
  EXPECT_EQ(c.visibility_timeout_, 30s);
  EXPECT_EQ(c.payload_value_, "payload");
  EXPECT_EQ(c.method_value_, "method");
  EXPECT_TRUE(c.publication_data_mode_.enabled_);
  EXPECT_EQ(c.publication_data_mode_.channels_, "ch");
  EXPECT_EQ(c.publication_data_mode_.idempotency_key_, "centrifugo-idempotency-key");
  EXPECT_EQ(c.publication_data_mode_.tags_prefix_, "centrifugo-tag-");
  EXPECT_TRUE(validate(r.config_).empty());
  EXPECT_TRUE(r.warnings_.empty());
}

TEST(consumers_config, nats_jetstream_keys_and_defaults) {
  auto r = load_json(R"({"consumers": [{"name": "nj", "type": "nats_jetstream",
      "nats_jetstream": {"stream_name": "S", "durable_consumer_name": "d",
                         "publication_data_mode": {"tags_header_prefix": "t-"}}}]})");
  ASSERT_TRUE(r.ok()) << r.error_;
  const auto& c = r.config_.consumers_.at(0).nats_jetstream_;
  EXPECT_EQ(c.url_, "nats://127.0.0.1:4222");
  EXPECT_EQ(c.deliver_policy_, "new");
  EXPECT_EQ(c.max_ack_pending_, 100);
  EXPECT_EQ(c.method_header_, "centrifugo-method");
  EXPECT_EQ(c.publication_data_mode_.channels_, "centrifugo-channels");
  EXPECT_EQ(c.publication_data_mode_.tags_prefix_, "t-");
}

TEST(consumers_config, postgresql_defaults) {
  auto r = load_json(R"({"consumers": [{"name": "pg", "type": "postgresql",
      "postgresql": {"dsn": "postgres://x", "outbox_table_name": "outbox"}}]})");
  ASSERT_TRUE(r.ok()) << r.error_;
  const auto& c = r.config_.consumers_.at(0).postgresql_;
  EXPECT_EQ(c.num_partitions_, 1);
  EXPECT_EQ(c.partition_select_limit_, 100);
  EXPECT_EQ(c.partition_poll_interval_, 300ms);
}

TEST(consumers_config, environment_variables_reach_the_typed_blocks) {
  test::scoped_env list("CENTRIFUGO_CONSUMERS", "my_stream");
  test::scoped_env type("CENTRIFUGO_CONSUMERS_MY_STREAM_TYPE", "redis_stream");
  test::scoped_env streams("CENTRIFUGO_CONSUMERS_MY_STREAM_REDIS_STREAM_STREAMS", "a b");
  test::scoped_env group("CENTRIFUGO_CONSUMERS_MY_STREAM_REDIS_STREAM_CONSUMER_GROUP", "g");
  auto r = load_json("{}");
  ASSERT_TRUE(r.ok()) << r.error_;
  ASSERT_EQ(r.config_.consumers_.size(), 1u);
  EXPECT_EQ(r.config_.consumers_[0].redis_stream_.streams_, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.config_.consumers_[0].redis_stream_.consumer_group_, "g");
}

TEST(consumers_config, an_enabled_consumer_must_have_its_required_keys) {
  auto r = load_json(R"({"consumers": [
      {"name": "ok_one", "enabled": false, "type": "redis_stream"},
      {"name": "rs", "enabled": true, "type": "redis_stream",
       "redis_stream": {"num_workers": -1}},
      {"name": "nj", "enabled": true, "type": "nats_jetstream",
       "nats_jetstream": {"deliver_policy": "last"}},
      {"name": "pg", "enabled": true, "type": "postgresql",
       "postgresql": {"partition_poll_interval": "-1s"}}]})");
  ASSERT_TRUE(r.ok()) << r.error_;
  auto errors = validate(r.config_);
  EXPECT_THAT(errors, Contains(HasSubstr("consumers[1].redis_stream.streams:")));
  EXPECT_THAT(errors, Contains(HasSubstr("consumers[1].redis_stream.consumer_group:")));
  EXPECT_THAT(errors, Contains(HasSubstr("consumers[1].redis_stream.num_workers:")));
  EXPECT_THAT(errors, Contains(HasSubstr("consumers[2].nats_jetstream.stream_name:")));
  EXPECT_THAT(errors, Contains(HasSubstr("consumers[2].nats_jetstream.durable_consumer_name:")));
  EXPECT_THAT(errors, Contains(HasSubstr("consumers[2].nats_jetstream.deliver_policy:")));
  EXPECT_THAT(errors, Contains(HasSubstr("consumers[3].postgresql.dsn:")));
  EXPECT_THAT(errors, Contains(HasSubstr("consumers[3].postgresql.outbox_table_name:")));
  EXPECT_THAT(errors, Contains(HasSubstr("consumers[3].postgresql.partition_poll_interval:")));
  for (const auto& e : errors) EXPECT_THAT(e, Not(HasSubstr("consumers[0]")));
}

}  // namespace
}  // namespace gyre::config
