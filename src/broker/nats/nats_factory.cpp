// nats_factory: see the header.
#include "broker/nats/nats_factory.hpp"

#include <utility>

#include "broker/nats/nats_link.hpp"
#include "broker/nats/nats_subject.hpp"
#include "config/pem.hpp"
#include "core/redact.hpp"

namespace gyre {
namespace {

constexpr std::string_view key_root = "broker.nats";

std::string key(std::string_view leaf) {
  std::string k(key_root);
  k += '.';
  k += leaf;
  return k;
}

// Validates `cfg` and fills link options; false with `error` set on a bad value.
bool link_options_from(const config::nats_broker_config& cfg, const nats_engine_options& eo,
                       nats_link_options& out, std::string& error) {
  if (cfg.prefix_.empty() || !nats_subject::is_valid_subject(cfg.prefix_) ||
      nats_subject::is_wildcard_channel(cfg.prefix_)) {
    error = key("prefix") + ": must be a non-empty NATS subject without wildcards, got \"" +
            cfg.prefix_ + "\"";
    return false;
  }
  if (cfg.dial_timeout_ <= config::duration::zero()) {
    error = key("dial_timeout") + ": must be positive";
    return false;
  }
  if (cfg.write_timeout_ <= config::duration::zero()) {
    error = key("write_timeout") + ": must be positive";
    return false;
  }
  if (cfg.raw_mode_.enabled_ && !cfg.raw_mode_.prefix_.empty() &&
      nats_subject::is_wildcard_channel(cfg.raw_mode_.prefix_)) {
    error = key("raw_mode.prefix") + ": must not contain NATS wildcards";
    return false;
  }
  out.url = cfg.url_.empty() ? "nats://localhost:4222" : cfg.url_;
  out.name = eo.connection_name;
  auto ms = [](config::duration d) {
    auto v = std::chrono::duration_cast<std::chrono::milliseconds>(d);
    return v.count() > 0 ? v : std::chrono::milliseconds(1);
  };
  out.dial_timeout = ms(cfg.dial_timeout_);
  out.write_timeout = ms(cfg.write_timeout_);
  out.reconnect_wait = eo.reconnect_wait;
  out.max_queued_ops = eo.max_queued_ops;
  out.max_queued_bytes = eo.max_queued_bytes;
  out.max_pending_messages = eo.max_pending_messages;
  out.delivery_threads = eo.delivery_threads;

  const auto& tls = cfg.tls_;
  out.tls = tls.enabled_;
  if (tls.enabled_) {
    auto pem = [&](std::string_view leaf, const std::string& value, std::string& dst) {
      if (value.empty()) return true;
      std::string err;
      auto text = config::resolve_pem(key(std::string("tls.") + std::string(leaf)), value, err);
      if (!text) {
        error = err;
        return false;
      }
      dst = std::move(*text);
      return true;
    };
    if (!pem("server_ca_pem", tls.server_ca_pem_, out.ca_pem) ||
        !pem("cert_pem", tls.cert_pem_, out.cert_pem) ||
        !pem("key_pem", tls.key_pem_, out.key_pem)) {
      return false;
    }
    if (out.cert_pem.empty() != out.key_pem.empty()) {
      error = key("tls") + ": cert_pem and key_pem must be set together";
      return false;
    }
    out.server_name = tls.server_name_;
    out.insecure_skip_verify = tls.insecure_skip_verify_;
  }
  return true;
}

std::unique_ptr<nats_link> connect(const config::nats_broker_config& cfg,
                                   const nats_engine_options& eo, std::string& error) {
  nats_link_options lo;
  if (!link_options_from(cfg, eo, lo, error)) return nullptr;
  std::string why;
  auto link = nats_link::connect(lo, why);
  if (!link) error = key("url") + ": " + why;
  return link;
}

}  // namespace

std::unique_ptr<nats_broker> make_nats_broker(const config::nats_broker_config& cfg,
                                              std::string& error, const nats_engine_options& opts) {
  auto link = connect(cfg, opts, error);
  if (!link) return nullptr;
  nats_broker::options bo;
  bo.prefix = cfg.prefix_;
  bo.allow_wildcards = cfg.allow_wildcards_;
  bo.raw_mode = cfg.raw_mode_.enabled_;
  bo.raw_prefix = cfg.raw_mode_.prefix_;
  bo.raw_replacements = cfg.raw_mode_.channel_replacements_;
  return std::make_unique<nats_broker>(std::move(link), std::move(bo));
}

std::unique_ptr<nats_control_bus> make_nats_control_bus(const config::nats_broker_config& cfg,
                                                        std::string& error,
                                                        const nats_engine_options& opts) {
  auto link = connect(cfg, opts, error);
  if (!link) return nullptr;
  return std::make_unique<nats_control_bus>(std::move(link), cfg.prefix_);
}

std::string nats_broker_limitations(const config::nats_broker_config& cfg) {
  std::string text =
      "NATS broker (" +
      redact_url_passwords(cfg.url_.empty() ? std::string("nats://localhost:4222") : cfg.url_) +
      "): at-most-once PUB/SUB only. Not supported: history, recovery, positioning, "
      "idempotent publish (idempotency_key is ignored), version-based suppression "
      "(version is ignored); history calls fail with 108 not available. Presence is not "
      "provided: use the memory or Redis presence manager.";
  if (cfg.allow_wildcards_) {
    text +=
        " Wildcard channel subscriptions are allowed (publishing to them is rejected; "
        "join/leave are not delivered through them).";
  }
  if (cfg.raw_mode_.enabled_) {
    text += " Raw mode: subjects \"" + cfg.raw_mode_.prefix_ +
            "<channel>\", payload is the raw data; no join/leave, info or tags.";
  }
  return text;
}

}  // namespace gyre
