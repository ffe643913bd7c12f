// server: wiring and lifecycle; see server.hpp.
#include "app/server.hpp"
#include "app/admin_web_proxy.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "admin/admin_handler.hpp"
#include "api/api_metrics.hpp"
#include "api/executor.hpp"
#include "api/http_api.hpp"
#include "app/client_transports.hpp"
#include "app/engines.hpp"
#include "app/grpc_api_setup.hpp"
#include "app/memory_release.hpp"
#include "app/token_keys.hpp"
#include "app/tracing_setup.hpp"
#include "app/unsupported.hpp"
#include "auth/token_verifier.hpp"
#include "config/loader.hpp"
#include "config/reload_plan.hpp"
#include "config/validate.hpp"
#include "consumers/consumer_set.hpp"
#include "core/clock.hpp"
#include "core/graphite_exporter.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/process_metrics.hpp"
#include "hub/node.hpp"
#include "hub/shard.hpp"
#include "proxy/http_proxy.hpp"
#include "proxy/proxy_metrics.hpp"
#include "proxy/router.hpp"
#include "proxy/selection.hpp"
#include "proxy_grpc/grpc_proxy.hpp"
#include "tracing/tracer.hpp"
#include "transport/event_loop.hpp"
#include "transport/http_server.hpp"
#include "transport/io_thread.hpp"
#include "web/embedded/admin.hpp"
#include "web/embedded/swagger.hpp"
#include "web/static_files.hpp"

namespace gyre {

namespace {

// /health: 200 {} while every engine part is up; 500 with the failing parts otherwise.
class health_handler final : public http_handler {
 public:
  explicit health_handler(const engines& e) : engines_(e) {}
  void handle(http_request, http_reply reply) override {
    auto problems = engines_.problems();
    if (problems.empty()) return reply(http_response::json("{}"));
    std::string body;
    json_writer w(body);
    w.begin_object().key("errors").begin_array();
    for (const auto& p : problems) w.value(p);
    w.end_array().end_object();
    reply(http_response::json(std::move(body), 500));
  }

 private:
  const engines& engines_;
};

class metrics_handler final : public http_handler {
 public:
  explicit metrics_handler(metrics::registry& r) : registry_(r) {}
  void handle(http_request, http_reply reply) override {
    http_response r;
    r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = registry_.render();
    reply(std::move(r));
  }

 private:
  metrics::registry& registry_;
};

// prometheus.instrument_http_handlers: counts the requests a plain HTTP endpoint answers
// in centrifugo_node_incoming_http_requests_total{path, method, status}. `path` is the
// route's prefix (never the requested path, which a client chooses), methods outside the
// standard ones count as "other": the number of series stays bounded.
class counted_handler final : public http_handler {
 public:
  counted_handler(std::shared_ptr<http_handler> inner, std::string path,
                  metrics::family<metrics::counter>& requests)
      : inner_(std::move(inner)), path_(std::move(path)), requests_(requests) {}

  http_admission admit(const http_request& head) override {
    auto a = inner_->admit(head);
    if (a.refusal) count(head.method, a.refusal->status);
    return a;
  }
  void handle(http_request req, http_reply reply) override {
    std::string method = req.method;
    inner_->handle(std::move(req),
                   [this, method = std::move(method), reply = std::move(reply)](http_response r) {
                     count(method, r.status);
                     reply(std::move(r));
                   });
  }

 private:
  void count(std::string_view method, unsigned status) {
    static constexpr std::string_view known[] = {"GET",  "POST",    "PUT",  "DELETE",
                                                 "HEAD", "OPTIONS", "PATCH"};
    std::string_view m = "other";
    for (auto k : known)
      if (method == k) m = k;
    requests_.with({path_, std::string(m), std::to_string(status)}).inc();
  }

  std::shared_ptr<http_handler> inner_;
  std::string path_;
  metrics::family<metrics::counter>& requests_;
};

// Raises the soft descriptor limit to the hard one: every connection is a descriptor.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  if (rl.rlim_cur < 65536)
    log::warn(
        "open file limit is {}: the server cannot hold more connections than that "
        "(raise it with ulimit -n or LimitNOFILE)",
        static_cast<unsigned long long>(rl.rlim_cur));
}

std::string with_slash(std::string prefix) {
  if (prefix.empty() || prefix[0] != '/') prefix.insert(prefix.begin(), '/');
  return prefix;
}

}  // namespace

