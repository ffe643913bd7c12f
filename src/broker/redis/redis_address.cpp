// redis_address: see redis_address.hpp.
#include "broker/redis/redis_address.hpp"

#include <charconv>

#include "config/duration.hpp"
#include "config/pem.hpp"
#include "core/redact.hpp"

namespace gyre::redis {

std::string endpoint::to_string() const {
  if (is_unix()) return "unix://" + path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

namespace {

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool parse_host_port(std::string_view hp, endpoint& ep, std::string& error) {
  hp = hp.substr(0, hp.find('/'));
  std::string_view host;
  std::string_view port;
  if (!hp.empty() && hp[0] == '[') {
    const auto close = hp.find(']');
    if (close == std::string_view::npos) {
      error = "bad IPv6 address \"" + std::string(hp) + "\"";
      return false;
    }
    host = hp.substr(1, close - 1);
    if (close + 1 < hp.size()) {
      if (hp[close + 1] != ':') {
        error = "bad address \"" + std::string(hp) + "\"";
        return false;
      }
      port = hp.substr(close + 2);
    }
  } else {
    const auto colon = hp.rfind(':');
    if (colon == std::string_view::npos) {
      host = hp;
    } else {
      host = hp.substr(0, colon);
      port = hp.substr(colon + 1);
    }
  }
  if (host.empty()) {
    error = "missing host in \"" + std::string(hp) + "\"";
    return false;
  }
  ep.host = std::string(host);
  ep.port = 6379;
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) {
      error = "bad port \"" + std::string(port) + "\"";
      return false;
    }
    ep.port = static_cast<uint16_t>(v);
  }
  return true;
}

bool parse_bool(std::string_view v, bool& out) {
  if (v == "true" || v == "1" || v == "yes") {
    out = true;
  } else if (v == "false" || v == "0" || v == "no" || v.empty()) {
    out = false;
  } else {
    return false;
  }
  return true;
}

bool parse_ms(std::string_view v, std::chrono::milliseconds& out) {
  auto d = config::parse_go_duration(v);
  if (!d || d->count() <= 0) return false;
  out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  if (out.count() == 0) out = std::chrono::milliseconds(1);
  return true;
}

// Seeds of a comma-separated `host:port,host:port` entry.
bool parse_seed_list(std::string_view entry, std::vector<endpoint>& seeds, std::string& error) {
  size_t pos = 0;
  while (pos <= entry.size()) {
    auto comma = entry.find(',', pos);
    if (comma == std::string_view::npos) comma = entry.size();
    std::string_view item = entry.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      endpoint ep;
      if (!parse_host_port(item, ep, error)) return false;
      seeds.push_back(std::move(ep));
    }
    pos = comma + 1;
  }
  if (seeds.empty()) {
    error = "no address";
    return false;
  }
  return true;
}

bool load_tls(const config::tls_config& c, std::string_view key, tls_options& out,
              std::string& error) {
  out.enabled = c.enabled_;
  out.insecure_skip_verify = c.insecure_skip_verify_;
  out.server_name = c.server_name_;
  if (!c.enabled_) return true;
  const std::string k(key);
  if (auto pem = config::resolve_pem(k + ".cert_pem", c.cert_pem_, error)) {
    out.cert_pem = *pem;
  } else if (!error.empty()) {
    return false;
  }
  if (auto pem = config::resolve_pem(k + ".key_pem", c.key_pem_, error)) {
    out.key_pem = *pem;
  } else if (!error.empty()) {
    return false;
  }
  if (auto pem = config::resolve_pem(k + ".server_ca_pem", c.server_ca_pem_, error)) {
    out.server_ca_pem = *pem;
  } else if (!error.empty()) {
    return false;
  }
  return true;
}

}  // namespace

