// Tests of gyre-bench's wire handling: the streaming server-frame reader, the message
// splitters and classifiers (cross-checked against the server's own codecs), the command
// encoders (decoded by the server's decoders), HTTP response parsing, the histogram and
// the HS256 tokens (compared with the server's signer). No timing assertions.
#include "load/message_scan.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "auth/jwt.hpp"
#include "load/histogram.hpp"
#include "load/publisher.hpp"
#include "load/server_frames.hpp"
#include "protocol/codec.hpp"
#include "transport/ws_frame.hpp"

namespace gyre::bench {
namespace {

std::string server_frame(ws::opcode op, std::string_view payload, bool fin = true) {
  char h[ws::max_server_header_size];
  size_t n = ws::write_frame_header(h, op, payload.size(), fin);
  return std::string(h, n) + std::string(payload);
}

struct recorder {
  std::vector<std::string> messages;
  std::vector<std::pair<ws_op, std::string>> controls;
  std::string cur;
  void on_data(const char* p, size_t n) { cur.append(p, n); }
  void on_message_end() {
    messages.push_back(cur);
    cur.clear();
  }
  void on_control(ws_op op, std::string_view payload) {
    controls.emplace_back(op, std::string(payload));
  }
};

TEST(ServerFrameReader, DecodesAnySplitOfAStream) {
  std::string big(70000, 'b');  // 64-bit length form
  std::string mid(300, 'm');    // 16-bit length form
  std::string stream =
      server_frame(ws::opcode::text, "hello") + server_frame(ws::opcode::ping, "pp") +
      server_frame(ws::opcode::binary, mid) + server_frame(ws::opcode::text, "") +
      server_frame(ws::opcode::text, "frag1-", false) + server_frame(ws::opcode::pong, "") +
      server_frame(ws::opcode::continuation, "frag2") + server_frame(ws::opcode::binary, big);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    server_frame_reader r;
    recorder rec;
    size_t pos = 0;
    while (pos < stream.size()) {
      size_t n = std::min<size_t>(stream.size() - pos, 1 + rng() % (trial < 50 ? 3 : 20000));
      ASSERT_TRUE(r.feed(stream.data() + pos, n, rec));
      pos += n;
    }
    ASSERT_TRUE(r.at_frame_boundary());
    ASSERT_EQ(rec.messages.size(), 5u);
    EXPECT_EQ(rec.messages[0], "hello");
    EXPECT_EQ(rec.messages[1], mid);
    EXPECT_EQ(rec.messages[2], "");
    EXPECT_EQ(rec.messages[3], "frag1-frag2");
    EXPECT_EQ(rec.messages[4], big);
    ASSERT_EQ(rec.controls.size(), 2u);
    EXPECT_EQ(rec.controls[0].first, ws_op::ping);
    EXPECT_EQ(rec.controls[0].second, "pp");
    EXPECT_EQ(rec.controls[1].first, ws_op::pong);
  }
}

TEST(ServerFrameReader, RejectsMaskedAndReservedFrames) {
  std::string masked;
  ws::append_client_frame(masked, ws::opcode::text, "x", {1, 2, 3, 4});
  server_frame_reader r;
  recorder rec;
  EXPECT_FALSE(r.feed(masked.data(), masked.size(), rec));
  EXPECT_EQ(r.error(), frame_read_error::masked);
  std::string rsv = server_frame(ws::opcode::text, "x");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  server_frame_reader r2;
  EXPECT_FALSE(r2.feed(rsv.data(), rsv.size(), rec));
  EXPECT_EQ(r2.error(), frame_read_error::reserved_bits);
}

TEST(JsonLineSplitter, SplitsLinesAcrossPieces) {
  std::string msg = "{\"a\":1}\n{\"b\":2}\n{}\n{\"c\":3}";  // last line without '\n'
  for (size_t cut = 0; cut <= msg.size(); ++cut) {
    json_line_splitter s;
    std::vector<std::string> lines;
    auto f = [&](std::string_view l) { lines.emplace_back(l); };
    ASSERT_TRUE(s.feed(msg.data(), cut, f));
    ASSERT_TRUE(s.feed(msg.data() + cut, msg.size() - cut, f));
    s.end_message(f);
    ASSERT_EQ(lines.size(), 4u) << cut;
    EXPECT_EQ(lines[2], "{}");
    EXPECT_EQ(lines[3], "{\"c\":3}");
  }
}

TEST(VarintSplitter, SplitsMessagesAcrossPieces) {
  std::string a(200, 'a');  // two-byte length
  std::string stream;
  append_varint(stream, 3);
  stream += "xyz";
  append_varint(stream, 0);  // ping
  append_varint(stream, a.size());
  stream += a;
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    varint_splitter s;
    std::vector<std::string> msgs;
    auto f = [&](std::string_view m) { msgs.emplace_back(m); };
    ASSERT_TRUE(s.feed(stream.data(), cut, f));
    ASSERT_TRUE(s.feed(stream.data() + cut, stream.size() - cut, f));
    ASSERT_TRUE(s.end_message());
    ASSERT_EQ(msgs.size(), 3u) << cut;
    EXPECT_EQ(msgs[0], "xyz");
    EXPECT_EQ(msgs[1], "");
    EXPECT_EQ(msgs[2], a);
  }
  varint_splitter s;
  auto f = [](std::string_view) {};
  ASSERT_TRUE(s.feed(stream.data(), 2, f));
  EXPECT_FALSE(s.end_message());  // a message cut at the end of a WebSocket message
}

