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
  flag(c.webtransport_.enabled_, "webtransport.enabled", "WebTransport");
  flag(c.uni_websocket_.compression_, "uni_websocket.compression", "permessage-deflate");
  flag(c.uni_websocket_.disable_closing_handshake_, "uni_websocket.disable_closing_handshake",
       "skipping the closing handshake");
  flag(c.uni_sse_.connect_code_to_http_response_.enabled_,
       "uni_sse.connect_code_to_http_response.enabled", "connect errors as HTTP responses");
  flag(c.uni_http_stream_.connect_code_to_http_response_.enabled_,
       "uni_http_stream.connect_code_to_http_response.enabled", "connect errors as HTTP responses");
  flag(c.uni_grpc_.enabled_, "uni_grpc.enabled", "the unidirectional GRPC transport");
  flag(c.init_.enabled_, "init.enabled", "the init endpoint");
  flag(c.client_.connection_limit_ > 0, "client.connection_limit", "a node-wide connection limit");
  flag(c.client_.connection_rate_limit_ > 0, "client.connection_rate_limit",
       "a connection rate limit");
  flag(c.client_.concurrency_ > 1, "client.concurrency", "concurrent command processing");
  flag(c.client_.channel_position_max_time_lag_.count() > 0, "client.channel_position_max_time_lag",
       "position lag control");
  auto check_ns = [&](const config::channel_options& ns, const std::string& prefix) {
    flag(ns.subscribe_stream_proxy_enabled_, prefix + ".subscribe_stream_proxy_enabled",
         "the subscribe stream proxy");
    const auto& t = ns.subscription_type_;
    flag(!t.empty() && t != "stream", prefix + ".subscription_type",
         "subscription type \"" + t + "\"");
  };
  check_ns(c.channel_.without_namespace_, "channel.without_namespace");
  for (size_t i = 0; i < c.channel_.namespaces_.size(); ++i)
    check_ns(c.channel_.namespaces_[i], "channel.namespaces[" + std::to_string(i) + "]");
  flag(c.controller_.enabled_, "controller.enabled", "the PostgreSQL controller");
  flag(c.debug_.enabled_, "debug.enabled", "pprof debug endpoints");
  flag(c.opentelemetry_.enabled_ && c.opentelemetry_.google_cloud_adc_auth_,
       "opentelemetry.google_cloud_adc_auth", "Google Cloud credentials for the OTLP exporter");
  // Native histograms travel only in Prometheus' protobuf exposition; Gyre serves the text
  // format, where its classic buckets are what Prometheus and Grafana read.
  flag(c.prometheus_.native_histograms_, "prometheus.native_histograms",
       "native histograms (they need the protobuf exposition; classic buckets are exported)");
  return out;
}

}  // namespace gyre
