// libFuzzer target for the Protobuf command decoder (protobuf_codec().decode_commands)
// and, for every accepted frame, the Protobuf encoders. Oracle beyond "no crash, no
// sanitizer report": what we encode is a sequence of varint-framed messages that the
// generated classes parse again (as Reply, or Push for the bare envelope is not used
// here: every push is written in the Reply envelope).
// The input is copied into a buffer of exactly size + decode_padding bytes.
#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_replies.hpp"
#include "protocol/client.pb.h"
#include "protocol/codec.hpp"

namespace {

using namespace gyre::protocol;

void require(bool ok) {
  if (!ok) std::abort();
}

// A command decoded from bytes with its id forced odd, so every push uses the Reply
// envelope and the whole output parses as a sequence of Replies.
command with_reply_envelope(command cmd) {
  cmd.id |= 1;
  return cmd;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // libprotobuf logs every string field with invalid UTF-8; that is expected input here.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<char[]> buf(new char[size + decode_padding]);
  if (size) std::memcpy(buf.get(), data, size);
  std::memset(buf.get() + size, 0x80, decode_padding);  // continuation bytes: a varint trap

  std::vector<command> cmds;
  if (protobuf_codec().decode_commands(std::string_view(buf.get(), size), cmds) !=
      decode_status::ok) {
    require(cmds.empty());
    return 0;
  }
  require(!cmds.empty());

  std::string out;
  for (const command& cmd : cmds) {
    gyre::protocol::fuzz::encode_replies_for(protobuf_codec(), with_reply_envelope(cmd), out);
  }
  size_t pos = 0;
  centrifugal::centrifuge::protocol::Reply reply;
  while (pos < out.size()) {
    uint64_t len = 0;
    for (int shift = 0;; shift += 7) {
      require(pos < out.size() && shift < 64);
      uint8_t b = static_cast<uint8_t>(out[pos++]);
      len |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (b < 0x80) break;
    }
    require(len <= out.size() - pos);
    require(reply.ParseFromArray(out.data() + pos, static_cast<int>(len)));
    pos += len;
  }

  // The JSON encoders must take anything too (binary payloads make invalid JSON there,
  // which the connection layer refuses with 3506; the encoders just must not fail).
  std::string json_out;
  for (const command& cmd : cmds)
    gyre::protocol::fuzz::encode_replies_for(json_codec(), cmd, json_out);
  return 0;
}
