// grpc_api_setup: the GRPC server API's options from the configuration (grpc_api.*,
// opentelemetry.api): the listener, the key, the error mode, reflection, the receive
// limit and the TLS block's PEM values resolved (text, base64 or file).
#pragma once

#include <string>

#include "config/config.hpp"
#include "grpc_api/grpc_api_server.hpp"

namespace gyre {

// Options for grpc_api_server; `error` names the key when a PEM value cannot be read.
grpc_api_options grpc_api_options_from(const config::config& cfg, tracing::tracer* tracer,
                                       std::string& error);

}  // namespace gyre
