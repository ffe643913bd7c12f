// gyre-bench: the load generator for Gyre (and, in raw mode, for any WebSocket server
// such as nginx + Nchan). Scenarios are subcommands:
//   idle       connect N clients (subscribed), hold them, report server memory and CPU
//   broadcast  N subscribers of one channel; publish at increasing rates until delivery
//              falls behind; then latency at half the peak and at fixed rates
//   channels   N clients on personal channels + K shared ones; publish through the batch
//              API as fast as the server answers; API publications/s and deliveries/s
//   storm      authenticated connections as fast as they go, in rounds
//   soak       N clients on personal + shared channels for a long time, with connection
//              churn, paced publications and a flooder of each kind (flooders.hpp);
//              server RSS, open files and latency sampled every --interval seconds and
//              the last minutes compared with the first ones after warm-up
//
// Process model: the coordinator (this process) maps the shared stats area, forks the
// worker processes (each at most ~19,000 connections: the tool may hold 20,000 open
// files per process), which run the client threads (client_worker.hpp), and then does
// the publishing itself on its main thread. It reads the workers' counters from shared
// memory, the workers' and its own CPU time and the server's CPU and memory from /proc,
// and writes one JSON result (--out) and a human summary (stdout).
//
// Every wait is bounded: connects by --connect-timeout, phases by their durations, the
// workers' exit by a 15 s grace before SIGKILL.
#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "load/client_worker.hpp"
#include "load/flooders.hpp"
#include "load/json_out.hpp"
#include "load/message_scan.hpp"
#include "load/plan.hpp"
#include "load/proc_stats.hpp"
#include "load/publisher.hpp"
#include "load/shared_stats.hpp"

namespace gyre::bench {
namespace {

constexpr uint32_t max_conns_per_proc = 19'000;

struct options {
  std::string target = "gyre";  // gyre | nchan
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  std::string ws_path;   // default: /connection/websocket (gyre), /sub/{channel} (nchan)
  std::string pub_path;  // default: /api (gyre), /pub/{channel} (nchan)
  std::string format = "json";
  uint32_t conns = 1000;
  uint32_t procs = 0;
  uint32_t threads = 2;
  double connect_rate = 5000;
  uint32_t max_pending = 256;
  uint32_t sources = 4;
  std::string channels = "one:bench";
  bool no_subscribe = false;
  bool deflate = false;
  std::string token_secret;
  int64_t token_ttl = 3600;
  std::string server_pids;
  std::string out;
  std::string label;
  uint32_t sample_every = 16;
  double settle = 2;
  double connect_timeout = 15;
  // idle
  double hold = 20;
  // broadcast
  std::string rates;
  std::string ramp = "500,1.25,20000";
  double step = 3;
  double drain = 3;
  double max_lag = 0.5;
  uint32_t retries = 1;
  std::string fixed;
  double fixed_duration = 5;
  bool no_half_peak = false;
  // publishing
  std::string via = "api";
  uint32_t pub_conns = 4;
  uint32_t batch = 100;
  size_t payload = 64;
  // channels
  double duration = 10;
  double rate = 0;
  std::string shared_ratios = "0,0.01";
  // storm
  uint32_t rounds = 3;
  // soak
  std::string api_key;
  double interval = 10;
  double warmup = 60;
  double judge_window = 120;
  double churn = 0.01;
  double flood_ping_rate = 2000;
  double flood_command_rate = 100;
  std::string flood_history_channel;
  double flood_api_rate = 10;
  std::string slow_channel;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(s * 1e6)));
}

void write_latency(json_out& j, std::string_view name, const histogram& h) {
  j.key(name).begin_object();
  j.member("count", h.total);
  j.member("p50_us", h.quantile(0.50));
  j.member("p90_us", h.quantile(0.90));
  j.member("p99_us", h.quantile(0.99));
  j.member("p999_us", h.quantile(0.999));
  j.member("max_us", h.max);
  j.member("mean_us", h.mean());
  j.end_object();
}

std::string fmt_latency(const histogram& h) {
  char b[160];
  std::snprintf(b, sizeof b, "p50 %.2f ms, p90 %.2f, p99 %.2f, p99.9 %.2f, max %.2f (n=%llu)",
                h.quantile(0.5) / 1e3, h.quantile(0.9) / 1e3, h.quantile(0.99) / 1e3,
                h.quantile(0.999) / 1e3, static_cast<double>(h.max) / 1e3,
                static_cast<unsigned long long>(h.total));
  return b;
}

class coordinator {
 public:
  explicit coordinator(options o, std::string scenario, std::string cmdline)
      : o_(std::move(o)), scenario_(std::move(scenario)), cmdline_(std::move(cmdline)) {}

  int run();

 private:
  std::string setup();
  std::string start_workers();
  void stop_workers();
  uint64_t tool_cpu_ns() const;
  proc_sample server() const { return sample_processes(server_pids_); }
  bool wait_open(double timeout_s);
  void connect_round(uint32_t r, json_out& j, bool print);
  void scenario_idle(json_out& j);
  void scenario_broadcast(json_out& j);
  void scenario_channels(json_out& j);
  void scenario_storm(json_out& j);
  void scenario_soak(json_out& j);
  void write_memory(json_out& j);
  void no_connections(json_out& j) {
    std::fprintf(stderr, "gyre-bench: no connection became ready; nothing to measure\n");
    j.member("error", "no connection became ready");
  }
  struct step_outcome {
    bool pass = false;
    double delivered_per_s = 0;
    double pub_rate = 0;
  };
  step_outcome run_step(publisher& pub, double rate, double seconds, const channel_picker& pick,
                        json_out& j, const char* kind, uint64_t subscribers);

  options o_;
  std::string scenario_;
  std::string cmdline_;
  client_plan plan_;
  pub_options pub_;
  shared_area* area_ = nullptr;
  uint32_t procs_ = 1, threads_per_proc_ = 1;
  std::vector<pid_t> workers_;
  std::vector<pid_t> server_pids_;
  proc_sample server_base_;
  uint64_t tcp_base_ = 0;
  uint64_t ready_ = 0;  // connections ready after the first round
  uint64_t wall0_ = 0, tool0_ = 0;
};

