// The proxy HTTP client (src/proxy/http_client.hpp) against a scripted HTTP server on
// 127.0.0.1: keep-alive reuse, a connection closed by the server while idle (retried once),
// the per-call timeout, the response size bound, an unreachable backend, URL parsing.
#include "proxy/http_client.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <thread>

namespace gyre::proxy {
namespace {

// Accepts connections on a thread; answers each request on a connection with `respond`
// (the request's text → the raw response, or "" to close the connection), until stopped.
class script_server {
 public:
  explicit script_server(std::function<std::string(const std::string&, int conn)> respond)
      : respond_(std::move(respond)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~script_server() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& t : conns_) t.join();
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void run() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      int n = ++accepted_;
      conns_.emplace_back([this, c, n] { serve(c, n); });
    }
  }
  void serve(int c, int n) {
    std::string buf;
    char tmp[4096];
    for (int requests = 0; requests < 100 && !stop_; ++requests) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t r = ::recv(c, tmp, sizeof tmp, 0);
        if (r <= 0) return (void)::close(c);
        buf.append(tmp, static_cast<size_t>(r));
      }
      size_t cl = buf.find("Content-Length: ");
      size_t body_len = cl == std::string::npos ? 0 : std::stoul(buf.substr(cl + 16));
      while (buf.size() < end + 4 + body_len) {
        ssize_t r = ::recv(c, tmp, sizeof tmp, 0);
        if (r <= 0) return (void)::close(c);
        buf.append(tmp, static_cast<size_t>(r));
      }
      std::string req = buf.substr(0, end + 4 + body_len);
      buf.erase(0, end + 4 + body_len);
      std::string out = respond_(req, n);
      if (out.empty()) break;
      ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    }
    ::close(c);
  }

  std::function<std::string(const std::string&, int)> respond_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
  std::vector<std::thread> conns_;
};

std::string ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

http_request_spec spec_for(uint16_t port,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  http_request_spec s;
  s.target.host = "127.0.0.1";
  s.target.port = std::to_string(port);
  s.target.path = "/p";
  s.body = "{}";
  s.timeout = timeout;
  return s;
}

// Runs one request to completion on `io`.
http_result run_one(boost::asio::io_context& io, http_client& c, http_request_spec s) {
  http_result out;
  bool done = false;
  c.post(std::move(s), [&](http_result r) {
    out = std::move(r);
    done = true;
  });
  io.restart();
  for (int i = 0; i < 1000 && !done; ++i) io.run_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(done);
  return out;
}

TEST(HttpClient, ReusesKeepAliveConnections) {
  script_server srv([](const std::string& req, int) {
    EXPECT_NE(req.find("POST /p HTTP/1.1"), std::string::npos);
    EXPECT_NE(req.find("Content-Type: application/json"), std::string::npos);
    EXPECT_NE(req.find("X-A: 1"), std::string::npos);
    return ok(R"({"result":{}})");
  });
  boost::asio::io_context io;
  http_client c(io);
  for (int i = 0; i < 3; ++i) {
    auto s = spec_for(srv.port());
    s.headers.emplace_back("X-A", "1");
    s.headers.emplace_back("X-Bad", "a\r\nInjected: 1");  // dropped
    auto r = run_one(io, c, std::move(s));
    EXPECT_EQ(r.err, http_result::error::none) << r.detail;
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, R"({"result":{}})");
  }
  EXPECT_EQ(srv.accepted(), 1);
}

TEST(HttpClient, RetriesOnceWhenTheServerClosedAnIdleConnection) {
  std::atomic<int> first_conn_requests{0};
  script_server srv([&](const std::string&, int conn) {
    // The first connection answers once, then closes when the next request arrives on it
    // (as a server whose keep-alive timeout just passed): that request goes again on a
    // new connection.
    if (conn == 1 && ++first_conn_requests > 1) return std::string();
    return ok("{}");
  });
  boost::asio::io_context io;
  http_client c(io);
  EXPECT_EQ(run_one(io, c, spec_for(srv.port())).status, 200u);
  auto r = run_one(io, c, spec_for(srv.port()));
  EXPECT_EQ(r.status, 200u) << r.detail;
  EXPECT_EQ(srv.accepted(), 2);
}

TEST(HttpClient, TimesOut) {
  script_server srv([](const std::string&, int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return std::string();
  });
  boost::asio::io_context io;
  http_client c(io);
  auto r = run_one(io, c, spec_for(srv.port(), std::chrono::milliseconds(100)));
  EXPECT_EQ(r.err, http_result::error::timeout);
}

TEST(HttpClient, BoundsTheResponse) {
  script_server srv([](const std::string&, int) { return ok(std::string(5000, 'x')); });
  boost::asio::io_context io;
  http_client c(io);
  auto s = spec_for(srv.port());
  s.max_response = 1000;
  auto r = run_one(io, c, std::move(s));
  EXPECT_EQ(r.err, http_result::error::too_large);
}

TEST(HttpClient, UnreachableBackend) {
  boost::asio::io_context io;
  http_client c(io);
  auto r = run_one(io, c, spec_for(1));
  EXPECT_EQ(r.err, http_result::error::unavailable);
}

TEST(HttpClient, QueuesBeyondMaxActiveConnections) {
  script_server srv([](const std::string&, int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return ok("{}");
  });
  boost::asio::io_context io;
  http_client c(io, 4, 2);
  int done = 0;
  for (int i = 0; i < 6; ++i)
    c.post(spec_for(srv.port()), [&](http_result r) {
      EXPECT_EQ(r.status, 200u) << r.detail;
      ++done;
    });
  for (int i = 0; i < 500 && done < 6; ++i) io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(done, 6);
  EXPECT_LE(srv.accepted(), 2);
}

TEST(HttpClient, ParsesUrls) {
  auto t = parse_http_url("http://example.com:8080/a/b?x=1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "example.com");
  EXPECT_EQ(t->port, "8080");
  EXPECT_EQ(t->path, "/a/b?x=1");
  t = parse_http_url("http://[::1]/");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, "80");
  t = parse_http_url("https://h");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->tls);
  EXPECT_FALSE(parse_http_url("grpc://h:1"));
  EXPECT_FALSE(parse_http_url("http://:80/"));
  EXPECT_FALSE(parse_http_url("http://h:port/"));
  EXPECT_FALSE(parse_http_url("http://u@h/"));
}

}  // namespace
}  // namespace gyre::proxy
