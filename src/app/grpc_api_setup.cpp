// grpc_api_setup: see grpc_api_setup.hpp.
#include "app/grpc_api_setup.hpp"

#include "config/pem.hpp"

namespace gyre {

grpc_api_options grpc_api_options_from(const config::config& cfg, tracing::tracer* tracer,
                                       std::string& error) {
  const auto& g = cfg.grpc_api_;
  grpc_api_options o;
  o.address = g.address_;
  o.port = static_cast<uint16_t>(g.port_);
  o.key = g.key_;
  o.transport_error_mode = g.error_mode_ == "transport";
  o.reflection = g.reflection_;
  o.max_receive_message_size = g.max_receive_message_size_;
  o.tracer = tracer;
  if (g.tls_.enabled_) {
    auto read = [&](const char* key, const std::string& value, std::string& out) {
      if (!error.empty()) return;
      auto pem = config::resolve_pem(key, value, error);
      if (pem) out = std::move(*pem);
    };
    read("grpc_api.tls.cert_pem", g.tls_.cert_pem_, o.tls_cert_pem);
    read("grpc_api.tls.key_pem", g.tls_.key_pem_, o.tls_key_pem);
    read("grpc_api.tls.client_ca_pem", g.tls_.client_ca_pem_, o.tls_client_ca_pem);
    if (error.empty() && (o.tls_cert_pem.empty() || o.tls_key_pem.empty()))
      error = "grpc_api.tls: cert_pem and key_pem are required when grpc_api.tls.enabled is on";
  }
  return o;
}

}  // namespace gyre