bool parse_address(std::string_view entry, shard_kind kind_hint, shard_spec& spec,
                   std::string& error) {
  spec.display = redact_url_passwords(entry);
  spec.kind = kind_hint;
  if (kind_hint != shard_kind::standalone && entry.find("://") == std::string_view::npos) {
    // cluster_address / sentinel_address entries: comma-separated host:port seeds.
    return parse_seed_list(entry, spec.seeds, error);
  }
  const auto sep = entry.find("://");
  if (sep == std::string_view::npos) {
    endpoint ep;
    if (!parse_host_port(entry, ep, error)) return false;
    spec.seeds.push_back(std::move(ep));
    return true;
  }
  const std::string_view scheme = entry.substr(0, sep);
  std::string_view rest = entry.substr(sep + 3);
  if (scheme == "unix") {
    std::string_view path = rest.substr(0, rest.find('?'));
    if (path.empty()) {
      error = "missing socket path";
      return false;
    }
    endpoint ep;
    ep.path = std::string(path);
    spec.seeds.push_back(std::move(ep));
    spec.kind = shard_kind::standalone;
    rest = rest.substr(path.size());
    // A unix address may still carry ?db=N.
  } else if (scheme == "tcp" || scheme == "redis" || scheme == "rediss" ||
             scheme == "redis+sentinel" || scheme == "rediss+sentinel" ||
             scheme == "redis+cluster" || scheme == "rediss+cluster") {
    if (scheme == "rediss" || scheme == "rediss+sentinel" || scheme == "rediss+cluster") {
      spec.tls.enabled = true;
    }
    if (scheme.ends_with("+sentinel")) {
      spec.kind = shard_kind::sentinel;
    } else if (scheme.ends_with("+cluster")) {
      spec.kind = shard_kind::cluster;
    } else {
      spec.kind = shard_kind::standalone;
    }
    const auto q = rest.find('?');
    std::string_view authority = rest.substr(0, q);
    const std::string_view query =
        q == std::string_view::npos ? std::string_view() : rest.substr(q);
    std::string_view path;
    if (const auto slash = authority.find('/'); slash != std::string_view::npos) {
      path = authority.substr(slash + 1);
      authority = authority.substr(0, slash);
    }
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      authority = authority.substr(at + 1);
      const auto colon = userinfo.find(':');
      if (colon == std::string_view::npos) {
        spec.user = percent_decode(userinfo);
      } else {
        spec.user = percent_decode(userinfo.substr(0, colon));
        spec.password = percent_decode(userinfo.substr(colon + 1));
      }
    }
    endpoint ep;
    if (!parse_host_port(authority, ep, error)) return false;
    spec.seeds.push_back(std::move(ep));
    if (!path.empty()) {
      int64_t db = 0;
      auto [p, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
      if (ec != std::errc() || p != path.data() + path.size() || db < 0) {
        error = "bad database number \"" + std::string(path) + "\"";
        return false;
      }
      spec.db = db;
    }
    rest = query;
  } else {
    error = "unsupported scheme \"" + std::string(scheme) + "\"";
    return false;
  }
  // Query options.
  if (!rest.empty() && rest[0] == '?') rest.remove_prefix(1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (kv.empty()) continue;
    const auto eq = kv.find('=');
    const std::string_view k = kv.substr(0, eq);
    const std::string v =
        eq == std::string_view::npos ? std::string() : percent_decode(kv.substr(eq + 1));
    bool ok = true;
    if (k == "addr") {
      endpoint ep;
      if (!parse_host_port(v, ep, error)) return false;
      spec.seeds.push_back(std::move(ep));
    } else if (k == "connect_timeout") {
      ok = parse_ms(v, spec.connect_timeout);
    } else if (k == "io_timeout") {
      ok = parse_ms(v, spec.io_timeout);
    } else if (k == "tls_enabled") {
      ok = parse_bool(v, spec.tls.enabled);
    } else if (k == "sentinel_tls_enabled") {
      ok = parse_bool(v, spec.sentinel_tls.enabled);
    } else if (k == "force_resp2" || k == "replica_client_enabled") {
      bool ignored = false;  // RESP2 is always used; replicas are not read from
      ok = parse_bool(v, ignored);
    } else if (k == "sentinel_user") {
      spec.sentinel_user = v;
    } else if (k == "sentinel_password") {
      spec.sentinel_password = v;
    } else if (k == "sentinel_master_name") {
      spec.sentinel_master_name = v;
    } else if (k == "db") {
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), spec.db);
      ok = ec == std::errc() && p == v.data() + v.size() && spec.db >= 0;
    } else if (k == "client_name") {
      spec.client_name = v;
    } else {
      error = "unknown option \"" + std::string(k) + "\"";
      return false;
    }
    if (!ok) {
      error = "bad value \"" + v + "\" for option " + std::string(k);
      return false;
    }
  }
  if (spec.kind == shard_kind::sentinel && spec.sentinel_master_name.empty()) {
    error = "sentinel address needs sentinel_master_name";
    return false;
  }
  if (spec.kind == shard_kind::cluster && spec.db != 0) {
    error = "Redis Cluster has no databases other than 0";
    return false;
  }
  return true;
}

