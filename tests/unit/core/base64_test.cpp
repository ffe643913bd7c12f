#include "core/base64.hpp"

#include <gtest/gtest.h>

namespace gyre {
namespace {

TEST(base64, round_trips_standard_and_url) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)).value(), s);
    EXPECT_EQ(base64url_decode(base64url_encode(s)).value(), s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64url_encode("\xff\xfe"), "__4");
}

TEST(base64, rejects_malformed) {
  EXPECT_FALSE(base64_decode("Zm8"));    // missing padding
  EXPECT_FALSE(base64_decode("Zm9v!"));  // bad character
  EXPECT_FALSE(base64_decode("Z==="));   // too much padding
  EXPECT_FALSE(base64url_decode("a"));   // impossible length
  EXPECT_TRUE(base64url_decode("Zm8"));  // url form: padding optional
}

}  // namespace
}  // namespace gyre
