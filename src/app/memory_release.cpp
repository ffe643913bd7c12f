// memory_release: see memory_release.hpp.
#include "app/memory_release.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace gyre {

void memory_release::tick(std::chrono::steady_clock::time_point now) {
  if (interval_.count() <= 0 || now - last_ < interval_) return;
  last_ = now;
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace gyre
