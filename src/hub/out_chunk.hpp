// out_chunk and chunk_pool: loop-local handles on outgoing bytes.
//
// Fan-out puts the same encoded publication into thousands of connection queues. The bytes
// live in one shared_buffer (atomic count, shared across loops); on each event loop the
// fan-out wraps it once in an out_chunk whose count is a plain integer, and every queue on
// that loop holds the chunk. So a delivery costs a non-atomic increment and a pointer in a
// queue: no allocation and no cache-line ping-pong between cores.
//
// Threading: a chunk and its pool belong to one event loop; only that loop's thread may
// touch them.
#pragma once

#include <cassert>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/shared_buffer.hpp"

namespace gyre {

struct out_chunk {
  shared_buffer bytes;
  uint32_t refs = 0;
  // The bytes are a complete WebSocket frame (control frames: close, pong); they are sent
  // as they are, never merged into a data frame.
  bool is_frame = false;
  out_chunk* next_free = nullptr;

  std::string_view view() const { return bytes.view(); }
};

class chunk_pool {
 public:
  chunk_pool() = default;
  chunk_pool(const chunk_pool&) = delete;
  chunk_pool& operator=(const chunk_pool&) = delete;
  ~chunk_pool() {
    while (free_) {
      out_chunk* c = free_;
      free_ = c->next_free;
      delete c;
    }
  }

  // A chunk with refs == 0; the first queue that takes it calls retain().
  out_chunk* acquire(shared_buffer bytes, bool is_frame = false) {
    out_chunk* c = free_;
    if (c) {
      free_ = c->next_free;
      --free_count_;
    } else {
      c = new out_chunk;
    }
    c->bytes = std::move(bytes);
    c->refs = 0;
    c->is_frame = is_frame;
    c->next_free = nullptr;
    return c;
  }

  static void retain(out_chunk* c) { ++c->refs; }

  void release(out_chunk* c) {
    assert(c->refs > 0);
    if (--c->refs > 0) return;
    recycle(c);
  }

  // For a chunk acquired but never retained (no recipient wanted it).
  void discard_if_unused(out_chunk* c) {
    if (c && c->refs == 0) recycle(c);
  }

  size_t free_count() const { return free_count_; }

 private:
  void recycle(out_chunk* c) {
    c->bytes = shared_buffer{};
    if (free_count_ >= max_free_) {
      delete c;
      return;
    }
    c->next_free = free_;
    free_ = c;
    ++free_count_;
  }

  out_chunk* free_ = nullptr;
  size_t free_count_ = 0;
  // Bound on cached chunks; beyond it they go back to the allocator.
  static constexpr size_t max_free_ = 4096;
};

}  // namespace gyre
