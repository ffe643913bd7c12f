// redis_shard: see redis_shard.hpp.
#include "broker/redis/redis_shard.hpp"

#include <charconv>

#include <boost/asio/post.hpp>

#include "core/log.hpp"

namespace gyre::redis {

namespace {
constexpr int max_redirects = 5;
// Why a command queued for a dead master is taken back (connection::fail_queued): its slot
// has a new owner, to which cluster_exec() sends it.
constexpr std::string_view slot_moved = "slot moved to another node";
constexpr auto cluster_refresh_period = std::chrono::seconds(5);
// While a master the slot map uses is down: the cluster promotes its replica about
// cluster-node-timeout after it died, and commands for its slots fail until this node
// learns where they went. CLUSTER SLOTS is one small command to a live node.
constexpr auto cluster_refresh_period_degraded = std::chrono::milliseconds(250);
}  // namespace

struct shard::cluster_state {
  explicit cluster_state(asio::io_context& io) : timer(io) { slots.fill(-1); }
  mutable std::mutex mu;
  std::array<int16_t, 16384> slots;  // node index, -1 = unknown (first node tries)
  std::vector<std::shared_ptr<connection>> nodes;
  std::vector<endpoint> eps;
  bool refreshing = false;                                    // I/O thread
  std::chrono::steady_clock::time_point last_tick_refresh{};  // I/O thread
  asio::steady_timer timer;
  size_t pubsub_next = 0;
};

shard::shard(asio::io_context& io, shard_spec spec, size_t index,
             std::vector<const lua_script*> scripts)
    : io_(io), spec_(std::move(spec)), index_(index), scripts_(std::move(scripts)) {
  tls_ctx_ = make_tls(spec_.tls);
  sentinel_tls_ctx_ = make_tls(spec_.sentinel_tls);
  if (spec_.kind == shard_kind::cluster) {
    cluster_ = std::make_unique<cluster_state>(io_);
    for (const auto& ep : spec_.seeds) cluster_node(ep);
    pub_ = connection::create(io_, spec_.seeds[0], options_for("pubsub", true));
    pub_->set_resolver([this](resolve_done done) {
      endpoint ep;
      {
        std::lock_guard lock(cluster_->mu);
        ep = cluster_->eps[cluster_->pubsub_next++ % cluster_->eps.size()];
      }
      done(ep, {});
    });
  } else {
    data_ = connection::create(io_, spec_.seeds[0], options_for("data", false));
    pub_ = connection::create(io_, spec_.seeds[0], options_for("pubsub", true));
    if (spec_.kind == shard_kind::sentinel) {
      data_->set_resolver([this](resolve_done done) { query_sentinel(0, {}, std::move(done)); });
      pub_->set_resolver([this](resolve_done done) { query_sentinel(0, {}, std::move(done)); });
      auto o = sentinel_options("sentinel watch");
      o.pubsub = true;
      watch_ = connection::create(io_, spec_.seeds[0], o);
      watch_->set_resolver([this](resolve_done done) {
        // Round robin, so that a dead sentinel is not tried forever.
        watch_at_ = watch_next_++ % spec_.seeds.size();
        done(spec_.seeds[watch_at_], {});
      });
      watch_->set_state_handler([this](bool up, const std::string&) {
        if (up) watch_->send(encode_command({"SUBSCRIBE", "+switch-master"}), nullptr);
      });
      watch_->set_push_handler([this](reply&& r) { on_sentinel_event(r); });
    }
    data_->set_state_handler([this](bool up, const std::string&) {
      update_health();
      if (up && !stopped_) sub_->retry_now();
    });
  }
  sub_ = std::make_unique<subscriber>(io_, pub_);
  // The data and PUB/SUB connections of a shard come back together: when one reconnects,
  // the other skips the rest of its backoff. Otherwise, after an outage, publishes could
  // go through for up to backoff_max (2 s) while this node's PUB/SUB is still down, and
  // its clients would miss all of them (more than a recovery can bring back).
  sub_->on_state = [this](bool up) {
    update_health();
    if (!up || stopped_) return;
    if (data_) return data_->retry_now();
    std::vector<std::shared_ptr<connection>> nodes;
    {
      std::lock_guard lock(cluster_->mu);
      nodes = cluster_->nodes;
    }
    for (auto& n : nodes) n->retry_now();
  };
}

shard::~shard() = default;

std::string shard::last_error() const {
  std::vector<std::shared_ptr<connection>> conns{data_, pub_};
  if (cluster_) {
    std::lock_guard lock(cluster_->mu);
    conns.insert(conns.end(), cluster_->nodes.begin(), cluster_->nodes.end());
  }
  for (const auto& c : conns) {
    if (!c || c->up()) continue;
    if (auto why = c->last_error(); !why.empty()) return why;
  }
  return {};
}

std::string shard::describe() const {
  return "shard " + std::to_string(index_) + " (" + spec_.display + ")";
}

std::shared_ptr<asio::ssl::context> shard::make_tls(const tls_options& t) const {
  if (!t.enabled) return nullptr;
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  if (!t.server_ca_pem.empty()) {
    ctx->add_certificate_authority(asio::buffer(t.server_ca_pem), ec);
  } else {
    ctx->set_default_verify_paths(ec);
  }
  if (ec) log::warn("redis: {}: TLS CA: {}", describe(), ec.message());
  if (!t.cert_pem.empty() && !t.key_pem.empty()) {
    ctx->use_certificate_chain(asio::buffer(t.cert_pem), ec);
    if (!ec) ctx->use_private_key(asio::buffer(t.key_pem), asio::ssl::context::pem, ec);
    if (ec) log::warn("redis: {}: TLS client certificate: {}", describe(), ec.message());
  }
  ctx->set_verify_mode(t.insecure_skip_verify ? asio::ssl::verify_none : asio::ssl::verify_peer);
  return ctx;
}

connection_options shard::options_for(const std::string& role, bool pubsub) const {
  connection_options o;
  o.name = "shard " + std::to_string(index_) + " " + role;
  o.connect_timeout = spec_.connect_timeout;
  o.io_timeout = spec_.io_timeout;
  o.user = spec_.user;
  o.password = spec_.password;
  o.db = spec_.db;
  o.client_name = spec_.client_name;
  o.tls = tls_ctx_;
  o.tls_server_name = spec_.tls.server_name;
  o.tls_verify_host = !spec_.tls.insecure_skip_verify;
  o.pubsub = pubsub;
  o.require_master = spec_.kind == shard_kind::sentinel;
  if (!pubsub) {
    for (const lua_script* s : scripts_) o.setup.push_back({"SCRIPT", "LOAD", s->text});
  }
  return o;
}

void shard::start() {
  if (data_) data_->start();
  if (watch_) watch_->start();
  if (cluster_) {
    std::vector<std::shared_ptr<connection>> nodes;
    {
      std::lock_guard lock(cluster_->mu);
      nodes = cluster_->nodes;
    }
    for (auto& n : nodes) n->start();
    asio::post(io_, [this] { cluster_tick(); });
  }
  sub_->start();
}

void shard::stop_on_io() {
  stopped_ = true;
  if (data_) data_->stop_on_io();
  if (watch_) watch_->stop_on_io();
  if (cluster_) {
    cluster_->timer.cancel();
    std::vector<std::shared_ptr<connection>> nodes;
    {
      std::lock_guard lock(cluster_->mu);
      nodes = cluster_->nodes;
    }
    for (auto& n : nodes) n->stop_on_io();
  }
  sub_->stop_on_io();
  healthy_.store(false);
}

void shard::exec(std::string_view key, std::vector<std::string> args, reply_callback cb) {
  exec_args(key, std::make_shared<std::vector<std::string>>(std::move(args)), std::move(cb));
}

void shard::exec_args(std::string_view key, args_ptr args, reply_callback cb) {
  if (cluster_)
    return cluster_exec(cluster_slot(key), std::move(args), 0, nullptr, false, std::move(cb));
  send_to(data_, std::move(args), false, std::move(cb));
}

namespace {
// EVALSHA sha numkeys keys... argv...; a NOSCRIPT reply turns it into EVAL in place.
std::shared_ptr<std::vector<std::string>> evalsha_args(const lua_script& s,
                                                       std::vector<std::string> keys,
                                                       std::vector<std::string> argv) {
  auto args = std::make_shared<std::vector<std::string>>();
  args->reserve(3 + keys.size() + argv.size());
  args->push_back("EVALSHA");
  args->push_back(s.sha);
  args->push_back(std::to_string(keys.size()));
  for (auto& k : keys) args->push_back(std::move(k));
  for (auto& a : argv) args->push_back(std::move(a));
  return args;
}
}  // namespace

void shard::exec_script(const lua_script& s, std::vector<std::string> keys,
                        std::vector<std::string> argv, reply_callback cb) {
  auto args = evalsha_args(s, std::move(keys), std::move(argv));
  std::string key = (*args)[2] == "0" ? std::string() : (*args)[3];
  auto on_reply = [this, &s, args, key, cb = std::move(cb)](reply&& r) mutable {
    if (r.type == reply::kind::error && r.str.starts_with("NOSCRIPT")) {
      (*args)[0] = "EVAL";
      (*args)[1] = s.text;
      return exec_args(key, args, std::move(cb));
    }
    cb(std::move(r));
  };
  exec_args(key, args, std::move(on_reply));
}

void shard::exec_on(const std::shared_ptr<connection>& c, std::vector<std::string> args,
                    reply_callback cb) {
  send_to(c, std::make_shared<std::vector<std::string>>(std::move(args)), false, std::move(cb));
}

void shard::exec_script_on(const std::shared_ptr<connection>& c, const lua_script& s,
                           std::vector<std::string> keys, std::vector<std::string> argv,
                           reply_callback cb) {
  auto args = evalsha_args(s, std::move(keys), std::move(argv));
  std::weak_ptr<connection> weak = c;
  auto on_reply = [this, weak, &s, args, cb = std::move(cb)](reply&& r) mutable {
    if (r.type == reply::kind::error && r.str.starts_with("NOSCRIPT")) {
      if (auto conn = weak.lock()) {
        (*args)[0] = "EVAL";
        (*args)[1] = s.text;
        return send_to(conn, args, false, std::move(cb));
      }
    }
    cb(std::move(r));
  };
  send_to(c, std::move(args), false, std::move(on_reply));
}

std::shared_ptr<connection> shard::make_local_data(asio::io_context& io, size_t thread_index) {
  if (spec_.kind != shard_kind::standalone) return nullptr;
  auto c = connection::create(
      io, spec_.seeds[0],
      options_for("data (requests thread " + std::to_string(thread_index) + ")", false));
  c->start();
  return c;
}

void shard::send_to(const std::shared_ptr<connection>& c, args_ptr args, bool asking,
                    reply_callback cb) {
  std::weak_ptr<connection> weak = c;
  auto on_reply = [weak, cb = std::move(cb)](reply&& r) {
    if (r.type == reply::kind::error && r.str.starts_with("READONLY")) {
      // A master demoted by a failover: reconnect (and ask the sentinels again).
      if (auto conn = weak.lock()) conn->reset("READONLY reply: the server is no longer a master");
    }
    if (cb) cb(std::move(r));
  };
  if (asking) {
    c->send2(encode_command({"ASKING"}), nullptr, encode_command(*args), std::move(on_reply));
  } else {
    c->send(encode_command(*args), std::move(on_reply));
  }
}

std::shared_ptr<connection> shard::cluster_node(const endpoint& ep) {
  std::shared_ptr<connection> created;
  {
    std::lock_guard lock(cluster_->mu);
    for (size_t i = 0; i < cluster_->eps.size(); ++i) {
      if (cluster_->eps[i] == ep) return cluster_->nodes[i];
    }
    created = connection::create(io_, ep, options_for("node " + ep.to_string(), false));
    created->set_state_handler([this](bool up, const std::string&) {
      update_health();
      if (stopped_) return;
      if (!up) return cluster_refresh();
      if (sub_) sub_->retry_now();
    });
    cluster_->eps.push_back(ep);
    cluster_->nodes.push_back(created);
  }
  // Nodes found after start() (redirects, CLUSTER SLOTS) connect at once.
  if (sub_) created->start();
  return created;
}

void shard::cluster_exec(uint16_t slot, args_ptr args, int hops, std::shared_ptr<connection> target,
                         bool asking, reply_callback cb) {
  if (!target) {
    std::lock_guard lock(cluster_->mu);
    const int16_t idx = cluster_->slots[slot];
    target = cluster_->nodes[idx >= 0 ? static_cast<size_t>(idx) : 0];
  }
  auto on_reply = [this, slot, args, hops, cb = std::move(cb)](reply&& r) mutable {
    if (r.type == reply::kind::failure && r.str == slot_moved && hops < max_redirects &&
        !stopped_) {
      return cluster_exec(slot, args, hops + 1, nullptr, false, std::move(cb));
    }
    if (r.type == reply::kind::error && hops < max_redirects && !stopped_) {
      const bool moved = r.str.starts_with("MOVED ");
      const bool ask = r.str.starts_with("ASK ");
      if (moved || ask) {
        // "MOVED <slot> <host>:<port>"
        const auto sp = r.str.rfind(' ');
        endpoint ep;
        std::string error;
        if (sp != std::string::npos &&
            parse_endpoint(std::string_view(r.str).substr(sp + 1), ep, error)) {
          auto node = cluster_node(ep);
          if (moved) {
            {
              std::lock_guard lock(cluster_->mu);
              for (size_t i = 0; i < cluster_->eps.size(); ++i) {
                if (cluster_->eps[i] == ep) cluster_->slots[slot] = static_cast<int16_t>(i);
              }
            }
            cluster_refresh();
          }
          return cluster_exec(slot, args, hops + 1, std::move(node), ask, std::move(cb));
        }
      }
    }
    cb(std::move(r));
  };
  send_to(target, std::move(args), asking, std::move(on_reply));
}

void shard::cluster_refresh() {
  if (stopped_ || cluster_->refreshing) return;
  std::shared_ptr<connection> ask;
  {
    std::lock_guard lock(cluster_->mu);
    for (auto& n : cluster_->nodes) {
      if (n->up()) {
        ask = n;
        break;
      }
    }
    if (!ask) ask = cluster_->nodes[0];
  }
  cluster_->refreshing = true;
  std::weak_ptr<connection> weak = ask;
  ask->send(encode_command({"CLUSTER", "SLOTS"}), [this, weak](reply&& r) {
    cluster_->refreshing = false;
    if (stopped_) return;
    if (r.type != reply::kind::array) {
      log::debug("redis: {}: CLUSTER SLOTS failed: {}", describe(), r.str);
      return;
    }
    std::string asked_host;
    if (auto c = weak.lock()) asked_host = c->current_target().host;
    std::vector<std::pair<std::pair<int64_t, int64_t>, endpoint>> ranges;
    for (const auto& e : r.elements) {
      if (e.type != reply::kind::array || e.elements.size() < 3) continue;
      const auto from = e.elements[0].as_int();
      const auto to = e.elements[1].as_int();
      const auto& master = e.elements[2];
      if (!from || !to || master.type != reply::kind::array || master.elements.size() < 2) continue;
      endpoint ep;
      ep.host = master.elements[0].str;
      if (ep.host.empty() || ep.host == "?") ep.host = asked_host;
      const auto port = master.elements[1].as_int();
      if (!port) continue;
      ep.port = static_cast<uint16_t>(*port);
      ranges.push_back({{*from, *to}, ep});
    }
    for (const auto& [range, ep] : ranges) {
      cluster_node(ep);
      std::lock_guard lock(cluster_->mu);
      int16_t idx = -1;
      for (size_t i = 0; i < cluster_->eps.size(); ++i) {
        if (cluster_->eps[i] == ep) idx = static_cast<int16_t>(i);
      }
      for (int64_t s = std::max<int64_t>(0, range.first);
           s <= std::min<int64_t>(16383, range.second); ++s) {
        cluster_->slots[static_cast<size_t>(s)] = idx;
      }
    }
    // A dead node that no longer owns a slot (its replica took over): what waits in its
    // queue goes to the new owners now instead of failing at io_timeout.
    std::vector<std::shared_ptr<connection>> orphaned;
    if (!ranges.empty()) {
      std::lock_guard lock(cluster_->mu);
      std::vector<bool> owns(cluster_->nodes.size(), false);
      for (int16_t idx : cluster_->slots) {
        if (idx >= 0) owns[static_cast<size_t>(idx)] = true;
      }
      for (size_t i = 0; i < owns.size(); ++i) {
        if (!owns[i] && !cluster_->nodes[i]->up()) orphaned.push_back(cluster_->nodes[i]);
      }
    }
    for (auto& c : orphaned) c->fail_queued(std::string(slot_moved));
    update_health();
  });
}

void shard::cluster_tick() {
  if (stopped_) return;
  // Ticks at the short period, so that a master going down is followed within it; the
  // slot map is refreshed at the long period while every master it routes to is up.
  const auto now = std::chrono::steady_clock::now();
  if (!healthy() || now - cluster_->last_tick_refresh >= cluster_refresh_period) {
    cluster_->last_tick_refresh = now;
    cluster_refresh();
  }
  cluster_->timer.expires_after(cluster_refresh_period_degraded);
  cluster_->timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) cluster_tick();
  });
}

