// Tests of the JSON client protocol codec (json_codec()): decoding of real SDK frames and
// every command kind, malformed input, raw payload exactness, and the exact bytes of
// every reply, result and push (client-protocol.md §1.3, §2.1, §2.3, §4.13, §8).
#include "protocol/codec.hpp"

#include <gtest/gtest.h>

#include "protocol/codec_test_util.hpp"

namespace gyre::protocol {
namespace {

using test::decode_padded;

const codec& json = json_codec();

std::vector<command> decode_ok(std::string_view frame) {
  std::vector<command> out;
  EXPECT_EQ(decode_padded(json, frame, out), decode_status::ok) << frame;
  return out;
}

command decode_one(std::string_view frame) {
  std::vector<command> out = decode_ok(frame);
  EXPECT_EQ(out.size(), 1u) << frame;
  return out.empty() ? command{} : out.front();
}

bool is_malformed(std::string_view frame) {
  std::vector<command> out;
  return decode_padded(json, frame, out) == decode_status::malformed && out.empty();
}

std::string encode(const reply& r) {
  std::string out;
  json.encode_reply(r, out);
  return out;
}

reply ok_reply(uint32_t id, decltype(reply::result) result) {
  reply r;
  r.id = id;
  r.result = std::move(result);
  return r;
}

// ---- decoding -------------------------------------------------------------------------

TEST(json_codec_decode, spec_transcript_connect_and_subscribe_in_one_frame) {
  // §8: the JS SDK writes connect and the pending subscribes in one frame, id last.
  auto cmds = decode_ok(
      R"({"connect":{"token":"tok","name":"js"},"id":1})"
      "\n"
      R"({"subscribe":{"channel":"chat","positioned":true,"recoverable":true,"flag":1,"recover":true,"epoch":"abcd1234","delta":"fossil"},"id":2})");
  ASSERT_EQ(cmds.size(), 2u);

  EXPECT_EQ(cmds[0].id, 1u);
  ASSERT_EQ(cmds[0].kind, command_kind::connect);
  connect_request want_connect;
  want_connect.token = "tok";
  want_connect.name = "js";
  EXPECT_EQ(cmds[0].as<connect_request>(), want_connect);

  EXPECT_EQ(cmds[1].id, 2u);
  ASSERT_EQ(cmds[1].kind, command_kind::subscribe);
  subscribe_request want_sub;
  want_sub.channel = "chat";
  want_sub.positioned = true;
  want_sub.recoverable = true;
  want_sub.flag = 1;
  want_sub.recover = true;
  want_sub.epoch = "abcd1234";
  want_sub.delta = "fossil";
  EXPECT_EQ(cmds[1].as<subscribe_request>(), want_sub);
}

TEST(json_codec_decode, spec_transcript_reconnect_with_server_side_subs) {
  auto cmds = decode_ok(
      R"({"connect":{"token":"tok","name":"js","subs":{"server-side":{"recover":true,"offset":1,"epoch":"ss"}}},"id":8})"
      "\n"
      R"({"subscribe":{"channel":"chat","recover":true,"offset":3,"epoch":"abcd1234","delta":"fossil"},"id":9})"
      "\n");
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0].id, 8u);
  const auto& c = cmds[0].as<connect_request>();
  ASSERT_EQ(c.subs.size(), 1u);
  EXPECT_EQ(c.subs[0].first, "server-side");
  subscribe_request hint;
  hint.recover = true;
  hint.offset = 1;
  hint.epoch = "ss";
  EXPECT_EQ(c.subs[0].second, hint);
  EXPECT_EQ(cmds[1].as<subscribe_request>().offset, 3u);
}

TEST(json_codec_decode, spec_transcript_rpc_history_and_pong) {
  command rpc = decode_one(R"({"rpc":{"method":"m1","data":{"x":1}},"id":3})");
  EXPECT_EQ(rpc.kind, command_kind::rpc);
  EXPECT_EQ(rpc.id, 3u);
  EXPECT_EQ(rpc.as<rpc_request>(), (rpc_request{R"({"x":1})", "m1"}));

  command history = decode_one(R"({"history":{"channel":"chat","limit":2},"id":4})");
  EXPECT_EQ(history.kind, command_kind::history);
  history_request want;
  want.channel = "chat";
  want.limit = 2;
  EXPECT_EQ(history.as<history_request>(), want);

  command pong = decode_one("{}");
  EXPECT_EQ(pong.kind, command_kind::none);
  EXPECT_EQ(pong.id, 0u);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(pong.request));
}

TEST(json_codec_decode, connect_all_fields) {
  command c = decode_one(
      R"({"id":1,"connect":{"token":"t","data":{"a":[1,2]},"subs":{"a":{"recover":true},"b":{}},)"
      R"("name":"js","version":"1.0","headers":{"Authorization":"x","X-Y":"z"},"flag":1,)"
      R"("dict":"d1","profile":"p"}})");
  ASSERT_EQ(c.kind, command_kind::connect);
  const auto& r = c.as<connect_request>();
  EXPECT_EQ(r.token, "t");
  EXPECT_EQ(r.data, R"({"a":[1,2]})");
  ASSERT_EQ(r.subs.size(), 2u);
  EXPECT_EQ(r.subs[0].first, "a");
  EXPECT_TRUE(r.subs[0].second.recover);
  EXPECT_EQ(r.subs[1].first, "b");
  EXPECT_EQ(r.name, "js");
  EXPECT_EQ(r.version, "1.0");
  std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "x"}, {"X-Y", "z"}};
  EXPECT_EQ(r.headers, headers);
  EXPECT_EQ(r.flag, 1);
  EXPECT_EQ(r.dict, "d1");
  EXPECT_EQ(r.profile, "p");
}

