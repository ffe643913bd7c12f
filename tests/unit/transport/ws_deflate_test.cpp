// permessage-deflate: offer negotiation, the compressed-bit rules of the frame parser,
// inflating split at every position (fragmented, context takeover on and off), the
// decompressed size limit (a deflate bomb) and the server's compressed frames.
#include "transport/ws_deflate.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "transport/ws_frame.hpp"

namespace gyre::ws {
namespace {

constexpr masking_key key1 = {0x37, 0xfa, 0x21, 0x3d};

// A client-side raw-deflate stream (what a browser does): messages compressed with
// Z_SYNC_FLUSH and the 00 00 ff ff tail removed; the context is kept unless `reset`.
class client_deflater {
 public:
  client_deflater() { deflateInit2(&z_, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY); }
  ~client_deflater() { deflateEnd(&z_); }
  std::string compress(std::string_view in, bool reset = false) {
    if (reset) deflateReset(&z_);
    std::string out(deflateBound(&z_, in.size()) + 64, '\0');
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z_, Z_SYNC_FLUSH), Z_OK);
    out.resize(out.size() - z_.avail_out);
    EXPECT_GE(out.size(), 4u);
    EXPECT_EQ(out.substr(out.size() - 4), std::string("\x00\x00\xff\xff", 4));
    out.resize(out.size() - 4);
    return out;
  }

 private:
  z_stream z_{};
};

// A masked client frame with RSV1 set when `rsv1`.
std::string client_frame(opcode op, std::string_view payload, bool fin, bool rsv1) {
  std::string s;
  append_client_frame(s, op, payload, key1, fin);
  if (rsv1) s[0] = static_cast<char>(s[0] | 0x40);
  return s;
}

// Plays a connection that negotiated the extension: feeds `wire` cut at `cut`, inflates
// compressed messages with `inf` and returns the whole messages, or an error string.
struct played {
  std::vector<std::string> messages;
  std::string error;
};
played play(std::string_view wire, size_t cut, inflater& inf, bool compression = true) {
  frame_parser parser;
  parser.allow_compression(compression);
  played out;
  std::string buf, message;
  for (std::string_view piece : {wire.substr(0, cut), wire.substr(cut)}) {
    buf.append(piece);
    parse_result r =
        parser.parse(std::span<char>(buf.data(), buf.size()), [&](const frame_event& e) {
          if (!out.error.empty()) return false;
          if (e.type != event_type::message && e.type != event_type::fragment) return true;
          if (e.compressed) {
            auto res = inf.feed(e.payload, e.fin, message);
            if (res == inflater::result::too_big) out.error = "too_big";
            if (res == inflater::result::bad_data) out.error = "bad_data";
            if (!out.error.empty()) return false;
          } else {
            message.append(e.payload);
          }
          if (e.fin) out.messages.push_back(std::exchange(message, {}));
          return true;
        });
    if (r.status == parse_status::failed) {
      out.error = std::string(describe(r.error));
      return out;
    }
    if (!out.error.empty()) return out;
    buf.erase(0, r.consumed);
  }
  return out;
}

// ---------------------------------------------------------------------------- negotiation

TEST(ws_deflate, negotiates_a_plain_offer) {
  auto a = negotiate_deflate("permessage-deflate");
  EXPECT_TRUE(a.enabled);
  EXPECT_FALSE(a.client_no_context_takeover);
  EXPECT_EQ(a.response, "permessage-deflate; server_no_context_takeover");
}

TEST(ws_deflate, browser_and_node_offers) {
  // Chrome / Firefox / Node's ws.
  auto a = negotiate_deflate("permessage-deflate; client_max_window_bits");
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.response, "permessage-deflate; server_no_context_takeover");
  auto b = negotiate_deflate(
      "permessage-deflate; client_no_context_takeover; client_max_window_bits=\"10\"");
  EXPECT_TRUE(b.enabled);
  EXPECT_TRUE(b.client_no_context_takeover);
  EXPECT_EQ(b.response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
}

