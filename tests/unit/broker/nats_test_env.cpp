// The NATS test environment: see the header.
#include "broker/nats_test_env.hpp"

#include <memory>
#include <thread>

#include "core/random.hpp"

namespace gyre::test {
namespace {

std::unique_ptr<nats_test_server>& server_slot() {
  static std::unique_ptr<nats_test_server> s;
  return s;
}

class nats_environment final : public ::testing::Environment {
 public:
  // Without nats-server every test skips itself (GYRE_REQUIRE_NATS, make_broker), so
  // each one shows as skipped with the reason.
  void SetUp() override {
    if (nats_test_server::find_binary().empty()) return;
    auto s = std::make_unique<nats_test_server>();
    std::string error;
    ASSERT_TRUE(s->start(0, error)) << error;
    server_slot() = std::move(s);
  }
  void TearDown() override { server_slot().reset(); }
};

[[maybe_unused]] auto* const registered = ::testing::AddGlobalTestEnvironment(new nats_environment);

}  // namespace

nats_test_server* shared_nats() {
  return server_slot().get();
}

config::nats_broker_config shared_nats_config() {
  static const std::string prefix = "gyretest_" + random_epoch();
  config::nats_broker_config cfg;
  cfg.prefix_ = prefix;
  cfg.url_ = shared_nats() ? shared_nats()->url() : "nats://127.0.0.1:1";
  return cfg;
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace gyre::test
