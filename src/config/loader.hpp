// Loading a configuration the way Centrifugo v6 does (configuration.md §1–2):
//
//   1. `.env` in the working directory is loaded into the process environment (existing
//      variables are not overridden);
//   2. the file (`.json`, `.yaml`/`.yml`, `.toml` by extension) is parsed into one generic
//      tree; keys are matched case-insensitively;
//   3. `CENTRIFUGO_*` environment variables are applied on top (name = key path
//      upper-cased, `.` → `_`; lists space-separated; maps and object arrays as JSON;
//      `CENTRIFUGO_CHANNEL_NAMESPACES` / `_RPC_NAMESPACES` / `_PROXIES` / `_CONSUMERS`
//      also as space-separated names, each item then overridable with
//      `CENTRIFUGO_CHANNEL_NAMESPACES_<NAME>_<OPTION>` etc.);
//   4. explicitly set command-line flags are applied on top (key path → text);
//   5. the tree is mapped to `config`; zero values keep the defaults.
//
// Precedence: flag > env > file > default. A missing file is a warning unless the caller
// marks it required. Unknown keys in the file and unknown `CENTRIFUGO_*` variables
// (except `CENTRIFUGO_VAR_*` and Kubernetes service variables) become warnings that
// name the full key path, e.g. `channel.namespaces[0].histroy_size`.
//
// No exceptions escape. Validation (§7) is separate: see validate.hpp.
// Thread-safety: reads (and for .env, writes) the process environment; call it from one
// thread at a time (start-up, SIGHUP handler posted to the main loop).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/file_format.hpp"

namespace gyre::config {

struct load_options {
  // Config file path; empty = no file (env and flags only).
  std::string path_ = "config.json";
  // The path was given explicitly (or the command needs a file, like checkconfig):
  // a missing file is then an error instead of a warning.
  bool require_file_ = false;
  // Explicitly set command-line flags: key path → value text, e.g.
  // {"http_server.port", "9000"}. Values use the env syntax (lists space-separated).
  std::map<std::string, std::string> flags_;
  // `.env` file loaded into the environment first; empty = skip.
  std::string dotenv_path_ = ".env";
  // Apply CENTRIFUGO_* variables (off in tests that want a file-only view).
  bool use_env_ = true;
};

struct load_result {
  config config_;
  // Human-readable, one per problem: missing file, unknown keys, unknown env vars.
  std::vector<std::string> warnings_;
  // Just the unknown key paths and env var names (for `checkconfig --strict`).
  std::vector<std::string> unknown_keys_;
  // Empty on success; otherwise every decode error joined with "; ", each naming its key.
  std::string error_;
  bool file_found_ = false;

  bool ok() const { return error_.empty(); }
};

// Loads file + env + flags as described above.
load_result load(const load_options& options);

// Same, with the file contents given directly (`options.path_` is ignored).
load_result load_text(std::string_view text, file_format format, const load_options& options);

// Loads KEY=VALUE lines (optionally `export `, quotes, `#` comments) from `path` into the
// environment without overriding variables that are already set. Returns false if the
// file exists but cannot be read.
bool load_dotenv(const std::string& path);

// The env var name for a key path: "client.token.hmac_secret_key" →
// "CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY".
std::string env_name_for(std::string_view key_path);

// Every known variable with its value in `c` (the `defaultenv` listing), sorted by name.
// Named-array items are listed per item (CENTRIFUGO_CHANNEL_NAMESPACES_<NAME>_<OPTION>).
std::vector<std::pair<std::string, std::string>> env_listing(const config& c);

}  // namespace gyre::config
