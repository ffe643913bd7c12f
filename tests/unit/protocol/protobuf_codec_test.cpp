// Tests of the Protobuf client protocol codec (protobuf_codec()): the spec's hex frames,
// every command kind built with the generated classes, malformed framing, unknown
// fields, and every reply/result/push checked byte for byte or parsed back with the
// generated classes (client-protocol.md §1.3, §2.2, §3, §8).
#include "protocol/codec.hpp"

#include <gtest/gtest.h>

#include "protocol/client.pb.h"
#include "protocol/codec_test_util.hpp"

namespace gyre::protocol {
namespace {

namespace pb = centrifugal::centrifuge::protocol;
using test::decode_padded;
using test::from_hex;
using test::to_hex;

const codec& proto = protobuf_codec();

std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

std::string framed(const google::protobuf::MessageLite& m) {
  std::string body = m.SerializeAsString();
  return varint(body.size()) + body;
}

// Strips the varint length prefix of exactly one framed message.
std::string unframe(std::string_view framed_msg) {
  uint64_t len = 0;
  size_t i = 0;
  for (int shift = 0; i < framed_msg.size(); shift += 7) {
    uint8_t b = static_cast<uint8_t>(framed_msg[i++]);
    len |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (b < 0x80) break;
  }
  EXPECT_EQ(i + len, framed_msg.size()) << to_hex(framed_msg);
  return std::string(framed_msg.substr(i));
}

std::vector<command> decode_ok(std::string_view frame) {
  std::vector<command> out;
  EXPECT_EQ(decode_padded(proto, frame, out), decode_status::ok) << to_hex(frame);
  return out;
}

command decode_one(const pb::Command& m) {
  std::vector<command> out = decode_ok(framed(m));
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? command{} : out.front();
}

bool is_malformed(std::string_view frame) {
  std::vector<command> out;
  return decode_padded(proto, frame, out) == decode_status::malformed && out.empty();
}

pb::Reply reply_of(const reply& r) {
  std::string out;
  proto.encode_reply(r, out);
  pb::Reply m;
  EXPECT_TRUE(m.ParseFromString(unframe(out)));
  return m;
}

reply ok_reply(uint32_t id, decltype(reply::result) result) {
  reply r;
  r.id = id;
  r.result = std::move(result);
  return r;
}

// ---- decoding -------------------------------------------------------------------------

TEST(protobuf_codec_decode, spec_hex_frame_connect_and_subscribe) {
  // §8: {connect:{name:"js"}, id:1} + {subscribe:{channel:"chat", join_leave, flag:1}, id:2}.
  auto cmds = decode_ok(
      from_hex("08 08 01 22 04 22 02 6a 73 0e 08 02 2a 0a 0a 04 63 68 61 74 58 01 70 01"));
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_EQ(cmds[0].id, 1u);
  ASSERT_EQ(cmds[0].kind, command_kind::connect);
  connect_request want_connect;
  want_connect.name = "js";
  EXPECT_EQ(cmds[0].as<connect_request>(), want_connect);
  EXPECT_EQ(cmds[1].id, 2u);
  ASSERT_EQ(cmds[1].kind, command_kind::subscribe);
  subscribe_request want_sub;
  want_sub.channel = "chat";
  want_sub.join_leave = true;
  want_sub.flag = 1;
  EXPECT_EQ(cmds[1].as<subscribe_request>(), want_sub);
}

TEST(protobuf_codec_decode, pong_is_a_zero_length_command) {
  auto cmds = decode_ok(from_hex("00"));
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].id, 0u);
  EXPECT_EQ(cmds[0].kind, command_kind::none);
  EXPECT_EQ(decode_ok(from_hex("00 00 00")).size(), 3u);
}

// The client runs a batch one command at a time (docs/design/flow-control.md): the size of
// each varint-framed command, and 0 for a truncated varint or length.
TEST(protobuf_codec_decode, next_command_size_walks_a_batch_by_varint_prefix) {
  std::string batch = from_hex("02 08 05 00 03 08 06");
  EXPECT_EQ(proto.next_command_size(batch), 3u);
  EXPECT_EQ(proto.next_command_size(std::string_view(batch).substr(3)), 1u);  // a pong
  EXPECT_EQ(proto.next_command_size(std::string_view(batch).substr(4)),
            0u);                                           // 3 bytes announced, 2 there
  EXPECT_EQ(proto.next_command_size(from_hex("80")), 0u);  // truncated varint
  EXPECT_EQ(proto.next_command_size(""), 0u);
  auto cmds = decode_ok(batch.substr(0, 3));
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].id, 5u);
}

