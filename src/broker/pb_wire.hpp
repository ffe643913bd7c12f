// pb_wire: the Protobuf bytes of the publications and client infos that brokers store and
// pass between nodes — the Redis engine's stream, list and PUB/SUB payloads and presence
// hashes, and the `pub` / `join` / `leave` of the NATS broker's Push (nats_push_codec).
// They are the `Publication` {4 data, 5 info, 6 offset, 7 tags, 8 delta, 9 time} and
// `ClientInfo` {1 user, 2 client, 3 conn_info, 4 chan_info} messages of the client protocol,
// encoded by the classes generated from src/protocol/client.proto: the wire format of a
// publication is written down once, in that file, and Centrifugo nodes sharing a Redis or
// NATS with Gyre read what Gyre writes and the other way round.
//
// What holds:
//  * No protobuf type in this header (pb_wire_proto.hpp has them, for the two codecs).
//  * Encoding is deterministic: tags are written sorted by key, so equal values give equal
//    bytes. Decoded tags are sorted by key; a repeated key keeps its last value (a protobuf
//    map). Unknown fields are skipped.
//  * Decoding fails on malformed Protobuf, including invalid UTF-8 in the `string` fields
//    (user, client, tag keys and values): libprotobuf's proto3 rule. Centrifugo's Go reader
//    does not check, but every source of these fields (the JWT `sub`, JSON and gRPC APIs)
//    is valid UTF-8 already, so only a foreign writer can produce such a message.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/publication.hpp"

namespace gyre::pb_wire {

void encode_client_info(std::string& out, const client_info& info);  // appends
std::string encode_client_info(const client_info& info);
bool decode_client_info(std::string_view in, client_info& out);

// `delta` is written as given (the caller decides what the flag means on its path).
std::string encode_publication(const publication& pub, bool delta);
bool decode_publication(std::string_view in, publication& out);
// Only the `data` field (for delta "previous payload" pairing).
bool decode_publication_data(std::string_view in, std::string& data);

}  // namespace gyre::pb_wire
