// The admin token (issue/verify, expiry, tampering, another secret) and admin_handler
// without sockets: routing under a prefix, what admit() refuses from the head (405, 401),
// /admin/init and /admin/auth replies, the admin API running server API commands and the
// admin-only actions (reload hook, token signing hook, 108 when unset).
#include "admin/admin_handler.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "admin/admin_token.hpp"
#include "api/executor.hpp"
#include "hub/hub_fixture.hpp"

namespace gyre::admin {
namespace {

constexpr int64_t now0 = 1'700'000'000;

TEST(admin_token, verifies_only_with_its_secret_and_within_its_age) {
  std::string t = issue_admin_token("s3cret", now0);
  EXPECT_TRUE(verify_admin_token("s3cret", t, now0));
  EXPECT_TRUE(verify_admin_token("s3cret", t, now0 + max_admin_token_age.count()));
  EXPECT_FALSE(verify_admin_token("s3cret", t, now0 + max_admin_token_age.count() + 1));
  EXPECT_FALSE(verify_admin_token("s3cret", t, now0 - 3600));  // issued in the future
  EXPECT_FALSE(verify_admin_token("other", t, now0));
  EXPECT_FALSE(verify_admin_token("", t, now0));
  std::string tampered = t;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';  // another issue time, same MAC
  EXPECT_FALSE(verify_admin_token("s3cret", tampered, now0));
  for (std::string_view bad :
       {"", "v1", "v1.", "fA==", "MXx8", "MTcwMDAwMDAwMHx4fHg=", "====", "v1.1700000000.abc"})
    EXPECT_FALSE(verify_admin_token("s3cret", bad, now0)) << bad;
  EXPECT_FALSE(verify_admin_token("s3cret", std::string(100000, 'v'), now0));
  EXPECT_FALSE(verify_admin_token("s3cret", std::string(4100, 'A'), now0));
}

// Centrifugo's format (gorilla/securecookie, name "token", value "authorized"): this token
// was computed independently of Gyre's code (HMAC-SHA256 over "token|1700000000|<gob value>").
TEST(admin_token, is_centrifugos_securecookie_format) {
  constexpr std::string_view centrifugo =
      "MTcwMDAwMDAwMHxEUXdBQ21GMWRHaHZjbWw2WldRPXxGXjVETdB6BmTh3-dJKPj9lyeiqcBWD-X3_0DKbdSbqg==";
  EXPECT_EQ(issue_admin_token("s3cret", now0), centrifugo);
  EXPECT_TRUE(verify_admin_token("s3cret", centrifugo, now0 + 100));
  // A token without the padding Go's decoder requires is not Centrifugo's.
  EXPECT_FALSE(verify_admin_token("s3cret", centrifugo.substr(0, centrifugo.size() - 2), now0));
}

class admin_handler_test : public gyre::testing::hub_fixture {
 protected:
  std::unique_ptr<admin_handler> make(admin_hooks hooks = {}, bool insecure = false) {
    exec_ = std::make_unique<api_executor>(*node_);
    admin_options o;
    o.prefix = "/ui";
    o.password = "pw";
    o.secret = "sec";
    o.insecure = insecure;
    o.max_request_body_size = 1000;
    o.websocket_path = "/connection/websocket";
    o.websocket_port = 8000;
    if (!hooks.now) hooks.now = [] { return now0; };
    return std::make_unique<admin_handler>(*exec_, o, std::move(hooks));
  }

  static http_request req(std::string path, std::string method = "POST", std::string body = "",
                          std::string token = "") {
    http_request r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.body = std::move(body);
    if (!token.empty()) r.headers.emplace_back("authorization", "token " + token);
    r.remote_address = "127.0.0.1";
    return r;
  }

  http_response call(admin_handler& h, http_request r) {
    std::optional<http_response> out;
    h.handle(std::move(r), [&](http_response resp) { out = std::move(resp); });
    drain();
    EXPECT_TRUE(out.has_value());
    return out ? *out : http_response{};
  }

  unsigned refused(admin_handler& h, const http_request& r) {
    auto a = h.admit(r);
    return a.refusal ? a.refusal->status : 0u;
  }

  std::unique_ptr<api_executor> exec_;
};

TEST_F(admin_handler_test, web_proxy_gets_the_target_below_the_prefix) {
  std::vector<std::string> targets;
  admin_hooks hooks;
  hooks.web_proxy = [&](std::string target, http_reply reply) {
    targets.push_back(target);
    reply(http_response::text(200, "proxied"));
  };
  auto h = make(std::move(hooks));
  http_request js = req("/ui/app.js", "GET");
  js.query = "v=1";
  EXPECT_EQ(call(*h, js).body, "proxied");
  EXPECT_EQ(call(*h, req("/ui", "GET")).body, "proxied");
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0], "/app.js?v=1");
  EXPECT_EQ(targets[1], "/");
  // Other methods are refused from the head; the admin endpoints are not proxied.
  EXPECT_EQ(refused(*h, req("/ui/app.js", "POST")), 405u);
  EXPECT_EQ(refused(*h, req("/ui/app.js", "HEAD")), 0u);
  EXPECT_NE(call(*h, req("/ui/admin/init", "GET")).body, "proxied");
  EXPECT_EQ(targets.size(), 2u);
}

