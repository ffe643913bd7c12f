// Tests of the Graphite plaintext lines (core/graphite.hpp) and of the exporter against a
// listener on 127.0.0.1 (core/graphite_exporter.hpp).
#include "core/graphite.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "core/graphite_exporter.hpp"
#include "core/metrics.hpp"

namespace gyre::graphite {
namespace {

TEST(GraphiteLines, PathsFollowPrefixNodeNamespaceSubsystemNameAndLabelValues) {
  naming n{"centrifugo.", "host.example_8000", false};
  std::string t = lines(
      "# HELP centrifugo_node_num_clients Clients.\n"
      "# TYPE centrifugo_node_num_clients gauge\n"
      "centrifugo_node_num_clients 12\n"
      "centrifugo_api_command_errors_total{protocol=\"http\",method=\"publish\",error=\"\"} 3\n"
      "process_open_fds 7.5\n",
      n, 1700000000);
  EXPECT_EQ(t,
            "centrifugo.host_example_8000.centrifugo.node.num_clients 12 1700000000\n"
            "centrifugo.host_example_8000.centrifugo.api.command_errors_total.http.publish._ 3 "
            "1700000000\n"
            "centrifugo.host_example_8000.process_open_fds 7.5 1700000000\n");
}

TEST(GraphiteLines, TagsModeWritesLabelsAsTagsAndDropsEmptyValues) {
  naming n{"gyre", "n1", true};
  std::string t = lines(
      "gyre_client_conflated_total{channel_namespace=\"\",code=\"a;b c\",x=\"~y\"} 1\n", n, 5);
  EXPECT_EQ(t, "gyre.n1.gyre.client.conflated_total;code=a_b_c;x=_y 1 5\n");
}

TEST(GraphiteLines, CleansComponentsAndEscapedLabelValues) {
  EXPECT_EQ(path_component("a.b c;d\xd0\xbf"), "a_b_c_d__");
  EXPECT_EQ(path_component(""), "_");
  naming n{"p", "n", false};
  // \" \\ and \n inside a Prometheus label value.
  EXPECT_EQ(lines("m{l=\"q\\\"x\\\\y\\nz\"} 2\n", n, 1), "p.n.m.q\"x\\y_z 2 1\n");
}

TEST(GraphiteLines, SkipsNonFiniteValuesCommentsAndMalformedLines) {
  naming n{"p", "n", false};
  std::string t =
      lines("a NaN\nb +Inf\n# c 1\n\nd{l=\"unterminated} 1\ne{l=\"v\"}\nf 0.25\ng{le=\"+Inf\"} 4\n",
            n, 9);
  EXPECT_EQ(t, "p.n.f 0.25 9\np.n.g.+Inf 4 9\n");
}

TEST(GraphiteLines, EveryHistogramSampleBecomesALine) {
  metrics::registry r;
  auto& h = r.add_histogram("centrifugo_x_seconds", "X.", {"method"}, {0.1, 1});
  h.with({"publish"}).observe(0.5);
  naming n{"centrifugo", "n", false};
  std::string t = lines(r.render(), n, 1);
  EXPECT_NE(t.find("centrifugo.n.centrifugo.x.seconds_bucket.publish.0_1 0 1\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("centrifugo.n.centrifugo.x.seconds_bucket.publish.+Inf 1 1\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("centrifugo.n.centrifugo.x.seconds_sum.publish 0.5 1\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("centrifugo.n.centrifugo.x.seconds_count.publish 1 1\n"), std::string::npos)
      << t;
}

// A listener on 127.0.0.1:`port` (0: an ephemeral one, written back to `port`).
int listen_local(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);  // 0: an ephemeral port
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) return -1;
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// Reads from an accepted connection until `want` appears (bounded by 5 s).
std::string read_until(int fd, const std::string& want) {
  std::string got;
  for (int i = 0; i < 500 && got.find(want) == std::string::npos; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

int accept_within(int lfd) {
  pollfd p{lfd, POLLIN, 0};
  if (::poll(&p, 1, 5000) <= 0) return -1;
  return ::accept(lfd, nullptr, nullptr);
}

TEST(GraphiteExporter, SendsRoundsAndReconnectsAfterTheReceiverCloses) {
  uint16_t port = 0;
  int lfd = listen_local(port);
  ASSERT_GE(lfd, 0);
  std::atomic<int> rounds{0};
  exporter_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.interval = std::chrono::milliseconds(20);
  o.names = {"p", "n", false};
  exporter e(o, [&] { return "m " + std::to_string(++rounds) + "\n"; });
  e.start();
  int c1 = accept_within(lfd);
  ASSERT_GE(c1, 0);
  EXPECT_NE(read_until(c1, "p.n.m 2 ").find("p.n.m 1 "), std::string::npos);
  ::close(c1);
  // The next rounds find the connection closed and connect again.
  int c2 = accept_within(lfd);
  ASSERT_GE(c2, 0);
  int seen = rounds.load();
  std::string after = read_until(c2, "p.n.m " + std::to_string(seen + 1) + " ");
  EXPECT_NE(after.find("p.n.m " + std::to_string(seen + 1) + " "), std::string::npos) << after;
  e.stop();
  ::close(c2);
  ::close(lfd);
}

TEST(GraphiteExporter, KeepsOnlyTheNewestLinesWhileNobodyListens) {
  uint16_t port = 0;
  int lfd = listen_local(port);
  ASSERT_GE(lfd, 0);
  ::close(lfd);  // the port is now refused
  std::atomic<int> rounds{0};
  exporter_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.interval = std::chrono::milliseconds(5);
  o.max_buffer = 64;  // three lines "p.n.m <round> <ts>\n" of about 20 bytes
  o.names = {"p", "n", false};
  exporter e(o, [&] { return "m " + std::to_string(++rounds) + "\n"; });
  e.start();
  for (int i = 0; i < 1000 && rounds < 40; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  int before = rounds.load();
  ASSERT_GE(before, 40);
  lfd = listen_local(port);
  ASSERT_GE(lfd, 0);
  int c = accept_within(lfd);
  ASSERT_GE(c, 0);
  std::string got = read_until(c, "\n");
  e.stop();
  ::close(c);
  ::close(lfd);
  ASSERT_TRUE(got.starts_with("p.n.m ")) << got;
  // The oldest rounds were dropped: the first line is one of the last few before the
  // receiver came back (or a later one).
  int first = std::stoi(got.substr(6));
  EXPECT_GE(first, before - 3) << got;
}

}  // namespace
}  // namespace gyre::graphite
