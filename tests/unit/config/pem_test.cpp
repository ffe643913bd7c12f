#include "config/pem.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config_test_util.hpp"
#include "core/base64.hpp"

namespace gyre::config {
namespace {

using ::testing::HasSubstr;

constexpr const char* k_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

TEST(pem, raw_base64_and_file_forms) {
  std::string err;
  EXPECT_EQ(resolve_pem("http_server.tls.cert_pem", k_pem, err), k_pem);
  EXPECT_EQ(resolve_pem("k", base64_encode(k_pem), err), k_pem);
  test::temp_dir dir;
  std::string path = dir.write("cert.pem", k_pem);
  EXPECT_EQ(resolve_pem("k", path, err), k_pem);
  EXPECT_TRUE(err.empty());
}

TEST(pem, errors_name_the_key) {
  std::string err;
  EXPECT_FALSE(resolve_pem("http_server.tls.key_pem", "", err));
  EXPECT_TRUE(err.empty());  // nothing configured is not an error
  EXPECT_FALSE(resolve_pem("http_server.tls.key_pem", "/no/such/file.pem", err));
  EXPECT_THAT(err, HasSubstr("http_server.tls.key_pem: neither PEM text"));
  test::temp_dir dir;
  std::string path = dir.write("not.pem", "hello");
  EXPECT_FALSE(resolve_pem("grpc_api.tls.cert_pem", path, err));
  EXPECT_THAT(err, HasSubstr("grpc_api.tls.cert_pem: file"));
  EXPECT_FALSE(resolve_pem("k", base64_encode("not pem"), err));
}

}  // namespace
}  // namespace gyre::config
