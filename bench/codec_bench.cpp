// Micro-benchmarks of the client protocol codecs (JSON and Protobuf):
//   - encoders: the publication push (what fan-out encodes once per event and format),
//     the connect reply and the publish reply;
//   - decoders: the JS SDK's first frame (connect + subscribe), a publish command, and
//     a pong (the most frequent command of an idle connection).
// Every encode appends to a reused string, as the hub does with its scratch buffers.
// Run: build/bench/codec_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "load/message_scan.hpp"
#include "protocol/codec.hpp"

namespace gyre {
namespace {

using protocol::encoding;

const protocol::codec& codec_of(const benchmark::State& state) {
  return protocol::codec_for(state.range(0) == 0 ? encoding::json : encoding::protobuf);
}
const char* name_of(const benchmark::State& state) {
  return state.range(0) == 0 ? "json" : "protobuf";
}

std::string payload_of(size_t size) {
  std::string p;
  bench::make_payload(p, 1700000000000000ull, 12345, size);
  return p;
}

void BM_EncodePubPush(benchmark::State& state) {
  const protocol::codec& c = codec_of(state);
  publication pub;
  pub.data = payload_of(static_cast<size_t>(state.range(1)));
  pub.offset = 0;
  std::string out;
  for (auto _ : state) {
    out.clear();
    c.encode_pub_push("news:sports", pub, pub.data, {}, protocol::push_envelope::reply, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(name_of(state));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_EncodePubPush)->ArgNames({"pb", "payload"})->ArgsProduct({{0, 1}, {64, 1024}});

void BM_EncodePubPushWithOffset(benchmark::State& state) {
  const protocol::codec& c = codec_of(state);
  publication pub;
  pub.data = payload_of(64);
  pub.offset = 123456;
  pub.tags = {{"kind", "score"}};
  std::string out;
  for (auto _ : state) {
    out.clear();
    c.encode_pub_push("news:sports", pub, pub.data, {.epoch = "AbCdEfGh"},
                      protocol::push_envelope::reply, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(name_of(state));
}
BENCHMARK(BM_EncodePubPushWithOffset)->ArgName("pb")->Arg(0)->Arg(1);

void BM_EncodeConnectReply(benchmark::State& state) {
  const protocol::codec& c = codec_of(state);
  protocol::reply r;
  r.id = 1;
  protocol::connect_result cr;
  cr.client = "5f0b8a9c-1d2e-4f3a-9b8c-7d6e5f4a3b2c";
  cr.version = "0.1.0";
  cr.ping = 25;
  cr.pong = true;
  r.result = cr;
  std::string out;
  for (auto _ : state) {
    out.clear();
    c.encode_reply(r, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(name_of(state));
}
BENCHMARK(BM_EncodeConnectReply)->ArgName("pb")->Arg(0)->Arg(1);

void BM_EncodePublishReply(benchmark::State& state) {
  const protocol::codec& c = codec_of(state);
  protocol::reply r;
  r.id = 42;
  r.result = protocol::publish_result{};
  std::string out;
  for (auto _ : state) {
    out.clear();
    c.encode_reply(r, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(name_of(state));
}
BENCHMARK(BM_EncodePublishReply)->ArgName("pb")->Arg(0)->Arg(1);

// One frame as the tool (and the JS SDK) sends it, followed by the decoders' padding.
struct frame {
  std::string bytes;
  size_t size = 0;
  std::string_view view() const { return std::string_view(bytes.data(), size); }
};

frame make_frame(bool json, int kind) {
  frame f;
  std::string& b = f.bytes;
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1NDIiLCJleHAiOjIwMDAwMDAwMDB9."
      "c2lnbmF0dXJlLW9mLXRoaXJ0eS10d28tYnl0ZXM";
  switch (kind) {
    case 0:  // connect + subscribe
      if (json) {
        bench::json_connect(b, 1, token);
        b += '\n';
        bench::json_subscribe(b, 2, "news:sports");
      } else {
        bench::proto_connect(b, 1, token);
        bench::proto_subscribe(b, 2, "news:sports");
      }
      break;
    case 1:  // publish
      if (json)
        bench::json_publish(b, 7, "chat:room-42", payload_of(64));
      else
        bench::proto_publish(b, 7, "chat:room-42", payload_of(64));
      break;
    case 2:  // pong (empty command)
      if (json)
        b = "{}";
      else
        b = std::string(1, '\0');
      break;
  }
  f.size = b.size();
  b.append(protocol::decode_padding, '\0');
  return f;
}

void BM_DecodeCommands(benchmark::State& state) {
  const protocol::codec& c = codec_of(state);
  const int kind = static_cast<int>(state.range(1));
  frame f = make_frame(state.range(0) == 0, kind);
  std::vector<protocol::command> cmds;
  for (auto _ : state) {
    cmds.clear();
    if (c.decode_commands(f.view(), cmds) != protocol::decode_status::ok) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(cmds.data());
  }
  static const char* kinds[] = {"connect+subscribe", "publish", "pong"};
  state.SetLabel(std::string(name_of(state)) + " " + kinds[kind]);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.size));
}
BENCHMARK(BM_DecodeCommands)->ArgNames({"pb", "cmd"})->ArgsProduct({{0, 1}, {0, 1, 2}});

}  // namespace
}  // namespace gyre

BENCHMARK_MAIN();
