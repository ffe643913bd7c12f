// codec: the encoding-independent face of the client protocol. json_codec and
// protobuf_codec implement it; the connection logic never sees wire bytes.
//
// Framing (client-protocol.md §1.3): every encode_* call APPENDS one complete framed
// message to `out`: JSON appends the object followed by '\n'; Protobuf appends the
// varint length prefix followed by the message. A transport frame is therefore just the
// concatenation of encoded messages, which is what lets a connection coalesce everything
// queued for it into one WebSocket frame and one write.
//
// Pushes can be wrapped in a Reply (`push_envelope::reply`, bidirectional transports) or
// written bare (`push_envelope::bare`, unidirectional transports).
//
// Thread-safety: codecs are stateless; one instance may be used from every thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/publication.hpp"
#include "protocol/client_messages.hpp"

namespace gyre::protocol {

enum class encoding : uint8_t { json, protobuf };

enum class push_envelope : uint8_t { reply, bare };

// How a publication push is written, beyond the publication itself.
struct pub_encoding {
  bool patch = false;        // data is a fossil patch: write delta=true
  bool json_string = false;  // JSON only: write data as a JSON string (delta subscriptions)
  std::string_view epoch;    // Publication.epoch (14): set on the first publication of a stream
  std::string_view
      channel;  // Publication.channel (10): concrete channel of a wildcard subscription
};

enum class decode_status : uint8_t {
  ok,
  malformed,  // undecodable bytes, bad types, empty batch, empty line: disconnect 3501
};

// Bytes of readable slack the decoders may read past the end of their input
// (simdjson needs it). Transports keep this much spare room after every frame.
inline constexpr size_t decode_padding = 64;

class codec {
 public:
  virtual ~codec() = default;

  virtual encoding kind() const = 0;

  // Decodes one transport message (a batch of commands) and appends the commands to
  // `out`. `frame` must be followed by `decode_padding` readable bytes. On `malformed`
  // nothing is appended (`out` keeps its previous contents).
  virtual decode_status decode_commands(std::string_view frame,
                                        std::vector<command>& out) const = 0;

  // The size of the first command of `batch` with its framing (a JSON line with its '\n',
  // or a Protobuf varint length and the message), or 0 when the framing is broken (an
  // empty line, a truncated varint or length). decode_commands() of exactly those bytes
  // yields that one command: a caller can run a batch one command at a time and keep only
  // the bytes of the commands it has not run yet.
  virtual size_t next_command_size(std::string_view batch) const = 0;

  virtual void encode_reply(const reply& r, std::string& out) const = 0;

  // Server ping: an empty Reply (bidirectional) or empty Push (unidirectional).
  virtual void encode_ping(std::string& out) const = 0;

  // `data` replaces pub.data on the wire (the full payload or a fossil patch, see `how`).
  // `epoch` (Publication field 14) is written when non-empty: the connection sets it on
  // the publication with offset 1 so that a client subscribed to an empty stream learns
  // the epoch (§4.7). Overrides must not redeclare the default argument.
  virtual void encode_pub_push(std::string_view channel, const publication& pub,
                               std::string_view data, pub_encoding how, push_envelope env,
                               std::string& out) const = 0;
  virtual void encode_join_push(std::string_view channel, const client_info& info,
                                push_envelope env, std::string& out) const = 0;
  virtual void encode_leave_push(std::string_view channel, const client_info& info,
                                 push_envelope env, std::string& out) const = 0;
  virtual void encode_unsubscribe_push(std::string_view channel, uint32_t code,
                                       std::string_view reason, push_envelope env,
                                       std::string& out) const = 0;
  virtual void encode_message_push(std::string_view data, push_envelope env,
                                   std::string& out) const = 0;
  virtual void encode_subscribe_push(std::string_view channel, const subscribe_push& sub,
                                     push_envelope env, std::string& out) const = 0;
  virtual void encode_disconnect_push(uint32_t code, std::string_view reason, push_envelope env,
                                      std::string& out) const = 0;
  virtual void encode_refresh_push(bool expires, uint32_t ttl, push_envelope env,
                                   std::string& out) const = 0;
  // Connect push of unidirectional transports (different field numbers than ConnectResult).
  virtual void encode_connect_push(const connect_result& c, push_envelope env,
                                   std::string& out) const = 0;
};

// The two process-wide codec instances.
const codec& json_codec();
const codec& protobuf_codec();
inline const codec& codec_for(encoding e) {
  return e == encoding::json ? json_codec() : protobuf_codec();
}

}  // namespace gyre::protocol
