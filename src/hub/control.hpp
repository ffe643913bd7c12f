// control: the messages nodes exchange through the control bus, and their encoding.
//
// Messages (compact JSON; Gyre nodes only talk to Gyre nodes on this channel):
//   info          heartbeat with a node's identity and counters (every 3 s); a node that has
//                 not been heard from for 10 s is dropped from `info` results
//   disconnect    API disconnect: every node applies it to its matching connections
//   unsubscribe   API unsubscribe
//   subscribe     API subscribe (server-side subscription of live connections)
//   refresh       API refresh
//   survey        a request every node answers to the asking node (channels API)
//   survey_reply  the answer
// Binary fields (connection/channel info, subscribe data) travel base64-encoded.
//
// Threading: pure encode/decode functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error_codes.hpp"
#include "hub/client.hpp"

namespace gyre {

struct connection_filter;

struct node_info_entry {
  std::string uid;
  std::string name;
  std::string version;
  uint32_t num_clients = 0;
  uint32_t num_users = 0;
  uint32_t num_subs = 0;
  uint32_t num_channels = 0;
  int64_t uptime_seconds = 0;
};

// Which connections an API action applies to (server-api.md §7.3-7.6).
struct connection_filter {
  std::string user;     // "" = anonymous connections
  std::string client;   // "" = any client of the user
  std::string session;  // "" = any session (sessions are clients on bidirectional transports)
  std::vector<std::string> whitelist;  // client ids left alone (disconnect)
};

struct control_message {
  enum class kind : uint8_t {
    info,
    disconnect,
    unsubscribe,
    subscribe,
    refresh,
    survey,
    survey_reply
  };
  kind type = kind::info;

  node_info_entry info;                      // info
  connection_filter filter;                  // disconnect, unsubscribe, subscribe, refresh
  uint32_t code = 0;                         // disconnect
  std::string reason;                        // disconnect
  std::string channel;                       // unsubscribe
  server_subscribe_options subscribe;        // subscribe
  bool expired = false;                      // refresh
  int64_t expire_at = 0;                     // refresh
  std::optional<std::string> conn_info;      // refresh
  uint64_t survey_id = 0;                    // survey, survey_reply
  std::string from;                          // survey, survey_reply: the node that sent it
  std::string op;                            // survey: "channels"
  std::map<std::string, uint32_t> channels;  // survey_reply
};

std::string encode_control(const control_message& m);
// std::nullopt for anything that is not a well-formed control message.
std::optional<control_message> decode_control(std::string_view payload);

}  // namespace gyre
