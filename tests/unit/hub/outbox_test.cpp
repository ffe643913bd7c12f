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
    EXPECT_EQ(a.queued_bytes(), 8u);
    a.consume(3, pool);  // partial write of the first chunk
    EXPECT_EQ(a.front_offset(), 3u);
    EXPECT_EQ(a.queued_bytes(), 5u);
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
  for (int i = 0; i < 100; ++i) q.push(pool.acquire(shared_buffer::copy_of(std::string(1, char('a' + i % 26)))));
  ASSERT_EQ(q.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(q.at(static_cast<size_t>(i))->view()[0], char('a' + i % 26));
  q.consume(100, pool);
  EXPECT_TRUE(q.empty());
  q.trim();
  // Still usable after trimming.
  q.push(pool.acquire(shared_buffer::copy_of("z")));
  EXPECT_EQ(q.front()->view(), "z");
  q.clear(pool);
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
