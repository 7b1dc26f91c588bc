// Copyright (c) the exactly authors. SPDX-License-Identifier: Apache-2.0
//
// The relay's metrics as a real Prometheus sees them: a relay on its own
// mock cluster relays traffic with duplicates, a stale epoch and malformed
// records while serving /metrics (kafka::RelayMetrics + MetricsServer, as
// exactly-relay --metrics-port does); a `prometheus` child process scrapes
// it every second, and its query API must return the relay's own final
// counts. `promtool check metrics` must accept the relay's /metrics body.
// Needs /usr/bin/prometheus and promtool (Debian package prometheus);
// skipped without them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "demo_traffic.h"
#include "exactly/checkpoint_store.h"
#include "exactly/kafka/consumer_metrics.h"
#include "exactly/kafka/mock_cluster.h"
#include "exactly/kafka/producer.h"
#include "exactly/kafka/relay.h"
#include "exactly/metrics/http_server.h"
#include "relay_test_util.h"

namespace exactly::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string Which(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const std::string p = std::string(dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

// A port free right now on 127.0.0.1 (the kernel's pick; Prometheus binds
// it moments later).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// A child process in its own process group, killed (the whole group) and
// reaped when this goes out of scope.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    if (pid_ > 0) ::setpgid(pid_, pid_);  // also from here: no race with the kill below
  }
  ~ChildProcess() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  bool started() const { return pid_ > 0; }
  // True while it has not exited.
  bool running() {
    int status = 0;
    return pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0;
  }

 private:
  pid_t pid_ = -1;
};

std::string ReadFile(const std::string& path) {
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  return ss.str();
}

// The value of an instant-vector query with exactly one series, or nullopt.
std::optional<double> QueryOne(httplib::Client& prom, const std::string& query) {
  const auto res = prom.Get("/api/v1/query", httplib::Params{{"query", query}}, httplib::Headers{});
  if (!res || res->status != 200) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(res->body).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::array result;
  if (doc["data"]["result"].get_array().get(result) != simdjson::SUCCESS || result.size() != 1) return std::nullopt;
  std::string_view value;
  if (result.at(0)["value"].at(1).get_string().get(value) != simdjson::SUCCESS) return std::nullopt;
  return std::stod(std::string(value));
}