TEST(protobuf_codec_decode, connect_all_fields) {
  pb::Command m;
  m.set_id(1);
  auto* c = m.mutable_connect();
  c->set_token("t");
  c->set_data(std::string("\x00\xff{}", 4));
  (*c->mutable_subs())["b"].set_recover(true);
  (*c->mutable_subs())["b"].set_offset(9);
  (*c->mutable_subs())["a"].set_epoch("e");
  c->set_name("js");
  c->set_version("1.0");
  (*c->mutable_headers())["X-B"] = "2";
  (*c->mutable_headers())["X-A"] = "1";
  c->set_flag(1);
  c->set_dict("d");
  c->set_profile("p");
  command cmd = decode_one(m);
  ASSERT_EQ(cmd.kind, command_kind::connect);
  const auto& r = cmd.as<connect_request>();
  EXPECT_EQ(r.token, "t");
  EXPECT_EQ(r.data, std::string("\x00\xff{}", 4));
  ASSERT_EQ(r.subs.size(), 2u);  // sorted by key
  EXPECT_EQ(r.subs[0].first, "a");
  EXPECT_EQ(r.subs[0].second.epoch, "e");
  EXPECT_EQ(r.subs[1].first, "b");
  EXPECT_TRUE(r.subs[1].second.recover);
  EXPECT_EQ(r.subs[1].second.offset, 9u);
  EXPECT_EQ(r.name, "js");
  EXPECT_EQ(r.version, "1.0");
  std::vector<std::pair<std::string, std::string>> headers{{"X-A", "1"}, {"X-B", "2"}};
  EXPECT_EQ(r.headers, headers);
  EXPECT_EQ(r.flag, 1);
  EXPECT_EQ(r.dict, "d");
  EXPECT_EQ(r.profile, "p");
}

TEST(protobuf_codec_decode, subscribe_all_fields) {
  pb::Command m;
  m.set_id(4294967295u);
  auto* s = m.mutable_subscribe();
  s->set_channel("ch");
  s->set_token("tk");
  s->set_recover(true);
  s->set_epoch("e");
  s->set_offset(18446744073709551615ull);
  s->set_data("d");
  s->set_positioned(true);
  s->set_recoverable(true);
  s->set_join_leave(true);
  s->set_delta("fossil");
  auto* tf = s->mutable_tf();
  tf->set_op("or");
  auto* leaf = tf->add_nodes();
  leaf->set_key("k");
  leaf->set_cmp("in");
  leaf->add_vals("1");
  leaf->add_vals("2");
  leaf->set_val("v");
  s->set_flag(-3);
  s->set_type(4);
  s->set_phase(1);
  s->set_cursor("c");
  s->set_limit(-1);
  s->set_asc(true);
  command cmd = decode_one(m);
  EXPECT_EQ(cmd.id, 4294967295u);
  subscribe_request want;
  want.channel = "ch";
  want.token = "tk";
  want.recover = true;
  want.epoch = "e";
  want.offset = 18446744073709551615ull;
  want.data = "d";
  want.positioned = true;
  want.recoverable = true;
  want.join_leave = true;
  want.delta = "fossil";
  filter_node want_tf;
  want_tf.op = "or";
  want_tf.nodes.push_back({"", "k", "in", "v", {"1", "2"}, {}});
  want.tf = want_tf;
  want.flag = -3;
  want.type = 4;
  want.phase = 1;
  want.cursor = "c";
  want.limit = -1;
  want.asc = true;
  EXPECT_EQ(cmd.as<subscribe_request>(), want);
}

