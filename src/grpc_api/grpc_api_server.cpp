// grpc_api_server: see grpc_api_server.hpp.
#include "grpc_api/grpc_api_server.hpp"

#include <absl/synchronization/mutex.h>
#include <grpcpp/alarm.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <type_traits>
#include <vector>

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
std::string_view first_metadata(const grpc::ServerContext* ctx, std::string_view key) {
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

// One tag per completion queue event: a call's next step.
struct call_base {
  virtual ~call_base() = default;
  virtual void proceed(bool ok) = 0;
};

// What the calls share: the executor, the options and the count of calls whose executor
// has not answered yet (stop() waits for it before it shuts the queues down).
struct call_env {
  pb::CentrifugoApi::AsyncService service;
  api_executor& exec;
  api_metrics& metrics;
  const grpc_api_options& opts;
  const std::string auth;  // "apikey <key>"
  std::atomic<int64_t> running{0};
  std::atomic<bool> stopping{false};
};

bool authorized(const call_env& env, const grpc::ServerContext& ctx) {
  if (env.opts.key.empty()) return true;
  return constant_time_equal(first_metadata(&ctx, "authorization"), env.auth);
}

template <class Request, class Response>
using request_fn = void (pb::CentrifugoApi::AsyncService::*)(
    grpc::ServerContext*, Request*, grpc::ServerAsyncResponseWriter<Response>*,
    grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*);

// One unary call of one method, from the request posted on queue `cq` to its finish. A new
// one is posted as soon as this one has a call, so each queue always waits for every method.
template <class Request, class Response>
class unary_call final : public call_base {
 public:
  unary_call(call_env& env, grpc::ServerCompletionQueue* cq, request_fn<Request, Response> fn,
             const api_method& m, const char* rpc_name)
      : env_(env), cq_(cq), fn_(fn), m_(m), rpc_name_(rpc_name), writer_(&ctx_) {
    (env_.service.*fn_)(&ctx_, &req_, &writer_, cq_, cq_, this);
  }

  void proceed(bool ok) override {
    if (postponed_) {  // the alarm rang (ok: false only if it was cancelled; run anyway)
      postponed_ = false;
      return run();
    }
    if (finishing_ || !ok) {
      delete this;  // finished, or the queue is shutting down
      return;
    }
    if (!env_.stopping) new unary_call(env_, cq_, fn_, m_, rpc_name_);
    serve();
  }

 private:
  static constexpr bool batch = std::is_same_v<Response, pb::BatchResponse>;

  void finish(const grpc::Status& st) {
    finishing_ = true;
    writer_.Finish(resp_, st, this);
  }

  void serve() {
    if (!authorized(env_, ctx_)) {
      static log::limiter refusals;
      log::limited(refusals, spdlog::level::info, "GRPC API call from {} to {} refused: {} API key",
                   ctx_.peer(), m_.name,
                   first_metadata(&ctx_, "authorization").empty() ? "no" : "a wrong");
      return finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unauthenticated"));
    }
    ++env_.running;  // until done(): stop() waits for it
    run();
  }

  // Runs the call, or postpones it by 1 ms while the event loops' inboxes are backlogged
  // (the HTTP API's pacing, docs/design/flow-control.md): an alarm on this call's queue
  // brings it back; no thread waits.
  void run() {
    if (!env_.stopping && env_.opts.backlogged && env_.opts.backlogged()) {
      postponed_ = true;
      alarm_.Set(cq_, std::chrono::system_clock::now() + std::chrono::milliseconds(1), this);
      return;
    }
    transport_mode_ = !batch && (env_.opts.transport_error_mode ||
                                 first_metadata(&ctx_, "x-centrifugo-error-mode") == "transport");
    started_ = std::chrono::steady_clock::now();
    tracing::tracer* tracer = env_.opts.tracer;
    if (tracer) {
      auto parent = tracing::parse_traceparent(first_metadata(&ctx_, "traceparent"));
      trace_ = std::make_unique<tracing::span>(
          tracer->start(std::string(pb::CentrifugoApi::service_full_name()) + "/" + rpc_name_,
                        tracing::span_kind::server, parent ? &*parent : nullptr,
                        parent ? std::string(first_metadata(&ctx_, "tracestate")) : std::string()));
      trace_->set("rpc.system", "grpc");
    }
    // `this` may be gone once done() finished the call: count down through the env.
    auto reply = [this, env = &env_](api_outcome r) {
      done(std::move(r));
      --env->running;
    };
    std::string params;
    if (!grpc_api::to_params(req_, params)) return reply(api_outcome::failure(errors::bad_request));
    if (trace_) {
      if (batch)
        trace_->set("centrifugo.method", "batch");
      else
        api_tracing::describe_command(*trace_, m_.name, params);
    }
    if (batch && trace_)
      env_.exec.execute_batch(params, *tracer, *trace_, std::move(reply));
    else
      env_.exec.execute(m_, params, std::move(reply));
  }

  // The executor's answer, on whichever thread it came.
  void done(api_outcome r) {
    env_.metrics.duration(api_protocol::grpc, m_)
        .observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    if (r.ok) {
      bool decoded;
      if constexpr (batch)
        decoded = grpc_api::from_result(r.result, resp_);
      else
        decoded = grpc_api::from_result(r.result, *resp_.mutable_result());
      if (!decoded) {
        static log::limiter failures;
        log::limited(failures, spdlog::level::err,
                     "GRPC API {}: the result does not fit the response message (data that is "
                     "not JSON?); answered with error 100",
                     m_.name);
        resp_.Clear();
        r = api_outcome::failure(errors::internal);
      }
    }
    if (!r.ok && r.malformed)
      r.error = {errors::bad_request.code, std::string(errors::bad_request.message)};
    if (trace_) {
      api_tracing::record_outcome(*trace_, r);
      env_.opts.tracer->end(std::move(*trace_));
    }
    if (r.ok) return finish(grpc::Status::OK);
    env_.metrics.error(api_protocol::grpc, m_.name, std::to_string(r.error.code));
    if constexpr (batch) {
      // A batch has no error field: a refusal of the whole batch is the call's status.
      finish(transport_error(r.error));
    } else {
      if (transport_mode_) return finish(transport_error(r.error));
      resp_.mutable_error()->set_code(r.error.code);
      resp_.mutable_error()->set_message(r.error.message);
      finish(grpc::Status::OK);
    }
  }

  call_env& env_;
  grpc::ServerCompletionQueue* cq_;
  request_fn<Request, Response> fn_;
  const api_method& m_;
  const char* rpc_name_;
  grpc::ServerContext ctx_;
  Request req_;
  Response resp_;
  grpc::ServerAsyncResponseWriter<Response> writer_;
  bool finishing_ = false;
  bool postponed_ = false;
  grpc::Alarm alarm_;
  bool transport_mode_ = false;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<tracing::span> trace_;
};

// Posts one waiting call of every method on `cq`.
void post_calls(call_env& env, grpc::ServerCompletionQueue* cq) {
  using S = pb::CentrifugoApi::AsyncService;
#define GYRE_GRPC_METHOD(Name, name)                                                \
  new unary_call<pb::Name##Request, pb::Name##Response>(env, cq, &S::Request##Name, \
                                                        *api_executor::find(name), #Name);
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
}

}  // namespace

