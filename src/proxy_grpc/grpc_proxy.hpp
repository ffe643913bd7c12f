// grpc_proxy: proxy::transport over GRPC (service centrifugal.centrifugo.proxy.CentrifugoProxy
// of src/proxy_grpc/proxy.proto, docs/proxy.md) for proxies whose endpoint is
// `grpc://host:port` or `host:port`. One per event loop; calls use gRPC's async callback
// client and their results are posted back to the loop. Names no gRPC type.
#pragma once

#include <memory>

#include "proxy/proxy_call.hpp"

namespace boost::asio {
class io_context;
}

namespace gyre::proxy {

class proxy_metrics;

std::unique_ptr<transport> make_grpc_transport(boost::asio::io_context& io, proxy_metrics* metrics);

}  // namespace gyre::proxy