struct server::impl {
  // The running configuration; replaced by a reload (under reload_mu, which the main
  // thread also takes to read it).
  config::config cfg;
  std::string config_path;
  std::map<std::string, std::string> flags;
  bool had_file = false;  // the file existed at start: a reload then requires it
  std::mutex reload_mu;

  system_clock& clk = system_clock::instance();
  metrics::registry registry;
  // Outlives the hub and the API (their spans end into it); stopped after the loops.
  std::unique_ptr<tracing::tracer> tracer;
  std::unique_ptr<engines> eng;
  std::unique_ptr<node> hub;
  std::vector<std::unique_ptr<event_loop>> loops;
  // Backend proxy calls (docs/proxy.md): one transport per event loop, destroyed before
  // the loops' io_contexts.
  std::unique_ptr<proxy::proxy_metrics> proxy_metrics;
  std::vector<std::unique_ptr<proxy::transport>> proxy_transports;
  // A connection's HTTP requests after its first: one requests thread per event loop
  // (docs/design/api-threading.md).
  std::vector<std::unique_ptr<io_thread>> requests;
  std::unique_ptr<api_executor> executor;
  std::unique_ptr<api_metrics> api_stats;     // shared by the HTTP and GRPC APIs
  std::unique_ptr<grpc_api_server> grpc_api;  // grpc_api.enabled
  // The enabled consumers[] (docs/consumers.md); stopped first at shutdown.
  std::unique_ptr<consumers::consumer_set> consumer_set;
  std::unique_ptr<admin_web_proxy> web_proxy;  // admin.web_proxy_address; outlives listeners
  std::vector<std::unique_ptr<http_server>> listeners;
  std::unique_ptr<graphite::exporter> graphite_exporter;  // graphite.enabled

  // A start that failed half way: the broker lets go of the requests threads before they
  // are destroyed (after shutdown() it already has).
  ~impl() {
    if (eng) eng->release_requests_threads();
  }
  std::string start();
  void shutdown();
  reload_result reload();
};

server::server(config::config cfg, std::string config_path,
               std::map<std::string, std::string> flags)
    : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->config_path = std::move(config_path);
  impl_->flags = std::move(flags);
  std::error_code ec;
  impl_->had_file = !impl_->config_path.empty() && std::filesystem::exists(impl_->config_path, ec);
}

server::~server() = default;

