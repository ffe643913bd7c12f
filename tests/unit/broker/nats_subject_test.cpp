// Channel ↔ subject rules and the Push codec, without a server.
#include "broker/nats/nats_subject.hpp"

#include <gtest/gtest.h>

#include "broker/nats/nats_push_codec.hpp"

namespace gyre {
namespace {

TEST(nats_subject, wildcard_channels) {
  EXPECT_TRUE(nats_subject::is_wildcard_channel("news.*"));
  EXPECT_TRUE(nats_subject::is_wildcard_channel("news.>"));
  EXPECT_TRUE(nats_subject::is_wildcard_channel("a*b")) << "Centrifugo: anywhere in the name";
  EXPECT_FALSE(nats_subject::is_wildcard_channel("news:sport"));
}

TEST(nats_subject, valid_subjects) {
  EXPECT_TRUE(nats_subject::is_valid_subject("centrifugo.client.chat:room#1"));
  EXPECT_TRUE(nats_subject::is_valid_subject("a"));
  EXPECT_TRUE(nats_subject::is_valid_subject("unicode.\xc3\xa9t\xc3\xa9"));
  for (const char* bad : {"", ".a", "a.", "a..b", "a b", "a\tb", "a\r\nPUB x 1", "a\x7f"}) {
    EXPECT_FALSE(nats_subject::is_valid_subject(bad)) << bad;
  }
}

TEST(nats_subject, matching_follows_nats) {
  using nats_subject::matches;
  EXPECT_TRUE(matches("a.b", "a.b"));
  EXPECT_FALSE(matches("a.b", "a.c"));
  EXPECT_FALSE(matches("a.b", "a.b.c"));
  EXPECT_FALSE(matches("a.b.c", "a.b"));
  EXPECT_TRUE(matches("a.*", "a.b"));
  EXPECT_FALSE(matches("a.*", "a.b.c"));
  EXPECT_FALSE(matches("a.*", "a"));
  EXPECT_TRUE(matches("a.*.c", "a.x.c"));
  EXPECT_TRUE(matches("a.>", "a.b"));
  EXPECT_TRUE(matches("a.>", "a.b.c.d"));
  EXPECT_FALSE(matches("a.>", "a"));
  EXPECT_TRUE(matches(">", "x.y"));
  EXPECT_TRUE(matches("*.>", "x.y"));
  EXPECT_FALSE(matches("*.>", "x"));
  EXPECT_FALSE(matches("a*", "ab")) << "'*' inside a token is a literal";
  EXPECT_TRUE(matches("a*", "a*"));
}

TEST(nats_subject, replacements_like_go_strings_replacer) {
  using nats_subject::replace;
  EXPECT_EQ(replace("chat:room:1", {{":", "."}}), "chat.room.1");
  EXPECT_EQ(replace("a:b", {}), "a:b");
  // Replaced text is not scanned again; the first key in map order wins at a position.
  EXPECT_EQ(replace("a:b", {{":", "::"}}), "a::b");
  EXPECT_EQ(replace("$$x", {{"$", "S"}, {"$$", "D"}}), "SSx");
  EXPECT_EQ(replace("ab.c", {{"ab", "X"}, {"b", "Y"}}), "X.c");
  EXPECT_EQ(replace("x", {{"", "E"}}), "x") << "empty keys are ignored";
}

TEST(nats_push_codec, publication_round_trip) {
  publication pub;
  pub.data = std::string("\0\1data", 6);
  pub.info = client_info{"u", "c", "ci", "chi"};
  pub.tags = {{"z", "1"}, {"a", "2"}};
  pub.time = 99;
  auto d = nats_push::decode(nats_push::encode_publication("ch", pub, true));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->what, nats_push::kind::publication);
  EXPECT_EQ(d->channel, "ch");
  EXPECT_EQ(d->pub.data, pub.data);
  EXPECT_EQ(d->pub.info, pub.info);
  EXPECT_EQ(d->pub.tags, (tags_map{{"a", "2"}, {"z", "1"}}));
  EXPECT_EQ(d->pub.time, 99);
  EXPECT_TRUE(d->use_delta);
  EXPECT_FALSE(d->pub.delta);

  publication bare;
  d = nats_push::decode(nats_push::encode_publication("ch", bare, false));
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->pub.info.has_value()) << "absent info stays absent";
  EXPECT_FALSE(d->use_delta);
}

TEST(nats_push_codec, join_leave_and_garbage) {
  const client_info info{"u", "c", "", "x"};
  auto j = nats_push::decode(nats_push::encode_join("ch", info));
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->what, nats_push::kind::join);
  EXPECT_EQ(j->info, info);
  auto l = nats_push::decode(nats_push::encode_leave("ch", info));
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->what, nats_push::kind::leave);
  EXPECT_FALSE(nats_push::decode("\xff\xff\xff").has_value());
  EXPECT_FALSE(nats_push::decode("").has_value()) << "a Push with nothing in it";
}

}  // namespace
}  // namespace gyre
