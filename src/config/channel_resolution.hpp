// Channel name → namespace options (server-api.md §6, configuration.md §5 "Channel name
// rules"), and the defaults that fall back to channel-level settings.
//
// What holds:
//  * The private prefix is stripped for lookup only; the namespace is the text before
//    the FIRST namespace boundary; an empty namespace part (or no boundary) selects
//    `channel.without_namespace`.
//  * An unknown namespace is "not found" (nullopt / nullptr): callers answer error 102.
//  * No name checks here (length, channel_regex, ASCII, user limits are client-side
//    rules applied by the hub).
//  * Returned pointers and views point into the config passed in and live as long as it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace gyre::config {

// The namespace named `name` (exact, case-sensitive), or nullptr.
const channel_namespace* find_namespace(const config& c, std::string_view name);

// Options for a namespace name: "" → without_namespace; unknown → nullptr.
const channel_options* find_channel_options(const config& c, std::string_view namespace_name);

// The namespace part of a channel name ("" when there is none). `$chat:room` → "chat".
std::string_view channel_namespace_name(const channel_config& ch, std::string_view channel);

struct channel_resolution {
  std::string_view namespace_name_;  // "" = without_namespace
  const channel_options* options_ = nullptr;
};

// Full lookup; nullopt when the channel's namespace is not configured (error 102).
std::optional<channel_resolution> resolve_channel(const config& c, std::string_view channel);

// Whether the channel starts with the private prefix (subscription token required).
bool is_private_channel(const channel_config& ch, std::string_view channel);

// Namespace publication_data_format, falling back to channel.publication_data_format.
const std::string& effective_publication_data_format(const channel_config& ch,
                                                     const channel_options& opts);

// Namespace history_meta_ttl, falling back to channel.history_meta_ttl.
duration effective_history_meta_ttl(const channel_config& ch, const channel_options& opts);

// The personal channel of `user`: "{ns}{namespace_boundary}{user_boundary}{user}", or
// "{user_boundary}{user}" when client.subscribe_to_user_personal_channel has no namespace.
std::string personal_channel(const config& c, std::string_view user);

// RPC method → RPC options: `ns:method` uses rpc.namespaces[ns] (nullptr if unknown),
// a method without boundary (or with an empty namespace part) uses rpc.without_namespace.
const rpc_options* resolve_rpc_method(const rpc_config& rpc, std::string_view method);

}  // namespace gyre::config
