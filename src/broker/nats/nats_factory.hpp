// nats_factory: builds the NATS broker and the NATS control bus from `broker.nats`
// (configuration.md §4.3) — the only entry point app/ needs.
//
//   std::string err;
//   auto broker = make_nats_broker(cfg.broker_.nats_, err);
//   if (!broker) { log::error("{}", err); return exit_code; }   // err names the key
//   log::info("{}", nats_broker_limitations(cfg.broker_.nats_));
//   auto bus = make_nats_control_bus(cfg.broker_.nats_, err);    // its own connection
//
// Each call validates the block and connects synchronously (bounded by dial_timeout):
// an unreachable server at start-up is an error naming broker.nats.url and the URL;
// after that the connection reconnects for ever. Errors are "<key>: <reason>".
//
// Thread-safe; the returned objects are not started (broker::start, control_bus::start).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "broker/nats/nats_broker.hpp"
#include "broker/nats/nats_control_bus.hpp"
#include "config/config.hpp"

namespace gyre {

// Knobs Centrifugo's config does not have; the defaults suit the server.
struct nats_engine_options {
  std::string connection_name = "gyre";
  std::chrono::milliseconds reconnect_wait{2000};  // nats.go's default, as Centrifugo
  size_t max_queued_ops = 65536;                   // see nats_link_options
  size_t max_queued_bytes = size_t{64} << 20;
  int max_pending_messages = 65536;
  int delivery_threads = 2;
};

std::unique_ptr<nats_broker> make_nats_broker(const config::nats_broker_config& cfg,
                                              std::string& error,
                                              const nats_engine_options& opts = {});

std::unique_ptr<nats_control_bus> make_nats_control_bus(const config::nats_broker_config& cfg,
                                                        std::string& error,
                                                        const nats_engine_options& opts = {});

// The start-up notice the server logs when the NATS broker is selected: what it does not
// do (history, recovery, positioning, idempotency, versions, presence) and its mode.
std::string nats_broker_limitations(const config::nats_broker_config& cfg);

}  // namespace gyre
