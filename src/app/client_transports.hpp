// client_transports: the routes of the client transports other than the bidirectional
// WebSocket (docs/transports.md): http_stream, sse and their /emulation endpoint,
// uni_http_stream, uni_sse, and the uni_websocket path, from the `http_stream`, `sse`,
// `emulation`, `uni_http_stream`, `uni_sse` and `uni_websocket` sections.
#pragma once

#include <vector>

#include "transport/http_server.hpp"

namespace gyre {

namespace config {
struct config;
}
class node;
class event_loop;

// Adds what the configuration enables to the external listener's options.
void add_client_transports(const config::config& cfg, node& hub, std::vector<event_loop*> loops,
                           http_server_options& ext);

}  // namespace gyre