connection_options shard::sentinel_options(const std::string& role) const {
  connection_options o;
  o.name = "shard " + std::to_string(index_) + " " + role;
  o.connect_timeout = spec_.connect_timeout;
  o.io_timeout = spec_.io_timeout;
  o.user = spec_.sentinel_user;
  o.password = spec_.sentinel_password;
  o.client_name = spec_.sentinel_client_name;
  o.tls = sentinel_tls_ctx_;
  o.tls_server_name = spec_.sentinel_tls.server_name;
  o.tls_verify_host = !spec_.sentinel_tls.insecure_skip_verify;
  return o;
}

void shard::on_sentinel_event(const reply& r) {
  // ["message", "+switch-master", "<name> <old ip> <old port> <new ip> <new port>"]
  if (stopped_ || r.type != reply::kind::array || r.elements.size() != 3 ||
      r.elements[0].text() != "message") {
    return;
  }
  std::vector<std::string_view> f;
  std::string_view text = r.elements[2].text();
  while (!text.empty()) {
    const auto sp = text.find(' ');
    f.push_back(text.substr(0, sp));
    text = sp == std::string_view::npos ? std::string_view() : text.substr(sp + 1);
  }
  if (f.size() != 5 || f[0] != spec_.sentinel_master_name) return;
  endpoint master;
  master.host = std::string(f[3]);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(f[4].data(), f[4].data() + f[4].size(), port);
  if (ec != std::errc() || port == 0 || port > 65535) return;
  master.port = static_cast<uint16_t>(port);
  // This sentinel knows the new master: ask it first from now on.
  sentinel_next_ = watch_at_;
  log::info("redis: {}: the sentinels switched the master to {}", describe(), master.to_string());
  for (const auto& c : {data_, pub_}) {
    if (c->current_target() != master) c->reconnect_now("master switched to " + master.to_string());
  }
}

