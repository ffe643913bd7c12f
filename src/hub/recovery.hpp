// recovery: what a subscribe tells the client about the stream, and how live publications
// that arrived while the stream was read join what the reply carries. Pure functions: no
// I/O, no client, no clock; the connection state machine (client.cpp) calls them with the
// history page it read and the events it buffered. Design: docs/design/connection-state-machine.md
// ("Recovery decision" and "Merge rule").
//
// What must hold (checked by tests/unit/hub/recovery_test.cpp):
// - Recovered publications pass the subscription's tags filter exactly like live ones; a
//   filtered publication still moves the position (the client never asks for it again).
// - Delta: the first publication of a reply is sent whole, each later one as a fossil patch
//   against the previous publication the client actually receives (never against one the
//   filter withheld), and only when the patch is worth it for the client's encoding.
// - After the reply the subscription's position is the stream top of the read. A
//   publication the client receives afterwards is exactly position + 1, + 2, ... in offset
//   order, whatever order the buffered events arrived in; an offset at or below the
//   position is a duplicate and dropped; a missing offset (or another epoch) ends the
//   merge with lost continuity, which the client turns into a resubscribe (2500) or a
//   reconnect (3010) that recovers from the last position delivered.
//
// Threading: none (pure).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/publication.hpp"
#include "core/result.hpp"
#include "protocol/codec.hpp"

namespace gyre::protocol {
class compiled_filter;
}

namespace gyre::recovery {

// What the subscription asks for, decided before the stream is read.
struct request {
  bool positioned = false;
  bool recoverable = false;
  bool recover = false;  // the client (or the server API) asked to recover from `since`
  stream_position since;
  bool cache_mode = false;            // force_recovery_mode "cache": only the newest publication
  bool reject_unrecoverable = false;  // subscribe flag: answer 112 instead of recovered:false
  bool delta = false;                 // fossil delta negotiated for this subscription
  protocol::encoding encoding = protocol::encoding::json;
  const protocol::compiled_filter* filter = nullptr;  // the subscription's tags filter, if any
};

// The history read a subscribe needs; nullopt when it needs none (neither positioned nor
// recoverable). `recovery_limit` is client.recovery_max_publication_limit.
std::optional<history_query> query_for(const request& req, uint32_t recovery_limit,
                                       int64_t meta_ttl_seconds);

struct outcome {
  bool was_recovering = false;
  bool recovered = false;
  std::string epoch;          // the stream's epoch, for the reply
  uint64_t reply_offset = 0;  // the reply's offset: the client's own position when recovered
  // What the reply carries: filtered, in offset order, `delta` set on fossil patches.
  std::vector<publication> publications;
  bool epoch_on_first = false;  // the reply writes `epoch` on the publication with offset 1
  stream_position position;     // the subscription's position once the reply is written
  bool delta_ready = false;     // the client holds the stream's newest publication (delta base)
};

// The reply for `page` (read with query_for(req)). Fails with unrecoverable_position (112)
// when the client asked to recover with reject_unrecoverable and the stream cannot give it
// exactly what it missed.
result<outcome> decide(const request& req, history_page page);

// ---- merge of live events buffered while the stream was read ----

// One buffered event, as the merge sees it: the publication's offset and epoch, or a join
// or leave (kept in its place among the others).
struct buffered_event {
  bool is_publication = true;
  uint64_t offset = 0;  // 0: a publication outside any stream
  const std::string* epoch = nullptr;
};

struct merge_plan {
  // Indices into the buffered events, in delivery order (duplicates and everything after a
  // loss left out).
  std::vector<uint32_t> deliver;
  bool lost_continuity = false;
  stream_position position;  // after the delivered publications
};

// Orders the buffered events for delivery after the reply. For a positioned subscription
// publications go out by offset from `position`; without positioning in arrival order.
merge_plan merge(const stream_position& position, bool positioned,
                 std::span<const buffered_event> events);

}  // namespace gyre::recovery
