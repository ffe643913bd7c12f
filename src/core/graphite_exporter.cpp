// The Graphite exporter's thread and socket; see graphite_exporter.hpp.
#include "core/graphite_exporter.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.hpp"

namespace gyre::graphite {

exporter::exporter(exporter_options o, std::function<std::string()> snapshot)
    : o_(std::move(o)), snapshot_(std::move(snapshot)) {}

exporter::~exporter() {
  stop();
}

void exporter::start() {
  thread_ = std::thread([this] { run(); });
}

void exporter::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void exporter::run() {
  log::info("graphite: sending metrics to {}:{} every {} ms", o_.host, o_.port,
            o_.interval.count());
  auto next = std::chrono::steady_clock::now() + o_.interval;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_until(lock, next, [this] { return stopping_; })) return;
    }
    next += o_.interval;
    // A round that took longer than the interval does not cause a burst of catch-up rounds.
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + o_.interval;
    round();
  }
}

void exporter::round() {
  auto unix_s = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  pending_ += lines(snapshot_(), o_.names, unix_s);
  if (pending_.size() > o_.max_buffer) {
    size_t cut = pending_.size() - o_.max_buffer;
    size_t nl = pending_.find('\n', cut - 1);
    pending_.erase(0, nl == std::string::npos ? pending_.size() : nl + 1);
  }
  if (fd_ >= 0 && peer_closed()) drop_connection("the receiver closed the connection");
  if (fd_ < 0 && !connect_now()) return;
  size_t sent = 0;
  while (sent < pending_.size()) {
    ssize_t n = ::send(fd_, pending_.data() + sent, pending_.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      pending_.erase(0, sent);
      drop_connection(n < 0 ? std::strerror(errno) : "send returned 0");
      return;
    }
    sent += static_cast<size_t>(n);
  }
  pending_.clear();
}

bool exporter::peer_closed() const {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLERR | POLLHUP)) return true;
  char buf[256];
  // Graphite never writes; anything read is discarded, 0 means the peer is gone.
  ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

void exporter::drop_connection(const std::string& why) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!failing_)
    log::warn(
        "graphite: no connection to {}:{} ({}); retrying every round, keeping up to {} "
        "bytes of lines",
        o_.host, o_.port, why, o_.max_buffer);
  failing_ = true;
}

bool exporter::connect_now() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(o_.port);
  if (int rc = ::getaddrinfo(o_.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    drop_connection(std::string("cannot resolve host: ") + ::gai_strerror(rc));
    return false;
  }
  std::string err = "no address";
  int timeout_ms = static_cast<int>(o_.io_timeout.count());
  for (addrinfo* a = res; a && fd_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, timeout_ms);
      if (rc == 0) {
        errno = ETIMEDOUT;
        rc = -1;
      } else if (rc > 0) {
        int so = 0;
        socklen_t len = sizeof so;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &len);
        errno = so;
        rc = so == 0 ? 0 : -1;
      }
    }
    if (rc < 0) {
      err = std::strerror(errno);
      ::close(fd);
      continue;
    }
    // Blocking sends bounded by io_timeout from here on.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{static_cast<time_t>(timeout_ms / 1000),
               static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    fd_ = fd;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) {
    drop_connection("cannot connect: " + err);
    return false;
  }
  if (failing_) log::info("graphite: connected to {}:{} again", o_.host, o_.port);
  failing_ = false;
  return true;
}

}  // namespace gyre::graphite
