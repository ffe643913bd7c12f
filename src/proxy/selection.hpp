// selection: which configured proxy serves a call (docs/proxy.md): the name `default`
// means the channel.proxy.<kind> / rpc.proxy block, any other name an entry of proxies[].
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/proxy_call.hpp"

namespace gyre::config {
struct config;
struct proxy_config;
}  // namespace gyre::config

namespace gyre::proxy {

// The proxy named `name` for a channel call kind (subscribe, publish, sub_refresh) or rpc;
// null when there is none (validation rejects such configurations).
const config::proxy_config* find_proxy(const config::config& cfg, call_kind k,
                                       std::string_view name);

// Header names forwarded by any configured proxy (http_headers), lower-cased, unique.
std::vector<std::string> forwarded_header_names(const config::config& cfg);

// Whether any configured proxy forwards emulated headers (a connection then keeps the
// connect command's `headers`).
bool uses_emulated_headers(const config::config& cfg);

// Warnings for proxies this build cannot call (https:// endpoints).
std::vector<std::string> unsupported_proxies(const config::config& cfg);

}  // namespace gyre::proxy
