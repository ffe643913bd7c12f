// uni_connect: the ConnectRequest that opens a unidirectional connection (uni_websocket,
// uni_sse, uni_http_stream): a bare JSON object, not a Command (docs/transports.md).
//
// Threading: pure function, any thread.
#pragma once

#include <string_view>

#include "protocol/client_messages.hpp"

namespace gyre::protocol {

// Decodes `json` (surrounding whitespace allowed; empty or `null`: an empty request).
// False when it is not a JSON object with the ConnectRequest's fields and types.
bool decode_uni_connect(std::string_view json, connect_request& out);

}  // namespace gyre::protocol
