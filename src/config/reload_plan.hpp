// reload_plan: what a configuration reload (SIGHUP, the admin `reload` action) would
// change, and whether it may (docs/design/config-reload.md).
//
// What holds:
//  * `changed` lists every key path whose value differs between the running and the new
//    configuration, in schema order: leaves as `client.channel_limit`; items of the named
//    arrays (channel.namespaces, rpc.namespaces, proxies, consumers) by name, as
//    `channel.namespaces[news]` (added, removed or changed); other arrays as a whole.
//  * `refused` is the subset that cannot change without a restart (listeners, engines,
//    event loops, ...): a reload with any refused key applies nothing.
//  * Which keys reload is one allow-list (reloadable_key); a key not on it is refused, so
//    a key added to the schema later is safe until someone makes it reloadable.
//  * Pure function of the two configs; never logs, never reads secrets' values into its
//    output (only key paths).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace gyre::config {

struct reload_plan {
  std::vector<std::string> changed;
  std::vector<std::string> refused;  // "key (why)" for each refused key
  bool allowed() const { return refused.empty(); }
};

reload_plan plan_reload(const config& current, const config& next);

// Whether a change of `key_path` (as reported in reload_plan::changed) takes effect
// without a restart.
bool reloadable_key(std::string_view key_path);

}  // namespace gyre::config
