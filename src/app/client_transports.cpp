// client_transports: routes of the streaming and unidirectional transports; see
// client_transports.hpp.
#include "app/client_transports.hpp"

#include "config/config.hpp"
#include "hub/node.hpp"
#include "transport/emulation_handler.hpp"
#include "transport/stream_endpoint.hpp"

namespace gyre {

namespace {

std::string route_path(std::string prefix) {
  if (prefix.empty() || prefix[0] != '/') prefix.insert(prefix.begin(), '/');
  if (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  return prefix;
}

}  // namespace

void add_client_transports(const config::config& cfg, node& hub, std::vector<event_loop*> loops,
                           http_server_options& ext) {
  auto origins = [h = &hub] { return h->cfg()->client_.allowed_origins_; };
  auto stream = [&](stream_kind kind, const std::string& prefix, int64_t body_limit) {
    stream_endpoint_options so;
    so.kind = kind;
    so.max_request_body_size = static_cast<uint64_t>(body_limit);
    so.allowed_origins = origins;
    so.user_id_http_header = cfg.client_.user_id_http_header_;
    so.loops = loops;
    ext.routes.push_back({route_path(prefix), false, std::make_shared<stream_endpoint>(so)});
  };
  if (cfg.http_stream_.enabled_)
    stream(stream_kind::http_stream, cfg.http_stream_.handler_prefix_,
           cfg.http_stream_.max_request_body_size_);
  if (cfg.sse_.enabled_)
    stream(stream_kind::sse, cfg.sse_.handler_prefix_, cfg.sse_.max_request_body_size_);
  if (cfg.http_stream_.enabled_ || cfg.sse_.enabled_) {
    emulation_handler_options eo;
    eo.max_request_body_size = static_cast<uint64_t>(cfg.emulation_.max_request_body_size_);
    eo.allowed_origins = origins;
    eo.node_uid = hub.uid();
    eo.loops = loops;
    ext.routes.push_back({route_path(cfg.emulation_.handler_prefix_), false,
                          std::make_shared<emulation_handler>(eo)});
  }
  if (cfg.uni_http_stream_.enabled_)
    stream(stream_kind::uni_http_stream, cfg.uni_http_stream_.handler_prefix_,
           cfg.uni_http_stream_.max_request_body_size_);
  if (cfg.uni_sse_.enabled_)
    stream(stream_kind::uni_sse, cfg.uni_sse_.handler_prefix_, cfg.uni_sse_.max_request_body_size_);
  if (cfg.uni_websocket_.enabled_) {
    ext.uni_websocket_path = route_path(cfg.uni_websocket_.handler_prefix_);
    ext.uni_websocket_message_size_limit =
        static_cast<uint32_t>(cfg.uni_websocket_.message_size_limit_);
    ext.uni_websocket_join_push_messages = cfg.uni_websocket_.join_push_messages_;
    ext.uni_websocket_disconnect_push = !cfg.uni_websocket_.disable_disconnect_push_;
  }
}

}  // namespace gyre
