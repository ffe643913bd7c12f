// libFuzzer target for the JSON command decoder (json_codec().decode_commands) and, for
// every accepted frame, the JSON encoders. Oracles beyond "no crash, no sanitizer report":
//   - every `bytes` field the decoder produced is itself valid JSON (checked with
//     json_syntax, an independent checker: a differential test of the decoder's
//     validation);
//   - everything encoded from it is '\n'-framed and every line is a valid JSON object,
//     i.e. a JSON client can never be sent a broken frame because of what another
//     client published.
// The input is copied into a buffer of exactly size + decode_padding bytes, the contract
// transports give the decoder, so ASan reports any read past the padding.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_replies.hpp"
#include "json_syntax.hpp"
#include "protocol/codec.hpp"

namespace {

using namespace gyre::protocol;

void require(bool ok) {
  if (!ok) std::abort();
}

void require_valid_json(std::string_view s, bool object) {
  require(gyre::fuzz::json_syntax::valid(s));
  require(!object || (!s.empty() && s.front() == '{'));
}

void check_payloads(const command& cmd) {
  auto payload = [](const std::string& data) {
    if (!data.empty()) require_valid_json(data, false);
  };
  switch (cmd.kind) {
    case command_kind::connect:
      payload(cmd.as<connect_request>().data);
      for (const auto& [ch, sub] : cmd.as<connect_request>().subs) payload(sub.data);
      break;
    case command_kind::subscribe:
      payload(cmd.as<subscribe_request>().data);
      break;
    case command_kind::publish:
      payload(cmd.as<publish_request>().data);
      break;
    case command_kind::send:
      payload(cmd.as<send_request>().data);
      break;
    case command_kind::rpc:
      payload(cmd.as<rpc_request>().data);
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<char[]> buf(new char[size + decode_padding]);
  if (size) std::memcpy(buf.get(), data, size);
  std::memset(buf.get() + size, '7', decode_padding);

  std::vector<command> cmds;
  if (json_codec().decode_commands(std::string_view(buf.get(), size), cmds) != decode_status::ok) {
    require(cmds.empty());
    return 0;
  }
  require(!cmds.empty());

  std::string out;
  for (const command& cmd : cmds) {
    check_payloads(cmd);
    gyre::protocol::fuzz::encode_replies_for(json_codec(), cmd, out);
  }
  require(!out.empty() && out.back() == '\n');
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    require_valid_json(std::string_view(out).substr(pos, nl - pos), true);
    pos = nl + 1;
  }

  // The Protobuf encoders must take anything the JSON decoder produces, too.
  std::string pb_out;
  for (const command& cmd : cmds)
    gyre::protocol::fuzz::encode_replies_for(protobuf_codec(), cmd, pb_out);
  return 0;
}
