// prepared_event: lazily computed, shared encodings; see prepared_event.hpp.
#include "hub/prepared_event.hpp"

#include "protocol/fossil.hpp"
#include "transport/ws_deflate.hpp"

namespace gyre {

prepared_event::prepared_event(std::shared_ptr<const delivered_publication> p)
    : kind_(event_kind::publication), channel_(p->channel), pub_(std::move(p)) {}

prepared_event::prepared_event(event_kind kind, std::string channel, client_info info)
    : kind_(kind), channel_(std::move(channel)), info_(std::move(info)) {}

const std::string& prepared_event::patch_bytes() const {
  std::call_once(patch_once_, [this] {
    if (!pub_ || !pub_->use_delta || !pub_->prev_data) return;
    // UTF-8 aligned: the same patch is then valid for JSON and Protobuf subscribers.
    patch_ =
        protocol::fossil_delta(*pub_->prev_data, pub_->pub.data, protocol::delta_alignment::utf8);
    patch_ok_ = protocol::delta_worth_sending(patch_.size(), pub_->pub.data.size());
  });
  return patch_;
}

bool prepared_event::has_patch(protocol::encoding enc) const {
  const auto& s = slots_[static_cast<size_t>(enc)][static_cast<size_t>(pub_variant::patch)];
  encoded(enc, pub_variant::patch);
  return s.is_patch;
}

const shared_buffer& prepared_event::encoded(protocol::encoding enc, pub_variant v,
                                             protocol::push_envelope env) const {
  slot& s = slots_[static_cast<size_t>(env) * 2 + static_cast<size_t>(enc)][static_cast<size_t>(v)];
  std::call_once(s.once, [&] { compute(enc, v, env, s); });
  return s.bytes;
}

const shared_buffer& prepared_event::deflated(protocol::encoding enc, pub_variant v, int level,
                                              uint32_t min_size) const {
  slot& s = deflated_[static_cast<size_t>(enc)][static_cast<size_t>(v)];
  std::call_once(s.once, [&] {
    const shared_buffer& plain = encoded(enc, v);
    if (plain.size() < min_size) return;
    const ws::opcode op = enc == protocol::encoding::json ? ws::opcode::text : ws::opcode::binary;
    thread_local std::string frame;
    if (!ws::deflate_frame(plain.view(), op, level, frame)) return;
    // Not worth it unless the frame beats the plain payload plus its header.
    if (frame.size() >= plain.size() + ws::frame_header_size(plain.size())) return;
    s.bytes = shared_buffer::copy_of(frame);
  });
  return s.bytes;
}

void prepared_event::compute(protocol::encoding enc, pub_variant v, protocol::push_envelope env,
                             slot& s) const {
  const protocol::codec& c = protocol::codec_for(enc);
  const bool json = enc == protocol::encoding::json;
  // Encode into a reused per-thread buffer; the shared copy is the only allocation.
  thread_local std::string scratch;
  std::string& out = scratch;
  out.clear();
  switch (kind_) {
    case event_kind::join:
      c.encode_join_push(channel_, info_, env, out);
      break;
    case event_kind::leave:
      c.encode_leave_push(channel_, info_, env, out);
      break;
    case event_kind::publication: {
      const publication& p = pub_->pub;
      protocol::pub_encoding how;
      std::string_view data = p.data;
      if (v == pub_variant::patch) {
        const std::string& patch = patch_bytes();
        // No base to diff against (a delta namespace without history, a stream just
        // removed): patch_ok_ stays false and the payload goes whole with delta false,
        // like Centrifugo; an empty patch must never be sent as `delta: true`.
        bool usable = patch_ok_ && (!json || protocol::json_delta_sendable(patch, p.data.size()));
        if (usable) {
          data = patch;
          how.patch = true;
          s.is_patch = true;
        }
        how.json_string = json;
      } else if (v == pub_variant::full_string) {
        how.json_string = json;
      }
      // The first publication of a stream carries its epoch (client-protocol.md §4.7).
      if (p.offset == 1) how.epoch = pub_->epoch;
      how.channel = pub_->specific_channel;
      c.encode_pub_push(channel_, p, data, how, env, out);
      break;
    }
  }
  s.bytes = shared_buffer::copy_of(out);
}

}  // namespace gyre
