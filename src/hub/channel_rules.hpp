// channel_rules: what the client-side rules say about a channel name (auth-and-proxy.md §5,
// configuration.md "Channel name rules"): its namespace options, whether it is private or
// user-limited, and whether the name is acceptable for a client subscribe.
//
// Threading: pure functions over an immutable config snapshot; the regex cache is
// internally locked.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error_codes.hpp"

namespace gyre {

namespace config {
struct config;
struct channel_options;
}  // namespace config

struct channel_rules {
  const config::channel_options* ns = nullptr;  // null: unknown namespace
  std::string_view ns_name;                     // "" without namespace
  std::string_view rest;                        // the name after "ns:" (whole name otherwise)
  bool is_private = false;                      // starts with channel.private_prefix
  bool user_limited = false;                    // ns allows it and the name has the boundary

  // True when `user` is listed after the last user boundary of a user-limited channel.
  bool lists_user(const config::config& cfg, std::string_view channel, std::string_view user) const;
};

// Resolves the namespace of `channel` (server-api.md §6).
channel_rules resolve_channel_rules(const config::config& cfg, std::string_view channel);

}  // namespace gyre
namespace gyre {

class go_regex;

// Compiled channel_regex patterns (go_regex: Go's syntax, the compile config validation
// uses), shared by all loops.
class regex_cache {
 public:
  // Go regexp.MatchString semantics; an invalid pattern never matches.
  bool matches(const std::string& pattern, std::string_view text);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const go_regex>> cache_;  // null: invalid
};

// The name rule of every client command on a channel (subscribe, publish, presence,
// presence_stats, history), as Centrifugo applies it: the namespace's channel_regex must
// match the name after "ns:" or, without a regex, the whole name must be ASCII. Returns
// errors::bad_request when it does not hold. The server API applies no such rule.
protocol_error check_channel_chars(const channel_rules& rules, std::string_view channel,
                                   regex_cache& regexes);

// Name checks for a client subscribe: channel.max_length, then check_channel_chars.
// Returns errors::bad_request when the name is not acceptable.
protocol_error check_channel_name(const config::config& cfg, const channel_rules& rules,
                                  std::string_view channel, regex_cache& regexes);

}  // namespace gyre
