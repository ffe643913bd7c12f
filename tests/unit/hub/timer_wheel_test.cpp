#include "hub/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace gyre {
namespace {

TEST(timer_wheel, fires_due_nodes_once_in_order_of_ticks) {
  timer_wheel w(0, 250);
  timer_node a, b, c;
  w.arm(a, 1000);
  w.arm(b, 500);
  w.arm(c, 200000);  // beyond one revolution (512 * 250 ms)
  std::vector<timer_node*> fired;
  auto fire = [&](timer_node& n) { fired.push_back(&n); };
  w.advance(400, fire);
  EXPECT_TRUE(fired.empty());
  w.advance(600, fire);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], &b);
  w.advance(1000, fire);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[1], &a);
  EXPECT_FALSE(a.armed());
  // Several revolutions pass: c fires only when due, not at each pass over its slot.
  for (int64_t t = 1000; t < 199000; t += 10000) w.advance(t, fire);
  EXPECT_EQ(fired.size(), 2u);
  w.advance(200000, fire);
  ASSERT_EQ(fired.size(), 3u);
  EXPECT_EQ(fired[2], &c);
  EXPECT_EQ(w.armed_count(), 0u);
}

TEST(timer_wheel, cancel_and_rearm_inside_fire) {
  timer_wheel w(0, 250);
  timer_node a, b;
  w.arm(a, 250);
  w.arm(b, 250);
  w.cancel(b);
  int fires = 0;
  w.advance(250, [&](timer_node& n) {
    ++fires;
    w.arm(n, 500);  // re-arming from inside fire must not loop
  });
  EXPECT_EQ(fires, 1);
  EXPECT_TRUE(a.armed());
  w.advance(500, [&](timer_node&) { ++fires; });
  EXPECT_EQ(fires, 2);
}

TEST(timer_wheel, overdue_deadlines_fire_at_the_next_tick) {
  timer_wheel w(10000, 250);
  timer_node a;
  w.arm(a, 5000);  // already in the past
  int fires = 0;
  w.advance(10250, [&](timer_node&) { ++fires; });
  EXPECT_EQ(fires, 1);
}

}  // namespace
}  // namespace gyre