TEST(protobuf_codec_decode, every_other_command_kind) {
  pb::Command m;
  m.set_id(2);
  m.mutable_unsubscribe()->set_channel("u");
  command c = decode_one(m);
  EXPECT_EQ(c.kind, command_kind::unsubscribe);
  EXPECT_EQ(c.as<unsubscribe_request>().channel, "u");

  m.Clear();
  auto* p = m.mutable_publish();
  p->set_channel("p");
  p->set_data("\x01\x02");
  p->set_type(1);
  p->set_key("k");
  p->set_removed(true);
  c = decode_one(m);
  EXPECT_EQ(c.kind, command_kind::publish);
  EXPECT_EQ(c.as<publish_request>(), (publish_request{"p", "\x01\x02", 1, "k", true}));

  m.Clear();
  m.mutable_presence()->set_channel("pr");
  c = decode_one(m);
  EXPECT_EQ(c.kind, command_kind::presence);
  EXPECT_EQ(c.as<presence_request>().channel, "pr");

  m.Clear();
  m.mutable_presence_stats()->set_channel("ps");
  c = decode_one(m);
  EXPECT_EQ(c.kind, command_kind::presence_stats);
  EXPECT_EQ(c.as<presence_stats_request>().channel, "ps");

  m.Clear();
  auto* h = m.mutable_history();
  h->set_channel("h");
  h->set_limit(-1);
  h->mutable_since()->set_offset(5);
  h->mutable_since()->set_epoch("ep");
  h->set_reverse(true);
  c = decode_one(m);
  EXPECT_EQ(c.kind, command_kind::history);
  history_request want_h;
  want_h.channel = "h";
  want_h.limit = -1;
  want_h.since = stream_position{5, "ep"};
  want_h.reverse = true;
  EXPECT_EQ(c.as<history_request>(), want_h);

  m.Clear();
  m.mutable_history()->mutable_since();  // present but empty: since = {0, ""}
  c = decode_one(m);
  EXPECT_EQ(c.as<history_request>().since, stream_position{});

  m.Clear();
  m.set_id(7);
  m.mutable_ping();
  c = decode_one(m);
  EXPECT_EQ(c.kind, command_kind::ping);
  EXPECT_EQ(c.id, 7u);

  m.Clear();
  m.mutable_send()->set_data("s");
  c = decode_one(m);
  EXPECT_EQ(c.kind, command_kind::send);
  EXPECT_EQ(c.as<send_request>().data, "s");

  m.Clear();
  m.mutable_rpc()->set_data("r");
  m.mutable_rpc()->set_method("m");
  c = decode_one(m);
  EXPECT_EQ(c.kind, command_kind::rpc);
  EXPECT_EQ(c.as<rpc_request>(), (rpc_request{"r", "m"}));

  m.Clear();
  m.mutable_refresh()->set_token("tok");
  c = decode_one(m);
  EXPECT_EQ(c.kind, command_kind::refresh);
  EXPECT_EQ(c.as<refresh_request>().token, "tok");

  m.Clear();
  auto* sr = m.mutable_sub_refresh();
  sr->set_channel("c");
  sr->set_token("t");
  sr->set_type(1);
  auto* batch = sr->add_track();
  batch->set_signature("sig");
  auto* item = batch->add_items();
  item->set_key("a");
  item->set_version(3);
  sr->add_untrack("x");
  c = decode_one(m);
  EXPECT_EQ(c.kind, command_kind::sub_refresh);
  sub_refresh_request want_sr;
  want_sr.channel = "c";
  want_sr.token = "t";
  want_sr.type = 1;
  want_sr.track.push_back({"sig", {{"a", 3}}});
  want_sr.untrack = {"x"};
  EXPECT_EQ(c.as<sub_refresh_request>(), want_sr);
}

TEST(protobuf_codec_decode, first_request_field_in_field_order_wins) {
  pb::Command m;
  m.mutable_rpc()->set_method("m");
  m.mutable_subscribe()->set_channel("s");
  m.mutable_publish()->set_channel("p");
  command c = decode_one(m);
  ASSERT_EQ(c.kind, command_kind::subscribe);
  EXPECT_EQ(c.as<subscribe_request>().channel, "s");
}

TEST(protobuf_codec_decode, unknown_fields_of_every_wire_type_are_skipped) {
  pb::Command m;
  m.set_id(3);
  m.mutable_publish()->set_channel("c");
  std::string body = m.SerializeAsString();
  body += from_hex("a0 06 96 01");                    // field 100 varint 150
  body += from_hex("aa 06 03 61 62 63");              // field 101 bytes "abc"
  body += from_hex("b5 06 01 02 03 04");              // field 102 fixed32
  body += from_hex("b9 06 01 02 03 04 05 06 07 08");  // field 103 fixed64
  body += from_hex("10 05");                          // reserved field 2 (v1 method)
  std::string frame = varint(body.size()) + body;
  auto cmds = decode_ok(frame);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].id, 3u);
  EXPECT_EQ(cmds[0].as<publish_request>().channel, "c");
}

TEST(protobuf_codec_decode, appends_and_leaves_output_untouched_on_error) {
  std::vector<command> out(1);
  out[0].id = 99;
  ASSERT_EQ(decode_padded(proto, from_hex("02 08 01 00"), out), decode_status::ok);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].id, 1u);
  ASSERT_EQ(decode_padded(proto, from_hex("02 08 01 05 08"), out), decode_status::malformed);
  EXPECT_EQ(out.size(), 3u);
}

