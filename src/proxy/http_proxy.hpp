// http_proxy: proxy::transport over HTTP (POST of the JSON request to the proxy's
// endpoint, docs/proxy.md). One per event loop, with that loop's http_client.
#pragma once

#include <memory>
#include <vector>

#include "proxy/proxy_call.hpp"

namespace boost::asio {
class io_context;
}

namespace gyre::config {
struct http_status_transform;
}

namespace gyre::proxy {

class proxy_metrics;

// The largest response body a backend may send (bytes).
inline constexpr size_t max_response_size = 4 << 20;

struct http_result;

// The outcome of an HTTP proxy call from the HTTP exchange: a transport failure, a status
// other than 200 (mapped by http.status_to_code_transforms when listed), or the decoded body.
outcome outcome_of(call_kind kind, http_result hr,
                   const std::vector<config::http_status_transform>& transforms);

std::unique_ptr<transport> make_http_transport(boost::asio::io_context& io, proxy_metrics* metrics);

}  // namespace gyre::proxy
