// uni_connect: the ConnectRequest of the unidirectional transports, as a bare JSON object.
#include "protocol/uni_connect.hpp"

#include <gtest/gtest.h>

namespace gyre::protocol {
namespace {

TEST(uni_connect, fields_of_a_connect_request) {
  connect_request r;
  ASSERT_TRUE(decode_uni_connect(
      R"({"token":"t","data":{"a":1},"name":"n","subs":{"ch":{"recover":true,"offset":12,"epoch":"xD5R"}}})",
      r));
  EXPECT_EQ(r.token, "t");
  EXPECT_EQ(r.data, R"({"a":1})");
  EXPECT_EQ(r.name, "n");
  ASSERT_EQ(r.subs.size(), 1u);
  EXPECT_EQ(r.subs[0].first, "ch");
  EXPECT_TRUE(r.subs[0].second.recover);
  EXPECT_EQ(r.subs[0].second.offset, 12u);
  EXPECT_EQ(r.subs[0].second.epoch, "xD5R");
}

TEST(uni_connect, empty_and_null_are_an_empty_request) {
  for (const char* body : {"", "null", "  {}  ", "\r\n{}\n"}) {
    connect_request r;
    EXPECT_TRUE(decode_uni_connect(body, r)) << body;
    EXPECT_EQ(r, connect_request{}) << body;
  }
}

TEST(uni_connect, malformed_requests) {
  for (const char* body : {"{", "[]", "1", R"({"token":5})", R"({"token":"a"} {"x":1})",
                           "{\"token\":\n\"a\"}", R"("str")", R"({"subs":[1]})"}) {
    connect_request r;
    EXPECT_FALSE(decode_uni_connect(body, r)) << body;
  }
}

}  // namespace
}  // namespace gyre::protocol