bool parse_topology(const config::redis_config& cfg, std::string_view key, topology& out,
                    std::string& error) {
  out.prefix = cfg.prefix_;
  out.shards.clear();
  const std::vector<std::string>* list = &cfg.address_;
  shard_kind hint = shard_kind::standalone;
  std::string list_key = std::string(key) + ".address";
  if (!cfg.cluster_address_.empty()) {
    list = &cfg.cluster_address_;
    hint = shard_kind::cluster;
    list_key = std::string(key) + ".cluster_address";
  } else if (!cfg.sentinel_address_.empty()) {
    list = &cfg.sentinel_address_;
    hint = shard_kind::sentinel;
    list_key = std::string(key) + ".sentinel_address";
  }
  if (list->empty()) {
    error = list_key + ": at least one address is required";
    return false;
  }
  shard_spec base;
  base.user = cfg.user_;
  base.password = cfg.password_;
  base.db = cfg.db_;
  base.client_name = cfg.client_name_;
  base.connect_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(cfg.connect_timeout_);
  base.io_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.io_timeout_);
  if (base.connect_timeout.count() <= 0) base.connect_timeout = std::chrono::milliseconds(1000);
  if (base.io_timeout.count() <= 0) base.io_timeout = std::chrono::milliseconds(4000);
  base.sentinel_master_name = cfg.sentinel_master_name_;
  base.sentinel_user = cfg.sentinel_user_;
  base.sentinel_password = cfg.sentinel_password_;
  base.sentinel_client_name = cfg.sentinel_client_name_;
  if (!load_tls(cfg.tls_, std::string(key) + ".tls", base.tls, error)) return false;
  if (!load_tls(cfg.sentinel_tls_, std::string(key) + ".sentinel_tls", base.sentinel_tls, error)) {
    return false;
  }
  for (size_t i = 0; i < list->size(); ++i) {
    shard_spec spec = base;
    std::string e;
    if (!parse_address((*list)[i], hint, spec, e)) {
      error = list_key + "[" + std::to_string(i) + "] (\"" + redact_url_passwords((*list)[i]) +
              "\"): " + e;
      return false;
    }
    if (spec.kind == shard_kind::sentinel && spec.sentinel_master_name.empty()) {
      error = std::string(key) + ".sentinel_master_name: required with sentinel addresses";
      return false;
    }
    out.shards.push_back(std::move(spec));
  }
  const bool any_cluster = out.shards[0].kind == shard_kind::cluster;
  for (size_t i = 1; i < out.shards.size(); ++i) {
    if ((out.shards[i].kind == shard_kind::cluster) != any_cluster) {
      error = list_key + ": cluster and non-cluster addresses cannot be mixed";
      return false;
    }
  }
  return true;
}

bool parse_endpoint(std::string_view text, endpoint& ep, std::string& error) {
  return parse_host_port(text, ep, error);
}

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

size_t shard_index(std::string_view channel, size_t n) {
  if (n <= 1) return 0;
  uint64_t key = fnv1a64(channel);
  int64_t b = -1;
  int64_t j = 0;
  while (j < static_cast<int64_t>(n)) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) * (static_cast<double>(int64_t{1} << 31) /
                                                           static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<size_t>(b);
}

uint16_t crc16(std::string_view s) {
  uint16_t crc = 0;
  for (unsigned char c : s) {
    crc ^= static_cast<uint16_t>(c) << 8;
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

uint16_t cluster_slot(std::string_view key) {
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return crc16(key) & 16383;
}

}  // namespace gyre::redis
