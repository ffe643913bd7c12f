// memory_broker: the single-node reference broker (engines.md §2-§3). Publications are
// handed straight to the event handler; channels with history keep an in-memory stream.
//
// Data model, per channel, in one of `stripes` lock stripes chosen by channel hash:
// - stream (only for channels that keep history or were read): epoch, top offset, the
//   newest <= history_size publications (offsets contiguous, ending at top), the version
//   of version-based suppression, a content expiry and a metadata expiry.
// - idempotency results: (channel, key) -> position, each with its own expiry.
//
// Invariants:
// - Offsets within an epoch are 1, 2, 3, ... with no gap; the stored publications are
//   exactly offsets (top - count, top].
// - Content expires `history_ttl` after the last publish: the publications are dropped,
//   epoch and top offset stay. Metadata expires `history_meta_ttl` after the last publish
//   or history read: the whole stream goes, and the next publish opens a new epoch at
//   offset 1. A ttl of 0 leaves the current metadata expiry as it is (new metadata then
//   never expires); the server always passes its configured value (default 720 h).
// - Version suppression is part of the stream metadata, so it applies to channels that
//   keep history only (as with the Redis engine). Every publication stores its version: one
//   without a version resets it to none (Centrifugo's memory engine; Redis keeps it).
// - A channel without history allocates nothing on publish (an idempotency key excepted).
// - Stored publications never carry prev_data, so no publication keeps an older one alive.
// - Expired data is removed lazily when its channel is touched and by sweep(), which the
//   server calls every second; every entry is reachable from a per-stripe expiry heap, so
//   nothing expired survives more than a few sweeps.
//
// Threads: every method may be called from any thread. Offset assignment and the handler
// call for one channel happen under that channel's stripe lock, which gives per-channel
// order across concurrent publishers; completion callbacks run synchronously, after the
// lock is released. The event handler runs under the stripe lock: it must not call back
// into this broker (hand the publication to an event loop instead).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "broker/broker.hpp"
#include "core/clock.hpp"

namespace gyre {

class memory_broker final : public broker {
 public:
  struct options {
    // Lock stripes; rounded up to a power of two. 4096 keeps contention negligible for
    // thousands of concurrently published channels at ~1 MB of fixed memory.
    size_t stripes = 4096;
    // Default work bound of one sweep() call (expired items examined).
    size_t sweep_budget = 10'000;
  };

  explicit memory_broker(clock& clk);
  memory_broker(clock& clk, options opts);
  ~memory_broker() override;

  memory_broker(const memory_broker&) = delete;
  memory_broker& operator=(const memory_broker&) = delete;

  void start(broker_event_handler& handler) override;
  // Waits for handler calls in progress; later calls complete at once with errors::internal
  // and deliver nothing.
  void stop() override;

  void subscribe(std::string_view channel, status_callback done) override;
  void unsubscribe(std::string_view channel) override;
  bool needs_channel_subscriptions() const override { return false; }

  void publish(std::string_view channel, publication pub, const publish_options& opts,
               callback<publish_outcome> done) override;
  void publish_join(std::string_view channel, const client_info& info,
                    status_callback done) override;
  void publish_leave(std::string_view channel, const client_info& info,
                     status_callback done) override;

  // Reverse with since.offset == 0 returns no publications (the node rejects that query).
  void history(std::string_view channel, const history_query& q,
               callback<history_page> done) override;
  void remove_history(std::string_view channel, status_callback done) override;
  // Synchronous; delivery is synchronous too, so every publication up to a top read here
  // has been handled already.
  void stream_tops(std::vector<std::string> channels,
                   callback<std::vector<stream_position>> done) override;

  bool supports_history() const override { return true; }

  // Removes expired history content, stream metadata and idempotency results, examining
  // at most `max_items` expired items (options.sweep_budget when 0); a later call resumes
  // where this one stopped. Returns the number of items examined.
  size_t sweep(size_t max_items = 0);

  // Introspection for tests and metrics (each takes every stripe lock in turn).
  size_t stream_count() const;
  size_t idempotency_result_count() const;

 private:
  struct stripe;

  stripe& stripe_for(std::string_view channel) const;
  void deliver_event(std::string_view channel, const client_info& info, bool join,
                     status_callback done);

  clock& clock_;
  options opts_;
  size_t stripe_mask_ = 0;
  std::unique_ptr<stripe[]> stripes_;
  std::atomic<broker_event_handler*> handler_{nullptr};
  std::atomic<bool> stopped_{false};
  std::atomic<size_t> sweep_cursor_{0};
};

}  // namespace gyre
