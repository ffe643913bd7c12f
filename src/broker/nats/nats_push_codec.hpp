// nats_push_codec: the payload of Centrifugo's NATS broker on `<prefix>.client.<channel>`
// (docs/nats.md): a protobuf `Push` (client.proto) with `channel` and exactly one of
// `pub` (data, info, tags, delta flag, time), `join{info}` or `leave{info}`. The
// publication and client info inside are put on the wire by pb_wire (broker/pb_wire.hpp),
// as in the Redis engine.
//
// Wire rules kept for compatibility with Centrifugo nodes on the same NATS:
// - `pub.delta` carries publish_options.use_delta (Centrifugo: "cleaned up before passing
//   to Node"); on decode it becomes `use_delta` and the publication's delta flag is false.
// - `pub.offset` is 0 (no history). A received offset (Centrifugo's stream-position
//   variant) is passed on, with the epoch from the `__centrifugo_epoch` tag.
// - Tags decode as a protobuf map: the last value of a key wins, sorted by key.
// - Decoding fails on malformed Protobuf anywhere in the Push envelope, pub, join or leave
//   (pb_wire's rules); other Push fields are skipped unread.
//
// Bytes in, values out: no I/O. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/publication.hpp"

namespace gyre::nats_push {

enum class kind { publication, join, leave };

struct decoded {
  kind what = kind::publication;
  std::string channel;
  publication pub;    // kind::publication
  std::string epoch;  // from the `__centrifugo_epoch` tag when pub.offset > 0
  bool use_delta = false;
  client_info info;  // kind::join / kind::leave
};

std::string encode_publication(std::string_view channel, const publication& pub, bool use_delta);
std::string encode_join(std::string_view channel, const client_info& info);
std::string encode_leave(std::string_view channel, const client_info& info);

// nullopt for bytes that are not a Push or a Push without pub/join/leave.
std::optional<decoded> decode(std::string_view bytes);

}  // namespace gyre::nats_push
