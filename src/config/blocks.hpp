// Reusable configuration blocks (configuration.md §3): TLS, Redis connection, proxy
// definitions, plus the small value types shared by all config structs.
//
// These are plain data: every member has the documented default as its initializer and
// the key it mirrors is the member name without the trailing underscore. Nothing here
// parses or validates; see loader.hpp and validate.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/duration.hpp"

namespace gyre::config {

using namespace std::chrono_literals;

// MapStringString keys (`static_headers`, `static_metadata`, `channel_replacements`).
// File form {"K":"V"} has keys lower-cased (as viper does); list form
// [{"key":"K","value":"V"}] keeps case. `${CENTRIFUGO_VAR_*}` placeholders in values are
// already substituted by the loader.
using string_map = std::map<std::string, std::string>;

// A sub-tree Gyre accepts but does not interpret (e.g. a consumer's type-specific block),
// kept as compact JSON text. Empty text = absent.
struct raw_json {
  std::string text_;
  bool operator==(const raw_json&) const = default;
};

// <TLS> block. PEM values may be PEM text, base64 of PEM, or a file path (resolved by
// whoever builds the TLS context).
struct tls_config {
  bool enabled_ = false;
  std::string cert_pem_;
  std::string key_pem_;
  std::string server_ca_pem_;  // CA to verify the server when we are the client
  std::string client_ca_pem_;  // server side: require and verify client certs (mTLS)
  bool insecure_skip_verify_ = false;
  std::string server_name_;
  bool operator==(const tls_config&) const = default;
};

struct redis_replica_client_config {
  bool enabled_ = false;
  bool operator==(const redis_replica_client_config&) const = default;
};

// <Redis> block.
struct redis_config {
  std::vector<std::string> address_ = {"redis://127.0.0.1:6379"};  // one entry per shard
  std::string prefix_ = "centrifugo";
  duration connect_timeout_ = 1s;
  duration io_timeout_ = 4s;
  int64_t db_ = 0;
  std::string user_;
  std::string password_;
  std::string client_name_;
  bool force_resp2_ = false;
  std::vector<std::string> cluster_address_;   // entry = comma-separated seeds of one cluster
  std::vector<std::string> sentinel_address_;  // entry = comma-separated sentinels of one shard
  std::string sentinel_user_;
  std::string sentinel_password_;
  std::string sentinel_master_name_;
  std::string sentinel_client_name_;
  tls_config sentinel_tls_;
  tls_config tls_;
  redis_replica_client_config replica_client_;
  bool operator==(const redis_config&) const = default;
};

// One entry of `http.status_to_code_transforms`.
struct proxy_error_config {
  uint32_t code_ = 0;
  std::string message_;
  bool temporary_ = false;
  bool operator==(const proxy_error_config&) const = default;
};
struct proxy_disconnect_config {
  uint32_t code_ = 0;
  std::string reason_;
  bool operator==(const proxy_disconnect_config&) const = default;
};
struct http_status_transform {
  int64_t status_code_ = 0;
  proxy_error_config to_error_;  // exactly one of to_error / to_disconnect is set
  proxy_disconnect_config to_disconnect_;
  bool operator==(const http_status_transform&) const = default;
};

struct proxy_http_config {
  tls_config tls_;
  string_map static_headers_;
  std::vector<http_status_transform> status_to_code_transforms_;
  bool operator==(const proxy_http_config&) const = default;
};

struct proxy_grpc_config {
  tls_config tls_;
  std::string credentials_key_;
  std::string credentials_value_;
  bool compression_ = false;
  string_map static_metadata_;
  bool operator==(const proxy_grpc_config&) const = default;
};

// <Proxy> block (auth-and-proxy.md §6.1). `http://`/`https://` endpoint = HTTP proxy,
// anything else = GRPC.
struct proxy_config {
  std::string endpoint_;
  duration timeout_ = 1s;
  std::vector<std::string> http_headers_;
  std::vector<std::string> grpc_metadata_;
  std::vector<std::string> emulated_headers_;
  bool binary_encoding_ = false;
  bool include_connection_meta_ = false;
  proxy_http_config http_;
  proxy_grpc_config grpc_;
  bool operator==(const proxy_config&) const = default;
};

// `client.proxy.connect` / `client.proxy.refresh`: `enabled` next to the proxy keys.
struct enableable_proxy_config : proxy_config {
  bool enabled_ = false;
  bool operator==(const enableable_proxy_config&) const = default;
};

// `proxies[]` item: `name` next to the proxy keys. The name `default` is reserved.
struct named_proxy_config : proxy_config {
  std::string name_;
  bool operator==(const named_proxy_config&) const = default;
};

}  // namespace gyre::config
