// Test support for the TLS tests of the brokers: a self-signed certificate made in memory
// with the OpenSSL API, so that no key material is checked in and nothing expires.
#pragma once

#include <string>

namespace gyre::test {

struct cert_pair {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed P-256 certificate for CN=localhost with SAN localhost and 127.0.0.1, valid
// for an hour and marked as a CA, so that the certificate is its own trust anchor.
cert_pair self_signed_localhost();

}  // namespace gyre::test