TEST(ws_deflate, server_max_window_bits_only_15) {
  auto a = negotiate_deflate("permessage-deflate; server_max_window_bits=15");
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.response,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=15");
  // A smaller window is declined; the fallback offer that follows is taken.
  auto b = negotiate_deflate(
      "permessage-deflate; server_max_window_bits=10, permessage-deflate; "
      "client_no_context_takeover");
  EXPECT_TRUE(b.enabled);
  EXPECT_TRUE(b.client_no_context_takeover);
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits=10").enabled);
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits").enabled);
}

TEST(ws_deflate, malformed_offers_are_declined) {
  for (std::string_view bad : {
           "permessage-deflate; foo",
           "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
           "permessage-deflate; client_no_context_takeover=1",
           "permessage-deflate; client_max_window_bits=7",
           "permessage-deflate; client_max_window_bits=16",
           "permessage-deflate; client_max_window_bits=010",
           "permessage-deflate; client_max_window_bits=abc",
           "permessage-deflate; client_max_window_bits; client_max_window_bits",
           "permessage-deflate;",
           "permessage-deflate;; client_max_window_bits",
           "x-webkit-deflate-frame",
           "",
       })
    EXPECT_FALSE(negotiate_deflate(bad).enabled) << bad;
}

TEST(ws_deflate, other_extensions_are_skipped_and_names_are_case_insensitive) {
  auto a = negotiate_deflate("x-foo; bar=1, Permessage-Deflate ; Client_Max_Window_Bits = 12");
  EXPECT_TRUE(a.enabled);
}

// ---------------------------------------------------------------------------- parser rules

TEST(ws_deflate, rsv1_rules) {
  inflater inf(false, 1 << 16);
  client_deflater d;
  std::string c = d.compress("hi");
  // RSV1 without the extension negotiated.
  EXPECT_EQ(play(client_frame(opcode::text, c, true, true), 0, inf, false).error,
            describe(frame_error::reserved_bits));
  // RSV1 on a ping, a pong, a close: protocol error 1002.
  for (opcode op : {opcode::ping, opcode::pong, opcode::close}) {
    std::string w = client_frame(op, "", true, true);
    auto p = play(w, 1, inf);
    EXPECT_EQ(p.error, describe(frame_error::compressed_bit));
  }
  EXPECT_EQ(close_code_for(frame_error::compressed_bit), close_code::protocol_error);
  // RSV1 on a continuation frame.
  std::string w = client_frame(opcode::text, c.substr(0, 1), false, true) +
                  client_frame(opcode::continuation, c.substr(1), true, true);
  EXPECT_EQ(play(w, 0, inf).error, describe(frame_error::compressed_bit));
  // RSV2 / RSV3 stay errors with compression on.
  std::string rsv2 = client_frame(opcode::text, "x", true, false);
  rsv2[0] = static_cast<char>(rsv2[0] | 0x20);
  EXPECT_EQ(play(rsv2, 0, inf).error, describe(frame_error::reserved_bits));
}

TEST(ws_deflate, compressed_text_is_not_utf8_checked_by_the_parser) {
  inflater inf(true, 1 << 16);
  client_deflater d;
  std::string c = d.compress("\xff\xfe");  // invalid UTF-8 once inflated: the caller's check
  auto p = play(client_frame(opcode::text, c, true, true), 0, inf);
  EXPECT_EQ(p.error, "");
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0], "\xff\xfe");
}

// ---------------------------------------------------------------------------- inflating

TEST(ws_deflate, every_split_position_of_compressed_messages) {
  const std::string m1 = R"({"id":1,"connect":{"token":"abc","name":"js"}})";
  const std::string m2 = R"({"id":2,"subscribe":{"channel":"news"}})";
  for (bool takeover : {true, false}) {
    client_deflater d;
    std::string c1 = d.compress(m1, !takeover);
    std::string c2 = d.compress(m2, !takeover);
    // One whole compressed message, a ping, the second one fragmented in three with a
    // pong between, then an uncompressed message.
    std::string wire = client_frame(opcode::text, c1, true, true) +
                       client_frame(opcode::ping, "p", true, false) +
                       client_frame(opcode::text, c2.substr(0, 3), false, true) +
                       client_frame(opcode::continuation, c2.substr(3, 5), false, false) +
                       client_frame(opcode::pong, "", true, false) +
                       client_frame(opcode::continuation, c2.substr(8), true, false) +
                       client_frame(opcode::binary, "plain", true, false);
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
      inflater inf(!takeover, 1 << 16);
      auto p = play(wire, cut, inf);
      ASSERT_EQ(p.error, "") << cut;
      ASSERT_EQ(p.messages.size(), 3u) << cut;
      EXPECT_EQ(p.messages[0], m1);
      EXPECT_EQ(p.messages[1], m2);
      EXPECT_EQ(p.messages[2], "plain");
      // Without context takeover nothing stays allocated between messages.
      EXPECT_EQ(inf.holds_state(), takeover);
    }
  }
}

