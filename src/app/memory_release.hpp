// memory_release: gives the memory freed after a spike (a burst of big API batches or
// history reads, many connections that then closed) back to the OS. Gyre runs on glibc's
// allocator, which keeps what its per-thread arenas once held for the life of the process;
// malloc_trim(0) returns the free memory at the top of every arena and the free pages
// inside them. The choice of glibc + a periodic trim over jemalloc and mimalloc, and its
// measurements, are in docs/design/memory.md.
// Threading: tick() is called by one thread, the server's main thread (once a second,
// beside the engines' maintenance), never by an event loop: a trim walks the arenas' free
// lists under their locks (usually < 0.1 ms, a few ms when it returns a large spike), so it
// runs once per interval, never per request.
#pragma once

#include <chrono>

namespace gyre {

class memory_release {
 public:
  explicit memory_release(std::chrono::milliseconds interval) : interval_(interval) {}

  // Returns free memory to the OS if `interval` passed since the last time.
  void tick(std::chrono::steady_clock::time_point now);

 private:
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace gyre
