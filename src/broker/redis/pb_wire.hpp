// pb_wire: hand-written Protobuf encoding of the two messages the Redis engine stores and
// publishes (engines.md §4.3): ClientInfo{1 user, 2 client, 3 conn_info, 4 chan_info} and
// Publication{4 data, 5 info, 6 offset, 7 tags (map entries {1 key, 2 value}), 8 delta,
// 9 time}. Field numbers match centrifugal/protocol's client.proto, so Go nodes read what
// we write and the other way round. Unknown fields are skipped when decoding.
// No I/O; decode functions return false on malformed input.
#pragma once

#include <string>
#include <string_view>

#include "core/publication.hpp"

namespace gyre::redis::pb {

void encode_client_info(std::string& out, const client_info& info);
std::string encode_client_info(const client_info& info);
bool decode_client_info(std::string_view in, client_info& out);

// `delta` is written as given (the caller decides what the flag means on this path).
std::string encode_publication(const publication& pub, bool delta);
bool decode_publication(std::string_view in, publication& out);
// Only the `data` field (for delta "previous payload" pairing).
bool decode_publication_data(std::string_view in, std::string& data);

}  // namespace gyre::redis::pb