TEST(json_codec_decode, subscribe_all_fields) {
  command c = decode_one(
      R"({"subscribe":{"channel":"ch","token":"tk","recover":true,"epoch":"e","offset":18446744073709551615,)"
      R"("data":"s","positioned":true,"recoverable":true,"join_leave":true,"delta":"fossil",)"
      R"("tf":{"op":"and","nodes":[{"key":"k","cmp":"eq","val":"v"},{"key":"n","cmp":"in","vals":["1","2"]}]},)"
      R"("flag":3,"type":1,"phase":2,"cursor":"cur","limit":-1,"asc":true},"id":4294967295})");
  ASSERT_EQ(c.kind, command_kind::subscribe);
  EXPECT_EQ(c.id, 4294967295u);
  const auto& r = c.as<subscribe_request>();
  subscribe_request want;
  want.channel = "ch";
  want.token = "tk";
  want.recover = true;
  want.epoch = "e";
  want.offset = 18446744073709551615ull;
  want.data = R"("s")";
  want.positioned = true;
  want.recoverable = true;
  want.join_leave = true;
  want.delta = "fossil";
  filter_node tf;
  tf.op = "and";
  tf.nodes.push_back({"", "k", "eq", "v", {}, {}});
  tf.nodes.push_back({"", "n", "in", "", {"1", "2"}, {}});
  want.tf = tf;
  want.flag = 3;
  want.type = 1;
  want.phase = 2;
  want.cursor = "cur";
  want.limit = -1;
  want.asc = true;
  EXPECT_EQ(r, want);
}

TEST(json_codec_decode, every_other_command_kind) {
  command unsub = decode_one(R"({"unsubscribe":{"channel":"a"},"id":2})");
  EXPECT_EQ(unsub.kind, command_kind::unsubscribe);
  EXPECT_EQ(unsub.as<unsubscribe_request>().channel, "a");

  command pub = decode_one(
      R"({"publish":{"channel":"a","data":[1,"x"],"type":1,"key":"k","removed":true},"id":3})");
  EXPECT_EQ(pub.kind, command_kind::publish);
  EXPECT_EQ(pub.as<publish_request>(), (publish_request{"a", R"([1,"x"])", 1, "k", true}));

  command presence = decode_one(R"({"presence":{"channel":"p"},"id":4})");
  EXPECT_EQ(presence.kind, command_kind::presence);
  EXPECT_EQ(presence.as<presence_request>().channel, "p");

  command stats = decode_one(R"({"presence_stats":{"channel":"p"},"id":5})");
  EXPECT_EQ(stats.kind, command_kind::presence_stats);
  EXPECT_EQ(stats.as<presence_stats_request>().channel, "p");

  command history = decode_one(
      R"({"history":{"channel":"h","limit":10,"since":{"offset":5,"epoch":"ep"},"reverse":true},"id":6})");
  EXPECT_EQ(history.kind, command_kind::history);
  history_request want_history;
  want_history.channel = "h";
  want_history.limit = 10;
  want_history.since = stream_position{5, "ep"};
  want_history.reverse = true;
  EXPECT_EQ(history.as<history_request>(), want_history);

  command ping = decode_one(R"({"ping":{},"id":7})");
  EXPECT_EQ(ping.kind, command_kind::ping);

  command send = decode_one(R"({"send":{"data":{"m":true}}})");
  EXPECT_EQ(send.kind, command_kind::send);
  EXPECT_EQ(send.id, 0u);
  EXPECT_EQ(send.as<send_request>().data, R"({"m":true})");

  command refresh = decode_one(R"({"refresh":{"token":"new"},"id":9})");
  EXPECT_EQ(refresh.kind, command_kind::refresh);
  EXPECT_EQ(refresh.as<refresh_request>().token, "new");

  command sub_refresh =
      decode_one(R"({"sub_refresh":{"channel":"c","token":"t","type":1,)"
                 R"("track":[{"signature":"sig","items":[{"key":"a","version":3},{"key":"b"}]}],)"
                 R"("untrack":["x","y"]},"id":10})");
  EXPECT_EQ(sub_refresh.kind, command_kind::sub_refresh);
  sub_refresh_request want_sr;
  want_sr.channel = "c";
  want_sr.token = "t";
  want_sr.type = 1;
  want_sr.track.push_back({"sig", {{"a", 3}, {"b", 0}}});
  want_sr.untrack = {"x", "y"};
  EXPECT_EQ(sub_refresh.as<sub_refresh_request>(), want_sr);
}

TEST(json_codec_decode, null_equals_missing) {
  command c = decode_one(
      R"({"id":null,"connect":null,"subscribe":{"channel":"c","token":null,"recover":null,"offset":null,)"
      R"("data":null,"tf":null,"flag":null,"delta":null}})");
  EXPECT_EQ(c.id, 0u);
  ASSERT_EQ(c.kind, command_kind::subscribe);  // null connect does not count as set
  subscribe_request want;
  want.channel = "c";
  EXPECT_EQ(c.as<subscribe_request>(), want);

  command none = decode_one(R"({"connect":null,"id":1})");
  EXPECT_EQ(none.kind, command_kind::none);
  EXPECT_EQ(none.id, 1u);

  // null never overwrites an earlier occurrence of the key.
  command repeated =
      decode_one(R"({"publish":{"channel":"c","channel":null,"data":[1],"data":null}})");
  EXPECT_EQ(repeated.as<publish_request>(), (publish_request{"c", "[1]", 0, "", false}));

  command history = decode_one(R"({"history":{"channel":"h","since":null}})");
  EXPECT_FALSE(history.as<history_request>().since.has_value());
}

