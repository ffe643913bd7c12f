// emulation_request: the /emulation bodies the JS SDK sends (JSON and Protobuf
// EmulationRequest), malformed ones, and the session ids that name an event loop.
#include "transport/emulation_request.hpp"

#include <gtest/gtest.h>

#include <string>

#include "broker/pb_wire.hpp"
#include "transport/stream_connection.hpp"

namespace gyre {
namespace {

TEST(emulation_request, json_as_the_sdk_sends_it) {
  emulation_request r;
  std::string err;
  ASSERT_TRUE(decode_emulation_request(
      R"({"session":"abc.1","node":"n1","data":"{\"subscribe\":{\"channel\":\"c\"},\"id\":2}"})",
      false, r, err))
      << err;
  EXPECT_EQ(r.session, "abc.1");
  EXPECT_EQ(r.node, "n1");
  EXPECT_EQ(r.data, R"({"subscribe":{"channel":"c"},"id":2})");
}

TEST(emulation_request, protobuf_fields_1_node_2_session_3_data) {
  std::string body;
  pb_wire::put_length_delimited(body, 1, "n1");
  pb_wire::put_length_delimited(body, 2, "abc.0");
  pb_wire::put_length_delimited(body, 3, std::string("\x02\x08\x01", 3));
  emulation_request r;
  std::string err;
  ASSERT_TRUE(decode_emulation_request(body, true, r, err)) << err;
  EXPECT_EQ(r.node, "n1");
  EXPECT_EQ(r.session, "abc.0");
  EXPECT_EQ(r.data, std::string("\x02\x08\x01", 3));
}

TEST(emulation_request, malformed_bodies_are_refused_with_a_reason) {
  emulation_request r;
  std::string err;
  for (const char* body : {"", "nonsense", "[1]", R"({"session":1,"node":"n","data":"x"})",
                           R"({"session":"s.0","node":"n"})", R"({"node":"n","data":"x"})",
                           R"({"session":"s.0","node":"n","data":{"id":1}})"}) {
    err.clear();
    EXPECT_FALSE(decode_emulation_request(body, false, r, err)) << body;
    EXPECT_FALSE(err.empty()) << body;
  }
  EXPECT_FALSE(decode_emulation_request(std::string("\x12\x7f", 2), true, r, err));  // truncated
  EXPECT_FALSE(decode_emulation_request("", true, r, err));                          // no session
}

TEST(emulation_request, session_ids_name_their_loop) {
  EXPECT_EQ(stream_connection::loop_of_session("5a0c6c3e-0000-4000-8000-000000000000.0"), 0);
  EXPECT_EQ(stream_connection::loop_of_session("x.12"), 12);
  EXPECT_EQ(stream_connection::loop_of_session("nodot"), -1);
  EXPECT_EQ(stream_connection::loop_of_session("x."), -1);
  EXPECT_EQ(stream_connection::loop_of_session("x.-1"), -1);
  EXPECT_EQ(stream_connection::loop_of_session("x.1a"), -1);
  EXPECT_EQ(stream_connection::loop_of_session(std::string(80, 'a') + ".1"), -1);
}

}  // namespace
}  // namespace gyre