TEST(protobuf_codec_decode, malformed_frames) {
  EXPECT_TRUE(is_malformed(""));                    // zero commands
  EXPECT_TRUE(is_malformed(from_hex("80")));        // truncated varint
  EXPECT_TRUE(is_malformed(from_hex("00 ff")));     // truncated varint after a pong
  EXPECT_TRUE(is_malformed(from_hex("05 08 01")));  // length past the end
  EXPECT_TRUE(is_malformed(from_hex("02 08")));     // truncated field inside
  EXPECT_TRUE(is_malformed(from_hex("02 ff ff")));  // invalid tag
  EXPECT_TRUE(is_malformed(from_hex("01 0f")));     // wire type 7
  EXPECT_TRUE(is_malformed(from_hex("02 00 01")));  // field number 0
  EXPECT_TRUE(is_malformed(from_hex("ff ff ff ff ff ff ff ff ff ff 01")));  // > 10 bytes
  EXPECT_TRUE(is_malformed(from_hex("ff ff ff ff ff ff ff ff ff 7f")));     // > 64 bits
  EXPECT_TRUE(is_malformed(from_hex("80 80 80 80 80 80 80 80 80 02")));     // > 64 bits, wraps to 0
  EXPECT_TRUE(is_malformed(from_hex("ff ff ff ff 0f 00")));                 // 4 GiB length
  EXPECT_TRUE(is_malformed(std::string("\xde\xad\xbe\xef garbage", 12)));
  EXPECT_TRUE(is_malformed(from_hex("04 22 02 22 05")));  // nested length past its parent
}

TEST(protobuf_codec_decode, invalid_utf8_in_string_fields_is_malformed) {
  // proto3 `string` must be UTF-8 (libprotobuf refuses it); `bytes` may hold anything.
  EXPECT_TRUE(is_malformed(from_hex("05 2a 03 0a 01 ff")));  // subscribe.channel = "\xff"
  auto cmds = decode_ok(from_hex("05 3a 03 12 01 ff"));      // publish.data = "\xff"
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].as<publish_request>().data, "\xff");
}

TEST(protobuf_codec_decode, deep_filter_trees_are_bounded) {
  auto nested = [](int depth) {
    pb::Command m;
    pb::FilterNode* n = m.mutable_subscribe()->mutable_tf();
    for (int i = 1; i < depth; ++i) {
      n->set_op("not");
      n = n->add_nodes();
    }
    n->set_key("k");
    n->set_cmp("ex");
    return m;
  };
  command c = decode_one(nested(32));
  int depth = 1;
  for (const filter_node* n = &*c.as<subscribe_request>().tf; !n->nodes.empty();
       n = &n->nodes.front()) {
    ++depth;
  }
  EXPECT_EQ(depth, 32);
  EXPECT_TRUE(is_malformed(framed(nested(33))));
  EXPECT_TRUE(is_malformed(framed(nested(90))));
}

TEST(protobuf_codec_decode, fuzz_seed_corpus_of_sdk_frames_decodes) {
  auto seeds = test::seed_corpus("protobuf_command_fuzz");
  EXPECT_GE(seeds.size(), 10u);
  for (const auto& [name, frame] : seeds) {
    std::vector<command> out;
    EXPECT_EQ(decode_padded(proto, frame, out), decode_status::ok) << name;
    EXPECT_FALSE(out.empty()) << name;
  }
}

// ---- encoding: exact bytes ------------------------------------------------------------

std::string encode_hex(const reply& r) {
  std::string out;
  proto.encode_reply(r, out);
  return to_hex(out);
}

TEST(protobuf_codec_encode, publish_reply_exact_bytes) {
  EXPECT_EQ(encode_hex(ok_reply(5, publish_result{})), "04 08 05 42 00");
}

TEST(protobuf_codec_encode, ping_is_a_single_zero_byte) {
  std::string out;
  proto.encode_ping(out);
  EXPECT_EQ(out, std::string(1, '\0'));
  EXPECT_EQ(encode_hex(reply{}), "00");
}

TEST(protobuf_codec_encode, connect_reply_spec_example) {
  // §8: Reply.id=1, connect{client "pb-client", version "mock", ping 1, pong true}.
  connect_result c;
  c.client = "pb-client";
  c.version = "mock";
  c.ping = 1;
  c.pong = true;
  EXPECT_EQ(encode_hex(ok_reply(1, c)),
            "19 08 01 2a 15 0a 09 70 62 2d 63 6c 69 65 6e 74 12 04 6d 6f 63 6b 38 01 40 01");
}

