// uni_connect: decoding of a unidirectional ConnectRequest; see uni_connect.hpp.
#include "protocol/uni_connect.hpp"

#include <string>
#include <vector>

#include "protocol/codec.hpp"

namespace gyre::protocol {

namespace {
bool space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
}  // namespace

bool decode_uni_connect(std::string_view json, connect_request& out) {
  while (!json.empty() && space(json.front())) json.remove_prefix(1);
  while (!json.empty() && space(json.back())) json.remove_suffix(1);
  if (json.empty() || json == "null") json = "{}";
  // A JSON command line carries no raw newline; the object must be one.
  if (json.front() != '{' || json.find('\n') != std::string_view::npos) return false;
  // The ConnectRequest is the `connect` member of a Command: decoded as one.
  std::string cmd;
  cmd.reserve(json.size() + 24 + decode_padding);
  cmd.append("{\"id\":1,\"connect\":").append(json).append("}");
  std::vector<command> cmds;
  if (json_codec().decode_commands(cmd, cmds) != decode_status::ok || cmds.size() != 1 ||
      cmds.front().kind != command_kind::connect)
    return false;
  out = std::move(cmds.front().as<connect_request>());
  return true;
}

}  // namespace gyre::protocol
