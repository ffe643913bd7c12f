// The poller's ownership of its targets: a retired target is deleted once, after the
// batch; one still live when the poller goes away (a connection in its closing handshake
// at shutdown) is deleted by the destructor instead of leaking. And its fairness: a target
// that asks for another turn (again) gets one per pass, after the ready ones, in a pass
// posted behind the handlers already queued (docs/design/flow-control.md).
#include "transport/poller.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace gyre {
namespace {

struct counted_target final : poll_target {
  explicit counted_target(int& deleted) : deleted_(deleted) {}
  ~counted_target() override { ++deleted_; }
  void on_poll(uint32_t) override {}
  int& deleted_;
};

struct socket_pair {
  socket_pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd), 0); }
  ~socket_pair() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
  int fd[2] = {-1, -1};
};

TEST(poller, retired_targets_are_deleted_once_and_live_ones_with_the_poller) {
  boost::asio::io_context io;
  socket_pair a, b;
  int deleted = 0;
  {
    poller p(io);
    auto* retired = new counted_target(deleted);
    auto* open = new counted_target(deleted);
    ASSERT_TRUE(p.add(a.fd[0], retired));
    ASSERT_TRUE(p.add(b.fd[0], open));
    EXPECT_EQ(p.live(), 2u);
    p.remove(a.fd[0]);
    p.retire(retired);
    EXPECT_EQ(p.live(), 1u);
    EXPECT_EQ(deleted, 0) << "deleted from a fresh handler, not inside retire()";
    io.poll();
    EXPECT_EQ(deleted, 1);
  }
  EXPECT_EQ(deleted, 2) << "the target still live when the poller went away";
}

TEST(poller, a_failed_registration_leaves_nothing_live) {
  boost::asio::io_context io;
  int deleted = 0;
  counted_target t(deleted);
  {
    poller p(io);
    EXPECT_FALSE(p.add(-1, &t));
    EXPECT_EQ(p.live(), 0u);
  }
  EXPECT_EQ(deleted, 0);
}

// Records its turns; asks for `more` further turns.
struct turn_target final : poll_target {
  turn_target(poller& p, std::vector<std::string>& log, std::string name)
      : p_(p), log_(log), name_(std::move(name)) {}
  void on_poll(uint32_t) override { turn("ready"); }
  void on_again() override { turn("again"); }
  void turn(const char* how) {
    log_.push_back(name_ + ":" + how);
    if (before_asking) before_asking();
    if (more > 0) {
      --more;
      p_.again(this);
      p_.again(this);  // asking twice is asking once
    }
  }
  poller& p_;
  std::vector<std::string>& log_;
  std::string name_;
  int more = 0;
  std::function<void()> before_asking;
};

TEST(poller, a_target_that_asks_again_gets_one_turn_per_pass_behind_queued_handlers) {
  boost::asio::io_context io;
  socket_pair a, b;
  std::vector<std::string> log;
  poller p(io);
  auto* greedy = new turn_target(p, log, "greedy");
  auto* other = new turn_target(p, log, "other");
  greedy->more = 2;
  // Work that reaches the loop while greedy has its first turn (an inbox drain, say).
  bool posted = false;
  greedy->before_asking = [&] {
    if (posted) return;
    posted = true;
    boost::asio::post(io, [&] { log.push_back("queued handler"); });
  };
  ASSERT_TRUE(p.add(a.fd[0], greedy));
  ASSERT_TRUE(p.add(b.fd[0], other));  // both are writable: both are ready at once
  io.run_one();                        // the first pass
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(p.waiting_again(), 1u);
  io.poll();
  std::vector<std::string> turns_of_greedy;
  for (const auto& l : log)
    if (l.rfind("greedy", 0) == 0) turns_of_greedy.push_back(l);
  EXPECT_EQ(turns_of_greedy,
            (std::vector<std::string>{"greedy:ready", "greedy:again", "greedy:again"}));
  // The promised turn came only after the handler queued before it.
  auto at = [&](const std::string& what) {
    return std::find(log.begin(), log.end(), what) - log.begin();
  };
  EXPECT_LT(at("queued handler"), at("greedy:again"));
  EXPECT_EQ(p.waiting_again(), 0u);
}

TEST(poller, a_target_retired_while_waiting_for_its_turn_is_not_served) {
  boost::asio::io_context io;
  socket_pair a;
  std::vector<std::string> log;
  int deleted = 0;
  {
    poller p(io);
    auto* t = new turn_target(p, log, "t");
    ASSERT_TRUE(p.add(a.fd[0], t));
    io.run_one();
    p.again(t);
    EXPECT_EQ(p.waiting_again(), 1u);
    p.remove(a.fd[0]);
    p.retire(t);
    EXPECT_EQ(p.waiting_again(), 0u);
    io.poll();
    EXPECT_EQ(log, (std::vector<std::string>{"t:ready"}));
    // A live target still waiting for its turn when the poller goes away is deleted once.
    auto* waiting = new counted_target(deleted);
    ASSERT_TRUE(p.add(a.fd[1], waiting));
    p.again(waiting);
  }
  EXPECT_EQ(deleted, 1);
}

}  // namespace
}  // namespace gyre
