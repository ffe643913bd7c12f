// Value types of the messaging model shared by brokers, the hub, codecs and the API:
// client info, publications, stream positions, history queries and results.
// Binary fields (`data`, `conn_info`, `chan_info`) hold raw bytes: for JSON clients they
// are embedded JSON values, copied verbatim on the wire (client-protocol.md §2.1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gyre {

using tags_map = std::vector<std::pair<std::string, std::string>>;

struct client_info {
  std::string user;
  std::string client;
  std::string conn_info;  // raw bytes, empty = absent
  std::string chan_info;  // raw bytes, empty = absent

  friend bool operator==(const client_info&, const client_info&) = default;
};

struct stream_position {
  uint64_t offset = 0;
  std::string epoch;

  friend bool operator==(const stream_position&, const stream_position&) = default;
};

struct publication {
  uint64_t offset = 0;              // 0 = not part of a stream
  std::string data;                 // payload bytes
  std::optional<client_info> info;  // publisher, for client publishes
  tags_map tags;
  bool delta = false;  // publisher allowed delta compression for this publication
  int64_t time = 0;    // unix ms, 0 = not set

  friend bool operator==(const publication&, const publication&) = default;
};

// History read options (engines.md §2; server-api.md §7.9).
struct history_query {
  std::optional<stream_position> since;
  int32_t limit = 0;  // 0 = position only, -1 = no limit, N = at most N
  bool reverse = false;
  // Retention applied when the read creates stream metadata (memory/Redis semantics).
  int64_t meta_ttl_seconds = 0;
};

struct history_page {
  stream_position top;
  std::vector<publication> publications;
  // The publication with offset 1, when in the page, carries `top.epoch` on the client
  // wire (Publication.epoch): Centrifugo's memory engine keeps the epoch on the stream's
  // first publication, its Redis engine does not.
  bool epoch_on_first = false;
};

}  // namespace gyre