TEST(json_codec_decode, unknown_keys_are_ignored_at_every_level) {
  command c = decode_one(
      R"({"method":7,"subscribe":{"channel":"c","future":{"deep":[1,{"x":null}]},"flag":1},)"
      R"("x":[true,false,null,-0.5e-3,"s"],"id":2})");
  ASSERT_EQ(c.kind, command_kind::subscribe);
  EXPECT_EQ(c.id, 2u);
  EXPECT_EQ(c.as<subscribe_request>().channel, "c");
  EXPECT_EQ(c.as<subscribe_request>().flag, 1);
}

TEST(json_codec_decode, first_request_field_in_field_order_wins) {
  // subscribe (5) precedes publish (7) in field order, whatever the key order.
  command c = decode_one(R"({"publish":{"channel":"p"},"subscribe":{"channel":"s"},"id":1})");
  ASSERT_EQ(c.kind, command_kind::subscribe);
  EXPECT_EQ(c.as<subscribe_request>().channel, "s");

  command d = decode_one(R"({"connect":{"name":"n"},"rpc":{"method":"m"},"id":1})");
  ASSERT_EQ(d.kind, command_kind::connect);
  EXPECT_EQ(d.as<connect_request>().name, "n");
}

TEST(json_codec_decode, escaped_keys_and_strings) {
  command c = decode_one(R"({"\u0069d":5,"publish":{"channel":"a\"b\\c\u00e9\n"}})");
  EXPECT_EQ(c.id, 5u);
  EXPECT_EQ(c.as<publish_request>().channel, "a\"b\\c\xc3\xa9\n");
}

TEST(json_codec_decode, whitespace_and_trailing_newline) {
  auto cmds = decode_ok(" {\"id\" : 1 , \"ping\" : { } } \r\n\t{}\n");
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0].kind, command_kind::ping);
  EXPECT_EQ(cmds[1].kind, command_kind::none);
}

TEST(json_codec_decode, appends_to_existing_commands) {
  std::vector<command> out(1);
  out[0].id = 99;
  ASSERT_EQ(decode_padded(json, "{\"id\":1}\n{\"id\":2}", out), decode_status::ok);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].id, 99u);
  EXPECT_EQ(out[2].id, 2u);
}

TEST(json_codec_decode, malformed_leaves_output_untouched) {
  std::vector<command> out(1);
  out[0].id = 99;
  ASSERT_EQ(decode_padded(json, "{\"id\":1}\n{\"id\":", out), decode_status::malformed);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, 99u);
}

TEST(json_codec_decode, malformed_framing) {
  EXPECT_TRUE(is_malformed(""));          // zero commands
  EXPECT_TRUE(is_malformed("\n"));        // zero commands
  EXPECT_TRUE(is_malformed("{}\n\n{}"));  // empty line in the middle
  EXPECT_TRUE(is_malformed("{}\n\n"));    // only one trailing newline is tolerated
  EXPECT_TRUE(is_malformed("\n{}"));
  EXPECT_TRUE(is_malformed(" "));
  EXPECT_TRUE(is_malformed("{}{}"));
  EXPECT_TRUE(is_malformed("{\"id\":1} x"));
  EXPECT_TRUE(is_malformed("{\"id\":1} {}"));
}

// The client runs a batch one command at a time (docs/design/flow-control.md): the size of
// each command's line, and 0 where decode_commands would refuse the framing.
TEST(json_codec_decode, next_command_size_walks_a_batch_line_by_line) {
  std::string_view batch = "{\"id\":1}\n{\"id\":22}\n";
  EXPECT_EQ(json.next_command_size(batch), 9u);
  batch.remove_prefix(9);
  EXPECT_EQ(json.next_command_size(batch), 10u);  // the one trailing newline is part of it
  EXPECT_EQ(json.next_command_size("{}"), 2u);
  EXPECT_EQ(json.next_command_size(""), 0u);
  EXPECT_EQ(json.next_command_size("\n{}"), 0u);  // empty line
  std::vector<command> out;
  EXPECT_EQ(decode_padded(json, std::string_view("{\"id\":1}\n{\"id\":22}").substr(0, 9), out),
            decode_status::ok);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, 1u);
}

TEST(json_codec_decode, malformed_json) {
  EXPECT_TRUE(is_malformed("not json"));
  EXPECT_TRUE(is_malformed("{"));
  EXPECT_TRUE(is_malformed("{\"id\":1"));
  EXPECT_TRUE(is_malformed("{\"id\" 1}"));
  EXPECT_TRUE(is_malformed("{\"id\":1,}"));
  EXPECT_TRUE(is_malformed("{id:1}"));
  EXPECT_TRUE(is_malformed("{\"a\":tru}"));
  EXPECT_TRUE(is_malformed("{\"a\":nul}"));
  EXPECT_TRUE(is_malformed("{\"a\":01}"));
  EXPECT_TRUE(is_malformed("{\"a\":1.}"));
  EXPECT_TRUE(is_malformed("{\"a\":[1 2]}"));
  EXPECT_TRUE(is_malformed("{\"a\":\"\\x\"}"));
  EXPECT_TRUE(is_malformed("{\"a\":\"\xff\"}"));  // invalid UTF-8
  EXPECT_TRUE(is_malformed("{\"a\":\"x\ty\"}"));  // raw control characters in strings
  EXPECT_TRUE(is_malformed("{\"send\":{\"data\":\"x\ry\"}}"));
  EXPECT_TRUE(is_malformed(std::string("{\"a\":\"x\0y\"}", 10)));
  EXPECT_TRUE(is_malformed("{\"publish\":{\"data\":{\"a\":tru}}}"));
  EXPECT_TRUE(is_malformed("{\"publish\":{\"data\":[1,]}}"));
  EXPECT_TRUE(is_malformed("{\"publish\":{\"data\":-}}"));
  EXPECT_TRUE(is_malformed("{\"publish\":{\"data\":truex}}"));
  EXPECT_TRUE(is_malformed("{\"ping\":{\"x\":+1}}"));
  // Typed fields are as strict as payloads.
  EXPECT_TRUE(is_malformed("{\"subscribe\":{\"recover\":truex}}"));
  EXPECT_TRUE(is_malformed("{\"subscribe\":{\"recover\":nullx}}"));
  EXPECT_TRUE(is_malformed("{\"subscribe\":{\"channel\":nul}}"));
  EXPECT_TRUE(is_malformed("{\"id\":12abc}"));
  EXPECT_TRUE(is_malformed("{\"id\":01}"));
  EXPECT_TRUE(is_malformed("{\"id\":-0}"));
}

