// Client protocol messages as plain C++ values (client-protocol.md §3), independent of
// the encoding. The JSON and Protobuf codecs translate between these and wire bytes.
// Field names follow the .proto names; `bytes` fields are std::string holding raw bytes.
// Only what Gyre acts on is modelled; unknown wire fields are skipped by the decoders.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/publication.hpp"

namespace gyre::protocol {

// Tags filter tree (§4.14). Leaf when op is empty.
struct filter_node {
  std::string op;  // "", "and", "or", "not"
  std::string key;
  std::string cmp;  // eq neq in nin ex nex sw ew ct lt lte gt gte
  std::string val;
  std::vector<std::string> vals;
  std::vector<filter_node> nodes;

  friend bool operator==(const filter_node&, const filter_node&) = default;
};

// ---- requests (client -> server) ----

struct subscribe_request {
  std::string channel;
  std::string token;
  bool recover = false;
  std::string epoch;
  uint64_t offset = 0;
  std::string data;
  bool positioned = false;
  bool recoverable = false;
  bool join_leave = false;
  std::string delta;  // "" or "fossil"
  std::optional<filter_node> tf;
  int64_t flag = 0;  // bit0 channel compaction allowed, bit1 reject unrecoverable
  int32_t type = 0;  // 0 stream, 1 map, 2 map clients, 3 map users, 4 shared poll
  int32_t phase = 0;
  std::string cursor;
  int32_t limit = 0;
  bool asc = false;

  friend bool operator==(const subscribe_request&, const subscribe_request&) = default;
};

inline constexpr int64_t subscribe_flag_compaction = 1;
inline constexpr int64_t subscribe_flag_reject_unrecoverable = 2;

struct connect_request {
  std::string token;
  std::string data;
  std::vector<std::pair<std::string, subscribe_request>> subs;  // server-side sub recovery hints
  std::string name;
  std::string version;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t flag = 0;
  std::string dict;
  std::string profile;

  friend bool operator==(const connect_request&, const connect_request&) = default;
};

struct unsubscribe_request {
  std::string channel;
  friend bool operator==(const unsubscribe_request&, const unsubscribe_request&) = default;
};

struct publish_request {
  std::string channel;
  std::string data;
  int32_t type = 0;  // 0 regular, 1 map
  std::string key;
  bool removed = false;
  friend bool operator==(const publish_request&, const publish_request&) = default;
};

struct presence_request {
  std::string channel;
  friend bool operator==(const presence_request&, const presence_request&) = default;
};

struct presence_stats_request {
  std::string channel;
  friend bool operator==(const presence_stats_request&, const presence_stats_request&) = default;
};

struct history_request {
  std::string channel;
  int32_t limit = 0;
  std::optional<stream_position> since;
  bool reverse = false;
  friend bool operator==(const history_request&, const history_request&) = default;
};

struct send_request {
  std::string data;
  friend bool operator==(const send_request&, const send_request&) = default;
};

struct rpc_request {
  std::string data;
  std::string method;
  friend bool operator==(const rpc_request&, const rpc_request&) = default;
};

struct refresh_request {
  std::string token;
  friend bool operator==(const refresh_request&, const refresh_request&) = default;
};

struct keyed_item {
  std::string key;
  uint64_t version = 0;
  friend bool operator==(const keyed_item&, const keyed_item&) = default;
};

struct track_batch {
  std::string signature;
  std::vector<keyed_item> items;
  friend bool operator==(const track_batch&, const track_batch&) = default;
};

struct sub_refresh_request {
  std::string channel;
  std::string token;
  int32_t type = 0;  // 0 refresh, 1 track, 2 untrack (shared poll)
  std::vector<track_batch> track;
  std::vector<std::string> untrack;
  friend bool operator==(const sub_refresh_request&, const sub_refresh_request&) = default;
};

// Which request a command carries. `none` with id 0 is a pong; `ping` (field 11) is
// not supported by the server and leads to a 3501 disconnect.
enum class command_kind : uint8_t {
  none,
  connect,
  subscribe,
  unsubscribe,
  publish,
  presence,
  presence_stats,
  history,
  ping,
  send,
  rpc,
  refresh,
  sub_refresh,
};

struct command {
  uint32_t id = 0;
  command_kind kind = command_kind::none;
  // Holds the request matching `kind` (monostate for none and ping).
  std::variant<std::monostate, connect_request, subscribe_request, unsubscribe_request,
               publish_request, presence_request, presence_stats_request, history_request,
               send_request, rpc_request, refresh_request, sub_refresh_request>
      request;

