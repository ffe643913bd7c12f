// The NATS test environment of nats_broker_tests: one nats-server shared by the tests
// that do not stop it, started before the first test and stopped after the last. When no
// nats-server binary exists, every test skips itself with that reason (GYRE_REQUIRE_NATS).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>

#include "broker/nats_test_server.hpp"
#include "config/config.hpp"

namespace gyre::test {

// The shared server, or null when nats-server is missing.
nats_test_server* shared_nats();

// `broker.nats` pointing at the shared server with a prefix unique to this process.
config::nats_broker_config shared_nats_config();

inline constexpr const char* nats_missing_message =
    "nats-server not found: install it (Debian: apt-get install nats-server) or set "
    "GYRE_NATS_SERVER to its path";

#define GYRE_REQUIRE_NATS()                               \
  do {                                                    \
    if (::gyre::test::shared_nats() == nullptr) {         \
      GTEST_SKIP() << ::gyre::test::nats_missing_message; \
    }                                                     \
  } while (0)

// Polls `cond` every 5 ms until it holds or `limit` passes.
bool eventually(const std::function<bool()>& cond,
                std::chrono::milliseconds limit = std::chrono::seconds(5));

}  // namespace gyre::test
