/* trim_preload: an LD_PRELOAD library for bench/memory.sh that measures glibc's allocator
 * with a periodic malloc_trim(0) without rebuilding the server: its constructor starts one
 * detached thread that calls malloc_trim(0) every TRIM_INTERVAL_MS (default 5000) ms and,
 * with TRIM_LOG set, prints how long each call took. Bench-only; never linked into Gyre. */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void* trim_loop(void* arg) {
  long ms = (long)arg;
  for (;;) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    malloc_trim(0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (getenv("TRIM_LOG"))
      fprintf(stderr, "malloc_trim: %ld us\n",
              (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000);
  }
  return NULL;
}

__attribute__((constructor)) static void start_trim_thread(void) {
  const char* s = getenv("TRIM_INTERVAL_MS");
  long ms = s ? atol(s) : 5000;
  if (ms <= 0) return;
  pthread_t t;
  if (pthread_create(&t, NULL, trim_loop, (void*)ms) == 0) pthread_detach(t);
}
