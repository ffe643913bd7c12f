// server: the one place that wires configuration to engines, the hub, event loops and
// listeners, runs them, and shuts them down in order.
//
// Start-up: validate config → raise the descriptor limit → engines → node → one event
// loop per core → listeners (external: client transports; internal: API, health,
// metrics; one listener when both resolve to the same address).
// Shutdown (SIGINT/SIGTERM): stop accepting, disconnect every client with 3001
// "shutdown" and let the close frames go out, stop the loops, stop the engines; a hard
// deadline (shutdown.timeout) bounds it. SIGHUP reloads the configuration (reload()).
//
// Threading: run() blocks the calling (main) thread, which also handles signals, the
// engines' periodic maintenance and the return of freed memory to the OS
// (memory_release.hpp).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "config/config.hpp"

namespace gyre {

// What a reload did: `ok` when the new configuration is in effect (or nothing changed);
// `message` says what changed, or why the running configuration was kept.
struct reload_result {
  bool ok = false;
  std::string message;
};

class server {
 public:
  // `config_path` and `flags` are kept for reloads.
  server(config::config cfg, std::string config_path, std::map<std::string, std::string> flags);
  ~server();

  // Runs until SIGINT/SIGTERM. Returns the process exit code.
  int run();

  // Re-reads the configuration from the same sources as at start (file, environment,
  // flags), validates it and, unless a key that needs a restart changed, publishes it for
  // new operations without touching a connection (docs/design/config-reload.md). A bad
  // file or a refused key keeps the whole running configuration. Logs the outcome.
  // SIGHUP calls it; so may an admin action. Any thread, one reload at a time; it reads
  // the file, so call it off the event loops. Only while run() is running.
  reload_result reload();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace gyre