// What the server's codecs write is what the tool's classifiers must recognise.
void check_server_output(protocol::encoding enc) {
  const protocol::codec& c = protocol::codec_for(enc);
  auto one = [&](std::string framed) -> std::string {
    if (enc == protocol::encoding::json) {
      EXPECT_EQ(framed.back(), '\n');
      framed.pop_back();
      return framed;
    }
    varint_splitter s;
    std::string out;
    EXPECT_TRUE(s.feed(framed.data(), framed.size(), [&](std::string_view m) { out = m; }));
    return out;
  };
  auto classify = [&](std::string_view m) {
    return enc == protocol::encoding::json ? classify_json_line(m) : classify_proto_message(m);
  };
  auto parse = [&](std::string_view m, reply_info& ri) {
    return enc == protocol::encoding::json ? parse_json_reply(m, ri) : parse_proto_reply(m, ri);
  };

  std::string out;
  c.encode_ping(out);
  EXPECT_EQ(classify(one(out)), msg_kind::ping);

  publication pub;
  pub.data = "{\"ts\":123456,\"seq\":1}";
  out.clear();
  c.encode_pub_push("bench", pub, pub.data, {}, protocol::push_envelope::reply, out);
  std::string push = one(out);
  EXPECT_EQ(classify(push), msg_kind::push);
  uint64_t ts = 0;
  EXPECT_TRUE(find_timestamp(push, ts));
  EXPECT_EQ(ts, 123456u);

  protocol::reply r;
  r.id = 1;
  protocol::connect_result cr;
  cr.client = "c1";
  cr.ping = 25;
  cr.pong = true;
  r.result = cr;
  out.clear();
  c.encode_reply(r, out);
  std::string rep = one(out);
  EXPECT_EQ(classify(rep), msg_kind::reply);
  reply_info ri;
  ASSERT_TRUE(parse(rep, ri));
  EXPECT_EQ(ri.id, 1u);
  EXPECT_FALSE(ri.error);
  EXPECT_TRUE(ri.pong);
  EXPECT_EQ(ri.ping, 25u);

  protocol::reply e;
  e.id = 7;
  e.error = protocol::error_reply{103, "permission denied", false};
  out.clear();
  c.encode_reply(e, out);
  std::string err = one(out);
  EXPECT_EQ(classify(err), msg_kind::reply);
  ASSERT_TRUE(parse(err, ri));
  EXPECT_EQ(ri.id, 7u);
  EXPECT_TRUE(ri.error);
  EXPECT_EQ(ri.error_code, 103u);

  protocol::reply s;
  s.id = 2;
  s.result = protocol::subscribe_result{};
  out.clear();
  c.encode_reply(s, out);
  std::string sub = one(out);
  ASSERT_TRUE(parse(sub, ri));
  EXPECT_EQ(ri.id, 2u);
  EXPECT_FALSE(ri.error);
}

TEST(Classify, JsonServerOutput) {
  check_server_output(protocol::encoding::json);
}
TEST(Classify, ProtobufServerOutput) {
  check_server_output(protocol::encoding::protobuf);
}