TEST(json_codec_decode, malformed_root_types) {
  EXPECT_TRUE(is_malformed("[]"));
  EXPECT_TRUE(is_malformed("[{\"id\":1}]"));
  EXPECT_TRUE(is_malformed("1"));
  EXPECT_TRUE(is_malformed("\"x\""));
  EXPECT_TRUE(is_malformed("null"));
  EXPECT_TRUE(is_malformed("{}\n5"));
}

TEST(json_codec_decode, malformed_wrong_types) {
  EXPECT_TRUE(is_malformed(R"({"id":"1"})"));
  EXPECT_TRUE(is_malformed(R"({"id":-1})"));
  EXPECT_TRUE(is_malformed(R"({"id":1.5})"));
  EXPECT_TRUE(is_malformed(R"({"id":1e2})"));
  EXPECT_TRUE(is_malformed(R"({"id":4294967296})"));
  EXPECT_TRUE(is_malformed(R"({"id":true})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":[]})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":"chat"})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"channel":5}})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"recover":"true"}})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"recover":1}})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"offset":-1}})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"offset":"5"}})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"offset":18446744073709551616}})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"type":2147483648}})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"limit":-2147483649}})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"flag":9223372036854775808}})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"tf":[]}})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"tf":{"vals":"a"}}})"));
  EXPECT_TRUE(is_malformed(R"({"subscribe":{"tf":{"vals":[1]}}})"));
  EXPECT_TRUE(is_malformed(R"({"connect":{"subs":{"a":5}}})"));
  EXPECT_TRUE(is_malformed(R"({"connect":{"subs":[]}})"));
  EXPECT_TRUE(is_malformed(R"({"connect":{"headers":{"a":1}}})"));
  EXPECT_TRUE(is_malformed(R"({"history":{"since":{"offset":-3}}})"));
  EXPECT_TRUE(is_malformed(R"({"history":{"since":5}})"));
  EXPECT_TRUE(is_malformed(R"({"sub_refresh":{"track":{}}})"));
  EXPECT_TRUE(is_malformed(R"({"sub_refresh":{"untrack":[null,3]}})"));
  EXPECT_TRUE(is_malformed(R"({"ping":[]})"));
  // A losing request field must still be well typed.
  EXPECT_TRUE(is_malformed(R"({"connect":{},"publish":{"channel":1}})"));
}

TEST(json_codec_decode, negative_into_signed_fields_is_fine) {
  command c = decode_one(R"({"subscribe":{"flag":-1,"limit":-2147483648,"type":-5}})");
  EXPECT_EQ(c.as<subscribe_request>().flag, -1);
  EXPECT_EQ(c.as<subscribe_request>().limit, -2147483648);
  EXPECT_EQ(c.as<subscribe_request>().type, -5);
}

TEST(json_codec_decode, raw_data_is_byte_exact) {
  // Whitespace inside the value is preserved; whitespace around it is not part of it.
  command c = decode_one(
      "{\"publish\":{\"channel\":\"c\",\"data\": \t{ \"a\" : [1, 2 ,3] ,\r\t "
      "\"b\":\"x\\\"y\\u00e9\" }  "
      "},\"id\":1}");
  EXPECT_EQ(c.as<publish_request>().data, "{ \"a\" : [1, 2 ,3] ,\r\t \"b\":\"x\\\"y\\u00e9\" }");

  EXPECT_EQ(decode_one(R"({"send":{"data":  "str\n"  }})").as<send_request>().data, R"("str\n")");
  EXPECT_EQ(decode_one(R"({"send":{"data": -12.5e+3 }})").as<send_request>().data, "-12.5e+3");
  EXPECT_EQ(decode_one(R"({"send":{"data":true}})").as<send_request>().data, "true");
  EXPECT_EQ(decode_one(R"({"send":{"data":false }})").as<send_request>().data, "false");
  EXPECT_EQ(decode_one(R"({"send":{"data":[ ] }})").as<send_request>().data, "[ ]");
  EXPECT_EQ(decode_one(R"({"send":{"data":{}}})").as<send_request>().data, "{}");
  EXPECT_EQ(
      decode_one(R"({"send":{"data":123456789012345678901234567890}})").as<send_request>().data,
      "123456789012345678901234567890");
  EXPECT_EQ(decode_one(R"({"send":{"data":1e400}})").as<send_request>().data, "1e400");
  // Data as the last member, followed directly by the closing braces.
  EXPECT_EQ(decode_one(R"({"rpc":{"method":"m","data":[[{}]]}})").as<rpc_request>().data, "[[{}]]");
  EXPECT_EQ(decode_one(R"({"connect":{"data":{"k":"v"}}})").as<connect_request>().data,
            R"({"k":"v"})");
  EXPECT_EQ(decode_one(R"({"subscribe":{"data":"\ud83d\ude00"}})").as<subscribe_request>().data,
            R"("\ud83d\ude00")");
}