void shard::query_sentinel(size_t tried, std::string last_error, resolve_done done) {
  const size_t n = spec_.seeds.size();
  if (tried >= n || stopped_) return done(std::nullopt, last_error);
  const size_t which = (sentinel_next_ + tried) % n;
  const endpoint& sentinel = spec_.seeds[which];
  auto o = sentinel_options("sentinel");
  o.single_attempt = true;
  auto c = connection::create(io_, sentinel, o);
  c->start();
  c->send(encode_command({"SENTINEL", "get-master-addr-by-name", spec_.sentinel_master_name}),
          [this, c, tried, which, done = std::move(done), sentinel](reply&& r) mutable {
            asio::post(io_, [c] { c->stop_on_io(); });
            if (r.type == reply::kind::array && r.elements.size() == 2) {
              endpoint ep;
              ep.host = r.elements[0].str;
              const auto port = r.elements[1].as_int();
              if (port && *port > 0 && *port < 65536) {
                ep.port = static_cast<uint16_t>(*port);
                sentinel_next_ = which;  // ask this one first next time
                return done(ep, {});
              }
            }
            std::string why = r.is_error() ? r.str
                                           : "master \"" + spec_.sentinel_master_name +
                                                 "\" unknown to sentinel " + sentinel.to_string();
            query_sentinel(tried + 1, std::move(why), std::move(done));
          });
}

void shard::update_health() {
  if (stopped_) return;
  bool ok = sub_->up();
  if (data_) {
    ok = ok && data_->up();
  } else {
    std::lock_guard lock(cluster_->mu);
    bool any_known = false;
    std::vector<bool> used(cluster_->nodes.size(), false);
    for (int16_t idx : cluster_->slots) {
      if (idx >= 0) {
        used[static_cast<size_t>(idx)] = true;
        any_known = true;
      }
    }
    if (!any_known) used[0] = true;
    for (size_t i = 0; i < used.size(); ++i) {
      if (used[i] && !cluster_->nodes[i]->up()) ok = false;
    }
  }
  healthy_.store(ok, std::memory_order_release);
  if (ok != reported_) {
    reported_ = ok;
    if (ok) {
      log::info("redis: {} is up", describe());
    } else {
      log::warn("redis: {} is down", describe());
    }
    if (on_health) on_health(ok);
  }
}

}  // namespace gyre::redis
