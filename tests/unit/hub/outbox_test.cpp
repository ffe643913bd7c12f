#include "hub/outbox.hpp"

#include <gtest/gtest.h>

namespace gyre {
namespace {

TEST(outbox, queues_consumes_and_releases_chunks) {
  chunk_pool pool;
  out_chunk* shared = pool.acquire(shared_buffer::copy_of("shared"));
  {
    outbox a, b;
    a.push(shared);
    b.push(shared);
    EXPECT_EQ(shared->refs, 2u);
    a.push(pool.acquire(shared_buffer::copy_of("xy")));
    EXPECT_EQ(a.unwritten_bytes(), 8u);
    EXPECT_EQ(a.queued_bytes(), 8u + 2 * outbox::entry_overhead);
    a.consume(3, pool);  // partial write of the first chunk
    EXPECT_EQ(a.front_offset(), 3u);
    EXPECT_EQ(a.unwritten_bytes(), 5u);
    EXPECT_EQ(a.queued_bytes(), 5u + 2 * outbox::entry_overhead);
    a.consume(4, pool);  // rest of "shared" and one byte of "xy"
    EXPECT_EQ(shared->refs, 1u);
    EXPECT_EQ(a.size(), 1u);
    EXPECT_EQ(a.front_offset(), 1u);
    a.consume(1, pool);
    EXPECT_TRUE(a.empty());
    b.clear(pool);
  }
  EXPECT_EQ(pool.free_count(), 2u);  // both chunks back in the pool
}

TEST(outbox, grows_beyond_inline_slots_keeps_order_and_trims_when_idle) {
  chunk_pool pool;
  outbox q;
  for (int i = 0; i < 100; ++i)
    q.push(pool.acquire(shared_buffer::copy_of(std::string(1, char('a' + i % 26)))));
  ASSERT_EQ(q.size(), 100u);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(q.at(static_cast<size_t>(i))->view()[0], char('a' + i % 26));
  q.consume(100, pool);
  EXPECT_TRUE(q.empty());
  q.trim();
  // Still usable after trimming.
  q.push(pool.acquire(shared_buffer::copy_of("z")));
  EXPECT_EQ(q.front()->view(), "z");
  q.clear(pool);
}

// The queue limit (client.queue_max_size) is compared with queued_bytes(): tiny messages
// count what they really hold, so a flood of them reaches the limit long before it holds
// many times the limit in chunk headers and ring slots (docs/design/flow-control.md).
TEST(outbox, tiny_messages_count_their_bookkeeping_towards_the_limit) {
  chunk_pool pool;
  outbox q;
  const size_t limit = 64 * 1024;
  size_t pushed = 0;
  while (q.queued_bytes() <= limit) {
    q.push(pool.acquire(shared_buffer::copy_of("{}\n")));  // a 3-byte reply
    ++pushed;
  }
  EXPECT_EQ(pushed, limit / (3 + outbox::entry_overhead) + 1);
  EXPECT_LT(q.unwritten_bytes(), limit / 16);
  q.consume(q.unwritten_bytes(), pool);
  EXPECT_EQ(q.queued_bytes(), 0u);
}

TEST(outbox, rewrite_replaces_a_queued_chunk_and_keeps_the_count_exact) {
  chunk_pool pool;
  outbox q;
  q.push(pool.acquire(shared_buffer::copy_of("data")));
  out_chunk* pong = pool.acquire(shared_buffer::copy_of("\x8a\x01"
                                                        "a"),
                                 true);
  q.push(pong);
  const char* storage = pong->bytes.data();
  q.rewrite(pong,
            "\x8a\x01"
            "b");  // same size: written in place
  EXPECT_EQ(pong->bytes.data(), storage);
  EXPECT_EQ(q.at(1)->view(),
            "\x8a\x01"
            "b");
  EXPECT_EQ(q.unwritten_bytes(), 7u);
  q.rewrite(pong,
            "\x8a\x03"
            "xyz");  // another size: a new buffer
  EXPECT_EQ(q.at(1)->view(),
            "\x8a\x03"
            "xyz");
  EXPECT_EQ(q.unwritten_bytes(), 9u);
  EXPECT_EQ(q.size(), 2u);
  q.consume(q.unwritten_bytes(), pool);
  EXPECT_TRUE(q.empty());
}

TEST(chunk_pool, discards_unused_chunks_and_bounds_the_free_list) {
  chunk_pool pool;
  out_chunk* c = pool.acquire(shared_buffer::copy_of("x"));
  pool.discard_if_unused(c);
  EXPECT_EQ(pool.free_count(), 1u);
  EXPECT_EQ(pool.acquire(shared_buffer::copy_of("y")), c);  // reused
  pool.discard_if_unused(c);
}

}  // namespace
}  // namespace gyre