TEST(json_codec_decode, raw_data_nesting_is_bounded) {
  std::string ok = R"({"send":{"data":)" + std::string(200, '[') + std::string(200, ']') + "}}";
  EXPECT_EQ(decode_one(ok).as<send_request>().data.size(), 400u);
  std::string deep = R"({"send":{"data":)" + std::string(5000, '[') + std::string(5000, ']') + "}}";
  EXPECT_TRUE(is_malformed(deep));
  std::string unknown = R"({"x":)" + std::string(5000, '{') + "}}";
  EXPECT_TRUE(is_malformed(unknown));
}

std::string nested_filter(int depth) {
  std::string s = R"({"key":"k","cmp":"ex"})";
  for (int i = 1; i < depth; ++i) s = R"({"op":"not","nodes":[)" + s + "]}";
  return R"({"subscribe":{"channel":"c","tf":)" + s + R"(},"id":1})";
}

TEST(json_codec_decode, deep_filter_trees_are_bounded) {
  command c = decode_one(nested_filter(32));
  const filter_node* n = &*c.as<subscribe_request>().tf;
  int depth = 1;
  while (!n->nodes.empty()) {
    EXPECT_EQ(n->op, "not");
    n = &n->nodes.front();
    ++depth;
  }
  EXPECT_EQ(depth, 32);
  EXPECT_EQ(n->key, "k");
  EXPECT_EQ(n->cmp, "ex");
  EXPECT_TRUE(is_malformed(nested_filter(33)));
  EXPECT_TRUE(is_malformed(nested_filter(1000)));
}

TEST(json_codec_decode, duplicate_keys_last_wins) {
  command c = decode_one(R"({"id":1,"id":2,"publish":{"channel":"a","channel":"b"}})");
  EXPECT_EQ(c.id, 2u);
  EXPECT_EQ(c.as<publish_request>().channel, "b");

  command s = decode_one(
      R"({"subscribe":{"tf":{"vals":["a"],"nodes":[{}],"vals":["b"],"nodes":[]},"data":1,"data":[2]}})");
  EXPECT_EQ(s.as<subscribe_request>().tf->vals, std::vector<std::string>{"b"});
  EXPECT_TRUE(s.as<subscribe_request>().tf->nodes.empty());
  EXPECT_EQ(s.as<subscribe_request>().data, "[2]");

  command c2 = decode_one(
      R"({"connect":{"subs":{"a":{}},"headers":{"x":"1"},"subs":{"b":{}},"headers":{}}})");
  ASSERT_EQ(c2.as<connect_request>().subs.size(), 1u);
  EXPECT_EQ(c2.as<connect_request>().subs[0].first, "b");
  EXPECT_TRUE(c2.as<connect_request>().headers.empty());
}

TEST(json_codec_decode, fuzz_seed_corpus_of_sdk_frames_decodes) {
  auto seeds = test::seed_corpus("json_command_fuzz");
  EXPECT_GE(seeds.size(), 10u);
  for (const auto& [name, frame] : seeds) {
    std::vector<command> out;
    EXPECT_EQ(decode_padded(json, frame, out), decode_status::ok) << name;
    EXPECT_FALSE(out.empty()) << name;
  }
}

// ---- encoding: replies ----------------------------------------------------------------

TEST(json_codec_encode, connect_reply_exact) {
  connect_result c;
  c.client = "c1";
  c.version = "v";
  c.ping = 25;
  c.pong = true;
  EXPECT_EQ(
      encode(ok_reply(1, c)),
      "{\"id\":1,\"connect\":{\"client\":\"c1\",\"version\":\"v\",\"ping\":25,\"pong\":true}}\n");
}

TEST(json_codec_encode, connect_reply_all_fields) {
  connect_result c;
  c.client = "c1";
  c.version = "mock";
  c.expires = true;
  c.ttl = 600;
  c.data = "{\"w\":\n1}";
  subscribe_result ss;
  ss.recoverable = true;
  ss.positioned = true;
  ss.epoch = "ss";
  c.subs.emplace_back("server-side", ss);
  c.subs.emplace_back("empty", subscribe_result{});
  c.ping = 25;
  c.pong = true;
  c.session = "sess";
  c.node = "n1";
  c.time = 1716000000000;
  EXPECT_EQ(
      encode(ok_reply(1, c)),
      R"({"id":1,"connect":{"client":"c1","version":"mock","expires":true,"ttl":600,)"
      R"("data":{"w":1},"subs":{"server-side":{"recoverable":true,"epoch":"ss","positioned":true},)"
      R"("empty":{}},"ping":25,"pong":true,"session":"sess","node":"n1","time":1716000000000}})"
      "\n");
}

TEST(json_codec_encode, empty_results_are_present) {
  EXPECT_EQ(encode(ok_reply(5, publish_result{})), "{\"id\":5,\"publish\":{}}\n");
  EXPECT_EQ(encode(ok_reply(6, unsubscribe_result{})), "{\"id\":6,\"unsubscribe\":{}}\n");
  EXPECT_EQ(encode(ok_reply(2, subscribe_result{})), "{\"id\":2,\"subscribe\":{}}\n");
  EXPECT_EQ(encode(ok_reply(3, rpc_result{})), "{\"id\":3,\"rpc\":{}}\n");
  EXPECT_EQ(encode(ok_reply(7, refresh_result{})), "{\"id\":7,\"refresh\":{}}\n");
  EXPECT_EQ(encode(ok_reply(8, sub_refresh_result{})), "{\"id\":8,\"sub_refresh\":{}}\n");
  EXPECT_EQ(encode(ok_reply(9, connect_result{})), "{\"id\":9,\"connect\":{}}\n");
}

