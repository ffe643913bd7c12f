// grpc_proxy: see grpc_proxy.hpp.
//
// A call: the request is converted to its proto message, sent with a deadline of the
// proxy's `timeout`, and gRPC's callback (on a gRPC thread) posts the converted answer to
// the loop. The loop's side (`bridge`) outlives the transport so that a late callback after
// shutdown posts nothing. Status mapping: DEADLINE_EXCEEDED = timeout, UNAVAILABLE =
// backend unavailable, any other non-OK status or an answer that is not the response
// message = bad response; the client sees the same errors as with an HTTP proxy.
#include "proxy_grpc/grpc_proxy.hpp"

#include <absl/synchronization/mutex.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>

#include "config/blocks.hpp"
#include "core/base64.hpp"
#include "proxy.pb.h"
#include "proxy/http_proxy.hpp"
#include "proxy/proxy_metrics.hpp"

namespace gyre::proxy {

namespace {

namespace pb = centrifugal::centrifugo::proxy;

// The loop, reachable from gRPC threads while the transport lives.
struct bridge {
  std::mutex mu;
  boost::asio::io_context* io = nullptr;  // null once the transport is gone
};

// GRPC metadata a peer may set: lower-case token keys (not gRPC's own, not pseudo-headers,
// not binary) and printable ASCII values. Other headers are not forwarded.
bool metadata_ok(std::string_view k, std::string_view v) {
  if (k.empty() || k.starts_with("grpc-") || k.ends_with("-bin")) return false;
  if (k == "content-type" || k == "te" || k == "connection" || k == "host") return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return false;
  for (char c : v)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// bytes X or string b64X of a result: b64X wins when set. False on bad base64.
bool take_bytes(const std::string& raw, const std::string& b64, std::optional<std::string>& out) {
  if (!b64.empty()) {
    auto d = base64_decode(b64);
    if (!d) return false;
    out = std::move(*d);
  } else if (!raw.empty()) {
    out = raw;
  }
  return true;
}

void read_override(const pb::SubscribeOptionOverride& o, auth::subscription_override& ov) {
  if (o.has_presence()) ov.presence = o.presence().value();
  if (o.has_join_leave()) ov.join_leave = o.join_leave().value();
  if (o.has_force_recovery()) ov.force_recovery = o.force_recovery().value();
  if (o.has_force_positioning()) ov.force_positioning = o.force_positioning().value();
  if (o.has_force_push_join_leave()) ov.force_push_join_leave = o.force_push_join_leave().value();
}

template <class M>
void fill_common(const request& r, M& m) {
  m.set_client(r.client);
  m.set_transport(r.transport);
  m.set_protocol(r.protocol);
  m.set_encoding(r.binary ? "binary" : "json");
}

// The envelope (disconnect, error) of any response; `has_result` by the caller.
template <class Resp>
void read_envelope(const Resp& resp, reply& out) {
  if (resp.has_disconnect())
    out.disconnect.emplace(resp.disconnect().code(), resp.disconnect().reason());
  if (resp.has_error()) {
    reply::error_t e;
    e.code = resp.error().code();
    e.message = resp.error().message();
    e.temporary = resp.error().temporary();
    out.error = std::move(e);
  }
  out.has_result = resp.has_result();
}

bool read_result(const pb::ConnectResponse& resp, reply& out) {
  const auto& r = resp.result();
  out.user = r.user();
  out.expire_at = r.expire_at();
  if (!take_bytes(r.info(), r.b64info(), out.info) || !take_bytes(r.data(), r.b64data(), out.data))
    return false;
  out.channels.assign(r.channels().begin(), r.channels().end());
  for (const auto& [channel, o] : r.subs()) {
    auth::sub_options so;
    std::optional<std::string> info, data;
    if (!take_bytes(o.info(), o.b64info(), info) || !take_bytes(o.data(), o.b64data(), data))
      return false;
    if (info) so.info = std::move(*info);
    if (data) so.data = std::move(*data);
    if (o.has_override()) read_override(o.override(), so.overrides);
    out.subs[channel] = std::move(so);
  }
  out.meta = r.meta();
  return true;
}
bool read_result(const pb::RefreshResponse& resp, reply& out) {
  const auto& r = resp.result();
  out.expired = r.expired();
  out.expire_at = r.expire_at();
  out.meta = r.meta();
  return take_bytes(r.info(), r.b64info(), out.info);
}
bool read_result(const pb::SubRefreshResponse& resp, reply& out) {
  const auto& r = resp.result();
  out.expired = r.expired();
  out.expire_at = r.expire_at();
  return take_bytes(r.info(), r.b64info(), out.info);
}
bool read_result(const pb::SubscribeResponse& resp, reply& out) {
  const auto& r = resp.result();
  out.expire_at = r.expire_at();
  if (r.has_override()) read_override(r.override(), out.override_);
  return take_bytes(r.info(), r.b64info(), out.info) && take_bytes(r.data(), r.b64data(), out.data);
}
bool read_result(const pb::PublishResponse& resp, reply& out) {
  const auto& r = resp.result();
  out.skip_history = r.skip_history();
  for (const auto& [k, v] : r.tags()) out.tags.emplace_back(k, v);
  out.idempotency_key = r.idempotency_key();
  out.delta = r.delta();
  return take_bytes(r.data(), r.b64data(), out.data);
}
bool read_result(const pb::RPCResponse& resp, reply& out) {
  return take_bytes(resp.result().data(), resp.result().b64data(), out.data);
}

class grpc_transport final : public transport {
 public:
  grpc_transport(boost::asio::io_context& io, proxy_metrics* m)
      : bridge_(std::make_shared<bridge>()), m_(m) {
    bridge_->io = &io;
    // As for the GRPC API (src/grpc_api/grpc_api_server.cpp): Debian's Abseil tracks every
    // gRPC mutex's lock order; gRPC's locking is tested upstream.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }

  ~grpc_transport() override {
    std::lock_guard lock(bridge_->mu);
    bridge_->io = nullptr;
  }

  void call(const config::proxy_config& p, std::string_view name, const request& r,
            header_list headers, done_fn done) override {
    switch (r.kind) {
      case call_kind::connect: {
        auto req = std::make_unique<pb::ConnectRequest>();
        fill_common(r, *req);
        if (!r.data.empty()) req->set_data(r.data);
        req->set_name(r.name);
        req->set_version(r.version);
        for (const auto& c : r.channels) req->add_channels(c);
        return start<pb::ConnectResponse>(p, name, r.kind, std::move(req), headers, done,
                                          "/centrifugal.centrifugo.proxy.CentrifugoProxy/Connect");
      }
      case call_kind::refresh: {
        auto req = std::make_unique<pb::RefreshRequest>();
        fill_common(r, *req);
        req->set_user(r.user);
        req->set_meta(r.meta);
        return start<pb::RefreshResponse>(p, name, r.kind, std::move(req), headers, done,
                                          "/centrifugal.centrifugo.proxy.CentrifugoProxy/Refresh");
      }
      case call_kind::subscribe: {
        auto req = std::make_unique<pb::SubscribeRequest>();
        fill_common(r, *req);
        req->set_user(r.user);
        req->set_channel(r.channel);
        req->set_meta(r.meta);
        if (!r.data.empty()) req->set_data(r.data);
        return start<pb::SubscribeResponse>(
            p, name, r.kind, std::move(req), headers, done,
            "/centrifugal.centrifugo.proxy.CentrifugoProxy/Subscribe");
      }
      case call_kind::publish: {
        auto req = std::make_unique<pb::PublishRequest>();
        fill_common(r, *req);
        req->set_user(r.user);
        req->set_channel(r.channel);
        req->set_meta(r.meta);
        req->set_data(r.data);
        return start<pb::PublishResponse>(p, name, r.kind, std::move(req), headers, done,
                                          "/centrifugal.centrifugo.proxy.CentrifugoProxy/Publish");
      }
      case call_kind::sub_refresh: {
        auto req = std::make_unique<pb::SubRefreshRequest>();
        fill_common(r, *req);
        req->set_user(r.user);
        req->set_channel(r.channel);
        req->set_meta(r.meta);
        return start<pb::SubRefreshResponse>(
            p, name, r.kind, std::move(req), headers, done,
            "/centrifugal.centrifugo.proxy.CentrifugoProxy/SubRefresh");
      }
      case call_kind::rpc: {
        auto req = std::make_unique<pb::RPCRequest>();
        fill_common(r, *req);
        req->set_user(r.user);
        req->set_method(r.method);
        req->set_meta(r.meta);
        req->set_data(r.data);
        return start<pb::RPCResponse>(p, name, r.kind, std::move(req), headers, done,
                                      "/centrifugal.centrifugo.proxy.CentrifugoProxy/RPC");
      }
    }
  }

 private:
  // One call in flight: owned by gRPC's callback, which deletes it.
  // The generic stub's byte buffers are used (not the generated stub's) so that an answer
  // that is not the response message is seen: gRPC's callback API reports OK for it.
  struct pending {
    grpc::ClientContext ctx;
    grpc::ByteBuffer req;
    grpc::ByteBuffer resp;
    std::shared_ptr<grpc::GenericStub> stub;  // keeps the channel alive
  };

  template <class Resp, class Req>
  void start(const config::proxy_config& p, std::string_view name, call_kind kind,
             std::unique_ptr<Req> req, header_list& headers, done_fn& done, const char* method) {
    proxy_metrics::children mc{};
    if (m_) mc = m_->for_call("grpc", kind, name);
    auto stub = stub_for(p);
    if (!stub) {
      if (mc.errors) mc.errors->inc();
      outcome o;
      o.failed = failure::unsupported;
      o.detail = "bad GRPC proxy endpoint or TLS settings: " + p.endpoint_;
      std::lock_guard lock(bridge_->mu);
      boost::asio::post(*bridge_->io,
                        [done = std::move(done), o = std::move(o)]() mutable { done(o); });
      return;
    }
    auto* call = new pending();
    {
      std::string bytes = req->SerializeAsString();
      grpc::Slice slice(bytes);
      call->req = grpc::ByteBuffer(&slice, 1);
    }
    call->stub = stub;
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(p.timeout_);
    if (timeout.count() <= 0) timeout = std::chrono::milliseconds(1000);
    call->ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    if (p.grpc_.compression_) call->ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    // Static metadata first (lowest priority), then the connection's headers, then the
    // credentials pair.
    std::map<std::string, std::string> md;
    for (const auto& [k, v] : p.grpc_.static_metadata_) md[lower(k)] = v;
    for (const auto& [k, v] : headers) md[lower(k)] = v;
    if (!p.grpc_.credentials_key_.empty())
      md[lower(p.grpc_.credentials_key_)] = p.grpc_.credentials_value_;
    for (const auto& [k, v] : md)
      if (metadata_ok(k, v)) call->ctx.AddMetadata(k, v);
    if (mc.inflight) mc.inflight->add(1);
    auto started = std::chrono::steady_clock::now();
    stub->UnaryCall(
        &call->ctx, method, grpc::StubOptions(), &call->req, &call->resp,
        std::function<void(grpc::Status)>([call, b = bridge_, mc, started,
                                           done = std::move(done)](grpc::Status st) mutable {
          std::unique_ptr<pending> owned(call);
          if (mc.inflight) mc.inflight->add(-1);
          if (mc.duration)
            mc.duration->observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
          outcome o;
          if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
            o.failed = failure::timeout;
            o.detail = "GRPC deadline exceeded";
          } else if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
            o.failed = failure::unavailable;
            o.detail = "GRPC unavailable: " + st.error_message();
          } else if (!st.ok()) {
            o.failed = failure::bad_response;
            o.detail = "GRPC status " + std::to_string(static_cast<int>(st.error_code())) + ": " +
                       st.error_message();
          } else if (Resp resp; !parse(owned->resp, resp)) {
            o.failed = failure::bad_response;
            o.detail = "the answer is not a " + std::string(Resp::descriptor()->name());
          } else {
            read_envelope(resp, o.answer);
            if (o.answer.has_result && !read_result(resp, o.answer)) {
              o.failed = failure::bad_response;
              o.detail = "bad base64 in a b64 field of the result";
              o.answer = reply{};
            }
          }
          if (o.failed != failure::none && mc.errors) mc.errors->inc();
          std::lock_guard lock(b->mu);
          if (!b->io) return;
          boost::asio::post(
              *b->io, [done = std::move(done), o = std::move(o)]() mutable { done(std::move(o)); });
        }));
  }

  static bool parse(const grpc::ByteBuffer& buf, google::protobuf::Message& m) {
    std::vector<grpc::Slice> slices;
    if (!buf.Dump(&slices).ok()) return false;
    std::string bytes;
    for (const auto& sl : slices)
      bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    return m.ParseFromString(bytes);
  }

  // The stub of `p`'s endpoint, made once per loop; null when the endpoint or TLS settings
  // cannot be used.
  std::shared_ptr<grpc::GenericStub> stub_for(const config::proxy_config& p) {
    std::string target = p.endpoint_;
    if (target.starts_with("grpc://")) target.erase(0, 7);
    if (target.empty() || target.find('/') != std::string::npos) return nullptr;
    const auto& tls = p.grpc_.tls_;
    std::string key = target + (tls.enabled_ ? "|tls|" + tls.server_name_ : "");
    if (auto it = stubs_.find(key); it != stubs_.end()) return it->second;
    std::shared_ptr<grpc::ChannelCredentials> creds;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(static_cast<int>(max_response_size));
    if (tls.enabled_) {
      grpc::SslCredentialsOptions o;
      o.pem_root_certs = tls.server_ca_pem_;
      o.pem_private_key = tls.key_pem_;
      o.pem_cert_chain = tls.cert_pem_;
      creds = grpc::SslCredentials(o);
      if (!tls.server_name_.empty()) args.SetSslTargetNameOverride(tls.server_name_);
    } else {
      creds = grpc::InsecureChannelCredentials();
    }
    auto channel = grpc::CreateCustomChannel(target, creds, args);
    if (!channel) return nullptr;
    auto stub = std::make_shared<grpc::GenericStub>(channel);
    stubs_.emplace(std::move(key), stub);
    return stub;
  }

  std::shared_ptr<bridge> bridge_;
  proxy_metrics* m_;
  std::map<std::string, std::shared_ptr<grpc::GenericStub>> stubs_;
};

}  // namespace

std::unique_ptr<transport> make_grpc_transport(boost::asio::io_context& io,
                                               proxy_metrics* metrics) {
  return std::make_unique<grpc_transport>(io, metrics);
}

}  // namespace gyre::proxy
