// emulation_request: decoding of /emulation bodies; see emulation_request.hpp.
#include "transport/emulation_request.hpp"

#include "broker/pb_wire.hpp"
#include "protocol/json_object.hpp"

namespace gyre {

bool decode_emulation_request(std::string_view body, bool protobuf, emulation_request& out,
                              std::string& error) {
  out = {};
  if (protobuf) {
    pb_wire::field_reader r(body);
    pb_wire::field_reader::field f;
    while (r.next(f)) {
      if (f.type != 2) continue;  // only length-delimited fields are ours
      if (f.number == 1) out.node.assign(f.bytes);
      if (f.number == 2) out.session.assign(f.bytes);
      if (f.number == 3) out.data.assign(f.bytes);
    }
    if (r.failed()) {
      error = "malformed Protobuf EmulationRequest";
      return false;
    }
  } else {
    auto obj = protocol::json_object::parse(body);
    if (!obj) {
      error = "the body is not a JSON object";
      return false;
    }
    if (!obj->get("session", out.session) || !obj->get("node", out.node) ||
        !obj->get("data", out.data)) {
      error = "session, node and data must be strings";
      return false;
    }
  }
  if (out.session.empty()) {
    error = "no session";
    return false;
  }
  if (out.data.empty()) {
    error = "no data";
    return false;
  }
  return true;
}

}  // namespace gyre
