// Start-up validation of a loaded config (configuration.md §7; the same checks back
// `checkconfig`). Any error is fatal for the caller; on SIGHUP reload an invalid new
// config is logged and ignored.
//
// What holds:
//  * Every error is "<key path>: <what is wrong>", naming the offending key, e.g.
//    `channel.namespaces[1].history_ttl: must be whole seconds, got 1.5s`.
//  * All errors are returned (not just the first), in a stable order: process and
//    listener settings, engines, client, channel, rpc, proxies, APIs, consumers.
//  * Regex keys (channel_regex, audience_regex, issuer_regex) are compiled by go_regex
//    (core/go_regex.hpp), the one compile the token verifier and channel rules use too.
//  * Pure function of the config: no I/O, no environment.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace gyre::config {

std::vector<std::string> validate(const config& c);

// ^[-a-zA-Z0-9_.]{2,}$ (channel namespaces, rpc namespaces, proxies).
bool is_valid_namespace_name(std::string_view name);

}  // namespace gyre::config
