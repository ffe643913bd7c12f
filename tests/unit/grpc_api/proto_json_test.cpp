// proto_json: GRPC API messages to the executor's JSON params and its JSON results back
// (bytes as base64 params or raw JSON, maps with their keys as written, refusals).
#include "grpc_api/proto_json.hpp"

#include <gtest/gtest.h>

#include "grpc_api/api.pb.h"

namespace gyre::grpc_api {
namespace {

namespace pb = centrifugal::centrifugo::api;

std::string params_of(const google::protobuf::Message& m) {
  std::string out;
  EXPECT_TRUE(to_params(m, out));
  return out;
}

TEST(proto_json, bytes_with_a_base64_sibling_go_as_base64) {
  pb::PublishRequest r;
  r.set_channel("news:a");
  r.set_data(std::string("\xff\x00{", 3));
  r.set_skip_history(true);
  (*r.mutable_tags())["k"] = "v";
  EXPECT_EQ(params_of(r),
            R"({"channel":"news:a","b64data":"/wB7","skip_history":true,"tags":{"k":"v"}})");
  r.set_b64data("e30=");  // set: wins, the bytes are not sent
  EXPECT_EQ(params_of(r),
            R"({"channel":"news:a","b64data":"e30=","skip_history":true,"tags":{"k":"v"}})");
}

TEST(proto_json, bytes_without_a_sibling_must_be_json) {
  pb::RefreshRequest r;
  r.set_user("u");
  r.set_info(R"({"a": [1, 2]})");
  EXPECT_EQ(params_of(r), R"({"user":"u","info":{"a": [1, 2]}})");
  r.set_info("{oops");
  std::string out;
  EXPECT_FALSE(to_params(r, out));
}

TEST(proto_json, nested_and_repeated_messages) {
  pb::BatchRequest b;
  b.set_parallel(true);
  b.add_commands()->mutable_presence_stats()->set_channel("c");
  b.add_commands();  // empty: the executor answers 104
  auto* s = b.add_commands()->mutable_subscribe();
  s->set_channel("x");
  s->set_expire_at(-5);
  s->mutable_override()->mutable_presence()->set_value(false);
  s->mutable_recover_since()->set_offset(18446744073709551615ull);
  EXPECT_EQ(params_of(b),
            R"({"commands":[{"presence_stats":{"channel":"c"}},{},{"subscribe":{"channel":"x",)"
            R"("expire_at":-5,"recover_since":{"offset":18446744073709551615},"override":)"
            R"({"presence":{}}}}],"parallel":true})");
}

TEST(proto_json, results_keep_raw_json_and_map_keys_as_written) {
  std::string json =
      R"({"publications":[{"data":{"x": 1},"offset":3,"tags":{"K":"V"},"info":{"user":"u",)"
      R"("client":"c","conn_info":[1,"a"]}},{"data":"s","offset":4}],"epoch":"ep",)"
      R"("offset":4,"unknown":{"deep":[1,2,{}]}})";
  pb::HistoryResult h;
  ASSERT_TRUE(from_result(json, h));
  ASSERT_EQ(h.publications_size(), 2);
  EXPECT_EQ(h.publications(0).data(), R"({"x": 1})");
  EXPECT_EQ(h.publications(0).offset(), 3u);
  EXPECT_EQ(h.publications(0).tags().at("K"), "V");
  EXPECT_EQ(h.publications(0).info().conn_info(), R"([1,"a"])");
  EXPECT_EQ(h.publications(1).data(), R"("s")");
  EXPECT_EQ(h.epoch(), "ep");
  EXPECT_EQ(h.offset(), 4u);

  std::string channels = R"({"channels":{"Chat:A":{"num_clients":2}}})";
  pb::ChannelsResult c;
  ASSERT_TRUE(from_result(channels, c));
  EXPECT_EQ(c.channels().at("Chat:A").num_clients(), 2u);
}

TEST(proto_json, results_of_the_wrong_shape_are_refused) {
  pb::PublishResult p;
  std::string wrong_type = R"({"offset":"seven"})";
  EXPECT_FALSE(from_result(wrong_type, p));
  std::string not_json = R"({"offset":)";
  EXPECT_FALSE(from_result(not_json, p));
  std::string binary = std::string(R"({"publications":[{"data":)") + "\xff\x01" + "}]}";
  pb::HistoryResult h;
  EXPECT_FALSE(from_result(binary, h));
  std::string array = "[]";
  EXPECT_FALSE(from_result(array, p));
}

}  // namespace
}  // namespace gyre::grpc_api