TEST(protobuf_codec_encode, empty_results_are_written) {
  EXPECT_EQ(encode_hex(ok_reply(6, unsubscribe_result{})), "04 08 06 3a 00");
  EXPECT_EQ(encode_hex(ok_reply(2, subscribe_result{})), "04 08 02 32 00");
  EXPECT_EQ(encode_hex(ok_reply(3, rpc_result{})), "04 08 03 6a 00");
  EXPECT_EQ(encode_hex(ok_reply(4, history_result{})), "04 08 04 5a 00");
  EXPECT_EQ(encode_hex(ok_reply(4, presence_result{})), "04 08 04 4a 00");
  EXPECT_EQ(encode_hex(ok_reply(4, presence_stats_result{})), "04 08 04 52 00");
  EXPECT_EQ(encode_hex(ok_reply(7, refresh_result{})), "04 08 07 72 00");
  EXPECT_EQ(encode_hex(ok_reply(8, sub_refresh_result{})), "04 08 08 7a 00");
  EXPECT_EQ(encode_hex(ok_reply(9, connect_result{})), "04 08 09 2a 00");
}

TEST(protobuf_codec_encode, error_reply_exact_bytes) {
  reply r;
  r.id = 3;
  r.error = error_reply{100, "x", true};
  r.result = publish_result{};  // an error wins over a result
  EXPECT_EQ(encode_hex(r), "0b 08 03 12 07 08 64 12 01 78 18 01");
}

TEST(protobuf_codec_encode, pub_push_exact_bytes) {
  publication p;
  p.offset = 7;
  std::string out;
  proto.encode_pub_push("news", p, "hi", {}, push_envelope::reply, out);
  // Reply{push(4){channel(2) "news", pub(4){data(4) "hi", offset(6) 7}}}
  EXPECT_EQ(to_hex(out), "10 22 0e 12 04 6e 65 77 73 22 06 22 02 68 69 30 07");
  out.clear();
  proto.encode_pub_push("news", p, "hi", {}, push_envelope::bare, out);
  EXPECT_EQ(to_hex(out), "0e 12 04 6e 65 77 73 22 06 22 02 68 69 30 07");
}

TEST(protobuf_codec_encode, messages_are_appended) {
  std::string out = "x";
  proto.encode_ping(out);
  proto.encode_reply(ok_reply(5, publish_result{}), out);
  EXPECT_EQ(to_hex(out), "78 00 04 08 05 42 00");
}

TEST(protobuf_codec_encode, large_messages_get_multi_byte_length_prefix) {
  std::string data(300000, '\xab');
  std::string out;
  proto.encode_message_push(data, push_envelope::bare, out);
  pb::Push m;
  ASSERT_TRUE(m.ParseFromString(unframe(out)));
  EXPECT_EQ(m.message().data(), data);
}

// ---- encoding: round trip through the generated classes --------------------------------

TEST(protobuf_codec_encode, connect_result_round_trip) {
  connect_result c;
  c.client = "c1";
  c.version = "v";
  c.expires = true;
  c.ttl = 600;
  c.data = std::string("\0\x01", 2);
  subscribe_result s;
  s.recoverable = true;
  s.epoch = "e";
  s.offset = 3;
  c.subs.emplace_back("ch", s);
  c.subs.emplace_back("empty", subscribe_result{});
  c.ping = 25;
  c.pong = true;
  c.session = "sess";
  c.node = "node";
  c.time = 1716000000000;
  pb::Reply m = reply_of(ok_reply(1, c));
  EXPECT_EQ(m.id(), 1u);
  ASSERT_TRUE(m.has_connect());
  const auto& r = m.connect();
  EXPECT_EQ(r.client(), "c1");
  EXPECT_EQ(r.version(), "v");
  EXPECT_TRUE(r.expires());
  EXPECT_EQ(r.ttl(), 600u);
  EXPECT_EQ(r.data(), std::string("\0\x01", 2));
  ASSERT_EQ(r.subs().size(), 2u);
  EXPECT_TRUE(r.subs().at("ch").recoverable());
  EXPECT_EQ(r.subs().at("ch").epoch(), "e");
  EXPECT_EQ(r.subs().at("ch").offset(), 3u);
  EXPECT_EQ(r.subs().count("empty"), 1u);
  EXPECT_EQ(r.ping(), 25u);
  EXPECT_TRUE(r.pong());
  EXPECT_EQ(r.session(), "sess");
  EXPECT_EQ(r.node(), "node");
  EXPECT_EQ(r.time(), 1716000000000);
}