TEST(RelayPrometheus, ScrapedCountersMatchTheRelaysOwn) {
  const std::string prometheus = Which("prometheus");
  const std::string promtool = Which("promtool");
  if (prometheus.empty() || promtool.empty()) GTEST_SKIP() << "prometheus/promtool not installed";

  auto cluster = kafka::MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok());
  const std::string bs = cluster->bootstraps();
  ASSERT_TRUE(cluster->CreateTopic("in", 2).ok());
  for (const char* t : {"out", "dlq"}) ASSERT_TRUE(cluster->CreateTopic(t, 1).ok());
  auto producer = kafka::Producer::Create(RelayProducerConfig(bs));
  ASSERT_TRUE(producer.ok());
  auto send = [&](int partition, std::string_view id, std::uint64_t epoch, std::uint64_t seq) {
    relay_demo::StampedSend s;
    s.topic = "in";
    s.partition = Partition(partition);
    s.producer = id;
    s.stamp = EpochSeq{Epoch(epoch), Sequence(seq)};
    s.key = std::string_view("k");
    s.value = "v";
    ASSERT_TRUE(relay_demo::SendStamped(*producer, s).ok());
  };
  // Partition 0: p1 seq 0-9, then 0-9 again (10 duplicates). Partition 1:
  // p2 epoch 2 seq 0-4, then a zombie at epoch 1 (3 stale), and 2
  // malformed records.
  for (int round = 0; round < 2; ++round) {
    for (std::uint64_t s = 0; s < 10; ++s) ASSERT_NO_FATAL_FAILURE(send(0, "p1", 1, s));
  }
  for (std::uint64_t s = 0; s < 5; ++s) ASSERT_NO_FATAL_FAILURE(send(1, "p2", 2, s));
  for (std::uint64_t s = 5; s < 8; ++s) ASSERT_NO_FATAL_FAILURE(send(1, "p2", 1, s));
  for (const char* bad_epoch : {"x", "-1"}) {
    const std::vector<HeaderView> h = {{header::kProducer, "p3"}, {header::kEpoch, bad_epoch}, {header::kSeq, "0"}};
    ASSERT_TRUE(producer->Produce({"in", Partition(1), std::string_view("k"), std::string_view("bad"), h}, 10s).ok());
  }
  ASSERT_TRUE(producer->Flush(10s).ok());

  TempDir dir;
  auto store = CheckpointStore::Open(dir.sub("state"));
  ASSERT_TRUE(store.ok());
  metrics::Registry registry;
  auto relay_metrics = kafka::RelayMetrics::Create(registry);
  ASSERT_TRUE(relay_metrics.ok()) << relay_metrics.status().ToString();
  auto server = metrics::MetricsServer::Start(registry);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto o = RelayTestOptions(bs, "in", "out", "dlq");
  o.on_checkpoint = (*relay_metrics)->CheckpointObserver();
  auto relay = kafka::Relay::Create(**store, o);
  ASSERT_TRUE(relay.ok()) << relay.status().ToString();
  auto step = [&] {
    Status st = (*relay)->RunFor(50ms);
    (*relay_metrics)->Update(**relay);
    return st;
  };
  const std::map<std::int32_t, std::int64_t> high = {{0, 20}, {1, 10}};
  ASSERT_TRUE(DriveUntil({step}, [&] { return CaughtUp((*relay)->Positions(), high); }, 30s).ok());
  ASSERT_TRUE((*relay)->Checkpoint().ok());
  (*relay_metrics)->Update(**relay);
  const kafka::RelayStats stats = (*relay)->stats();
  const Counters& c = stats.consumer.engine;
  ASSERT_EQ(c.duplicate, 10u);
  ASSERT_EQ(c.stale, 3u);
  ASSERT_EQ(c.malformed, 2u);
  ASSERT_EQ(c.delivered, 15u);

  // The body Prometheus scrapes passes promtool's parser and linter.
  httplib::Client relay_http("127.0.0.1", (*server)->port());
  auto body = relay_http.Get("/metrics");
  ASSERT_TRUE(body && body->status == 200);
  {
    std::ofstream(dir.sub("metrics.txt")) << body->body;
    const std::string cmd =
        "'" + promtool + "' check metrics < '" + dir.sub("metrics.txt") + "' > '" + dir.sub("promtool.txt") + "' 2>&1";
    const int rc = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << ReadFile(dir.sub("promtool.txt")) << body->body;
  }

  const int prom_port = FreePort();
  ASSERT_GT(prom_port, 0);
  std::ofstream(dir.sub("prometheus.yml")) << fmt::format(
      "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      "scrape_configs:\n  - job_name: exactly\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
      (*server)->port());
  ChildProcess prom({prometheus, "--config.file=" + dir.sub("prometheus.yml"),
                     "--storage.tsdb.path=" + dir.sub("tsdb"),
                     fmt::format("--web.listen-address=127.0.0.1:{}", prom_port)},
                    dir.sub("prometheus.log"));
  ASSERT_TRUE(prom.started());

  // What Prometheus must report once it has scraped the final values.
  const std::map<std::string, double> want = {
      {"exactly_records_total{outcome=\"duplicate\"}", 10},
      {"exactly_records_total{outcome=\"stale\"}", 3},
      {"exactly_records_total{outcome=\"malformed\"}", 2},
      {"exactly_malformed_records_total{reason=\"bad_epoch\"}", 2},
      {"exactly_messages_total{outcome=\"delivered\"}", static_cast<double>(c.delivered)},
      {"exactly_records_processed_total", static_cast<double>(c.records)},
      {"exactly_dead_lettered_records_total", static_cast<double>(c.dead_lettered)},
      {"exactly_relay_dead_letters_sent_total", static_cast<double>(stats.dead_lettered)},
      {"sum(exactly_relay_forwarded_messages_total)", static_cast<double>(stats.forwarded)},
      {"sum(exactly_consumer_lag_records)", 0},
      {"count(exactly_consumer_lag_records)", 2},
      {"exactly_assigned_partitions", 2},
      {"exactly_tracked_producers", 2},
      {"exactly_checkpoint_duration_seconds_count >= bool 1", 1},
      {"exactly_checkpoints_total{result=\"ok\"} >= bool 1", 1},
      {"up{job=\"exactly\"}", 1},
  };
  httplib::Client prom_http("127.0.0.1", prom_port);
  prom_http.set_connection_timeout(1s);
  prom_http.set_read_timeout(2s);
  std::map<std::string, std::optional<double>> got;
  const auto deadline = Clock::now() + 30s;
  bool all = false;
  while (!all && Clock::now() < deadline && prom.running()) {
    ASSERT_TRUE(step().ok());  // the relay keeps serving, idle
    all = true;
    for (const auto& [query, value] : want) {
      got[query] = QueryOne(prom_http, query);
      if (got[query] != value) all = false;
    }
  }
  std::string report;
  for (const auto& [query, value] : want) {
    report += fmt::format("{} = {} (want {})\n", query, got[query] ? fmt::format("{}", *got[query]) : "none", value);
  }
  EXPECT_TRUE(all) << report << "prometheus log:\n" << ReadFile(dir.sub("prometheus.log"));
  // Nothing was processed twice while Prometheus scraped.
  EXPECT_EQ((*relay)->stats().consumer.engine.records, c.records);
  ASSERT_TRUE((*relay)->Close(30s).ok());
}

}  // namespace
}  // namespace exactly::testing
