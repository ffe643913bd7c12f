// client_worker: one thread of simulated WebSocket clients, on its own epoll instance.
//
// The thread owns the connections whose index i satisfies i % total_threads == its
// global thread number. For each it binds a 127.x source address (bind-before-connect
// with IP_BIND_ADDRESS_NO_PORT, so the ephemeral port is picked per 4-tuple and each
// source address adds ~28k ports), connects, and writes the HTTP upgrade request, the
// connect command and the subscribe commands in one write (the server accepts bytes that
// follow the upgrade request). It becomes "ready" when the 101 and every reply arrived
// (raw mode: at the 101). It answers server pings, counts pushes and samples their
// publish timestamps (see message_scan.hpp), and reports into its shared stats block.
//
// Receive path: one 256 KB read buffer per thread, level-triggered reads of up to that
// size, frames decoded as a stream (server_frames.hpp), no allocation per message.
//
// Soak churn (plan.churn_per_s, once the coordinator sets ctl.churn): the thread closes
// that share of its ready connections per second, each with a close frame (1000) as a
// leaving browser would, and opens it again through the same rate-limited path.
//
// Every loop is bounded: connects are rate-limited and capped in flight, attempts time
// out (connect_timeout_s), and the thread exits when the coordinator sets phase = stop.
// Threading: run() is the thread's body; nothing is shared except the stats block and
// the control block (atomics).
#pragma once

#include <cstdint>

#include "load/plan.hpp"
#include "load/shared_stats.hpp"

namespace gyre::bench {

// Runs worker thread `thread_index` (0 .. plan.total_threads-1) until the coordinator
// sets phase = stop. Returns 0, or non-zero after a setup error (reported on stderr).
int run_client_worker(const client_plan& plan, shared_area& area, uint32_t thread_index);

}  // namespace gyre::bench
