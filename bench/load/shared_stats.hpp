// shared_stats: the memory the gyre-bench coordinator shares with its worker processes
// (one anonymous MAP_SHARED mapping created before fork()). It holds
//   - a control block the coordinator writes (phase, connect/close rounds) and the
//     workers poll, and
//   - one stats block per worker thread, written only by that thread (relaxed
//     load+store pairs: one writer, no lock prefix) and read at any time by the
//     coordinator, which sums the blocks and differences successive snapshots.
// Nothing in here is ever reset while workers run, so a snapshot difference is exact.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "load/histogram.hpp"

namespace gyre::bench {

using counter = std::atomic<uint64_t>;

inline void bump(counter& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline void set_max(counter& c, uint64_t v) {
  if (v > c.load(std::memory_order_relaxed)) c.store(v, std::memory_order_relaxed);
}

enum class run_phase : uint32_t { prepare = 0, run = 1, stop = 2 };

struct control_block {
  std::atomic<uint32_t> phase;          // run_phase
  std::atomic<uint32_t> prepared;       // worker threads ready to connect
  std::atomic<uint32_t> connect_round;  // round r connects once this exceeds r
  std::atomic<uint32_t> close_round;    // round r closes its connections once this exceeds r
  std::atomic<uint32_t> closed;         // worker threads that closed their round
  std::atomic<uint32_t> reconnect;      // reopen connections lost after being ready
  std::atomic<uint32_t> churn;          // soak: close and reopen plan.churn_per_s of them
};

struct alignas(64) thread_stats {
  // Connections (cumulative unless noted).
  counter started;        // connect attempts
  counter ready;          // handshake done (and connect/subscribe replies received)
  counter failed;         // attempts that never became ready
  counter lost;           // ready connections that ended before the tool closed them
  counter open;           // gauge: connections ready now (written as a value)
  counter churned;        // ready connections the tool closed to reopen them (soak churn)
  counter server_closes;  // close frames received
  counter last_close_code;
  counter last_error_code;  // error reply code (connect/subscribe)
  counter first_start_ns;   // first attempt of the current round (steady clock)
  counter last_ready_ns;    // last connection of the current round to become ready
  // Receive path.
  counter messages;  // pushes (Gyre) or data messages (raw)
  counter bytes;     // bytes read
  counter pings;     // server pings (app-level or WebSocket)
  counter pongs;     // pongs sent
  counter replies;   // replies to commands
  counter reply_errors;
  counter samples;           // pushes whose timestamp was read
  counter bad_samples;       // sampled pushes without a timestamp
  counter last_msg_ns;       // when the last push was read
  shared_histogram latency;  // publish -> receipt, microseconds
  shared_histogram connect;  // connect start -> ready, microseconds
};

struct shared_area {
  control_block ctl;
  uint32_t thread_count;
  thread_stats threads[1];  // really thread_count blocks

  static size_t size_for(uint32_t threads) {
    return sizeof(shared_area) + sizeof(thread_stats) * (threads > 0 ? threads - 1 : 0);
  }
  // Maps a zeroed shared area (MAP_SHARED | MAP_ANONYMOUS); null on failure.
  static shared_area* create(uint32_t threads);
};

// A plain sum of every thread's block at one moment.
struct stats_snapshot {
  uint64_t started = 0, ready = 0, failed = 0, lost = 0, open = 0, churned = 0, server_closes = 0;
  uint64_t last_close_code = 0, last_error_code = 0;
  uint64_t first_start_ns = 0, last_ready_ns = 0;
  uint64_t messages = 0, bytes = 0, pings = 0, pongs = 0, replies = 0, reply_errors = 0;
  uint64_t samples = 0, bad_samples = 0, last_msg_ns = 0;
  histogram latency;
  histogram connect;
};

stats_snapshot snapshot(const shared_area& area);

}  // namespace gyre::bench
