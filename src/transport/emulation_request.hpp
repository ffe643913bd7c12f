// emulation_request: the body of a POST to /emulation, the client-to-server half of the
// bidirectional emulation transports (docs/transports.md):
//  * JSON (any Content-Type but application/octet-stream):
//    {"session":"…","node":"…","data":"<command batch as a JSON string>"}
//  * Protobuf (application/octet-stream): EmulationRequest{1 node, 2 session, 3 data},
//    data = varint-length-prefixed Commands.
//
// Threading: pure function, any thread.
#pragma once

#include <string>
#include <string_view>

namespace gyre {

struct emulation_request {
  std::string node;
  std::string session;
  std::string data;  // the command batch, in the session's encoding
};

// Decodes `body`; on failure returns false and sets `error` to a one-line reason.
bool decode_emulation_request(std::string_view body, bool protobuf, emulation_request& out,
                              std::string& error);

}  // namespace gyre
