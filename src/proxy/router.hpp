// router: the loop's proxy::transport that sends each call to the transport of its
// endpoint's scheme: http:// and https:// to the HTTP transport, anything else (GRPC,
// `host:port` or `grpc://host:port`) to the GRPC transport when one is installed. Without
// one the HTTP transport answers such calls as unsupported (error 100 for the client).
#pragma once

#include <memory>
#include <string_view>
#include <utility>

#include "config/blocks.hpp"
#include "proxy/proxy_call.hpp"

namespace gyre::proxy {

class router final : public transport {
 public:
  router(std::unique_ptr<transport> http, std::unique_ptr<transport> grpc = nullptr)
      : http_(std::move(http)), grpc_(std::move(grpc)) {}

  void call(const config::proxy_config& p, std::string_view name, const request& r,
            header_list headers, done_fn done) override {
    std::string_view e = p.endpoint_;
    const bool http = e.starts_with("http://") || e.starts_with("https://");
    transport& t = (http || !grpc_) ? *http_ : *grpc_;
    t.call(p, name, r, std::move(headers), std::move(done));
  }

 private:
  std::unique_ptr<transport> http_;
  std::unique_ptr<transport> grpc_;
};

}  // namespace gyre::proxy
