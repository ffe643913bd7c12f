// prepared_event: one publication, join or leave on its way to the subscribers of a
// channel on every event loop, with its wire encodings computed once and shared.
//
// Encode-once rule: each variant (JSON or Protobuf; full payload, full payload as a JSON
// string for delta subscribers, fossil patch) is computed by the first subscriber that
// needs it, on whichever loop gets there first, and then reused by every other subscriber
// of every loop. A variant nobody needs is never computed.
//
// Threading: immutable after construction except for the lazily filled variants, which
// are guarded by std::call_once. Shared between loops through shared_ptr.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "broker/broker.hpp"
#include "core/publication.hpp"
#include "core/shared_buffer.hpp"
#include "protocol/codec.hpp"

namespace gyre {

enum class event_kind : uint8_t { publication, join, leave };

// The encodings a subscriber can receive.
enum class pub_variant : uint8_t {
  full,         // data embedded as is (JSON raw value / Protobuf bytes)
  full_string,  // JSON delta subscription: full payload written as a JSON string
  patch,        // fossil patch against the previous publication (falls back to full)
  count,
};

class prepared_event {
 public:
  // A publication event.
  explicit prepared_event(std::shared_ptr<const delivered_publication> p);
  // A join or leave event.
  prepared_event(event_kind kind, std::string channel, client_info info);

  event_kind kind() const { return kind_; }
  const std::string& channel() const { return channel_; }
  const delivered_publication* pub() const { return pub_.get(); }
  const client_info& info() const { return info_; }

  // The encoded push for `enc` and `v`, framed per codec.hpp: Reply-wrapped for the
  // bidirectional transports, bare for the unidirectional ones (docs/transports.md).
  const shared_buffer& encoded(protocol::encoding enc, pub_variant v,
                               protocol::push_envelope env = protocol::push_envelope::reply) const;

  // The encoded push for `enc` and `v` as one complete compressed WebSocket frame
  // (permessage-deflate without context takeover, so valid for every recipient that
  // negotiated the extension), compressed once with the first caller's `level`; callers
  // pass websocket.compression_level, the same for all. Empty when the encoded push is
  // shorter than `min_size` or does not get smaller: then the plain bytes are sent.
  const shared_buffer& deflated(protocol::encoding enc, pub_variant v, int level,
                                uint32_t min_size) const;

  // True when a patch variant exists and is really a patch (not a full fallback).
  bool has_patch(protocol::encoding enc) const;

 private:
  struct slot {
    mutable std::once_flag once;
    mutable shared_buffer bytes;
    mutable bool is_patch = false;
  };
  void compute(protocol::encoding enc, pub_variant v, protocol::push_envelope env, slot& s) const;
  const std::string& patch_bytes() const;

  event_kind kind_;
  std::string channel_;
  std::shared_ptr<const delivered_publication> pub_;
  client_info info_;
  // [envelope * 2 + encoding][variant]
  mutable std::array<std::array<slot, static_cast<size_t>(pub_variant::count)>, 4> slots_;
  // [encoding][variant]: deflated() of the Reply-wrapped push; is_patch unused.
  mutable std::array<std::array<slot, static_cast<size_t>(pub_variant::count)>, 2> deflated_;
  mutable std::once_flag patch_once_;
  mutable std::string patch_;
  mutable bool patch_ok_ = false;
};

}  // namespace gyre
