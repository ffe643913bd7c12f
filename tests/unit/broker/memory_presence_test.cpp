// The memory presence manager beyond the shared suite: empty channels leave the table,
// callbacks run inside the call, stop().
#include "broker/memory/memory_presence.hpp"

#include <gtest/gtest.h>

namespace gyre {
namespace {

client_info client(std::string user, std::string id) {
  client_info c;
  c.user = std::move(user);
  c.client = std::move(id);
  return c;
}

TEST(memory_presence, empty_channels_are_erased) {
  memory_presence p;
  int done = 0;
  auto count = [&](status s) { done += s.ok(); };
  p.add("a", client("u1", "c1"), count);
  p.add("a", client("u2", "c2"), count);
  p.add("b", client("u1", "c3"), count);
  EXPECT_EQ(done, 3) << "callbacks run inside the call";
  EXPECT_EQ(p.channel_count(), 2u);
  p.remove("a", "c1", "u1", count);
  EXPECT_EQ(p.channel_count(), 2u);
  p.remove("a", "c2", "u2", count);
  p.remove("b", "c3", "u1", count);
  p.remove("b", "c3", "u1", count);
  EXPECT_EQ(p.channel_count(), 0u);
  p.stats("a", [](result<presence_stats> r) {
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->num_clients, 0u);
  });
  EXPECT_EQ(p.channel_count(), 0u) << "reads do not create channels";
}

TEST(memory_presence, refresh_with_another_user_moves_the_user_count) {
  memory_presence p;
  p.add("a", client("u1", "c1"), nullptr);
  p.add("a", client("u2", "c1"), nullptr);
  p.stats("a", [](result<presence_stats> r) {
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->num_clients, 1u);
    EXPECT_EQ(r->num_users, 1u);
  });
}

TEST(memory_presence, calls_after_stop_fail) {
  memory_presence p;
  p.stop();
  int failures = 0;
  p.add("a", client("u", "c"), [&](status s) { failures += !s.ok(); });
  p.presence("a", [&](result<presence_map> r) { failures += !r.ok(); });
  EXPECT_EQ(failures, 2);
}

}  // namespace
}  // namespace gyre