  template <typename T>
  T& as() {
    return std::get<T>(request);
  }
  template <typename T>
  const T& as() const {
    return std::get<T>(request);
  }

  friend bool operator==(const command&, const command&) = default;
};

// ---- results (server -> client, inside a Reply with the command's id) ----

struct error_reply {
  uint32_t code = 0;
  std::string message;
  bool temporary = false;
  friend bool operator==(const error_reply&, const error_reply&) = default;
};

// Publications inside results: `publication::delta` is written on the wire only inside a
// subscribe result whose `delta` is true, where it means "data is a fossil patch"
// (and JSON writes every data of such a result as a JSON string, §4.13).
struct subscribe_result {
  bool expires = false;
  uint32_t ttl = 0;
  bool recoverable = false;
  std::string epoch;
  std::vector<publication> publications;
  bool epoch_on_first = false;  // write `epoch` on the publication with offset 1
  bool recovered = false;
  uint64_t offset = 0;
  bool positioned = false;
  std::string data;
  bool was_recovering = false;
  bool delta = false;
  int64_t id = 0;
  int32_t type = 0;
  int32_t phase = 0;
  std::string cursor;
  std::vector<publication> state;
  uint32_t publish_debounce = 0;
  friend bool operator==(const subscribe_result&, const subscribe_result&) = default;
};

struct connect_result {
  std::string client;
  std::string version;
  bool expires = false;
  uint32_t ttl = 0;
  std::string data;
  std::vector<std::pair<std::string, subscribe_result>> subs;
  uint32_t ping = 0;
  bool pong = false;
  std::string session;
  std::string node;
  int64_t time = 0;
  friend bool operator==(const connect_result&, const connect_result&) = default;
};

struct unsubscribe_result {
  friend bool operator==(const unsubscribe_result&, const unsubscribe_result&) = default;
};
struct publish_result {
  friend bool operator==(const publish_result&, const publish_result&) = default;
};

struct presence_result {
  std::vector<std::pair<std::string, client_info>> presence;  // client id -> info
  friend bool operator==(const presence_result&, const presence_result&) = default;
};

struct presence_stats_result {
  uint32_t num_clients = 0;
  uint32_t num_users = 0;
  friend bool operator==(const presence_stats_result&, const presence_stats_result&) = default;
};

struct history_result {
  std::vector<publication> publications;
  std::string epoch;
  uint64_t offset = 0;
  bool epoch_on_first = false;  // write `epoch` on the publication with offset 1
  friend bool operator==(const history_result&, const history_result&) = default;
};

struct rpc_result {
  std::string data;
  friend bool operator==(const rpc_result&, const rpc_result&) = default;
};

struct refresh_result {
  std::string client;
  std::string version;
  bool expires = false;
  uint32_t ttl = 0;
  friend bool operator==(const refresh_result&, const refresh_result&) = default;
};

struct sub_refresh_result {
  bool expires = false;
  uint32_t ttl = 0;
  friend bool operator==(const sub_refresh_result&, const sub_refresh_result&) = default;
};

struct reply {
  uint32_t id = 0;
  std::optional<error_reply> error;  // set => no result
  std::variant<std::monostate, connect_result, subscribe_result, unsubscribe_result, publish_result,
               presence_result, presence_stats_result, history_result, rpc_result, refresh_result,
               sub_refresh_result>
      result;
  friend bool operator==(const reply&, const reply&) = default;
};

// ---- pushes (server -> client, asynchronous, no id) ----

// Subscribe push (server-side subscription added at runtime). Field numbers differ from
// subscribe_result on the wire.
struct subscribe_push {
  bool recoverable = false;
  std::string epoch;
  uint64_t offset = 0;
  bool positioned = false;
  std::string data;
  friend bool operator==(const subscribe_push&, const subscribe_push&) = default;
};

}  // namespace gyre::protocol