TEST(json_codec_encode, always_present_keys) {
  EXPECT_EQ(encode(ok_reply(4, history_result{})),
            "{\"id\":4,\"history\":{\"publications\":[],\"epoch\":\"\",\"offset\":0}}\n");
  EXPECT_EQ(encode(ok_reply(4, presence_result{})), "{\"id\":4,\"presence\":{\"presence\":{}}}\n");
  EXPECT_EQ(encode(ok_reply(4, presence_stats_result{})),
            "{\"id\":4,\"presence_stats\":{\"num_clients\":0,\"num_users\":0}}\n");

  presence_result p;
  p.presence.emplace_back("c-1", client_info{"", "c-1", "", ""});
  p.presence.emplace_back("c-2", client_info{"42", "c-2", "{\"n\":1}", "[2]"});
  EXPECT_EQ(encode(ok_reply(4, p)),
            R"({"id":4,"presence":{"presence":{"c-1":{"user":"","client":"c-1"},)"
            R"("c-2":{"user":"42","client":"c-2","conn_info":{"n":1},"chan_info":[2]}}}})"
            "\n");
}

TEST(json_codec_encode, history_reply_spec_transcript) {
  history_result h;
  h.publications.push_back({2, R"({"v":"2"})", std::nullopt, {}, true, 0});
  h.publications.push_back({3, R"({"v":"3"})", std::nullopt, {}, false, 0});
  h.epoch = "abcd1234";
  h.offset = 3;
  // History is never delta-encoded, even for publications marked for delta.
  EXPECT_EQ(encode(ok_reply(4, h)),
            R"({"id":4,"history":{"publications":[{"data":{"v":"2"},"offset":2},)"
            R"({"data":{"v":"3"},"offset":3}],"epoch":"abcd1234","offset":3}})"
            "\n");
}

TEST(json_codec_encode, other_results) {
  presence_stats_result ps{2, 1};
  EXPECT_EQ(encode(ok_reply(1, ps)),
            "{\"id\":1,\"presence_stats\":{\"num_clients\":2,\"num_users\":1}}\n");
  EXPECT_EQ(encode(ok_reply(3, rpc_result{R"({"ok":true})"})),
            "{\"id\":3,\"rpc\":{\"data\":{\"ok\":true}}}\n");
  EXPECT_EQ(encode(ok_reply(7, refresh_result{"c", "v", true, 60})),
            R"({"id":7,"refresh":{"client":"c","version":"v","expires":true,"ttl":60}})"
            "\n");
  EXPECT_EQ(encode(ok_reply(8, sub_refresh_result{true, 30})),
            R"({"id":8,"sub_refresh":{"expires":true,"ttl":30}})"
            "\n");
}

TEST(json_codec_encode, subscribe_result_all_fields) {
  subscribe_result s;
  s.expires = true;
  s.ttl = 10;
  s.recoverable = true;
  s.epoch = "e";
  s.publications.push_back({4, "[4]", std::nullopt, {}, false, 0});
  s.recovered = true;
  s.offset = 3;
  s.positioned = true;
  s.data = "\"d\"";
  s.was_recovering = true;
  s.id = 77;
  s.type = 1;
  s.phase = 2;
  s.cursor = "cur";
  s.state.push_back({0, "{}", std::nullopt, {}, false, 0});
  s.publish_debounce = 100;
  EXPECT_EQ(encode(ok_reply(2, s)),
            R"({"id":2,"subscribe":{"expires":true,"ttl":10,"recoverable":true,"epoch":"e",)"
            R"("publications":[{"data":[4],"offset":4}],"recovered":true,"offset":3,)"
            R"("positioned":true,"data":"d","was_recovering":true,"id":77,"type":1,"phase":2,)"
            R"("cursor":"cur","state":[{"data":{}}],"publish_debounce":100}})"
            "\n");
}

TEST(json_codec_encode, delta_subscribe_result_writes_data_as_json_strings) {
  // §8: recovered publications of a delta subscription; first full, next a patch.
  subscribe_result s;
  s.recoverable = true;
  s.positioned = true;
  s.epoch = "abcd1234";
  s.delta = true;
  s.was_recovering = true;
  s.recovered = true;
  s.publications.push_back({1, R"({"v":"1"})", std::nullopt, {}, false, 0});
  s.publications.push_back({2, "5\n1@0,3:\"2\"}2F9TtE;", std::nullopt, {}, true, 0});
  s.state.push_back({0, "[1]", std::nullopt, {}, false, 0});
  EXPECT_EQ(encode(ok_reply(2, s)),
            R"({"id":2,"subscribe":{"recoverable":true,"epoch":"abcd1234","publications":[)"
            R"({"data":"{\"v\":\"1\"}","offset":1},)"
            R"({"data":"5\n1@0,3:\"2\"}2F9TtE;","offset":2,"delta":true}],)"
            R"("recovered":true,"positioned":true,"was_recovering":true,"delta":true,)"
            R"("state":[{"data":"[1]"}]}})"
            "\n");
}

TEST(json_codec_encode, publication_delta_flag_only_in_delta_results) {
  subscribe_result s;
  s.publications.push_back({1, "{}", std::nullopt, {}, true, 0});
  EXPECT_EQ(encode(ok_reply(2, s)),
            "{\"id\":2,\"subscribe\":{\"publications\":[{\"data\":{},\"offset\":1}]}}\n");
}