TEST_F(admin_handler_test, admit_refuses_from_the_head) {
  auto h = make();
  std::string tok = issue_admin_token("sec", now0);
  EXPECT_EQ(refused(*h, req("/ui/admin/api")), 401u);
  EXPECT_EQ(refused(*h, req("/ui/admin/api", "POST", "", "v1.1.bad")), 401u);
  EXPECT_EQ(refused(*h, req("/ui/admin/api", "POST", "", issue_admin_token("other", now0))), 401u);
  EXPECT_EQ(refused(*h, req("/ui/admin/api", "POST", "", tok)), 0u);
  EXPECT_EQ(h->admit(req("/ui/admin/api", "POST", "", tok)).body_limit, 1000u);
  http_request upper = req("/ui/admin/api");
  upper.headers.emplace_back("authorization", "TOKEN " + tok);
  EXPECT_EQ(refused(*h, upper), 0u);
  EXPECT_EQ(refused(*h, req("/ui/admin/api", "GET", "", tok)), 405u);
  EXPECT_EQ(refused(*h, req("/ui/admin/auth", "GET")), 405u);
  EXPECT_EQ(refused(*h, req("/ui/admin/init", "GET")), 0u);
  EXPECT_EQ(refused(*h, req("/admin/api")), 0u);  // outside the prefix: a (missing) file
  auto insecure = make({}, true);
  EXPECT_EQ(refused(*insecure, req("/ui/admin/api")), 0u);
}

TEST_F(admin_handler_test, init_and_auth) {
  auto h = make();
  auto init = call(*h, req("/ui/admin/init", "GET"));
  EXPECT_EQ(init.body, R"({"insecure":false,"edition":"oss","authenticated":false})");
  EXPECT_EQ(call(*h, req("/ui/admin/auth", "POST", "password=nope")).status, 400u);
  EXPECT_EQ(call(*h, req("/ui/admin/auth", "POST", "")).status, 400u);
  auto ok = call(*h, req("/ui/admin/auth", "POST", "password=pw"));
  ASSERT_EQ(ok.status, 200u);
  std::string tok = issue_admin_token("sec", now0);
  EXPECT_EQ(ok.body, R"({"token":")" + tok + R"("})");
  auto authed = call(*h, req("/ui/admin/init", "GET", "", tok));
  EXPECT_EQ(authed.body,
            R"({"insecure":false,"edition":"oss","authenticated":true,)"
            R"("gyre":{"websocket_path":"/connection/websocket","websocket_port":8000}})");
}

TEST_F(admin_handler_test, api_runs_commands_and_actions) {
  std::string tok = issue_admin_token("sec", now0);
  int reloads = 0;
  admin_hooks hooks;
  hooks.reload = [&](std::function<void(std::string)> done) {
    done(++reloads == 1 ? std::string() : std::string("bad file"));
  };
  hooks.sign_token = [](const token_request& tr, std::string& token, std::string& error) {
    if (tr.user == "nobody") {
      error = "no HMAC secret key";
      return false;
    }
    token = tr.user + "|" + tr.channel + "|" + std::to_string(tr.ttl) + "|" + tr.info;
    return true;
  };
  auto h = make(hooks);
  auto api = [&](std::string body) { return call(*h, req("/ui/admin/api", "POST", body, tok)); };
  auto pub = api(R"({"id":1,"method":"publish","params":{"channel":"a","data":{}}})");
  EXPECT_EQ(pub.status, 200u);
  EXPECT_TRUE(pub.body.starts_with(R"({"id":1,"result":{"offset":1,)")) << pub.body;
  EXPECT_EQ(api(R"({"method":"publish",)").status, 400u);
  EXPECT_EQ(api("").status, 400u);
  EXPECT_EQ(api(R"({"method":"reload"})").body, R"({"result":{}})");
  EXPECT_EQ(api(R"({"id":2,"method":"reload"})").body,
            R"({"id":2,"error":{"code":100,"message":"bad file"}})");
  EXPECT_EQ(
      api(R"({"method":"connection_token","params":{"user":"u","ttl":60,"info":{"a":1}}})").body,
      R"({"result":{"token":"u||60|{\"a\":1}"}})");
  EXPECT_EQ(api(R"({"method":"subscription_token","params":{"user":"u","channel":"c"}})").body,
            R"({"result":{"token":"u|c|3600|"}})");
  EXPECT_EQ(api(R"({"method":"subscription_token","params":{"user":"u"}})").body,
            R"({"error":{"code":107,"message":"channel required"}})");
  EXPECT_EQ(api(R"({"method":"connection_token","params":{"user":5}})").body,
            R"({"error":{"code":107,"message":"bad request"}})");
  EXPECT_EQ(api(R"({"method":"connection_token","params":{"user":"nobody"}})").body,
            R"({"error":{"code":108,"message":"no HMAC secret key"}})");
  auto bare = make();
  auto bare_reload = call(*bare, req("/ui/admin/api", "POST", R"({"method":"reload"})", tok));
  EXPECT_EQ(bare_reload.body, R"({"error":{"code":108,"message":"not available"}})");
}

TEST_F(admin_handler_test, files_and_redirect_under_the_prefix) {
  auto h = make();
  auto r = call(*h, req("/ui", "GET"));
  EXPECT_EQ(r.status, 301u);
  EXPECT_EQ(call(*h, req("/ui/missing.js", "GET")).status, 404u);  // no bundle in this test
}

}  // namespace
}  // namespace gyre::admin
