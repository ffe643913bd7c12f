// http_proxy: proxy::transport over HTTP (POST of the JSON request to the proxy's
// endpoint, docs/proxy.md). One per event loop, with that loop's http_client.
#pragma once

#include <memory>

#include "proxy/proxy_call.hpp"

namespace boost::asio {
class io_context;
}

namespace gyre::proxy {

class proxy_metrics;

// The largest response body a backend may send (bytes).
inline constexpr size_t max_response_size = 4 << 20;

std::unique_ptr<transport> make_http_transport(boost::asio::io_context& io, proxy_metrics* metrics);

}  // namespace gyre::proxy
