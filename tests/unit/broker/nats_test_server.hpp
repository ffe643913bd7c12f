// nats_test_server: runs a real nats-server on 127.0.0.1 for tests and benchmarks, on a
// free port (or a given one, to restart on the same port after a fault). No GoogleTest
// dependency, so bench/ uses it too.
//
// The binary is $GYRE_NATS_SERVER when set, else `nats-server` from PATH, /usr/sbin,
// /usr/local/bin or /usr/bin. Every wait is bounded (start: 5 s, stop: 5 s then SIGKILL).
// Not thread-safe: one owner drives it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace gyre::test {

class nats_test_server {
 public:
  nats_test_server() = default;
  ~nats_test_server() { stop(); }
  nats_test_server(const nats_test_server&) = delete;
  nats_test_server& operator=(const nats_test_server&) = delete;

  // Empty when no nats-server binary can be found.
  static std::string find_binary();

  // Starts the server on `port` (0 = a free one) with `extra_args` (e.g. TLS flags) and
  // waits until it accepts connections. False with `error` set on failure. A restart
  // with port() reuses the previous extra arguments when none are given.
  bool start(int port, std::string& error, std::vector<std::string> extra_args = {});
  // Stops the server: SIGTERM, or SIGKILL at once with `hard` (a crash).
  void stop(bool hard = false);
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::vector<std::string> extra_args_;
};

// A port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

}  // namespace gyre::test