// The tool's commands decode with the server's decoders.
void check_commands(protocol::encoding enc) {
  const bool json = enc == protocol::encoding::json;
  std::string frame;
  if (json) {
    json_connect(frame, 1, "tok.en.sig");
    frame += '\n';
    json_subscribe(frame, 2, "bench");
    frame += '\n';
    json_publish(frame, 3, "bench", "{\"ts\":1,\"seq\":2,\"pad\":\"xx\"}");
  } else {
    proto_connect(frame, 1, "tok.en.sig");
    proto_subscribe(frame, 2, "bench");
    proto_publish(frame, 3, "bench", "{\"ts\":1,\"seq\":2,\"pad\":\"xx\"}");
  }
  std::string padded = frame + std::string(protocol::decode_padding, '\0');
  std::vector<protocol::command> cmds;
  ASSERT_EQ(
      protocol::codec_for(enc).decode_commands(std::string_view(padded.data(), frame.size()), cmds),
      protocol::decode_status::ok);
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[0].id, 1u);
  EXPECT_EQ(cmds[0].kind, protocol::command_kind::connect);
  EXPECT_EQ(cmds[0].as<protocol::connect_request>().token, "tok.en.sig");
  EXPECT_EQ(cmds[1].kind, protocol::command_kind::subscribe);
  EXPECT_EQ(cmds[1].as<protocol::subscribe_request>().channel, "bench");
  EXPECT_EQ(cmds[2].kind, protocol::command_kind::publish);
  EXPECT_EQ(cmds[2].as<protocol::publish_request>().data, "{\"ts\":1,\"seq\":2,\"pad\":\"xx\"}");
}

TEST(Commands, JsonDecodesOnServer) {
  check_commands(protocol::encoding::json);
}
TEST(Commands, ProtobufDecodesOnServer) {
  check_commands(protocol::encoding::protobuf);
}

TEST(Payload, HasRequestedSizeAndTimestamp) {
  std::string p;
  make_payload(p, 1700000000123456ull, 42, 100);
  EXPECT_EQ(p.size(), 100u);
  uint64_t ts = 0;
  ASSERT_TRUE(find_timestamp(p, ts));
  EXPECT_EQ(ts, 1700000000123456ull);
  make_payload(p, 1, 2, 5);  // shorter than the fields: as short as possible
  EXPECT_EQ(p, "{\"ts\":1,\"seq\":2,\"pad\":\"\"}");
}

TEST(Token, MatchesTheServersSigner) {
  std::string tool = make_hs256_token("secret", "u42", 2000000000);
  auto signer = auth::jwt_signer::hmac(auth::jwt_alg::hs256, "secret");
  ASSERT_TRUE(signer);
  auto server = signer->sign("{\"sub\":\"u42\",\"exp\":2000000000}");
  ASSERT_TRUE(server);
  EXPECT_EQ(tool, server.value());
}

TEST(Http, ParsesLengthChunkedAndPartialResponses) {
  int status = 0;
  std::string_view body;
  bool close = false;
  std::string r =
      "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: "
      "application/json\r\n\r\n{\"result\":{}}";
  std::string pipelined = r + "HTTP/1.1";  // body views into this buffer: keep it alive
  EXPECT_EQ(parse_http_response(pipelined, status, body, close), static_cast<long>(r.size()));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, "{\"result\":{}}");
  EXPECT_FALSE(close);
  EXPECT_EQ(parse_http_response(r.substr(0, r.size() - 1), status, body, close), 0);
  std::string c =
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: "
      "close\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  EXPECT_EQ(parse_http_response(c, status, body, close), static_cast<long>(c.size()));
  EXPECT_EQ(status, 201);
  EXPECT_TRUE(close);
  EXPECT_EQ(parse_http_response(c.substr(0, c.size() - 2), status, body, close), 0);
}

TEST(Http, ScansBatchReplies) {
  bool ok[4] = {};
  std::string body =
      "{\"replies\":[{\"publish\":{}},{\"error\":{\"code\":102,\"message\":\"unknown "
      "channel\"}},{\"publish\":{\"offset\":3}}]}";
  ASSERT_EQ(scan_batch_replies(body, ok, 4), 3u);
  EXPECT_TRUE(ok[0]);
  EXPECT_FALSE(ok[1]);
  EXPECT_TRUE(ok[2]);
}

TEST(Histogram, BucketsAreMonotonicAndTight) {
  size_t prev = 0;
  for (uint64_t v = 0; v < 5'000'000; v += 1 + v / 50) {
    size_t b = hist_bucket_of(v);
    EXPECT_GE(b, prev);
    EXPECT_LE(hist_lower_bound(b), v);
    EXPECT_GE(hist_upper_bound(b), v);
    EXPECT_LE(hist_upper_bound(b) - hist_lower_bound(b), v / 32 + 1);
    prev = b;
  }
  histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.5)), 500, 500 / 32.0 + 1);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.99)), 990, 990 / 32.0 + 1);
  EXPECT_EQ(h.quantile(1.0), 1000u);
}

}  // namespace
}  // namespace gyre::bench
