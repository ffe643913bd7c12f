// grpc_api_server: the GRPC server API (service centrifugal.centrifugo.api.CentrifugoApi,
// src/grpc_api/api.proto; docs/grpc-api.md), a second front end of the API executor next to
// the HTTP API: each call's message is turned into the executor's JSON params, its result
// back into the response message (proto_json.hpp).
//
// What holds:
//  * No thread waits for an engine: calls use gRPC's asynchronous API; `threads` threads
//    (a completion queue each) read the calls and run the executor, which answers at once on
//    the memory engine (the response is then written by the same thread, no hop) and from
//    the engine's thread for Redis/NATS (the call is finished from there).
//  * With a key, every call needs the metadata `authorization: apikey <key>` (first value,
//    compared in constant time); otherwise UNAUTHENTICATED "unauthenticated", nothing run.
//  * Errors go in the response's `error` field, or, in transport error mode
//    (grpc_api.error_mode or the call's `x-centrifugo-error-mode: transport` metadata),
//    as the call's status with the Error attached as a detail; Batch ignores the mode.
//  * Paced by the fan-out like the HTTP API: while `backlogged` says so, a call waits on a
//    1 ms alarm before it runs (docs/design/flow-control.md).
//  * A request is at most max_receive_message_size bytes (gRPC's 4 MiB by default); a
//    connection carries at most max_concurrent_streams calls at once.
//
// This header names no gRPC type: the generated headers stay inside gyre_grpc_api.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace gyre {

class api_executor;
class api_metrics;
namespace tracing {
class tracer;
}

struct grpc_api_options {
  std::string address;  // "" = every address
  uint16_t port = 10000;
  std::string key;  // "" = no key check
  bool transport_error_mode = false;
  bool reflection = false;
  int64_t max_receive_message_size = 0;  // 0 = gRPC's default
  uint32_t max_concurrent_streams = 100;
  // Threads polling the completion queues (one queue each); they run the calls.
  unsigned threads = 1;
  // TLS (grpc_api.tls): PEM texts; empty cert = plaintext. With a client CA, client
  // certificates are required and verified.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  std::string tls_client_ca_pem;
  // Whether the event loops' inboxes are backlogged (node::fan_out_backlogged): calls are
  // then postponed by 1 ms at a time, as the HTTP API's requests threads do. Empty: never.
  std::function<bool()> backlogged;
  // opentelemetry.api: a span per call (docs/tracing.md); nullptr: none.
  tracing::tracer* tracer = nullptr;
};

class grpc_api_server {
 public:
  grpc_api_server(api_executor& exec, api_metrics& metrics, grpc_api_options opts);
  ~grpc_api_server();

  // Starts listening; an error message naming grpc_api on failure.
  std::string start();
  // The port listened on (after start).
  uint16_t bound_port() const;
  // Stops accepting calls; calls in flight get until `deadline_ms` to finish, then are
  // cancelled. Waits for them.
  void stop(int64_t deadline_ms);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace gyre
