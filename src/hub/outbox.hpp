// outbox: the per-connection queue of outgoing chunks, bounded in bytes.
//
// Holds chunk pointers in a ring that lives inline while short (the common case: an idle
// or lightly loaded connection never allocates for its queue) and spills to the heap only
// under load; trim() returns the heap ring once the connection is idle again.
//
// Accounting: `queued_bytes()` is what the queue costs, compared with
// client.queue_max_size by the flow-control rules (docs/design/flow-control.md): the bytes
// not yet written plus `entry_overhead` for every queued chunk, so that a flood of tiny
// messages (5-byte replies, 2-byte pongs) cannot hold many times the limit in chunk
// headers and ring slots.
//
// Threading: owned by one connection, touched only by its event loop's thread.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "hub/out_chunk.hpp"

namespace gyre {

class outbox {
 public:
  outbox() = default;
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;
  ~outbox() { assert(empty()); }

  // What one queued chunk costs beyond its bytes: the ring slot, the pooled out_chunk and
  // the shared_buffer header, rounded up to allocator granularity.
  static constexpr size_t entry_overhead = 64;

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // Unwritten bytes plus entry_overhead per queued chunk.
  size_t queued_bytes() const { return bytes_ + size_ * entry_overhead; }
  // Unwritten bytes only.
  size_t unwritten_bytes() const { return bytes_; }

  void push(out_chunk* c) {
    if (size_ == capacity()) grow();
    slots()[(head_ + size_) & (capacity() - 1)] = c;
    ++size_;
    chunk_pool::retain(c);
    bytes_ += c->bytes.size();
  }

  // Replaces the bytes of `c`, a chunk of this queue that no other queue holds and whose
  // writing has not started (a pending pong that a newer ping supersedes). Reuses the
  // buffer when the size matches and nobody else shares it.
  void rewrite(out_chunk* c, std::string_view bytes) {
    assert(c->refs == 1);
    bytes_ -= c->bytes.size();
    if (c->bytes.size() == bytes.size() && c->bytes.use_count() == 1) {
      if (!bytes.empty()) std::memcpy(c->bytes.mutable_data(), bytes.data(), bytes.size());
    } else {
      c->bytes = shared_buffer::copy_of(bytes);
    }
    bytes_ += bytes.size();
  }

  // The i-th queued chunk (0 = oldest).
  out_chunk* at(size_t i) const { return slots()[(head_ + i) & (capacity() - 1)]; }
  out_chunk* front() const { return at(0); }

  // Bytes of the oldest chunk already written (partial write).
  size_t front_offset() const { return front_offset_; }

  // Records that `n` bytes of the queue, from the front, were written; releases fully
  // written chunks to `pool`.
  void consume(size_t n, chunk_pool& pool) {
    bytes_ -= n;
    while (n > 0) {
      out_chunk* c = front();
      size_t left = c->bytes.size() - front_offset_;
      if (n < left) {
        front_offset_ += n;
        return;
      }
      n -= left;
      pop_front(pool);
    }
    // Zero-length chunks at the front are also done.
    while (size_ > 0 && front()->bytes.size() == 0) pop_front(pool);
  }

  void pop_front(chunk_pool& pool) {
    out_chunk* c = front();
    head_ = (head_ + 1) & (capacity() - 1);
    --size_;
    front_offset_ = 0;
    pool.release(c);
    if (size_ == 0) head_ = 0;
  }

  // Gives the heap ring back when the queue is empty. Called from the connection's
  // periodic timer rather than on every drain, so a busy connection keeps its ring
  // (no allocation per burst) and an idle one returns to the inline slots.
  void trim() {
    if (size_ == 0 && heap_) {
      heap_.reset();
      heap_capacity_ = 0;
      head_ = 0;
    }
  }

  // Keeps the oldest chunks that hold the first `keep` unwritten bytes (chunk boundaries
  // are kept: the chunk holding byte `keep - 1` stays whole) and releases the rest.
  void truncate(size_t keep, chunk_pool& pool) {
    size_t kept = 0, bytes = 0;
    while (kept < size_ && bytes < keep) {
      bytes += at(kept)->bytes.size() - (kept == 0 ? front_offset_ : 0);
      ++kept;
    }
    while (size_ > kept) {
      out_chunk* c = at(size_ - 1);
      --size_;
      pool.release(c);
    }
    if (size_ == 0) {
      head_ = 0;
      front_offset_ = 0;
    }
    bytes_ = bytes;
  }

  void clear(chunk_pool& pool) {
    while (size_ > 0) pop_front(pool);
    bytes_ = 0;
  }

 private:
  static constexpr size_t inline_capacity = 4;

  size_t capacity() const { return heap_ ? heap_capacity_ : inline_capacity; }
  out_chunk** slots() { return heap_ ? heap_.get() : inline_; }
  out_chunk* const* slots() const { return heap_ ? heap_.get() : inline_; }

  void grow() {
    size_t cap = capacity();
    size_t new_cap = cap * 2;
    auto fresh = std::make_unique<out_chunk*[]>(new_cap);
    for (size_t i = 0; i < size_; ++i) fresh[i] = at(i);
    heap_ = std::move(fresh);
    heap_capacity_ = static_cast<uint32_t>(new_cap);
    head_ = 0;
  }

  out_chunk* inline_[inline_capacity] = {};
  std::unique_ptr<out_chunk*[]> heap_;
  uint32_t heap_capacity_ = 0;
  uint32_t head_ = 0;
  uint32_t size_ = 0;
  uint32_t front_offset_ = 0;
  size_t bytes_ = 0;
};

}  // namespace gyre