TEST(protobuf_codec_encode, subscribe_result_round_trip) {
  subscribe_result s;
  s.expires = true;
  s.ttl = 10;
  s.recoverable = true;
  s.epoch = "e";
  publication full;
  full.offset = 4;
  full.data = "full";
  full.info = client_info{"u", "c", "ci", "hi"};
  full.tags = {{"k", "v"}};
  full.time = 9;
  publication patch;
  patch.offset = 5;
  patch.data = "patch";
  patch.delta = true;
  s.publications = {full, patch};
  s.recovered = true;
  s.offset = 3;
  s.positioned = true;
  s.data = "d";
  s.was_recovering = true;
  s.delta = true;
  s.id = -2;
  s.type = 1;
  s.phase = 2;
  s.cursor = "cur";
  s.state = {full};
  s.publish_debounce = 100;
  pb::Reply m = reply_of(ok_reply(2, s));
  ASSERT_TRUE(m.has_subscribe());
  const auto& r = m.subscribe();
  EXPECT_TRUE(r.expires());
  EXPECT_EQ(r.ttl(), 10u);
  EXPECT_TRUE(r.recoverable());
  EXPECT_EQ(r.epoch(), "e");
  ASSERT_EQ(r.publications_size(), 2);
  const auto& p0 = r.publications(0);
  EXPECT_EQ(p0.data(), "full");
  EXPECT_EQ(p0.offset(), 4u);
  EXPECT_EQ(p0.info().user(), "u");
  EXPECT_EQ(p0.info().client(), "c");
  EXPECT_EQ(p0.info().conn_info(), "ci");
  EXPECT_EQ(p0.info().chan_info(), "hi");
  EXPECT_EQ(p0.tags().at("k"), "v");
  EXPECT_EQ(p0.time(), 9);
  EXPECT_FALSE(p0.delta());
  EXPECT_EQ(r.publications(1).data(), "patch");
  EXPECT_TRUE(r.publications(1).delta());
  EXPECT_TRUE(r.recovered());
  EXPECT_EQ(r.offset(), 3u);
  EXPECT_TRUE(r.positioned());
  EXPECT_EQ(r.data(), "d");
  EXPECT_TRUE(r.was_recovering());
  EXPECT_TRUE(r.delta());
  EXPECT_EQ(r.id(), -2);
  EXPECT_EQ(r.type(), 1);
  EXPECT_EQ(r.phase(), 2);
  EXPECT_EQ(r.cursor(), "cur");
  ASSERT_EQ(r.state_size(), 1);
  EXPECT_EQ(r.state(0).data(), "full");
  EXPECT_EQ(r.publish_debounce(), 100u);

  // Outside delta subscriptions the publication's delta flag is not a patch marker.
  s.delta = false;
  pb::Reply plain = reply_of(ok_reply(2, s));
  EXPECT_FALSE(plain.subscribe().publications(1).delta());
}

TEST(protobuf_codec_encode, other_results_round_trip) {
  presence_result pr;
  pr.presence.emplace_back("c-1", client_info{"", "c-1", "", ""});
  pr.presence.emplace_back("c-2", client_info{"42", "c-2", "x", ""});
  pb::Reply m = reply_of(ok_reply(1, pr));
  ASSERT_EQ(m.presence().presence().size(), 2u);
  EXPECT_EQ(m.presence().presence().at("c-2").user(), "42");
  EXPECT_EQ(m.presence().presence().at("c-2").conn_info(), "x");
  EXPECT_EQ(m.presence().presence().at("c-1").client(), "c-1");

  m = reply_of(ok_reply(1, presence_stats_result{2, 1}));
  EXPECT_EQ(m.presence_stats().num_clients(), 2u);
  EXPECT_EQ(m.presence_stats().num_users(), 1u);

  history_result h;
  publication hp;
  hp.offset = 2;
  hp.data = "v2";
  hp.delta = true;  // history is never delta-encoded
  h.publications = {hp};
  h.epoch = "ep";
  h.offset = 3;
  m = reply_of(ok_reply(4, h));
  ASSERT_EQ(m.history().publications_size(), 1);
  EXPECT_EQ(m.history().publications(0).data(), "v2");
  EXPECT_FALSE(m.history().publications(0).delta());
  EXPECT_EQ(m.history().epoch(), "ep");
  EXPECT_EQ(m.history().offset(), 3u);

  m = reply_of(ok_reply(3, rpc_result{"r"}));
  EXPECT_EQ(m.rpc().data(), "r");

  m = reply_of(ok_reply(7, refresh_result{"c", "v", true, 60}));
  EXPECT_EQ(m.refresh().client(), "c");
  EXPECT_EQ(m.refresh().version(), "v");
  EXPECT_TRUE(m.refresh().expires());
  EXPECT_EQ(m.refresh().ttl(), 60u);

  m = reply_of(ok_reply(8, sub_refresh_result{true, 30}));
  EXPECT_TRUE(m.sub_refresh().expires());
  EXPECT_EQ(m.sub_refresh().ttl(), 30u);
}