std::string server::impl::start() {
  raise_fd_limit();
  for (const auto& w : unsupported_settings(cfg)) log::warn("{}", w);
  for (const auto& w : proxy::unsupported_proxies(cfg)) log::warn("{}", w);
  auto shared_cfg = std::make_shared<const config::config>(cfg);
  std::string err;
  eng = make_engines(*shared_cfg, clk, err);
  if (!eng) return err;

  unsigned n = static_cast<unsigned>(cfg.gyre_.num_event_loops_);
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  metrics::add_process_collector(registry);
  hub = std::make_unique<node>(shared_cfg, *eng->broker, *eng->presence, clk, registry, n);
  if (std::string e = install_token_verifiers(*hub, *shared_cfg); !e.empty()) return e;
  tracer = make_tracer(cfg, *hub, registry, err);
  if (!err.empty()) return err;
  if (tracer) {
    tracer->start();
    if (tracer->client_commands()) hub->set_tracer(tracer.get());
  }
  registry.add_collector([e = eng.get()](std::vector<metrics::collected_family>& out) {
    metrics::collected_family f{"gyre_engine_healthy",
                                "1 while every engine part (broker, presence, control) is up.",
                                metrics::kind::gauge,
                                {}};
    f.samples.push_back({"", {}, e->problems().empty() ? 1.0 : 0.0});
    out.push_back(std::move(f));
  });
  eng->broker->start(*hub);
  hub->start_control(*eng->control);

  for (unsigned i = 0; i < n; ++i) loops.push_back(std::make_unique<event_loop>(hub->shard_at(i)));
  proxy_metrics = std::make_unique<proxy::proxy_metrics>(registry);
  for (auto& l : loops) {
    proxy_transports.push_back(
        std::make_unique<proxy::router>(proxy::make_http_transport(l->io(), proxy_metrics.get()),
                                        proxy::make_grpc_transport(l->io(), proxy_metrics.get())));
    l->hub().set_proxies(proxy_transports.back().get());
  }
  for (auto& l : loops) l->start();
  std::vector<boost::asio::io_context*> requests_ios;
  for (unsigned i = 0; i < n; ++i) {
    requests.push_back(std::make_unique<io_thread>());
    requests.back()->start();
    requests_ios.push_back(&requests.back()->io());
  }
  eng->use_requests_threads(requests_ios);

  api_limits limits;
  limits.max_batch_commands = static_cast<size_t>(cfg.gyre_.http_api_.max_batch_commands_);
  limits.max_response_size = static_cast<size_t>(cfg.gyre_.http_api_.max_response_size_);
  executor = std::make_unique<api_executor>(*hub, limits);
  api_stats = std::make_unique<api_metrics>(registry);
  std::vector<http_route> internal_routes;
  std::vector<http_route> external_routes;
  if (!cfg.http_api_.disabled_) {
    http_api_options ao;
    ao.prefix = with_slash(cfg.http_api_.handler_prefix_);
    ao.key = cfg.http_api_.key_;
    ao.insecure = cfg.http_api_.insecure_;
    ao.transport_error_mode = cfg.http_api_.error_mode_ == "transport";
    ao.max_request_body_size = static_cast<uint64_t>(cfg.gyre_.http_api_.max_request_body_size_);
    ao.tracer = tracer && tracer->api() ? tracer.get() : nullptr;
    if (!ao.insecure && ao.key.empty())
      log::warn(
          "http_api.key is empty and http_api.insecure is off: every API request will get 401");
    if (ao.prefix.size() > 1 && ao.prefix.back() == '/') ao.prefix.pop_back();
    http_route r{ao.prefix, true, std::make_shared<http_api>(*executor, ao, *api_stats)};
    (cfg.http_api_.external_ ? external_routes : internal_routes).push_back(std::move(r));
  }
  // After the HTTP API: the consumers share its duration histogram (protocol "consuming").
  consumer_set = consumers::consumer_set::create(cfg, *executor, hub->uid(), registry, err);
  if (!consumer_set) return err;
  if (cfg.health_.enabled_)
    internal_routes.push_back(
        {with_slash(cfg.health_.handler_prefix_), false, std::make_shared<health_handler>(*eng)});
  if (cfg.prometheus_.enabled_)
    internal_routes.push_back({with_slash(cfg.prometheus_.handler_prefix_), false,
                               std::make_shared<metrics_handler>(registry)});
  if (cfg.swagger_.enabled_) {
    web::static_files_options so;
    so.mount = with_slash(cfg.swagger_.handler_prefix_);
    if (so.mount.size() > 1 && so.mount.back() == '/') so.mount.pop_back();
    so.bundle = &web::embedded::swagger();
    internal_routes.push_back({so.mount, true, std::make_shared<web::static_files>(so)});
  }
  // The admin UI may sit at the root: its route matches every path, so it goes last on its
  // listener (below), after the routes it would otherwise shadow.
  std::optional<http_route> admin_route;
  if (cfg.admin_.enabled_) {
    admin::admin_options ao;
    ao.prefix = cfg.admin_.handler_prefix_.empty() ? "" : with_slash(cfg.admin_.handler_prefix_);
    if (!ao.prefix.empty() && ao.prefix.back() == '/') ao.prefix.pop_back();
    ao.password = cfg.admin_.password_;
    ao.secret = cfg.admin_.secret_;
    ao.insecure = cfg.admin_.insecure_;
    ao.web_path = cfg.admin_.web_path_;
    ao.bundle = &web::embedded::admin();
    ao.max_request_body_size = static_cast<uint64_t>(cfg.gyre_.http_api_.max_request_body_size_);
    ao.websocket_path = cfg.websocket_.disabled_ ? "" : with_slash(cfg.websocket_.handler_prefix_);
    ao.websocket_port = static_cast<uint16_t>(cfg.http_server_.port_);
    if (ao.insecure)
      log::warn("admin.insecure is on: anyone who reaches the admin endpoints is an administrator");
    else if (ao.password.empty() || ao.secret.empty())
      log::warn("admin.password or admin.secret is empty: nobody can log in to the admin UI");
    admin::admin_hooks hooks;
    hooks.sign_token = [h = hub.get()](const admin::token_request& tr, std::string& token,
                                       std::string& error) {
      auto c = h->cfg();
      const auto& block = tr.channel.empty() ? c->client_.token_ : subscription_token_block(*c);
      auto now = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      return sign_hmac_token(block, tr.user, tr.channel, tr.info, tr.ttl, now, token, error);
    };
    // The admin API's `reload` action: the same reload as SIGHUP, run on a requests thread
    // (it reads the file; the admin request may be on an event loop).
    hooks.reload = [this](std::function<void(std::string)> done) {
      boost::asio::post(requests.front()->io(), [this, done = std::move(done)] {
        reload_result r = reload();
        done(r.ok ? std::string() : r.message);
      });
    };
    if (!cfg.admin_.web_proxy_address_.empty()) {
      if (!admin_web_proxy::valid_base(cfg.admin_.web_proxy_address_))
        return "admin.web_proxy_address: must be an http:// or https:// URL with a host";
      web_proxy = std::make_unique<admin_web_proxy>(cfg.admin_.web_proxy_address_);
      hooks.web_proxy = [p = web_proxy.get()](std::string target, http_reply reply) {
        p->get(std::move(target), std::move(reply));
      };
      log::info("admin UI files proxied to {}", cfg.admin_.web_proxy_address_);
    }
    admin_route = http_route{ao.prefix.empty() ? "/" : ao.prefix, true,
                             std::make_shared<admin::admin_handler>(*executor, ao, hooks)};
  }
  if (cfg.prometheus_.enabled_ && cfg.prometheus_.instrument_http_handlers_) {
    auto& requests =
        registry.add_counter("centrifugo_node_incoming_http_requests_total",
                             "Number of incoming HTTP requests", {"path", "method", "status"});
    for (auto* routes : {&internal_routes, &external_routes})
      for (auto& r : *routes)
        r.handler = std::make_shared<counted_handler>(r.handler, r.path, requests);
    if (admin_route)
      admin_route->handler =
          std::make_shared<counted_handler>(admin_route->handler, admin_route->path, requests);
  }

  http_server_options ext;
  ext.address = cfg.http_server_.address_;
  ext.port = static_cast<uint16_t>(cfg.http_server_.port_);
  ext.websocket_enabled = !cfg.websocket_.disabled_;
  ext.websocket_path = with_slash(cfg.websocket_.handler_prefix_);
  ext.websocket_message_size_limit = static_cast<uint32_t>(cfg.websocket_.message_size_limit_);
  ext.websocket_compression = cfg.websocket_.compression_;
  ext.websocket_decompressed_size_limit = static_cast<uint32_t>(std::min<int64_t>(
      cfg.websocket_.effective_decompressed_message_size_limit(), UINT32_MAX - 1));
  ext.allowed_origins = [h = hub.get()] { return h->cfg()->client_.allowed_origins_; };
  ext.user_id_http_header = cfg.client_.user_id_http_header_;
  ext.proxy_header_names = [h = hub.get()] { return proxy::forwarded_header_names(*h->cfg()); };
  ext.max_header_size = static_cast<uint32_t>(cfg.gyre_.http_server_.max_header_size_);
  ext.routes = external_routes;
  ext.requests_ios = requests_ios;
  ext.postpone_reading = [h = hub.get()] { return h->fan_out_backlogged(); };

  std::string internal_address = cfg.http_server_.effective_internal_address();
  std::string internal_port = cfg.http_server_.effective_internal_port();
  bool same = internal_address == cfg.http_server_.address_ &&
              internal_port == std::to_string(cfg.http_server_.port_);
  std::vector<event_loop*> loop_ptrs;
  for (auto& l : loops) loop_ptrs.push_back(l.get());
  add_client_transports(cfg, *hub, loop_ptrs, ext);
  if (same) {
    for (auto& r : internal_routes) ext.routes.push_back(r);
    if (admin_route) ext.routes.push_back(*admin_route);
    listeners.push_back(std::make_unique<http_server>(loop_ptrs, ext));
  } else {
    http_server_options in;
    in.address = internal_address;
    in.port = static_cast<uint16_t>(std::stoi(internal_port));
    in.websocket_enabled = false;
    in.max_header_size = ext.max_header_size;
    in.routes = internal_routes;
    in.requests_ios = requests_ios;
    in.postpone_reading = ext.postpone_reading;
    if (admin_route) (cfg.admin_.external_ ? ext.routes : in.routes).push_back(*admin_route);
    listeners.push_back(std::make_unique<http_server>(loop_ptrs, ext));
    listeners.push_back(std::make_unique<http_server>(loop_ptrs, in));
  }
  // The GRPC API listens before the HTTP listeners: once /health answers, it is served.
  if (cfg.grpc_api_.enabled_) {
    auto go = grpc_api_options_from(cfg, tracer && tracer->api() ? tracer.get() : nullptr, err);
    if (!err.empty()) return err;
    // Half the event loops: a call is read and answered by one thread, and a second
    // polling thread per core cost context switches per call (docs/grpc-api.md).
    go.threads = std::max(1u, n / 2);
    go.backlogged = ext.postpone_reading;  // paced by the fan-out, as the HTTP API
    grpc_api = std::make_unique<grpc_api_server>(*executor, *api_stats, std::move(go));
    if (std::string e = grpc_api->start(); !e.empty()) return e;
  }
  for (auto& l : listeners)
    if (std::string e = l->start(); !e.empty()) return e;

  log::write(spdlog::level::info, "Gyre started",
             {{"version", node::version()},
              {"pid", static_cast<int64_t>(getpid())},
              {"event_loops", n},
              {"engine", eng->description},
              {"node", hub->name()}});
  log::info("serving on {}:{} (websocket {}{}{}{})", ext.address.empty() ? "*" : ext.address,
            listeners[0]->bound_port(), ext.websocket_path,
            cfg.http_api_.disabled_ ? "" : ", api " + with_slash(cfg.http_api_.handler_prefix_),
            cfg.health_.enabled_ ? ", health" : "", cfg.prometheus_.enabled_ ? ", metrics" : "");
  if (admin_route)
    log::info("admin web UI at {}/ ({} listener)",
              admin_route->path == "/" ? "" : admin_route->path,
              same || cfg.admin_.external_ ? "external" : "internal");
  if (!same)
    log::info("internal endpoints on {}:{}", internal_address.empty() ? "*" : internal_address,
              listeners[1]->bound_port());
  if (cfg.graphite_.enabled_) {
    graphite::exporter_options go;
    go.host = cfg.graphite_.host_;
    go.port = static_cast<uint16_t>(cfg.graphite_.port_);
    go.interval = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.graphite_.interval_);
    go.names = {cfg.graphite_.prefix_, hub->name(), cfg.graphite_.tags_};
    graphite_exporter =
        std::make_unique<graphite::exporter>(go, [this] { return registry.render(); });
    graphite_exporter->start();
  }
  consumer_set->start();
  return {};
}