TEST(ws_deflate, context_takeover_needs_the_kept_stream) {
  client_deflater d;
  const std::string m(300, 'a');
  std::string c1 = d.compress(m);
  std::string c2 = d.compress(m);  // refers back into the first message
  EXPECT_LT(c2.size(), 10u);
  inflater inf(false, 1 << 16);
  std::string out;
  ASSERT_EQ(inf.feed(c1, true, out), inflater::result::ok);
  ASSERT_EQ(inf.feed(c2, true, out), inflater::result::ok);
  EXPECT_EQ(out, m + m);
}

TEST(ws_deflate, deflate_bomb_stops_at_the_limit) {
  client_deflater d;
  const std::string huge(8 << 20, '\0');  // 8 MB of zeros deflate to ~8 KB
  std::string c = d.compress(huge);
  EXPECT_LT(c.size(), 65536u);
  const size_t limit = 65536;
  for (bool fragmented : {false, true}) {
    inflater inf(true, limit);
    std::string out;
    inflater::result r = inflater::result::ok;
    if (fragmented) {
      // Many small frames: the limit is on the whole message.
      for (size_t i = 0; i < c.size() && r == inflater::result::ok; i += 100)
        r = inf.feed(std::string_view(c).substr(i, 100), i + 100 >= c.size(), out);
    } else {
      r = inf.feed(c, true, out);
    }
    EXPECT_EQ(r, inflater::result::too_big);
    EXPECT_LE(out.size(), limit + 1);
    EXPECT_FALSE(inf.holds_state());
  }
  // Exactly at the limit is fine.
  inflater inf(true, limit);
  std::string out;
  EXPECT_EQ(inf.feed(d.compress(std::string(limit, 'x'), true), true, out), inflater::result::ok);
  EXPECT_EQ(out.size(), limit);
}

TEST(ws_deflate, corrupt_data_is_reported) {
  inflater inf(false, 1 << 16);
  std::string out;
  EXPECT_EQ(inf.feed(std::string("\xff\xff\xff\xff\xff", 5), true, out),
            inflater::result::bad_data);
}

// ---------------------------------------------------------------------------- server frames

TEST(ws_deflate, server_frames_inflate_back_without_context) {
  std::string payload;
  for (int i = 0; i < 40; ++i)
    payload += R"({"push":{"channel":"news","pub":{"data":{"n":)" + std::to_string(i) + "}}}}\n";
  for (int level : {-2, -1, 0, 1, 6, 9, 42}) {
    std::string frame;
    ASSERT_TRUE(deflate_frame(payload, opcode::text, level, frame));
    EXPECT_EQ(static_cast<uint8_t>(frame[0]), 0x80 | 0x40 | 0x1);  // FIN, RSV1, text
    size_t len7 = static_cast<uint8_t>(frame[1]) & 0x7f;
    size_t h = len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
    std::string body = frame.substr(h);
    if (level > 0) {
      EXPECT_LT(body.size(), payload.size() / 2) << level;
    }
    // Every message decodes with a fresh inflater: no context is shared.
    for (int twice = 0; twice < 2; ++twice) {
      inflater inf(true, 1 << 20);
      std::string out;
      ASSERT_EQ(inf.feed(body, true, out), inflater::result::ok);
      EXPECT_EQ(out, payload);
    }
  }
}

}  // namespace
}  // namespace gyre::ws
