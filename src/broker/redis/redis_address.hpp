// redis_address: the Redis topology a <Redis> config block describes (engines.md §4.1,
// configuration.md §3), and the pure functions that place channels on it:
// - parse_topology(): `cluster_address` > `sentinel_address` > `address`; each entry is
//   one shard. Address forms: host:port, tcp://, unix://, redis://, rediss://,
//   redis+sentinel://, rediss+sentinel://, redis+cluster:// with the query options of §4.1.
//   Errors name the config key and the entry ("engine.redis.address[1]: ...").
// - shard_index(): jump consistent hash (Lamping-Veach) of FNV-1a-64, exactly as
//   Centrifugo computes it, so Go and C++ nodes put a channel on the same shard.
// - cluster_slot(): CRC16/XMODEM of the key's hash tag, modulo 16384.
// Nothing here does I/O; the functions are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/blocks.hpp"

namespace gyre::redis {

struct endpoint {
  std::string host;  // empty for a unix socket
  uint16_t port = 6379;
  std::string path;  // unix socket path
  bool is_unix() const { return !path.empty(); }
  std::string to_string() const;
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

enum class shard_kind { standalone, sentinel, cluster };

struct tls_options {
  bool enabled = false;
  std::string cert_pem, key_pem, server_ca_pem;  // resolved PEM text
  bool insecure_skip_verify = false;
  std::string server_name;
};

struct shard_spec {
  shard_kind kind = shard_kind::standalone;
  std::string display;          // the config entry, secrets hidden (redact_url_passwords)
  std::vector<endpoint> seeds;  // standalone: 1; sentinel: sentinels; cluster: seed nodes
  std::string user, password;
  int64_t db = 0;
  std::string client_name;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds io_timeout{4000};
  tls_options tls;
  std::string sentinel_master_name;
  std::string sentinel_user, sentinel_password, sentinel_client_name;
  tls_options sentinel_tls;
};

struct topology {
  std::string prefix = "centrifugo";
  std::vector<shard_spec> shards;
  bool cluster() const { return !shards.empty() && shards[0].kind == shard_kind::cluster; }
};

// Builds the topology of `cfg`. `key` is the block's config path ("engine.redis") used in
// error messages. Returns false with `error` set on any bad entry.
bool parse_topology(const config::redis_config& cfg, std::string_view key, topology& out,
                    std::string& error);

// Parses one address entry into `spec` (whose defaults come from the block). `kind_hint`
// says which list the entry came from; URL schemes may override it.
bool parse_address(std::string_view entry, shard_kind kind_hint, shard_spec& spec,
                   std::string& error);

// "host:port" or "[v6]:port" (port defaults to 6379).
bool parse_endpoint(std::string_view text, endpoint& ep, std::string& error);

uint64_t fnv1a64(std::string_view s);
// Shard of `channel` among `n` shards (0 when n <= 1).
size_t shard_index(std::string_view channel, size_t n);
uint16_t crc16(std::string_view s);
// Cluster slot of a key: the hash tag `{...}` if a non-empty one is present, else the key.
uint16_t cluster_slot(std::string_view key);

}  // namespace gyre::redis
