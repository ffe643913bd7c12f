// publisher: the sending side of gyre-bench. Publishes at a given rate (or as fast as the
// server answers) for a given time, through one of
//   - Gyre's HTTP API, one publication per request (POST <prefix>/publish),
//   - Gyre's HTTP API in batches (POST <prefix>/batch, `batch` publish commands each),
//   - a Gyre client connection (publish commands over WebSocket, JSON or Protobuf),
//   - Nchan's publisher location (POST <path with {channel}>, the payload as the body),
// over keep-alive connections, one request in flight per HTTP connection. Every payload
// carries the time it was sent ({"ts":<us>,...}) for the receivers' latency figures.
//
// Pacing: send k is due at start + k * batch / rate; when the connections are all busy
// the schedule slips and the slip is reported (max_behind_us), so a publisher that could
// not keep its rate is visible rather than hidden.
//
// Threading: one publisher is used by one thread (the coordinator's).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "load/histogram.hpp"

namespace gyre::bench {

enum class pub_via : uint8_t { api, batch, ws, nchan };

struct pub_options {
  pub_via via = pub_via::api;
  in_addr dst{};
  uint16_t port = 8000;
  std::string host_header;
  std::string path =
      "/api";          // api/batch: the API prefix; nchan: "/pub/{channel}"; ws: the endpoint
  uint32_t conns = 4;  // HTTP connections
  uint32_t batch = 1;  // publications per request (batch) or per frame (ws)
  size_t payload_size = 64;
  bool protobuf = false;  // ws
  std::string token;      // ws: connect token, if the server wants one
  std::string api_key;    // api/batch: sent as "Authorization: apikey <key>" when set
  uint32_t window = 256;  // ws: publish commands in flight
};

struct pub_result {
  uint64_t sent = 0;    // publications sent
  uint64_t ok = 0;      // acknowledged as published
  uint64_t failed = 0;  // error replies, bad statuses, lost with a connection, unanswered
  uint64_t requests = 0;
  uint64_t expected = 0;  // deliveries the acknowledged publications should cause
  uint64_t first_send_ns = 0, last_send_ns = 0, last_done_ns = 0;
  uint64_t max_behind_us = 0;
  histogram request_us;  // request round trip (HTTP) / command round trip (ws)
  std::string last_error;
};

// Channel of publication `seq` and the deliveries it should cause.
using channel_picker = std::function<void(uint64_t seq, std::string& channel, uint64_t& expected)>;

class publisher {
 public:
  explicit publisher(pub_options o);
  ~publisher();
  publisher(const publisher&) = delete;
  publisher& operator=(const publisher&) = delete;

  // Opens the connections. Returns "" or an error.
  std::string open();
  // Publishes for `seconds` at `rate` publications/s (0 = as fast as possible), then waits
  // up to `drain_s` for the answers still due.
  pub_result run(double rate, double seconds, const channel_picker& pick, double drain_s = 10);
  void close();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// Parses one HTTP/1.1 response at the front of `in`. Returns its size, 0 if incomplete,
// -1 if malformed. `body` views the body (chunked bodies: the raw chunked bytes).
long parse_http_response(std::string_view in, int& status, std::string_view& body, bool& close);

// Outcome of each command of a /api/batch response, in order: true = published.
// Returns the number of replies found (at most `n`), writing them to ok[0..].
size_t scan_batch_replies(std::string_view body, bool* ok, size_t n);

}  // namespace gyre::bench
