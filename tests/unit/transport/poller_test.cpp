// The poller's ownership of its targets: a retired target is deleted once, after the
// batch; one still live when the poller goes away (a connection in its closing handshake
// at shutdown) is deleted by the destructor instead of leaking.
#include "transport/poller.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

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

}  // namespace
}  // namespace gyre
