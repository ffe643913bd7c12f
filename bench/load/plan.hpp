// plan: what every simulated client of a gyre-bench run does, derived from the command
// line once and shared (read-only) by the worker threads, and the rules that map a
// connection index to its source address, user and channels. The publisher uses the same
// rules to know how many deliveries each publication should cause.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gyre::bench {

enum class wire : uint8_t {
  gyre_json,      // Centrifugo protocol, JSON (text frames)
  gyre_protobuf,  // Centrifugo protocol, Protobuf (subprotocol centrifuge-protobuf)
  raw,            // any WebSocket server (Nchan): every data message is one message
};

// Which channels connection i subscribes to.
enum class channel_layout : uint8_t {
  one,              // everyone: <name>
  per_conn,         // <name><i>
  set,              // <name><i % k>
  personal_shared,  // u<i> and <name><i % k> (two subscriptions)
};

struct client_plan {
  wire proto = wire::gyre_json;
  in_addr dst{};
  uint16_t port = 8000;
  std::string host_header;       // "127.0.0.1:8000"
  std::string ws_path;           // may contain {channel} (raw mode: the channel is in the URL)
  std::vector<in_addr> sources;  // bind-before-connect source addresses (127.x.y.z)
  channel_layout layout = channel_layout::one;
  std::string channel = "bench";
  uint32_t k = 1;
  bool subscribe = true;       // false: connect only
  std::string token_secret;    // HS256 secret: one token per user u<i>
  int64_t token_exp = 0;       // unix seconds, 0 = no exp claim
  uint32_t conns = 0;          // connections in the whole run (every process)
  double connect_rate = 0;     // connections/s over the whole run; 0 = unlimited
  uint32_t max_pending = 256;  // connects in progress per thread
  double connect_timeout_s = 15;
  uint32_t rounds = 1;         // connect storm: connect all, close all, again
  uint32_t sample_every = 16;  // read the timestamp of one push in this many
  uint32_t total_threads = 1;  // worker threads over all processes
  double churn_per_s = 0;      // soak: share of the ready connections closed and reopened per s
  bool deflate = false;        // offer permessage-deflate (client_no_context_takeover)
};

inline std::vector<std::string> channels_for(const client_plan& p, uint32_t i) {
  switch (p.layout) {
    case channel_layout::one:
      return {p.channel};
    case channel_layout::per_conn:
      return {p.channel + std::to_string(i)};
    case channel_layout::set:
      return {p.channel + std::to_string(i % p.k)};
    case channel_layout::personal_shared:
      return {"u" + std::to_string(i), p.channel + std::to_string(i % p.k)};
  }
  return {};
}

inline std::string user_for(uint32_t i) {
  return "u" + std::to_string(i);
}

// Subscribers of `<name><j>` in the set / personal_shared layouts.
inline uint64_t members_of_set(const client_plan& p, uint32_t j) {
  if (p.k == 0 || j >= p.k) return 0;
  return p.conns / p.k + (j < p.conns % p.k ? 1 : 0);
}

}  // namespace gyre::bench
