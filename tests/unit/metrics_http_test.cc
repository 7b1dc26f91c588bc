// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// MetricsServer on loopback: a GET /metrics round trip through a plain
// socket client, 404 elsewhere, an ephemeral port, bind errors, Stop
// (idempotent, refusing connections afterwards, bounded by stop_timeout
// against a stalled client), and scrapes running while other threads
// update the metrics.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exactly/metrics/http_server.h"
#include "exactly/metrics/registry.h"

namespace exactly::metrics {
namespace {

// True once the server's end of the connection `client_fd` (to `port` on
// loopback) has nothing left in its receive queue: a worker has read what
// the client sent (Linux: /proc/net/tcp, "tx_queue:rx_queue" in hex).
bool ServerReadEverything(std::uint16_t port, int client_fd) {
  sockaddr_in self{};
  socklen_t len = sizeof self;
  if (::getsockname(client_fd, reinterpret_cast<sockaddr*>(&self), &len) != 0) return false;
  const unsigned client_port = ntohs(self.sin_port);
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // header
  while (std::getline(tcp, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues;
    fields >> slot >> local >> remote >> state >> queues;
    const auto port_of = [](const std::string& address) {
      return static_cast<unsigned>(std::stoul(address.substr(address.find(':') + 1), nullptr, 16));
    };
    if (port_of(local) != port || port_of(remote) != client_port) continue;
    return std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16) == 0;
  }
  return false;
}

int Connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{10, 0};  // a hung server fails the test instead of hanging it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Response {
  int status = 0;  // 0: no response
  std::string headers;
  std::string body;
};

Response Request(std::uint16_t port, const std::string& method, const std::string& path) {
  Response out;
  const int fd = Connect(port);
  if (fd < 0) return out;
  const std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return out;
  }
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) raw.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return out;
  out.status = std::stoi(raw.substr(9, 3));
  out.headers = raw.substr(0, head_end);
  out.body = raw.substr(head_end + 4);
  return out;
}

TEST(MetricsHttp, ServesTheExpositionOnAnEphemeralPort) {
  Registry registry;
  auto c = registry.AddCounter("test_requests_total", "Requests.", {"code"});
  ASSERT_TRUE(c.ok());
  (*c)->With({"200"}).value()->Inc(7);
  auto server = MetricsServer::Start(registry);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_NE((*server)->port(), 0);
  EXPECT_EQ((*server)->address(), "127.0.0.1");

  Response r = Request((*server)->port(), "GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.headers;
  EXPECT_NE(r.headers.find("Content-Type: text/plain; version=0.0.4; charset=utf-8"), std::string::npos) << r.headers;
  EXPECT_EQ(r.body, registry.Render());
  EXPECT_NE(r.body.find("test_requests_total{code=\"200\"} 7\n"), std::string::npos);

  (*c)->With({"200"}).value()->Inc();  // a later scrape sees later updates
  EXPECT_NE(Request((*server)->port(), "GET", "/metrics").body.find("test_requests_total{code=\"200\"} 8\n"),
            std::string::npos);
  EXPECT_EQ(Request((*server)->port(), "HEAD", "/metrics").status, 200);
  EXPECT_EQ(Request((*server)->port(), "GET", "/").status, 404);
  EXPECT_EQ(Request((*server)->port(), "GET", "/metricsx").status, 404);
}

TEST(MetricsHttp, StopIsIdempotentAndClosesThePort) {
  Registry registry;
  auto server = MetricsServer::Start(registry);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const std::uint16_t port = (*server)->port();
  ASSERT_EQ(Request(port, "GET", "/metrics").status, 200);
  EXPECT_TRUE((*server)->Stop().ok());
  EXPECT_TRUE((*server)->Stop().ok());
  EXPECT_EQ(Connect(port), -1);  // refused
  server->reset();                // the destructor after Stop
}

TEST(MetricsHttp, DestructorStopsARunningServer) {
  Registry registry;
  std::uint16_t port = 0;
  {
    auto server = MetricsServer::Start(registry);
    ASSERT_TRUE(server.ok());
    port = (*server)->port();
  }
  EXPECT_EQ(Connect(port), -1);
}

TEST(MetricsHttp, BindErrors) {
  Registry registry;
  auto first = MetricsServer::Start(registry);
  ASSERT_TRUE(first.ok());
  ServerOptions same;
  same.port = (*first)->port();
  auto second = MetricsServer::Start(registry, same);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find("127.0.0.1:" + std::to_string(same.port)), std::string_view::npos)
      << second.status().ToString();

  ServerOptions bad;
  bad.bind_address = "not an address";
  EXPECT_EQ(MetricsServer::Start(registry, bad).status().code(), Code::kUnavailable);
  bad.bind_address = "";
  EXPECT_EQ(MetricsServer::Start(registry, bad).status().code(), Code::kInvalidArgument);
}

