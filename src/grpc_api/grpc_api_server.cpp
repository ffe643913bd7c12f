// grpc_api_server: see grpc_api_server.hpp.
#include "grpc_api/grpc_api_server.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <openssl/crypto.h>

#include <chrono>
#include <type_traits>

#include "api/api_metrics.hpp"
#include "api/api_tracing.hpp"
#include "api/executor.hpp"
#include "core/log.hpp"
#include "grpc_api/api.grpc.pb.h"
#include "grpc_api/proto_json.hpp"
#include "tracing/tracer.hpp"

namespace gyre {

namespace pb = centrifugal::centrifugo::api;

namespace {

// The GRPC status code of an API error code in transport error mode.
grpc::StatusCode grpc_code_for_api_error(uint32_t code) {
  switch (code) {
    case 102:
    case 104:
      return grpc::StatusCode::NOT_FOUND;
    case 107:
    case 108:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case 112:
      return grpc::StatusCode::OUT_OF_RANGE;
    case 113:
      return grpc::StatusCode::ALREADY_EXISTS;
    default:
      return grpc::StatusCode::INTERNAL;
  }
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_varint(out, (field << 3) | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// A failed call's status: the mapped code, the message, and the error attached as a
// google.rpc.Status detail (an Any holding centrifugal.centrifugo.api.Error), which is
// what gRPC clients read from grpc-status-details-bin.
grpc::Status transport_error(const api_error& e) {
  pb::Error err;
  err.set_code(e.code);
  err.set_message(e.message);
  std::string any;
  put_bytes(any, 1, "type.googleapis.com/centrifugal.centrifugo.api.Error");
  put_bytes(any, 2, err.SerializeAsString());
  const grpc::StatusCode code = grpc_code_for_api_error(e.code);
  std::string status;
  put_varint(status, 1 << 3);
  put_varint(status, static_cast<uint64_t>(code));
  put_bytes(status, 2, e.message);
  put_bytes(status, 3, any);
  return grpc::Status(code, e.message, status);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The first value of metadata `key`, empty when absent.
std::string_view first_metadata(const grpc::CallbackServerContext* ctx, std::string_view key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return {};
  return {it->second.data(), it->second.size()};
}

std::string listen_address(const std::string& address, uint16_t port) {
  if (address.empty()) return "[::]:" + std::to_string(port);
  if (address.find(':') != std::string::npos && address.front() != '[')
    return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

class api_service final : public pb::CentrifugoApi::CallbackService {
 public:
  api_service(api_executor& exec, api_metrics& metrics, const grpc_api_options& opts)
      : exec_(exec), metrics_(metrics), opts_(opts), auth_("apikey " + opts.key) {}

#define GYRE_GRPC_METHOD(Name, name)                                                             \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* ctx, const pb::Name##Request* req, \
                                 pb::Name##Response* resp) override {                            \
    static const api_method& m = *api_executor::find(name);                                      \
    return serve(ctx, *req, resp, m, #Name);                                                     \
  }
  GYRE_GRPC_METHOD(Batch, "batch")
  GYRE_GRPC_METHOD(Publish, "publish")
  GYRE_GRPC_METHOD(Broadcast, "broadcast")
  GYRE_GRPC_METHOD(Subscribe, "subscribe")
  GYRE_GRPC_METHOD(Unsubscribe, "unsubscribe")
  GYRE_GRPC_METHOD(Disconnect, "disconnect")
  GYRE_GRPC_METHOD(Presence, "presence")
  GYRE_GRPC_METHOD(PresenceStats, "presence_stats")
  GYRE_GRPC_METHOD(History, "history")
  GYRE_GRPC_METHOD(HistoryRemove, "history_remove")
  GYRE_GRPC_METHOD(Info, "info")
  GYRE_GRPC_METHOD(RPC, "rpc")
  GYRE_GRPC_METHOD(Refresh, "refresh")
  GYRE_GRPC_METHOD(Channels, "channels")
  GYRE_GRPC_METHOD(MapPublish, "map_publish")
  GYRE_GRPC_METHOD(MapRemove, "map_remove")
  GYRE_GRPC_METHOD(MapReadState, "map_read_state")
  GYRE_GRPC_METHOD(MapReadStream, "map_read_stream")
  GYRE_GRPC_METHOD(MapStats, "map_stats")
  GYRE_GRPC_METHOD(MapClear, "map_clear")
  GYRE_GRPC_METHOD(SharedPollPublish, "shared_poll_publish")
#undef GYRE_GRPC_METHOD

 private:
  bool authorized(const grpc::CallbackServerContext* ctx) const {
    if (opts_.key.empty()) return true;
    return constant_time_equal(first_metadata(ctx, "authorization"), auth_);
  }

  template <class Request, class Response>
  grpc::ServerUnaryReactor* serve(grpc::CallbackServerContext* ctx, const Request& req,
                                  Response* resp, const api_method& m, const char* rpc_name) {
    constexpr bool batch = std::is_same_v<Response, pb::BatchResponse>;
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (!authorized(ctx)) {
      static log::limiter refusals;
      log::limited(refusals, spdlog::level::info, "GRPC API call from {} to {} refused: {} API key",
                   ctx->peer(), m.name,
                   first_metadata(ctx, "authorization").empty() ? "no" : "a wrong");
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unauthenticated"));
      return reactor;
    }
    const bool transport_mode =
        !batch && (opts_.transport_error_mode ||
                   first_metadata(ctx, "x-centrifugo-error-mode") == "transport");
    auto started = std::chrono::steady_clock::now();
    std::shared_ptr<tracing::span> trace;
    if (opts_.tracer) {
      auto parent = tracing::parse_traceparent(first_metadata(ctx, "traceparent"));
      trace = std::make_shared<tracing::span>(opts_.tracer->start(
          std::string(pb::CentrifugoApi::service_full_name()) + "/" + rpc_name,
          tracing::span_kind::server, parent ? &*parent : nullptr,
          parent ? std::string(first_metadata(ctx, "tracestate")) : std::string()));
      trace->set("rpc.system", "grpc");
    }
    auto done = [this, resp, reactor, &m, started, trace, transport_mode](api_outcome r) {
      metrics_.duration(api_protocol::grpc, m)
          .observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (r.ok) {
        bool decoded;
        if constexpr (batch)
          decoded = grpc_api::from_result(r.result, *resp);
        else
          decoded = grpc_api::from_result(r.result, *resp->mutable_result());
        if (!decoded) {
          static log::limiter failures;
          log::limited(failures, spdlog::level::err,
                       "GRPC API {}: the result does not fit the response message (data "
                       "that is not JSON?); answered with error 100",
                       m.name);
          resp->Clear();
          r = api_outcome::failure(errors::internal);
        }
      }
      if (!r.ok && r.malformed)
        r.error = {errors::bad_request.code, std::string(errors::bad_request.message)};
      if (trace) {
        api_tracing::record_outcome(*trace, r);
        opts_.tracer->end(std::move(*trace));
      }
      if (r.ok) return reactor->Finish(grpc::Status::OK);
      metrics_.error(api_protocol::grpc, m.name, std::to_string(r.error.code));
      if constexpr (batch) {
        // A batch has no error field: a refusal of the whole batch is the call's status.
        return reactor->Finish(transport_error(r.error));
      } else {
        if (transport_mode) return reactor->Finish(transport_error(r.error));
        resp->mutable_error()->set_code(r.error.code);
        resp->mutable_error()->set_message(r.error.message);
        reactor->Finish(grpc::Status::OK);
      }
    };
    std::string params;
    if (!grpc_api::to_params(req, params)) {
      done(api_outcome::failure(errors::bad_request));
      return reactor;
    }
    if (trace) {
      if (batch)
        trace->set("centrifugo.method", "batch");
      else
        api_tracing::describe_command(*trace, m.name, params);
    }
    if (batch && trace)
      exec_.execute_batch(params, *opts_.tracer, *trace, std::move(done));
    else
      exec_.execute(m, params, std::move(done));
    return reactor;
  }

  api_executor& exec_;
  api_metrics& metrics_;
  const grpc_api_options& opts_;
  const std::string auth_;  // "apikey <key>"
};

}  // namespace

struct grpc_api_server::impl {
  api_executor& exec;
  api_metrics& metrics;
  grpc_api_options opts;
  std::unique_ptr<api_service> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

grpc_api_server::grpc_api_server(api_executor& exec, api_metrics& metrics, grpc_api_options opts)
    : impl_(std::make_unique<impl>(impl{exec, metrics, std::move(opts), nullptr, nullptr, 0})) {}

grpc_api_server::~grpc_api_server() {
  if (impl_->server) stop(0);
}

std::string grpc_api_server::start() {
  auto& o = impl_->opts;
  impl_->service = std::make_unique<api_service>(impl_->exec, impl_->metrics, o);
  if (o.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!o.tls_cert_pem.empty()) {
    grpc::SslServerCredentialsOptions so(
        o.tls_client_ca_pem.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                    : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    so.pem_key_cert_pairs.push_back({o.tls_key_pem, o.tls_cert_pem});
    so.pem_root_certs = o.tls_client_ca_pem;
    creds = grpc::SslServerCredentials(so);
  }
  const std::string addr = listen_address(o.address, o.port);
  builder.AddListeningPort(addr, creds, &impl_->port);
  builder.RegisterService(impl_->service.get());
  if (o.max_receive_message_size > 0)
    builder.SetMaxReceiveMessageSize(static_cast<int>(o.max_receive_message_size));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(o.max_concurrent_streams));
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0) {
    impl_->server.reset();
    return "grpc_api: cannot listen on " + addr +
           (o.tls_cert_pem.empty() ? "" : " (or bad grpc_api.tls)");
  }
  log::info("serving GRPC API on {}{}{}", addr, o.tls_cert_pem.empty() ? "" : " (TLS)",
            o.reflection ? " with reflection" : "");
  return {};
}

uint16_t grpc_api_server::bound_port() const {
  return static_cast<uint16_t>(impl_->port);
}

void grpc_api_server::stop(int64_t deadline_ms) {
  if (!impl_->server) return;
  impl_->server->Shutdown(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(deadline_ms));
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace gyre
