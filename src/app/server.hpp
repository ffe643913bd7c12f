// server: the one place that wires configuration to engines, the hub, event loops and
// listeners, runs them, and shuts them down in order.
//
// Start-up: validate config → raise the descriptor limit → engines → node → one event
// loop per core → listeners (external: client transports; internal: API, health,
// metrics; one listener when both resolve to the same address).
// Shutdown (SIGINT/SIGTERM): stop accepting, disconnect every client with 3001
// "shutdown" and let the close frames go out, stop the loops, stop the engines; a hard
// deadline (shutdown.timeout) bounds it. SIGHUP reloads channel options and token keys.
//
// Threading: run() blocks the calling (main) thread, which also handles signals, the
// engines' periodic maintenance and the return of freed memory to the OS
// (memory_release.hpp).
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"

namespace gyre {

class server {
 public:
  // `config_path` and `flags` are kept for reloads.
  server(config::config cfg, std::string config_path, std::map<std::string, std::string> flags);
  ~server();

  // Runs until SIGINT/SIGTERM. Returns the process exit code.
  int run();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace gyre
