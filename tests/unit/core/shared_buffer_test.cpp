#include "core/shared_buffer.hpp"

#include <gtest/gtest.h>

namespace gyre {
namespace {

TEST(shared_buffer, shares_bytes_and_counts_references) {
  shared_buffer a = shared_buffer::copy_of("hello");
  EXPECT_EQ(a.use_count(), 1u);
  {
    shared_buffer b = a;
    EXPECT_EQ(a.use_count(), 2u);
    EXPECT_EQ(b.data(), a.data());
    EXPECT_EQ(b.view(), "hello");
  }
  EXPECT_EQ(a.use_count(), 1u);
  shared_buffer c = std::move(a);
  EXPECT_FALSE(a);
  EXPECT_EQ(c.view(), "hello");
}

}  // namespace
}  // namespace gyre
