// What a client sees of a proxy call (src/proxy/mapping.hpp) and how an HTTP exchange
// becomes an outcome (src/proxy/http_proxy.hpp, outcome_of): precedence, codes, failures,
// status_to_code_transforms.
#include "proxy/mapping.hpp"

#include <gtest/gtest.h>

#include "config/blocks.hpp"
#include "proxy/http_client.hpp"
#include "proxy/http_proxy.hpp"

namespace gyre::proxy {
namespace {

outcome answered(const char* body) {
  http_result hr;
  hr.status = 200;
  hr.body = body;
  return outcome_of(call_kind::subscribe, std::move(hr), {});
}

TEST(ProxyMapping, DisconnectBeatsErrorBeatsResult) {
  auto o = answered(
      R"({"result":{},"error":{"code":1000,"message":"m"},"disconnect":{"code":4500,"reason":"r"}})");
  auto s = refusal_of(o);
  ASSERT_TRUE(s.is_disconnect());
  EXPECT_EQ(s.as_disconnect().code, 4500u);
  EXPECT_EQ(s.as_disconnect().reason, "r");

  o = answered(R"({"result":{},"error":{"code":1000,"message":"m","temporary":true}})");
  s = refusal_of(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, 1000u);
  EXPECT_EQ(s.error().message, "m");
  EXPECT_TRUE(s.error().temporary);

  o = answered(R"({"result":{}})");
  EXPECT_TRUE(refusal_of(o));
  o = answered(R"({})");
  EXPECT_TRUE(refusal_of(o));
}

TEST(ProxyMapping, CodeZeroIsInternal) {
  auto o = answered(R"({"error":{"code":0}})");
  EXPECT_EQ(refusal_of(o).error().code, 100u);
  o = answered(R"({"disconnect":{"code":0}})");
  EXPECT_EQ(refusal_of(o).error().code, 100u);
}

TEST(ProxyMapping, FailuresAreTemporaryInternalErrors) {
  for (auto err : {http_result::error::unavailable, http_result::error::timeout,
                   http_result::error::too_large}) {
    http_result hr;
    hr.err = err;
    auto o = outcome_of(call_kind::connect, std::move(hr), {});
    EXPECT_NE(o.failed, failure::none);
    auto s = refusal_of(o);
    EXPECT_EQ(s.error().code, 100u);
    EXPECT_TRUE(s.error().temporary);
  }
  http_result bad;
  bad.status = 200;
  bad.body = "garbage";
  EXPECT_EQ(outcome_of(call_kind::connect, std::move(bad), {}).failed, failure::bad_response);
  http_result status;
  status.status = 503;
  EXPECT_EQ(outcome_of(call_kind::connect, std::move(status), {}).failed, failure::status);
}

TEST(ProxyMapping, StatusTransforms) {
  std::vector<config::http_status_transform> t(2);
  t[0].status_code_ = 404;
  t[0].to_error_.code_ = 1404;
  t[0].to_error_.message_ = "not found";
  t[0].to_error_.temporary_ = true;
  t[1].status_code_ = 403;
  t[1].to_disconnect_.code_ = 4403;
  t[1].to_disconnect_.reason_ = "forbidden";
  http_result a;
  a.status = 404;
  auto o = outcome_of(call_kind::rpc, std::move(a), t);
  auto s = refusal_of(o);
  EXPECT_EQ(s.error().code, 1404u);
  EXPECT_EQ(s.error().message, "not found");
  EXPECT_TRUE(s.error().temporary);
  http_result b;
  b.status = 403;
  o = outcome_of(call_kind::rpc, std::move(b), t);
  s = refusal_of(o);
  ASSERT_TRUE(s.is_disconnect());
  EXPECT_EQ(s.as_disconnect().code, 4403u);
  http_result c;
  c.status = 500;
  EXPECT_EQ(outcome_of(call_kind::rpc, std::move(c), t).failed, failure::status);
}

}  // namespace
}  // namespace gyre::proxy