// Parses a push written with `env`, checking the envelope.
pb::Push push_of(const std::string& out, push_envelope env) {
  pb::Push push;
  if (env == push_envelope::reply) {
    pb::Reply r;
    EXPECT_TRUE(r.ParseFromString(unframe(out)));
    EXPECT_EQ(r.id(), 0u);
    EXPECT_TRUE(r.has_push());
    push = r.push();
  } else {
    EXPECT_TRUE(push.ParseFromString(unframe(out)));
  }
  return push;
}

class protobuf_push : public ::testing::TestWithParam<push_envelope> {};

TEST_P(protobuf_push, pub_push_fields) {
  publication p;
  p.offset = 1;
  p.data = "ignored: the data argument is written";
  p.info = client_info{"u", "c", "", "ch"};
  p.tags = {{"a", "1"}};
  p.delta = true;
  p.time = 77;
  std::string out;
  proto.encode_pub_push("chan", p, std::string("\x00\xffpatch", 7),
                        {.patch = true, .epoch = "EP", .channel = "chan.x"}, GetParam(), out);
  pb::Push m = push_of(out, GetParam());
  EXPECT_EQ(m.channel(), "chan");
  ASSERT_TRUE(m.has_pub());
  EXPECT_EQ(m.pub().data(), std::string("\x00\xffpatch", 7));
  EXPECT_EQ(m.pub().offset(), 1u);
  EXPECT_EQ(m.pub().info().user(), "u");
  EXPECT_EQ(m.pub().info().chan_info(), "ch");
  EXPECT_EQ(m.pub().tags().at("a"), "1");
  EXPECT_TRUE(m.pub().delta());
  EXPECT_EQ(m.pub().time(), 77);
  EXPECT_EQ(m.pub().epoch(), "EP");
  EXPECT_EQ(m.pub().channel(), "chan.x");

  out.clear();
  proto.encode_pub_push("chan", p, "full", {.patch = false, .json_string = true}, GetParam(), out);
  m = push_of(out, GetParam());
  EXPECT_EQ(m.pub().data(), "full");  // json_string means nothing to Protobuf
  EXPECT_FALSE(m.pub().delta());
  EXPECT_EQ(m.pub().epoch(), "");
}

TEST_P(protobuf_push, join_leave_unsubscribe_message) {
  std::string out;
  proto.encode_join_push("c", client_info{"u", "id", "ci", ""}, GetParam(), out);
  pb::Push m = push_of(out, GetParam());
  EXPECT_EQ(m.channel(), "c");
  EXPECT_EQ(m.join().info().user(), "u");
  EXPECT_EQ(m.join().info().client(), "id");
  EXPECT_EQ(m.join().info().conn_info(), "ci");

  out.clear();
  proto.encode_leave_push("c", client_info{}, GetParam(), out);
  m = push_of(out, GetParam());
  EXPECT_TRUE(m.has_leave());
  EXPECT_TRUE(m.leave().has_info());  // empty info is still written

  out.clear();
  proto.encode_unsubscribe_push("c", 2500, "insufficient state", GetParam(), out);
  m = push_of(out, GetParam());
  EXPECT_EQ(m.unsubscribe().code(), 2500u);
  EXPECT_EQ(m.unsubscribe().reason(), "insufficient state");

  out.clear();
  proto.encode_unsubscribe_push("c", 0, "", GetParam(), out);
  EXPECT_TRUE(push_of(out, GetParam()).has_unsubscribe());

  out.clear();
  proto.encode_message_push("m", GetParam(), out);
  m = push_of(out, GetParam());
  EXPECT_EQ(m.channel(), "");
  EXPECT_EQ(m.message().data(), "m");

  out.clear();
  proto.encode_message_push("", GetParam(), out);
  EXPECT_TRUE(push_of(out, GetParam()).has_message());
}

