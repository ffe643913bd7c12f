// flooders: the abusive peers of the soak scenario (gyre-bench soak), one thread each, run
// by the coordinator next to the well-behaved clients, so that a long run shows whether
// the server holds its memory, descriptors and latency while they push at it:
//   ping      a WebSocket that sends pings and never reads (the server owes it pongs);
//   commands  a connected client that pipelines `history` commands and never reads the
//             replies;
//   api       HTTP API requests with a wrong key and 1 MB bodies, and with the right key
//             and bodies over the server's limit;
//   slow      a subscriber that reads 1 KB every 100 ms and answers no pings (the server
//             ends it after its first ping; at the soak's rates the kernel's socket
//             buffers hold what it has not read yet).
// Each flooder works at a bounded rate (the rates are options) so that today's unbounded
// server grows visibly but does not take the machine; when the server closes it (as a
// bounded server should), it counts that and connects again after 1 s, so the pressure
// lasts the whole run. Loopback only; every socket call is bounded by a timeout (1-2 s);
// stop() ends every thread within a few seconds.
// Threading: start()/stop()/counts() from the coordinator's thread; the counters are
// atomics written by the flooder threads.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace gyre::bench {

struct flood_options {
  in_addr dst{};
  uint16_t port = 8000;
  std::string host_header;
  std::string ws_path = "/connection/websocket";
  std::string api_path = "/api";
  std::string api_key;          // the right key (for the oversized bodies)
  double ping_rate = 2000;      // pings/s (0 = off)
  double command_rate = 100;    // history commands/s (0 = off)
  std::string history_channel;  // the channel the command flooder reads
  uint32_t history_limit = 100;
  double api_rate = 10;  // requests/s of each kind (0 = off)
  size_t api_wrong_key_body = 1 << 20;
  size_t api_big_body = 20 << 20;
  std::string slow_channel;       // "" = no slow reader
  double ping_interval_s = 25;    // the server's client.ping_interval (for blind pongs)
  size_t slow_read_bytes = 1024;  // per 100 ms
};

struct flood_counts {
  uint64_t pings = 0, commands = 0, api_requests = 0, api_refused = 0, slow_bytes = 0;
  uint64_t ping_reconnects = 0, command_reconnects = 0, api_reconnects = 0, slow_reconnects = 0;
};

class flooders {
 public:
  explicit flooders(flood_options o) : o_(std::move(o)) {}
  ~flooders() { stop(); }
  flooders(const flooders&) = delete;
  flooders& operator=(const flooders&) = delete;

  void start();
  void stop();
  flood_counts counts() const;

 private:
  void ping_loop();
  void command_loop();
  void api_loop(bool wrong_key);
  void slow_loop();
  int open_ws(const std::string& first_message);
  bool pause(double seconds) const;  // false once stopping

  flood_options o_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> pings_{0}, commands_{0}, api_requests_{0}, api_refused_{0}, slow_bytes_{0};
  std::atomic<uint64_t> ping_reconnects_{0}, command_reconnects_{0}, api_reconnects_{0},
      slow_reconnects_{0};
};

}  // namespace gyre::bench
