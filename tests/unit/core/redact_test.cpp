// redact_url_passwords: passwords and tokens in URLs are hidden, everything else kept.
#include "core/redact.hpp"

#include <gtest/gtest.h>

namespace gyre {
namespace {

TEST(redact_url_passwords, hides_the_password_and_keeps_the_user) {
  EXPECT_EQ(redact_url_passwords("nats://alice:s3cret@127.0.0.1:4222"),
            "nats://alice:***@127.0.0.1:4222");
  EXPECT_EQ(redact_url_passwords("redis://:pw@h:6379/2"), "redis://:***@h:6379/2");
}

TEST(redact_url_passwords, hides_a_token_whole) {
  EXPECT_EQ(redact_url_passwords("nats://tok3n@h:4222"), "nats://***@h:4222");
}

TEST(redact_url_passwords, each_url_of_a_list) {
  EXPECT_EQ(redact_url_passwords("nats://a:b@h1:4222,nats://h2:4222,nats://c:d@h3"),
            "nats://a:***@h1:4222,nats://h2:4222,nats://c:***@h3");
}

TEST(redact_url_passwords, leaves_urls_without_userinfo_alone) {
  EXPECT_EQ(redact_url_passwords("nats://localhost:4222"), "nats://localhost:4222");
  EXPECT_EQ(redact_url_passwords("nats://h:4222/x@y"), "nats://h:4222/x@y");
  EXPECT_EQ(redact_url_passwords("not a url"), "not a url");
  EXPECT_EQ(redact_url_passwords(""), "");
}

TEST(redact_url_passwords, an_at_sign_inside_the_password) {
  EXPECT_EQ(redact_url_passwords("nats://u:p@ss@h:4222"), "nats://u:***@h:4222");
}

}  // namespace
}  // namespace gyre
