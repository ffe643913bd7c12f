// redact_url_passwords: passwords, tokens and secret query values are hidden in every
// address form Gyre logs (NATS URLs, Redis addresses), everything else is kept.
#include "core/redact.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gyre {
namespace {

TEST(redact_url_passwords, hides_the_password_and_keeps_the_user) {
  EXPECT_EQ(redact_url_passwords("nats://alice:s3cret@127.0.0.1:4222"),
            "nats://alice:***@127.0.0.1:4222");
  EXPECT_EQ(redact_url_passwords("redis://:pw@h:6379/2"), "redis://:***@h:6379/2");
  EXPECT_EQ(redact_url_passwords("rediss://user:p%40ss@example.org:6390/3?io_timeout=2s"),
            "rediss://user:***@example.org:6390/3?io_timeout=2s");
}

TEST(redact_url_passwords, hides_a_token_whole) {
  EXPECT_EQ(redact_url_passwords("nats://tok3n@h:4222"), "nats://***@h:4222");
}

TEST(redact_url_passwords, each_url_of_a_list) {
  EXPECT_EQ(redact_url_passwords("nats://a:b@h1:4222,nats://h2:4222,nats://c:d@h3"),
            "nats://a:***@h1:4222,nats://h2:4222,nats://c:***@h3");
  EXPECT_EQ(redact_url_passwords("nats://h1,nats://tok@h2,nats://u:p@h3"),
            "nats://h1,nats://***@h2,nats://u:***@h3");
}

TEST(redact_url_passwords, leaves_urls_without_userinfo_alone) {
  EXPECT_EQ(redact_url_passwords("nats://localhost:4222"), "nats://localhost:4222");
  EXPECT_EQ(redact_url_passwords("nats://h:4222/x@y"), "nats://h:4222/x@y");
  EXPECT_EQ(redact_url_passwords("127.0.0.1:6379,127.0.0.1:6380"), "127.0.0.1:6379,127.0.0.1:6380");
  EXPECT_EQ(redact_url_passwords("redis+sentinel://h:26379?sentinel_master_name=m&db=1"),
            "redis+sentinel://h:26379?sentinel_master_name=m&db=1");
  EXPECT_EQ(redact_url_passwords("not a url"), "not a url");
  EXPECT_EQ(redact_url_passwords(""), "");
}

TEST(redact_url_passwords, an_at_sign_or_comma_inside_the_password) {
  EXPECT_EQ(redact_url_passwords("nats://u:p@ss@h:4222"), "nats://u:***@h:4222");
  // The old Redis-only helper cut at the first '@' and printed "ss@h".
  EXPECT_EQ(redact_url_passwords("redis://u:p@ss@h:6379"), "redis://u:***@h:6379");
  // Splitting the list at ',' first printed "redis://u:pa,***@h".
  EXPECT_EQ(redact_url_passwords("redis://u:pa,ss@h:6379/0"), "redis://u:***@h:6379/0");
}

TEST(redact_url_passwords, addresses_without_a_scheme) {
  // Not a valid address, but the error that says so quotes it.
  EXPECT_EQ(redact_url_passwords("user:pw@h:6379"), "user:***@h:6379");
  EXPECT_EQ(redact_url_passwords("cannot parse \"user:pw@h:6379\" here"),
            "cannot parse \"user:***@h:6379\" here");
  // Unclear where the secret ends: more is hidden, never less.
  EXPECT_EQ(redact_url_passwords("h1:6379,u:pa,ss@h2"), "h1:***@h2");
}

TEST(redact_url_passwords, secret_query_parameters) {
  // The Redis address options carry the Sentinel password in the query.
  EXPECT_EQ(redact_url_passwords(
                "redis+sentinel://h:26379?sentinel_master_name=m&sentinel_password=pw&db=1"),
            "redis+sentinel://h:26379?sentinel_master_name=m&sentinel_password=***&db=1");
  EXPECT_EQ(redact_url_passwords("redis://h?Sentinel_Password=a,b#f"),
            "redis://h?Sentinel_Password=***#f");
  EXPECT_EQ(redact_url_passwords("https://x/jwks?token=abc&x=1&client_secret=s"),
            "https://x/jwks?token=***&x=1&client_secret=***");
  EXPECT_EQ(redact_url_passwords("redis://h?sentinel_password=&db=1"),
            "redis://h?sentinel_password=&db=1");
  EXPECT_EQ(redact_url_passwords("redis://u:p@h?password=q"), "redis://u:***@h?password=***");
}

// Whatever the input, no password of the form used below survives.
TEST(redact_url_passwords, never_leaks_a_marked_password) {
  const std::string secret = "S3CR3T";
  const char* forms[] = {"redis://u:{}@h",
                         "redis://:{}@h:1/0",
                         "nats://{}@h",
                         "nats://a@b,nats://u:{}@h",
                         "u:{}@h",
                         "x,u:{}@h,y",
                         "redis://u:a@{}@h",
                         "redis://u:{},x@h",
                         "redis://h?password={}",
                         "redis://h/0?db=1&sentinel_password={}&x",
                         "nats://h1:1,u:{}@h2"};
  for (const char* form : forms) {
    std::string text = form;
    text.replace(text.find("{}"), 2, secret);
    const std::string out = redact_url_passwords(text);
    EXPECT_EQ(out.find("S3CR"), std::string::npos) << text << " -> " << out;
    EXPECT_EQ(out.find("CR3T"), std::string::npos) << text << " -> " << out;
  }
}

}  // namespace
}  // namespace gyre