struct grpc_api_server::impl {
  grpc_api_options opts;
  call_env env;
  std::unique_ptr<grpc::Server> server;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues;
  std::vector<std::thread> threads;
  int port = 0;

  impl(api_executor& exec, api_metrics& metrics, grpc_api_options o)
      : opts(std::move(o)), env{{}, exec, metrics, opts, "apikey " + opts.key} {}
};

grpc_api_server::grpc_api_server(api_executor& exec, api_metrics& metrics, grpc_api_options opts)
    : impl_(std::make_unique<impl>(exec, metrics, std::move(opts))) {}

grpc_api_server::~grpc_api_server() {
  stop(0);
}

std::string grpc_api_server::start() {
  auto& o = impl_->opts;
  // Debian's Abseil is built with its debug checks, which track every gRPC mutex's lock
  // order (GraphCycles: ~2 % of the CPU per call, perf in docs/BENCHMARKS.md); gRPC's
  // locking is tested upstream, Gyre's own does not use Abseil.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
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
  builder.RegisterService(&impl_->env.service);
  if (o.max_receive_message_size > 0)
    builder.SetMaxReceiveMessageSize(static_cast<int>(o.max_receive_message_size));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(o.max_concurrent_streams));
  // No bandwidth-delay probing (a PING after reads, to size windows for bulk transfers:
  // API calls are small, and it cost CPU per call, docs/BENCHMARKS.md), no census or
  // channelz bookkeeping per call (nothing reads them).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CENSUS, 0);
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  const unsigned n = std::max(1u, o.threads);
  for (unsigned i = 0; i < n; ++i) impl_->queues.push_back(builder.AddCompletionQueue());
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0) {
    impl_->server.reset();
    for (auto& q : impl_->queues) q->Shutdown();
    for (auto& q : impl_->queues) {
      void* tag;
      bool ok;
      while (q->Next(&tag, &ok)) {
      }
    }
    impl_->queues.clear();
    return "grpc_api: cannot listen on " + addr +
           (o.tls_cert_pem.empty() ? "" : " (or grpc_api.tls is not a usable certificate and key)");
  }
  for (auto& q : impl_->queues) {
    post_calls(impl_->env, q.get());
    impl_->threads.emplace_back([cq = q.get()] {
      void* tag;
      bool ok;
      while (cq->Next(&tag, &ok)) static_cast<call_base*>(tag)->proceed(ok);
    });
  }
  log::info("serving GRPC API on {}{}{} ({} threads)", addr, o.tls_cert_pem.empty() ? "" : " (TLS)",
            o.reflection ? " with reflection" : "", n);
  return {};
}

uint16_t grpc_api_server::bound_port() const {
  return static_cast<uint16_t>(impl_->port);
}

void grpc_api_server::stop(int64_t deadline_ms) {
  if (!impl_->server) return;
  impl_->env.stopping = true;
  impl_->server->Shutdown(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(deadline_ms));
  // Calls the executor has not answered yet still finish on their queues: wait for them
  // (an engine answers within its timeouts) before the queues go.
  for (int i = 0; i < 1000 && impl_->env.running.load() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (auto& q : impl_->queues) q->Shutdown();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->queues.clear();
  impl_->server.reset();
}

}  // namespace gyre