TEST_P(protobuf_push, subscribe_disconnect_refresh_connect) {
  std::string out;
  proto.encode_subscribe_push("user#42", subscribe_push{true, "ab", 3, true, "d"}, GetParam(), out);
  pb::Push m = push_of(out, GetParam());
  EXPECT_EQ(m.channel(), "user#42");
  EXPECT_TRUE(m.subscribe().recoverable());
  EXPECT_EQ(m.subscribe().epoch(), "ab");
  EXPECT_EQ(m.subscribe().offset(), 3u);
  EXPECT_TRUE(m.subscribe().positioned());
  EXPECT_EQ(m.subscribe().data(), "d");

  out.clear();
  proto.encode_disconnect_push(3001, "shutdown", GetParam(), out);
  m = push_of(out, GetParam());
  EXPECT_EQ(m.disconnect().code(), 3001u);
  EXPECT_EQ(m.disconnect().reason(), "shutdown");
  EXPECT_FALSE(m.disconnect().reconnect());

  out.clear();
  proto.encode_refresh_push(true, 60, GetParam(), out);
  m = push_of(out, GetParam());
  EXPECT_TRUE(m.refresh().expires());
  EXPECT_EQ(m.refresh().ttl(), 60u);

  out.clear();
  proto.encode_refresh_push(false, 0, GetParam(), out);
  EXPECT_TRUE(push_of(out, GetParam()).has_refresh());

  connect_result c;
  c.client = "c1";
  c.version = "v";
  c.data = "d";
  c.subs.emplace_back("ch", subscribe_result{});
  c.expires = true;
  c.ttl = 5;
  c.ping = 25;
  c.session = "s";
  c.node = "n";
  c.time = 11;
  out.clear();
  proto.encode_connect_push(c, GetParam(), out);
  m = push_of(out, GetParam());
  const auto& cp = m.connect();
  EXPECT_EQ(cp.client(), "c1");
  EXPECT_EQ(cp.version(), "v");
  EXPECT_EQ(cp.data(), "d");
  EXPECT_EQ(cp.subs().count("ch"), 1u);
  EXPECT_TRUE(cp.expires());
  EXPECT_EQ(cp.ttl(), 5u);
  EXPECT_EQ(cp.ping(), 25u);
  EXPECT_FALSE(cp.pong());
  EXPECT_EQ(cp.session(), "s");
  EXPECT_EQ(cp.node(), "n");
  EXPECT_EQ(cp.time(), 11);
}

INSTANTIATE_TEST_SUITE_P(envelopes, protobuf_push,
                         ::testing::Values(push_envelope::reply, push_envelope::bare),
                         [](const auto& info) {
                           return info.param == push_envelope::reply ? "reply" : "bare";
                         });

TEST(protobuf_codec_encode, connect_push_numbering_differs_from_connect_result) {
  // Connect push: data = 3, expires = 5, ttl = 6 (ConnectResult: expires 3, ttl 4, data 5).
  connect_result c;
  c.data = "D";
  c.expires = true;
  c.ttl = 9;
  std::string out;
  proto.encode_connect_push(c, push_envelope::bare, out);
  EXPECT_EQ(to_hex(out), "09 52 07 1a 01 44 28 01 30 09");
  out.clear();
  proto.encode_reply(ok_reply(0, c), out);
  EXPECT_EQ(to_hex(out), "09 2a 07 18 01 20 09 2a 01 44");
}

TEST(protobuf_codec_encode, subscribe_push_numbering_differs_from_subscribe_result) {
  // Subscribe push: recoverable 1, epoch 4, offset 5, positioned 6, data 7.
  std::string out;
  proto.encode_subscribe_push("", subscribe_push{true, "e", 2, true, "d"}, push_envelope::bare,
                              out);
  EXPECT_EQ(to_hex(out), "0e 4a 0c 08 01 22 01 65 28 02 30 01 3a 01 64");
}

TEST(protobuf_codec, replies_decode_as_the_commands_were_meant) {
  // A command encoded by the generated classes and the reply we encode for it agree on
  // ids and field numbers (what the JS protobuf client relies on).
  pb::Command cmd;
  cmd.set_id(42);
  cmd.mutable_presence_stats()->set_channel("room");
  command c = decode_one(cmd);
  ASSERT_EQ(c.kind, command_kind::presence_stats);
  pb::Reply r = reply_of(ok_reply(c.id, presence_stats_result{3, 2}));
  EXPECT_EQ(r.id(), 42u);
  EXPECT_EQ(r.presence_stats().num_clients(), 3u);
}

}  // namespace
}  // namespace gyre::protocol
