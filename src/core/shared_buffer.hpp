// shared_buffer: an immutable, reference-counted byte buffer. One allocation holds the
// counter and the bytes. An encoded publication lives in one shared_buffer that every
// recipient on every event loop points to; nobody copies the bytes.
// Thread-safety: the counter is atomic, so copies may be made and dropped on any thread;
// the bytes never change after construction.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace gyre {

class shared_buffer {
 public:
  shared_buffer() = default;
  shared_buffer(const shared_buffer& o) noexcept : h_(o.h_) {
    if (h_) h_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  shared_buffer(shared_buffer&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  shared_buffer& operator=(shared_buffer o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ~shared_buffer() { release(); }

  static shared_buffer copy_of(std::string_view bytes) {
    shared_buffer b = allocate(bytes.size());
    if (!bytes.empty()) std::memcpy(b.h_->data(), bytes.data(), bytes.size());
    return b;
  }
  // Allocates `size` bytes for the caller to fill through mutable_data() before sharing.
  static shared_buffer allocate(size_t size) {
    void* mem = ::operator new(sizeof(header) + size);
    shared_buffer b;
    b.h_ = new (mem) header{};
    b.h_->size = size;
    return b;
  }

  char* mutable_data() { return h_ ? h_->data() : nullptr; }
  const char* data() const { return h_ ? h_->data() : nullptr; }
  size_t size() const { return h_ ? h_->size : 0; }
  bool empty() const { return size() == 0; }
  std::string_view view() const {
    return h_ ? std::string_view(h_->data(), h_->size) : std::string_view{};
  }
  explicit operator bool() const { return h_ != nullptr; }
  uint32_t use_count() const { return h_ ? h_->refs.load(std::memory_order_relaxed) : 0; }

 private:
  struct header {
    std::atomic<uint32_t> refs{1};
    size_t size = 0;
    char* data() { return reinterpret_cast<char*>(this + 1); }
  };

  void release() noexcept {
    if (h_ && h_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      h_->~header();
      ::operator delete(h_);
    }
    h_ = nullptr;
  }

  header* h_ = nullptr;
};

}  // namespace gyre
