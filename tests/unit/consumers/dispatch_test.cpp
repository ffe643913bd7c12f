// The consumers' message decoding (command mode with the method in metadata or in the
// {method, payload} envelope, publication data mode) and the dispatch through the API
// executor over a node with the memory engine: done / skipped / retry and the counters.
#include "consumers/dispatch.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "api/executor.hpp"
#include "hub/hub_fixture.hpp"
#include "protocol/json_object.hpp"

namespace gyre::consumers {
namespace {

using protocol::json_object;

TEST(consumer_decode, method_in_metadata_takes_the_body_as_the_request) {
  auto d = decode_command("publish", R"({"channel":"a","data":{"x":1}})");
  ASSERT_NE(d.method, nullptr) << d.skip_reason;
  EXPECT_EQ(d.method->name, "publish");
  EXPECT_EQ(d.params, R"({"channel":"a","data":{"x":1}})");
}

TEST(consumer_decode, envelope_with_an_object_payload) {
  auto d =
      decode_command("", R"({"method":"broadcast","payload":{"channels":["a","b"],"data":1}})");
  ASSERT_NE(d.method, nullptr) << d.skip_reason;
  EXPECT_EQ(d.method->name, "broadcast");
  EXPECT_EQ(d.params, R"({"channels":["a","b"],"data":1})");
}

TEST(consumer_decode, envelope_with_a_json_string_payload) {
  auto d =
      decode_command("", R"({"method":"publish","payload":"{\"channel\":\"a\",\"data\":{}}"})");
  ASSERT_NE(d.method, nullptr) << d.skip_reason;
  EXPECT_EQ(d.method->name, "publish");
  EXPECT_EQ(d.params, R"({"channel":"a","data":{}})");
}

TEST(consumer_decode, every_supported_method_and_no_other) {
  for (auto m : {"publish", "broadcast", "subscribe", "unsubscribe", "disconnect", "history_remove",
                 "refresh"})
    EXPECT_NE(consumable_method(m), nullptr) << m;
  for (auto m : {"history", "presence", "info", "batch", "rpc", "channels", "Publish", ""})
    EXPECT_EQ(consumable_method(m), nullptr) << m;
}

TEST(consumer_decode, bad_messages_are_skipped_with_a_reason) {
  struct tc {
    const char* method;
    const char* body;
    const char* reason;
  };
  for (const tc& c : {
           tc{"publish", "not json", "invalid JSON"},
           tc{"publish", R"(["a"])", "invalid JSON"},
           tc{"history", R"({"channel":"a"})", "unsupported method \"history\""},
           tc{"", "{", "invalid JSON"},
           tc{"", R"({"payload":{}})", "no method"},
           tc{"", R"({"method":"info","payload":{}})", "unsupported method \"info\""},
           tc{"", R"({"method":"publish"})", "no payload"},
           tc{"", R"({"method":"publish","payload":"not json"})", "invalid JSON"},
           tc{"", R"({"method":"publish","payload":5})", "invalid JSON"},
           tc{"", R"({"method":5,"payload":{}})", "invalid JSON"},
       }) {
    auto d = decode_command(c.method, c.body);
    EXPECT_EQ(d.method, nullptr) << c.body;
    EXPECT_NE(d.skip_reason.find(c.reason), std::string::npos) << c.body << " -> " << d.skip_reason;
  }
}

config::publication_data_mode_config data_mode() {
  config::publication_data_mode_config m;
  m.enabled_ = true;
  return m;
}

TEST(consumer_decode, publication_data_mode_one_channel_is_a_publish) {
  message_meta meta{{{"centrifugo-channels", "news"},
                     {"centrifugo-idempotency-key", "k1"},
                     {"centrifugo-delta", "true"},
                     {"centrifugo-version", "7"},
                     {"centrifugo-version-epoch", "e"},
                     {"centrifugo-tag-color", "red"},
                     {"other", "x"}}};
  auto d = decode_publication(data_mode(), meta, R"({"v":1})");
  ASSERT_NE(d.method, nullptr) << d.skip_reason;
  EXPECT_EQ(d.method->name, "publish");
  EXPECT_EQ(d.params, R"({"channel":"news","data":{"v":1},"idempotency_key":"k1","delta":true,)"
                      R"("version":7,"version_epoch":"e","tags":{"color":"red"}})");
}

TEST(consumer_decode, publication_data_mode_several_channels_is_a_broadcast) {
  message_meta meta{{{"centrifugo-channels", "a,b"}}};
  auto d = decode_publication(data_mode(), meta, "plain text");
  ASSERT_NE(d.method, nullptr) << d.skip_reason;
  EXPECT_EQ(d.method->name, "broadcast");
  EXPECT_EQ(d.params, R"({"channels":["a","b"],"b64data":"cGxhaW4gdGV4dA=="})");
}

TEST(consumer_decode, publication_data_mode_bad_metadata_is_skipped) {
  EXPECT_EQ(decode_publication(data_mode(), {}, "{}").method, nullptr);
  EXPECT_EQ(decode_publication(data_mode(),
                               {{{"centrifugo-channels", "a"}, {"centrifugo-delta", "yes"}}}, "{}")
                .method,
            nullptr);
  EXPECT_EQ(decode_publication(data_mode(),
                               {{{"centrifugo-channels", "a"}, {"centrifugo-version", "-1"}}}, "{}")
                .method,
            nullptr);
}

TEST(consumer_retry, only_internal_errors_are_retried) {
  EXPECT_TRUE(is_retryable(false, 100, ""));
  EXPECT_FALSE(is_retryable(false, 107, ""));
  EXPECT_FALSE(is_retryable(false, 102, ""));
  EXPECT_FALSE(is_retryable(true, 0, R"({"offset":1})"));
  EXPECT_TRUE(is_retryable(
      true, 0, R"({"responses":[{"result":{}},{"error":{"code":100,"message":"internal"}}]})"));
  EXPECT_FALSE(is_retryable(true, 0, R"({"responses":[{"error":{"code":107,"message":"x"}}]})"));
}

TEST(consumer_retry, backoff_grows_to_five_seconds) {
  EXPECT_GE(retry_backoff(0).count(), 10);
  EXPECT_LT(retry_backoff(0).count(), 20);
  EXPECT_GE(retry_backoff(3).count(), 80);
  EXPECT_EQ(retry_backoff(20).count(), 5000);
}

class consumer_dispatch : public testing::hub_fixture {
 protected:
  result run(dispatcher& d, const decoded& dec) {
    std::optional<result> out;
    d.run(dec, "s/1-0", [&](result r) { out = std::move(r); });
    drain();
    EXPECT_TRUE(out.has_value());
    return out.value_or(result{outcome::retry, "no answer"});
  }
};

TEST_F(consumer_dispatch, runs_commands_and_counts_them) {
  api_executor exec(*node_);
  consumer_metrics m(registry_);
  dispatcher d(exec, "c1", m);
  EXPECT_EQ(run(d, decode_command("publish", R"({"channel":"a","data":{"n":1}})")).kind,
            outcome::done);
  EXPECT_EQ(run(d, decode_command(
                       "", R"({"method":"publish","payload":"{\"channel\":\"a\",\"data\":2}"})"))
                .kind,
            outcome::done);
  // A validation failure (no channel) is skipped, not retried.
  EXPECT_EQ(run(d, decode_command("publish", R"({"data":{}})")).kind, outcome::skipped);
  // Wrong types: the executor's "malformed" answer is a skip too.
  EXPECT_EQ(run(d, decode_command("publish", R"({"channel":5,"data":{}})")).kind, outcome::skipped);
  EXPECT_EQ(run(d, decode_command("nope", "{}")).kind, outcome::skipped);
  EXPECT_EQ(m.processed.with({"c1"}).value(), 5u);
  EXPECT_EQ(m.errors.with({"c1"}).value(), 3u);
  std::string metrics = registry_.render();
  EXPECT_NE(metrics.find(R"(centrifugo_consumers_messages_processed_total{consumer_name="c1"} 5)"),
            std::string::npos)
      << metrics;
  EXPECT_NE(
      metrics.find(
          R"(centrifugo_api_command_duration_seconds_histogram_count{protocol="consuming",method="publish"} 4)"),
      std::string::npos)
      << metrics;
}

TEST_F(consumer_dispatch, publication_data_mode_publishes_with_the_idempotency_key) {
  api_executor exec(*node_);
  consumer_metrics m(registry_);
  dispatcher d(exec, "c2", m);
  message_meta meta{{{"centrifugo-channels", "a"}, {"centrifugo-idempotency-key", "k"}}};
  auto dec = decode_publication(data_mode(), meta, R"({"x":1})");
  EXPECT_EQ(run(d, dec).kind, outcome::done);
  EXPECT_EQ(run(d, dec).kind, outcome::done);
  std::optional<uint64_t> top;
  history_query q;
  broker_->history("a", q, [&](gyre::result<history_page> r) { top = r ? r->top.offset : 0; });
  EXPECT_EQ(top.value_or(0), 1u);  // the second one was a duplicate
}

}  // namespace
}  // namespace gyre::consumers
