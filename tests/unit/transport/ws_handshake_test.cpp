#include "transport/ws_handshake.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gyre::ws {
namespace {

upgrade_request good_request() {
  upgrade_request r;
  r.method = "GET";
  r.upgrade = "websocket";
  r.connection = "Upgrade";
  r.version = "13";
  r.key = "dGhlIHNhbXBsZSBub25jZQ==";
  return r;
}

TEST(ws_handshake, rfc_accept_key_example) {
  EXPECT_EQ(compute_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(compute_accept_key(" dGhlIHNhbXBsZSBub25jZQ==\t"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(ws_handshake, accepts_a_valid_request) {
  EXPECT_EQ(validate_upgrade(good_request()), handshake_error::none);
  EXPECT_EQ(http_status_for(handshake_error::none), 0u);
}

TEST(ws_handshake, upgrade_and_connection_are_case_insensitive_token_lists) {
  for (std::string_view up :
       {"websocket", "WebSocket", "WEBSOCKET", "h2c, websocket", " websocket "}) {
    upgrade_request r = good_request();
    r.upgrade = up;
    EXPECT_EQ(validate_upgrade(r), handshake_error::none) << up;
  }
  for (std::string_view up : {"", "websockets", "web socket", "h2c"}) {
    upgrade_request r = good_request();
    r.upgrade = up;
    EXPECT_EQ(validate_upgrade(r), handshake_error::no_upgrade) << up;
  }
  for (std::string_view c :
       {"upgrade", "Upgrade", "keep-alive, Upgrade", "keep-alive,upgrade,x", ",, UPGRADE ,"}) {
    upgrade_request r = good_request();
    r.connection = c;
    EXPECT_EQ(validate_upgrade(r), handshake_error::none) << c;
  }
  for (std::string_view c : {"", "keep-alive", "upgrades", "up grade", "keep-alive upgrade"}) {
    upgrade_request r = good_request();
    r.connection = c;
    EXPECT_EQ(validate_upgrade(r), handshake_error::no_connection_upgrade) << c;
  }
}

TEST(ws_handshake, rejects_bad_requests) {
  upgrade_request r = good_request();
  r.method = "POST";
  EXPECT_EQ(validate_upgrade(r), handshake_error::bad_method);
  r = good_request();
  r.method = "get";  // methods are case-sensitive
  EXPECT_EQ(validate_upgrade(r), handshake_error::bad_method);
  r = good_request();
  r.http_version = 10;
  EXPECT_EQ(validate_upgrade(r), handshake_error::bad_http_version);
  r = good_request();
  r.version = "";
  EXPECT_EQ(validate_upgrade(r), handshake_error::no_version);
  EXPECT_EQ(http_status_for(handshake_error::no_version), 400u);
  for (std::string_view v : {"8", "12", "14", "13, 8", "013"}) {
    r = good_request();
    r.version = v;
    EXPECT_EQ(validate_upgrade(r), handshake_error::bad_version) << v;
  }
  EXPECT_EQ(http_status_for(handshake_error::bad_version), 426u);
  for (std::string_view k :
       {"", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ===",
        "dGhlIHNhbXBsZSBub25j",      // 15 bytes
        "dGhlIHNhbXBsZSBub25jZSE=",  // 17 bytes (unpadded length 24)
        "dGhlIHNhbXBsZSBub25jZQ!=", "dGhl-HNhbXBsZSBub25jZQ=="}) {
    r = good_request();
    r.key = k;
    EXPECT_EQ(validate_upgrade(r), handshake_error::bad_key) << k;
  }
  r = good_request();
  r.key = "  dGhlIHNhbXBsZSBub25jZQ== ";
  EXPECT_EQ(validate_upgrade(r), handshake_error::none);
}

TEST(ws_handshake, selects_the_clients_first_supported_subprotocol) {
  EXPECT_EQ(select_subprotocol(""), "");
  EXPECT_EQ(select_subprotocol("centrifuge-protobuf"), "centrifuge-protobuf");
  EXPECT_EQ(select_subprotocol("centrifuge-json"), "centrifuge-json");
  EXPECT_EQ(select_subprotocol("chat, centrifuge-protobuf"), "centrifuge-protobuf");
  EXPECT_EQ(select_subprotocol("centrifuge-protobuf,centrifuge-json"), "centrifuge-protobuf");
  EXPECT_EQ(select_subprotocol(" centrifuge-json ,centrifuge-protobuf"), "centrifuge-json");
  EXPECT_EQ(select_subprotocol("Centrifuge-JSON"), "");
  EXPECT_EQ(select_subprotocol("chat, superchat"), "");
  std::array<std::string_view, 1> only_json = {"centrifuge-json"};
  EXPECT_EQ(select_subprotocol("centrifuge-protobuf", only_json), "");
  // The result views the server's list, not the request buffer.
  std::string offered = "centrifuge-json";
  EXPECT_EQ(select_subprotocol(offered).data(), supported_subprotocols[0].data());
}

TEST(ws_handshake, renders_switching_protocols) {
  EXPECT_EQ(render_switching_protocols("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
  EXPECT_EQ(render_switching_protocols("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "centrifuge-protobuf"),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Protocol: centrifuge-protobuf\r\n"
            "\r\n");
}

TEST(ws_handshake, renders_error_responses) {
  std::string r = render_handshake_error(handshake_error::bad_version);
  EXPECT_EQ(r.rfind("HTTP/1.1 426 Upgrade Required\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  std::string body(describe(handshake_error::bad_version));
  EXPECT_NE(r.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body),
            std::string::npos);
  EXPECT_EQ(r.size(), r.find("\r\n\r\n") + 4 + body.size());

  r = render_handshake_error(handshake_error::bad_key);
  EXPECT_EQ(r.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_EQ(r.find("Sec-WebSocket-Version"), std::string::npos);
  EXPECT_NE(r.find("\r\nConnection: close\r\n"), std::string::npos);

  r = render_http_error(403, "origin not allowed");
  EXPECT_EQ(r,
            "HTTP/1.1 403 Forbidden\r\n"
            "Connection: close\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 18\r\n"
            "\r\n"
            "origin not allowed");
}

}  // namespace
}  // namespace gyre::ws
