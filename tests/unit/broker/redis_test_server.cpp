// Test support: see redis_test_server.hpp.
#include "redis_test_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace gyre::redis_test {

namespace {

bool on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string p(path);
  size_t pos = 0;
  while (pos <= p.size()) {
    auto colon = p.find(':', pos);
    if (colon == std::string::npos) colon = p.size();
    const std::string candidate = p.substr(pos, colon - pos) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    pos = colon + 1;
  }
  return false;
}

redis::reply convert(const redisReply* r) {
  redis::reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = redis::reply::kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis::reply::kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis::reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis::reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis::reply::kind::array;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

}  // namespace

std::string missing_binaries() {
  std::string missing;
  for (const char* b : {"redis-server", "redis-cli"}) {
    if (!on_path(b)) missing += std::string(missing.empty() ? "" : ", ") + b;
  }
  return missing;
}

namespace {
bool can_bind(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

uint16_t free_cluster_port() {
  // Cluster nodes also listen on port + 10000, so the port must be <= 55535.
  for (int i = 0; i < 1000; ++i) {
    const uint16_t p = static_cast<uint16_t>(20000 + random() % 35000);
    if (can_bind(p) && can_bind(static_cast<uint16_t>(p + 10000))) return p;
  }
  return 0;
}

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

server::server(std::vector<std::string> extra_args, std::string config_text)
    : extra_(std::move(extra_args)), config_text_(std::move(config_text)) {
  char tmpl[] = "/tmp/gyre-redis-XXXXXX";
  if (::mkdtemp(tmpl) != nullptr) dir_ = tmpl;
}

server::~server() {
  stop(SIGKILL);
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

bool server::start(uint16_t port) {
  if (running()) return true;
  const bool cluster = std::find(extra_.begin(), extra_.end(), "--cluster-enabled") != extra_.end();
  if (port == 0) port = port_ != 0 ? port_ : (cluster ? free_cluster_port() : free_port());
  port_ = port;
  std::vector<std::string> argv{"redis-server"};
  if (!config_text_.empty()) {
    // Written once: a sentinel rewrites it with what it learnt, and keeps that on restart.
    const std::string conf = dir_ + "/redis.conf";
    if (!std::filesystem::exists(conf)) std::ofstream(conf) << config_text_;
    argv.push_back(conf);
  }
  argv.insert(argv.end(),
              {"--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
               "no", "--dir", dir_, "--daemonize", "no", "--loglevel", "warning"});
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  pid_ = spawn(argv, dir_ + "/redis.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    raw_client c(port_);
    if (c.ok()) {
      const auto pong = c.cmd({"PING"});
      if (pong.text() == "PONG" || pong.str.starts_with("NOAUTH")) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void server::stop(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

raw_client::raw_client(uint16_t port, const std::string& password) {
  timeval tv{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    return;
  }
  redisSetTimeout(c, tv);
  ctx_ = c;
  if (!password.empty()) cmd({"AUTH", password});
}

raw_client::~raw_client() {
  if (ctx_) redisFree(static_cast<redisContext*>(ctx_));
}

redis::reply raw_client::cmd(const std::vector<std::string>& args) {
  if (!ctx_) return redis::reply::make_failure("not connected");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(
      static_cast<redisContext*>(ctx_), static_cast<int>(args.size()), argv.data(), lens.data()));
  if (r == nullptr) return redis::reply::make_failure("no reply");
  auto out = convert(r);
  freeReplyObject(r);
  return out;
}

redis::reply raw_client::next() {
  if (!ctx_) return redis::reply::make_failure("not connected");
  void* raw = nullptr;
  if (redisGetReply(static_cast<redisContext*>(ctx_), &raw) != REDIS_OK || raw == nullptr) {
    return redis::reply::make_failure("no reply");
  }
  auto out = convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return out;
}

bool make_cluster(const std::vector<server*>& nodes, std::string& error) {
  std::vector<std::string> argv{"redis-cli", "--cluster", "create"};
  for (auto* n : nodes) argv.push_back(n->address());
  argv.push_back("--cluster-yes");
  const pid_t pid = spawn(argv, nodes[0]->dir() + "/cluster-create.log");
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      error = "redis-cli --cluster create did not finish";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = "redis-cli --cluster create failed (see " + nodes[0]->dir() + "/cluster-create.log)";
    return false;
  }
  for (auto* n : nodes) {
    bool ok = false;
    while (!ok && std::chrono::steady_clock::now() < deadline) {
      raw_client c(n->port());
      ok = c.ok() && c.cmd({"CLUSTER", "INFO"}).str.find("cluster_state:ok") != std::string::npos;
      if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!ok) {
      error = "cluster node " + n->address() + " never reported cluster_state:ok";
      return false;
    }
  }
  return true;
}

}  // namespace gyre::redis_test
