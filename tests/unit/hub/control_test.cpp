#include "hub/control.hpp"

#include <gtest/gtest.h>

namespace gyre {
namespace {

TEST(control, every_message_kind_round_trips) {
  control_message info;
  info.type = control_message::kind::info;
  info.info = {"uid-1", "node a", "0.1.0", 5, 3, 7, 2, 100};
  auto d = decode_control(encode_control(info));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->info.uid, "uid-1");
  EXPECT_EQ(d->info.num_subs, 7u);
  EXPECT_EQ(d->info.uptime_seconds, 100);

  control_message dis;
  dis.type = control_message::kind::disconnect;
  dis.filter = {"u1", "c1", "", {"c2", "c3"}};
  dis.code = 4001;
  dis.reason = "custom \"reason\"";
  d = decode_control(encode_control(dis));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->filter.user, "u1");
  EXPECT_EQ(d->filter.whitelist.size(), 2u);
  EXPECT_EQ(d->code, 4001u);
  EXPECT_EQ(d->reason, "custom \"reason\"");

  control_message sub;
  sub.type = control_message::kind::subscribe;
  sub.filter.user = "u2";
  sub.subscribe.channel = "Chat:Room";
  sub.subscribe.info = std::string("\x00\xff", 2);  // binary survives
  sub.subscribe.data = R"({"a":1})";
  sub.subscribe.recover_since = stream_position{12, "abcd"};
  sub.subscribe.presence = false;
  d = decode_control(encode_control(sub));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->subscribe.channel, "Chat:Room");
  EXPECT_EQ(d->subscribe.info, std::string("\x00\xff", 2));
  EXPECT_EQ(d->subscribe.data, R"({"a":1})");
  ASSERT_TRUE(d->subscribe.recover_since);
  EXPECT_EQ(d->subscribe.recover_since->offset, 12u);
  ASSERT_TRUE(d->subscribe.presence);
  EXPECT_FALSE(*d->subscribe.presence);
  EXPECT_FALSE(d->subscribe.join_leave);

  control_message reply;
  reply.type = control_message::kind::survey_reply;
  reply.survey_id = 9;
  reply.from = "n2";
  reply.channels = {{"CaseSensitive", 2}, {"b", 1}};
  d = decode_control(encode_control(reply));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->channels, reply.channels);

  control_message ref;
  ref.type = control_message::kind::refresh;
  ref.expired = true;
  ref.conn_info = "{}";
  d = decode_control(encode_control(ref));
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->expired);
  EXPECT_EQ(d->conn_info, std::optional<std::string>("{}"));
}

TEST(control, malformed_messages_are_refused) {
  EXPECT_FALSE(decode_control(""));
  EXPECT_FALSE(decode_control("{}"));
  EXPECT_FALSE(decode_control(R"({"t":"nope"})"));
  EXPECT_FALSE(decode_control(R"({"t":"disconnect","code":"x"})"));
  EXPECT_FALSE(decode_control(R"({"t":"info","uid":""})"));
  EXPECT_FALSE(
      decode_control(R"({"t":"survey_reply","id":1,"from":"a","names":["x"],"counts":[]})"));
}

}  // namespace
}  // namespace gyre
