// Unit tests for the node's Centrifugo-compatible metrics (docs/metrics.md): messages to
// and from the broker by type, engine actions, reply errors by method and code, recovery
// outcomes with the recovered-publications histogram, connections by transport and
// protocol, and the summary derived from the command duration histogram.
#include "hub/node.hpp"

#include <gtest/gtest.h>

#include <string>

#include "hub/hub_fixture.hpp"

namespace gyre::testing {
namespace {

class node_metrics : public hub_fixture {
 protected:
  node_metrics() : hub_fixture(1) {}

  config::config make_config() override {
    config::config c = hub_fixture::make_config();
    c.prometheus_.recovered_publications_histogram_ = true;
    return c;
  }

  bool has(const std::string& line) {
    std::string t = registry_.render();
    return t.find("\n" + line + "\n") != std::string::npos;
  }
  std::string render() { return registry_.render(); }

  // Publishes through the node's (counted) engine.
  stream_position publish_counted(const std::string& channel) {
    std::optional<result<publish_outcome>> out;
    publication p;
    p.data = "{}";
    node_->engine().publish(channel, std::move(p),
                            node_->publish_options_for(cfg_->channel_.without_namespace_, *cfg_),
                            [&](result<publish_outcome> r) { out = std::move(r); });
    EXPECT_TRUE(out && *out);
    return (*out)->position;
  }
};

TEST_F(node_metrics, broker_messages_and_actions_by_type) {
  fake_transport& t = connect();
  t.send(R"({"subscribe":{"channel":"a"},"id":2})");
  drain();
  publish_counted("a");
  publish_counted("a");
  drain();
  EXPECT_TRUE(
      has(R"(centrifugo_node_messages_sent_count{type="publication",channel_namespace=""} 2)"))
      << render();
  EXPECT_TRUE(
      has(R"(centrifugo_node_messages_received_count{type="publication",channel_namespace=""} 2)"))
      << render();
  EXPECT_TRUE(has(R"(centrifugo_node_action_count{action="publish",channel_namespace=""} 2)"))
      << render();
  EXPECT_TRUE(has(
      R"(centrifugo_client_connections_accepted{transport="websocket",accept_protocol="json",client_name="",client_version=""} 1)"))
      << render();
  EXPECT_TRUE(has(
      R"(centrifugo_client_connections_inflight{transport="websocket",accept_protocol="json",client_name="",client_version=""} 1)"))
      << render();
  t.close(disconnects::connection_closed);
  EXPECT_TRUE(has(
      R"(centrifugo_client_connections_inflight{transport="websocket",accept_protocol="json",client_name="",client_version=""} 0)"))
      << render();
  // join/leave/control children exist from the start (0), so rate() works at once.
  EXPECT_TRUE(has(R"(centrifugo_node_messages_sent_count{type="join",channel_namespace=""} 0)"))
      << render();
}

TEST_F(node_metrics, reply_errors_by_method_and_code) {
  fake_transport& t = connect();
  // A namespace that does not exist: 102 unknown channel.
  t.send(R"({"publish":{"channel":"nope:a","data":{}},"id":2})");
  drain();
  ASSERT_TRUE(t.saw(R"("code":102)")) << t.all();
  // The second one goes to the same series (found once, then cached).
  t.send(R"({"publish":{"channel":"nope:b","data":{}},"id":3})");
  drain();
  EXPECT_TRUE(has(
      R"(centrifugo_client_num_reply_errors{method="publish",code="102",channel_namespace=""} 2)"))
      << render();
  // The duration summary has the same count as the histogram it is derived from.
  EXPECT_TRUE(has(
      R"(centrifugo_client_command_duration_seconds_count{method="publish",channel_namespace=""} 2)"))
      << render();
  EXPECT_TRUE(has(
      R"(centrifugo_client_command_duration_seconds_histogram_count{method="publish",channel_namespace=""} 2)"))
      << render();
}

TEST_F(node_metrics, recovery_counts_and_recovered_publications) {
  stream_position top;
  for (int i = 0; i < 3; ++i) top = publish_counted("r");
  fake_transport& t = connect();
  t.send(
      R"({"subscribe":{"channel":"r","recover":true,"recoverable":true,"positioned":true,"epoch":")" +
      top.epoch + R"(","offset":1},"id":2})");
  drain();
  ASSERT_TRUE(t.saw(R"("recovered":true)")) << t.all();
  EXPECT_TRUE(has(
      R"(centrifugo_client_recover{recovered="yes",channel_namespace="",has_recovered_publications="yes"} 1)"))
      << render();
  EXPECT_TRUE(has(R"(centrifugo_client_recovered_publications_sum{channel_namespace=""} 2)"))
      << render();
  EXPECT_TRUE(has(R"(centrifugo_client_recovered_publications_count{channel_namespace=""} 1)"))
      << render();
  EXPECT_TRUE(has(R"(centrifugo_node_action_count{action="history",channel_namespace=""} 1)"))
      << render();
  // An unrecoverable epoch counts as not recovered, without publications.
  t.send(
      R"({"subscribe":{"channel":"r2","recover":true,"recoverable":true,"positioned":true,"epoch":"x","offset":1},"id":3})");
  drain();
  EXPECT_TRUE(has(
      R"(centrifugo_client_recover{recovered="no",channel_namespace="",has_recovered_publications="no"} 1)"))
      << render();
}

