// http_api without sockets: what admit() decides from a request head alone (method, key,
// path → 405/401/404 or the body limit), and the replies of handle() for the per-method
// routes, batch and the legacy endpoint, including their limits.
#include "api/http_api.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hub/hub_fixture.hpp"

namespace gyre {
namespace {

constexpr std::string_view key = "secret-key";

class http_api_test : public testing::hub_fixture {
 protected:
  http_api make(api_limits limits = {}, bool transport_mode = false) {
    execs_.push_back(std::make_unique<api_executor>(*node_, limits));
    http_api_options o;
    o.key = std::string(key);
    o.max_request_body_size = 1000;
    o.transport_error_mode = transport_mode;
    return http_api(*execs_.back(), o, api_metrics_);
  }

  api_metrics api_metrics_{registry_};

  static http_request head(std::string path, std::string method = "POST",
                           std::vector<std::pair<std::string, std::string>> headers = {
                               {"x-api-key", std::string(key)}}) {
    http_request r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.headers = std::move(headers);
    r.remote_address = "127.0.0.1";
    return r;
  }

  http_response call(http_api& api, http_request req, std::string body) {
    req.body = std::move(body);
    std::optional<http_response> out;
    api.handle(std::move(req), [&](http_response r) { out = std::move(r); });
    drain();
    EXPECT_TRUE(out.has_value());
    return out ? *out : http_response{};
  }

  std::vector<std::unique_ptr<api_executor>> execs_;
};

TEST_F(http_api_test, admit_decides_from_the_head_alone) {
  http_api api = make();
  auto status = [&](const http_request& h) {
    return api.admit(h).refusal ? api.admit(h).refusal->status : 0u;
  };
  EXPECT_EQ(status(head("/api/publish")), 0u);
  EXPECT_EQ(api.admit(head("/api/publish")).body_limit, 1000u);
  EXPECT_EQ(status(head("/api")), 0u);  // the legacy endpoint
  EXPECT_EQ(status(head("/api/batch")), 0u);
  EXPECT_EQ(status(head("/api/map_publish")), 0u);
  EXPECT_EQ(status(head("/api/publish", "GET")), 405u);
  EXPECT_EQ(status(head("/api/publish", "POST", {})), 401u);
  EXPECT_EQ(status(head("/api/publish", "POST", {{"x-api-key", "wrong"}})), 401u);
  EXPECT_EQ(status(head("/api/publish", "POST", {{"authorization", "apikey secret-key"}})), 0u);
  EXPECT_EQ(status(head("/api/publish", "POST", {{"authorization", "Bearer secret-key"}})), 401u);
  http_request q = head("/api/publish", "POST", {});
  q.query = "api_key=secret-key";
  EXPECT_EQ(status(q), 0u);
  EXPECT_EQ(status(head("/api/nosuch")), 404u);
  EXPECT_EQ(status(head("/api/connections")), 404u);  // PRO: not an OSS route
  // A wrong key is refused before the path is looked at.
  EXPECT_EQ(status(head("/api/nosuch", "POST", {{"x-api-key", "wrong"}})), 401u);
}

TEST_F(http_api_test, per_method_routes_reply_in_the_envelope) {
  http_api api = make();
  http_response r = call(api, head("/api/publish"), R"({"channel":"a","data":{}})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.body.starts_with(R"({"result":{"offset":1,"epoch":")")) << r.body;
  EXPECT_TRUE(r.body.ends_with(R"("}})")) << r.body;
  EXPECT_EQ(call(api, head("/api/publish"), "").status, 400u);
  EXPECT_EQ(call(api, head("/api/publish"), std::string(1001, ' ')).status, 413u);
  EXPECT_EQ(call(api, head("/api/publish"), R"({"channel":1})").status, 400u);
  EXPECT_EQ(call(api, head("/api/publish"), R"({"channel":""})").body,
            R"({"error":{"code":107,"message":"bad request"}})");
  http_api transport = make({}, true);
  http_response t = call(transport, head("/api/history"), R"({"channel":"nohist:x"})");
  EXPECT_EQ(t.status, 404u);  // 102 unknown channel
  EXPECT_EQ(t.body, R"({"code":102,"message":"unknown channel"})");
}

TEST_F(http_api_test, a_batch_over_the_limit_gets_an_error_envelope) {
  api_limits limits;
  limits.max_batch_commands = 2;
  http_api api = make(limits);
  http_response r =
      call(api, head("/api/batch"), R"({"commands":[{"info":{}},{"info":{}},{"info":{}}]})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find(R"({"error":{"code":106,)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("max_batch_commands"), std::string::npos) << r.body;
}

TEST_F(http_api_test, the_legacy_endpoint_numbers_names_and_limits) {
  api_limits limits;
  limits.max_batch_commands = 3;
  http_api api = make(limits);
  http_response r = call(api, head("/api"),
                         R"({"id":1,"method":0,"params":{"channel":"l","data":{}}})"
                         "\n"
                         R"({"id":2,"method":"connections","params":{}})"
                         "\n"
                         R"({"id":3,"method":"presence_stats","params":{"channel":"l"}})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body.substr(0, r.body.find('\n')).find(R"({"id":1,"result":{"offset":1)"), 0u)
      << r.body;
  EXPECT_NE(r.body.find(R"({"id":2,"error":{"code":104,)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"({"id":3,"result":{"num_clients":0,"num_users":0}})"), std::string::npos)
      << r.body;
  EXPECT_EQ(call(api, head("/api"), R"({"method":13,"params":{}})").status, 400u);
  EXPECT_EQ(call(api, head("/api"), R"({"method":"batch","params":{}})").status, 400u);
  std::string four;
  for (int i = 0; i < 4; ++i) four += R"({"method":"info","params":{}})";
  http_response many = call(api, head("/api"), four);
  EXPECT_EQ(many.status, 413u);
  EXPECT_NE(many.body.find("max_batch_commands"), std::string::npos);
}

TEST_F(http_api_test, legacy_reads_beyond_the_response_budget_get_106) {
  api_limits limits;
  limits.max_response_size = 3000;
  http_api api = make(limits);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(publish("m", R"({"pad":")" + std::string(100, 'x') + "\"}"));
  std::string body;
  for (int i = 0; i < 5; ++i)
    body += R"({"method":"history","params":{"channel":"m","limit":10}})"
            "\n";
  body += R"({"method":"publish","params":{"channel":"n","data":{}}})";
  http_response r = call(api, head("/api"), body);
  EXPECT_EQ(r.status, 200u);
  EXPECT_LT(r.body.size(), 3000u + 600u);
  EXPECT_NE(r.body.find(R"("code":106)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"({"result":{"offset":1)"), std::string::npos) << r.body;  // the publish
}

}  // namespace
}  // namespace gyre
