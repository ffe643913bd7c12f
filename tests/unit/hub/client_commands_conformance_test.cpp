// Client commands where Centrifugo's behaviour is specified to the byte: the channel-name
// rule on publish, presence, presence_stats and history (107 like subscribe), the
// publication_data_format check of client publishes (JSON and Protobuf clients), history
// with reverse and a since past the top, and the epoch on the first publication of a
// history or recovery reply (memory engine). A real node with the memory engine, commands
// through fake transports.
#include "hub/client.hpp"

#include <gtest/gtest.h>

#include <string>

#include "hub/hub_fixture.hpp"
#include "protocol/client.pb.h"

namespace gyre::testing {
namespace {

namespace pb = centrifugal::centrifuge::protocol;

std::string pb_framed(const pb::Command& m) {
  std::string body = m.SerializeAsString();
  std::string out;
  for (uint64_t v = body.size();; v >>= 7) {
    if (v < 0x80) {
      out.push_back(static_cast<char>(v));
      break;
    }
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
  }
  return out + body;
}

class client_conformance : public hub_fixture {
 protected:
  client_conformance() : hub_fixture(1) {}

  config::config make_config() override {
    config::config c = hub_fixture::make_config();
    auto ns = [&](std::string name) -> config::channel_namespace& {
      config::channel_namespace n;
      static_cast<config::channel_options&>(n) = c.channel_.without_namespace_;
      n.name_ = std::move(name);
      c.channel_.namespaces_.push_back(n);
      return c.channel_.namespaces_.back();
    };
    ns("rx").channel_regex_ = "^[a-z0-9_]+$";
    ns("nopresence").presence_ = false;
    ns("js").publication_data_format_ = "json";
    ns("jo").publication_data_format_ = "json_object";
    ns("bin").publication_data_format_ = "binary";
    return c;
  }

  // Sends one JSON command with id 2 and returns everything written for it.
  std::string json_command(fake_transport& t, const std::string& cmd) {
    t.written.clear();
    t.send(R"({"id":2,)" + cmd + "}");
    drain();
    return t.all();
  }

  // A Protobuf publish of raw `data`; returns the error code of the reply (0 = success).
  uint32_t pb_publish(fake_transport& t, const std::string& channel, const std::string& data) {
    pb::Command cmd;
    cmd.set_id(2);
    cmd.mutable_publish()->set_channel(channel);
    cmd.mutable_publish()->set_data(data);
    t.written.clear();
    t.send(pb_framed(cmd));
    drain();
    EXPECT_EQ(t.written.size(), 1u);
    if (t.written.empty()) return 0;
    pb::Reply r;
    EXPECT_TRUE(r.ParseFromString(t.written.front().substr(1)));
    EXPECT_EQ(r.id(), 2u);
    return r.has_error() ? r.error().code() : 0;
  }