TEST(MetricsHttp, StopIsBoundedByItsTimeoutAgainstAStalledClient) {
  Registry registry;
  ServerOptions o;
  o.io_timeout = std::chrono::seconds(5);
  o.stop_timeout = std::chrono::milliseconds(100);
  auto server = MetricsServer::Start(registry, o);
  ASSERT_TRUE(server.ok());
  // Half a request: the server waits up to io_timeout for the rest.
  const int fd = Connect((*server)->port());
  ASSERT_GE(fd, 0);
  const std::string partial = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  ASSERT_EQ(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL), static_cast<ssize_t>(partial.size()));
  // Wait until a worker is reading the connection: it has taken the half
  // request off the socket. (Taken by the accept loop is not enough: a
  // worker that only starts on it after Stop sees the server stopping and
  // drops it at once.) A complete request is still served by the other
  // thread.
  const auto read_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!ServerReadEverything((*server)->port(), fd)) {
    ASSERT_LT(std::chrono::steady_clock::now(), read_deadline) << "no worker read the half request within 10 s";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(Request((*server)->port(), "GET", "/metrics").status, 200);
  const auto start = std::chrono::steady_clock::now();
  const Status st = (*server)->Stop();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(st.code(), Code::kTimedOut) << st.ToString();
  EXPECT_LT(took, std::chrono::seconds(3));  // not io_timeout
  EXPECT_EQ((*server)->Stop().code(), Code::kTimedOut);  // the same answer again
  ::close(fd);  // lets the server's thread finish on its own
}

TEST(MetricsHttp, ScrapesWhileOtherThreadsUpdate) {
  Registry registry;
  auto c = registry.AddCounter("work_total", "Work.");
  auto h = registry.AddHistogram("work_seconds", "Work time.", {0.5});
  Counter* counter = (*c)->With({}).value();
  Histogram* hist = (*h)->With({}).value();
  auto server = MetricsServer::Start(registry);
  ASSERT_TRUE(server.ok());

  constexpr int kThreads = 4;
  constexpr int kPerThread = 200'000;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        counter->Inc();
        hist->Observe(i % 2 == 0 ? 0.25 : 1.0);
      }
      running.fetch_sub(1);
    });
  }
  const auto value_of = [](const std::string& body, const std::string& series) -> long long {
    const auto at = body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(body.substr(at + series.size() + 2));
  };
  long long last = 0;
  int scrapes = 0;
  do {
    const Response r = Request((*server)->port(), "GET", "/metrics");
    ASSERT_EQ(r.status, 200);
    const long long now = value_of(r.body, "work_total");
    ASSERT_GE(now, last);  // never goes back
    // _count is derived from the buckets, so it always equals +Inf.
    EXPECT_EQ(value_of(r.body, "work_seconds_count"), value_of(r.body, "work_seconds_bucket{le=\"+Inf\"}"));
    last = now;
    ++scrapes;
  } while (running.load() > 0);
  for (auto& w : workers) w.join();
  const std::string body = Request((*server)->port(), "GET", "/metrics").body;
  EXPECT_EQ(value_of(body, "work_total"), kThreads * kPerThread);
  EXPECT_EQ(value_of(body, "work_seconds_count"), kThreads * kPerThread);
  EXPECT_EQ(value_of(body, "work_seconds_bucket{le=\"0.5\"}"), kThreads * kPerThread / 2);
  EXPECT_GE(scrapes, 1);
}

}  // namespace
}  // namespace exactly::metrics
