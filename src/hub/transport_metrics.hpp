// transport_metrics: per-event-loop counts of the frames connections send and receive, by
// transport and frame type, for centrifugo_transport_messages_sent / _received (+ _size)
// (docs/metrics.md). Each shard owns one transport_counts that only its loop writes: a
// count is a relaxed load and store on that loop's own memory (no locked instruction, no
// cache line shared with other loops, no allocation); the scrape sums the loops.
//
// Frame type names are Centrifugo's (server_ping, push_publication, subscribe, ...);
// transports are the fixed set of names Gyre's transports report, so the number of series
// is bounded by the code, never by a peer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/metrics.hpp"
#include "protocol/client_messages.hpp"

namespace gyre {

enum class frame_type : uint8_t {
  server_ping,
  client_pong,
  push_connect,
  push_subscribe,
  push_publication,
  push_join,
  push_leave,
  push_unsubscribe,
  push_message,
  push_refresh,
  push_disconnect,
  connect,
  subscribe,
  publish,
  unsubscribe,
  rpc,
  presence,
  presence_stats,
  history,
  refresh,
  sub_refresh,
  send,
  count
};

const char* frame_type_name(frame_type f);
// The frame a command arrives as (an empty command is the client's pong).
frame_type frame_of_command(protocol::command_kind k);
// The frame of the reply to a command of kind `k`.
inline frame_type frame_of_reply(protocol::command_kind k) {
  return frame_of_command(k);
}
// The frame of a successful reply, from its result.
frame_type frame_of_reply(const protocol::reply& r);

// Slot of a transport name ("websocket", "sse", ...); names Gyre does not know share the
// last slot, "other".
uint8_t transport_slot(std::string_view transport_name);
inline constexpr size_t transport_slots = 9;
const char* transport_slot_name(uint8_t slot);

class transport_counts {
 public:
  // Loop thread only.
  void sent(uint8_t transport, frame_type f, size_t bytes) {
    bump(sent_[transport][static_cast<size_t>(f)], bytes);
  }
  void received(uint8_t transport, frame_type f, size_t bytes) {
    bump(received_[transport][static_cast<size_t>(f)], bytes);
  }

  struct cell {
    std::atomic<uint64_t> frames{0};
    std::atomic<uint64_t> bytes{0};
  };
  using table = cell[transport_slots][static_cast<size_t>(frame_type::count)];
  const table& sent_table() const { return sent_; }
  const table& received_table() const { return received_; }

 private:
  // One writer: no read-modify-write instruction is needed, readers see whole values.
  static void bump(cell& c, size_t bytes) {
    c.frames.store(c.frames.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    c.bytes.store(c.bytes.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  }
  table sent_;
  table received_;
};

// The four metric families summed over `loops` (series that counted nothing are left out,
// as Centrifugo creates a series on first use). channel_namespace is "".
void collect_transport_counts(const std::vector<const transport_counts*>& loops,
                              std::vector<metrics::collected_family>& out);

}  // namespace gyre
