// pb_wire_proto: conversions between Gyre's publication / client_info and the generated
// Protobuf classes of client.proto, shared by pb_wire.cpp and nats_push_codec.cpp so that a
// publication is put on the wire by one piece of code. Include it only from .cpp files of
// codecs: it brings in the generated headers.
// Thread safety: pure functions.
#pragma once

#include <google/protobuf/message_lite.h>

#include <string>

#include "core/publication.hpp"
#include "protocol/client.pb.h"

namespace gyre::pb_wire {

namespace proto = centrifugal::centrifuge::protocol;

void to_proto(const client_info& info, proto::ClientInfo& out);
// Every field of `pub`; the `delta` flag from the argument.
void to_proto(const publication& pub, bool delta, proto::Publication& out);

// Moves the strings out of `in`. Tags come out sorted by key.
client_info from_proto(proto::ClientInfo&& in);
publication from_proto(proto::Publication&& in);

// Deterministic serialization (map entries sorted by key), appended to `out`.
void serialize(const google::protobuf::MessageLite& m, std::string& out);

// ParseFromArray with a size check; false for malformed bytes.
bool parse(std::string_view in, google::protobuf::MessageLite& m);

}  // namespace gyre::pb_wire
