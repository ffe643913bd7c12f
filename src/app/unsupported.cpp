// unsupported settings check; see unsupported.hpp.
#include "app/unsupported.hpp"

#include "config/config.hpp"

namespace gyre {

std::vector<std::string> unsupported_settings(const config::config& c) {
  std::vector<std::string> out;
  auto flag = [&](bool on, const std::string& key, const std::string& what) {
    if (on)
      out.push_back(key + ": " + what + " is not supported by Gyre yet; the setting has no effect");
  };
  flag(c.http_server_.tls_.enabled_, "http_server.tls.enabled", "TLS termination");
  flag(c.http_server_.internal_tls_.enabled_, "http_server.internal_tls.enabled",
       "TLS termination");
  flag(c.http_server_.tls_autocert_.enabled_, "http_server.tls_autocert.enabled",
       "automatic TLS certificates");
  flag(c.http_server_.http3_.enabled_, "http_server.http3.enabled", "HTTP/3");
  flag(c.http_server_.h2c_external_, "http_server.h2c_external", "cleartext HTTP/2");
  flag(c.sse_.enabled_, "sse.enabled", "the SSE transport");
  flag(c.http_stream_.enabled_, "http_stream.enabled", "the HTTP-streaming transport");
  flag(c.webtransport_.enabled_, "webtransport.enabled", "WebTransport");
  flag(c.uni_websocket_.enabled_, "uni_websocket.enabled",
       "the unidirectional WebSocket transport");
  flag(c.uni_sse_.enabled_, "uni_sse.enabled", "the unidirectional SSE transport");
  flag(c.uni_http_stream_.enabled_, "uni_http_stream.enabled",
       "the unidirectional HTTP-streaming transport");
  flag(c.uni_grpc_.enabled_, "uni_grpc.enabled", "the unidirectional GRPC transport");
  flag(c.init_.enabled_, "init.enabled", "the init endpoint");
  flag(!c.client_.token_.jwks_public_endpoint_.empty(), "client.token.jwks_public_endpoint",
       "JWKS");
  flag(!c.client_.subscription_token_.jwks_public_endpoint_.empty(),
       "client.subscription_token.jwks_public_endpoint", "JWKS");
  flag(c.client_.connection_limit_ > 0, "client.connection_limit", "a node-wide connection limit");
  flag(c.client_.connection_rate_limit_ > 0, "client.connection_rate_limit",
       "a connection rate limit");
  flag(c.client_.concurrency_ > 1, "client.concurrency", "concurrent command processing");
  flag(c.client_.channel_position_max_time_lag_.count() > 0, "client.channel_position_max_time_lag",
       "position lag control");
  flag(c.client_.proxy_.connect_.enabled_, "client.proxy.connect.enabled", "the connect proxy");
  flag(c.client_.proxy_.refresh_.enabled_, "client.proxy.refresh.enabled", "the refresh proxy");
  auto check_ns = [&](const config::channel_options& ns, const std::string& prefix) {
    flag(ns.subscribe_proxy_enabled_, prefix + ".subscribe_proxy_enabled", "the subscribe proxy");
    flag(ns.publish_proxy_enabled_, prefix + ".publish_proxy_enabled", "the publish proxy");
    flag(ns.sub_refresh_proxy_enabled_, prefix + ".sub_refresh_proxy_enabled",
         "the sub_refresh proxy");
    flag(ns.subscribe_stream_proxy_enabled_, prefix + ".subscribe_stream_proxy_enabled",
         "the subscribe stream proxy");
    const auto& t = ns.subscription_type_;
    flag(!t.empty() && t != "stream", prefix + ".subscription_type",
         "subscription type \"" + t + "\"");
  };
  check_ns(c.channel_.without_namespace_, "channel.without_namespace");
  for (size_t i = 0; i < c.channel_.namespaces_.size(); ++i)
    check_ns(c.channel_.namespaces_[i], "channel.namespaces[" + std::to_string(i) + "]");
  flag(c.rpc_.without_namespace_.proxy_enabled_, "rpc.without_namespace.proxy_enabled",
       "the RPC proxy");
  for (size_t i = 0; i < c.rpc_.namespaces_.size(); ++i)
    flag(c.rpc_.namespaces_[i].proxy_enabled_,
         "rpc.namespaces[" + std::to_string(i) + "].proxy_enabled", "the RPC proxy");
  flag(c.controller_.enabled_, "controller.enabled", "the PostgreSQL controller");
  for (size_t i = 0; i < c.consumers_.size(); ++i)
    flag(c.consumers_[i].enabled_, "consumers[" + std::to_string(i) + "].enabled",
         "async consumers");
  flag(c.grpc_api_.enabled_, "grpc_api.enabled", "the GRPC server API");
  flag(c.admin_.enabled_ && !c.admin_.web_proxy_address_.empty(), "admin.web_proxy_address",
       "proxying the admin UI");
  flag(c.debug_.enabled_, "debug.enabled", "pprof debug endpoints");
  flag(c.opentelemetry_.enabled_ && c.opentelemetry_.google_cloud_adc_auth_,
       "opentelemetry.google_cloud_adc_auth", "Google Cloud credentials for the OTLP exporter");
  flag(c.prometheus_.native_histograms_, "prometheus.native_histograms", "native histograms");
  return out;
}

}  // namespace gyre
