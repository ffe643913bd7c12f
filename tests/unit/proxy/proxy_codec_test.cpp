// Proxy request/response JSON (src/proxy/proxy_codec.hpp): request fields per call kind,
// binary encoding, and how responses decode: precedence, b64 fields, wrong types.
#include "proxy/proxy_codec.hpp"

#include <gtest/gtest.h>

namespace gyre::proxy {
namespace {

request base(call_kind k) {
  request r;
  r.kind = k;
  r.client = "c1";
  r.transport = "websocket";
  r.protocol = "json";
  return r;
}

TEST(ProxyCodec, ConnectRequestLeavesOutUserAndEmptyFields) {
  request r = base(call_kind::connect);
  r.data = R"({"a":1})";
  r.name = "js";
  std::string out;
  ASSERT_TRUE(encode_request(r, out));
  EXPECT_EQ(out, R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
                 R"("name":"js","data":{"a":1}})");
}

TEST(ProxyCodec, SubscribeRequestAlwaysHasUserAndMetaWhenGiven) {
  request r = base(call_kind::subscribe);
  r.channel = "ns:ch";
  r.meta = R"({"m":1})";
  std::string out;
  ASSERT_TRUE(encode_request(r, out));
  EXPECT_EQ(out, R"({"client":"c1","transport":"websocket","protocol":"json","encoding":"json",)"
                 R"("user":"","channel":"ns:ch","meta":{"m":1}})");
}

TEST(ProxyCodec, BinaryEncodingSendsB64Data) {
  request r = base(call_kind::rpc);
  r.protocol = "protobuf";
  r.binary = true;
  r.user = "u";
  r.method = "m";
  r.data = std::string("\x00\xff", 2);
  std::string out;
  ASSERT_TRUE(encode_request(r, out));
  EXPECT_EQ(out,
            R"({"client":"c1","transport":"websocket","protocol":"protobuf","encoding":"binary",)"
            R"("user":"u","method":"m","b64data":"AP8="})");
}

TEST(ProxyCodec, NonJsonDataWithoutBinaryEncodingIsRefused) {
  request r = base(call_kind::publish);
  r.data = "not json";
  std::string out;
  EXPECT_FALSE(encode_request(r, out));
}

TEST(ProxyCodec, ConnectResultDecodes) {
  std::string why;
  auto r = decode_reply(
      call_kind::connect,
      R"({"result":{"user":"alice","expire_at":1700000000,"info":{"i":1},)"
      R"("b64data":"eyJkIjoxfQ==","channels":["a","b"],"meta":{"m":true},)"
      R"("subs":{"News:Ch":{"info":{"x":1},"override":{"presence":{"value":true}}}}}})",
      why);
  ASSERT_TRUE(r) << why;
  EXPECT_TRUE(r->has_result);
  EXPECT_EQ(r->user, "alice");
  EXPECT_EQ(r->expire_at, 1700000000);
  EXPECT_EQ(r->info, R"({"i":1})");
  EXPECT_EQ(r->data, R"({"d":1})");
  EXPECT_EQ(r->channels, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->meta, R"({"m":true})");
  ASSERT_EQ(r->subs.count("News:Ch"), 1u);  // channel names keep their case
  EXPECT_EQ(r->subs["News:Ch"].info, R"({"x":1})");
  EXPECT_EQ(r->subs["News:Ch"].overrides.presence, true);
}

TEST(ProxyCodec, ErrorAndDisconnectDecode) {
  std::string why;
  auto r = decode_reply(call_kind::subscribe,
                        R"({"error":{"code":1000,"message":"no","temporary":true},)"
                        R"("disconnect":{"code":4500,"reason":"bye"}})",
                        why);
  ASSERT_TRUE(r) << why;
  ASSERT_TRUE(r->disconnect);
  EXPECT_EQ(r->disconnect->first, 4500u);
  EXPECT_EQ(r->disconnect->second, "bye");
  ASSERT_TRUE(r->error);
  EXPECT_EQ(r->error->code, 1000u);
  EXPECT_EQ(r->error->message, "no");
  EXPECT_TRUE(r->error->temporary);
  EXPECT_FALSE(r->has_result);
}

TEST(ProxyCodec, EmptyObjectIsNoResult) {
  std::string why;
  auto r = decode_reply(call_kind::connect, "{}", why);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_result);
  EXPECT_FALSE(r->error);
  EXPECT_FALSE(r->disconnect);
}

TEST(ProxyCodec, PublishKeepsNullData) {
  std::string why;
  auto r = decode_reply(call_kind::publish,
                        R"({"result":{"data":null,"skip_history":true,"tags":{"k":"v"}}})", why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->data, "null");
  EXPECT_TRUE(r->skip_history);
  EXPECT_EQ(r->tags.size(), 1u);
}

TEST(ProxyCodec, SubscribeOverrideAndExpiry) {
  std::string why;
  auto r = decode_reply(call_kind::subscribe,
                        R"({"result":{"expire_at":5,"override":{"join_leave":{"value":false},)"
                        R"("force_recovery":{"value":true}}}})",
                        why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->expire_at, 5);
  EXPECT_EQ(r->override_.join_leave, false);
  EXPECT_EQ(r->override_.force_recovery, true);
  EXPECT_FALSE(r->override_.presence);
}

TEST(ProxyCodec, RefreshResult) {
  std::string why;
  auto r = decode_reply(call_kind::refresh, R"({"result":{"expired":true}})", why);
  ASSERT_TRUE(r) << why;
  EXPECT_TRUE(r->expired);
}

TEST(ProxyCodec, BadBodiesAreRefusedWithAReason) {
  for (const char* body : {
           "",
           "not json",
           "[]",
           R"({"result":"x"})",
           R"({"result":{"user":5}})",
           R"({"result":{"b64data":"%%%"}})",
           R"({"error":{"code":"x"}})",
           R"({"disconnect":{"code":-1}})",
           R"({"result":{"subs":{"a":5}}})",
           R"({"result":{"expire_at":"soon"}})",
       }) {
    std::string why;
    EXPECT_FALSE(decode_reply(call_kind::connect, body, why)) << body;
    EXPECT_FALSE(why.empty()) << body;
  }
}

}  // namespace
}  // namespace gyre::proxy
