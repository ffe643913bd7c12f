// http_proxy: see http_proxy.hpp.
#include "proxy/http_proxy.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>

#include "config/blocks.hpp"
#include "core/ascii.hpp"
#include "proxy/http_client.hpp"
#include "proxy/proxy_codec.hpp"
#include "proxy/proxy_metrics.hpp"

namespace gyre::proxy {

namespace {

class http_transport final : public transport {
 public:
  http_transport(boost::asio::io_context& io, proxy_metrics* m) : io_(io), client_(io), m_(m) {}

  void call(const config::proxy_config& p, std::string_view name, const request& r,
            header_list headers, done_fn done) override {
    proxy_metrics::children mc{};
    if (m_) mc = m_->for_call("http", r.kind, name);
    auto target = parse_http_url(p.endpoint_);
    outcome early;
    std::string body;
    if (!target || target->tls) {
      early.failed = failure::unsupported;
      early.detail = target ? "https:// proxy endpoints are not supported yet"
                            : "not an http:// endpoint (GRPC proxies are not supported yet)";
    } else if (!encode_request(r, body)) {
      early.failed = failure::bad_response;
      early.detail = "the payload is not JSON (enable binary_encoding for binary data)";
    }
    if (early.failed != failure::none) {
      if (mc.errors) mc.errors->inc();
      boost::asio::post(
          io_, [done = std::move(done), o = std::move(early)]() mutable { done(std::move(o)); });
      return;
    }
    http_request_spec spec;
    spec.target = std::move(*target);
    spec.body = std::move(body);
    spec.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(p.timeout_);
    if (spec.timeout.count() <= 0) spec.timeout = std::chrono::milliseconds(1000);
    spec.max_response = max_response_size;
    // Static headers first (lowest priority), then the connection's.
    for (const auto& [k, v] : p.http_.static_headers_) spec.headers.emplace_back(k, v);
    for (auto& h : headers) {
      std::erase_if(spec.headers, [&](const auto& s) { return iequal(s.first, h.first); });
      spec.headers.push_back(std::move(h));
    }
    if (mc.inflight) mc.inflight->add(1);
    auto started = std::chrono::steady_clock::now();
    const call_kind kind = r.kind;
    client_.post(std::move(spec), [mc, started, kind, copy = p.http_.status_to_code_transforms_,
                                   done = std::move(done)](http_result hr) mutable {
      if (mc.inflight) mc.inflight->add(-1);
      if (mc.duration)
        mc.duration->observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      outcome o = outcome_of(kind, std::move(hr), copy);
      if (o.failed != failure::none && mc.errors) mc.errors->inc();
      done(std::move(o));
    });
  }

 private:
  static bool iequal(std::string_view a, std::string_view b) { return iequals_ascii(a, b); }

  boost::asio::io_context& io_;
  http_client client_;
  proxy_metrics* m_;
};

}  // namespace

outcome outcome_of(call_kind kind, http_result hr,
                   const std::vector<config::http_status_transform>& transforms) {
  outcome o;
  switch (hr.err) {
    case http_result::error::none:
      break;
    case http_result::error::timeout:
      o.failed = failure::timeout;
      o.detail = std::move(hr.detail);
      return o;
    case http_result::error::unavailable:
      o.failed = failure::unavailable;
      o.detail = std::move(hr.detail);
      return o;
    case http_result::error::too_large:
      o.failed = failure::bad_response;
      o.detail = std::move(hr.detail);
      return o;
  }
  if (hr.status != 200) {
    for (const auto& t : transforms) {
      if (t.status_code_ != static_cast<int64_t>(hr.status)) continue;
      if (t.to_disconnect_.code_ != 0) {
        o.answer.disconnect.emplace(t.to_disconnect_.code_, t.to_disconnect_.reason_);
      } else {
        reply::error_t e;
        e.code = t.to_error_.code_;
        e.message = t.to_error_.message_;
        e.temporary = t.to_error_.temporary_;
        o.answer.error = std::move(e);
      }
      return o;
    }
    o.failed = failure::status;
    o.detail = "HTTP status " + std::to_string(hr.status);
    return o;
  }
  std::string why;
  auto r = decode_reply(kind, hr.body, why);
  if (!r) {
    o.failed = failure::bad_response;
    o.detail = std::move(why);
    return o;
  }
  o.answer = std::move(*r);
  return o;
}

std::unique_ptr<transport> make_http_transport(boost::asio::io_context& io,
                                               proxy_metrics* metrics) {
  return std::make_unique<http_transport>(io, metrics);
}

}  // namespace gyre::proxy