TEST(json_codec_encode, delta_subscribe_results_inside_connect_subs) {
  connect_result c;
  c.client = "c";
  subscribe_result s;
  s.delta = true;
  s.publications.push_back({1, R"({"a":1})", std::nullopt, {}, false, 0});
  c.subs.emplace_back("ch", s);
  EXPECT_EQ(encode(ok_reply(1, c)),
            R"({"id":1,"connect":{"client":"c","subs":{"ch":{"publications":[)"
            R"({"data":"{\"a\":1}","offset":1}],"delta":true}}}})"
            "\n");
}

TEST(json_codec_encode, error_replies) {
  reply r;
  r.id = 3;
  r.error = error_reply{100, "internal server error", true};
  EXPECT_EQ(encode(r),
            R"({"id":3,"error":{"code":100,"message":"internal server error","temporary":true}})"
            "\n");
  r.error = error_reply{103, "permission denied", false};
  r.result = publish_result{};  // an error wins over a result
  EXPECT_EQ(encode(r), R"({"id":3,"error":{"code":103,"message":"permission denied"}})"
                       "\n");
}

TEST(json_codec_encode, ping_is_an_empty_object) {
  std::string out;
  json.encode_ping(out);
  EXPECT_EQ(out, "{}\n");
  EXPECT_EQ(encode(reply{}), "{}\n");
}

TEST(json_codec_encode, messages_are_appended) {
  std::string out = "x";
  json.encode_ping(out);
  json.encode_reply(ok_reply(5, publish_result{}), out);
  EXPECT_EQ(out, "x{}\n{\"id\":5,\"publish\":{}}\n");
}

TEST(json_codec_encode, raw_payload_newlines_are_dropped) {
  std::string out = encode(ok_reply(3, rpc_result{"{\r\n  \"a\": \"x\\ny\"\n}"}));
  EXPECT_EQ(out, "{\"id\":3,\"rpc\":{\"data\":{  \"a\": \"x\\ny\"}}}\n");
  EXPECT_EQ(out.find('\n'), out.size() - 1);
}

// ---- encoding: pushes -----------------------------------------------------------------

publication pub_at(uint64_t offset, std::string data) {
  publication p;
  p.offset = offset;
  p.data = std::move(data);
  return p;
}

TEST(json_codec_encode, pub_push_in_both_envelopes) {
  publication p = pub_at(7, R"({"x":1})");
  std::string out;
  json.encode_pub_push("news", p, p.data, {}, push_envelope::reply, out);
  EXPECT_EQ(out, "{\"push\":{\"channel\":\"news\",\"pub\":{\"data\":{\"x\":1},\"offset\":7}}}\n");
  out.clear();
  json.encode_pub_push("news", p, p.data, {}, push_envelope::bare, out);
  EXPECT_EQ(out, "{\"channel\":\"news\",\"pub\":{\"data\":{\"x\":1},\"offset\":7}}\n");
}

TEST(json_codec_encode, pub_push_all_fields) {
  publication p = pub_at(1, "ignored: the data argument is written");
  p.info = client_info{"u", "c", R"({"ci":1})", ""};
  p.tags = {{"k", "v"}, {"q\"", "\n"}};
  p.delta = true;  // publisher permission: never written outside delta mode
  p.time = 1700000000123;
  std::string out;
  json.encode_pub_push("ch", p, "[1]", {.epoch = "EPOCH", .channel = "ch.concrete"},
                       push_envelope::reply, out);
  EXPECT_EQ(out, R"({"push":{"channel":"ch","pub":{"data":[1],"info":{"user":"u","client":"c",)"
                 R"("conn_info":{"ci":1}},"offset":1,"tags":{"k":"v","q\"":"\n"},)"
                 R"("time":1700000000123,"channel":"ch.concrete","epoch":"EPOCH"}}})"
                 "\n");
}

TEST(json_codec_encode, pub_push_delta_mode_full_and_patch) {
  publication p = pub_at(2, R"({"v":"…2"})");
  std::string out;
  json.encode_pub_push("chat", p, p.data, {.patch = false, .json_string = true},
                       push_envelope::reply, out);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"chat\",\"pub\":{\"data\":\"{\\\"v\\\":\\\"…2\\\"}\","
            "\"offset\":2}}}\n");

  out.clear();
  std::string patch = "B\n5@0,2:\xc3\xa9\"\\\x01\t3NtV2X;";
  json.encode_pub_push("chat", pub_at(3, ""), patch, {.patch = true, .json_string = true},
                       push_envelope::reply, out);
  EXPECT_EQ(
      out,
      "{\"push\":{\"channel\":\"chat\",\"pub\":{\"data\":\"B\\n5@0,2:\xc3\xa9\\\"\\\\\\u0001\\t"
      "3NtV2X;\",\"offset\":3,\"delta\":true}}}\n");
  EXPECT_EQ(out.find('\n'), out.size() - 1);

  // Line separators must not reach JavaScript raw.
  out.clear();
  json.encode_pub_push("c", pub_at(4, ""), "\"\xe2\x80\xa8\"",
                       {.patch = false, .json_string = true}, push_envelope::bare, out);
  EXPECT_EQ(out, "{\"channel\":\"c\",\"pub\":{\"data\":\"\\\"\\u2028\\\"\",\"offset\":4}}\n");
}