  fake_transport& pb_connected() {
    pb::Command c;
    c.set_id(1);
    c.mutable_connect();
    return connect(0, protocol::encoding::protobuf, pb_framed(c));
  }
};

const char* const k107 = R"({"id":2,"error":{"code":107,"message":"bad request"}})";

// ---- channel names ----

TEST_F(client_conformance, every_channel_command_refuses_a_name_subscribe_refuses) {
  fake_transport& t = connect();
  for (const std::string ch : {"cañón", "rx:ABC", "rx:a-b"}) {
    SCOPED_TRACE(ch);
    EXPECT_EQ(json_command(t, R"("publish":{"channel":")" + ch + R"(","data":{}})"),
              std::string(k107) + "\n");
    EXPECT_EQ(json_command(t, R"("presence":{"channel":")" + ch + R"("})"),
              std::string(k107) + "\n");
    EXPECT_EQ(json_command(t, R"("presence_stats":{"channel":")" + ch + R"("})"),
              std::string(k107) + "\n");
    EXPECT_EQ(json_command(t, R"("history":{"channel":")" + ch + R"(","limit":1})"),
              std::string(k107) + "\n");
  }
  EXPECT_FALSE(t.closed());
  // Names the rule accepts work.
  for (const std::string ch : {"plain", "rx:abc_1"}) {
    EXPECT_NE(json_command(t, R"("publish":{"channel":")" + ch + R"(","data":{}})")
                  .find(R"("publish":{})"),
              std::string::npos);
    EXPECT_NE(
        json_command(t, R"("presence_stats":{"channel":")" + ch + R"("})").find("num_clients"),
        std::string::npos);
    EXPECT_NE(json_command(t, R"("history":{"channel":")" + ch + R"("})").find(R"("history")"),
              std::string::npos);
  }
}

TEST_F(client_conformance, name_rule_comes_after_the_namespace_and_before_the_feature) {
  fake_transport& t = connect();
  // Unknown namespace first: 102.
  EXPECT_NE(json_command(t, R"("presence":{"channel":"nope:ñ"})").find(R"("code":102)"),
            std::string::npos);
  // A bad name in a namespace without presence: 107, not 108.
  EXPECT_EQ(json_command(t, R"("presence":{"channel":"nopresence:ñ"})"), std::string(k107) + "\n");
  EXPECT_NE(json_command(t, R"("presence":{"channel":"nopresence:n"})").find(R"("code":108)"),
            std::string::npos);
}

TEST_F(client_conformance, publish_names_are_not_limited_by_channel_max_length) {
  // Centrifugo checks channel.max_length on subscribe only.
  fake_transport& t = connect();
  const std::string long_name(300, 'x');
  EXPECT_NE(json_command(t, R"("publish":{"channel":")" + long_name + R"(","data":{}})")
                .find(R"("publish":{})"),
            std::string::npos);
}

// ---- publication_data_format ----

TEST_F(client_conformance, protobuf_publish_data_is_checked_against_the_format) {
  fake_transport& t = pb_connected();
  EXPECT_EQ(pb_publish(t, "js:a", R"({"a":)"), 107u);
  EXPECT_EQ(pb_publish(t, "js:a", "not json"), 107u);
  EXPECT_EQ(pb_publish(t, "js:a", R"([1,"x"])"), 0u);
  EXPECT_EQ(pb_publish(t, "js:a", " 42 "), 0u);
  EXPECT_EQ(pb_publish(t, "jo:a", R"( {"a":1})"), 0u) << "leading whitespace";
  EXPECT_EQ(pb_publish(t, "jo:a", "{\"a\":1}\n"), 0u);
  EXPECT_EQ(pb_publish(t, "jo:a", R"({"a":)"), 107u) << "starts with { but is not JSON";
  EXPECT_EQ(pb_publish(t, "jo:a", "[1]"), 107u);
  EXPECT_EQ(pb_publish(t, "bin:a", "\xff\x00\x01"), 0u);
  EXPECT_EQ(pb_publish(t, "plain", R"({"a":)"), 0u) << "no format: any non-empty data";
  EXPECT_FALSE(t.closed());
}

TEST_F(client_conformance, json_publish_data_is_checked_against_the_format) {
  fake_transport& t = connect();
  EXPECT_EQ(json_command(t, R"("publish":{"channel":"jo:a","data":[1]})"),
            std::string(k107) + "\n");
  EXPECT_EQ(json_command(t, R"("publish":{"channel":"jo:a","data":"{}"})"),
            std::string(k107) + "\n");
  EXPECT_NE(
      json_command(t, R"("publish":{"channel":"jo:a","data":{"a":[1]}})").find(R"("publish":{})"),
      std::string::npos);
  EXPECT_NE(
      json_command(t, R"("publish":{"channel":"js:a","data":"text"})").find(R"("publish":{})"),
      std::string::npos);
}

// ---- history ----

TEST_F(client_conformance, reverse_history_from_past_the_top_is_empty_with_memory) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(publish("h", "{}"));
  fake_transport& t = connect();
  const auto epoch = [&] {
    std::string r = json_command(t, R"("history":{"channel":"h"})");
    size_t at = r.find(R"("epoch":")") + 9;
    return r.substr(at, r.find('"', at) - at);
  }();
  auto hist = [&](uint64_t since) {
    return json_command(t,
                        R"("history":{"channel":"h","limit":10,"reverse":true,"since":{"offset":)" +
                            std::to_string(since) + R"(,"epoch":")" + epoch + R"("}})");
  };
  EXPECT_EQ(hist(5), R"({"id":2,"history":{"publications":[],"epoch":")" + epoch +
                         R"(","offset":3}})"
                         "\n");
  EXPECT_NE(hist(4).find(R"("offset":3},{"data":{},"offset":2},{"data":{},"offset":1)"),
            std::string::npos)
      << "since == top + 1 reads from the top";
}

TEST_F(client_conformance, first_publication_carries_the_epoch_in_history_and_recovery) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(publish("e", "{}"));
  fake_transport& t = connect();
  std::string r = json_command(t, R"("history":{"channel":"e","limit":-1})");
  size_t at = r.find(R"(,"epoch":")", r.find("publications"));
  ASSERT_NE(at, std::string::npos);
  // Only the publication with offset 1 has one, and it is the stream's.
  const std::string top_epoch = [&] {
    size_t e = r.rfind(R"("epoch":")") + 9;
    return r.substr(e, r.find('"', e) - e);
  }();
  EXPECT_NE(r.find(R"({"data":{},"offset":1,"epoch":")" + top_epoch + R"("})"), std::string::npos)
      << r;
  EXPECT_NE(r.find(R"({"data":{},"offset":2})"), std::string::npos) << r;
  EXPECT_NE(r.find(R"({"data":{},"offset":3})"), std::string::npos) << r;

  // Recovery from offset 0 of this epoch returns 1..3 with the same rule.
  std::string s =
      json_command(t, R"("subscribe":{"channel":"e","recover":true,"epoch":")" + top_epoch +
                          R"(","offset":0,"positioned":true,"recoverable":true})");
  EXPECT_NE(s.find(R"({"data":{},"offset":1,"epoch":")" + top_epoch + R"("})"), std::string::npos)
      << s;
  EXPECT_NE(s.find(R"({"data":{},"offset":2})"), std::string::npos) << s;
  EXPECT_NE(s.find(R"("recovered":true)"), std::string::npos) << s;
}

}  // namespace
}  // namespace gyre::testing