void server::impl::shutdown() {
  log::info("shutting down");
  if (consumer_set) consumer_set->stop();
  if (graphite_exporter) graphite_exporter->stop();
  for (auto& l : listeners) l->stop();
  config::duration timeout;
  {
    std::lock_guard lock(reload_mu);
    timeout = cfg.shutdown_.timeout_;
  }
  // GRPC API calls in flight get a moment to finish (the engines still answer them).
  if (grpc_api) grpc_api->stop(1000);
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  std::atomic<bool> done{false};
  hub->shutdown([&done] { done = true; });
  while (!done && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // Give close frames a moment to leave and clients a moment to answer them. Count the
  // sockets, not the clients: a disconnected client stops counting as a connection at
  // once, its socket only when the close handshake is done. Whatever is left after the
  // grace period is deleted with the loops' pollers.
  auto grace = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < std::min(grace, deadline)) {
    size_t open = 0;
    for (auto& l : loops) open += l->sockets().live();
    if (open == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  hub->stop_control();
  for (auto& l : loops) l->stop();
  for (auto& l : loops) l->join();
  for (auto& r : requests) r->stop();
  for (auto& r : requests) r->join();
  eng->broker->stop();
  eng->presence->stop();
  // The sessions queued on the stopped io_contexts (and the handlers an engine callback
  // may still have posted to them) are destroyed with them, after the engines stopped.
  requests.clear();
  listeners.clear();
  // The proxy clients' sockets belong to the loops' io_contexts: gone before them.
  for (auto& l : loops) l->hub().set_proxies(nullptr);
  proxy_transports.clear();
  loops.clear();
  // Every span has ended (the loops and requests threads are gone): send what is queued.
  if (tracer) tracer->stop();
}

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

reload_result kept(std::string why) {
  log::error("config reload: keeping the running configuration: {}", why);
  return {false, "keeping the running configuration: " + why};
}

}  // namespace

reload_result server::impl::reload() {
  std::lock_guard lock(reload_mu);
  if (!hub) return {false, "the server is not running"};
  config::load_options lo;
  lo.path_ = config_path;
  lo.require_file_ = had_file;
  lo.flags_ = flags;
  auto loaded = config::load(lo);
  for (const auto& w : loaded.warnings_) log::warn("config reload: {}", w);
  if (!loaded.ok()) return kept(loaded.error_);
  if (auto problems = config::validate(loaded.config_); !problems.empty())
    return kept(joined(problems));
  auto plan = config::plan_reload(cfg, loaded.config_);
  if (plan.changed.empty()) {
    log::info("config reload: nothing changed");
    return {true, "nothing changed"};
  }
  if (!plan.allowed())
    return kept("these keys cannot change without a restart: " + joined(plan.refused));
  token_verifiers verifiers;
  if (std::string e = make_token_verifiers(loaded.config_, verifiers); !e.empty()) return kept(e);
  if (loaded.config_.log_.level_ != cfg.log_.level_ && !log::set_level(loaded.config_.log_.level_))
    return kept("log.level: unknown level \"" + loaded.config_.log_.level_ + "\"");

  auto before = unsupported_settings(cfg);
  auto fresh = std::make_shared<const config::config>(loaded.config_);
  hub->reload(fresh, std::move(verifiers.connection), std::move(verifiers.subscription));
  cfg = std::move(loaded.config_);
  for (const auto& w : unsupported_settings(cfg))
    if (std::find(before.begin(), before.end(), w) == before.end()) log::warn("{}", w);
  std::string message = "reloaded: " + joined(plan.changed);
  log::info("config reload: {}", message);
  return {true, message};
}

reload_result server::reload() {
  return impl_->reload();
}

int server::run() {
  // Signals are taken synchronously by this thread; block them before any thread starts
  // so that every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  if (std::string e = impl_->start(); !e.empty()) {
    log::error("{}", e);
    return 1;
  }
  const std::string pid_file = impl_->cfg.pid_file_;  // pid_file never reloads
  if (!pid_file.empty()) std::ofstream(pid_file) << getpid() << "\n";

  // Memory freed after a spike goes back to the OS within seconds (docs/design/memory.md:
  // 5 s keeps a spike's pages briefly for the next burst and costs < 0.1 ms per trim).
  memory_release release(std::chrono::seconds(5));
  for (;;) {
    timespec timeout{1, 0};
    int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (sig == SIGHUP) {
      reload();
      continue;
    }
    impl_->eng->maintain();
    impl_->hub->tick_control();
    release.tick(std::chrono::steady_clock::now());
  }
  impl_->shutdown();
  if (!pid_file.empty()) ::unlink(pid_file.c_str());
  log::info("bye");
  return 0;
}

}  // namespace gyre
