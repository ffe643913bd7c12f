// Test support for the Redis engine tests: real redis-server processes on free loopback
// ports (started and stopped by the tests, no persistence), a Redis Cluster of three
// masters, sentinels, and a blocking raw client for looking at what the engine wrote.
// Every wait here is bounded (a few seconds), so a broken server fails a test instead of
// hanging it.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker/redis/resp.hpp"

namespace gyre::redis_test {

// Empty when redis-server and redis-cli are on PATH, else what is missing.
std::string missing_binaries();
uint16_t free_port();
// A free port whose cluster bus port (+10000) is free too.
uint16_t free_cluster_port();

class server {
 public:
  // `extra_args` follow the standard ones on the command line. A non-empty `config_text`
  // is written to redis.conf in the server's own temporary directory and given as the
  // config file (a sentinel needs one it can rewrite: pass "--sentinel" in extra_args).
  explicit server(std::vector<std::string> extra_args = {}, std::string config_text = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Starts on `port` (0 = a free one) and waits until it answers PING (NOAUTH counts: a
  // server with requirepass is up too).
  bool start(uint16_t port = 0);
  // Sends `sig` and waits for the process to exit (SIGKILL after 5 s).
  void stop(int sig = SIGTERM);
  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }

 private:
  std::vector<std::string> extra_;
  std::string config_text_;
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// A blocking client (hiredis' synchronous API); for checks only.
class raw_client {
 public:
  // Connected (1 s timeout) to 127.0.0.1:port, plain TCP, and authenticated with AUTH
  // <password> when one is given; ok() tells whether the connection worked.
  explicit raw_client(uint16_t port, const std::string& password = {});
  ~raw_client();
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;
  bool ok() const { return ctx_ != nullptr; }
  redis::reply cmd(const std::vector<std::string>& args);
  // The next reply without sending anything (Pub/Sub messages after SUBSCRIBE).
  redis::reply next();

 private:
  void* ctx_ = nullptr;
};

// Joins three freshly started cluster-enabled servers into one cluster (redis-cli
// --cluster create) and waits until every node reports cluster_state:ok.
bool make_cluster(const std::vector<server*>& nodes, std::string& error);

}  // namespace gyre::redis_test
