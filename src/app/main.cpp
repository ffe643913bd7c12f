// main: the `gyre` command line. Without a subcommand it runs the server, like
// `centrifugo`; the subcommands mirror Centrifugo's (genconfig, checkconfig, gentoken,
// gensubtoken, checktoken, checksubtoken, defaultconfig, defaultenv, version).
// Every CLI error exits with status 1 and a one-line message.
#include <google/protobuf/stubs/logging.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "app/server.hpp"
#include "app/token_keys.hpp"
#include "auth/jwt.hpp"
#include "auth/token_verifier.hpp"
#include "config/file_format.hpp"
#include "config/generate.hpp"
#include "config/loader.hpp"
#include "config/validate.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "hub/node.hpp"

namespace {

using namespace gyre;

int fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

// Loads and validates the config; prints warnings. Returns false with `error` set.
bool load_config(const std::string& path, bool path_given,
                 const std::map<std::string, std::string>& flags, config::config& out,
                 std::string& error, std::vector<std::string>* unknown = nullptr,
                 bool quiet_warnings = false) {
  config::load_options lo;
  lo.path_ = path;
  lo.require_file_ = path_given;
  lo.flags_ = flags;
  auto loaded = config::load(lo);
  if (!quiet_warnings)
    for (const auto& w : loaded.warnings_) log::warn("{}", w);
  if (!loaded.ok()) {
    error = loaded.error_;
    return false;
  }
  if (unknown) *unknown = loaded.unknown_keys_;
  auto problems = config::validate(loaded.config_);
  if (!problems.empty()) {
    error = problems.front();
    for (size_t i = 1; i < problems.size(); ++i) error += "; " + problems[i];
    return false;
  }
  out = std::move(loaded.config_);
  return true;
}

std::string format_ttl(int64_t seconds) {
  if (seconds < 0) return "never";
  int64_t h = seconds / 3600, m = seconds % 3600 / 60, s = seconds % 60;
  return std::to_string(h) + "h" + std::to_string(m) + "m" + std::to_string(s) + "s";
}

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int make_token(const config::config& cfg, const config::token_config& block,
               const std::string& user, const std::string& channel, int64_t ttl, bool quiet) {
  (void)cfg;
  std::string token_text, error;
  if (!sign_hmac_token(block, user, channel, "", ttl, now_unix(), token_text, error))
    return fail(error);
  if (quiet) {
    std::printf("%s\n", token_text.c_str());
  } else if (channel.empty()) {
    std::printf("HMAC SHA-256 JWT for user \"%s\" with expiration TTL %s:\n%s\n", user.c_str(),
                format_ttl(ttl > 0 ? ttl : -1).c_str(), token_text.c_str());
  } else {
    std::printf("HMAC SHA-256 JWT for user \"%s\" and channel \"%s\" with expiration TTL %s:\n%s\n",
                user.c_str(), channel.c_str(), format_ttl(ttl > 0 ? ttl : -1).c_str(),
                token_text.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // libprotobuf logs to stderr on its own (e.g. invalid UTF-8 in a client's string field):
  // route it through our logger at debug level, the client gets its 3501 anyway.
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char* file, int line, const std::string& msg) {
        log::debug("protobuf: {} ({}:{})", msg, file, line);
      });
  CLI::App app{"Gyre: a Centrifugo-compatible real-time messaging server"};
  app.set_version_flag("--version", "Gyre v" + node::version());
  std::string config_path = "config.json";
  auto* config_opt =
      app.add_option("-c,--config", config_path, "path to the config file")->capture_default_str();

  // Command-line flags for the common keys (configuration.md §8). Only flags given
  // explicitly override the file and the environment.
  struct flag_def {
    std::string key;
    std::string names;
    bool boolean;
  };
  const std::vector<flag_def> flag_defs = {
      {"pid_file", "--pid_file", false},
      {"http_server.address", "-a,--http_server.address", false},
      {"http_server.port", "-p,--http_server.port", false},
      {"http_server.internal_address", "--http_server.internal_address", false},
      {"http_server.internal_port", "--http_server.internal_port", false},
      {"engine.type", "--engine.type", false},
      {"broker.enabled", "--broker.enabled", true},
      {"broker.type", "--broker.type", false},
      {"presence_manager.enabled", "--presence_manager.enabled", true},
      {"presence_manager.type", "--presence_manager.type", false},
      {"log.level", "--log.level", false},
      {"log.file", "--log.file", false},
      {"debug.enabled", "--debug.enabled", true},
      {"admin.enabled", "--admin.enabled", true},
      {"admin.external", "--admin.external", true},
      {"admin.insecure", "--admin.insecure", true},
      {"prometheus.enabled", "--prometheus.enabled", true},
      {"swagger.enabled", "--swagger.enabled", true},
      {"health.enabled", "--health.enabled", true},
      {"init.enabled", "--init.enabled", true},
      {"client.insecure", "--client.insecure", true},
      {"http_api.insecure", "--http_api.insecure", true},
      {"http_api.external", "--http_api.external", true},
      {"gyre.num_event_loops", "--gyre.num_event_loops", false},
  };
  std::map<std::string, std::string> flag_values;
  std::vector<std::pair<const flag_def*, CLI::Option*>> flag_opts;
  for (const auto& f : flag_defs) {
    CLI::Option* o;
    std::string help = "sets " + f.key;
    if (f.boolean)
      o = app.add_flag(f.names, help);
    else
      o = app.add_option(f.names, flag_values[f.key], help);
    flag_opts.emplace_back(&f, o);
  }
  auto explicit_flags = [&] {
    std::map<std::string, std::string> out;
    for (auto& [def, opt] : flag_opts) {
      if (opt->count() == 0) continue;
      out[def->key] = def->boolean ? "true" : flag_values[def->key];
    }
    return out;
  };

  auto* version = app.add_subcommand("version", "print the version");
  auto* genconfig = app.add_subcommand("genconfig", "write a minimal config with random secrets");
  genconfig->add_option("-c,--config", config_path, "file to create (.json, .yaml, .yml, .toml)");
  auto* checkconfig = app.add_subcommand("checkconfig", "check a config file");
  bool strict = false;
  checkconfig->add_option("-c,--config", config_path, "config file");
  checkconfig->add_flag("-s,--strict", strict, "fail on unknown keys");
  auto* defaultconfig =
      app.add_subcommand("defaultconfig", "print the full effective config with defaults");
  defaultconfig->add_option("-c,--config", config_path, "config file to merge with the defaults");
  auto* defaultenv =
      app.add_subcommand("defaultenv", "print every CENTRIFUGO_* variable with its value");
  defaultenv->add_option("-c,--config", config_path, "config file to take values from");

  std::string user, channel;
  int64_t ttl = 604800;
  bool quiet = false;
  auto* gentoken = app.add_subcommand("gentoken", "generate a connection JWT (HS256)");
  gentoken->add_option("-c,--config", config_path, "config file");
  gentoken->add_option("-u,--user", user, "user ID");
  gentoken->add_option("-t,--ttl", ttl, "token lifetime in seconds (-1: no expiration)");
  gentoken->add_flag("-q,--quiet", quiet, "print only the token");
  auto* gensubtoken = app.add_subcommand("gensubtoken", "generate a subscription JWT (HS256)");
  gensubtoken->add_option("-c,--config", config_path, "config file");
  gensubtoken->add_option("-u,--user", user, "user ID");
  gensubtoken->add_option("-s,--channel", channel, "channel")->required();
  gensubtoken->add_option("-t,--ttl", ttl, "token lifetime in seconds (-1: no expiration)");
  gensubtoken->add_flag("-q,--quiet", quiet, "print only the token");
  std::string token;
  auto* checktoken = app.add_subcommand("checktoken", "verify a connection JWT");
  checktoken->add_option("-c,--config", config_path, "config file");
  checktoken->add_option("token", token, "the token")->required();
  auto* checksubtoken = app.add_subcommand("checksubtoken", "verify a subscription JWT");
  checksubtoken->add_option("-c,--config", config_path, "config file");
  checksubtoken->add_option("token", token, "the token")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / --version print and succeed; any other CLI error exits with 1 (CLI11's own
    // codes, e.g. 106 for a missing required option, are not what callers expect).
    int code = app.exit(e);
    return code == 0 ? 0 : 1;
  }

  auto given = [&](CLI::App* sub) {
    return config_opt->count() > 0 || (sub && sub->get_option("--config")->count() > 0);
  };

  if (*version) {
    std::printf("Gyre v%s (C++20; Centrifugo v6 compatible)\n", node::version().c_str());
    return 0;
  }
  if (*genconfig) {
    std::string err = config::generate_config_file(config_path);
    if (!err.empty()) return fail(err);
    std::printf("%s created\n", config_path.c_str());
    return 0;
  }
  if (*checkconfig) {
    config::config cfg;
    std::string err;
    std::vector<std::string> unknown;
    if (!load_config(config_path, true, {}, cfg, err, &unknown)) return fail(err);
    if (strict && !unknown.empty())
      return fail("unknown keys in configuration: " + unknown.front());
    std::printf("config is valid\n");
    return 0;
  }
  if (*defaultconfig || *defaultenv) {
    config::config cfg;
    std::string err;
    if (!load_config(config_path, given(*defaultconfig ? defaultconfig : defaultenv), {}, cfg, err,
                     nullptr, true))
      return fail(err);
    if (*defaultconfig) {
      std::printf("%s\n", config::dump_config(cfg).c_str());
    } else {
      for (const auto& [k, v] : config::env_listing(cfg))
        std::printf("%s=%s\n", k.c_str(), v.c_str());
    }
    return 0;
  }
  if (*gentoken || *gensubtoken) {
    config::config cfg;
    std::string err;
    if (!load_config(config_path, given(*gentoken ? gentoken : gensubtoken), {}, cfg, err, nullptr,
                     true))
      return fail(err);
    if (*gentoken) return make_token(cfg, cfg.client_.token_, user, "", ttl, quiet);
    return make_token(cfg, subscription_token_block(cfg), user, channel, ttl, quiet);
  }
  if (*checktoken || *checksubtoken) {
    config::config cfg;
    std::string err;
    if (!load_config(config_path, given(*checktoken ? checktoken : checksubtoken), {}, cfg, err,
                     nullptr, true))
      return fail(err);
    const bool sub = checksubtoken->parsed();
    auto verifier = auth::token_verifier::create(
        to_auth_config(sub ? subscription_token_block(cfg) : cfg.client_.token_, false),
        sub && cfg.client_.subscription_token_.enabled_ ? "client.subscription_token"
                                                        : "client.token");
    if (!verifier) return fail(verifier.error());
    if (sub) {
      auto claims = verifier->verify_subscription_token(token, now_unix());
      if (!claims) return fail("token is not valid: " + claims.error().reason);
      std::printf("valid subscription token for user \"%s\" and channel \"%s\"\n",
                  claims->user.c_str(), claims->channel.c_str());
    } else {
      auto claims = verifier->verify_connection_token(token, now_unix());
      if (!claims) return fail("token is not valid: " + claims.error().reason);
      std::printf("valid token for user \"%s\"", claims->user.c_str());
      if (claims->exp)
        std::printf(" with expiration at %lld", static_cast<long long>(*claims->exp));
      std::printf("\n");
    }
    return 0;
  }

  // No subcommand: run the server.
  auto flags = explicit_flags();
  config::config cfg;
  std::string err;
  config::load_options lo;
  lo.path_ = config_path;
  lo.require_file_ = config_opt->count() > 0;
  lo.flags_ = flags;
  auto loaded = config::load(lo);
  std::string level = loaded.ok() ? loaded.config_.log_.level_ : "info";
  log::format format = log::format::auto_detect;
  bool format_known = !loaded.ok() || log::parse_format(loaded.config_.gyre_.log_format_, format);
  if (!log::setup(level, loaded.ok() ? loaded.config_.log_.file_ : "", format)) {
    log::setup("info", {}, format);
    log::warn("unknown log.level \"{}\", using info", level);
  }
  if (!format_known)
    log::warn("unknown gyre.log_format \"{}\", using auto", loaded.config_.gyre_.log_format_);
  for (const auto& w : loaded.warnings_) log::warn("{}", w);
  if (!loaded.ok()) {
    log::error("{}", loaded.error_);
    return 1;
  }
  auto problems = config::validate(loaded.config_);
  if (!problems.empty()) {
    for (const auto& p : problems) log::error("{}", p);
    return 1;
  }
  server s(std::move(loaded.config_), config_path, flags);
  return s.run();
}