std::string coordinator::setup() {
  // The tool may hold at most 20,000 open files per process.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rlim_t want = std::min<rlim_t>(rl.rlim_max, 20000);
    if (rl.rlim_cur != want) {
      rl.rlim_cur = want;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  const bool nchan = o_.target == "nchan";
  if (o_.target != "gyre" && !nchan) return "--target must be gyre or nchan";
  if (inet_pton(AF_INET, o_.host.c_str(), &plan_.dst) != 1) return "--host must be an IPv4 address";
  if ((ntohl(plan_.dst.s_addr) >> 24) != 127) return "--host must be in 127.0.0.0/8";
  plan_.port = o_.port;
  plan_.host_header = o_.host + ":" + std::to_string(o_.port);
  plan_.ws_path = !o_.ws_path.empty() ? o_.ws_path
                  : nchan             ? "/sub/{channel}"
                                      : "/connection/websocket";
  if (nchan)
    plan_.proto = wire::raw;
  else if (o_.format == "protobuf")
    plan_.proto = wire::gyre_protobuf;
  else if (o_.format == "json")
    plan_.proto = wire::gyre_json;
  else
    return "--format must be json or protobuf";
  for (uint32_t i = 0; i < std::max<uint32_t>(1, o_.sources); ++i) {
    in_addr a{};
    a.s_addr = htonl((127u << 24) | (2u + i));  // 127.0.0.2, 127.0.0.3, ...
    plan_.sources.push_back(a);
  }
  // Channel layout: one:<name> | per-conn:<prefix> | set:<k>[:<prefix>] |
  // personal-shared:<k>[:<prefix>]
  auto parts = split(o_.channels, ':');
  if (parts.empty()) return "--channels is empty";
  if (parts[0] == "one") {
    plan_.layout = channel_layout::one;
    plan_.channel = parts.size() > 1 ? parts[1] : "bench";
  } else if (parts[0] == "per-conn") {
    plan_.layout = channel_layout::per_conn;
    plan_.channel = parts.size() > 1 ? parts[1] : "c";
  } else if (parts[0] == "set" || parts[0] == "personal-shared") {
    plan_.layout = parts[0] == "set" ? channel_layout::set : channel_layout::personal_shared;
    plan_.k = parts.size() > 1 ? static_cast<uint32_t>(std::stoul(parts[1])) : 10;
    // The prefix may contain ':' (a namespace: personal-shared:10:feed:s -> feed:s0..9).
    plan_.channel = "shared";
    for (size_t i = 2; i < parts.size(); ++i)
      plan_.channel = (i == 2 ? "" : plan_.channel + ":") + parts[i];
    if (plan_.k == 0) return "--channels: k must be > 0";
  } else {
    return "--channels: unknown layout " + parts[0];
  }
  if (nchan && plan_.layout == channel_layout::personal_shared)
    return "--channels personal-shared needs the Centrifugo protocol (one channel per Nchan URL)";
  plan_.subscribe = !o_.no_subscribe;
  plan_.deflate = o_.deflate;
  plan_.token_secret = o_.token_secret;
  if (!o_.token_secret.empty() && o_.token_ttl > 0)
    plan_.token_exp = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count() +
                      o_.token_ttl;
  plan_.conns = o_.conns;
  plan_.connect_rate = o_.connect_rate;
  plan_.max_pending = std::max<uint32_t>(1, o_.max_pending);
  plan_.connect_timeout_s = o_.connect_timeout;
  plan_.rounds = scenario_ == "storm" ? std::max<uint32_t>(1, o_.rounds) : 1;
  plan_.sample_every = std::max<uint32_t>(1, o_.sample_every);

  procs_ = o_.procs
               ? o_.procs
               : std::max<uint32_t>(1, (o_.conns + max_conns_per_proc - 1) / max_conns_per_proc);
  if (o_.conns / procs_ > 19'500) return "more than 19,500 connections per process: raise --procs";
  threads_per_proc_ = std::max<uint32_t>(1, o_.threads / procs_);
  plan_.total_threads = procs_ * threads_per_proc_;

  for (const auto& p : split(o_.server_pids, ','))
    server_pids_.push_back(static_cast<pid_t>(std::stol(p)));

  pub_.dst = plan_.dst;
  pub_.port = plan_.port;
  pub_.host_header = plan_.host_header;
  pub_.payload_size = o_.payload;
  pub_.conns = o_.pub_conns;
  pub_.batch = o_.batch;
  pub_.api_key = o_.api_key;
  plan_.churn_per_s = scenario_ == "soak" ? std::max(0.0, o_.churn) : 0;
  if (nchan) {
    pub_.via = pub_via::nchan;
    pub_.path = !o_.pub_path.empty() ? o_.pub_path : "/pub/{channel}";
  } else if (o_.via == "api" || o_.via == "batch") {
    pub_.via = o_.via == "api" ? pub_via::api : pub_via::batch;
    pub_.path = !o_.pub_path.empty() ? o_.pub_path : "/api";
  } else if (o_.via == "ws") {
    pub_.via = pub_via::ws;
    pub_.path = plan_.ws_path;
    pub_.protobuf = plan_.proto == wire::gyre_protobuf;
    if (!o_.token_secret.empty())
      pub_.token = make_hs256_token(o_.token_secret, "publisher", plan_.token_exp);
  } else {
    return "--via must be api, batch or ws";
  }
  return {};
}

std::string coordinator::start_workers() {
  area_ = shared_area::create(plan_.total_threads);
  if (!area_) return "cannot map the shared stats area";
  std::fflush(nullptr);
  for (uint32_t p = 0; p < procs_; ++p) {
    pid_t pid = fork();
    if (pid < 0) return "fork failed";
    if (pid == 0) {
      // Worker process: its threads, then exit without running the parent's atexit work.
      std::vector<std::thread> ts;
      for (uint32_t t = 0; t < threads_per_proc_; ++t)
        ts.emplace_back(
            [this, p, t] { run_client_worker(plan_, *area_, p * threads_per_proc_ + t); });
      for (auto& t : ts) t.join();
      std::fflush(nullptr);
      _exit(0);
    }
    workers_.push_back(pid);
  }
  // Wait (bounded) for every thread to prepare (tokens, connection table).
  uint64_t deadline = now_ns() + 120'000'000'000ull;
  while (area_->ctl.prepared.load() < plan_.total_threads) {
    if (now_ns() > deadline) return "worker threads did not start";
    sleep_s(0.005);
  }
  return {};
}

void coordinator::stop_workers() {
  if (!area_) return;
  area_->ctl.phase.store(static_cast<uint32_t>(run_phase::stop), std::memory_order_release);
  uint64_t deadline = now_ns() + 15'000'000'000ull;
  for (pid_t pid : workers_) {
    for (;;) {
      int status = 0;
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid || r < 0) break;
      if (now_ns() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      sleep_s(0.01);
    }
  }
  workers_.clear();
}

uint64_t coordinator::tool_cpu_ns() const {
  uint64_t t = process_cpu_ns(getpid());
  for (pid_t p : workers_) t += process_cpu_ns(p);
  return t;
}

bool coordinator::wait_open(double timeout_s) {
  uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
  while (now_ns() < deadline) {
    if (snapshot(*area_).open >= ready_) return true;
    sleep_s(0.02);
  }
  return false;
}

void coordinator::connect_round(uint32_t r, json_out& j, bool print) {
  stats_snapshot s0 = snapshot(*area_);
  proc_sample srv0 = server();
  uint64_t tool0 = tool_cpu_ns();
  uint64_t go = now_ns();
  area_->ctl.connect_round.store(r + 1, std::memory_order_release);
  double budget = o_.connect_rate > 0 ? o_.conns / o_.connect_rate : 0;
  uint64_t deadline = go + static_cast<uint64_t>((budget * 1.5 + o_.connect_timeout + 10) * 1e9);
  uint64_t next_print = go + 1'000'000'000ull;
  stats_snapshot s1;
  for (;;) {
    s1 = snapshot(*area_);
    uint64_t done = (s1.ready - s0.ready) + (s1.failed - s0.failed);
    if (done >= o_.conns || now_ns() > deadline) break;
    if (print && now_ns() > next_print) {
      std::fprintf(stderr, "  connecting: %llu ready, %llu failed\n",
                   static_cast<unsigned long long>(s1.ready - s0.ready),
                   static_cast<unsigned long long>(s1.failed - s0.failed));
      next_print += 1'000'000'000ull;
    }
    sleep_s(0.002);
  }
  uint64_t t1 = now_ns();
  uint64_t tool1 = tool_cpu_ns();
  proc_sample srv1 = server();
  uint64_t ready = s1.ready - s0.ready, failed = s1.failed - s0.failed;
  uint64_t start = s1.first_start_ns ? s1.first_start_ns : go;
  double secs = s1.last_ready_ns > start ? static_cast<double>(s1.last_ready_ns - start) / 1e9 : 0;
  double rate = secs > 0 ? static_cast<double>(ready) / secs : 0;
  histogram lat = s1.connect.minus(s0.connect);
  double wall = static_cast<double>(t1 - go) / 1e9;
  j.begin_object();
  j.member("round", r);
  j.member("ready", ready);
  j.member("failed", failed);
  j.member("seconds", secs);
  j.member("connections_per_s", rate);
  write_latency(j, "connect_latency", lat);
  j.member("tool_cpu_percent",
           wall > 0 ? static_cast<double>(tool1 - tool0) / 1e9 / wall * 100 : 0);
  if (srv1.ok && srv0.ok)
    j.member("server_cpu_percent",
             wall > 0 ? static_cast<double>(srv1.cpu_ns - srv0.cpu_ns) / 1e9 / wall * 100 : 0);
  if (s1.last_error_code) j.member("last_error_code", s1.last_error_code);
  if (s1.last_close_code) j.member("last_close_code", s1.last_close_code);
  j.member("loadavg", load_average());
  j.end_object();
  if (r == 0) ready_ = ready;
  double srv_pct = srv1.ok && srv0.ok && wall > 0
                       ? static_cast<double>(srv1.cpu_ns - srv0.cpu_ns) / 1e9 / wall * 100
                       : 0;
  std::printf(
      "[%s] round %u: %llu ready, %llu failed in %.2f s = %.0f connections/s; connect latency %s; "
      "server CPU %.0f%%, tool CPU %.0f%%\n",
      scenario_.c_str(), r, static_cast<unsigned long long>(ready),
      static_cast<unsigned long long>(failed), secs, rate, fmt_latency(lat).c_str(), srv_pct,
      wall > 0 ? static_cast<double>(tool1 - tool0) / 1e9 / wall * 100 : 0);
}

void coordinator::write_memory(json_out& j) {
  proc_sample now = server();
  uint64_t tcp = tcp_mem_pages();
  j.key("server_memory").begin_object();
  j.member("pids", o_.server_pids);
  j.member("connections", ready_);
  j.member("rss_before_kb", server_base_.rss_kb);
  j.member("rss_after_kb", now.rss_kb);
  j.member("pss_before_kb", server_base_.pss_kb);
  j.member("pss_after_kb", now.pss_kb);
  double per_rss =
      ready_ ? (static_cast<double>(now.rss_kb) - static_cast<double>(server_base_.rss_kb)) * 1024 /
                   ready_
             : 0;
  double per_pss =
      ready_ ? (static_cast<double>(now.pss_kb) - static_cast<double>(server_base_.pss_kb)) * 1024 /
                   ready_
             : 0;
  j.member("rss_per_connection_bytes", per_rss);
  j.member("pss_per_connection_bytes", per_pss);
  j.member("kernel_tcp_mem_pages_delta",
           static_cast<int64_t>(tcp) - static_cast<int64_t>(tcp_base_));
  j.end_object();
  if (server_base_.ok && now.ok)
    std::printf(
        "[%s] server memory: RSS %llu -> %llu KB, PSS %llu -> %llu KB: %.0f B RSS / %.0f B PSS per "
        "connection "
        "(kernel TCP memory +%lld pages)\n",
        scenario_.c_str(), static_cast<unsigned long long>(server_base_.rss_kb),
        static_cast<unsigned long long>(now.rss_kb),
        static_cast<unsigned long long>(server_base_.pss_kb),
        static_cast<unsigned long long>(now.pss_kb), per_rss, per_pss,
        static_cast<long long>(tcp) - static_cast<long long>(tcp_base_));
}

void coordinator::scenario_idle(json_out& j) {
  j.key("connect").begin_array();
  connect_round(0, j, true);
  j.end_array();
  if (ready_ == 0) return no_connections(j);
  sleep_s(o_.settle);
  write_memory(j);
  stats_snapshot s0 = snapshot(*area_);
  proc_sample srv0 = server();
  uint64_t tool0 = tool_cpu_ns();
  uint64_t t0 = now_ns();
  sleep_s(o_.hold);
  uint64_t t1 = now_ns();
  proc_sample srv1 = server();
  uint64_t tool1 = tool_cpu_ns();
  stats_snapshot s1 = snapshot(*area_);
  double secs = static_cast<double>(t1 - t0) / 1e9;
  double srv_cpu_s = static_cast<double>(srv1.cpu_ns - srv0.cpu_ns) / 1e9;
  double per_conn_us =
      ready_ && secs > 0 ? srv_cpu_s * 1e6 / static_cast<double>(ready_) / secs : 0;
  j.key("idle").begin_object();
  j.member("seconds", secs);
  j.member("connections", ready_);
  j.member("open_at_end", s1.open);
  j.member("lost", s1.lost - s0.lost);
  j.member("server_pings", s1.pings - s0.pings);
  j.member("pongs_sent", s1.pongs - s0.pongs);
  j.member("server_cpu_seconds", srv_cpu_s);
  j.member("server_cpu_percent", srv_cpu_s / secs * 100);
  j.member("server_cpu_us_per_connection_per_s", per_conn_us);
  j.member("tool_cpu_percent", static_cast<double>(tool1 - tool0) / 1e9 / secs * 100);
  if (s1.last_close_code) j.member("last_close_code", s1.last_close_code);
  j.end_object();
  std::printf(
      "[idle] %llu connections held %.1f s: server CPU %.3f s (%.2f%%) = %.3f us per connection "
      "per second; "
      "%llu pings, %llu lost; tool CPU %.1f%%\n",
      static_cast<unsigned long long>(ready_), secs, srv_cpu_s, srv_cpu_s / secs * 100, per_conn_us,
      static_cast<unsigned long long>(s1.pings - s0.pings),
      static_cast<unsigned long long>(s1.lost - s0.lost),
      static_cast<double>(tool1 - tool0) / 1e9 / secs * 100);
}

coordinator::step_outcome coordinator::run_step(publisher& pub, double rate, double seconds,
                                                const channel_picker& pick, json_out& j,
                                                const char* kind, uint64_t subscribers) {
  step_outcome out;
  bool all_open = wait_open(30);
  stats_snapshot s0 = snapshot(*area_);
  proc_sample srv0 = server();
  uint64_t tool0 = tool_cpu_ns();
  uint64_t t0 = now_ns();
  pub_result pr = pub.run(rate, seconds, pick, 10);
  // Wait for the deliveries still due, bounded by --drain after the last publication.
  uint64_t last = std::max(pr.last_done_ns, pr.last_send_ns);
  uint64_t deadline = last + static_cast<uint64_t>(o_.drain * 1e9);
  stats_snapshot s1;
  for (;;) {
    s1 = snapshot(*area_);
    if (s1.messages - s0.messages >= pr.expected || now_ns() > deadline) break;
    sleep_s(0.002);
  }
  uint64_t t1 = now_ns();
  proc_sample srv1 = server();
  uint64_t tool1 = tool_cpu_ns();
  uint64_t delivered = s1.messages - s0.messages;
  uint64_t lost = s1.lost - s0.lost;
  double wall = static_cast<double>(t1 - t0) / 1e9;
  uint64_t first = pr.first_send_ns ? pr.first_send_ns : t0;
  uint64_t last_msg = std::max(s1.last_msg_ns, first);
  double window = static_cast<double>(last_msg - first) / 1e9;
  double lag = s1.last_msg_ns > pr.last_send_ns
                   ? static_cast<double>(s1.last_msg_ns - pr.last_send_ns) / 1e9
                   : 0;
  double pub_secs = pr.last_send_ns > pr.first_send_ns
                        ? static_cast<double>(pr.last_send_ns - pr.first_send_ns) / 1e9
                        : seconds;
  double pub_rate = static_cast<double>(pr.ok) / std::max(pub_secs, 1e-3);
  double delivered_per_s = window > 0 ? static_cast<double>(delivered) / window : 0;
  double ratio =
      pr.expected ? static_cast<double>(delivered) / static_cast<double>(pr.expected) : 0;
  histogram lat = s1.latency.minus(s0.latency);
  double tool_pct = static_cast<double>(tool1 - tool0) / 1e9 / wall * 100;
  double srv_pct = static_cast<double>(srv1.cpu_ns - srv0.cpu_ns) / 1e9 / wall * 100;
  bool rate_kept = rate <= 0 || pub_rate >= 0.95 * rate;
  out.pass = all_open && delivered >= pr.expected && pr.expected > 0 && lost == 0 &&
             pr.failed == 0 && rate_kept && lag <= o_.max_lag;
  out.delivered_per_s = delivered_per_s;
  out.pub_rate = pub_rate;
  j.begin_object();
  j.member("kind", kind);
  j.member("target_pub_rate", rate);
  j.member("seconds", seconds);
  j.member("subscribers", subscribers);
  j.member("published_ok", pr.ok);
  j.member("publish_failed", pr.failed);
  j.member("pub_rate", pub_rate);
  j.member("publisher_max_behind_us", pr.max_behind_us);
  j.member("expected", pr.expected);
  j.member("delivered", delivered);
  j.member("delivery_ratio", ratio);
  j.member("delivered_per_s", delivered_per_s);
  j.member("drain_lag_s", lag);
  j.member("lost_connections", lost);
  j.member("pass", out.pass);
  write_latency(j, "latency", lat);
  write_latency(j, "publish_request", pr.request_us);
  j.member("server_cpu_percent", srv_pct);
  j.member("tool_cpu_percent", tool_pct);
  if (!pr.last_error.empty()) j.member("publish_error", pr.last_error);
  if (s1.last_close_code) j.member("last_close_code", s1.last_close_code);
  j.member("loadavg", load_average());
  j.end_object();
  std::printf(
      "[%s] %s %.0f pub/s x %llu: sent %.0f/s, delivered %llu/%llu (%.4f%%) = %.0f msg/s, lag %.3f "
      "s, %s; "
      "latency %s; server CPU %.0f%%, tool CPU %.0f%%%s\n",
      scenario_.c_str(), kind, rate, static_cast<unsigned long long>(subscribers), pub_rate,
      static_cast<unsigned long long>(delivered), static_cast<unsigned long long>(pr.expected),
      ratio * 100, delivered_per_s, lag, out.pass ? "PASS" : "FAIL", fmt_latency(lat).c_str(),
      srv_pct, tool_pct, pr.last_error.empty() ? "" : (" [" + pr.last_error + "]").c_str());
  std::fflush(stdout);
  return out;
}

void coordinator::scenario_broadcast(json_out& j) {
  j.key("connect").begin_array();
  connect_round(0, j, true);
  j.end_array();
  if (ready_ == 0) return no_connections(j);
  sleep_s(o_.settle);
  write_memory(j);
  area_->ctl.reconnect.store(1);
  publisher pub(pub_);
  if (std::string e = pub.open(); !e.empty()) {
    std::fprintf(stderr, "gyre-bench: publisher: %s\n", e.c_str());
    j.member("error", "publisher: " + e);
    return;
  }
  const std::string channel = plan_.channel;
  const uint64_t subs = ready_;
  channel_picker pick = [&](uint64_t, std::string& ch, uint64_t& expected) {
    ch = channel;
    expected = subs;
  };
  std::vector<double> schedule;
  if (!o_.rates.empty()) {
    for (auto& r : split(o_.rates, ',')) schedule.push_back(std::stod(r));
  } else if (!o_.ramp.empty()) {
    auto p = split(o_.ramp, ',');
    double start = std::stod(p.at(0)), factor = p.size() > 1 ? std::stod(p[1]) : 1.25,
           max = p.size() > 2 ? std::stod(p[2]) : start * 64;
    for (double r = start; r <= max && schedule.size() < 64; r *= std::max(factor, 1.01))
      schedule.push_back(std::round(r));
  }
  double peak_rate = 0, peak_delivered = 0;
  j.key("steps").begin_array();
  for (size_t i = 0; i < schedule.size(); ++i) {
    step_outcome so = run_step(pub, schedule[i], o_.step, pick, j, "ramp", subs);
    uint32_t tries = 0;
    while (!so.pass && tries++ < o_.retries) {
      sleep_s(1);
      so = run_step(pub, schedule[i], o_.step, pick, j, "ramp-retry", subs);
    }
    if (!so.pass) break;
    if (so.delivered_per_s > peak_delivered) {
      peak_delivered = so.delivered_per_s;
      peak_rate = schedule[i];
    }
    sleep_s(0.3);
  }
  if (peak_rate > 0 && !o_.no_half_peak) {
    sleep_s(1);
    run_step(pub, peak_rate / 2, o_.fixed_duration, pick, j, "half-peak", subs);
  }
  for (auto& r : split(o_.fixed, ',')) {
    sleep_s(1);
    run_step(pub, std::stod(r), o_.fixed_duration, pick, j, "fixed", subs);
  }
  j.end_array();
  j.key("peak").begin_object();
  j.member("pub_rate", peak_rate);
  j.member("delivered_per_s", peak_delivered);
  j.member("subscribers", subs);
  j.end_object();
  std::printf(
      "[broadcast] peak with 100%% delivery: %.0f pub/s x %llu subscribers = %.0f deliveries/s\n",
      peak_rate, static_cast<unsigned long long>(subs), peak_delivered);
}

void coordinator::scenario_channels(json_out& j) {
  j.key("connect").begin_array();
  connect_round(0, j, true);
  j.end_array();
  if (ready_ == 0) return no_connections(j);
  sleep_s(o_.settle);
  write_memory(j);
  publisher pub(pub_);
  if (std::string e = pub.open(); !e.empty()) {
    std::fprintf(stderr, "gyre-bench: publisher: %s\n", e.c_str());
    j.member("error", "publisher: " + e);
    return;
  }
  std::mt19937_64 rng(42);
  const client_plan& p = plan_;
  double shared_ratio = 0;
  channel_picker pick = [&](uint64_t, std::string& ch, uint64_t& expected) {
    uint64_t r = rng();
    double u = static_cast<double>(r >> 11) * (1.0 / 9007199254740992.0);
    if (u < shared_ratio) {
      uint32_t k = static_cast<uint32_t>(r % p.k);
      ch = p.channel + std::to_string(k);
      expected = members_of_set(p, k);
    } else {
      uint32_t i = static_cast<uint32_t>(r % p.conns);
      ch = p.layout == channel_layout::personal_shared ? "u" + std::to_string(i)
                                                       : channels_for(p, i).front();
      expected = p.layout == channel_layout::set   ? members_of_set(p, i % p.k)
                 : p.layout == channel_layout::one ? ready_
                                                   : 1;
    }
  };
  // One step per share of shared-channel publications (personal only first, by default).
  std::vector<double> ratios;
  for (auto& r : split(o_.shared_ratios, ',')) ratios.push_back(std::stod(r));
  if (ratios.empty() || p.layout != channel_layout::personal_shared) ratios = {0};
  j.key("steps").begin_array();
  for (size_t i = 0; i < ratios.size(); ++i) {
    if (i) sleep_s(1);
    shared_ratio = ratios[i];
    std::string kind = std::string(o_.rate > 0 ? "fixed" : "max") +
                       " shared=" + std::to_string(shared_ratio).substr(0, 6);
    step_outcome so = run_step(pub, o_.rate, o_.duration, pick, j, kind.c_str(), ready_);
    std::printf(
        "[channels] %.2f%% to shared channels: API publications %.0f/s, deliveries %.0f/s (%s)\n",
        shared_ratio * 100, so.pub_rate, so.delivered_per_s,
        so.pass ? "all delivered" : "NOT all delivered in time");
  }
  j.end_array();
}

void coordinator::scenario_storm(json_out& j) {
  j.key("rounds").begin_array();
  for (uint32_t r = 0; r < plan_.rounds; ++r) {
    connect_round(r, j, false);
    if (r + 1 < plan_.rounds) {
      area_->ctl.close_round.store(r + 1, std::memory_order_release);
      uint64_t deadline = now_ns() + 30'000'000'000ull;
      while (area_->ctl.closed.load() < plan_.total_threads * (r + 1) && now_ns() < deadline)
        sleep_s(0.005);
      sleep_s(o_.settle);  // let the server finish closing before the next storm
    }
  }
  j.end_array();
}

namespace {

struct soak_sample {
  double t = 0;
  uint64_t rss_kb = 0, open_files = 0, open_conns = 0;
  double p99_ms = 0;
};

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

// Soak: the clients churn, the publisher publishes at --rate in windows of --interval s,
// the flooders push; after each window one sample (server RSS, open files, connections,
// latency of that window, flooders' counts). "Flat" compares the samples of the last
// --judge-window seconds with those of the first --judge-window seconds after --warmup:
// RSS within max(5 %, 16 MB), open files within 1 % of the connections + 50, p99 within
// 2x + 5 ms. The verdict is printed and stored; the exit code does not depend on it.
void coordinator::scenario_soak(json_out& j) {
  j.key("connect").begin_array();
  connect_round(0, j, true);
  j.end_array();
  if (ready_ == 0) return no_connections(j);
  sleep_s(o_.settle);
  write_memory(j);
  area_->ctl.reconnect.store(1);
  area_->ctl.churn.store(1);
  publisher pub(pub_);
  if (std::string e = pub.open(); !e.empty()) {
    std::fprintf(stderr, "gyre-bench: publisher: %s\n", e.c_str());
    j.member("error", "publisher: " + e);
    return;
  }
  flood_options fo;
  fo.dst = plan_.dst;
  fo.port = plan_.port;
  fo.host_header = plan_.host_header;
  fo.ws_path = plan_.ws_path;
  fo.api_path = pub_.path;
  fo.api_key = o_.api_key;
  fo.ping_rate = o_.flood_ping_rate;
  fo.command_rate = o_.flood_command_rate;
  fo.history_channel = o_.flood_history_channel;
  fo.api_rate = o_.flood_api_rate;
  fo.slow_channel = o_.slow_channel;
  flooders flood(fo);
  flood.start();

  std::mt19937_64 rng(7);
  const client_plan& p = plan_;
  const double shared_ratio =
      split(o_.shared_ratios, ',').empty() ? 0.01 : std::stod(split(o_.shared_ratios, ',').front());
  channel_picker pick = [&](uint64_t, std::string& ch, uint64_t& expected) {
    uint64_t r = rng();
    double u = static_cast<double>(r >> 11) * (1.0 / 9007199254740992.0);
    if (u < shared_ratio && p.layout == channel_layout::personal_shared) {
      uint32_t k = static_cast<uint32_t>(r % p.k);
      ch = p.channel + std::to_string(k);
      expected = members_of_set(p, k);
    } else {
      uint32_t i = static_cast<uint32_t>(r % p.conns);
      ch = p.layout == channel_layout::personal_shared ? "u" + std::to_string(i)
                                                       : channels_for(p, i).front();
      expected = p.layout == channel_layout::one ? ready_ : 1;
    }
  };
  const double rate = o_.rate > 0 ? o_.rate : 1000;
  std::vector<soak_sample> samples;
  uint64_t t0 = now_ns();
  stats_snapshot prev = snapshot(*area_);
  proc_sample srv_prev = server();
  flood_counts fprev = flood.counts();
  j.key("samples").begin_array();
  std::printf(
      "[soak] %6s %9s %7s %7s %8s %8s %8s %9s %7s %7s  flood: pings cmds api(refused) slow-B "
      "reconnects p/c/s\n",
      "t(s)", "RSS(MB)", "fds", "conns", "churned", "p50(ms)", "p99(ms)", "deliv/s", "pub ok",
      "srvCPU");
  while (static_cast<double>(now_ns() - t0) / 1e9 < o_.duration) {
    uint64_t w0 = now_ns();
    pub_result pr = pub.run(rate, o_.interval, pick, 2);
    uint64_t w1 = now_ns();
    stats_snapshot s = snapshot(*area_);
    proc_sample srv = server();
    flood_counts fc = flood.counts();
    uint64_t fds = server_pids_.empty() ? 0 : process_open_files(server_pids_.front());
    histogram lat = s.latency.minus(prev.latency);
    double secs = static_cast<double>(w1 - w0) / 1e9;
    soak_sample smp;
    smp.t = static_cast<double>(w1 - t0) / 1e9;
    smp.rss_kb = srv.rss_kb;
    smp.open_files = fds;
    smp.open_conns = s.open;
    smp.p99_ms = static_cast<double>(lat.quantile(0.99)) / 1e3;
    samples.push_back(smp);
    double srv_cpu = srv.ok && srv_prev.ok && secs > 0
                         ? static_cast<double>(srv.cpu_ns - srv_prev.cpu_ns) / 1e9 / secs * 100
                         : 0;
    j.begin_object();
    j.member("t_s", smp.t);
    j.member("rss_kb", srv.rss_kb);
    j.member("open_files", fds);
    j.member("open_connections", s.open);
    j.member("churned", s.churned - prev.churned);
    j.member("lost", s.lost - prev.lost);
    j.member("failed", s.failed - prev.failed);
    j.member("delivered", s.messages - prev.messages);
    j.member("expected", pr.expected);
    j.member("published", pr.ok);
    j.member("publish_failed", pr.failed);
    write_latency(j, "latency", lat);
    j.member("server_cpu_percent", srv_cpu);
    j.key("flood").begin_object();
    j.member("pings", fc.pings - fprev.pings);
    j.member("commands", fc.commands - fprev.commands);
    j.member("api_requests", fc.api_requests - fprev.api_requests);
    j.member("api_refused", fc.api_refused - fprev.api_refused);
    j.member("slow_bytes", fc.slow_bytes - fprev.slow_bytes);
    j.member("ping_reconnects", fc.ping_reconnects);
    j.member("command_reconnects", fc.command_reconnects);
    j.member("slow_reconnects", fc.slow_reconnects);
    j.end_object();
    j.end_object();
    std::printf(
        "[soak] %6.0f %9.1f %7llu %7llu %8llu %8.2f %8.2f %9.0f %7llu %6.0f%%  %llu %llu "
        "%llu(%llu) "
        "%llu %llu/%llu/%llu\n",
        smp.t, static_cast<double>(srv.rss_kb) / 1024, static_cast<unsigned long long>(fds),
        static_cast<unsigned long long>(s.open),
        static_cast<unsigned long long>(s.churned - prev.churned),
        static_cast<double>(lat.quantile(0.5)) / 1e3, smp.p99_ms,
        secs > 0 ? static_cast<double>(s.messages - prev.messages) / secs : 0,
        static_cast<unsigned long long>(pr.ok), srv_cpu,
        static_cast<unsigned long long>(fc.pings - fprev.pings),
        static_cast<unsigned long long>(fc.commands - fprev.commands),
        static_cast<unsigned long long>(fc.api_requests - fprev.api_requests),
        static_cast<unsigned long long>(fc.api_refused - fprev.api_refused),
        static_cast<unsigned long long>(fc.slow_bytes - fprev.slow_bytes),
        static_cast<unsigned long long>(fc.ping_reconnects),
        static_cast<unsigned long long>(fc.command_reconnects),
        static_cast<unsigned long long>(fc.slow_reconnects));
    std::fflush(stdout);
    prev = s;
    srv_prev = srv;
    fprev = fc;
  }
  j.end_array();
  flood.stop();
  area_->ctl.churn.store(0);

  // The verdict: first window after warm-up against the last window.
  std::vector<double> rss_a, rss_b, fds_a, fds_b, p99_a, p99_b;
  double end_t = samples.empty() ? 0 : samples.back().t;
  for (const auto& s : samples) {
    bool first = s.t >= o_.warmup && s.t < o_.warmup + o_.judge_window;
    bool last = s.t > end_t - o_.judge_window;
    if (first) {
      rss_a.push_back(static_cast<double>(s.rss_kb) / 1024);
      fds_a.push_back(static_cast<double>(s.open_files));
      p99_a.push_back(s.p99_ms);
    }
    if (last && !first) {
      rss_b.push_back(static_cast<double>(s.rss_kb) / 1024);
      fds_b.push_back(static_cast<double>(s.open_files));
      p99_b.push_back(s.p99_ms);
    }
  }
  bool judged = !rss_a.empty() && !rss_b.empty();
  double ra = mean_of(rss_a), rb = mean_of(rss_b), fa = mean_of(fds_a), fb = mean_of(fds_b);
  double pa = median_of(p99_a), pb = median_of(p99_b);
  bool rss_flat = rb - ra <= std::max(0.05 * ra, 16.0);
  bool fds_flat = fb - fa <= 0.01 * static_cast<double>(o_.conns) + 50;
  bool p99_flat = pb <= 2 * pa + 5;
  j.key("verdict").begin_object();
  j.member("judged", judged);
  j.member("first_window",
           std::to_string(o_.warmup) + "-" + std::to_string(o_.warmup + o_.judge_window));
  j.member("rss_mb_first", ra);
  j.member("rss_mb_last", rb);
  // A saw-tooth (a flood that the server cuts off and that comes back) shows as a wide
  // min-max range with a steady floor; a leak raises the floor.
  auto lo = [](const std::vector<double>& v) {
    return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
  };
  auto hi = [](const std::vector<double>& v) {
    return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
  };
  j.member("rss_mb_first_min", lo(rss_a));
  j.member("rss_mb_first_max", hi(rss_a));
  j.member("rss_mb_last_min", lo(rss_b));
  j.member("rss_mb_last_max", hi(rss_b));
  j.member("open_files_first", fa);
  j.member("open_files_last", fb);
  j.member("p99_ms_first", pa);
  j.member("p99_ms_last", pb);
  j.member("rss_flat", judged && rss_flat);
  j.member("open_files_flat", judged && fds_flat);
  j.member("p99_flat", judged && p99_flat);
  j.member("flat", judged && rss_flat && fds_flat && p99_flat);
  j.end_object();
  if (!judged)
    std::printf(
        "[soak] too short to judge: no samples after %.0f s of warm-up and in the last %.0f s\n",
        o_.warmup, o_.judge_window);
  else
    std::printf(
        "[soak] first %.0f s after warm-up vs last %.0f s: RSS %.1f -> %.1f MB (%s; min-max "
        "%.0f-%.0f -> "
        "%.0f-%.0f), open files %.0f -> %.0f (%s), p99 %.2f -> %.2f ms (%s): %s\n",
        o_.judge_window, o_.judge_window, ra, rb, rss_flat ? "flat" : "GROWS", lo(rss_a), hi(rss_a),
        lo(rss_b), hi(rss_b), fa, fb, fds_flat ? "flat" : "GROWS", pa, pb,
        p99_flat ? "flat" : "GROWS", rss_flat && fds_flat && p99_flat ? "FLAT" : "NOT FLAT");
}

int coordinator::run() {
  if (std::string e = setup(); !e.empty()) {
    std::fprintf(stderr, "gyre-bench: %s\n", e.c_str());
    return 2;
  }
  machine_info m = describe_machine();
  std::string load_start = load_average();
  server_base_ = server();
  tcp_base_ = tcp_mem_pages();
  if (!server_pids_.empty() && !server_base_.ok)
    std::fprintf(stderr, "gyre-bench: cannot read /proc for --server-pid\n");
  wall0_ = now_ns();
  if (std::string e = start_workers(); !e.empty()) {
    std::fprintf(stderr, "gyre-bench: %s\n", e.c_str());
    stop_workers();
    return 1;
  }
  json_out j;
  j.begin_object();
  j.member("tool", "gyre-bench");
  j.member("scenario", scenario_);
  j.member("label", o_.label);
  j.member("target", o_.target);
  j.member("format", o_.target == "nchan" ? "raw" : o_.format);
  j.member("command", cmdline_);
  j.key("machine").begin_object();
  j.member("cpus", m.cpus);
  j.member("mem_total_kb", m.mem_total_kb);
  j.member("kernel", m.kernel);
  j.member("cpu_model", m.cpu_model);
  j.member("loadavg_start", load_start);
  j.end_object();
  j.key("config").begin_object();
  j.member("connections", o_.conns);
  j.member("procs", procs_);
  j.member("threads", plan_.total_threads);
  j.member("connect_rate", o_.connect_rate);
  j.member("channels", o_.channels);
  j.member("subscribe", plan_.subscribe);
  j.member("tokens", !o_.token_secret.empty());
  j.member("via", o_.target == "nchan" ? std::string("nchan") : o_.via);
  j.member("payload_bytes", static_cast<uint64_t>(o_.payload));
  j.member("sample_every", plan_.sample_every);
  j.end_object();

  if (scenario_ == "idle")
    scenario_idle(j);
  else if (scenario_ == "broadcast")
    scenario_broadcast(j);
  else if (scenario_ == "channels")
    scenario_channels(j);
  else if (scenario_ == "storm")
    scenario_storm(j);
  else if (scenario_ == "soak")
    scenario_soak(j);

  uint64_t tool_ns = tool_cpu_ns();
  stop_workers();
  double wall = static_cast<double>(now_ns() - wall0_) / 1e9;
  stats_snapshot fin = snapshot(*area_);
  j.key("totals").begin_object();
  j.member("wall_seconds", wall);
  j.member("tool_cpu_seconds", static_cast<double>(tool_ns) / 1e9);
  j.member("tool_cpu_percent", static_cast<double>(tool_ns) / 1e9 / wall * 100);
  j.member("messages", fin.messages);
  j.member("bytes", fin.bytes);
  j.member("lost", fin.lost);
  j.member("failed", fin.failed);
  j.member("server_closes", fin.server_closes);
  j.member("bad_samples", fin.bad_samples);
  j.member("loadavg_end", load_average());
  j.end_object();
  j.end_object();
  if (!o_.out.empty()) {
    std::ofstream f(o_.out);
    f << j.str() << "\n";
    if (!f) std::fprintf(stderr, "gyre-bench: cannot write %s\n", o_.out.c_str());
  }
  std::printf("[%s] tool CPU %.1f s over %.1f s wall (%.0f%%); load average %s -> %s\n",
              scenario_.c_str(), static_cast<double>(tool_ns) / 1e9, wall,
              static_cast<double>(tool_ns) / 1e9 / wall * 100, load_start.c_str(),
              load_average().c_str());
  return 0;
}

void add_common(CLI::App* c, options& o) {
  c->add_option("--target", o.target, "gyre (Centrifugo protocol) or nchan (raw WebSocket)")
      ->capture_default_str();
  c->add_option("--host", o.host, "server address (127.0.0.0/8 only)")->capture_default_str();
  c->add_option("--port", o.port, "server port")->capture_default_str();
  c->add_option("--ws-path", o.ws_path,
                "WebSocket path ({channel} is replaced; default per target)");
  c->add_option(
      "--pub-path", o.pub_path,
      "API prefix (gyre, default /api) or publisher path (nchan, default /pub/{channel})");
  c->add_option("--format", o.format, "json or protobuf (gyre)")->capture_default_str();
  c->add_option("-n,--conns", o.conns, "connections")->capture_default_str();
  c->add_option("--procs", o.procs, "worker processes (0 = one per 19,000 connections)")
      ->capture_default_str();
  c->add_option("--threads", o.threads, "worker threads in total")->capture_default_str();
  c->add_option("--connect-rate", o.connect_rate, "new connections per second (0 = unlimited)")
      ->capture_default_str();
  c->add_option("--max-pending", o.max_pending, "connects in progress per thread")
      ->capture_default_str();
  c->add_option("--sources", o.sources, "source addresses 127.0.0.2 .. (each adds ~28k ports)")
      ->capture_default_str();
  c->add_option(
       "--channels", o.channels,
       "one:<name> | per-conn:<prefix> | set:<k>[:<prefix>] | personal-shared:<k>[:<prefix>]")
      ->capture_default_str();
  c->add_flag("--no-subscribe", o.no_subscribe, "connect only");
  c->add_option("--token-secret", o.token_secret,
                "HS256 secret: each client u<i> connects with its own JWT");
  c->add_option("--token-ttl", o.token_ttl, "token lifetime, seconds (0 = no exp)")
      ->capture_default_str();
  c->add_option("--server-pid", o.server_pids,
                "server process ids (comma-separated) for CPU and memory");
  c->add_option("-o,--out", o.out, "JSON result file");
  c->add_option("--label", o.label, "free text stored in the result");
  c->add_option("--sample-every", o.sample_every, "read the timestamp of 1 in N pushes")
      ->capture_default_str();
  c->add_option("--settle", o.settle, "seconds to wait after connecting")->capture_default_str();
  c->add_option("--connect-timeout", o.connect_timeout,
                "seconds before an attempt counts as failed")
      ->capture_default_str();
  c->add_option("--via", o.via, "publish through: api, batch or ws (gyre)")->capture_default_str();
  c->add_option("--pub-conns", o.pub_conns, "publisher HTTP connections")->capture_default_str();
  c->add_option("--batch", o.batch, "publications per batch request / per ws frame")
      ->capture_default_str();
  c->add_option("--payload", o.payload, "publication payload size, bytes")->capture_default_str();
  c->add_flag("--deflate", o.deflate,
              "offer permessage-deflate (client_no_context_takeover) and inflate what comes");
  c->add_option("--drain", o.drain, "max seconds to wait for deliveries after publishing")
      ->capture_default_str();
}

}  // namespace
}  // namespace gyre::bench

int main(int argc, char** argv) {
  using namespace gyre::bench;
  options o;
  CLI::App app{
      "gyre-bench: load generator for Gyre (Centrifugo protocol) and raw WebSocket servers "
      "(Nchan)"};
  app.require_subcommand(1);
  auto* idle = app.add_subcommand(
      "idle", "connect N clients, hold them; server memory and CPU per connection");
  add_common(idle, o);
  idle->add_option("--hold", o.hold, "seconds to hold the connections")->capture_default_str();

  auto* bc =
      app.add_subcommand("broadcast", "N subscribers of one channel, increasing publication rates");
  add_common(bc, o);
  bc->add_option("--rates", o.rates,
                 "explicit publication rates, comma-separated (overrides --ramp)");
  bc->add_option("--ramp", o.ramp, "start,factor,max publication rates")->capture_default_str();
  bc->add_option("--step", o.step, "seconds per rate step")->capture_default_str();
  bc->add_option("--max-lag", o.max_lag,
                 "a step fails if the last delivery comes later than this after the last publish")
      ->capture_default_str();
  bc->add_option("--retries", o.retries, "retries of a failed step before the ramp stops")
      ->capture_default_str();
  bc->add_option("--fixed", o.fixed, "extra fixed-rate steps for latency, comma-separated");
  bc->add_option("--fixed-duration", o.fixed_duration, "seconds of the half-peak and fixed steps")
      ->capture_default_str();
  bc->add_flag("--no-half-peak", o.no_half_peak, "skip the latency step at half the peak rate");

  auto* ch = app.add_subcommand("channels",
                                "personal + shared channels, publishing through the batch API");
  add_common(ch, o);
  ch->add_option("--duration", o.duration, "seconds of publishing")->capture_default_str();
  ch->add_option("--rate", o.rate, "publications/s (0 = as fast as the server answers)")
      ->capture_default_str();
  ch->add_option(
        "--shared-ratio", o.shared_ratios,
        "shares of publications that go to a shared channel, one step each (comma-separated)")
      ->capture_default_str();

  auto* st = app.add_subcommand(
      "storm", "connections as fast as possible (with --token-secret: authenticated), in rounds");
  add_common(st, o);
  st->add_option("--rounds", o.rounds, "connect-all/close-all rounds")->capture_default_str();

  auto* so = app.add_subcommand(
      "soak", "long run: churn, paced publications, flooders; RSS / open files / p99 over time");
  add_common(so, o);
  so->add_option("--duration", o.duration, "seconds of the run (after connecting)")
      ->capture_default_str();
  so->add_option("--rate", o.rate, "publications/s (default 1000)");
  so->add_option("--shared-ratio", o.shared_ratios, "share of publications to a shared channel")
      ->capture_default_str();
  so->add_option("--api-key", o.api_key, "the server's http_api.key");
  so->add_option("--interval", o.interval, "seconds per sample")->capture_default_str();
  so->add_option("--warmup", o.warmup, "seconds before the first judged window")
      ->capture_default_str();
  so->add_option("--judge-window", o.judge_window, "seconds of the first and last windows compared")
      ->capture_default_str();
  so->add_option("--churn", o.churn, "share of the connections closed and reopened per second")
      ->capture_default_str();
  so->add_option("--flood-ping-rate", o.flood_ping_rate,
                 "pings/s of the non-reading ping flooder (0 = off)")
      ->capture_default_str();
  so->add_option("--flood-command-rate", o.flood_command_rate,
                 "history commands/s of the non-reading command flooder (0 = off)")
      ->capture_default_str();
  so->add_option("--flood-history-channel", o.flood_history_channel,
                 "channel the command flooder reads (needs history)");
  so->add_option("--flood-api-rate", o.flood_api_rate,
                 "wrong-key 1 MB API requests/s (and a tenth of that with 20 MB bodies; 0 = off)")
      ->capture_default_str();
  so->add_option("--slow-channel", o.slow_channel, "channel of the slow reader (1 KB per 100 ms)");

  CLI11_PARSE(app, argc, argv);
  std::string scenario = app.get_subcommands().front()->get_name();
  if (scenario == "storm" && !st->count("--connect-rate")) o.connect_rate = 0;
  if (scenario == "channels" && !ch->count("--via")) o.via = "batch";
  if (scenario == "soak") {
    if (!so->count("--via")) o.via = "batch";
    if (!so->count("--duration")) o.duration = 600;
    if (!so->count("--batch")) o.batch = 10;
    if (!so->count("--shared-ratio")) o.shared_ratios = "0.01";
  }
  std::string cmdline;
  for (int i = 0; i < argc; ++i) {
    if (i) cmdline += ' ';
    cmdline += argv[i];
  }
  signal(SIGPIPE, SIG_IGN);
  coordinator c(o, scenario, cmdline);
  return c.run();
}