TEST(json_codec_encode, pub_push_patch_flag_needs_delta_mode) {
  std::string out;
  json.encode_pub_push("c", pub_at(1, ""), "{}", {.patch = true, .json_string = false},
                       push_envelope::bare, out);
  EXPECT_EQ(out, "{\"channel\":\"c\",\"pub\":{\"data\":{},\"offset\":1}}\n");
}

TEST(json_codec_encode, join_and_leave_pushes) {
  std::string out;
  json.encode_join_push("chat", client_info{"42", "c-uuid", "", ""}, push_envelope::reply, out);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"chat\",\"join\":{\"info\":{\"user\":\"42\",\"client\":\"c-"
            "uuid\"}}}}\n");
  out.clear();
  json.encode_leave_push("chat", client_info{}, push_envelope::bare, out);
  EXPECT_EQ(out, "{\"channel\":\"chat\",\"leave\":{\"info\":{\"user\":\"\",\"client\":\"\"}}}\n");
}

TEST(json_codec_encode, unsubscribe_message_disconnect_refresh_pushes) {
  std::string out;
  json.encode_unsubscribe_push("chat", 2000, "server unsubscribe", push_envelope::reply, out);
  EXPECT_EQ(out,
            "{\"push\":{\"channel\":\"chat\",\"unsubscribe\":{\"code\":2000,\"reason\":\"server "
            "unsubscribe\"}}}\n");
  out.clear();
  json.encode_unsubscribe_push("chat", 0, "", push_envelope::bare, out);
  EXPECT_EQ(out, "{\"channel\":\"chat\",\"unsubscribe\":{}}\n");

  out.clear();
  json.encode_message_push(R"({"hello":1})", push_envelope::reply, out);
  EXPECT_EQ(out, "{\"push\":{\"message\":{\"data\":{\"hello\":1}}}}\n");
  out.clear();
  json.encode_message_push("", push_envelope::bare, out);
  EXPECT_EQ(out, "{\"message\":{}}\n");

  out.clear();
  json.encode_disconnect_push(3001, "shutdown", push_envelope::reply, out);
  EXPECT_EQ(out, "{\"push\":{\"disconnect\":{\"code\":3001,\"reason\":\"shutdown\"}}}\n");
  out.clear();
  json.encode_disconnect_push(3501, "bad request", push_envelope::bare, out);
  EXPECT_EQ(out, "{\"disconnect\":{\"code\":3501,\"reason\":\"bad request\"}}\n");

  out.clear();
  json.encode_refresh_push(true, 3600, push_envelope::bare, out);
  EXPECT_EQ(out, "{\"refresh\":{\"expires\":true,\"ttl\":3600}}\n");
  out.clear();
  json.encode_refresh_push(false, 0, push_envelope::reply, out);
  EXPECT_EQ(out, "{\"push\":{\"refresh\":{}}}\n");
}

TEST(json_codec_encode, subscribe_push) {
  subscribe_push s{true, "ab", 3, true, R"({"d":1})"};
  std::string out;
  json.encode_subscribe_push("user#42", s, push_envelope::reply, out);
  EXPECT_EQ(
      out,
      R"({"push":{"channel":"user#42","subscribe":{"recoverable":true,"epoch":"ab","offset":3,)"
      R"("positioned":true,"data":{"d":1}}}})"
      "\n");
  out.clear();
  json.encode_subscribe_push("c", subscribe_push{}, push_envelope::bare, out);
  EXPECT_EQ(out, "{\"channel\":\"c\",\"subscribe\":{}}\n");
}

TEST(json_codec_encode, connect_push_for_uni_transports) {
  connect_result c;
  c.client = "c1";
  c.version = "v6";
  c.data = "{}";
  subscribe_result s;
  s.recoverable = true;
  s.offset = 12;
  c.subs.emplace_back("ch", s);
  c.expires = true;
  c.ttl = 30;
  c.ping = 25;
  c.session = "sess";
  c.node = "n";
  c.time = 5;
  std::string out;
  json.encode_connect_push(c, push_envelope::bare, out);
  EXPECT_EQ(
      out,
      R"({"connect":{"client":"c1","version":"v6","data":{},"subs":{"ch":{"recoverable":true,)"
      R"("offset":12}},"expires":true,"ttl":30,"ping":25,"session":"sess","node":"n","time":5}})"
      "\n");
  out.clear();
  json.encode_connect_push(connect_result{}, push_envelope::reply, out);
  EXPECT_EQ(out, "{\"push\":{\"connect\":{}}}\n");
}

TEST(json_codec_encode, strings_are_escaped) {
  std::string out;
  json.encode_unsubscribe_push("a\"b\\", 1, "line\nbreak\x7f\xff", push_envelope::bare, out);
  EXPECT_EQ(out,
            "{\"channel\":\"a\\\"b\\\\\",\"unsubscribe\":{\"code\":1,\"reason\":\"line\\nbreak\x7f"
            "\\ufffd\"}}\n");
}

// ---- round trip -----------------------------------------------------------------------

TEST(json_codec, encoded_payloads_decode_back_byte_exact) {
  // What a client publishes comes back verbatim in the publication push (§7.12).
  const std::string data = R"({"text":"h\u00e9llo \"w\"","n":[1,2.5,-3e2],"o":{}})";
  command c = decode_one(R"({"publish":{"channel":"c","data":)" + data + R"(},"id":1})");
  ASSERT_EQ(c.as<publish_request>().data, data);
  std::string out;
  json.encode_message_push(c.as<publish_request>().data, push_envelope::bare, out);
  out.pop_back();  // newline
  command back = decode_one(R"({"send":)" + out.substr(11, out.size() - 12) + "}");
  EXPECT_EQ(back.as<send_request>().data, data);
}

}  // namespace
}  // namespace gyre::protocol
