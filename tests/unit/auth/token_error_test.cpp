// Tests of token failure kinds and their client-protocol mapping (auth/token_error.hpp),
// and of the expected<T, E> helper they are built on.
#include "auth/token_error.hpp"

#include <gtest/gtest.h>

#include <string>

#include "auth/expected.hpp"

namespace gyre::auth {
namespace {

TEST(token_error, maps_to_client_codes) {
  token_error expired{token_error_code::expired, "x"};
  token_error invalid{token_error_code::invalid, "x"};
  token_error internal{token_error_code::internal, "x"};

  EXPECT_EQ(connection_token_failure(expired).error(), errors::token_expired);
  EXPECT_FALSE(connection_token_failure(expired).is_disconnect());
  EXPECT_TRUE(connection_token_failure(invalid).is_disconnect());
  EXPECT_EQ(connection_token_failure(invalid).as_disconnect(), disconnects::invalid_token);
  EXPECT_EQ(connection_token_failure(internal).error(), errors::internal);

  EXPECT_EQ(subscription_token_failure(expired).error(), errors::token_expired);
  EXPECT_EQ(subscription_token_failure(invalid).error(), errors::permission_denied);
  EXPECT_FALSE(subscription_token_failure(invalid).is_disconnect());
  EXPECT_EQ(subscription_token_failure(internal).error(), errors::internal);

  EXPECT_EQ(to_string(token_error_code::expired), "token expired");
}

TEST(expected, holds_value_or_error_even_of_the_same_type) {
  expected<std::string, std::string> v(std::string("value"));
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "value");
  expected<std::string, std::string> e = unexpected{std::string("error")};
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error(), "error");

  token_result<int> t = token_invalid("bad");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, token_error_code::invalid);
  EXPECT_EQ(t.error().reason, "bad");
}

}  // namespace
}  // namespace gyre::auth