TEST_F(node_metrics, transport_frames_by_type_and_size) {
  fake_transport& t = connect();  // one connect command, one connect reply
  const std::string sub = R"({"subscribe":{"channel":"a"},"id":2})";
  t.send(sub);
  drain();
  publish_counted("a");
  publish_counted("a");
  drain();
  auto tr = [](const char* frame) {
    return std::string(R"({transport="websocket",frame_type=")") + frame +
           R"(",channel_namespace=""} )";
  };
  EXPECT_TRUE(has("centrifugo_transport_messages_sent" + tr("push_publication") + "2")) << render();
  EXPECT_TRUE(has("centrifugo_transport_messages_sent" + tr("connect") + "1")) << render();
  EXPECT_TRUE(has("centrifugo_transport_messages_sent" + tr("subscribe") + "1")) << render();
  EXPECT_TRUE(has("centrifugo_transport_messages_received" + tr("subscribe") + "1")) << render();
  EXPECT_TRUE(has("centrifugo_transport_messages_received_size" + tr("subscribe") +
                  std::to_string(sub.size())))
      << render();
  // Frame types that were never seen have no series.
  EXPECT_EQ(render().find(tr("push_join")), std::string::npos) << render();
  EXPECT_NE(render().find("# TYPE centrifugo_transport_messages_sent_size counter\n"),
            std::string::npos);
}

TEST_F(node_metrics, frame_type_names_are_centrifugos) {
  EXPECT_STREQ(frame_type_name(frame_type::server_ping), "server_ping");
  EXPECT_STREQ(frame_type_name(frame_type::push_publication), "push_publication");
  EXPECT_STREQ(frame_type_name(frame_type::presence_stats), "presence_stats");
  EXPECT_STREQ(frame_type_name(frame_type::sub_refresh), "sub_refresh");
  EXPECT_STREQ(frame_type_name(frame_type::send), "send");
  EXPECT_EQ(frame_of_command(protocol::command_kind::ping), frame_type::client_pong);
  protocol::reply r;
  r.result = protocol::history_result{};
  EXPECT_EQ(frame_of_reply(r), frame_type::history);
  EXPECT_EQ(transport_slot("websocket"), 0);
  EXPECT_STREQ(transport_slot_name(transport_slot("nonsense")), "other");
}

TEST_F(node_metrics, recovered_publications_histogram_is_opt_in) {
  metrics::registry other;
  auto cfg = std::make_shared<const config::config>(hub_fixture::make_config());
  node n(cfg, *broker_, *presence_, clock_, other, 1);
  EXPECT_EQ(other.render().find("centrifugo_client_recovered_publications"), std::string::npos);
  EXPECT_NE(
      other.render().find("# TYPE centrifugo_node_num_nodes gauge\ncentrifugo_node_num_nodes 1\n"),
      std::string::npos)
      << other.render();
}

}  // namespace
}  // namespace gyre::testing
